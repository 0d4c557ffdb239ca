"""Snippets: the highlighter marks exactly the words the index would match, in the best windows."""

from __future__ import annotations

import pytest

from search.text import highlight
from search.text.highlight import find_matches, snippet
from search.text.schema import TextAnalyzer, term_function

# Plurals, -ing forms, accents, apostrophes, dotted tokens, digits, case and stop words.
ENGLISH = (
    "Anemia's TREATMENTS: transfusions, transfused cells; naïve café patients. "
    "Dr. Smith's e.g. 3.5 mg/kg dosing of luspatercept-aamt (Reblozyl) generously given; "
    "they were happily running studies about the skies of Zürich."
)
# Words the analyzers treat specially: stop words first (positions), accents and ligatures that
# fold to several or no letters, dotted and starred tokens, digits, one-letter words, case.
TRICKY_WORDS = (
    "The the anemia ß İstanbul naïve e.g. 3.5 x a I é ÉTÉ spectrum* *x* a.*b Œuvre ﬁne "
    "café-au-lait ½ ٣ 東京 TREATMENTS of and"
)


SPANISH = "Las anemias y transfusiones: tratamiento de pacientes con fatiga, corazón y células."


@pytest.mark.parametrize(
    ("fieldname", "analyzer", "text"),
    [
        ("body", TextAnalyzer(), ENGLISH),
        ("body_es", TextAnalyzer("es"), SPANISH),
        ("body", TextAnalyzer(), TRICKY_WORDS),
    ],
)
def test_term_function_agrees_with_the_fields_analyzer(
    fieldname: str, analyzer: object, text: str
) -> None:
    term_of = term_function(fieldname)
    tokens = list(analyzer(text, chars=True, removestops=False))  # type: ignore[operator]
    assert tokens
    for token in tokens:
        assert term_of(text[token.startchar : token.endchar].lower()) == token.text


def test_every_word_whose_term_is_asked_for_is_marked_and_nothing_else() -> None:
    text = "Transfusion helps. Transfusions and transfused blood; a transfusional note."
    matches = find_matches(text, {"transfus"}, term_function("body"))
    assert [text[start:end] for start, end, _ in matches] == [
        "Transfusion",
        "Transfusions",
        "transfused",
    ]
    assert {term for _, _, term in matches} == {"transfus"}


def test_snippet_prefers_the_window_where_most_query_words_meet() -> None:
    filler = " ".join(["lorem"] * 200)
    text = f"anemia early. {filler} anemia anemia anemia. {filler} Anemia with fatigue. {filler}"
    found = snippet(text, {"anemia", "fatigu"}, term_function("body"), chars=120, fragments=1)
    assert "fatigue" in found.text() and found.matched_words() == ["anemia", "fatigue"]
    two = snippet(text, {"anemia", "fatigu"}, term_function("body"), chars=120, fragments=2)
    first, second = two.fragments
    assert ("anemia anemia anemia", True) in first  # the next best, in document order
    assert ("fatigue", True) in second


def test_snippet_windows_respect_length_and_word_boundaries() -> None:
    words = [f"word{n}" for n in range(400)]
    words[200] = "anemia"
    text = " ".join(words)
    found = snippet(text, {"anemia"}, term_function("body"), chars=100).text()
    assert "anemia" in found and len(found) <= 100
    assert all(token.startswith("word") or token == "anemia" for token in found.split())


def test_snippet_is_empty_when_no_word_matches() -> None:
    assert not snippet("nothing to see", {"anemia"}, term_function("body"))
    assert not snippet("anemia", set(), term_function("body"))


@pytest.mark.slow
def test_fast_analysis_makes_exactly_the_postings_whoosh_would() -> None:
    """`schema.analyze` replaces the analyzers at index time: it must agree with them on every
    term, frequency, weight and position, for each text field and the spelling words."""
    from search.kb.documents import parse_document
    from search.text.schema import SPELLING_FIELD, analyze, analyze_with_spelling, build_schema

    from .conftest import SEEDS

    schema = build_schema()
    texts = [TRICKY_WORDS, SPANISH, ENGLISH, ""]
    for path in sorted(SEEDS.glob("[0-9]*"))[:60]:
        doc = parse_document(path.read_bytes(), path, SEEDS)
        texts += [doc.body, doc.title, "\n".join(doc.headings)]
    for fieldname in ("title", "headings", "brands", "body", "title_es", "headings_es", "body_es"):
        for text in texts:
            expected = tuple(schema[fieldname].index(text))
            assert analyze(schema, fieldname, text).postings == expected, (fieldname, text[:60])
    for fieldname in (SPELLING_FIELD, "spelling_es"):
        for text in texts:  # a set of words: Whoosh's order is arbitrary
            expected_words = set(schema[fieldname].index(text))
            found = set(analyze(schema, fieldname, text).postings)
            assert found == expected_words, (fieldname, text[:60])
    for fieldname, spelling in (("body", SPELLING_FIELD), ("body_es", "spelling_es")):
        for text in texts:  # both read in one pass, as the indexer reads a page's body
            analyzed, words = analyze_with_spelling(schema, {fieldname: text}, spelling)
            assert analyzed[fieldname] == analyze(schema, fieldname, text), (fieldname, text[:60])
            assert set(words.postings) == set(schema[spelling].index(text)), text[:60]
    # A page's body and reference lists: each field its own text, the spelling words of both.
    analyzed, words = analyze_with_spelling(schema, {"body": ENGLISH, "cited": SPANISH}, "spelling")
    assert analyzed["cited"] == analyze(schema, "cited", SPANISH)
    assert set(words.postings) == set(schema["spelling"].index(ENGLISH + "\n\n" + SPANISH))


