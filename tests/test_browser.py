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
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
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
    pages["chemotherapy.md"] = make_doc(
        "Chemotherapy side effects",
        "Chemotherapy can cause nausea.\n\n"
        "## Managing nausea during chemotherapy\n\nEat small meals.",
        tags=["treatment"],
    )
    pages["chemo-drugs.md"] = make_doc(
        "How chemotherapy drugs work", "Chemotherapy drugs stop cells from dividing."
    )
    pages["chest.md"] = make_doc("Chest pain", "Chest pain has many causes.", tags=["symptoms"])
    citations = "\n\n".join(
        f"Okonkwo A{n}, et al.: Screening trial {n}. J Screen 12 ({n}): 1-9, 2019. "
        "[PUBMED Abstract]"
        for n in range(1, 6)
    )
    pages["screening.md"] = make_doc(
        "Who should be screened",
        "## Who should have screening\n\nScreening helps people at high risk.\n\n"
        f"## References\n\n{citations}",
        tags=["screening"],
    )
    pages["guide.md"] = make_doc(
        "Okapi field guide with a rather long title that has to wrap on a phone",
        "Okapi tracks " * 60,
        url="https://kb.example.org/" + "/".join(["a-long-section-name"] * 8) + "/okapi-guide",
    )
    for n in range(1, 26):  # three pages of results
        pages[f"note-{n:02}.md"] = make_doc(
            f"Field note {n:02}", f"Okapi sightings in the forest, note {n}.", tags=["notes"]
        )
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
    # The page may replace the results between finding an element and reading it: try again.
    waiting = WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException])
    return waiting.until(condition, message)  # type: ignore[arg-type]


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
    search_for(browser, site, "anemia")  # the three English pages (the Spanish one matches worse)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".hit")) == 3
    facet = next(
        link
        for link in browser.find_elements(By.CSS_SELECTOR, "a.facet")
        if link.text.startswith("supportive care")
    )
    assert facet.find_element(By.CSS_SELECTOR, ".count").text == "2"
    facet.click()
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".hit")) == 2, "filtered")
    assert parse_qs(urlsplit(browser.current_url).query)["tag"] == ["supportive_care"]
    pressed = browser.find_elements(By.CSS_SELECTOR, 'a.facet[aria-checked="true"]')
    assert [link.text.split()[0] for link in pressed] == ["supportive"]
    titles = {link.text for link in browser.find_elements(By.CSS_SELECTOR, ".hit a.title")}
    assert titles == {"Blood transfusion", "Iron for anemia"}


def test_the_language_switch_and_did_you_mean(browser: WebDriver, site: HttpServer) -> None:
    search_for(browser, site, "anemia")
    titles = {link.text for link in browser.find_elements(By.CSS_SELECTOR, ".hit a.title")}
    # Read as English: the Spanish page, which matches worse than the English ones, is left out.
    assert "Anemia y fatiga" not in titles and len(titles) == 3
    Select(browser.find_element(By.NAME, "lang")).select_by_value("es")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".hit")) == 1, "Spanish")
    assert browser.find_element(By.CSS_SELECTOR, ".hit a.title").text == "Anemia y fatiga"
    assert parse_qs(urlsplit(browser.current_url).query)["lang"] == ["es"]

    # A typo that finds nothing is searched as corrected, and says so.
    browser.get(site.url + "/?q=transfusoin")
    said = browser.find_element(By.CSS_SELECTOR, ".suggestion")
    assert said.text == "Showing results for transfusion. Search instead for transfusoin."
    assert browser.find_elements(By.CSS_SELECTOR, ".hit")
    said.find_elements(By.TAG_NAME, "a")[1].click()  # as typed, after all

    def searched_as_typed(driver: WebDriver) -> bool:
        asked = parse_qs(urlsplit(driver.current_url).query)
        summary = driver.find_elements(By.CSS_SELECTOR, ".summary")
        return asked.get("fix") == ["0"] and bool(summary) and "No results" in summary[0].text

    wait_for(browser, searched_as_typed, "the query as typed, with no results")
    assert not browser.find_elements(By.CSS_SELECTOR, ".hit")


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
        for address in ("/?q=anemia+transfusion", "/?q=okapi+guide"):  # long titles and URLs
            browser.get(site.url + address)
            wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".hit"), "hits")
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, address
        size = browser.find_element(By.CSS_SELECTOR, ".hit a.title").value_of_css_property(
            "font-size"
        )
        assert float(size.removesuffix("px")) >= 16
    finally:
        browser.set_window_size(1280, 900)


