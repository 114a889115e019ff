"""The progress page in a real browser (Debian's headless chromium, through Playwright), and the
FHIR export, with both services as processes and the real broker: twelve weeks posted through
traininglog, a page link issued with a key, the page opened with the link alone."""

import os
import time
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.bundle import Bundle
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.client import history, post_all, wait_applied
from tests.e2e.conftest import System
from tests.e2e.page_history import red_flag, twelve_weeks
from tests.factories import new_user_id
from tests.keys import KEYS

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"  # Debian's: `make chromium` installs it
CHARTS = ("chart-pain", "chart-sessions", "chart-load", "chart-acwr")
# Where to keep the screenshots besides the test's own folder (the README's come from here).
KEEP_SCREENSHOTS = os.environ.get("BACKTRACK_PAGE_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser() -> Any:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    with sync_playwright() as playwright:
        # As root (the project's machines), chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def posted(system: System, documents: list[dict[str, Any]]) -> str:
    user_id = documents[0]["user_id"]
    wait_applied(system, user_id, max(post_all(system, documents)), timeout_s=120)
    return user_id


def page_link(system: System, user_id: str, headers: dict[str, str] | None = None) -> str:
    answer = system.http.post(
        f"{system.planner.url}/v1/users/{user_id}/page-links", json={}, headers=headers, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["url"])


def opened(browser: Browser, url: str, width: int = 1280) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    answer = page.goto(url)
    assert answer is not None and answer.status == 200, answer and answer.text()
    return page, requested


def not_blank(path: Path) -> None:
    """The screenshot holds a drawn page: many colours, and ink over a good part of it."""
    with Image.open(path) as image:
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 20) or []
        inked = sum(n for n, rgb in colours if sum(rgb) < 3 * 230)
        assert len(colours) > 50, f"{path}: {len(colours)} colours"
        assert inked > pixels.width * pixels.height // 100, f"{path}: {inked} pixels of ink"


