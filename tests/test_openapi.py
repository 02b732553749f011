"""The API describes itself with a valid OpenAPI document at /schema."""

from __future__ import annotations

from openapi_spec_validator import validate


async def test_the_openapi_schema_is_valid_and_lists_the_api(service):
    async with service() as client:
        answer = await client.get("/schema/openapi.json")
    schema = answer.json()
    validate(schema)
    assert {"/price/{chain}/{token_in}/{token_out}", "/prices"} <= set(schema["paths"])
    params = {
        p["name"]
        for p in schema["paths"]["/price/{chain}/{token_in}/{token_out}"]["get"]["parameters"]
    }
    assert {"amount", "max_age"} <= params
