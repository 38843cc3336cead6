"""The trend report's page, opened in headless Chromium: it loads without a console error
and every chart has drawn.

Run with ``nox -s tests_browser``; it needs Chromium and its driver from the system
packages (``apt-get install chromium chromium-driver``) and selenium (pip). Without them the
tests fail, saying what to install: they are never skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from garment_tables import catalogue_rows, write_csv
from segformer_clothes.analysis import trend_report

pytestmark = pytest.mark.browser

INSTALL = (
    "the browser tests need Chromium and chromedriver from the system packages "
    "(apt-get install chromium chromium-driver) and selenium (pip install selenium)"
)
# Nothing the page does may leave this machine: every host name fails to resolve, and the
# browser's own background traffic (updates, sync, metrics) is switched off.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # the tests may run as root in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium driven by selenium through the system's chromedriver."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.fail(f"no {'chromium' if chromium is None else 'chromedriver'} found: {INSTALL}")
    try:
        from selenium import webdriver
    except ImportError:
        pytest.fail(f"selenium is not installed: {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver is given, so selenium looks nothing up on the network.
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(chromedriver))
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: Any, page: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open a page from its file and wait until it has loaded; return (each image's state,
    the console's errors)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # what an earlier page logged is not this page's
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    images: list[dict[str, Any]] = driver.execute_script(
        "return Array.from(document.images).map(image => ({chart: image.dataset.chart,"
        " complete: image.complete, width: image.naturalWidth, height: image.naturalHeight}))"
    )
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    return images, errors


def test_the_report_page_loads_without_console_errors_and_every_chart_draws(
    browser: Any, tmp_path: Path
) -> None:
    table = write_csv(tmp_path / "garments.csv", catalogue_rows())
    written = trend_report(table, by="season").write(tmp_path / "report")
    charts = {path.name: path for path in written if path.suffix == ".png"}
    assert len(charts) == 6
    images, errors = open_page(browser, tmp_path / "report" / "report.html")
    assert errors == []
    assert sorted(image["chart"] for image in images) == sorted(charts)
    for image in images:
        assert image["complete"], f"{image['chart']} has not loaded"
        assert image["width"] > 0, f"{image['chart']} has not drawn"
        with Image.open(charts[image["chart"]]) as png:  # the page shows the chart at its size
            assert (image["width"], image["height"]) == png.size


def test_a_broken_chart_and_a_console_error_are_seen(browser: Any, tmp_path: Path) -> None:
    """The checks above can fail: a page with a corrupt image and a script error fails them."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        "<title>broken</title></head><body>"
        '<img data-chart="broken.png" src="data:image/png;base64,iVBORw0KGgoAAAAA">'
        '<script>console.error("a chart failed")</script></body></html>',
        encoding="utf-8",
    )
    images, errors = open_page(browser, page)
    assert [image["width"] for image in images] == [0]
    assert any("a chart failed" in entry["message"] for entry in errors)
