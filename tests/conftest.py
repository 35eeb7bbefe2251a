"""Shared by every test that opens a page in a real browser: the distribution's chromium,
driven through selenium and chromedriver.

Skipped, with the reason, only when chromium, chromedriver or selenium is missing (CI installs
them: see .ci/run). One browser serves the whole session; :class:`Browser` wraps it with what
the page tests check: the requests a page sent, its console errors, a phone-sized viewport,
horizontal overflow, and full-page screenshots saved to test-artifacts/ for a human look.

Also the session's one real redis-server (tools/redis_server.py on a loopback port), for the
Redis store's tests and the cache command's, with ``redis_url`` its emptied database 0.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
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


def _skip_unless_ci(reason: str) -> None:
    """Skip a test whose real part (a browser, a server) is missing; in CI, fail instead.

    CI installs every part (.ci/run), so a missing one there is a broken install, not a reason
    to pass with the browser and Redis tests silently left out.
    """
    if os.environ.get("CI"):
        pytest.fail(f"CI must have this real part: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def skip_unless_ci():
    """The rule above, for the fixtures of other folders' real parts."""
    return _skip_unless_ci


def _redis_server_module():
    """tools/redis_server.py, loaded by path: a development tool, not part of the library."""
    path = Path(__file__).resolve().parents[1] / "tools" / "redis_server.py"
    spec = importlib.util.spec_from_file_location("memograd_tests_redis_server", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server on a free 127.0.0.1 port for the session, shared by the Redis store's
    tests and the cache command's; skipped, saying why, if absent (failed in CI)."""
    server, reason = _redis_server_module().start_or_skip_reason()
    if server is None:
        _skip_unless_ci(reason)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The server's database 0, emptied and without a memory limit before the test."""
    import redis

    url = redis_server.url(0)
    client = redis.Redis.from_url(url)
    client.flushall()
    client.config_set("maxmemory", 0)
    client.close()
    return url


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
        _skip_unless_ci(
            "needs a headless browser: install the distribution's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver)"
        )
    pytest.importorskip("selenium", reason="needs selenium (pip install 'memograd[test]')")
    return chromium, driver


class Browser:
    """A selenium driver and the checks every page test makes with it."""

    def __init__(self, driver) -> None:  # noqa: ANN001 - a selenium WebDriver
        self.driver = driver

    def open(self, path: Path, *, width: int = 1280) -> None:
        """Load a local file at ``width`` px, after dropping earlier logs and traffic."""
        self.set_width(width)
        self.driver.get_log("performance")
        self.driver.get_log("browser")
        self.driver.get(path.as_uri())

    def set_width(self, width: int, height: int = 900) -> None:
        """The viewport a phone (``width`` < 600, with its meta-viewport rules) or desktop has."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

    def requests(self) -> list[tuple[str, str]]:
        """(document URL, requested URL) of every request sent since the last call."""
        sent = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                params = message["params"]
                sent.append((params.get("documentURL", ""), params["request"]["url"]))
        return sent

    def console_problems(self) -> list[dict]:
        """Console errors and warnings since the last call."""
        return [e for e in self.driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]

    def horizontal_overflow(self) -> tuple[int, list[str]]:
        """Pixels the page is wider than its viewport, and the elements sticking out (outside
        any box that scrolls sideways on its own), to name in a failure."""
        return tuple(
            self.driver.execute_script(
                """
                const root = document.documentElement, width = root.clientWidth;
                const clipped = (e) => {
                  for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
                    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX))
                      return true;
                  return false;
                };
                const out = [...document.body.querySelectorAll('*')]
                  .filter(e => e.getBoundingClientRect().right > width + 0.5 && !clipped(e))
                  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''));
                return [root.scrollWidth - width, out.slice(0, 10)];
                """
            )
        )

    def screenshot(self, name: str, *, width: int) -> Path:
        """A full-page screenshot at ``width`` px, saved as test-artifacts/``name``."""
        self.set_width(width)
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.set_width(width, min(int(height), 16_000))
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / name
        assert self.driver.save_screenshot(str(target))
        self.set_width(width)
        return target


@pytest.fixture(scope="session")
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
        yield Browser(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
