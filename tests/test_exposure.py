"""What the service shows, and to whom: security headers everywhere, HSTS over TLS, metrics
behind the admin token when asked, and RPC URLs shown by host only."""

from __future__ import annotations

import logging

import pytest
from conftest import ADMIN_TOKEN

KEY = "abcdefghijklmnopqrstuvwx"  # letters only: the old pattern-based redaction let it through
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize("path", ["/nope", "/price/devchain", "/health/live", "/static/none.css"])
async def test_security_headers_are_on_every_answer_404s_included(service, path):
    async with service() as client:
        answer = await client.get(path)

    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


async def test_hsts_is_sent_over_tls_and_only_there(service):
    async with service(base_url="https://testserver.local") as client:
        over_tls = await client.get("/nope")
    async with service() as client:
        plain = await client.get("/health/live")

    assert over_tls.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in plain.headers


@pytest.mark.parametrize("path", ["/metrics", "/metrics/prometheus", "/alerts"])
async def test_metrics_can_require_the_admin_token(service, path):
    async with service(sections={"metrics": {"public": False}}) as client:
        anonymous = await client.get(path)
        admin = await client.get(path, headers=AUTH)
    async with service() as client:
        public = await client.get(path)

    assert (anonymous.status_code, admin.status_code, public.status_code) == (401, 200, 200)


@pytest.fixture
async def keyed_endpoint(service, proxy):
    """A service whose only RPC endpoint carries a key in its path, after it has failed."""
    endpoint = proxy()
    async with service(
        urls=[f"{endpoint.url}/v2/{KEY}"],
        sections={"dashboard": {"public_read": True}},
        retries=1,
        breaker_failures=100,
    ) as client:
        assert (await client.get("/price/devchain/WETH/USDC")).status_code == 200
        endpoint.faults.status = 500
        failed = await client.get("/price/devchain/WBTC/USDC")
        yield client, endpoint, failed


async def test_a_503_names_no_endpoint(keyed_endpoint):
    _, endpoint, failed = keyed_endpoint

    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "upstream_unavailable"
    assert str(endpoint.port) not in failed.text
    assert "127.0.0.1" not in failed.text


async def test_a_key_in_an_rpc_path_never_shows(keyed_endpoint, caplog):
    client, endpoint, _ = keyed_endpoint
    caplog.set_level(logging.DEBUG)
    await client.get("/price/devchain/DAI/USDC")  # fails again, logging at every level

    pages = {
        path: (await client.get(path, headers=AUTH)).text
        for path in ("/metrics", "/metrics/prometheus", "/health", "/dashboard/rpc")
    }
    assert f"127.0.0.1:{endpoint.port}/***" in pages["/metrics"]  # shown, by host only
    assert "HTTP 500" in pages["/metrics"]  # the last error is there, scrubbed
    for path, text in [*pages.items(), ("logs", caplog.text)]:
        assert KEY not in text, path
        assert "/v2/" not in text, path
