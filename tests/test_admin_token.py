"""Without PRICEFEED_ADMIN_TOKEN a start makes a sign-in token once, keeps it private in the
data directory and logs the sign-in link; `pricefeed token --rotate` replaces it and ends
every session. The variable still wins."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess

import pytest
from conftest import ADMIN_TOKEN, PRICEFEED, ServiceProcess
from playwright.sync_api import expect

from pricefeed.devchain.service import files_env


@pytest.fixture
def server(config_file, tmp_path):
    service = ServiceProcess(config_file, tmp_path, PRICEFEED_ADMIN_TOKEN="").start()
    yield service
    service.stop()


def logged_link(server: ServiceProcess) -> str:
    for line in server.log().splitlines():
        if line.startswith("{") and "sign in at" in (msg := json.loads(line)["msg"]):
            return re.search(r"(http://\S+)", msg).group(1)
    raise AssertionError(f"no sign-in link in the log: {server.log()[-2000:]}")


def pricefeed_token(server: ServiceProcess, *args: str) -> str:
    env = {
        **os.environ,
        **files_env(server.data, server.config),
        "PRICEFEED_ADMIN_TOKEN": "",
    }
    done = subprocess.run(
        [PRICEFEED, "token", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_start_without_the_variable_makes_a_private_token_and_logs_the_link(server):
    token_file = server.data / "admin-token"
    token = token_file.read_text().strip()

    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert len(token) >= 32
    assert logged_link(server) == f"{server.url}/dashboard/login?token={token}"
    assert pricefeed_token(server) == token  # made once: asking again gives the same


def test_the_logged_link_signs_in_and_rotating_ends_the_session(browser, server):
    old = (server.data / "admin-token").read_text().strip()
    page = browser.new_context().new_page()
    page.goto(logged_link(server))
    expect(page).to_have_url(server.url + "/dashboard")  # the token is gone from the address
    expect(page.locator("h1")).to_have_text("Overview")

    new = pricefeed_token(server, "--rotate")
    page.reload()
    expect(page).to_have_url(server.url + "/dashboard/login?next=/dashboard")
    page.fill("#secret", old)
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_have_text("Wrong secret.")
    page.fill("#secret", new)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Overview")

    assert new != old
    assert (server.data / "admin-token").read_text().strip() == new
    page.context.close()


def test_the_variable_wins_over_the_file(config_file, tmp_path):
    server = ServiceProcess(config_file, tmp_path, PRICEFEED_ADMIN_TOKEN=ADMIN_TOKEN).start()
    try:
        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        status, _ = server.request("/admin/tiers", headers=bearer)
    finally:
        server.stop()

    assert status == 200
    assert not (tmp_path / "admin-token").exists()
    assert "sign in at" not in server.log()