# ------------------------------------------------------------------- search as you type, scanning


def hit_titles(driver: WebDriver) -> list[str]:
    """The hits' titles, read in one step (the results may be replaced at any moment)."""
    script = "return Array.from(document.querySelectorAll('.hit a.title'), a => a.innerText)"
    return list(driver.execute_script(script))


def test_typing_chemot_letter_by_letter_shows_chemotherapy_from_chem_on(
    browser: WebDriver, site: HttpServer
) -> None:
    browser.get(site.url + "/")
    box = browser.find_element(By.ID, "q")
    for typed in ("c", "ch", "che", "chem", "chemo", "chemot"):
        box.send_keys(typed[-1])
        if len(typed) < 4:
            continue
        wait_for(
            browser,
            lambda d, t=typed: (
                parse_qs(urlsplit(d.current_url).query).get("q") == [t]
                and "Chemotherapy side effects" in hit_titles(d)
            ),
            f"chemotherapy pages for {typed!r}",
        )
        assert not browser.find_elements(By.CSS_SELECTOR, ".suggestion"), typed
        assert "Chest pain" not in hit_titles(browser), typed
        assert "prefix" not in browser.current_url  # the address holds what was asked
    options = browser.find_elements(By.CSS_SELECTOR, "#completions [role=option]")
    assert box.get_attribute("aria-expanded") == ("true" if options else "false")


def test_three_hits_fit_a_desktop_screen_and_no_reference_list_is_a_section(
    browser: WebDriver, site: HttpServer
) -> None:
    browser.get(site.url + "/?q=anemia+transfusion+screening")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".hit"), "hits")
    heights = browser.execute_script(
        "return Array.from(document.querySelectorAll('.hit'))"
        ".map(function (hit) { return hit.getBoundingClientRect().height; })"
    )
    assert max(heights) <= 900 / 3, heights
    sections = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "a.section")]
    assert "Who should have screening" in sections and "References" not in sections
    marked = browser.find_elements(By.CSS_SELECTOR, "a.section mark")
    assert {mark.text.lower() for mark in marked} >= {"anemia", "screening"}


def test_several_values_of_a_facet_show_as_chips_that_stay_removed(
    browser: WebDriver, site: HttpServer
) -> None:
    search_for(browser, site, "anemia")

    def facet(text: str) -> object:
        return next(
            link
            for link in browser.find_elements(By.CSS_SELECTOR, "a.facet")
            if link.find_element(By.CSS_SELECTOR, ".value").text == text
        )

    facet("treatment").click()
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".chip")) == 1, "a chip")
    # The other topic keeps its count: choosing it too would add its pages.
    assert facet("supportive care").find_element(By.CSS_SELECTOR, ".count").text == "2"
    facet("supportive care").click()
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".chip")) == 2, "2 chips")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".hit")) == 3
    checked = browser.find_elements(By.CSS_SELECTOR, 'a.facet[aria-checked="true"]')
    assert len(checked) == 2
    assert parse_qs(urlsplit(browser.current_url).query)["tag"] == ["treatment", "supportive_care"]
    browser.find_element(By.CSS_SELECTOR, ".chip").click()  # remove `treatment`
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".chip")) == 1, "removed")
    browser.find_element(By.ID, "q").send_keys(" iron")  # typing keeps it removed
    wait_for(
        browser,
        lambda d: parse_qs(urlsplit(d.current_url).query).get("q") == ["anemia iron"],
        "typed",
    )
    assert parse_qs(urlsplit(browser.current_url).query)["tag"] == ["supportive_care"]
    browser.find_element(By.CSS_SELECTOR, ".chips a.clear").click()
    wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".chip"), "cleared")
    assert "tag" not in parse_qs(urlsplit(browser.current_url).query)


def test_no_results_with_filters_offers_to_drop_them(browser: WebDriver, site: HttpServer) -> None:
    browser.get(site.url + "/?q=okapi&tag=treatment")
    assert "No results" in browser.find_element(By.CSS_SELECTOR, ".summary").text
    browser.find_element(By.CSS_SELECTOR, ".help a").click()
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".hit")) == 10, "unfiltered")


