"""Short terms that carry meaning: vitamin D, hepatitis B, type 2, stage IIIA, 5-FU, BRCA1/2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import search
from search.query.parsing import mark_letter_words
from search.text import highlight
from search.text.schema import text_terms

from .conftest import SEEDS
from .test_cli import kbsearch


def terms(text: str, language: str = "en") -> list[str]:
    return [term for term, _, _, _ in text_terms(text, language)]


def page_text(hit: search.Hit) -> str:
    return hit.title + "\n" + Path(hit.path).read_text(encoding="utf-8")


def in_seeds(pattern: str) -> set[str]:
    found = re.compile(pattern, re.IGNORECASE)
    return {p.name for p in SEEDS.glob("[0-9]*") if found.search(p.read_text(encoding="utf-8"))}


def test_letters_and_digits_are_words() -> None:
    assert terms("vitamin D and hepatitis B") == ["vitamin", "d", "hepat", "b"]
    assert terms("type 2 diabetes, stage IIIA") == ["type", "2", "diabet", "stage", "iiia"]
    assert terms("5-FU for BRCA1/2 and HER2-positive") == ["5", "fu", "brca1", "2", "her2", "posit"]
    # A capital stop letter after a word names something; an article does not.
    assert terms("vitamin A and hepatitis A. A trial of a drug") == [
        "vitamin",
        "a",
        "hepat",
        "a",
        "trial",
        "drug",
    ]
    assert terms("stage I disease; what I think") == ["stage", "i", "diseas", "think"]
    assert terms("la vitamina A y el cáncer", "es") == ["vitamin", "a", "canc"]
    # Initials, issue numbers and clitics of a reference list are not words.
    assert terms("Ashar B, Vargo E: Cancer 11 (4): 197-8. The patient's") == [
        "ashar", "vargo", "cancer", "11", "197", "patient"
    ]  # fmt: skip


def test_the_query_side_marks_letters_that_name_something() -> None:
    assert mark_letter_words("vitamin a") == "vitamin A"
    assert mark_letter_words('"hepatitis a" vaccine') == '"hepatitis A" vaccine'
    assert mark_letter_words("hepatitis A vaccine") == "hepatitis A vaccine"
    assert mark_letter_words("what is a tumor") == "what is a tumor"
    assert mark_letter_words("what is A tumor") == "what is a tumor"
    assert mark_letter_words("I have cancer") == "i have cancer"


@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ('"vitamin A"', r"vitamina? A\b"),
        ('"vitamin E"', r"vitamina? E\b"),
        ('"hepatitis B"', r"hepatitis B\b"),
        ('"hepatitis C"', r"hepatitis C\b"),
        ("5-FU", r"\b5-FU\b"),
        ('"HER2 positive"', r"HER2[- ]positi"),
        ("BRCA1/2", r"BRCA1/2"),
    ],
)
@pytest.mark.slow
def test_a_short_term_is_answered_only_by_pages_that_have_it(
    seed_kb: search.KnowledgeBase, query: str, pattern: str
) -> None:
    results = seed_kb.search(query, limit=50, snippets=False)
    found = {hit.id for hit in results}
    assert found and found <= in_seeds(pattern), found - in_seeds(pattern)
    first = seed_kb.search(query, limit=1)[0]
    assert re.search(pattern, page_text(first), re.IGNORECASE)


def test_vitamin_a_never_answers_with_vitamin_c(seed_kb: search.KnowledgeBase) -> None:
    for query in ('"vitamin A"', "vitamin A", '"vitamin E"'):
        titles = [hit.title for hit in seed_kb.search(query, limit=3)]
        assert not any("Vitamin C" in t or "vitamina C" in t for t in titles), (query, titles)


def test_hepatitis_b_and_c_rank_their_own_pages(seed_kb: search.KnowledgeBase) -> None:
    b = seed_kb.search("hepatitis B", limit=5)
    c = seed_kb.search("hepatitis C", limit=5)
    assert [h.id for h in b] != [h.id for h in c]
    assert re.search(r"hepatitis B\b", page_text(b[0]), re.IGNORECASE)
    assert re.search(r"hepatitis C\b", page_text(c[0]), re.IGNORECASE)


def test_hyphenated_and_spaced_forms_match_each_other(seed_kb: search.KnowledgeBase) -> None:
    hyphen = {h.id for h in seed_kb.search('"HER2-positive"', limit=100, snippets=False)}
    spaced = {h.id for h in seed_kb.search('"HER2 positive"', limit=100, snippets=False)}
    assert hyphen and hyphen == spaced


@pytest.mark.parametrize("phrase", ['"vitamin D"', '"vitamin K"'])
@pytest.mark.slow
def test_a_phrase_no_page_has_finds_nothing(seed_index: Path, phrase: str) -> None:
    assert not in_seeds(phrase.strip('"') + r"\b")
    result = kbsearch("query", phrase, "--index", seed_index, "--no-server")
    assert result.returncode == 1, result.stdout
    assert "no results" in result.stderr


def test_a_joined_word_is_indexed_whole_and_by_its_parts() -> None:
    assert terms("edit _config.yml") == ["edit", "_config.yml", "config", "yml"]
    assert terms("from 3.x to 4.x") == ["3.x", "3", "4.x", "4"]
    assert terms("set github_subdir") == ["set", "github_subdir", "github", "subdir"]
    # A version number is one word, as in Lucene's standard tokenizer: `4` alone is not in it.
    assert terms("release 4.4.1") == ["releas", "4.4.1"]
    # The parts share the word's position, so a phrase across them still matches.
    positions = [position for _, position, _, _ in text_terms("jekyll 3.x today")]
    assert positions == [0, 1, 1, 2]
    # A query asks for the word as typed.
    assert [t for t, _, _, _ in text_terms("_config.yml", mode="query")] == ["_config.yml"]


def test_a_part_of_a_joined_word_finds_and_marks_it(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "setup.md").write_text(
        "---\ntitle: Setup\n---\n\nPut the theme in _config.yml before you build.\n",
        encoding="utf-8",
    )
    (docs / "upgrade.md").write_text(
        "---\ntitle: Upgrading\n---\n\nMoving from 3.x needs a new Gemfile.\n", encoding="utf-8"
    )
    search.update_index(docs, tmp_path / "index", wait=True)
    with search.open_index(tmp_path / "index") as kb:
        found = kb.search("config")
        assert [Path(hit.path).name for hit in found] == ["setup.md"]
        assert "<mark>_config.yml</mark>" in found.hits[0].snippet.html()
        assert [Path(hit.path).name for hit in kb.search('"from 3"')] == ["upgrade.md"]
        assert [Path(hit.path).name for hit in kb.search("_config.yml")] == ["setup.md"]


@pytest.mark.parametrize("phrase", ["vitamin A", "vitamin C", "vitamin E", "hepatitis B"])
def test_an_english_phrase_is_answered_by_pages_that_write_it_so(
    seed_kb: search.KnowledgeBase, phrase: str
) -> None:
    """`vitamin E` is English: the Spanish pages that say `vitamina E` (the same stem) do not
    come before the pages that write the phrase as typed in their own text (a page that has it
    only in a citation of its reference list says little about it, and may come after)."""
    written = re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE)
    top = seed_kb.search(f'"{phrase}"', limit=10, snippets=False)
    writers = [hit.id for hit in top if written.search(own_text(seed_kb, hit))]
    assert writers and [hit.id for hit in top][: len(writers)] == writers


def own_text(kb: search.KnowledgeBase, hit: search.Hit) -> str:
    """A page's title and text without its reference lists."""
    document = kb.get(hit.id)
    parts = [(heading, anchor, start) for heading, anchor, start in document.sections]
    text = document.body
    for start, end in reversed(highlight.reference_spans(text, parts)):
        text = text[:start] + text[end:]
    return document.title + "\n" + text
