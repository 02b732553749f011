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

EXAMPLES = 25


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
