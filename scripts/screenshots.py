"""Screenshots for the README: the browsable API (``/stations`` as HTML) and the ``/docs`` page.

Serves the sample API with a few stations on 127.0.0.1 and photographs it with headless Chromium
(Debian's ``chromium`` and ``chromium-driver``, and ``selenium``). Run from the repository root:

    python scripts/screenshots.py  # writes docs/browsable-api.png and docs/docs-page.png
"""

from __future__ import annotations

import base64
import secrets
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import waitress
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from resourcekit.testing import Client
from sample_project.app import create_site

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs"
TOKEN = secrets.token_urlsafe(16)  # only this run writes
WIDTH = 1280
STATIONS = [
    {"name": "Oslo Blindern", "latitude": 59.94, "longitude": 10.72, "elevation_m": 94,
     "country": "NO"},
    {"name": "Bergen Florida", "latitude": 60.38, "longitude": 5.33, "elevation_m": 12,
     "country": "NO"},
    {"name": "Paris Montsouris", "latitude": 48.82, "longitude": 2.34, "elevation_m": 75,
     "country": "FR"},
]
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--hide-scrollbars", f"--window-size={WIDTH},900",
)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` on 127.0.0.1 and a free port, for as long as the block runs."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()
        server.close()


def seed(site: Any) -> None:
    client = Client(site, headers={"Authorization": f"Bearer {TOKEN}"})
    for station in STATIONS:
        assert client.post("/stations", json=station).status_code == 201


def browser(profile: Path) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def shoot(driver: Any, path: Path, max_height: int) -> None:
    """The page from its top, beyond the window but no taller than ``max_height``."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": min(size["height"], max_height), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = create_site(Path(tmp) / "db.sqlite", api_token=TOKEN)
        seed(site)
        driver = browser(Path(tmp) / "profile")
        try:
            with serve(site) as base:
                driver.get(f"{base}/stations")
                shoot(driver, OUT / "browsable-api.png", max_height=2600)
                driver.get(f"{base}/docs")
                WebDriverWait(driver, 20).until(
                    lambda d: "Weather stations" in d.find_element(By.ID, "swagger-ui").text
                )
                shoot(driver, OUT / "docs-page.png", max_height=1600)
        finally:
            driver.quit()
            site.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
