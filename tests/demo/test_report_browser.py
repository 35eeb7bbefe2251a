"""The report opened in a real headless browser: the distribution's chromium via selenium.

Skipped, with the reason, only when chromium, chromedriver or selenium is missing (CI installs
them: see .ci/run). Checks what a reader would: the page loads without a console error and
without a single network request, every section heading is there, every plot has a size on
screen, and it prints. A full-page screenshot goes to test-artifacts/ for a human look.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from memograd.demo.runner import SECTIONS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _browser_or_skip() -> tuple[str, str]:
    chromium = next(
        (
            shutil.which(n)
            for n in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(n)
        ),
        None,
    )
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip(
            "needs a headless browser: install the distribution's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver)"
        )
    pytest.importorskip("selenium", reason="needs selenium (pip install 'memograd[test]')")
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="memograd-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(browser, quick_run):
    browser.get_log("performance")  # drop the browser's own start-up traffic
    browser.get(quick_run.report.as_uri())
    return browser


def _requests(driver) -> list[tuple[str, str]]:
    """(document URL, requested URL) of every request the browser sent."""
    sent = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            params = message["params"]
            sent.append((params.get("documentURL", ""), params["request"]["url"]))
    return sent


def test_report_loads_without_console_errors_or_network_requests(page, quick_run):
    errors = [e for e in page.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    report = quick_run.report.as_uri()
    sent = _requests(page)
    # The page loads itself and its inline data: images, nothing else, not even a favicon ...
    from_page = [url for document, url in sent if document == report]
    assert [url for url in from_page if not url.startswith("data:")] == [report]
    # ... and nothing at all leaves the machine (the browser's own chrome:// pages aside).
    assert [url for _, url in sent if url.split(":", 1)[0] in ("http", "https", "ws", "wss")] == []
    assert page.find_elements("tag name", "script") == []


def test_every_section_heading_is_present(page):
    from selenium.webdriver.common.by import By

    headings = [h.text for h in page.find_elements(By.CSS_SELECTOR, "section > h2")]
    expected = [f"{i}. {module.HEADING}" for i, module in enumerate(SECTIONS, start=1)]
    assert headings == expected
    toc = [a.text for a in page.find_elements(By.CSS_SELECTOR, "nav a")]
    assert toc == expected


def test_every_plot_renders_with_a_size(page):
    from selenium.webdriver.common.by import By

    plots = page.find_elements(By.CSS_SELECTOR, "figure .plot > svg")
    # 1 Fibonacci, 2 network + 6 sweep steps, 2 depth, 2 or 3 model, 1 speed.
    assert len(plots) >= 14
    assert len(plots) == page.page_source.count('<div class="plot')
    for svg in plots:
        size = svg.size
        assert size["width"] > 50 and size["height"] > 30, svg.get_attribute("outerHTML")[:200]
    captions = page.find_elements(By.CSS_SELECTOR, "figure figcaption")
    assert all(c.text.startswith("Figure ") for c in captions)


def test_formulas_are_typeset_as_mathml(page):
    from selenium.webdriver.common.by import By

    formula = page.find_element(By.CSS_SELECTOR, "#network .formula math")
    assert formula.size["width"] > 200
    assert formula.find_elements(By.TAG_NAME, "mfrac")


def test_report_prints_and_screenshot_is_saved(page):
    pdf = base64.b64decode(page.execute_cdp_cmd("Page.printToPDF", {})["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    height = page.execute_script("return document.documentElement.scrollHeight")
    page.set_window_size(1280, min(int(height), 16_000))
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "report.png"
    assert page.save_screenshot(str(target))
    assert target.stat().st_size > 50_000