def test_paging_moves_to_the_results_and_back_restores_the_search(
    browser: WebDriver, site: HttpServer
) -> None:
    browser.get(site.url + "/?q=okapi&tag=notes")
    first_page = hit_titles(browser)
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    browser.find_element(By.CSS_SELECTOR, 'a[rel="next"]').click()
    wait_for(browser, lambda d: "page=2" in d.current_url, "page 2")
    wait_for(browser, lambda d: hit_titles(d) != first_page, "page 2's hits")
    top = "return document.getElementById('results').getBoundingClientRect().top"
    # The results' top is in view (not the bottom of the page), and focus is on their heading.
    wait_for(browser, lambda d: -5 <= d.execute_script(top) <= 200, "scrolled to the results")
    wait_for(
        browser, lambda d: d.switch_to.active_element.get_attribute("id") == "summary", "focus"
    )
    browser.back()
    wait_for(browser, lambda d: "page=2" not in d.current_url, "back")
    wait_for(browser, lambda d: hit_titles(d) == first_page, "page 1's hits again")
    assert browser.find_element(By.ID, "q").get_attribute("value") == "okapi"
    assert parse_qs(urlsplit(browser.current_url).query)["tag"] == ["notes"]
    wait_for(browser, lambda d: d.execute_script("return window.scrollY") > 0, "where it was")


def test_spanish_pages_get_the_spanish_interface(browser: WebDriver, site: HttpServer) -> None:
    browser.get(site.url + "/?q=anemia&lang=es")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert "resultado(s)" in browser.find_element(By.CSS_SELECTOR, ".summary").text
    assert browser.find_element(By.CSS_SELECTOR, "button[type=submit]").text == "Buscar"
    hit = browser.find_element(By.CSS_SELECTOR, ".hit")
    assert hit.get_attribute("lang") == "es"
    browser.find_element(By.CSS_SELECTOR, "a.ui-switch").click()
    wait_for(
        browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", ""
    )
    assert browser.find_element(By.CSS_SELECTOR, "button[type=submit]").text == "Search"


def test_the_document_view_is_rendered_with_a_table_of_contents(
    browser: WebDriver, site: HttpServer
) -> None:
    browser.get(site.url + "/doc/anemia.md?q=anemia")
    toc = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "nav.toc a")]
    assert toc == ["Treatment of anemia", "Other causes of fatigue"]
    browser.find_element(By.CSS_SELECTOR, "nav.toc a[href='#other-causes-of-fatigue']").click()
    heading = browser.find_element(By.ID, "other-causes-of-fatigue")
    header = browser.find_element(By.TAG_NAME, "header").rect
    assert heading.rect["y"] - browser.execute_script("return window.scrollY") >= header["height"]
    width = browser.find_element(By.TAG_NAME, "article").rect["width"]
    assert width <= 760  # a readable measure, about 70 characters
    browser.get(site.url + "/?q=screening")
    local = browser.find_elements(By.CSS_SELECTOR, ".hit a.local")
    title = browser.find_element(By.CSS_SELECTOR, ".hit a.title").get_attribute("href")
    assert local or "/doc/" in title  # the local view is always one click away


# ------------------------------------------------------------------------------ accessibility

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(driver: WebDriver) -> list[str]:
    if not AXE.exists():
        message = "no axe-core (make axe: npm ci)"
        if os.environ.get("KBSEARCH_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, { resultTypes: ['violations'] })"
        ".then(function (r) { done(r.violations.map(function (v) {"
        "  return v.impact + ' ' + v.id + ': '"
        "    + v.nodes.map(function (n) { return n.target.join(' '); }).join(', ');"
        "})); }).catch(function (e) { done(['axe failed: ' + e]); });"
    )
    return list(found)


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize(
    "address",
    ["/", "/?q=anemia+transfusion&tag=treatment", "/?q=zzqqxx+wwvv", "/doc/anemia.md?q=anemia"],
)
def test_axe_finds_no_violations(
    browser: WebDriver, site: HttpServer, address: str, width: int
) -> None:
    browser.set_window_size(width, 900 if width > 400 else 844)
    try:
        browser.set_script_timeout(60)
        browser.get(site.url + address)
        assert axe_violations(browser) == []
    finally:
        browser.set_window_size(1280, 900)
