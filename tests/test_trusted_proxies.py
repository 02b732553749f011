"""The client is the peer address: X-Forwarded-For counts only from a listed proxy."""

from __future__ import annotations

from conftest import ServiceProcess


def status(server, forwarded_for: str) -> int:
    return server.request("/price/devchain/WETH/USDC", headers={"X-Forwarded-For": forwarded_for})[
        0
    ]


def test_a_spoofed_forwarded_for_does_not_escape_the_rate_limit(config_file, tmp_path):
    server = ServiceProcess(config_file, tmp_path, PRICEFEED__SERVER__RATE_LIMIT="3").start()
    try:
        answers = [status(server, f"10.0.0.{i}") for i in range(5)]
    finally:
        server.stop()

    assert answers == [200, 200, 200, 429, 429]


def test_a_listed_proxy_names_the_client(config_file, tmp_path):
    server = ServiceProcess(
        config_file,
        tmp_path,
        PRICEFEED__SERVER__RATE_LIMIT="3",
        PRICEFEED__SERVER__TRUSTED_PROXIES='["127.0.0.1"]',
    ).start()
    try:
        others = [status(server, f"10.0.0.{i}") for i in range(5)]
        same = [status(server, "10.0.9.9") for _ in range(5)]
    finally:
        server.stop()

    assert others == [200] * 5  # five clients behind the proxy, one request each
    assert same == [200, 200, 200, 429, 429]
