"""Every route, the dashboard and static files included (which the OpenAPI document leaves
out), fuzzed with hostile path segments, query strings and bodies at the nesting and size
limits: never a 5xx, and the process lives on."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import pytest
from conftest import ADMIN_TOKEN, ServiceProcess
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricefeed.app import create_app
from pricefeed.config import load_settings
from pricefeed.web.bodies import MAX_DEPTH

MAX_BODY = 65_536
EXAMPLES = 20

texts = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["³", "\x00", "..", "%", "9" * 5000, "A" * 300, "0x" + "f" * 40, "WETH"]),
)
numbers = st.one_of(
    st.integers(-(10**30), 10**30).map(str), st.sampled_from(["1e23", "9" * 5000, "-0", "nan"])
)
queries = st.dictionaries(
    st.sampled_from(["amount", "max_age", "page", "q", "sort", "limit", "offset", "next", "saved"]),
    st.one_of(texts, numbers),
    max_size=4,
)


def nested(depth: int) -> bytes:
    return b'{"pairs":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


bodies = st.one_of(
    st.sampled_from([nested(MAX_DEPTH), nested(MAX_DEPTH + 1)]),  # at the nesting limit, past it
    st.sampled_from([b" " * (MAX_BODY - 2) + b"{}", b" " * (MAX_BODY - 1) + b"{}"]),  # size
    st.dictionaries(st.text(max_size=10), st.one_of(texts, numbers)).map(
        lambda d: json.dumps(d).encode()
    ),
    st.binary(max_size=300),
)
media_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
)


def routes() -> list[tuple[str, str]]:
    app = create_app(load_settings(env={}))
    return sorted(  # one order in every process: xdist's workers must collect the same list
        (method, route.path)
        for route in app.routes
        for method in route.methods - {"OPTIONS", "HEAD"}
    )


def concrete(path: str, draw) -> str:
    """The route's path with each {name:type} filled by hostile text, URL-quoted."""

    def fill(match: re.Match) -> str:
        kind = match.group(2)
        value = draw(numbers if kind == "int" else texts)
        return quote(value, safe="/" if kind == "path" else "")

    return re.sub(r"\{(\w+):(\w+)\}", fill, path)


@pytest.fixture(scope="module")
def server(config_file, tmp_path_factory):
    process = ServiceProcess(
        config_file,
        tmp_path_factory.mktemp("fuzz-routes"),
        PRICEFEED_ADMIN_TOKEN=ADMIN_TOKEN,
        PRICEFEED__SERVER__RATE_LIMIT="0",
        PRICEFEED__SERVER__MAX_BODY_BYTES=str(MAX_BODY),
        PRICEFEED__DASHBOARD__PUBLIC_READ="true",
    ).start()
    yield process
    process.stop()


def call(server, method, path, query, body, media_type, auth) -> int:
    headers = {"Content-Type": media_type} if media_type else {}
    if auth:
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    return server.request(path + ("?" + urlencode(query) if query else ""), method, body, headers)[
        0
    ]


@pytest.mark.parametrize(("method", "path"), routes())
def test_no_hostile_request_gets_a_server_error(server, method, path):
    @given(data=st.data())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(data):
        target = concrete(path, data.draw)
        sends_body = method in ("POST", "PUT", "DELETE")
        body = data.draw(bodies) if sends_body else None
        status = call(
            server,
            method,
            target,
            data.draw(queries),
            body,
            data.draw(media_types) if sends_body else "",
            data.draw(st.booleans()),
        )
        assert status < 500, (method, target[:200], status)

    fuzz()
    assert server.proc.poll() is None
