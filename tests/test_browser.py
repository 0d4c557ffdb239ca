"""The search page in a real headless Chromium (Debian's chromium + chromium-driver, driven by
selenium) against a real `kbsearch serve --http`: typing, highlights, sections, facets,
links, the keyboard, a phone's width, and markup in queries and documents shown as text.

Without the browser these tests skip, except where KBSEARCH_REQUIRE_BROWSER is set (`.ci/run`
sets it after installing the browser): there they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from .conftest import ROOT, make_doc
from .web_server import HttpServer

CHROMIUM = os.environ.get("KBSEARCH_CHROMIUM") or shutil.which("chromium") or ""
CHROMEDRIVER = os.environ.get("KBSEARCH_CHROMEDRIVER") or shutil.which("chromedriver") or ""
WAIT = 20  # seconds a page may take to show what the test waits for
pytestmark = pytest.mark.slow  # a browser per module: `make test`, not `make check`

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

INJECTION_TITLE = "<img src=x onerror=window.injected=1> Injection quokka"


def _corpus(folder: Path) -> None:
    folder.mkdir()
    pages = {
        "anemia.md": make_doc(
            "Anemia and fatigue",
            """
            Anemia makes people tired.

            ## Treatment of anemia

            A transfusion of red blood cells treats anemia quickly.

            ## Other causes of fatigue

            Poor sleep and pain cause fatigue too.
            """,
            tags=["treatment"],
        ),
        "transfusion.md": make_doc(
            "Blood transfusion",
            "## Risks\n\nA transfusion can cause a reaction. Anemia is the usual reason.",
            tags=["supportive_care"],
        ),
        "iron.md": make_doc(
            "Iron for anemia", "## Food\n\nIron-rich food helps anemia.", tags=["supportive_care"]
        ),
        "anemia-es.md": make_doc(
            "Anemia y fatiga",
            "## Tratamiento de la anemia\n\nUna transfusión de glóbulos rojos trata la anemia.",
            tags=["treatment"],
            language="es",
        ),
        "injection.md": make_doc(
            f'"{INJECTION_TITLE}"',
            """
            Escaped markup is text: &lt;script&gt;window.injected=2&lt;/script&gt; quokka.

            <script>window.injected=3</script>
            """,
            tags=["<b>bold</b>"],
        ),
    }
    for name, text in pages.items():
        (folder / name).write_text(text)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    base = tmp_path_factory.mktemp("site")
    _corpus(base / "kb")
    subprocess.run(
        [sys.executable, "-m", "search", "index", str(base / "kb"), "--index", str(base / "ix")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    server = HttpServer(base / "ix", base / "run")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    if not (CHROMIUM and CHROMEDRIVER):
        message = "no chromium/chromedriver (apt-get install chromium chromium-driver)"
        if os.environ.get("KBSEARCH_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def wait_for(driver: WebDriver, condition: object, message: str = "") -> object:
    return WebDriverWait(driver, WAIT).until(condition, message)  # type: ignore[arg-type]


def search_for(driver: WebDriver, site: HttpServer, text: str) -> None:
    driver.get(site.url + "/")
    box = driver.find_element(By.ID, "q")
    box.send_keys(text)
    # The address follows the last search shown: wait for the one of the whole text.
    wait_for(driver, lambda d: parse_qs(urlsplit(d.current_url).query).get("q") == [text], text)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".hit"), f"no hits for {text}")


def test_typing_shows_highlighted_hits_with_their_sections(
    browser: WebDriver, site: HttpServer
) -> None:
    search_for(browser, site, "anemia transfusion")
    hits = browser.find_elements(By.CSS_SELECTOR, ".hit")
    titles = [hit.find_element(By.CSS_SELECTOR, "a.title").text for hit in hits]
    assert {"Anemia and fatigue", "Blood transfusion", "Iron for anemia"} <= set(titles)
    first = hits[titles.index("Anemia and fatigue")]
    marked = {mark.text.lower() for mark in browser.find_elements(By.CSS_SELECTOR, ".hit mark")}
    assert {"anemia", "transfusion"} <= marked
    section = first.find_element(By.CSS_SELECTOR, ".sections a.section")
    assert section.text == "Treatment of anemia"


def test_a_facet_filters_the_hits(browser: WebDriver, site: HttpServer) -> None:
    search_for(browser, site, "anemia")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".hit")) == 4
    facet = next(
        link
        for link in browser.find_elements(By.CSS_SELECTOR, "a.facet")
        if link.text.startswith("supportive care")
    )
    assert facet.find_element(By.CSS_SELECTOR, ".count").text == "2"
    facet.click()
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".hit")) == 2, "filtered")
    assert parse_qs(urlsplit(browser.current_url).query)["tag"] == ["supportive_care"]
    pressed = browser.find_elements(By.CSS_SELECTOR, 'a.facet[aria-pressed="true"]')
    assert [link.text.split()[0] for link in pressed] == ["supportive"]
    titles = {link.text for link in browser.find_elements(By.CSS_SELECTOR, ".hit a.title")}
    assert titles == {"Blood transfusion", "Iron for anemia"}


def test_the_language_switch_and_did_you_mean(browser: WebDriver, site: HttpServer) -> None:
    search_for(browser, site, "anemia")
    titles = {link.text for link in browser.find_elements(By.CSS_SELECTOR, ".hit a.title")}
    assert "Anemia y fatiga" in titles and len(titles) == 4
    Select(browser.find_element(By.NAME, "lang")).select_by_value("es")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".hit")) == 1, "Spanish")
    assert browser.find_element(By.CSS_SELECTOR, ".hit a.title").text == "Anemia y fatiga"
    assert parse_qs(urlsplit(browser.current_url).query)["lang"] == ["es"]

    search_for_nothing = site.url + "/?q=transfusoin"
    browser.get(search_for_nothing)
    suggestion = browser.find_element(By.CSS_SELECTOR, ".suggestion a")
    assert suggestion.text == "transfusion"
    suggestion.click()

    def searched_suggestion(driver: WebDriver) -> bool:
        # The typo's page may list hits already: wait for the address of the suggestion too.
        asked = parse_qs(urlsplit(driver.current_url).query).get("q")
        return asked == ["transfusion"] and bool(driver.find_elements(By.CSS_SELECTOR, ".hit"))

    wait_for(browser, searched_suggestion, "the suggestion's hits at its address")


def test_a_section_link_lands_on_the_section(browser: WebDriver, site: HttpServer) -> None:
    search_for(browser, site, "anemia transfusion")
    browser.find_element(By.CSS_SELECTOR, '.hit a.section[href*="anemia.md"]').click()
    wait_for(browser, lambda d: "/doc/anemia.md" in d.current_url, "followed the link")
    assert urlsplit(browser.current_url).fragment == "treatment-of-anemia"
    heading = browser.find_element(By.ID, "treatment-of-anemia")
    assert heading.tag_name == "h2" and heading.text == "Treatment of anemia"
    assert "transfusion" in {m.text for m in browser.find_elements(By.CSS_SELECTOR, "mark")}


def test_markup_in_documents_and_queries_is_only_text(browser: WebDriver, site: HttpServer) -> None:
    search_for(browser, site, "quokka")
    title = browser.find_element(By.CSS_SELECTOR, ".hit a.title").text
    assert title == INJECTION_TITLE
    assert (
        "<script>window.injected=2</script>" in browser.find_element(By.CSS_SELECTOR, ".hit").text
    )
    assert "<b>bold</b>" in browser.find_element(By.CSS_SELECTOR, ".facets").text
    hostile = '"><svg onload="document.body.dataset.pwned=1"><iframe src=zzqq>'
    browser.get(site.url + "/")
    browser.find_element(By.ID, "q").send_keys(hostile)
    searched = [hostile]
    wait_for(browser, lambda d: parse_qs(urlsplit(d.current_url).query).get("q") == searched, "")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".summary"), "searched")
    browser.get(site.url + "/?" + urlencode({"q": hostile}))  # rendered by the server this time
    assert browser.title == f"{hostile} – kbsearch"
    assert browser.find_element(By.ID, "q").get_attribute("value") == hostile
    browser.get(site.url + "/doc/injection.md?" + urlencode({"q": "quokka " + hostile}))
    assert "window.injected=2" in browser.find_element(By.TAG_NAME, "article").text
    assert browser.execute_script("return typeof window.injected") == "undefined"
    assert browser.execute_script("return document.body.dataset.pwned") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "img, svg, iframe")


def test_the_keyboard_reaches_every_result(browser: WebDriver, site: HttpServer) -> None:
    browser.get(site.url + "/?q=anemia")  # a shared link: the server rendered the hits
    body = browser.find_element(By.TAG_NAME, "body")
    browser.execute_script("document.activeElement.blur()")
    body.send_keys("/")
    box = browser.find_element(By.ID, "q")
    assert browser.switch_to.active_element == box
    box.send_keys(Keys.ARROW_DOWN)
    links = browser.find_elements(By.CSS_SELECTOR, ".hit a.title, .hit a.section")
    assert browser.switch_to.active_element == links[0]
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    assert browser.switch_to.active_element == links[1]
    browser.switch_to.active_element.send_keys(Keys.ARROW_UP, Keys.ARROW_UP)
    assert browser.switch_to.active_element == box
    box.send_keys(Keys.ARROW_DOWN)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "/doc/" in d.current_url, "Enter follows the link")


def test_the_page_fits_a_phone(browser: WebDriver, site: HttpServer) -> None:
    browser.set_window_size(390, 844)
    try:
        browser.get(site.url + "/?q=anemia+transfusion")
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".hit"), "hits")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
        size = browser.find_element(By.CSS_SELECTOR, ".hit a.title").value_of_css_property(
            "font-size"
        )
        assert float(size.removesuffix("px")) >= 16
    finally:
        browser.set_window_size(1280, 900)
