"""The page at ``/`` in a real headless browser (Debian's chromium through chromedriver):
it renders the allocation, the history chart, the regime and the runs, with no console
errors, from a real server's API."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import API_KEY, Server, running_server

pytestmark = pytest.mark.slow

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1200,1000")  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run adds them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="quantalloc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Server]:
    from quantalloc.storage import open_store
    from tests.storage.samples import sample_document

    folder = tmp_path_factory.mktemp("page")
    url = f"sqlite:///{folder / 'book.db'}"
    store = open_store(url)
    store.init()
    store.save_run(sample_document("run-for-the-page"))  # a stored solve run to list
    store.close()
    us = f"csv:{shared_data / 'us'}"
    with running_server(url, folder, data=us, args=("--market", "us")) as srv:
        with srv.client() as http:
            http.post("/portfolio/initialize", json={"capital": 120_000})
            metrics = {n: {"sharpe": s, "total_return": 0.1, "max_drawdown": 0.1}
                       for n, s in (("momentum", 1.5), ("orb", 0.2), ("wheel", 0.8))}  # fmt: skip
            assert http.post("/portfolio/rebalance", json={"metrics": metrics}).status_code == 200
        yield srv


def _wait(driver: Any, css: str, timeout: float = 30.0) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def test_the_page_renders_allocation_chart_regime_and_runs(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.url}/#key={API_KEY}")
    _wait(browser, "#status[data-ready='true']")
    _wait(browser, "#regime:not(.muted)")
    rows = browser.find_elements(By.CSS_SELECTOR, "#allocation tbody tr")
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert [c[0] for c in cells] == ["momentum", "orb", "wheel"]
    assert [c[3] for c in cells] == ["50.0%", "10.0%", "40.0%"]  # by score, within 10-50%
    lines = browser.find_elements(By.CSS_SELECTOR, "#chart svg polyline.series")
    assert sorted(line.get_attribute("data-strategy") for line in lines) == [
        "momentum", "orb", "wheel"]  # fmt: skip
    assert all(len(line.get_attribute("points").split()) == 2 for line in lines)  # two events
    assert "VIX" in browser.find_element(By.ID, "regime").text
    assert "Total capital 120,000" in browser.find_element(By.ID, "status").text
    run_cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#runs tbody td")]
    assert run_cells[0] == "run-for-the-" and run_cells[2] == "done"  # the id's first 12 chars
    browser.save_screenshot(str(tmp_path / "page.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert "#key" not in browser.current_url  # the key left the address bar


def test_without_a_key_the_page_asks_for_it(browser: Any, server: Server) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{server.url}/")
    form = _wait(browser, "#key-form")
    assert form.is_displayed()
    browser.find_element(By.ID, "key-input").send_keys(API_KEY)
    browser.find_element(By.CSS_SELECTOR, "#key-form button").click()
    _wait(browser, "#status[data-ready='true']")
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
