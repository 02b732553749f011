"""Bodies built to hurt: too deep, too wide, too big, not JSON. A clear 4xx, and the service
lives on."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import ADMIN_TOKEN, ServiceProcess
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricefeed.web.bodies import MAX_DEPTH, too_deep

NESTED = b"[" * 100_000 + b"]" * 100_000  # SIGSEGV'd the process before the depth bound


@pytest.fixture(scope="module")
def server(config_file, tmp_path_factory):
    process = ServiceProcess(
        config_file,
        tmp_path_factory.mktemp("hostile"),
        PRICEFEED_ADMIN_TOKEN=ADMIN_TOKEN,
        PRICEFEED__SERVER__RATE_LIMIT="0",
        PRICEFEED__SERVER__MAX_BODY_BYTES="1000000",  # let the nested body reach the parser
    ).start()
    yield process
    process.stop()


def send(server, method: str, path: str, body: bytes, content_type="application/json"):
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {ADMIN_TOKEN}"}
    status, answer = server.request(path, method, body, headers)
    return status, json.loads(answer)


def test_a_deeply_nested_body_is_refused_and_the_service_lives_on(server):
    status, body = send(server, "POST", "/prices", NESTED)

    assert status == 400
    assert body["error"]["message"] == f"JSON body nests deeper than {MAX_DEPTH} levels"
    assert server.proc.poll() is None
    assert server.get("/health/live") == {"status": "ok"}


def test_the_recursion_limit_stays_sane_with_web3_loaded():
    import web3  # noqa: F401  (py_ecc raises the limit to 100,000 at import)

    import pricefeed  # noqa: F401

    assert sys.getrecursionlimit() <= 10_000


@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_prices_wants_a_json_body_so_other_sites_cannot_post_one(server, media_type):
    status, body = send(server, "POST", "/prices", b'{"pairs": []}', media_type)

    assert status == 415
    assert "Content-Type: application/json" in body["error"]["message"]


LEAF = st.one_of(st.integers(), st.text(alphabet='[]{}"\\ab', max_size=8), st.none())
KEY = st.text(alphabet='[]{}"\\k', max_size=4)


@st.composite
def nested(draw) -> tuple[object, int]:
    """A JSON value nesting exactly `depth` levels of arrays and objects, with leaf siblings
    (brackets and escapes inside strings too), and its depth."""
    depth = draw(st.integers(0, 2 * MAX_DEPTH))
    value = draw(LEAF)
    for _ in range(depth):
        siblings = draw(st.lists(LEAF, max_size=2))
        at = draw(st.integers(0, len(siblings)))
        members = [*siblings[:at], value, *siblings[at:]]
        if draw(st.booleans()):
            value = members
        else:
            keys = draw(st.lists(KEY, min_size=len(members), max_size=len(members), unique=True))
            value = dict(zip(keys, members, strict=True))
    return value, depth


@given(case=nested())
@settings(max_examples=300, deadline=None)
def test_the_depth_bound_measures_nesting_as_json_does(case):
    value, depth = case

    assert too_deep(json.dumps(value).encode()) == (depth > MAX_DEPTH)


POST_ROUTES = [("POST", "/prices"), ("POST", "/admin/pins"), ("PUT", "/admin/tiers/2")]
hostile = st.one_of(
    st.integers(MAX_DEPTH - 2, 5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(MAX_DEPTH - 2, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(1, 60_000).map(lambda n: b"[" + b"[]," * n + b"[]]"),  # wide
    st.integers(1, 5_000).map(lambda n: json.dumps({"pairs": [{"x": "y"}] * n}).encode()),
    st.integers(1, 3000).map(lambda n: b"[" * n),  # never closed
    st.binary(max_size=2000),
)


@pytest.mark.parametrize(("method", "path"), POST_ROUTES)
def test_no_body_makes_a_json_route_fail(server, method, path):
    @given(body=hostile)
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(body):
        status, answer = send(server, method, path, body)
        assert 400 <= status < 500, (status, answer)
        assert answer["error"]["code"]

    fuzz()
    assert server.get("/health/live") == {"status": "ok"}
