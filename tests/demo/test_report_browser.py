"""The report opened in a real headless browser (the shared ``browser`` fixture of
tests/conftest.py: the distribution's chromium via selenium).

Checks what a reader would: the page loads without a console error and without a single
network request, every section heading is there, every plot has a size on screen, formulas are
typeset, it prints, and on a phone (390 px) nothing sticks out sideways. Full-page screenshots
at 1280 and 390 px go to test-artifacts/ for a human look.
"""

from __future__ import annotations

import base64

import pytest

from memograd.demo.runner import headings


@pytest.fixture(scope="module")
def page(browser, quick_run):
    browser.open(quick_run.report)
    return browser


def test_report_loads_without_console_errors_or_network_requests(page, quick_run):
    assert page.console_problems() == []
    report = quick_run.report.as_uri()
    sent = page.requests()
    # The page loads itself and its inline data: images, nothing else, not even a favicon ...
    from_page = [url for document, url in sent if document == report]
    assert [url for url in from_page if not url.startswith("data:")] == [report]
    # ... and nothing at all leaves the machine (the browser's own chrome:// pages aside).
    assert [url for _, url in sent if url.split(":", 1)[0] in ("http", "https", "ws", "wss")] == []
    assert page.driver.find_elements("tag name", "script") == []


def test_every_section_heading_is_present(page):
    from selenium.webdriver.common.by import By

    shown = [h.text for h in page.driver.find_elements(By.CSS_SELECTOR, "section > h2")]
    expected = headings()
    assert shown == expected
    from memograd.demo.runner import SECTIONS

    story = sum(1 for module in SECTIONS if not getattr(module, "APPENDIX", False))
    assert expected[-2].startswith(f"{story + 1}. Summary")
    assert expected[-1].startswith("Appendix A. Speed")
    toc = [a.text for a in page.driver.find_elements(By.CSS_SELECTOR, "nav a")]
    assert toc == expected


def test_every_plot_renders_with_a_size(page):
    from selenium.webdriver.common.by import By

    plots = page.driver.find_elements(By.CSS_SELECTOR, "figure .plot > svg")
    # 2 + 2 Fibonacci, 2 network + 6 sweep steps, 2 depth, 2 + 1 or 2 model, 1 speed.
    assert len(plots) >= 18
    assert len(plots) == page.driver.page_source.count('<div class="plot')
    for svg in plots:
        size = svg.size
        assert size["width"] > 50 and size["height"] > 30, svg.get_attribute("outerHTML")[:200]
    captions = page.driver.find_elements(By.CSS_SELECTOR, "figure:not(.listing) figcaption")
    assert all(c.text.startswith("Figure ") for c in captions)
    listings = page.driver.find_elements(By.CSS_SELECTOR, "figure.listing figcaption")
    assert [c.text.split(".")[0] for c in listings] == ["Listing 1", "Listing 2", "Listing 3"]


def test_formulas_are_typeset_as_mathml(page):
    from selenium.webdriver.common.by import By

    formula = page.driver.find_element(By.CSS_SELECTOR, "#network .formula math")
    assert formula.size["width"] > 200
    assert formula.find_elements(By.TAG_NAME, "mfrac")


def test_on_a_phone_nothing_overflows_paired_figures_stack_and_fractions_are_text_size(page):
    driver = page.driver
    pairs = "return [...document.querySelectorAll('.pair')].map((p) => [...p.children].map("
    pairs += "(c) => Math.round(c.getBoundingClientRect().top)));"
    side_by_side = driver.execute_script(pairs)
    assert len(side_by_side) == 3  # the two call trees, calls and time, loss and accuracy
    assert all(first == second for first, second in side_by_side)
    page.set_width(390)
    overflow, culprits = page.horizontal_overflow()
    assert overflow == 0, culprits
    stacked = driver.execute_script(pairs)
    assert all(second > first for first, second in stacked)
    # A fraction's letters are as large as the text around it, in the table and in the formula.
    sizes = driver.execute_script(
        "const px = (e) => parseFloat(getComputedStyle(e).fontSize);"
        "return [...document.querySelectorAll('#network mfrac')].map("
        "(f) => [px(f.querySelector('mi')), px(f.closest('td, .formula'))]);"
    )
    assert len(sizes) > 10
    assert all(letter == around for letter, around in sizes), sizes
    page.set_width(1280)


def test_report_prints_and_screenshots_are_saved(page):
    pdf = base64.b64decode(page.driver.execute_cdp_cmd("Page.printToPDF", {})["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    for width in (1280, 390):
        target = page.screenshot(f"report-{width}.png", width=width)
        assert target.stat().st_size > 50_000
