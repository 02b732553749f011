"""Sessions end: at sign-out (in any web process on the box), at their absolute lifetime
however busy, and when the admin token changes; an ended cookie is dropped, not renewed."""

from __future__ import annotations

import asyncio

from conftest import ADMIN_TOKEN, form_token, sign_in


async def sign_out(client):
    token = form_token(await client.get("/dashboard"))
    return await client.post(
        "/dashboard/logout", data={"_csrf_token": token}, follow_redirects=False
    )


def dashboard(client):
    return client.get("/dashboard", follow_redirects=False)


async def test_a_cookie_replayed_after_sign_out_is_signed_out(service, tmp_path):
    async with service(data=tmp_path) as client:
        await sign_in(client)
        kept = dict(client.cookies)
        assert (await dashboard(client)).status_code == 200
        await sign_out(client)
    async with service(data=tmp_path) as replay:
        replay.cookies.update(kept)
        answer = await dashboard(replay)

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/login")
    cookie = answer.headers.get("set-cookie", "")
    assert cookie.startswith("pricefeed_session=null;")  # dropped, not renewed


async def test_signing_out_in_one_web_process_ends_the_session_in_another(service, tmp_path):
    async with service(data=tmp_path) as first, service(data=tmp_path) as second:
        await sign_in(first)
        kept = dict(first.cookies)
        second.cookies.update(kept)
        await sign_out(second)
        again = await sign_in(first)  # before `first` has looked at the store since
        signed_in_again = await dashboard(first)
        first.cookies.clear()
        first.cookies.update(kept)
        replayed = await dashboard(first)

    assert again.status_code == 303
    assert signed_in_again.status_code == 200  # a new sign-in is of the new epoch
    assert replayed.status_code == 303


async def test_a_session_ends_at_its_absolute_lifetime_however_busy(service):
    async with service(sections={"dashboard": {"session_hours": 3 / 3600}}) as client:
        await sign_in(client)
        statuses = []
        for _ in range(18):  # every 0.25 s for 4.5 s: a sliding 3 s lifetime would never end
            statuses.append((await dashboard(client)).status_code)
            await asyncio.sleep(0.25)

    # the 3 s lifetime is the behaviour here, and the session cookie's max-age (real time) ends
    # it too: the first look comes one in-process request after signing in, well within it
    assert statuses[0] == 200
    assert statuses[-1] == 303
    assert statuses == sorted(statuses)  # once over, over


async def test_a_new_admin_token_ends_every_session(service, tmp_path):
    async with service(data=tmp_path) as client:
        await sign_in(client)
        kept = dict(client.cookies)
    async with service(data=tmp_path) as same_token:
        same_token.cookies.update(kept)
        kept_on = await dashboard(same_token)
    async with service(data=tmp_path, admin_token="rotated-" + ADMIN_TOKEN) as rotated:
        rotated.cookies.update(kept)
        ended = await dashboard(rotated)

    assert kept_on.status_code == 200  # a restart alone keeps the sign-in
    assert ended.status_code == 303
