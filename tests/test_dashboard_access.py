"""Dashboard sign-in cookies: HttpOnly and SameSite always, Secure over TLS; CSRF on sign-in."""

from __future__ import annotations

import re

import pytest
from conftest import ADMIN_TOKEN


async def sign_in(client):
    form_page = await client.get("/dashboard/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form_page.text).group(1)
    return await client.post(
        "/dashboard/login",
        data={"secret": ADMIN_TOKEN, "next": "/dashboard", "_csrf_token": token},
        follow_redirects=False,
    )


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [("https://pricefeed.example", True), ("http://pricefeed.example", False)],
)
async def test_the_session_cookie_is_secure_exactly_over_tls(service, base_url, secure):
    async with service(base_url=base_url) as client:
        answer = await sign_in(client)
    cookie = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith(("pricefeed_session=", "__Host-pricefeed_session="))
    )
    assert cookie.startswith("__Host-") is secure  # host-only and Secure over TLS
    assert answer.status_code == 303
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert ("Secure" in cookie) is secure


async def test_signing_in_without_the_csrf_token_is_refused(service):
    async with service() as client:
        await client.get("/dashboard/login")
        answer = await client.post("/dashboard/login", data={"secret": ADMIN_TOKEN})
    assert answer.status_code == 403


async def test_the_json_api_needs_no_csrf_token(service):
    async with service() as client:
        answer = await client.post(
            "/prices",
            json={"pairs": [{"chain": "devchain", "tokenIn": "WETH", "tokenOut": "USDC"}]},
        )
    assert answer.status_code == 200


async def test_a_fragment_asked_for_signed_out_sends_the_page_to_sign_in_and_back(service):
    async with service() as client:
        polled = await client.get(
            "/dashboard/fragments/charts",
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver.local/dashboard"},
        )
        plain = await client.get("/dashboard/pairs", follow_redirects=False)

    # back to the page the poll came from after signing in, not to the bare fragment
    assert polled.headers["HX-Redirect"] == "/dashboard/login?next=/dashboard"
    assert plain.headers["location"] == "/dashboard/login?next=/dashboard/pairs"
