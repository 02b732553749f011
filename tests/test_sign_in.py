"""Sign-in and the Bearer token resist guessing (throttled, logged), and sessions end: at
sign-out, at their absolute lifetime, and when the token changes."""

from __future__ import annotations

import asyncio
import logging
import re

from conftest import ADMIN_TOKEN, ServiceProcess

WRONG = "wrong-guess-0123456789abcdefghijklmnopqrstuvwxyz"


async def sign_in(client, secret: str = ADMIN_TOKEN):
    page = await client.get("/dashboard/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"secret": secret, "next": "/dashboard", "_csrf_token": token}
    return await client.post("/dashboard/login", data=form, follow_redirects=False)


async def test_wrong_secrets_are_throttled_and_logged_without_the_secret(
    service, monkeypatch, caplog
):
    monkeypatch.setenv("PRICEFEED_ADMIN_TOKEN", ADMIN_TOKEN)
    caplog.set_level(logging.WARNING)
    async with service() as client:
        tries = [(await sign_in(client, WRONG)).status_code for _ in range(7)]
        right_while_blocked = await sign_in(client)
        await asyncio.sleep(int(right_while_blocked.headers["Retry-After"]) + 0.2)
        right_after_the_wait = await sign_in(client)

    assert tries == [401] * 6 + [429]  # five free, the sixth starts a wait
    assert right_while_blocked.status_code == 429
    assert "wait" in right_while_blocked.text
    assert right_after_the_wait.status_code == 303
    assert caplog.text.count("sign-in with a wrong secret from testclient") == 6
    assert WRONG not in caplog.text and ADMIN_TOKEN not in caplog.text


async def test_a_cookie_replayed_after_sign_out_is_signed_out(service, monkeypatch, tmp_path):
    monkeypatch.setenv("PRICEFEED_ADMIN_TOKEN", ADMIN_TOKEN)
    async with service(data=tmp_path) as client:
        await sign_in(client)
        kept = dict(client.cookies)
        assert (await client.get("/dashboard", follow_redirects=False)).status_code == 200
        page = await client.get("/dashboard")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        await client.post("/dashboard/logout", data={"_csrf_token": token})
    async with service(data=tmp_path) as replay:
        replay.cookies.update(kept)
        answer = await replay.get("/dashboard", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/login")
    cookie = answer.headers.get("set-cookie", "")
    assert cookie.startswith("pricefeed_session=null;")  # dropped, not renewed


async def test_a_session_ends_at_its_absolute_lifetime_however_busy(service, monkeypatch):
    monkeypatch.setenv("PRICEFEED_ADMIN_TOKEN", ADMIN_TOKEN)
    async with service(sections={"dashboard": {"session_hours": 1.5 / 3600}}) as client:
        await sign_in(client)
        statuses = []
        for _ in range(12):  # used all the time: a sliding lifetime would never end
            statuses.append((await client.get("/dashboard", follow_redirects=False)).status_code)
            await asyncio.sleep(0.2)

    assert statuses[0] == 200
    assert statuses[-1] == 303


async def test_a_new_admin_token_ends_every_session(service, monkeypatch, tmp_path):
    monkeypatch.setenv("PRICEFEED_ADMIN_TOKEN", ADMIN_TOKEN)
    async with service(data=tmp_path) as client:
        await sign_in(client)
        kept = dict(client.cookies)
    async with service(data=tmp_path) as same_token:
        same_token.cookies.update(kept)
        kept_on = await same_token.get("/dashboard", follow_redirects=False)
    monkeypatch.setenv("PRICEFEED_ADMIN_TOKEN", "rotated-" + ADMIN_TOKEN)
    async with service(data=tmp_path) as rotated:
        rotated.cookies.update(kept)
        ended = await rotated.get("/dashboard", follow_redirects=False)

    assert kept_on.status_code == 200  # a restart alone keeps the sign-in
    assert ended.status_code == 303


def bearer(server, token: str, client: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": client}
    return server.request("/admin/tiers", headers=headers)[0]


def test_bearer_guesses_are_throttled_per_client_and_overall(config_file, tmp_path):
    server = ServiceProcess(
        config_file,
        tmp_path,
        PRICEFEED_ADMIN_TOKEN=ADMIN_TOKEN,
        PRICEFEED__SERVER__TRUSTED_PROXIES='["127.0.0.1"]',
    ).start()
    try:
        guesser = [bearer(server, WRONG, "10.0.0.1") for _ in range(7)]
        someone_else = bearer(server, ADMIN_TOKEN, "10.0.0.2")
        many_addresses = [bearer(server, WRONG, f"10.1.0.{i}") for i in range(60)]
        after_the_swarm = bearer(server, ADMIN_TOKEN, "10.0.0.3")
        log = server.log()
    finally:
        server.stop()

    assert guesser == [401] * 6 + [429]
    assert someone_else == 200  # one client's guesses do not lock out another
    assert 429 in many_addresses  # over 50 failures from anywhere: everyone waits
    assert after_the_swarm == 429
    assert "wrong admin token from 10.0.0.1 on /admin/tiers" in log
    assert WRONG not in log
