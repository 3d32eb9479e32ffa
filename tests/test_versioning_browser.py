"""The /docs page's version switch in a real browser (headless Chromium driven by Selenium).

Skipped without Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from versioned_site import FIRST, TITLE, build

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--no-first-run", "--window-size=1280,1000")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("needs /usr/bin/chromium and /usr/bin/chromedriver", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the test extra)")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 20) -> Any:
    return WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(
        condition)


def test_the_docs_page_switches_between_versions(
    live_server: Callable[..., Any], browser: Any
) -> None:
    with live_server(build()) as base:
        browser.get(f"{base}/docs")
        select = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".topbar select"))
        options = [o.text for o in Select(select).options]
        assert options == [f"API version {v}" for v in ("2026-11-23", "2027-01-15", TITLE)]
        assert Select(select).first_selected_option.text == f"API version {FIRST}"
        ui = lambda d: d.find_element(By.ID, "swagger-ui").text  # noqa: E731
        wait(browser, lambda d: f"API version `{FIRST}`" in ui(d) or FIRST in ui(d))
        assert "/tags" not in ui(browser)  # not in 2026-11-23
        Select(select).select_by_visible_text(f"API version {TITLE}")
        wait(browser, lambda d: "/tags" in ui(d))
        assert "Notes call their name a title" in ui(browser)
