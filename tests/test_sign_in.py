"""Sign-in and the Bearer token resist guessing: failures are throttled with growing waits,
per client and overall, and logged without the secret; the sign-in link works only when
opened directly, never from another site's page."""

from __future__ import annotations

import logging

from conftest import ADMIN_TOKEN, ServiceProcess, sign_in

WRONG = "wrong-guess-0123456789abcdefghijklmnopqrstuvwxyz"


async def test_wrong_secrets_are_throttled_with_growing_waits_and_logged_without_the_secret(
    service, caplog
):
    caplog.set_level(logging.WARNING)
    async with service() as client:
        clock = [10_000.0]  # the throttle's clock stands still but when the test moves it
        client.app.state.auth.throttle.clock = lambda: clock[0]
        tries = [(await sign_in(client, WRONG)).status_code for _ in range(7)]
        right_while_blocked = await sign_in(client)
        first_wait = int(right_while_blocked.headers["Retry-After"])
        clock[0] += first_wait
        wrong_after_the_wait = (await sign_in(client, WRONG)).status_code
        second_wait = int((await sign_in(client)).headers["Retry-After"])
        clock[0] += second_wait
        right_after_the_wait = await sign_in(client)

    assert tries == [401] * 6 + [429]  # five free, the sixth starts a wait
    assert right_while_blocked.status_code == 429
    assert "wait" in right_while_blocked.text
    assert wrong_after_the_wait == 401
    assert (first_wait, second_wait) == (1, 2)  # each further failure doubles the wait
    assert right_after_the_wait.status_code == 303
    assert caplog.text.count("sign-in with a wrong secret from testclient") == 7
    assert WRONG not in caplog.text and ADMIN_TOKEN not in caplog.text


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
        # the service's own clock runs: a wait can pass between two guesses on a busy box, so
        # guess until refused (each failure after the free five doubles the wait)
        guesser = []
        while 429 not in guesser and len(guesser) < 12:
            guesser.append(bearer(server, WRONG, "10.0.0.1"))
        someone_else = bearer(server, ADMIN_TOKEN, "10.0.0.2")
        many_addresses = [bearer(server, WRONG, f"10.1.0.{i}") for i in range(60)]
        after_the_swarm = bearer(server, ADMIN_TOKEN, "10.0.0.3")
        log = server.log()
    finally:
        server.stop()

    assert guesser[:6] == [401] * 6  # five free, the sixth starts a wait
    assert guesser[-1] == 429  # the next guess inside a wait: 7th, unless the box paused
    assert someone_else == 200  # one client's guesses do not lock out another
    assert 429 in many_addresses  # over 50 failures from anywhere: everyone waits
    assert after_the_swarm == 429
    assert "wrong admin token from 10.0.0.1 on /admin/tiers" in log
    assert WRONG not in log


async def test_the_link_signs_in_only_when_opened_directly(service, tmp_path):
    async with service(data=tmp_path, admin_token="") as client:
        link = "/dashboard/login?token=" + (tmp_path / "admin-token").read_text().strip()
        # another site's page loading the link: its guesses must not use up the throttle
        from_elsewhere = await client.get(
            link, headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False
        )
        opened = await client.get(link, headers={"Sec-Fetch-Site": "none"}, follow_redirects=False)

    assert from_elsewhere.status_code == 200  # the sign-in form, not signed in
    assert opened.status_code == 303
    assert opened.headers["location"] == "/dashboard"
