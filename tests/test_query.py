"""Searching: plain words, the query language, filters, facets, sorting, paging, highlighting."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import search
from search.query.parsing import MAX_EXPANSIONS, bound_expansions

from .conftest import SEED_COUNT, SEED_DOC, WriteDoc, make_doc


@pytest.fixture
def small_kb(write: WriteDoc, corpus: Path, index_dir: Path) -> search.KnowledgeBase:
    """Five documents that differ in exactly the ways the tests below look at."""
    write(
        "anemia.md",
        make_doc(
            "Anemia and transfusion",
            "# Anemia\n\nA red blood cell transfusion treats anemia.\n\n## Other\n\nIron helps.",
            tags=["treatment", "supportive care"],
            lastReviewed="2025-03-01",
            source="NCI",
            language="en",
            owner="Jane Doe",
        ),
    )
    write(
        "accent.md",
        make_doc(
            "Anémia en français",
            "L'anémia est traitée. Red cells, then blood.",
            tags=["treatment"],
            lastReviewed="2024-06-15",
            source="Other",
            language="fr",
        ),
    )
    write(
        "pruritus.md",
        make_doc(
            "Pruritus",
            "Itching of the skin. The red cells are fine and the blood is fine.",
            tags=["supportive care"],
            lastReviewed="2023-01-10",
            source="NCI",
            language="en",
        ),
    )
    write(
        "breast.md",
        make_doc(
            "Breast cancer screening",
            "Mammograms find breast cancer early.",
            tags="screening",
            cancerTypes=["breast"],
            lastReviewed="2025-11-30",
            source="NCI",
            language="en",
        ),
    )
    write("undated.md", make_doc("Zebra page", "Nothing about medicine, only zebras."))
    search.update_index(corpus, index_dir)
    kb = search.open_index(index_dir)
    yield kb  # type: ignore[misc]
    kb.close()


def ids(results: search.SearchResults) -> list[str]:
    return [hit.id for hit in results]


# ------------------------------------------------------------------------------- seed corpus


def test_the_seed_page_is_first_for_its_drug_name(seed_kb: search.KnowledgeBase) -> None:
    results = seed_kb.search("luspatercept")
    assert results.hits[0].id == SEED_DOC
    assert "<mark>Luspatercept</mark>" in results.hits[0].snippet.html()
    assert results.hits[0].title_snippet.matched_words() == ["luspatercept"]


def test_fuzzy_drug_name(seed_kb: search.KnowledgeBase) -> None:
    assert seed_kb.search("luspatercpt~")[0].id == SEED_DOC


def test_natural_language_question_returns_ranked_results(seed_kb: search.KnowledgeBase) -> None:
    results = seed_kb.search("what can help with anemia from cancer treatment?")
    assert results.total > 10  # OR semantics: not the empty set an AND would give
    scores = [hit.score for hit in results]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert any("anemia" in hit.highlights for hit in results)


# ------------------------------------------------------------------------- words and syntax


def test_more_matched_words_rank_higher(small_kb: search.KnowledgeBase) -> None:
    assert ids(small_kb.search("anemia transfusion"))[0] == "anemia.md"


def test_stemming_and_accent_folding(small_kb: search.KnowledgeBase) -> None:
    assert "anemia.md" in ids(small_kb.search("transfusions"))
    # A French reader types `anemia` without its accent (an English query lists the French page
    # only when it matches as well as the best English one).
    assert set(ids(small_kb.search("anemia", query_language="fr"))) >= {"anemia.md", "accent.md"}
    assert "accent.md" in ids(small_kb.search("anémia"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("anemia AND iron", {"anemia.md"}),
        ("anemia NOT iron", {"accent.md"}),
        ("pruritus OR mammograms", {"pruritus.md", "breast.md"}),
        ('"red blood cell"', {"anemia.md"}),
        # (the French page's `Red cells, then blood` matches too, worse than the English pages:
        # an English query leaves it out)
        ('"red blood"~3', {"anemia.md", "pruritus.md"}),
        ("tags:screening", {"breast.md"}),
        ('tags:"supportive care"', {"anemia.md", "pruritus.md"}),
        ("cancerTypes:breast", {"breast.md"}),
        ("cancertypes:BREAST", {"breast.md"}),
        ('owner:"Jane Doe"', {"anemia.md"}),  # an unknown key, searchable by its own name
        ("title:pruritus", {"pruritus.md"}),
        ("zeb*", {"undated.md"}),
        ("pruritis~2", {"pruritus.md"}),
        ("zebrs~", {"undated.md"}),
        ("lastReviewed:[2025-01-01 TO 2025-12-31]", {"anemia.md", "breast.md"}),
        ("(anemia OR zebras) AND tags:treatment", {"anemia.md", "accent.md"}),
    ],
)
@pytest.mark.slow
def test_query_language(small_kb: search.KnowledgeBase, query: str, expected: set[str]) -> None:
    assert set(ids(small_kb.search(query, limit=50))) == expected


def test_plain_mode_never_reads_syntax(small_kb: search.KnowledgeBase) -> None:
    assert small_kb.search("tags:screening", mode="plain").total == 0 or all(
        hit.id != "breast.md" or "screening" in hit.highlights
        for hit in small_kb.search("tags:screening", mode="plain")
    )
    assert ids(small_kb.search("anemia NOT iron", mode="plain"))[0] == "anemia.md"


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced quote anemia',
        "(anemia OR blood",
        "anemia)",
        "AND",
        "NOT",
        "anemia AND",
        "*",
        "?",
        "unknownfield:anemia",
        ":",
        "title:",
        "anemia^",
        "[a TO",
        "{",
        "\x00\x07anemia\x1b",
        "a" * 5000,
        "anemia " * 1000,
        "*:*",
        "~",
        "\u202eanemia\u200b",
    ],
)
@pytest.mark.slow
def test_nasty_queries_never_raise(small_kb: search.KnowledgeBase, query: str) -> None:
    results = small_kb.search(query)
    assert results.total >= 0


def test_broken_syntax_is_read_as_words(small_kb: search.KnowledgeBase) -> None:
    assert "anemia.md" in ids(small_kb.search('"unbalanced anemia'))
    assert "anemia.md" in ids(small_kb.search("(anemia OR blood"))
    assert "anemia.md" in ids(small_kb.search("unknownfield:anemia"))


def test_a_wrong_date_range_is_a_query_error(small_kb: search.KnowledgeBase) -> None:
    with pytest.raises(search.QuerySyntaxError, match="dates are written YYYY-MM-DD"):
        small_kb.search("lastReviewed:[someday TO never]")
    with pytest.raises(search.QuerySyntaxError, match="dates are written YYYY-MM-DD"):
        small_kb.search('lastReviewed:""')  # found by the syntax-soup property test


def test_question_mark_ending_a_word_is_punctuation(small_kb: search.KnowledgeBase) -> None:
    assert "anemia.md" in ids(small_kb.search("what treats anemia?"))


def test_huge_expansions_are_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    words = " ".join(f"term{n:04d}" for n in range(MAX_EXPANSIONS * 3))
    (folder / "a.md").write_text(make_doc("Many", words))
    search.update_index(folder, tmp_path / "ix")
    with search.open_index(tmp_path / "ix") as kb:
        assert kb.search("term*").total == 1
        reader = kb._fresh_searcher().reader()
        from whoosh import query as wq

        bounded = bound_expansions(wq.Prefix("body", "term"), reader)
        assert len(list(bounded.leaves())) == MAX_EXPANSIONS


# ----------------------------------------------------------------------------- suggestions


def test_did_you_mean_and_fix(seed_kb: search.KnowledgeBase) -> None:
    plain = seed_kb.search("luspatersept")
    assert plain.suggestion == "luspatercept"
    assert not plain.corrected
    fixed = seed_kb.search("luspatersept", fix=True)
    assert fixed.corrected and fixed.hits[0].id == SEED_DOC


def test_no_suggestion_for_known_words_and_syntax(seed_kb: search.KnowledgeBase) -> None:
    assert seed_kb.search("anemia transfusion").suggestion is None  # stem is known
    assert seed_kb.search("lusp* tags:treatment").suggestion is None


# ------------------------------------------------------------- filters, facets, sort, pages


def test_filters_restrict_without_changing_scores(small_kb: search.KnowledgeBase) -> None:
    everything = {hit.id: hit.score for hit in small_kb.search("red blood")}
    filtered = small_kb.search("red blood", filters={"source": "NCI"})
    assert set(ids(filtered)) == {"anemia.md", "pruritus.md"}
    for hit in filtered:
        assert hit.score == pytest.approx(everything[hit.id])


def test_filter_values_of_one_key_or_and_keys_and(small_kb: search.KnowledgeBase) -> None:
    either = small_kb.search("*", filters={"tags": ["screening", "supportive care"]}, limit=50)
    assert set(ids(either)) == {"breast.md", "anemia.md", "pruritus.md"}
    both = small_kb.search("*", filters={"tags": "supportive care", "language": "en"}, limit=50)
    assert set(ids(both)) == {"anemia.md", "pruritus.md"}
    assert small_kb.search("*", filters={"tags": "no such tag"}).total == 0
    with pytest.raises(search.QuerySyntaxError, match=r"no page has the key 'nosuchkey'.*tags"):
        small_kb.search("*", filters={"nosuchkey": "x"})
    with pytest.raises(
        search.QuerySyntaxError,
        match=r"no page is in de \(German\); the pages are in: en \(English\), fr",
    ):
        small_kb.search("*", filters={"language": "de"})
    assert ids(small_kb.search("*", filters={"owner": "JANE DOE"})) == ["anemia.md"]


def test_since_and_until(small_kb: search.KnowledgeBase) -> None:
    recent = small_kb.search("*", since="2025-01-01", limit=50)
    assert set(ids(recent)) == {"anemia.md", "breast.md"}
    window = small_kb.search("*", since="2024-01-01", until="2025-03-01", limit=50)
    assert set(ids(window)) == {"anemia.md", "accent.md"}
    with pytest.raises(search.QuerySyntaxError, match="not a date"):
        small_kb.search("*", since="last tuesday")


def test_facets_count_the_whole_result_set(small_kb: search.KnowledgeBase) -> None:
    results = small_kb.search("*", facets=["tags", "source"], limit=1)
    assert len(results.hits) == 1 and results.total == 5
    assert results.facets["tags"] == {"supportive care": 2, "treatment": 2, "screening": 1}
    assert results.facets["source"] == {"NCI": 3, "Other": 1}  # as the pages write them


def test_facet_values_keep_the_accents_and_case_pages_write(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    """Values match folded (`estomago` finds `estómago`) but show as most pages write them;
    between forms written equally often, the one with its accents."""
    write("a.md", make_doc("Cáncer de estómago", "El cáncer.", tags=["estómago", "Cirugía"]))
    write("b.md", make_doc("Estómago", "El cáncer y el estómago.", tags=["Estómago"], area="Senal"))
    write("c.md", make_doc("Stomach", "Stomach cancer.", tags=["estomago", "cirugía"]))
    write("d.md", make_doc("Surgery", "Cancer.", tags=["cirugía", "estómago"], area="Señal"))
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        results = kb.search("cancer", facets=["tags", "area"])
        assert results.facets["tags"] == {"estómago": 4, "cirugía": 3}
        assert results.facets["area"] == {"Señal": 2}
        chosen = kb.search("cancer", facets=["tags"], filters={"tags": "ESTOMAGO"})
        assert chosen.total == 4 and chosen.facets["tags"]["estómago"] == 4


def test_sorting(small_kb: search.KnowledgeBase) -> None:
    newest = ids(small_kb.search("*", sort="-lastReviewed", limit=4))
    assert newest == ["breast.md", "anemia.md", "accent.md", "pruritus.md"]
    sorted_hits = small_kb.search("anemia OR red", sort="title", limit=50)
    assert sorted_hits.total > 1 and {hit.score for hit in sorted_hits} == {None}
    assert sorted_hits.to_dict()["hits"][0]["score"] is None  # a title's sort key is no score
    by_title = [h.title for h in small_kb.search("*", sort="title", limit=50)]
    assert by_title == sorted(by_title, key=str.casefold)
    with pytest.raises(search.QuerySyntaxError, match="cannot sort"):
        small_kb.search("*", sort="colour")


def test_paging_reports_the_total(small_kb: search.KnowledgeBase) -> None:
    all_ids = ids(small_kb.search("*", sort="title", limit=50))
    pages = [ids(small_kb.search("*", sort="title", limit=2, page=n)) for n in (1, 2, 3)]
    assert [doc_id for page in pages for doc_id in page] == all_ids
    shifted = small_kb.search("*", sort="title", limit=2, offset=1)
    assert ids(shifted) == all_ids[1:3] and shifted.total == 5


# ---------------------------------------------------------------------------- highlighting


def test_snippets_mark_stemmed_matches_and_phrases(small_kb: search.KnowledgeBase) -> None:
    hit = small_kb.search("transfusions")[0]
    assert "<mark>transfusion</mark>" in hit.snippet.html()
    phrase = small_kb.search('"red blood cell"')[0]
    assert "<mark>red blood cell</mark>" in phrase.snippet.html()


def test_snippet_length_is_configurable(seed_kb: search.KnowledgeBase) -> None:
    short = seed_kb.search("anemia", snippet_chars=60)[0].snippet
    long = seed_kb.search("anemia", snippet_chars=600)[0].snippet
    assert len(short.text()) < len(long.text())


def test_html_snippets_escape_everything_but_the_marks(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("x.md", make_doc("<b>Title</b> & co", "Attack <img src=x onerror=alert(1)> anemia &lt;"))
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        hit = kb.search("anemia")[0]
        html = hit.snippet.html() + hit.title_snippet.html()
    assert "<img" not in html and "<b>" not in html
    assert html.count("<mark>") == html.count("</mark>") >= 1
    assert "&lt;" in html


# ------------------------------------------------------------------ get, similar, stats


def test_get_similar_and_stats(seed_kb: search.KnowledgeBase) -> None:
    doc = seed_kb.get(SEED_DOC)
    assert doc.title == "Luspatercept-aamt - NCI" and "Reblozyl" in doc.body
    with pytest.raises(search.DocumentNotFound):
        seed_kb.get("missing.md")
    similar = seed_kb.similar(SEED_DOC, limit=5)
    assert SEED_DOC not in ids(similar)
    assert any(hit.title.endswith("- NCI") for hit in similar)  # the other drug pages
    stats = seed_kb.stats()
    assert stats.documents == SEED_COUNT
    assert stats.values["tags"]["treatment"] >= 1
    assert "citation" in stats.fields and stats.size_bytes > 0


# --------------------------------------------------------------- refresh and thread safety


def test_a_long_lived_reader_sees_updates_and_rebuilds(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("a.md", make_doc("Alpha", "apples"))
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        assert kb.search("bananas").total == 0
        write("b.md", make_doc("Beta", "bananas"))
        search.update_index(corpus, index_dir)
        assert ids(kb.search("bananas")) == ["b.md"]
        write("c.md", make_doc("Gamma", "cherries"))
        search.update_index(corpus, index_dir, full=True)
        assert ids(kb.search("cherries")) == ["c.md"]


@pytest.mark.slow
def test_searching_from_many_threads(seed_kb: search.KnowledgeBase) -> None:
    queries = ["luspatercept", "anemia", "breast cancer", "pruritus", "lung*", "tags:genetics"]
    expected = {q: ids(seed_kb.search(q)) for q in queries}
    failures: list[str] = []

    def worker(offset: int) -> None:
        for n in range(30):
            q = queries[(n + offset) % len(queries)]
            if ids(seed_kb.search(q)) != expected[q]:
                failures.append(q)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# ---------------------------------------------------------------------------------- synonyms


def test_builtin_synonyms_reach_the_medical_word(small_kb: search.KnowledgeBase) -> None:
    found = small_kb.search("itching remedies")
    assert found.hits[0].id == "pruritus.md"
    assert ids(small_kb.search("itchy"))[0] == "pruritus.md"


def test_a_user_synonyms_file_adds_groups(
    small_kb: search.KnowledgeBase, index_dir: Path, tmp_path: Path
) -> None:
    assert small_kb.search("stripes").total == 0
    extra = tmp_path / "synonyms.txt"
    extra.write_text("# house words\nstripes, zebras\nmammo, mammograms\n")
    with search.open_index(index_dir, synonyms=extra) as kb:
        assert ids(kb.search("stripes")) == ["undated.md"]
        assert ids(kb.search("mammo")) == ["breast.md"]
    with pytest.raises(search.KbsearchError, match="cannot read synonyms file"):
        search.open_index(index_dir, synonyms=tmp_path / "missing.txt")


def test_an_open_index_sees_its_synonyms_file_change(
    small_kb: search.KnowledgeBase, index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived process (a chatbot, `kbsearch serve`) needs no restart after an edit; the
    environment is read when the index is opened, not at each search."""
    extra = tmp_path / "synonyms.txt"
    extra.write_text("stripes, zebras\n")
    monkeypatch.setenv("KBSEARCH_SYNONYMS", str(extra))
    with search.open_index(index_dir) as kb:
        monkeypatch.delenv("KBSEARCH_SYNONYMS")
        assert ids(kb.search("stripes")) == ["undated.md"]
        extra.write_text("mammo, mammograms\n")
        os.utime(extra, ns=(1, 1))  # a new mtime even on a coarse clock
        assert kb.search("stripes").total == 0
        assert ids(kb.search("mammo")) == ["breast.md"]


