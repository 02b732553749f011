"""Schemathesis fuzzes the API from its own OpenAPI document: no 5xx, no schema violations.

(Schemathesis's pytest plugin does not run under pytest 9, so each operation's Hypothesis
strategy is driven here directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from conftest import ADMIN_TOKEN, ServiceProcess
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from pricefeed.web.bodies import MAX_DEPTH

EXAMPLES = 25
MAX_BODY = 65_536  # server.max_body_bytes by default


@pytest.fixture(scope="module")
def fuzzed(config_file, tmp_path_factory):
    server = ServiceProcess(
        config_file,
        tmp_path_factory.mktemp("fuzz"),
        PRICEFEED_ADMIN_TOKEN=ADMIN_TOKEN,
        PRICEFEED__SERVER__RATE_LIMIT="0",
    ).start()
    yield server
    server.stop()


def test_no_request_makes_the_api_fail_or_break_its_schema(fuzzed):
    schema = schemathesis.openapi.from_url(fuzzed.url + "/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            case.call_and_validate(
                base_url=fuzzed.url,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                checks=[not_a_server_error, response_schema_conformance],
            )

        fuzz()


PATH_VALUES = {"tier": 2, "chain": "devchain", "token_in": "WETH", "token_out": "USDC"}


def nested(depth: int) -> dict:
    value: list = []
    for _ in range(depth - 2):  # the object and its "pairs" array are two levels
        value = [value]
    return {"pairs": value}


def sized(total: int) -> dict:
    """A body whose JSON is about `total` bytes (schemathesis sends json.dumps' spacing)."""
    return {"pairs": [], "pad": "x" * (total - len('{"pairs": [], "pad": ""}'))}


def test_bodies_at_the_nesting_and_size_limits_get_documented_answers(fuzzed):
    schema = schemathesis.openapi.from_url(fuzzed.url + "/schema/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations() if len(r.ok().body) > 0]
    bodies = [nested(MAX_DEPTH), nested(MAX_DEPTH + 1), sized(MAX_BODY), sized(MAX_BODY + 1)]
    assert {op.method.upper() for op in operations} == {"POST", "PUT"}
    statuses = []
    for operation in operations:
        params = {p.name: PATH_VALUES[p.name] for p in operation.path_parameters}
        for body in bodies:
            case = operation.Case(body=body, path_parameters=params, media_type="application/json")
            response = case.call_and_validate(
                base_url=fuzzed.url,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                checks=[not_a_server_error, response_schema_conformance],
            )
            statuses.append(response.status_code)
    assert 413 not in statuses[2::4]  # just inside the size limit: read
    assert set(statuses[3::4]) == {413}
    assert set(statuses[1::4]) == {400}  # one level too deep
