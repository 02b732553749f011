"""/schema is interactive API docs (Swagger UI) that run offline under our CSP: every file
comes from the app itself. The document describes every route with a summary, examples and
the error bodies clients really get, and the admin routes' Bearer token."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from conftest import ServiceProcess
from playwright.sync_api import expect

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def server(config_file, tmp_path_factory):
    service = ServiceProcess(config_file, tmp_path_factory.mktemp("docs")).start()
    yield service
    service.stop()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", op


def has_example(op: dict) -> bool:
    bodies = [*op.get("responses", {}).values(), op.get("requestBody", {})]
    in_bodies = any(m.get("examples") for b in bodies for m in b.get("content", {}).values())
    return in_bodies or any(p.get("examples") for p in op.get("parameters", []))


def test_every_route_has_a_summary_examples_and_its_error_bodies(server):
    schema = server.get("/schema/openapi.json")
    ops = dict(operations(schema))

    assert len(ops) >= 13
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    admin = [op for name, op in ops.items() if " /admin/" in name]
    assert len(admin) == 5 and all(op["security"] == [{"bearer": []}] for op in admin)
    for name, op in ops.items():
        assert op.get("summary"), name
        assert has_example(op), name
        ok = op["responses"]["200"]["content"]
        assert next(iter(ok.values())).get("examples"), f"{name}: no example answer"
        for status, answer in op["responses"].items():
            if status.startswith("4"):
                media = answer["content"]["application/json"]
                assert media["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, name
                (example,) = media["examples"].values()
                assert set(example["value"]["error"]) == {"code", "message"}, name


def test_the_docs_render_offline_with_no_console_errors(browser, server):
    page = browser.new_page()
    requested, errors = [], []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/schema")

    # a 1.7 MB script to parse: give a loaded two-core machine time
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("pricefeed", timeout=60_000)
    live = page.locator(".opblock-get", has_text="/health/live")
    live.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    status = live.locator(".live-responses-table tbody .response-col_status")
    expect(status).to_have_text("200", timeout=60_000)  # a wait, not a bound on speed
    page.wait_for_load_state("networkidle")

    assert page.locator(".opblock").count() >= 13
    here = urlsplit(server.url).netloc
    assert requested and all(urlsplit(url).netloc == here for url in requested), requested
    assert errors == []
    page.close()
