"""The dashboard in a real browser (Debian's Chromium) against a real running service.

Every page is photographed into test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime

import pytest
from conftest import ADMIN_TOKEN, ARTIFACTS, ServiceProcess
from playwright.sync_api import Page, expect

# one worker for the whole module, to start one server and one browser; no test depends on
# another having run first on it (each waits for what it needs), so the module also passes
# when loadgroup does not group, as under pytest 9.2 (pytest-xdist #1386; pyproject keeps 9.1)
pytestmark = pytest.mark.xdist_group("dashboard_browser")

SECRET = ADMIN_TOKEN
SHOTS = ARTIFACTS / "screenshots"
PAIRS = ["WETH/USDC", "WBTC/USDC", "DAI/USDC", "LINK/USDC", "UNI/WETH"]


@pytest.fixture(scope="module")
def server(config_file, tmp_path_factory):
    service = ServiceProcess(
        config_file, tmp_path_factory.mktemp("dashboard"), PRICEFEED_ADMIN_TOKEN=SECRET
    )
    service.start()
    for pair in PAIRS:
        for amount in ("1", "2"):
            service.get(f"/price/devchain/{pair}?amount={amount}")
    yield service
    service.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()


def sign_in(page: Page, server: ServiceProcess, then: str = "/dashboard") -> None:
    page.goto(f"{server.url}/dashboard/login?next={then}")
    page.fill("#secret", SECRET)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{then}")


def wait_for_chart_samples(page: Page) -> None:
    """Reload the overview until every chart has samples: the first is taken 5 s after start,
    then one every 10 s, and the page says "No samples yet" until the next load."""
    for _ in range(20):  # 20 loads 3 s apart: several rounds of samples, even on a busy box
        if not page.locator(".chart-card .empty").count():
            break
        time.sleep(3)
        page.reload()
    expect(page.locator(".chart-card .empty")).to_have_count(0)


def sampled_at(page: Page, chart: str) -> list[float]:
    """When each point the page was sent for a chart was sampled (epoch seconds)."""
    figure = json.loads(page.locator(f"#data-{chart}").text_content())
    return [datetime.fromisoformat(x).timestamp() for trace in figure["data"] for x in trace["x"]]


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_pages_need_a_sign_in_and_a_wrong_secret_is_refused(page, server):
    page.goto(server.url + "/dashboard/pairs")
    expect(page).to_have_url(f"{server.url}/dashboard/login?next=/dashboard/pairs")
    shoot(page, "login")
    page.fill("#secret", "guess")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_have_text("Wrong secret.")
    page.fill("#secret", SECRET)
    page.click("button[type=submit]")
    expect(page).to_have_url(server.url + "/dashboard/pairs")
    cookie = next(c for c in page.context.cookies() if c["name"] == "pricefeed_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_the_overview_charts_render_with_data(page, server):
    sign_in(page, server)
    wait_for_chart_samples(page)
    for chart in ("hit-rate", "latency", "queue", "rpc", "dex", "age"):
        expect(page.locator(f"#chart-{chart} .main-svg").first).to_be_visible()
    assert page.locator("#chart-hit-rate .scatterlayer .trace").count() >= 1
    assert page.locator("#chart-rpc .scatterlayer .trace").count() >= 1
    shoot(page, "overview")
    assert page.console_errors == []


def test_a_live_value_changes_without_a_reload(page, server):
    sign_in(page, server)
    page.evaluate("window.notReloaded = true")
    before = page.locator("[data-live=requests]").inner_text()
    for _ in range(10):
        server.get("/price/devchain/WETH/USDC")
    # the cards poll every 5 s: the wait allows several polls on a busy box
    expect(page.locator("[data-live=requests]")).not_to_have_text(before, timeout=30_000)
    assert page.evaluate("window.notReloaded") is True


def test_pairs_can_be_searched_sorted_and_opened(page, server):
    sign_in(page, server, "/dashboard/pairs")
    shoot(page, "pairs")
    page.fill("#q", "link")
    expect(page.locator("#pairs tbody tr")).to_have_count(1)
    expect(page.locator("#pairs tbody tr").first).to_contain_text("LINK/USDC")
    page.fill("#q", "")
    # the cleared search swaps the table in after 300 ms and a request: the sort links of the
    # filtered table still carry q=link, so the sort waits for the whole list to be back
    expect(page.locator("#pairs tbody tr", has_text="DAI/USDC")).to_have_count(1)
    page.get_by_role("link", name="Pair", exact=True).click()
    expect(page.locator("#pairs th a.sorted")).to_have_text("Pair")
    page.get_by_role("link", name="DAI/USDC").click()
    expect(page.locator("h1")).to_contain_text("DAI → USDC")
    expect(page.locator("#chart-price .main-svg").first).to_be_visible()
    assert page.locator("table tbody tr").count() == 2  # amounts 1 and 2
    shoot(page, "pair")


def test_a_tier_edited_through_its_form_survives_a_restart(page, server):
    sign_in(page, server, "/dashboard/tiers")
    form = page.locator("#tier-2")
    form.locator("[name=ttl]").fill("abc")
    form.get_by_role("button", name="Save tier 2").click()
    expect(page.locator("#tier-2 .field.invalid .error")).to_have_text("must be a number")
    page.locator("#tier-2 [name=ttl]").fill("90")
    page.locator("#tier-2 [name=stale_limit]").fill("400")
    page.locator("#tier-2").get_by_role("button", name="Save tier 2").click()
    expect(page.locator("#tier-2 [role=status]")).to_have_text("Saved.")
    shoot(page, "tiers")
    page.goto(server.url + "/dashboard")
    wait_for_chart_samples(page)  # history to outlive the restart (a fresh server has none)

    stopped_at = time.time()
    server.restart()
    page.goto(server.url + "/dashboard/tiers")  # the session outlives the restart
    expect(page.locator("#tier-2 [name=ttl]")).to_have_value("90")
    expect(page.locator("#tier-2 [name=stale_limit]")).to_have_value("400")
    page.goto(server.url + "/dashboard")  # chart history is in SQLite: there at once
    expect(page.locator(".chart-card .empty")).to_have_count(0)
    expect(page.locator("#chart-latency .scatterlayer .trace").first).to_be_attached()
    assert min(sampled_at(page, "latency")) < stopped_at  # drawn from before the restart


def test_a_pair_is_pinned_and_unpinned_through_forms(page, server):
    sign_in(page, server, "/dashboard/tiers")
    page.fill("#pin-chain", "devchain")
    page.fill("#pin-token_in", "LINK")
    page.fill("#pin-token_out", "USDC")
    page.select_option("#pin-tier", "2")
    page.get_by_role("button", name="Pin", exact=True).click()
    expect(page.locator("#pins tbody")).to_contain_text("LINK/USDC")
    page.fill("#pin-token_in", "NOSUCH")
    page.get_by_role("button", name="Pin", exact=True).click()
    expect(page.locator("#pins .field.invalid .error")).to_contain_text("no token 'NOSUCH'")
    page.locator("#pins tbody").get_by_role("button", name="Unpin").click()
    expect(page.locator("#pins tbody")).to_contain_text("No pinned pairs")


def test_forms_work_as_plain_posts_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, server, "/dashboard/tiers")
    page.locator("#tier-3 [name=refresh]").fill("150")
    page.locator("#tier-3").get_by_role("button", name="Save tier 3").click()
    expect(page).to_have_url(server.url + "/dashboard/tiers?saved=3")
    expect(page.locator("#tier-3 [role=status]")).to_have_text("Saved.")
    expect(page.locator("#tier-3 [name=refresh]")).to_have_value("150")
    context.close()


def test_a_post_without_the_csrf_token_is_refused(page, server):
    sign_in(page, server, "/dashboard/tiers")
    form = {"refresh": "5", "ttl": "10", "stale_limit": "60", "size": "50"}
    refused = page.request.post(server.url + "/dashboard/tiers/1", form=form, max_redirects=0)
    token = page.locator("#tier-1 input[name=_csrf_token]").get_attribute("value")
    accepted = page.request.post(
        server.url + "/dashboard/tiers/1", form=form | {"_csrf_token": token}, max_redirects=0
    )
    assert refused.status == 403
    assert accepted.status == 303


def test_the_rpc_page_shows_endpoint_health_with_urls_redacted(page, server):
    sign_in(page, server, "/dashboard/rpc")
    row = page.locator("#rpc tbody tr").first
    expect(row).to_contain_text("closed")
    expect(row.locator("code")).to_have_text(
        "http://127.0.0.1:" + server.config.read_text().split("127.0.0.1:")[1].split('"')[0]
    )
    state = page.locator("#state-devchain")
    expect(state).to_contain_text("V3 pools held")
    expect(state).to_contain_text("0 of")  # no disagreement, no shadow mismatch
    budget = page.locator("#budget-devchain-1")
    expect(budget).to_contain_text("25/s cap")
    expect(budget).to_contain_text("following")
    shoot(page, "rpc")


def test_pages_send_security_headers(server):
    with urllib.request.urlopen(server.url + "/dashboard/login") as resp:
        headers = resp.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_read_only_pages_can_be_public_while_forms_still_need_a_sign_in(
    browser, config_file, tmp_path
):
    public = ServiceProcess(
        config_file,
        tmp_path,
        PRICEFEED_ADMIN_TOKEN=SECRET,
        PRICEFEED__DASHBOARD__PUBLIC_READ="true",
    ).start()
    try:
        page = browser.new_page()
        page.goto(public.url + "/dashboard/tiers")
        expect(page.locator("h1")).to_have_text("Tiers")
        page.locator("#tier-1").get_by_role("button", name="Save tier 1").click()
        # back to the page after signing in: the form's own address answers POSTs only
        expect(page).to_have_url(public.url + "/dashboard/login?next=/dashboard/tiers")
        page.close()
    finally:
        public.stop()
