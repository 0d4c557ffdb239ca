"""The writers' term pool gives what Whoosh's sorting pool gives, in memory or spilled."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from whoosh import writing
from whoosh.filedb.filestore import FileStorage

from search import termpool
from search.schema import build_schema

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
def test_the_pool_gives_postings_in_whooshs_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str, limitmb: float
) -> None:
    monkeypatch.setattr(termpool, "MAX_OPEN_RUNS", 3)
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


def test_terms_come_whole_with_their_postings_in_order(tmp_path: Path) -> None:
    ix = FileStorage(str(tmp_path)).create_index(build_schema())
    writer = writing.SegmentWriter(ix, _lk=False)
    try:
        pool = termpool.TermPostingPool(writer.temp_storage(), writer.newsegment, limitmb=0.02)
        postings = _postings("docs", seed=3)
        for posting in postings:
            pool.add(posting)
        terms = list(pool.iter_postings().terms())
        keys = [(fieldname, text) for fieldname, text, *_ in terms]
        assert keys == sorted(set(keys)) and len(keys) == len({p[:2] for p in postings})
        for fieldname, text, docs, weights, values in terms:
            mine = [p[2:] for p in postings if p[:2] == (fieldname, text)]
            assert list(zip(docs, weights, values, strict=True)) == mine
    finally:
        writer.cancel()
