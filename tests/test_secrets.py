"""Keys come from a random server secret, never from the admin token; the token must be
strong; CSRF tokens belong to one session; only the dashboard sets cookies."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import subprocess

import pytest
from conftest import ADMIN_TOKEN, PRICEFEED, ROOT, form_token
from cryptography.exceptions import InvalidTag
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig

from pricefeed.app import create_app
from pricefeed.config import ConfigError, load_settings
from pricefeed.devchain.service import files_env


def set_cookies(*answers) -> list[tuple[str, str]]:
    found = []
    for answer in answers:
        for name, value in answer.headers.multi_items():
            if name == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                found.append((cookie_name, rest.split(";", 1)[0].strip('"')))
    return found


def opens(key: bytes, cookie: str) -> dict:
    """What Litestar's cookie backend reads from a session cookie with this key ({}: nothing)."""
    try:
        return ClientSideSessionBackend(CookieBackendConfig(secret=key)).load_data(
            [cookie.encode()]
        )
    except (InvalidTag, ValueError):  # forged, or not a session cookie at all
        return {}


async def test_no_cookie_can_be_checked_against_a_guess_of_the_admin_token(service):
    # what an attacker holding one cookie would try, offline, for each guess of the token
    guessed_session = hashlib.sha256(b"session:" + ADMIN_TOKEN.encode()).digest()[:32]
    guessed_csrf = hashlib.sha256(b"csrf:" + ADMIN_TOKEN.encode()).hexdigest().encode()
    async with service() as client:
        answers = [
            await client.get(path)
            for path in ("/price/devchain/WETH/USDC", "/health", "/nope", "/dashboard/login")
        ]
        cookies = set_cookies(*answers)
        for _, value in cookies:
            assert opens(guessed_session, value) == {}
            token, mac = value[:64], value[64:]
            assert mac != hmac.new(guessed_csrf, token.encode(), hashlib.sha256).hexdigest()
        real_key = client.app.state.auth.session_key

    assert [name for name, _ in cookies] == ["pricefeed_session"]  # the sign-in page's only
    assert "csrf" in opens(real_key, cookies[0][1])  # the real key opens it: the check can fail


async def test_the_server_secret_is_made_once_and_kept_private(service, tmp_path):
    async with service(data=tmp_path) as client:
        first = client.app.state.auth.session_key
    async with service(data=tmp_path) as client:
        again = client.app.state.auth.session_key
    secret = tmp_path / "server-secret"

    assert first == again  # sign-ins survive restarts
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_bytes()) == 32


@pytest.mark.parametrize("token", ["x", " ", "a" * 31, " " * 40, ADMIN_TOKEN + " "])
def test_a_weak_admin_token_refuses_start_up(config_file, token):
    settings = load_settings(config_file, env={"PRICEFEED_ADMIN_TOKEN": token})

    with pytest.raises(ConfigError, match="PRICEFEED_ADMIN_TOKEN must be at least 32 characters"):
        create_app(settings)


def test_pricefeed_run_says_why_it_refuses_a_weak_token(config_file, tmp_path):
    env = {**os.environ, **files_env(tmp_path, config_file), "PRICEFEED_ADMIN_TOKEN": "short"}
    done = subprocess.run(
        [PRICEFEED, "run", "--port", "0"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )

    assert done.returncode != 0
    assert b"PRICEFEED_ADMIN_TOKEN must be at least 32 characters" in done.stderr
    assert b"Traceback" not in done.stderr


async def test_a_csrf_token_works_only_in_its_own_session(service, tmp_path):
    async with service(data=tmp_path) as alice, service(data=tmp_path) as mallory:
        alices = form_token(await alice.get("/dashboard/login"))
        mallorys = form_token(await mallory.get("/dashboard/login"))
        form = {"secret": ADMIN_TOKEN, "next": "/dashboard"}
        stolen = await mallory.post("/dashboard/login", data=form | {"_csrf_token": alices})
        own = await alice.post(
            "/dashboard/login", data=form | {"_csrf_token": alices}, follow_redirects=False
        )
        # Mallory's token and every cookie of hers (one planted from a sibling host, say)
        # beside Alice's session: a double-submit cookie check would let this through
        for cookie in mallory.cookies.jar:
            if not cookie.name.endswith("pricefeed_session"):
                alice.cookies.jar.set_cookie(cookie)
        planted = await alice.post(
            "/dashboard/logout", data={"_csrf_token": mallorys}, follow_redirects=False
        )
        still_in = await alice.get("/dashboard", follow_redirects=False)

    assert stolen.status_code == 403
    assert own.status_code == 303
    assert planted.status_code == 403
    assert still_in.status_code == 200


async def test_only_the_dashboard_sets_cookies(service):
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    pair = {"chain": "devchain", "tokenIn": "WETH", "tokenOut": "USDC"}
    async with service() as client:
        answers = [
            await client.get("/price/devchain/WETH/USDC"),
            await client.post("/prices", json={"pairs": [pair]}),
            await client.get("/metrics"),
            await client.get("/health"),
            await client.get("/admin/tiers", headers=auth),
            await client.get("/schema/openapi.json"),
            await client.get("/static/dashboard.css"),
        ]

    assert [a.status_code for a in answers] == [200] * 7
    assert set_cookies(*answers) == []
