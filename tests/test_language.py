"""A bilingual knowledge base: the query's language decides, accents are optional, ñ is not,
and spelling, synonyms, highlights and counts work in Spanish as in English."""

from __future__ import annotations

from pathlib import Path

import pytest

import search
from search.app.evaluate import load_collection
from search.query.language import detect

from .conftest import ROOT, WriteDoc, make_doc

BILINGUAL = ROOT / "tests" / "bilingual"

# Ordinary queries a reader of each language types (not tuned on: the known-item set is separate).
ENGLISH_QUERIES = [
    "chemotherapy",
    "breast cancer treatment",
    "merkel cell carcinoma",
    "retinoblastoma treatment",
    "anemia transfusion",
    "lung cancer screening",
    "radiation therapy side effects",
    "hot flashes",
    "prostate cancer",
    "colon cancer risk factors",
    "skin cancer prevention",
    "nausea and vomiting",
    "oral mucositis",
    "genetic testing brca",
    "hodgkin lymphoma in children",
    "pain management",
    "fatigue",
    "smoking cessation",
    "surgery",
    "clinical trials",
]
SPANISH_QUERIES = [
    "quimioterapia",
    "cáncer de mama",
    "cancer de pulmon",
    "tratamiento del cáncer de seno",
    "efectos secundarios de la radioterapia",
    "náuseas y vómitos",
    "dolor",
    "fatiga",
    "cáncer de próstata",
    "ensayos clínicos",
    "cirugia",
    "prevencion del cancer",
]


def language(hit: search.Hit) -> str:
    return "es" if hit.metadata.get("language") == "es" else "en"


def test_bilingual_known_items_in_the_top_3(seed_kb: search.KnowledgeBase) -> None:
    collection = load_collection(BILINGUAL)
    texts = collection.queries.values()
    assert len(collection.queries) >= 30
    assert any(not t.isascii() for t in texts) and any("cancer de" in t for t in texts)
    misses = []
    for qid, text in collection.queries.items():
        top3 = [hit.id for hit in seed_kb.search(text, limit=3, snippets=False)]
        if not set(top3) & set(collection.qrels[qid]):
            misses.append((text, top3))
    assert misses == []


@pytest.mark.parametrize(
    ("queries", "expected"), [(ENGLISH_QUERIES, "en"), (SPANISH_QUERIES, "es")]
)
def test_ordinary_queries_are_answered_in_their_language(
    seed_kb: search.KnowledgeBase, queries: list[str], expected: str
) -> None:
    hits = [hit for q in queries for hit in seed_kb.search(q, limit=5, snippets=False)]
    assert len(hits) == 5 * len(queries)
    other = [hit.title for hit in hits if language(hit) != expected]
    assert len(other) <= 0.05 * len(hits), other


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chemotherapy", "en"),
        ("breast cancer treatment", "en"),
        ("mistletoe", "en"),
        ("quimioterapia", "es"),
        ("cancer de pulmon", "es"),
        ("¿qué es?", "es"),
        ("retinoblastoma", None),
        ("Merkel", None),
    ],
)
def test_the_query_language_is_detected(
    seed_kb: search.KnowledgeBase, text: str, expected: str | None
) -> None:
    reader = seed_kb._fresh_searcher().reader()
    assert detect(text, reader) == expected
    assert seed_kb.search(text, limit=1).language == expected


def test_the_query_language_can_be_said_without_filtering(seed_kb: search.KnowledgeBase) -> None:
    spanish = seed_kb.search("retinoblastoma", query_language="es", limit=5)
    english = seed_kb.search("retinoblastoma", query_language="en", limit=5)
    assert spanish.language == "es" and english.language == "en"
    assert [language(h) for h in spanish] == ["es"] * 5
    assert [language(h) for h in english] == ["en"] * 5
    # Not a filter: a word only the other language has still finds its pages.
    only_spanish = seed_kb.search("quimioterapia", query_language="en", limit=3)
    assert only_spanish.total > 0 and {language(h) for h in only_spanish} == {"es"}
    with pytest.raises(search.QuerySyntaxError, match="unknown query language"):
        seed_kb.search("x", query_language="xx")


def test_accents_are_optional(seed_kb: search.KnowledgeBase) -> None:
    def top(text: str) -> list[str]:
        return [hit.id for hit in seed_kb.search(text, limit=5, snippets=False)]

    assert top("cancer de pulmon") == top("cáncer de pulmón")
    assert top("cirugia") == top("cirugía")  # Snowball stems these two apart unless folded
    hit = seed_kb.search("cancer de pulmon", limit=1)[0]
    assert "pulmón" in hit.highlights  # the page's own spelling is marked


def spanish_kb(
    write: WriteDoc, corpus: Path, index_dir: Path, pages: dict[str, tuple[str, str]]
) -> search.KnowledgeBase:
    """An index of Spanish pages, name -> (title, body)."""
    for name, (title, body) in pages.items():
        write(name, make_doc(title, body, language="es"))
    search.update_index(corpus, index_dir)
    return search.open_index(index_dir)


def test_n_with_tilde_is_a_letter_of_its_own(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    pages = {
        "ano.md": ("Cáncer de ano", "El cáncer de ano es poco común."),
        "year.md": ("Un año", "Después de un año de tratamiento."),
    }
    with spanish_kb(write, corpus, index_dir, pages) as kb:
        assert [h.id for h in kb.search("ano")] == ["ano.md"]
        assert [h.id for h in kb.search("año")] == ["year.md"]


def test_spanish_spelling_suggestions_come_from_spanish_words(
    seed_kb: search.KnowledgeBase,
) -> None:
    assert seed_kb.search("cáncer de mama").suggestion is None
    assert seed_kb.search("cáncer de próstata").suggestion is None
    assert seed_kb.search("quimioterpia").suggestion == "quimioterapia"
    fixed = seed_kb.search("tratamento del cancer de pulmon")
    assert fixed.suggestion == "tratamiento del cancer de pulmon"
    assert seed_kb.search("chemoterapy").suggestion == "chemotherapy"


def test_spanish_synonyms(write: WriteDoc, corpus: Path, index_dir: Path) -> None:
    pages = {
        "mama.md": ("Cáncer de mama", "Tratamiento del cáncer de mama."),
        "prurito.md": ("Prurito", "El prurito es frecuente."),
    }
    with spanish_kb(write, corpus, index_dir, pages) as kb:
        assert [h.id for h in kb.search("cáncer de seno")] == ["mama.md"]
        assert [h.id for h in kb.search("picazón")] == ["prurito.md"]


def test_counts_by_language(seed_kb: search.KnowledgeBase) -> None:
    english = sum(
        1 for p in (ROOT / "seeds").glob("[0-9]*") if "\nlanguage: es" not in p.read_text()
    )
    spanish = len(list((ROOT / "seeds").glob("[0-9]*"))) - english
    assert spanish >= 200 and english >= 250
    assert seed_kb.stats().values["language"] == {"en": english, "es": spanish}
    counted = seed_kb.search("retinoblastoma", facets=["language"])
    assert set(counted.facets["language"]) == {"en", "es"}
    assert sum(counted.facets["language"].values()) == counted.total
