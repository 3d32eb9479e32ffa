"""The browsable API and the docs page in a real browser: headless Chromium driven by Selenium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``) and the ``selenium`` package; without them the tests are skipped. No
driver is downloaded, and every request the pages make is checked to stay on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from resourcekit.testing import Client
from sample_project.app import create_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TOKEN = "browser-token"
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--window-size=1280,1000",
)
LOCAL_SCHEMES = ("data", "blob", "about")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "needs /usr/bin/chromium and /usr/bin/chromedriver "
        "(apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the test extra)")
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def chromium(user_data_dir: Path) -> Any:
    """Headless Chromium with its own profile, logging every network request it makes."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def requested_urls(driver: Any) -> list[str]:
    """The URLs of every ``Network.requestWillBeSent`` since the last call."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def assert_local(urls: list[str]) -> None:
    assert urls, "the performance log recorded no request"
    strays = [
        url for url in urls
        if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert strays == [], f"requests left 127.0.0.1: {strays}"


def wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 10) -> Any:
    """Until ``condition`` is truthy; a page replaced meanwhile (a reload) just tries again.

    Chromium reports an element of a page being replaced either as stale or, mid-navigation, as
    an inspector error ("Node with given id does not belong to the document"); both mean "again".
    """
    ignored = (NoSuchElementException, StaleElementReferenceException, WebDriverException)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(condition)


@pytest.fixture
def sample(tmp_path: Path, live_server: Callable[..., Any]) -> Iterator[tuple[Any, str]]:
    site = create_site(tmp_path / "db.sqlite", api_token=TOKEN)
    with live_server(site) as base:
        yield site, base
    site.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    driver = chromium(tmp_path / "profile")
    try:
        driver.get("about:blank")  # leave the new-tab page the profile opens with
        requested_urls(driver)  # and forget what it loaded: only our pages are checked
        yield driver
    finally:
        driver.quit()


def fill(form: Any, values: dict[str, str]) -> None:
    for key, value in values.items():
        (control,) = [
            el for el in form.find_elements(By.CSS_SELECTOR, "[data-key]")
            if el.get_attribute("data-key") == key
        ]
        control.clear()
        control.send_keys(value)


def station_page(driver: Any, base: str) -> re.Match[str] | None:
    return re.fullmatch(re.escape(base) + r"/stations/(\d+)", driver.current_url)


def test_create_a_station_from_the_browser(sample: tuple[Any, str], browser: Any) -> None:
    site, base = sample
    browser.get(f"{base}/stations")
    assert browser.title == "stations · Weather stations"
    browser.find_element(By.ID, "rk-token").send_keys(TOKEN)
    form = browser.find_element(By.ID, "rk-form-post")
    fill(form, {"name": "Bergen Florida", "latitude": "60.38", "longitude": "5.33",
                "elevation_m": "12", "country": "NO"})
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    match = wait(browser, lambda d: station_page(d, base))  # followed the 201's Location
    station_id = int(match.group(1))
    wait(browser, lambda d: d.find_elements(By.ID, "rk-form-patch"))
    shown = json.loads(browser.find_element(By.ID, "rk-data").get_attribute("textContent"))
    assert shown["name"] == "Bergen Florida" and shown["elevation_m"] == 12
    assert browser.find_element(By.ID, "rk-token").get_attribute("value") == TOKEN  # kept
    stored = Client(site).get(f"/stations/{station_id}").json
    assert stored["latitude"] == 60.38 and stored["country"] == "NO"

    browser.get(f"{base}/stations")
    table = browser.find_element(By.ID, "rk-items").text
    assert "Bergen Florida" in table
    assert_local(requested_urls(browser))


def test_problems_show_next_to_the_form(sample: tuple[Any, str], browser: Any) -> None:
    site, base = sample
    browser.get(f"{base}/stations")
    form = browser.find_element(By.ID, "rk-form-post")
    fill(form, {"name": "Nowhere", "latitude": "1", "longitude": "2", "country": "no"})
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    problem = form.find_element(By.CSS_SELECTOR, ".rk-problem")
    wait(browser, lambda d: problem.is_displayed())
    assert "401" in problem.text  # no token given yet

    browser.find_element(By.ID, "rk-token").send_keys(TOKEN)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: "422" in problem.text)
    assert "country" in problem.text
    errors = [e.text for e in form.find_elements(By.CSS_SELECTOR, ".rk-error") if e.text]
    assert errors == ["must be an ISO 3166-1 alpha-2 country code: two capital letters, e.g. FR"]
    assert browser.current_url == f"{base}/stations"
    assert Client(site).get("/stations").json == []
    assert_local(requested_urls(browser))


def test_patch_then_delete(sample: tuple[Any, str], browser: Any) -> None:
    site, base = sample
    client = Client(site, headers={"Authorization": f"Bearer {TOKEN}"})
    created = client.post("/stations", json={
        "name": "Tromsø", "latitude": 69.6, "longitude": 18.9, "country": "NO",
    })
    path = urlsplit(created.headers["Location"]).path
    browser.get(base + path)
    browser.find_element(By.ID, "rk-token").send_keys(TOKEN)
    form = browser.find_element(By.ID, "rk-form-patch")
    fill(form, {"name": "Tromsø Langnes"})
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: "Tromsø Langnes" in d.find_element(By.ID, "rk-representation").text)
    assert client.get(path).json["name"] == "Tromsø Langnes"

    browser.find_element(By.CSS_SELECTOR, "#rk-form-delete button[type=submit]").click()
    wait(browser, lambda d: d.switch_to.alert).accept()
    wait(browser, lambda d: d.current_url == f"{base}/stations")
    assert client.get(path).status_code == 404
    assert_local(requested_urls(browser))


def test_hostile_data_stays_text(sample: tuple[Any, str], browser: Any) -> None:
    site, base = sample
    client = Client(site, headers={"Authorization": f"Bearer {TOKEN}"})
    name = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    client.post("/stations", json={"name": name, "latitude": 0, "longitude": 0, "country": "FR"})
    browser.get(f"{base}/stations")
    assert name in browser.find_element(By.ID, "rk-items").text  # shown as text in the table
    browser.get(f"{base}/stations/1")
    assert browser.execute_script("return window.pwned") is None
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    assert browser.find_element(By.ID, "rk-form-put").find_element(
        By.CSS_SELECTOR, "[data-key=name]"
    ).get_attribute("value") == name  # and as the value of the PUT form's field
    assert_local(requested_urls(browser))


def lines_of(driver: Any, element: Any) -> int:
    """How many lines the browser lays out the text of ``element`` on."""
    lines: int = driver.execute_script(
        "const range = document.createRange(); range.selectNodeContents(arguments[0]);"
        "return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;",
        element,
    )
    return lines


def test_timestamps_stay_on_one_line(sample: tuple[Any, str], browser: Any) -> None:
    site, base = sample
    client = Client(site, headers={"Authorization": f"Bearer {TOKEN}"})
    for name in ("Oslo Blindern", "Bergen Florida", "Paris Montsouris"):
        client.post("/stations", json={"name": name, "latitude": 1, "longitude": 2,
                                       "elevation_m": 3, "country": "FR"})
    stamp = client.get("/stations/1").json["created_at"]
    for width in (1280, 800):
        browser.set_window_size(width, 900)
        browser.get(f"{base}/stations")
        cells = [td for td in browser.find_elements(By.CSS_SELECTOR, "#rk-items td")
                 if td.text.startswith(stamp[:10])]
        assert len(cells) == 6  # created_at and updated_at of each station
        assert [lines_of(browser, td) for td in cells] == [1] * 6, width
    assert_local(requested_urls(browser))


def _oslo(site: Any) -> Client:
    """An authorised client of ``site``, after it created station 1, Oslo."""
    client = Client(site, headers={"Authorization": f"Bearer {TOKEN}"})
    client.post("/stations", json={"name": "Oslo", "latitude": 59.9, "longitude": 10.7,
                                   "country": "NO"})
    return client


def _follow(browser: Any, selector: str, url: str) -> None:
    browser.find_element(By.CSS_SELECTOR, selector).click()
    wait(browser, lambda d: d.current_url == url)


def test_follow_links_between_resources(sample: tuple[Any, str], browser: Any) -> None:
    site, base = sample
    _oslo(site).post("/stations/1/observations",
                     json={"observed_at": "2024-05-01T12:00:00Z", "temperature_c": 11.5})
    browser.get(f"{base}/stations")
    _follow(browser, "#rk-items a[rel=item]", f"{base}/stations/1")
    related = browser.find_elements(By.CSS_SELECTOR, "#rk-links a[rel=related]")
    assert [a.text for a in related] == ["/stations/1/observations", "/stations/1/weather"]
    _follow(browser, "#rk-links a[rel=related]", f"{base}/stations/1/observations")
    _follow(browser, "#rk-items a[rel=item]", f"{base}/stations/1/observations/1")
    shown = json.loads(browser.find_element(By.ID, "rk-data").get_attribute("textContent"))
    assert shown["temperature_c"] == 11.5
    _follow(browser, "#rk-links a[rel=collection]", f"{base}/stations/1/observations")
    _follow(browser, "#rk-links a[rel=up]", f"{base}/stations/1")
    _follow(browser, "#rk-links a[rel=collection]", f"{base}/stations")
    assert_local(requested_urls(browser))


def test_patch_form_marks_nothing_required(sample: tuple[Any, str], browser: Any) -> None:
    site, base = sample
    client = _oslo(site)
    browser.get(f"{base}/stations/1")
    patch = browser.find_element(By.ID, "rk-form-patch")
    put = browser.find_element(By.ID, "rk-form-put")
    assert patch.find_elements(By.CSS_SELECTOR, "[required], abbr.req") == []
    assert len(put.find_elements(By.CSS_SELECTOR, "abbr.req")) == 4
    browser.find_element(By.ID, "rk-token").send_keys(TOKEN)
    fill(patch, {"elevation_m": "94"})
    patch.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: '"elevation_m": 94' in d.find_element(By.ID, "rk-representation").text)
    assert client.get("/stations/1").json["name"] == "Oslo"
    assert_local(requested_urls(browser))


def test_docs_page_works_offline(sample: tuple[Any, str], browser: Any) -> None:
    _, base = sample
    browser.get(f"{base}/docs")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#swagger-ui *"), timeout=20)
    wait(browser, lambda d: "Weather stations" in d.find_element(By.ID, "swagger-ui").text)
    assert_local(requested_urls(browser))


def test_a_list_takes_an_item_per_input(browser: Any, live_server: Callable[..., Any]) -> None:
    """Create with two items (one holding a comma), then PATCH one away: the script sends what
    a form without it would, an item per input."""
    from marshmallow import Schema, fields

    from resourcekit import Created, Resource, Site

    class Note(Schema):
        title = fields.Str(required=True)
        tags = fields.List(fields.Str())

    notes: dict[int, dict[str, Any]] = {}
    site = Site(title="Notes")

    @site.route("/notes")
    class Notes(Resource):
        schema = Note

        def get(self, request: Any) -> list[dict[str, Any]]:
            return list(notes.values())

        def post(self, request: Any) -> Created:
            notes[len(notes) + 1] = dict(request.validated)
            return Created(notes[len(notes)], location=request.url_for("Item", id=len(notes)))

    @site.route("/notes/{id:int}", name="Item")
    class Item(Resource):
        schema = Note

        def get(self, request: Any, id: int) -> dict[str, Any]:
            return notes[id]

        def patch(self, request: Any, id: int) -> dict[str, Any]:
            notes[id].update(request.validated)
            return notes[id]

    with live_server(site) as base:
        browser.get(f"{base}/notes")
        form = browser.find_element(By.ID, "rk-form-post")
        fill(form, {"title": "Shopping"})
        first, second, _ = form.find_elements(By.CSS_SELECTOR, "[data-key=tags]")
        first.send_keys("milk")
        second.send_keys("eggs, large")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser, lambda d: d.current_url == f"{base}/notes/1")
        assert notes[1] == {"title": "Shopping", "tags": ["milk", "eggs, large"]}

        form = wait(browser, lambda d: d.find_element(By.ID, "rk-form-patch"))
        form.find_elements(By.CSS_SELECTOR, "[data-key=tags]")[0].clear()
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser, lambda d: notes[1]["tags"] == ["eggs, large"])
        assert notes[1]["title"] == "Shopping"