# ----------------------------------------------------------------------------------- Spanish


def test_spanish_pages_are_analysed_in_spanish(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write(
        "es.md",
        make_doc(
            "Tratamiento de la anemia",
            "La anemia se ha tratado con transfusiones. Los pacientes tratados mejoraron.",
            language="es",
        ),
    )
    write(
        "en.md",
        make_doc("Anemia treatment", "Anemia was treated with transfusions.", language="en"),
    )
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        # "tratamos" and "tratado" share the Spanish stem "trat"; English stemming keeps them apart
        spanish = kb.search("tratamos")
        assert ids(spanish) == ["es.md"]
        assert "<mark>" in spanish[0].snippet.html()
        assert "tratado" in spanish[0].highlights or "tratados" in spanish[0].highlights
        # Spanish stop words do not match everything
        assert kb.search("los", mode="plain").total == 0
        # English pages keep English analysis; both languages answer a shared word
        assert ids(kb.search("treating")) == ["en.md"]
        assert set(ids(kb.search("anemia"))) == {"es.md", "en.md"}
        assert kb.get("es.md").body.startswith("La anemia")
        assert ids(kb.search("tratamos", filters={"language": "en"})) == []


def test_snippets_mark_prefix_expansions_but_not_excluded_words(
    small_kb: search.KnowledgeBase,
) -> None:
    hit = small_kb.search("transf* NOT cancer")[0]
    assert "<mark>transfusion</mark>" in hit.snippet.html()
    assert "transfusion" in small_kb.search("iron OR transfusion")[0].highlights
    excluded = small_kb.search("iron NOT transfusion")
    assert excluded.total == 0 or all("transfusion" not in h.highlights for h in excluded.hits)
    nested = small_kb.search("iron OR (anemia NOT transfusion)")
    assert nested.total >= 1 and all("transfusion" not in h.highlights for h in nested.hits)


@pytest.mark.slow
def test_spelling_suggestions_match_whoosh_corrector(seed_kb: search.KnowledgeBase) -> None:
    """`closest_words` skips work Whoosh's corrector does, never a word it would suggest."""
    from search.text.schema import SPELLING_FIELD
    from search.text.spelling import closest_words

    reader = seed_kb._fresh_searcher().reader()
    corrector = reader.corrector(SPELLING_FIELD)
    typos = ("bevacizumib", "anemai", "transfusoin", "leukmia", "chemoterapy", "lymphona", "xq")
    suggested = 0
    for typo in typos:
        for limit in (1, 2, 5):
            expected = corrector.suggest(typo, limit=limit, maxdist=2, prefix=1)
            assert closest_words(reader, typo, limit, 2, 1) == expected, (typo, limit)
            suggested += bool(expected)
    assert suggested >= 10  # most typos have suggestions: the comparison is not vacuous


@pytest.mark.parametrize("query", ["cáncer de mama", "professional", "pacientes", "summary"])
@pytest.mark.slow
def test_a_hit_title_is_shown_whole(seed_kb: search.KnowledgeBase, query: str) -> None:
    results = seed_kb.search(query, limit=50)
    assert results.total >= 10
    for hit in results:
        assert hit.title_snippet.text() == " ".join(hit.title.split())  # never cut
    assert any(hit.title_snippet.matched_words() for hit in results)  # and marked


# -------------------------------------------------------------------------------- browsing


@pytest.mark.parametrize("query", ["*", "*:*", " * "])
def test_a_star_lists_every_page_newest_first(small_kb: search.KnowledgeBase, query: str) -> None:
    listed = small_kb.search(query, limit=50)
    assert ids(listed) == ["breast.md", "anemia.md", "accent.md", "pruritus.md", "undated.md"]
    assert {hit.score for hit in listed} == {None} and listed.suggestion is None
    assert listed.hits[0].snippet.text().startswith("Mammograms find")  # the page's start
    by_title = small_kb.search(query, sort="title", limit=50)
    assert [hit.title for hit in by_title][:2] == ["Anemia and transfusion", "Anémia en français"]


def test_filters_alone_list_their_pages_and_nothing_lists_nothing(
    small_kb: search.KnowledgeBase,
) -> None:
    treated = small_kb.search("", filters={"tags": "treatment"}, facets=["source"])
    assert ids(treated) == ["anemia.md", "accent.md"]
    assert treated.facets == {"source": {"NCI": 1, "Other": 1}}
    assert small_kb.search("").total == 0


def test_a_star_never_expands_over_the_vocabulary(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    """Many words, each in one page: a wildcard over all of them would be cut by the budget
    (and take seconds); browsing lists the pages without reading a word."""
    for page in range(40):
        words = " ".join(f"w{page}x{n}" for n in range(400))
        write(
            f"p{page:02}.md",
            make_doc(f"Page {page:02}", words, lastReviewed=f"2020-01-{page % 28 + 1:02}"),
        )
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        listed = kb.search("*", limit=100)
        assert listed.total == 40 and listed.notices == ()
        dates = [hit.metadata["lastReviewed"] for hit in listed]
        assert dates == sorted(dates, reverse=True)


def test_a_filtered_key_still_counts_its_other_values(small_kb: search.KnowledgeBase) -> None:
    """Disjunctive facets: with `tags: screening` chosen, the other tags keep their counts
    (what choosing them too would add); other keys count the filtered pages only."""
    chosen = small_kb.search(
        "*", filters={"tags": "screening"}, facets=["tags", "source", "language"], limit=50
    )
    everything = small_kb.search("*", facets=["tags"], limit=50)
    assert ids(chosen) == ["breast.md"]
    assert chosen.facets["tags"] == everything.facets["tags"]
    assert chosen.facets["source"] == {"NCI": 1}
    both = small_kb.search(
        "red OR blood", filters={"tags": "treatment", "language": "en"}, facets=["tags"]
    )
    assert ids(both) == ["anemia.md"]
    assert both.facets["tags"] == {"supportive care": 2, "treatment": 1}


def test_a_page_that_only_cites_a_word_ranks_below_one_that_says_it(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    """Reference lists count for little: twelve cited `mistletoe`s weigh less than one in a
    long page's prose, and the citing page is still found (by an author's name too)."""
    citations = "\n\n".join(
        f"Okonkwo A, et al.: Mistletoe and mistletoe extract {n}. J Onc 12 ({n}): 1-9, 2019. "
        "[PUBMED Abstract]"
        for n in range(1, 7)
    )
    write(
        "cites.md",
        make_doc("Herbal products", f"## Studies\n\nSome herbs.\n\n## References\n\n{citations}"),
    )
    prose = "Plant extracts are taken by many patients for many reasons. " * 20
    write("says.md", make_doc("Plant extracts", f"## Overview\n\n{prose} Mistletoe is one."))
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        assert ids(kb.search("mistletoe")) == ["says.md", "cites.md"]
        assert ids(kb.search("okonkwo")) == ["cites.md"]


def test_a_sections_heading_marks_the_query_words_as_the_text_does(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    """A section's heading is marked by the words' terms, as snippets are (`Transfusions` for
    `transfusion`), not by the spelling the snippet happened to show."""
    write(
        "a.md",
        make_doc(
            "Blood care",
            "Intro text here.\n\n## Transfusions & more\n\nA transfusion of red cells.\n\n"
            "## Iron\n\nIron for transfusion patients.",
        ),
    )
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        hit = kb.search("transfusion").hits[0]
        marked = {section.anchor: section.heading_html() for section in hit.sections}
        assert marked["transfusions-more"] == "<mark>Transfusions</mark> &amp; more"
        assert marked["iron"] == "Iron"
        assert hit.to_dict()["sections"][0]["heading_html"].startswith("<mark>")


SYNTAX = (
    "anemia transfusion",
    "heat transfer downstream of the mass transfer region",  # a word twice
    "cancer cancers",  # two words, one English term
    "(breast OR lung) cancer screening",
    "anemia AND (transfusion iron)",
    "cancer NOT lung -smoking",
    'title:anemia "red blood" cells',
    "chemo* anemia^2 canser~",
    "tag:treatment (a b) c",
)


@pytest.mark.parametrize("text", SYNTAX)
def test_the_parser_keeps_word_groups_whole_and_merges_them_as_whoosh_does(
    seed_kb: search.KnowledgeBase, text: str
) -> None:
    """Parsed without Whoosh merging each word's fields into the query's OR (the deep copies
    that cost), a query comes out as Whoosh's parser and `normalize` make it."""
    from whoosh import qparser
    from whoosh import query as wq

    from search.query import parsing

    searcher = seed_kb._fresh_searcher()
    schema, reader = searcher.schema, searcher.reader()
    ours = parsing.syntax_parser(schema, reader)
    whooshes = parsing.syntax_parser(schema, reader)
    whooshes.group = qparser.OrGroup
    raw = ours.parse(text)
    assert any(type(node) is parsing._Clauses for node in [raw, *raw.children()])
    merged = parsing.plain_ors(raw)
    assert merged == whooshes.parse(text)
    if "^" not in text:  # every boost kept: the parser's terms themselves, not copies
        terms = [leaf for leaf in merged.leaves() if type(leaf) is wq.Term]
        assert {id(term) for term in terms} <= {id(leaf) for leaf in raw.leaves()}


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("anemia a transfusion", "anemia transfusion"),  # an article is no `vitamin A`
        ('"a transfusion" anemia', "transfusion anemia"),  # a phrase left with one word
        ('anemia "the transfusion"', "anemia transfusion"),
        ("cáncer y dolor", "cáncer dolor"),  # a Spanish conjunction
    ],
)
def test_a_stop_word_between_words_changes_nothing_in_the_ranking(
    seed_kb: search.KnowledgeBase, text: str, same_as: str
) -> None:
    """`start a blog` was read as the phrase `"start a"`, whose article the analyzer drops:
    Whoosh's one-word phrase became a term without its field's weight, so `start` was scored
    in each field apart (once per field, `cited` at full weight) and MkDocs' `Getting started`
    beat `Setting up a blog`. A stop word between words now changes nothing."""

    def ranked(query: str) -> list[tuple[str, float]]:
        return [(hit.id, round(hit.score, 6)) for hit in seed_kb.search(query, snippets=False)]

    assert ranked(text) == ranked(same_as) != []


def test_a_letter_that_names_something_is_still_joined_to_its_word(
    seed_kb: search.KnowledgeBase,
) -> None:
    from search.query.parsing import parse_user_query

    searcher = seed_kb._fresh_searcher()
    for text in ("vitamin a", "hepatitis b", "stage I"):
        query = parse_user_query(text, searcher.schema, searcher.reader(), language="en")
        assert any(type(leaf).__name__ == "Phrase" for leaf in query.leaves()), text


def test_a_version_number_after_a_word_stays_one_word(seed_kb: search.KnowledgeBase) -> None:
    """`release history 4.4.1` was quoted as `"history 4".4.1`: a phrase `history 4` and a term
    `4.1`, and Jekyll's history page, found in plain words, was not in the top 10."""
    from search.query.parsing import parse_user_query

    searcher = seed_kb._fresh_searcher()
    query = parse_user_query(
        "release history 4.4.1", searcher.schema, searcher.reader(), language="en"
    )
    texts = {getattr(leaf, "text", None) for leaf in query.leaves()}
    assert "4.4.1" in texts and "4.1" not in texts
    assert not any(type(leaf).__name__ == "Phrase" for leaf in query.leaves())