def test_a_long_title_is_shown_whole_with_its_matches_marked() -> None:
    from search.text.highlight import whole

    title = "Genetics of Breast and Gynecologic Cancers (PDQ®)–Health Professional Version: " * 3
    shown = whole(title.strip(), {"cancer"}, lambda word: word.rstrip("s"))
    assert shown.text() == title.strip()  # never cut to a window
    assert shown.matched_words() == ["cancers"]


def test_a_snippet_shows_prose_unless_only_code_matches() -> None:
    from search.kb.documents import render_markdown

    page = render_markdown(
        "```yaml\nparams:\n  search:\n    algolia: true\n```\n\n"
        "Docsy supports Algolia DocSearch: set its app id and index name in the config.\n\n"
        "```go\nfunc lunr() {}\n```\n"
    )
    matches = highlight.find_matches(page.text, {"algolia"}, str.lower)
    shown = highlight.snippet_of(page.text, matches, 80, 1, page.code).text()
    assert shown.startswith("Docsy supports Algolia") and "params" not in shown
    assert "func" not in shown  # the window stops where the next code block begins
    only_code = highlight.find_matches(page.text, {"lunr"}, str.lower)
    assert "func lunr()" in highlight.snippet_of(page.text, only_code, 80, 1, page.code).text()
    assert highlight.leading(page.text, 40, page.code).text().startswith("Docsy supports")


def test_a_reference_list_is_never_a_best_section() -> None:
    """A page whose references cite an author named like the query: the section that says
    something wins, the reference list is never shown, even when it matches more."""
    prose = "Screening\n\nQuante screening starts at 40 for most women."
    cited = (
        "References\n\nQuante AS, Herz J, et al.: Screening risk. Breast Cancer Res Treat 152 (1): "
        "193-7, 2015. [PUBMED Abstract]\n\nQuante B, et al.: Screening again. J Natl Cancer Inst "
        "102 (10): 665-8, 2010. [PUBMED Abstract]"
    )
    text = prose + "\n\n" + cited
    sections = [("Screening", "screening", 0), ("References", "references", len(prose) + 2)]
    matches = find_matches(text, {"quant", "screen"}, term_function("body"))
    best = highlight.best_sections(text, sections, matches)
    assert [heading for heading, _, _ in best] == ["Screening"]
    spans = highlight.reference_spans(text, sections)
    assert spans == [(len(prose) + 2, len(text))]
    # The index keeps where the reference lists are, so a search need not tell them again.
    assert [h for h, _, _ in highlight.best_sections(text, sections, matches, cited=spans)] == [
        "Screening"
    ]
    told_none = highlight.best_sections(text, sections, matches, cited=[])
    assert [heading for heading, _, _ in told_none] == ["Screening", "References"]


@pytest.mark.parametrize(
    ("heading", "text", "reference"),
    [
        ("Bibliografía", "Unas obras.", True),
        ("Références", "", True),
        ("Sources and further reading", "", True),
        ("Source code", "", False),
        (
            "Studies",
            "Lu GD, et al.: History. Med Hist 32 (4): 357-400, 1988. [PUBMED Abstract] "
            "Peacher WG, et al.: Adverse. J Med 4 (2): 1-9, 1990. [PUBMED Abstract]",
            True,
        ),
        (
            "Studies",
            "Studies (Lu et al. 1988; Wu et al. 1990; Li et al. 1991) found less pain. "
            + "Patients who had acupuncture slept better and needed fewer drugs. " * 8,
            False,
        ),
    ],
)
def test_reference_lists_are_told_by_heading_or_citations(
    heading: str, text: str, reference: bool
) -> None:
    assert highlight.is_reference(heading, text) is reference
