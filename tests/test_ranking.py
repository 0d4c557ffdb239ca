"""The ranking model: true BM25F over fields, the title bonus, and feedback for long questions."""

from __future__ import annotations

import math
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from whoosh import formats
from whoosh import query as wq

import search
from search.app import output, page
from search.engine import bm25f, phrases, postings, topk
from search.kb.knowledgebase import KnowledgeBase
from search.query import feedback
from search.query.language import outmatched
from search.query.parsing import build_filter, content_terms, parse_user_query
from search.text.schema import FIELD_WEIGHTS, TEXT_FIELDS
from tests.conftest import SEEDS, WriteDoc, make_doc

KNOWN_QUERIES = [
    "luspatercept anemia",
    "how to treat itching from cancer",
    "fatigue after cancer treatment ends",
    "liver cancer risk factors",
    "what are the side effects of radiation therapy for breast cancer",
]


def _searcher(kb: search.KnowledgeBase):  # type: ignore[no-untyped-def]
    return kb._fresh_searcher()


def test_a_word_in_title_and_body_is_saturated_once(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    filler = "Filler words here. "
    write("a.md", make_doc("Wing flutter", "Wing flutter at high speed. " + filler * 5))
    write("b.md", make_doc("Other page", "Nothing about that. " + filler * 5))
    write("c.md", make_doc("Third page", "A wing once. " + filler * 8))
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        searcher = _searcher(kb)
        folded = parse_user_query("wing", searcher.schema, searcher.reader(), "plain")
        scores = {hit["id"]: hit.score for hit in searcher.search(folded)}
        doc = searcher.document_number(id="a.md")
        lengths = {f: searcher.doc_field_length(doc, f) for f in ("title", "body")}
        averages = {f: searcher.avg_field_length(f) for f in ("title", "body")}
    # By hand: tf 1 in title and in body, weighted, length-normalised, summed, saturated once.
    frequency = sum(
        FIELD_WEIGHTS[f] / ((1 - bm25f.B) + bm25f.B * lengths[f] / averages[f])
        for f in ("title", "body")
    )
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # "wing" is in 2 of 3 pages
    bm25f_score = idf * (bm25f.K1 + 1) * frequency / (bm25f.K1 + frequency)
    # ...plus the title bonus: plain BM25 of the title alone (1 of 3 titles has the word).
    title_idf = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    title_norm = (1 - bm25f.B) + bm25f.B * lengths["title"] / averages["title"]
    bonus = bm25f.TITLE_BONUS * title_idf * (bm25f.K1 + 1) / (1 + bm25f.K1 * title_norm)
    assert scores["a.md"] == pytest.approx(bm25f_score + bonus)
    assert bm25f_score < idf * (bm25f.K1 + 1)  # one word never exceeds its saturation limit
    assert scores["a.md"] > scores["c.md"]


def test_what_a_page_says_first_in_a_quote_weighs_as_its_summary(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    # The same words on two pages, the quoted page one word longer: it loses on length alone
    # unless its opening quote counts as its summary (tldr-pages' format).
    examples = "\n\n".join(f"- Example {i}:\n\n`tool --option-{i}`" for i in range(4))
    write("quoted.md", f"# one\n\n> Rename files in bulk.\n\n{examples}\n\nAlso.\n")
    write("later.md", f"# two\n\n{examples}\n\nRename files in bulk.\n")
    write("other.md", "# three\n\nNothing of that here.\n")
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        assert [hit.id for hit in kb.search("rename bulk")] == ["quoted.md", "later.md"]


@pytest.mark.parametrize("text", KNOWN_QUERIES)
@pytest.mark.slow
def test_folding_keeps_the_match_set_and_top_k_is_exact(
    seed_kb: search.KnowledgeBase, text: str
) -> None:
    searcher = _searcher(seed_kb)
    schema, reader = searcher.schema, searcher.reader()
    folded = parse_user_query(text, schema, reader, "plain")
    assert any(isinstance(q, bm25f.FieldsTerm) for q in folded.children())
    flat = folded.accept(
        lambda q: wq.Or(list(q.subqueries)) if isinstance(q, bm25f.FieldsTerm) else q
    )
    assert set(searcher.search(folded, limit=None).docs()) == set(
        searcher.search(flat, limit=None).docs()
    )
    # Whoosh skips blocks by their best possible score: the top 10 must equal a full ranking's.
    full = [hit.docnum for hit in searcher.search(folded, limit=None)][:10]
    assert [hit.docnum for hit in searcher.search(folded, limit=10)] == full


def test_a_page_named_by_the_query_ranks_first(seed_kb: search.KnowledgeBase) -> None:
    first = seed_kb.search("self image", limit=1)[0]
    assert first.title == "Self-Image and Sexuality"


def test_the_page_about_a_subject_ranks_above_posts_that_announce_it(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    # The posts say "dark mode" more often than the guide does (and win without the weight).
    note = "Dark mode arrives in version 2. Dark mode follows the system; a switch sets dark mode"
    write("blog/2024-dark-mode.md", make_doc("Version 2 is out", note))
    write("_posts/2024-05-01-dark-mode.md", make_doc("Version 2 released", note))
    guide = "The theme has a dark mode: set `scheme: slate` to turn dark mode on. Other colours too"
    write("docs/colors.md", make_doc("Changing the colors", guide))
    write("docs/fonts.md", make_doc("Changing the fonts", "Fonts and their sizes. "))
    search.update_index(corpus, index_dir)
    with search.open_index(index_dir) as kb:
        hits = kb.search("dark mode", limit=5)
        posts = kb.search("dark mode version 2", limit=5)
    assert hits[0].id == "docs/colors.md"
    assert {hit.id for hit in hits} == {
        "docs/colors.md",
        "blog/2024-dark-mode.md",
        "_posts/2024-05-01-dark-mode.md",
    }
    # a post is still found first when the words are its own
    assert posts[0].id == "blog/2024-dark-mode.md"


def test_feedback_reranks_a_long_question_without_adding_pages(
    seed_kb: search.KnowledgeBase,
) -> None:
    question = "what are the side effects of radiation therapy for breast cancer"
    with_feedback = seed_kb.search(question, limit=20)
    without = seed_kb.search(question, limit=20, feedback=False)
    assert with_feedback.total == without.total
    assert [h.id for h in with_feedback] != [h.id for h in without]
    schema = _searcher(seed_kb).schema
    asked = set(content_terms(question, schema))
    marked = {t for hit in with_feedback for w in hit.highlights for t in content_terms(w, schema)}
    assert marked == asked  # the words asked for are marked, and none that feedback added


def test_short_queries_get_no_feedback(seed_kb: search.KnowledgeBase) -> None:
    for text in ("luspatercept", "liver cancer risk factors"):
        a = [(h.id, h.score) for h in seed_kb.search(text, limit=10)]
        b = [(h.id, h.score) for h in seed_kb.search(text, limit=10, feedback=False)]
        assert a == b


def test_feedback_reads_only_pages_the_filter_allows(seed_kb: search.KnowledgeBase) -> None:
    searcher = _searcher(seed_kb)
    schema, reader = searcher.schema, searcher.reader()
    question = "what are the side effects of radiation therapy for breast cancer"
    parsed = parse_user_query(question, schema, reader, "plain")
    words = content_terms(question, schema)
    patient = build_filter({"audienceLevel": "patient"}, schema)
    allowed = set(searcher.docs_for_query(patient))
    scores = topk.score_all(searcher, parsed)
    assert set(scores) - allowed  # the filter removes some pages
    ranked = topk.rank(searcher, parsed, feedback.DOCUMENTS, allowed, every_match=True)
    assert ranked.matched == set(scores) & allowed
    by_topk = [(score, searcher.stored_fields(docnum)) for docnum, score in ranked.best]
    by_whoosh = KnowledgeBase._first_pages(searcher, parsed, patient)
    for first in (by_topk, by_whoosh):  # pages chosen by topk, and by Whoosh
        assert first and all(
            page["metadata"].get("audienceLevel") == "patient" for _, page in first
        )
    nothing = wq.Term("id", "no-such-page")
    none = KnowledgeBase._first_pages(searcher, parsed, nothing)
    assert feedback.expand(searcher, parsed, words, none, TEXT_FIELDS, FIELD_WEIGHTS) is None
    first = KnowledgeBase._first_pages(searcher, parsed, None)
    expanded = feedback.expand(searcher, parsed, words, first, TEXT_FIELDS, FIELD_WEIGHTS)
    assert expanded is not None
    added = [q for q in expanded.children() if isinstance(q, bm25f.FieldsTerm)]
    assert len(added) == feedback.TERMS
    filtered = seed_kb.search(question, filters={"audienceLevel": "patient"}, limit=50)
    assert filtered.total and all(h.metadata.get("audienceLevel") == "patient" for h in filtered)


@pytest.mark.parametrize(
    ("text", "filters"),
    [
        ("anemia transfusion", None),
        ("luspatercept", None),
        ("red blood cells", {"audienceLevel": "patient"}),
        ("what are the side effects of radiation therapy for breast cancer", None),
        ('"blood transfusion" OR fatigue', None),
        ("cancer -breast", None),
    ],
)
def test_totals_counted_from_posting_lists_match_whoosh(
    seed_kb: search.KnowledgeBase, text: str, filters: dict[str, str] | None
) -> None:
    searcher = _searcher(seed_kb)
    results = seed_kb.search(text, filters=filters)
    parsed = parse_user_query(
        text, searcher.schema, searcher.reader(), "auto", seed_kb.synonyms, results.language
    )
    condition = build_filter(filters, searcher.schema, None, None)
    allowed = None if condition is None else set(searcher.docs_for_query(condition))
    expected = len(searcher.search(parsed, filter=condition, limit=None))
    assert expected and topk.rank(searcher, parsed, 10, allowed).total == expected
    # The total counts what is listed: pages in another language than the query's that match
    # worse than its best page are not (`outmatched`).
    hidden = set()
    if results.language is not None:
        scores = topk.score_all(searcher, parsed, allowed)
        hidden = set(outmatched(scores, results.language, searcher.reader()))
    listed = len(searcher.search(parsed, filter=condition, mask=hidden or None, limit=None))
    assert results.total == listed


def test_totals_leave_out_deleted_pages(write: WriteDoc, corpus: Path, index_dir: Path) -> None:
    for n in range(5):
        write(f"{n}.md", make_doc(f"Page {n}", "Anemia and transfusion."))
    search.update_index(corpus, index_dir)
    (corpus / "3.md").unlink()
    search.update_index(corpus, index_dir)  # incremental: a deletion inside the segment
    with search.open_index(index_dir) as kb:
        assert kb.search("anemia transfusion").total == 4


def test_scores_use_whole_index_statistics_across_segments(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    for n in range(4):
        write(f"{n}.md", make_doc(f"Page {n}", "Anemia and fatigue." if n else "Fatigue only."))
    search.update_index(corpus, index_dir)
    write("4.md", make_doc("Page 4", "Anemia again."))
    search.update_index(corpus, index_dir)  # incremental: a second segment
    with search.open_index(index_dir) as kb:
        assert len(_searcher(kb).reader().leaf_readers()) > 1
        found = kb.search("anemia", limit=10)
        scores = {h.id: h.score for h in found}
        assert found.total == 4  # counted from posting lists: document numbers of all segments
    search.update_index(corpus, index_dir, full=True)  # one segment, same documents
    with search.open_index(index_dir) as kb:
        merged = {h.id: h.score for h in kb.search("anemia", limit=10)}
    assert scores == pytest.approx(merged)


@pytest.fixture(scope="module")
def split_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds indexed in two segments, with deleted documents (an incremental update)."""
    folder = tmp_path_factory.mktemp("split")
    seeds = folder / "seeds"
    shutil.copytree(SEEDS, seeds)
    index_dir = folder / "index"
    search.update_index(seeds, index_dir)
    changed = sorted(seeds.glob("[0-9]*"))[:40]
    for path in changed[:20]:
        path.write_text(path.read_text(encoding="utf-8") + "\nLung cancer and anemia, again.\n")
    for path in changed[20:]:
        path.unlink()
    search.update_index(seeds, index_dir)
    return index_dir


@pytest.mark.slow
def test_topk_scores_every_query_kind_as_whoosh_does(split_index: Path) -> None:
    """`topk` must rank exactly as Whoosh's matchers, on an index of several segments with
    deleted documents (an incremental update after the first build)."""
    with search.open_index(split_index) as kb:
        searcher = _searcher(kb)
        assert len(searcher.leaf_searchers()) > 1 and searcher.reader().has_deletions()
        schema, reader = searcher.schema, searcher.reader()
        for text in (
            "anemia",
            "anemia transfusion fatigue",
            "what are the side effects of radiation therapy for breast cancer",
            '"bone marrow" transplant',
            '"red blood cells"',
            '"lung cancer screening trial"',
            "chemo* OR leukemia",
            "anemia NOT transfusion",
            "title:lymphoma",
            "tags:treatment anemia",
            "bevacizumib",
        ):
            parsed = parse_user_query(text, schema, reader, "auto", kb.synonyms)
            whoosh = [(h.docnum, h.score) for h in bm25f.whoosh_search(searcher, parsed, 20)]
            scores = topk.score_all(searcher, parsed)
            ours = topk.top(scores, 20)
            assert len(scores) == len(searcher.search(parsed, limit=1)), text
            assert [d for d, _ in ours] == [d for d, _ in whoosh], text
            assert [s for _, s in ours] == pytest.approx([s for _, s in whoosh], rel=1e-9), text


@pytest.mark.parametrize("blockwise", [True, False])
@pytest.mark.slow
def test_phrases_read_as_arrays_score_as_phrases_read_as_dicts(
    split_index: Path, monkeypatch: pytest.MonkeyPatch, blockwise: bool
) -> None:
    """A phrase of common words is read and scored as numpy arrays (`_phrase_of_arrays`): the
    same candidates in the same order, the same floats, positions and ranking as the dicts of
    a rarer phrase's, on an index of several segments with deletions; also from a posting list
    that is not read block by block (Whoosh's own layout: the dicts, turned into arrays)."""
    if not blockwise:
        monkeypatch.setattr(postings.blocks, "read_split_blocks", lambda matcher: None)
    texts = ('"red blood cells"', '"bone marrow" transplant', '"side effects" OR "clinical trial"')
    with search.open_index(split_index) as kb:
        searcher = _searcher(kb)
        assert searcher.reader().has_deletions()
        for text in texts:
            parsed = parse_user_query(text, searcher.schema, searcher.reader(), "auto")
            found = {}
            for arrays_from in (10**9, 0):
                monkeypatch.setattr(topk, "ARRAYS_FROM", arrays_from)
                segments = topk._gather(searcher, parsed)
                read = [list(p.scores.items()) for s in segments for p in s.phrases]
                positions = [
                    {d: list(each[d]) for d in p.scores}
                    for s in segments
                    for p in s.phrases
                    for each in p.postings
                ]
                ranked = topk.rank(searcher, parsed, 10)
                found[arrays_from] = read, positions, ranked.best, ranked.total
            assert found[0] == found[10**9], text
            assert sum(map(len, found[0][0])) > 5 and found[0][2], text


@pytest.mark.parametrize("positions", [[0], [3, 4, 9], list(range(0, 5000, 7)), [2**31 - 2]])
def test_phrase_positions_are_decoded_as_whoosh_decodes_them(positions: list[int]) -> None:
    whoosh_format = formats.Positions()
    decode = phrases.position_decoder(whoosh_format)
    value = whoosh_format.encode(positions)
    for stored in (value, value[:-1]):  # with and without the pickle's final STOP opcode
        assert list(decode(stored)) == whoosh_format.decode_positions(stored) == positions


def test_topk_without_whoosh_length_columns_scores_the_same(
    seed_kb: search.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Field lengths are read in bulk from Whoosh's column files; any other reader falls back to
    one `doc_field_length` call per page, with the same scores."""
    searcher = _searcher(seed_kb)
    parsed = parse_user_query("anemia transfusion fatigue", searcher.schema, searcher.reader())
    fast = topk.score_all(searcher, parsed)
    monkeypatch.setattr(postings, "_length_bytes", lambda reader, fieldname: None)
    for leaf, _ in searcher.leaf_searchers():
        postings.NORMS.pop(leaf.reader(), None)
    slow = topk.score_all(searcher, parsed)
    assert fast and slow == pytest.approx(fast, rel=1e-12)


# Word queries (pruned or not), phrases (verified best first), phrase + words, other clauses.
RANK_QUERIES = (
    "anemia",
    "lung cancer",
    "lung cancer screening",
    "anemia transfusion fatigue",
    "cáncer de pulmón",
    '"bone marrow" transplant',
    '"red blood cells"',
    '"side effects" OR "clinical trial"',
    "chemo* OR leukemia",
    "anemia NOT transfusion",
    "title:fatigue",
    "tags:treatment anemia",
)


@pytest.mark.slow
def test_rank_finds_the_best_pages_that_scoring_every_match_finds(split_index: Path) -> None:
    """The pruned ranking gives the exhaustive ranking's pages, scores and totals, and does
    skip the scoring of pages that cannot reach the top on real content."""
    pruned = 0
    with search.open_index(split_index) as kb:
        searcher = _searcher(kb)
        assert len(searcher.leaf_searchers()) > 1 and searcher.reader().has_deletions()
        schema, reader = searcher.schema, searcher.reader()
        patient = set(searcher.docs_for_query(build_filter({"audienceLevel": "patient"}, schema)))
        for text in RANK_QUERIES:
            parsed = parse_user_query(text, schema, reader, "auto", kb.synonyms)
            scores = topk.score_all(searcher, parsed)
            assert scores, text
            for allowed in (None, patient):
                matches = scores.keys() if allowed is None else scores.keys() & allowed
                for count in (1, 10, 50):
                    ranking = topk.rank(searcher, parsed, count, allowed)
                    expected = topk.top(scores, count, allowed)
                    assert ranking.best == expected, (text, count, allowed is None)
                    assert (ranking.total, ranking.total_is_exact) == (len(matches), True)
                    pruned += ranking.scored < len(matches)
    assert pruned >= 6  # pages with the words only in their body were left unscored


@pytest.mark.slow
def test_rank_past_the_exact_limit_finds_the_same_best_pages(
    split_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_TOTAL_UP_TO matches, the total is the longest posting list's length and body
    postings are read a block at a time for the pages that could reach the top: the best
    pages and scores stay those of scoring every match, for every query kind and depth."""
    monkeypatch.setattr(topk, "EXACT_TOTAL_UP_TO", 5)
    past = 0
    with search.open_index(split_index) as kb:
        searcher = _searcher(kb)
        schema, reader = searcher.schema, searcher.reader()
        for text in RANK_QUERIES:
            parsed = parse_user_query(text, schema, reader, "auto", kb.synonyms)
            scores = topk.score_all(searcher, parsed)
            for count in (1, 10, 50):
                ranking = topk.rank(searcher, parsed, count)
                assert ranking.best == topk.top(scores, count), (text, count)
                if ranking.total_is_exact:
                    assert ranking.total == len(scores), text
                else:
                    assert topk.EXACT_TOTAL_UP_TO <= ranking.total <= len(scores), text
                    past += 1
    assert past >= 20  # most queries took the path for many matches


@pytest.mark.slow
def test_many_matches_scored_at_once_are_the_pages_and_scores_of_each_scored_alone(
    split_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past DENSE_AFTER verified candidates a ranking scores every match as numpy arrays: the
    same best pages with the same floats as scoring every match one by one, for queries of
    words, prefixes, NOT and fields, on segments with deleted pages; a phrase never goes so."""
    monkeypatch.setattr(topk, "EXACT_TOTAL_UP_TO", 5)
    monkeypatch.setattr(topk, "DENSE_AFTER", 0)
    at_once = 0
    with search.open_index(split_index) as kb:
        searcher = _searcher(kb)
        schema, reader = searcher.schema, searcher.reader()
        for text in (*RANK_QUERIES, "breast canc", "cancer cancer treatment"):
            parsed = parse_user_query(text, schema, reader, "auto", kb.synonyms)
            scores = topk.score_all(searcher, parsed)
            for count in (1, 10, 50):
                ranking = topk.rank(searcher, parsed, count)
                assert ranking.best == topk.top(scores, count), (text, count)
                at_once += ranking.scored == len(scores) and not ranking.total_is_exact
    assert at_once >= 20


@pytest.mark.slow
def test_many_matches_read_the_body_postings_of_the_pages_that_could_win(
    write: WriteDoc, corpus: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word in every page's body and a few titles: past EXACT_TOTAL_UP_TO, the best pages
    are the exhaustive ranking's, found from a fraction of the body's posting blocks, and the
    total is the body list's length, a lower bound."""
    rng = random.Random(7)
    for n in range(600):
        title = f"Anemia note {n}" if n < 8 else f"Note {n}"
        filler = " ".join(rng.choice(["blood", "iron", "cells", "diet", "rest"]) for _ in range(30))
        body = f"{filler} anemia {filler}" + (" anemia" * (n % 3))
        write(f"{n:03d}.md", make_doc(title, body))
    search.update_index(corpus, index_dir, full=True)
    read: list[int] = []
    whoosh_blocks = postings.posting_blocks

    def counted(matcher: object, values: bool = False) -> Iterator[tuple[object, ...]]:
        for block in whoosh_blocks(matcher, values):
            read.append(1)
            yield block

    monkeypatch.setattr(postings, "posting_blocks", counted)
    with search.open_index(index_dir) as kb:
        searcher = _searcher(kb)
        parsed = parse_user_query("anemia", searcher.schema, searcher.reader())
        scores = topk.score_all(searcher, parsed)
        read_split_blocks = len(read)
        monkeypatch.setattr(topk, "EXACT_TOTAL_UP_TO", 100)
        read.clear()
        ranking = topk.rank(searcher, parsed, 5)
    assert len(scores) == 600 and read_split_blocks >= 5
    assert ranking.best == topk.top(scores, 5)
    assert (ranking.total, ranking.total_is_exact) == (600, False)
    assert len(read) <= read_split_blocks // 2
    assert ranking.scored < 60


@pytest.mark.slow
def test_body_postings_read_a_block_at_a_time_are_those_read_whole(split_index: Path) -> None:
    """A term's weights looked up page by page (its blocks decoded as they are needed, in any
    order) are its postings read whole, deleted pages left out."""
    several_blocks = deletions = 0
    with search.open_index(split_index) as kb:
        for leaf, _ in _searcher(kb).leaf_searchers():
            reader = leaf.reader()
            deletions += reader.has_deletions()
            for text in ("cancer", "anemia", "lymphoma"):
                if ("body", text) not in reader:
                    continue
                whole = postings.LazyPostings(reader, "body", text).every()
                looked_up = postings.LazyPostings(reader, "body", text)
                docnums = list(range(reader.doc_count_all() + 3))
                random.Random(text).shuffle(docnums)
                found = {d: looked_up.get(d) for d in docnums}
                assert {d: w for d, w in found.items() if w is not None} == whole
                assert whole and not any(map(reader.is_deleted, whole))
                several_blocks += len(looked_up._ends) > 1
    assert several_blocks and deletions


@pytest.mark.slow
def test_a_total_past_the_exact_limit_is_a_lower_bound(
    split_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phrase matches are counted exactly up to EXACT_TOTAL_UP_TO (each costs a look at its
    positions), then the total says it is a lower bound; the best pages stay the same."""
    monkeypatch.setattr(topk, "EXACT_TOTAL_UP_TO", 3)
    with search.open_index(split_index) as kb:
        searcher = _searcher(kb)
        schema, reader = searcher.schema, searcher.reader()
        parsed = parse_user_query('"red blood cells"', schema, reader, "auto", kb.synonyms)
        scores = topk.score_all(searcher, parsed)
        assert len(scores) > 5
        ranking = topk.rank(searcher, parsed, 10)
        assert not ranking.total_is_exact and 3 <= ranking.total < len(scores)
        assert ranking.best == topk.top(scores, 10)
        every = topk.rank(searcher, parsed, 10, every_match=True)
        assert (every.total, every.total_is_exact, every.matched) == (
            len(scores),
            True,
            set(scores),
        )
        # Words past the limit too: their total comes from the posting lists' lengths.
        words = parse_user_query("red blood cells", schema, reader, "auto", kb.synonyms)
        counted = topk.rank(searcher, words, 10)
        every_word = topk.score_all(searcher, words)
        assert not counted.total_is_exact and 3 <= counted.total <= len(every_word)
        assert counted.best == topk.top(every_word, 10)

        # An English query in this bilingual index scores every match of a phrase, to leave
        # out the Spanish pages that match worse than the best English one: its total is exact.
        phrase = kb.search('"red blood cells"')
        hidden = outmatched(scores, "en", reader)
        assert phrase.total_is_exact and phrase.total == len(scores.keys() - hidden)
        # Its words past the limit: the best pages, less those, and a lower bound.
        results = kb.search("red blood cells")
        assert not results.total_is_exact and results.total >= 3
        assert results.to_dict()["total_is_exact"] is False
        listed = topk.top(every_word, 10, every_word.keys() - outmatched(every_word, "en", reader))
        assert [h.id for h in results] == [searcher.stored_fields(d)["id"] for d, _ in listed]
        shown = f"{results.total:,}+ result(s)"
        assert shown in output.results_text(results, "plain")
        assert shown in page.results_html(page.Form(q="red blood cells"), results)
        monkeypatch.setattr(topk, "EXACT_TOTAL_UP_TO", 10_000)
        exact = kb.search("red blood cells")
        assert exact.total_is_exact and f"{exact.total:,} result(s)" in output.results_text(
            exact, "plain"
        )
        # Leaving out more of the best pages than were asked for: more are ranked, past the
        # limit (a lower bound) and under it (exact, the left out ones not counted).
        drop = {docnum for docnum, _ in topk.top(every_word, 25)}
        rest = every_word.keys() - drop
        for limit in (3, 10_000):
            monkeypatch.setattr(topk, "EXACT_TOTAL_UP_TO", limit)
            left = topk.rank(searcher, words, 10, leave_out=lambda s: drop & s.keys())
            assert left.best == topk.top(every_word, 10, rest)
            assert left.total_is_exact == (limit > len(every_word))
            assert left.total == len(rest) if left.total_is_exact else left.total >= 3


@pytest.mark.slow
def test_phrases_whose_best_candidates_fail_are_verified_further(split_index: Path) -> None:
    """Candidates are verified a batch of the best bounds at a time (4 x count first): when the
    words of a phrase are in most pages but rarely in that order, the best pages lie past the
    first batch, and must be the same as scoring every match finds."""
    with search.open_index(split_index) as kb:
        searcher = _searcher(kb)
        schema, reader = searcher.schema, searcher.reader()
        beyond_first_batch = 0
        phrases = (
            '"treatment cancer"',
            '"cells cancer"',
            '"risk cancer"',
            '"therapy radiation"',
            '"disease cancer"',
            '"blood cancer"',
        )
        for text in phrases:
            parsed = parse_user_query(text, schema, reader, "auto", kb.synonyms)
            scores = topk.score_all(searcher, parsed)
            bounds: dict[int, float] = {}  # a candidate's score if its words were in a row
            for segment in topk._gather(searcher, parsed):
                for phrase in segment.phrases:
                    for docnum, score in phrase.scores.items():
                        docnum += segment.offset
                        bounds[docnum] = bounds.get(docnum, 0.0) + score
            assert 0 < len(scores) < len(bounds) / 2, text  # most candidates fail
            for count in (1, 3, 5):
                assert topk.rank(searcher, parsed, count).best == topk.top(scores, count), text
                first = sorted(bounds, key=lambda d: (-bounds[d], d))[: 4 * count]
                beyond_first_batch += len(scores.keys() & set(first)) < count
        assert beyond_first_batch  # some query had too few matches among its first batch


@pytest.mark.parametrize(
    ("at_once", "one_by_one"), [(1, 0), (7, 0), (1024, 0), (1024, 8), (1024, 10**6)]
)
@pytest.mark.slow
def test_phrases_matched_a_range_of_pages_at_once_are_those_whoosh_matches(
    split_index: Path, monkeypatch: pytest.MonkeyPatch, at_once: int, one_by_one: int
) -> None:
    """A count checks a range of docnums at a time (`phrases.in_a_row`), a block's positions
    often split between two ranges, as arrays of keys or (a range of few candidates) one page at
    a time: the same pages as checking each candidate on its own, and as Whoosh's phrase
    matcher, in an index of several segments with deletions."""
    monkeypatch.setattr(phrases, "RANGE", at_once)
    monkeypatch.setattr(phrases, "ONE_BY_ONE", one_by_one)
    with search.open_index(split_index) as kb:
        searcher = _searcher(kb)
        schema, reader = searcher.schema, searcher.reader()
        assert len(searcher.leaf_searchers()) > 1 and searcher.doc_count() < reader.doc_count_all()
        for text in ('"red blood cells"', '"bone marrow"', '"cells cancer"', '"risk of cancer"'):
            parsed = parse_user_query(text, schema, reader, "auto", kb.synonyms)
            for segment in topk._gather(searcher, parsed):
                for phrase in segment.phrases:
                    candidates = sorted(phrase.scores)
                    one_by_one = {d for d in candidates if phrase.has(d)}
                    assert set().union(*phrases.in_a_row([phrase], candidates)) == one_by_one
            every = topk.rank(searcher, parsed, 10, every_match=True)
            assert every.matched == set(searcher.docs_for_query(parsed)), text
            assert every.matched, text


@pytest.mark.slow
def test_a_phrase_of_a_small_knowledge_base_is_counted_without_numpy(seed_index: Path) -> None:
    """numpy is imported when a phrase's count checks many pages at once (60 ms of a cold
    process): a phrase over the seeds checks its few candidates one by one and never imports it,
    nor does a query of words; a range of more candidates than ONE_BY_ONE does."""
    script = (
        "import sys, search\n"
        "from search.engine import phrases\n"
        "kb = search.open_index(sys.argv[1])\n"
        "words, phrase = kb.search('anemia transfusion'), kb.search('\"bone marrow\"')\n"
        "before = 'numpy' in sys.modules\n"
        "phrases.ONE_BY_ONE = 0\n"
        'again = kb.search(\'"bone marrow" OR "red blood cells"\')\n'
        "print(words.total, phrase.total, before, 'numpy' in sys.modules, again.total)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(seed_index)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    words, phrase, before, after, again = run.stdout.split()
    assert int(words) > 0 and int(phrase) > 1 and int(again) > int(phrase)
    assert (before, after) == ("False", "True")


def test_kept_in_finds_the_values_an_ascending_array_holds() -> None:
    """The sorted-array intersection of phrase keys and of phrase candidates: values past the
    last, before the first and between elements are dropped; an empty array keeps none (a word
    whose every posting in a segment is deleted)."""
    numpy = phrases.lazy_numpy()
    values = numpy.array([1, 3, 4, 9, 12], numpy.int64)
    assert phrases.kept_in(values, numpy.array([0, 3, 5, 9, 11], numpy.int64)).tolist() == [3, 9]
    assert phrases.kept_in(values, numpy.array([12], numpy.int64)).tolist() == [12]
    assert phrases.kept_in(values, numpy.zeros(0, numpy.int64)).tolist() == []


# AND, NOT and nested ORs: Whoosh's top-N search prunes these through its matchers' bounds.
BOUNDED_QUERIES = (
    "lung AND cancer",
    "lung AND (cancer OR anemia)",
    "anemia NOT transfusion",
    "fatigue NOT (anemia OR pain)",
    "lung cancer -breast",
    "+lung cancer",
    "(lung AND cancer)^3 OR anemia",  # a boosted group: Whoosh wraps its matcher
    '"red blood"^2 OR fatigue',
)


@pytest.mark.parametrize("text", BOUNDED_QUERIES)
def test_whoosh_top_n_search_finds_the_best_pages_of_scoring_every_match(
    seed_kb: search.KnowledgeBase, text: str
) -> None:
    """Sorting, facets and feedback search through Whoosh's collectors: its top N pages and
    scores are those of scoring every match (on the seeds, under Whoosh's 5,000-page
    threshold, its array OR and its block skipping dropped the best pages)."""
    searcher = _searcher(seed_kb)
    parsed = parse_user_query(text, searcher.schema, searcher.reader(), "auto", seed_kb.synonyms)
    scores = topk.score_all(searcher, parsed)
    for limit in (1, 3, 10):
        found = [(h.docnum, h.score) for h in bm25f.whoosh_search(searcher, parsed, limit)]
        expected = topk.top(scores, limit)
        assert [d for d, _ in found] == [d for d, _ in expected], (text, limit)
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], rel=1e-9)


def test_a_word_over_weighted_fields_keeps_every_page_above_the_score_to_beat(
    seed_kb: search.KnowledgeBase,
) -> None:
    """`FieldsTerm`'s matcher, told the score to beat (`replace`), keeps every page scoring
    above it: the bound is handed to the summed frequencies as a frequency, and each field's
    weight is divided out of it."""
    searcher = _searcher(seed_kb)
    checked = 0
    for word in ("advers", "answer", "dcis", "inherit", "option", "anemia", "transfus"):
        q = bm25f.FieldsTerm.over(word, TEXT_FIELDS, FIELD_WEIGHTS)
        every: dict[int, float] = {}
        m = q.matcher(searcher)
        while m.is_active():
            every[m.id()] = m.score()
            m.next()
        assert every, word
        for share in (0.25, 0.5, 0.75, 0.9):
            bound = sorted(every.values())[int(share * (len(every) - 1))]
            m = q.matcher(searcher).replace(bound)
            kept: dict[int, float] = {}
            while m.is_active():
                kept[m.id()] = m.score()
                m.next()
            above = {d for d, s in every.items() if s > bound}
            assert above <= kept.keys(), (word, share)
            checked += len(above)
    assert checked > 50


def test_posting_arrays_read_for_scoring_at_once_are_kept_read_only_within_a_budget(
    seed_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A term's arrays, read again by the next keystroke's query, come from memory: the same
    values as read fresh, never written to, the least recently read dropped past the budget."""
    reader = seed_kb._fresh_searcher().leaf_searchers()[0][0].reader()
    words = [w for _, w in reader.most_frequent_terms("body", 6)]
    sizes = {w: reader.doc_frequency("body", w) for w in words}
    monkeypatch.setattr(postings, "ARRAY_POSTINGS", sum(sorted(sizes.values())[-3:]))
    monkeypatch.setattr(postings, "_RECENT", type(postings._RECENT)())
    reads: list[str] = []
    fresh = postings.posting_arrays

    def counted(reader_: object, fieldname: str, text: str, positions: bool = True) -> object:
        reads.append(text)
        return fresh(reader_, fieldname, text, positions)  # type: ignore[arg-type]

    monkeypatch.setattr(postings, "posting_arrays", counted)
    norms = postings.length_norms(seed_kb._fresh_searcher(), reader, "body")
    first = postings.LazyPostings(reader, "body", words[0]).arrays(norms)
    again = postings.LazyPostings(reader, "body", words[0]).arrays(norms)
    assert reads == [words[0]] and again[0] is first[0] and again[1] is first[1]
    docnums, weights, _ = fresh(reader, "body", words[0], False)
    assert first[0].tolist() == docnums.tolist() and first[1].tolist() == weights.tolist()
    with pytest.raises(ValueError):
        first[1][0] = 0.0
    for word in words[1:]:
        postings.LazyPostings(reader, "body", word).arrays(norms)
    recent = postings._RECENT[reader]
    assert recent.postings <= postings.ARRAY_POSTINGS < sum(sizes.values())
    assert list(recent.arrays) == [("body", w) for w in words[-len(recent.arrays) :]]
    postings.LazyPostings(reader, "body", words[0]).arrays(norms)  # dropped: read again
    assert reads.count(words[0]) == 2
