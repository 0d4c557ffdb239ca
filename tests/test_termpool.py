"""The writers' term pool gives what Whoosh's sorting pool gives, in memory or spilled."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from whoosh import writing
from whoosh.filedb.filestore import FileStorage

from search.engine import termpool
from search.text.schema import analyze, build_schema

Posting = tuple[str, bytes, int, float, Any]


def _postings(order: str, seed: int) -> list[Posting]:
    """Postings of 300 documents over 2 fields and 400 terms, each term at most once a
    document; added in docnum order (as documents are), segment after segment with each term's
    postings together (as Whoosh adds a segment it merges), or shuffled."""
    rng = random.Random(seed)
    rows: list[Posting] = []
    for docnum in range(300):
        for fieldname, value in (
            ("body", lambda: bytes(rng.randrange(256) for _ in range(5))),
            ("tags", lambda: None),
        ):
            for term in rng.sample(range(400), 20):
                rows.append((fieldname, b"t%03d" % term, docnum, float(rng.randint(1, 4)), value()))
    if order == "docs":
        return rows
    if order == "shuffled":
        rng.shuffle(rows)
        return rows
    # Three merged segments: docnums 0-99, 100-199, 200-299, each given term by term.
    return [row for part in range(3) for row in sorted(r for r in rows if r[2] // 100 == part)]


@pytest.mark.parametrize("order", ["docs", "segments", "shuffled"])
@pytest.mark.parametrize("limitmb", [100.0, 0.02])
@pytest.mark.slow
def test_the_pool_gives_postings_in_whooshs_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str, limitmb: float
) -> None:
    monkeypatch.setattr(termpool, "MAX_OPEN_RUNS", 3)
    monkeypatch.setattr(termpool, "RUN_PIECE_POSTINGS", 8)  # runs' terms written in parts
    ix = FileStorage(str(tmp_path)).create_index(build_schema())
    writer = writing.SegmentWriter(ix, _lk=False)
    try:
        pool = termpool.TermPostingPool(writer.temp_storage(), writer.newsegment, limitmb=limitmb)
        postings = _postings(order, seed=7)
        for posting in postings:
            pool.add(posting)
        spilled = len(pool.runs)
        assert (spilled > 3) == (limitmb < 1)  # the small pool spilled more runs than it merges
        given = pool.iter_postings()
        assert list(given) == sorted(postings)
        assert pool.runs == [] and not any(
            name.endswith(".termrun") for name in writer.temp_storage().list()
        )
        assert pool.fieldnames == {"body", "tags"}
    finally:
        writer.cancel()


@pytest.mark.parametrize("order", ["docs", "segments"])
@pytest.mark.slow
def test_terms_come_in_order_and_in_bounded_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    """Terms come in sorted order, each term's postings in docnum order. Postings added in
    docnum order (a writer's documents) come in parts of at most a run's piece, one part after
    another, so a word on every page is never held whole; otherwise (a merged segment's, term by
    term) a term comes whole."""
    monkeypatch.setattr(termpool, "RUN_PIECE_POSTINGS", 8)
    ix = FileStorage(str(tmp_path)).create_index(build_schema())
    writer = writing.SegmentWriter(ix, _lk=False)
    try:
        pool = termpool.TermPostingPool(writer.temp_storage(), writer.newsegment, limitmb=0.02)
        postings = _postings(order, seed=3)
        every_page = [("body", b"t999", docnum, 1.0, b"x") for docnum in range(300)]
        postings = (
            sorted(postings + every_page, key=lambda p: p[2])
            if order == "docs"
            else (postings + every_page)
        )
        for posting in postings:
            pool.add(posting)
        assert len(pool.runs) > 3 and pool.in_order == (order == "docs")
        terms = list(pool.iter_postings().terms())
        keys = [(fieldname, text) for fieldname, text, *_ in terms]
        assert keys == sorted(keys) and set(keys) == {p[:2] for p in postings}
        whole: dict[tuple[str, bytes], list[tuple[int, float, Any]]] = {}
        for fieldname, text, docs, weights, values in terms:
            assert isinstance(values, list)  # given as Whoosh gives them: held as they came
            whole.setdefault((fieldname, text), []).extend(zip(docs, weights, values, strict=True))
        for key, given in whole.items():
            assert given == [p[2:] for p in postings if p[:2] == key]
        parts = [len(docs) for fieldname, text, docs, *_ in terms if text == b"t999"]
        if order == "docs":  # in parts: a run's pieces, then the postings still in memory
            assert len(parts) > 3 and max(parts[:-1]) <= 8
        else:
            assert parts == [300]
    finally:
        writer.cancel()


@pytest.mark.parametrize("first", ["analysed", "bytes"])
@pytest.mark.parametrize("order", ["docs", "reversed"])
@pytest.mark.parametrize("limitmb", [100.0, 0.02])
@pytest.mark.slow
def test_fields_analysed_ahead_give_what_whoosh_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str, order: str, limitmb: float
) -> None:
    """A text field analysed ahead is held as flat positions and a spelling field without
    values; a segment being merged adds the same fields as Whoosh's bytes, one posting at a
    time. Mixed either way, in order or not, spilled or not, the pool gives what Whoosh's gives."""
    # Runs merged into runs, their terms (flat positions too) written in parts.
    monkeypatch.setattr(termpool, "MAX_OPEN_RUNS", 3)
    monkeypatch.setattr(termpool, "RUN_PIECE_POSTINGS", 8)
    schema = build_schema()
    rng = random.Random(5)
    words = [f"w{n:03d}" for n in range(300)]
    ix = FileStorage(str(tmp_path)).create_index(schema)
    writer = writing.SegmentWriter(ix, _lk=False)
    try:
        ours = termpool.TermPostingPool(writer.temp_storage(), writer.newsegment, limitmb=limitmb)
        theirs = termpool.WHOOSH_POOL(writer.temp_storage(), writer.newsegment, limitmb=limitmb)
        docnums = list(range(200))
        added = reversed(docnums) if order == "reversed" else docnums
        for step, docnum in enumerate(added):
            text = " ".join(rng.choices(words, k=rng.randint(0, 80)))
            as_bytes = step % 3 == (0 if first == "bytes" else 2)
            for fieldname in ("body", "spelling"):
                analyzed = analyze(schema, fieldname, text)
                postings = [
                    (fieldname, term, docnum, weight, value)
                    for term, _, weight, value in analyzed.postings
                ]
                for posting in postings if as_bytes else [(fieldname, analyzed, docnum, 1.0, None)]:
                    ours.add(posting)
                for posting in postings:
                    theirs.add(posting)
        kinds = (
            {termpool.Kind.VALUES}
            if first == "bytes"
            else {termpool.Kind.POSITIONS, termpool.Kind.BARE}
        )
        assert set(ours.kinds.values()) == kinds
        assert (len(ours.runs) > 3) == (limitmb < 1)
        given = list(ours.iter_postings())
        assert len(given) > 10_000
        assert given == list(theirs.iter_postings())
    finally:
        writer.cancel()
