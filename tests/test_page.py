"""The search page's HTML, rendered from results: links, escaping, the form in the address."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from starlette.datastructures import QueryParams

from search.app import output
from search.app.page import Form, document_page, hit_link, results_html, ui_language
from search.kb.results import Hit, SearchResults, Section, StoredDocument, Translation
from search.text.highlight import Snippet


def _hit(url: str = "", title: str = "Anemia <b>care</b>") -> Hit:
    return Hit(
        id="dir/a page.md",
        path="/kb/dir/a page.md",
        title=title,
        score=1.0,
        snippet=Snippet(((("x < y & ", False), ("anemia", True)),)),
        title_snippet=Snippet((((title, False),),)),
        highlights=("anemia",),
        metadata={"url": url, "tags": ["a"]},
        sections=(Section("Treatment <i>", "treatment-i", Snippet(((("anemia", True),),))),),
    )


def test_links_go_to_the_page_url_only_when_it_is_http() -> None:
    assert hit_link(_hit("https://example.org/p#40")) == "https://example.org/p#40"
    assert (
        hit_link(_hit("https://example.org/p#40"), "treatment") == "https://example.org/p#treatment"
    )
    assert (
        hit_link(_hit("javascript:alert(1)"), "x", q="anemia") == "/doc/dir/a%20page.md?q=anemia#x"
    )
    assert hit_link(_hit("//evil.example/x")) == "/doc/dir/a%20page.md"
    assert hit_link(_hit("")) == "/doc/dir/a%20page.md"


def test_results_are_escaped_and_link_their_sections() -> None:
    results = SearchResults(query="anemia", total=1, hits=(_hit("javascript:alert(1)"),))
    page = results_html(Form(q="anemia"), results)
    assert "<b>" not in page and "<i>" not in page and "javascript:" not in page
    assert "Anemia &lt;b&gt;care&lt;/b&gt;" in page and "x &lt; y &amp; <mark>anemia</mark>" in page
    assert 'href="/doc/dir/a%20page.md?q=anemia#treatment-i"' in page


def test_the_form_is_read_from_and_written_to_the_address() -> None:
    params = QueryParams(
        "q=anemia&tag=treatment&tag=genetics&lang=es&f=audienceLevel:patient&page=3"
    )
    form = Form.from_params(params)
    assert form == Form(
        "anemia", "es", ("treatment", "genetics"), (("audienceLevel", "patient"),), 3
    )
    assert Form.from_params(QueryParams(form.url().removeprefix("/?"))) == form
    assert form.filters() == {
        "tags": ["treatment", "genetics"],
        "language": ["es"],
        "audienceLevel": ["patient"],
    }
    off = form.toggled("tags", "treatment")
    assert off.tags == ("genetics",) and off.page == 1
    assert Form.from_params(QueryParams("lang=xx&page=-2")) == Form()


def test_a_facet_is_the_filter_it_matches_whatever_its_case_and_accents() -> None:
    """An address written before facets showed accents (`tag=estomago`) has the facet
    `Estómago` on, and toggling it turns it off rather than adding it again."""
    form = Form.from_params(QueryParams("q=cancer&tag=estomago&f=area:SENAL"))
    assert form.has("tags", "Estómago") and form.has("area", "Señal")
    assert not form.has("tags", "estomagos") and not form.has("source", "Señal")
    assert form.toggled("tags", "Estómago").tags == ()
    assert form.toggled("area", "señal").others == ()
    assert form.toggled("tags", "cirugía").tags == ("estomago", "cirugía")


def test_a_document_page_marks_words_and_keeps_anchors() -> None:
    body = "Intro <script>\n\nTreatment\n\nAnemia is treated."
    document = StoredDocument(
        id="a.md",
        path="/kb/a.md",
        title="A <title>",
        body=body,
        metadata={},
        sections=(("Treatment", "treatment", body.index("Treatment")),),
        marks=((body.index("Anemia"), body.index("Anemia") + 6),),
    )
    page = document_page(document, "anemia")
    assert '<h2 id="treatment">Treatment</h2><p><mark>Anemia</mark> is treated.</p>' in page
    assert "Intro &lt;script&gt;" in page and "A &lt;title&gt;" in page


def test_a_hit_names_its_translations_in_the_readers_language() -> None:
    others = (
        Translation("es/a.md", "Anemia <es>", "es", "https://example.org/es/a"),
        Translation("fr/a.md", "Anémie", "fr"),
    )
    hit = replace(_hit(), language="en", translations=others)
    results = SearchResults(query="anemia", total=1, hits=(hit,))
    english = results_html(Form(q="anemia"), results, "en")
    assert (
        'Also in</span> <a class="translation" href="/doc/es/a.md" hreflang="es"'
        ' title="Anemia &lt;es&gt;" lang="en">Spanish</a>, ' in english
    )
    assert 'href="/doc/fr/a.md" hreflang="fr" title="Anémie" lang="en">French</a>' in english
    spanish = results_html(Form(q="anemia"), results, "es")
    assert "También en</span>" in spanish and ">español</a>" in spanish
    assert "Also in" not in results_html(Form(q="anemia"), replace(results, hits=(_hit(),)))


def test_any_analysed_language_can_be_the_pages_filter() -> None:
    form = Form.from_params(QueryParams("q=git&lang=pt_BR"))
    assert form.lang == "pt-BR" and form.filters()["language"] == ["pt-BR"]
    assert Form.from_params(QueryParams("lang=<script>")).lang == ""


def test_the_interface_speaks_the_readers_language() -> None:
    spanish = SearchResults(query="anemia", total=0, hits=(), language="es")
    english = SearchResults(query="anemia", total=0, hits=(), language="en")
    assert ui_language(Form(q="anemia"), spanish) == "es"
    assert ui_language(Form(q="anemia", ui="en"), spanish) == "en"  # chosen with the switch
    assert ui_language(Form(q="anemia", lang="es"), english) == "es"  # Spanish pages only
    assert ui_language(Form(), None, "es-MX,es;q=0.9,en;q=0.5") == "es"
    assert ui_language(Form(), None, "de-DE,fr;q=0.8") == "en"
    page = results_html(Form(q="anemia"), spanish, "es")
    assert 'data-ui="es"' in page and "No hay resultados para <q>anemia</q>." in page


def test_a_correction_searched_says_so_and_offers_the_query_as_typed() -> None:
    corrected = SearchResults(
        query="anemya", total=1, hits=(_hit(),), suggestion="anemia", corrected=True
    )
    page = results_html(Form(q="anemya", tags=("a",)), corrected)
    assert (
        'Showing results for <a href="/?q=anemia&amp;tag=a" data-nav><strong>anemia</strong></a>.'
        ' Search instead for <a href="/?q=anemya&amp;tag=a&amp;fix=0" data-nav>anemya</a>.'
    ) in page
    offered = results_html(Form(q="anemya", fix=False), replace(corrected, corrected=False))
    assert 'Did you mean: <a href="/?q=anemia" data-nav>anemia</a>' in offered


def test_active_filters_are_chips_and_nothing_found_offers_to_drop_them() -> None:
    form = Form(q="okapi", lang="es", tags=("treatment",), others=(("audienceLevel", "patient"),))
    page = results_html(form, SearchResults(query="okapi", total=0, hits=()))
    chips = re.findall(r'class="chip" href="([^"]+)"', page)
    assert [html.unescape(chip) for chip in chips] == [
        "/?q=okapi&tag=treatment&f=audienceLevel%3Apatient",
        "/?q=okapi&lang=es&f=audienceLevel%3Apatient",
        "/?q=okapi&lang=es&tag=treatment",
    ]
    assert page.count('href="/?q=okapi"') == 2  # "clear all" and the no-results help


def test_a_document_is_shown_as_paragraphs_and_lists_with_its_contents() -> None:
    body = "Causes\n\nSome causes:\nthe cancer.\n\n- Iron loss\n- Blood loss\n\nTreatment\n\nRest."
    document = StoredDocument(
        id="a.md",
        path="/kb/a.md",
        title="A",
        body=body,
        metadata={},
        sections=(("Causes", "causes", 0), ("Treatment", "treatment", body.index("Treatment"))),
        language="es",
    )
    page = document_page(document, "")
    assert "<p>Some causes: the cancer.</p><ul><li>Iron loss</li><li>Blood loss</li></ul>" in page
    assert '<nav class="toc" aria-label="Contenido"><h2>Contenido</h2><ol>' in page
    assert '<li><a href="#treatment">Treatment</a></li>' in page and '<html lang="es">' in page


def test_a_sections_snippet_that_repeats_the_hits_is_shown_once() -> None:
    """The page and the terminal show a section's snippet only where it adds to the hit's."""
    same = Section("Anemia", "anemia", Snippet(((("anemia", True),),)))
    other = Section("Iron", "iron", Snippet(((("iron helps", False),),)))
    hit = replace(_hit(), snippet=Snippet(((("x < y & ", False), ("anemia", True)),)))
    hit = replace(hit, sections=(same, other))
    assert hit.repeats_snippet(same) and not hit.repeats_snippet(other)
    assert not replace(hit, snippet=Snippet()).repeats_snippet(same)  # nothing shown yet
    page = results_html(Form(q="anemia"), SearchResults(query="anemia", total=1, hits=(hit,)))
    assert page.count("<mark>anemia</mark>") == 1  # in the hit's snippet, not again below
    assert "<p>iron helps</p>" in page
    text = output.results_text(SearchResults(query="anemia", total=1, hits=(hit,)), "plain")
    assert text.lower().count("anemia") == 3 and "iron helps" in text  # title, snippet, heading