def keep(page: Page, name: str, part: str | None = None) -> None:
    """With BACKTRACK_PAGE_SCREENSHOTS set (docs/ for the README), keep the first screen of the
    page (or one part of it) there."""
    if KEEP_SCREENSHOTS:
        Path(KEEP_SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        path = Path(KEEP_SCREENSHOTS) / name
        if part is None:
            page.screenshot(path=str(path))
        else:
            page.locator(part).screenshot(path=str(path))
        not_blank(path)


def test_twelve_weeks_show_their_routine_timeline_and_charts_in_a_browser(
    system: System, browser: Browser, tmp_path: Path
):
    user_id = posted(system, twelve_weeks(new_user_id()))
    versions = history(system, user_id)
    url = page_link(system, user_id)
    assert KEYS.key["ops"] not in url and "bt_" not in url
    page, requested = opened(browser, url)

    assert user_id in page.inner_text("h1")
    assert page.locator("#pause").count() == 0
    prescriptions = page.locator("#routine .rx")
    assert prescriptions.count() >= 4
    first = prescriptions.first.inner_text()
    assert "Last changed" in first and page.locator("#routine .rx .rule").count() >= 4
    assert page.locator("#routine .dose").first.inner_text().strip()

    # The timeline: every routine version, newest first; one that changed a dose names it,
    # with its rule and reason; runs of versions that changed only advice fold into one entry.
    shown = page.locator("#timeline [data-version]")
    assert [int(v) for v in shown.evaluate_all("es => es.map(e => e.dataset.version)")] == [
        v["version"] for v in reversed(versions)
    ]
    entries = page.locator("#timeline .timeline > li")
    assert 5 < entries.count() < len(versions)
    assert "Routine started" in entries.last.inner_text()
    dosed = [v for v in versions if any("exercise" in c for c in v["changes"])]
    latest = page.locator(f"#timeline li[data-version='{dosed[-1]['version']}']").inner_text()
    change = next(c for c in dosed[-1]["changes"] if "exercise" in c)
    assert change["rule"] in latest and change["reason"] in latest

    for chart in CHARTS:
        figure = page.locator(f"#{chart}")
        assert figure.locator("figcaption").inner_text().strip()
        svg = figure.locator("svg[role=img]:visible")  # the screen's drawing, not the phone's
        assert svg.count() == 1 and svg.locator("xpath=..").get_attribute("class") == "wide"
        assert svg.get_attribute("aria-labelledby") == f"{chart}-title"
        assert svg.bounding_box()["height"] > 100  # type: ignore[index]
        # Drawn series: bars or line paths of pygal's, not just axes.
        assert svg.locator(".series .reactive, .series path.line").count() > 0
        assert figure.locator(f"#{chart}-summary").inner_text().strip()
        assert figure.locator("table tbody tr").count() == 12
    ratio = page.locator("#chart-acwr").inner_text()
    assert "Caution 1.3" in ratio and "Too steep 1.5" in ratio
    pain = page.locator("#chart-pain").inner_text()
    assert "During exercise" in pain and "Next morning" in pain and "At rest" in pain

    # Nothing but the page itself was fetched: no CDN, no script, no key.
    assert all(r.startswith(system.planner.url) for r in requested), requested
    html = page.content()
    assert "<script" not in html and KEYS.key["ops"] not in html

    wide = tmp_path / "progress-page.png"
    page.screenshot(path=str(wide), full_page=True)
    not_blank(wide)
    keep(page, "progress-page.png")
    keep(page, "progress-page-charts.png", part="#charts")
    phone_page, _ = opened(browser, url, width=390)
    # On a phone the page fits its width, and each chart is the one drawn at a phone's width.
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    for chart in CHARTS:
        drawn = phone_page.locator(f"#{chart} svg[role=img]:visible")
        assert drawn.count() == 1 and drawn.locator("xpath=..").get_attribute("class") == "narrow"
    phone = tmp_path / "progress-page-390px.png"
    phone_page.screenshot(path=str(phone), full_page=True)
    not_blank(phone)
    keep(phone_page, "progress-page-390px.png")
    keep(phone_page, "progress-page-390px-charts.png", part="#chart-pain")


def test_a_paused_user_sees_the_pause_first_in_red(
    system: System, browser: Browser, tmp_path: Path
):
    documents = twelve_weeks(new_user_id())[:60]
    documents.append(red_flag(documents[0]["user_id"], documents[-1]))
    user_id = posted(system, documents)
    page, _ = opened(browser, page_link(system, user_id))

    first_section = page.locator("main > section").first
    assert first_section.get_attribute("id") == "pause"
    assert first_section.get_attribute("role") == "alert"
    assert "paused" in first_section.inner_text().lower()
    reason = system.http.get(f"{system.planner.url}/v1/users/{user_id}/routine", timeout=5).json()[
        "pause_reason"
    ]
    assert reason and reason in first_section.inner_text()
    colour = first_section.evaluate("e => getComputedStyle(e).color")
    red, green, blue = (int(c) for c in colour[colour.index("(") + 1 : -1].split(",")[:3])
    assert red > 120 and green < 40 and blue < 60, colour
    assert page.locator("#routine .rx").count() == 0
    shot = tmp_path / "progress-page-paused.png"
    page.screenshot(path=str(shot), full_page=False)
    not_blank(shot)
    keep(page, "progress-page-paused.png")


def test_a_link_opens_its_own_users_page_only_and_not_once_changed(
    system: System, browser: Browser
):
    mine = posted(system, twelve_weeks(new_user_id())[:20])
    other = posted(system, twelve_weeks(new_user_id())[:20])
    url = page_link(system, mine)
    base, _, query = url.partition("?")

    page = browser.new_page()
    for wrong, status in (
        (base.replace(mine, other) + "?" + query, 403),  # another user's page
        (base + "?" + query[:-3] + ("AAA" if not query.endswith("AAA") else "BBB"), 401),
        (base, 401),  # no link at all
    ):
        answer = page.goto(wrong)
        assert answer is not None and answer.status == status, wrong
        assert "cannot be shown" in page.inner_text("h1")
    # A client that cannot see the user gets no link to them.
    refused = system.http.post(
        f"{system.planner.url}/v1/users/{mine}/page-links",
        json={},
        headers=KEYS.header("reader"),
        timeout=10,
    )
    assert refused.status_code == 404


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_fhir_bundle_is_valid_r4_and_erasure_empties_it(system: System, browser: Browser):
    documents = twelve_weeks(new_user_id())[:40]
    user_id = posted(system, documents)
    url = page_link(system, user_id)
    fhir = f"{system.planner.url}/v1/users/{user_id}/fhir"
    answer = system.http.get(fhir, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/fhir+json")
    bundle = answer.json()
    Bundle.parse_obj(bundle)  # the FHIR R4 models refuse anything out of the specification
    versions = history(system, user_id)
    pains = [d for d in documents if d["type"] == "pain.reported"]
    observations = resources(bundle, "Observation")
    assert len(observations) == len(pains)
    assert {o["code"]["coding"][0]["code"] for o in observations} == {"72514-3"}
    assert len(resources(bundle, "CarePlan")) == len(versions)
    assert len(resources(bundle, "Provenance")) == len(versions)
    latest = versions[-1]["routine"]
    shown = sum(len(b["prescriptions"]) for b in latest["blocks"])
    current = [r for r in resources(bundle, "ServiceRequest") if r["status"] == "active"]
    assert len(current) == shown
    # Every Provenance names its rules and points at the pain reports that caused it.
    observed = {f"urn:uuid:{o['id']}" for o in observations}
    pointed = {
        entity["what"].get("reference")
        for p in resources(bundle, "Provenance")
        for entity in p.get("entity", ())
    }
    assert observed & pointed

    log = system.traininglog.url
    assert system.http.delete(f"{log}/v1/users/{user_id}", timeout=30).status_code in (200, 202)
    for _ in range(300):  # the planner applies the erasure marker from the broker
        emptied = system.http.get(fhir, timeout=10)
        if emptied.status_code == 200 and not emptied.json()["entry"]:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the Bundle still holds entries:\n{system.planner.logs()}")
    Bundle.parse_obj(emptied.json())
    # The page link of before opens nothing now.
    page = browser.new_page()
    answer = page.goto(url)
    assert answer is not None and answer.status == 404
