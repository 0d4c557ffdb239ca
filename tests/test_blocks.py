"""Posting blocks with their positions apart: the same postings as Whoosh's layout, and positions
read only when a phrase needs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from whoosh import formats
from whoosh.codec import base, whoosh3

import search
from search.engine import blocks, codec, phrases, postings, termpool, topk
from search.kb import indexer
from search.query.parsing import parse_user_query
from search.text import schema
from tests.conftest import write_generated_pages

QUERIES = ("anemia", "lung cancer screening", '"bone marrow" transplant', "chemo*", "cáncer")


class _WhooshBlocks(blocks.SplitPostingsWriter):
    """Blocks in Whoosh's own layout."""

    _write_block = whoosh3.W3PostingsWriter._write_block


class _WhooshBlocksCodec(codec.KbsearchCodec):
    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        return _WhooshBlocks(dbfile, self._blocklimit, byteids, self._compression)


class _WhooshPostingPath(codec.FieldWriter):
    """Postings added as Whoosh adds them, one call and type check each."""

    add_postings = base.FieldWriter.add_postings


class _WhooshPostingWriter(blocks.SplitPostingsWriter):
    add_posting = whoosh3.W3PostingsWriter.add_posting


class _WhooshPathCodec(codec.KbsearchCodec):
    def field_writer(self, storage: Any, segment: Any) -> Any:
        return _WhooshPostingPath(self, storage, segment)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        return _WhooshPostingWriter(dbfile, self._blocklimit, byteids, self._compression)


class _WhooshPool(termpool.WHOOSH_POOL):  # type: ignore[misc]
    """Whoosh's pool, taking a field analysed ahead one posting at a time."""

    def add(self, item: tuple[Any, ...]) -> None:
        fieldname, text, docnum, weight, _ = item
        if not isinstance(text, schema.Analyzed):
            super().add(item)
            return
        for term, _, each, encoded in text.postings:
            super().add((fieldname, term, docnum, each * weight, encoded))


def _postings(index_dir: Path) -> list[tuple[object, ...]]:
    """Every posting of every field: (field, term, docnum, weight, encoded value)."""
    with search.open_index(index_dir) as kb:
        return [
            p
            for leaf, _ in kb._fresh_searcher().leaf_searchers()
            for p in leaf.reader().iter_postings()
        ]


def _layouts(index_dir: Path) -> set[int]:
    """The compression field of the first block of every body term of more than one block."""
    found = set()
    with search.open_index(index_dir) as kb:
        for leaf, _ in kb._fresh_searcher().leaf_searchers():
            reader = leaf.reader()
            for _, word in reader.most_frequent_terms("body", 20):
                found.add(reader.postings("body", word)._compression)
    return found


@pytest.mark.slow
def test_split_blocks_hold_what_whoosh_blocks_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: int
) -> None:
    """A knowledge base written in both layouts (blocks of 8 postings: many a list) reads back
    (through the same matchers) as the same postings, and searches the same."""
    pages = write_generated_pages(tmp_path / "kb")
    search.update_index(pages, tmp_path / "split")
    with monkeypatch.context() as whoosh_layout:
        whoosh_layout.setattr(codec, "KbsearchCodec", _WhooshBlocksCodec)
        search.update_index(pages, tmp_path / "whoosh")
    assert _layouts(tmp_path / "split") == {blocks.SPLIT}
    assert _layouts(tmp_path / "whoosh") == {3}  # Whoosh's zlib level
    split = _postings(tmp_path / "split")
    assert len(split) > 3_000
    assert split == _postings(tmp_path / "whoosh")
    with (
        search.open_index(tmp_path / "split") as one,
        search.open_index(tmp_path / "whoosh") as two,
    ):
        for text in QUERIES:
            a, b = one.search(text), two.search(text)
            assert a.total == b.total > 0, text
            assert [(h.id, h.score, h.snippet) for h in a] == [
                (h.id, h.score, h.snippet) for h in b
            ]


def _block_statistics(index_dir: Path) -> list[tuple[object, ...]]:
    """Every term's statistics, and each of its postings with its block's bounds (what pruning
    reads): a posting written to the wrong block, or a wrong length bound, shows here."""
    found: list[tuple[object, ...]] = []
    with search.open_index(index_dir) as kb:
        for leaf, _ in kb._fresh_searcher().leaf_searchers():
            reader = leaf.reader()
            for fieldname, text in reader.all_terms():
                info = reader.term_info(fieldname, text)
                statistics = info.weight(), info.doc_frequency(), info.max_weight()
                found.append((fieldname, text, *statistics, info.min_length(), info.max_length()))
                matcher = reader.postings(fieldname, text)
                while matcher.is_active():
                    bounds = matcher.block_min_length(), matcher.block_max_length()
                    found.append((matcher.id(), *bounds, matcher.block_max_weight()))
                    matcher.next()
    return found


@pytest.mark.slow
def test_the_lean_posting_path_writes_what_whoosh_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: int
) -> None:
    """The term pool and the field writer without Whoosh's per-posting checks and length reads
    write the same postings, term statistics and block bounds as Whoosh's own pool and code,
    with sort runs spilled to disk and merged (a pool of 20 kB)."""
    pages = write_generated_pages(tmp_path / "kb")
    monkeypatch.setattr(indexer, "WRITER_LIMIT_MB", 0.02)
    search.update_index(pages, tmp_path / "lean")
    with monkeypatch.context() as whoosh_path:
        whoosh_path.setattr(codec, "KbsearchCodec", _WhooshPathCodec)
        whoosh_path.setattr(codec, "POOL", _WhooshPool)
        search.update_index(pages, tmp_path / "whoosh")
    lean = _block_statistics(tmp_path / "lean")
    assert len(lean) > 3_000
    assert lean == _block_statistics(tmp_path / "whoosh")
    assert _postings(tmp_path / "lean") == _postings(tmp_path / "whoosh")


@pytest.mark.slow
def test_positions_are_read_only_for_the_pages_a_phrase_verifies(
    seed_kb: search.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word query never unpacks a block's positions; a phrase whose count stops early unpacks
    only the blocks of the pages it looks at (a range of docnums at a time)."""
    unpacked: list[int] = []
    load = blocks.PackedValues.flat

    def counted(self: blocks.PackedValues) -> object:
        unpacked.append(1)
        return load(self)

    monkeypatch.setattr(blocks.PackedValues, "flat", counted)
    searcher = seed_kb._fresh_searcher()
    schema, reader = searcher.schema, searcher.reader()
    words = parse_user_query("cancer treatment", schema, reader)
    assert topk.rank(searcher, words, 10).total > 128  # a posting list of several blocks
    assert unpacked == []

    phrase = parse_user_query('"cancer treatment"', schema, reader)
    every = topk.rank(searcher, phrase, 10, every_match=True)
    assert every.total > 20
    all_blocks = len(unpacked)
    unpacked.clear()
    monkeypatch.setattr(topk, "EXACT_TOTAL_UP_TO", 3)
    monkeypatch.setattr(phrases, "RANGE", 16)
    early = topk.rank(searcher, phrase, 10)
    assert early.best == every.best and not early.total_is_exact
    assert 0 < len(unpacked) < all_blocks


@pytest.mark.slow
def test_a_posting_list_read_in_one_go_is_what_the_matcher_reads(
    seed_kb: search.KnowledgeBase,
) -> None:
    """Ranking reads a term's blocks from one read of its bytes (`read_split_blocks`): for every
    term of the text fields, the docnums, weights and positions Whoosh's matcher reads one
    posting at a time, whichever way a block holds its weights (none, one for all, one each)."""
    layouts: set[type] = set()
    terms = 0
    for leaf, _ in seed_kb._fresh_searcher().leaf_searchers():
        reader = leaf.reader()
        for fieldname, text in reader.all_terms():
            if fieldname not in schema.ALL_TEXT_FIELDS:
                continue
            every = blocks.read_split_blocks(reader.postings(fieldname, text))
            assert every is not None
            layouts.update(type(weights) for _, weights, _ in every)
            weights, positions = postings.read_postings(reader, fieldname, text, positions=True)
            matcher = reader.postings(fieldname, text)
            expected_weights, expected_positions = {}, {}
            while matcher.is_active():
                expected_weights[matcher.id()] = matcher.weight()
                expected_positions[matcher.id()] = list(matcher.value_as("positions"))
                matcher.next()
            assert weights == expected_weights
            assert {d: list(positions[d]) for d in weights} == expected_positions
            terms += 1
    assert terms > 10_000
    assert {type(None), float}.issubset(layouts) and len(layouts) >= 3


def test_positions_held_flat_read_back_and_damage_is_reported() -> None:
    """A block's positions are written flat, in the narrowest arrays, whether they came decoded
    (the term pool) or as Whoosh encodes them (a merge), and read back as written; bytes that do
    not add up are a damaged block, not a wrong answer."""
    values = ((0, 5, 300), (), (70_000,), (1, 2))
    encoded = tuple(map(formats.Positions().encode, values))
    tail = blocks._flat_bytes(values, len(values))
    assert tail is not None and tail == blocks._flat_bytes(encoded, len(values))
    packed = blocks.PackedValues(b"xyz" + tail, 3, blocks.POSITIONS, 0, len(values))
    flat = packed.flat()
    assert flat is not None and tuple(flat.each()) == values
    assert (flat.counts.typecode, flat.positions.typecode) == ("B", "I")  # 70,000 > 2**16
    assert packed.unpack() == encoded
    assert blocks._flat_bytes(((1 << 32,),), 1) is None  # left to Whoosh's layout
    assert blocks._flat_bytes(values, len(values) + 1) is None
    for damaged in (tail[:-1], tail[:-4], tail[:3], b"\x00\x00" + tail[2:], tail + b"\x00\x00"):
        with pytest.raises(blocks.DamagedBlock):
            blocks.PackedValues(damaged, 0, blocks.POSITIONS, 0, len(values)).flat()


@pytest.mark.slow
def test_positions_that_cannot_be_held_flat_are_written_as_whoosh_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: int
) -> None:
    """A block whose positions do not fit the flat layout (past 32 bits; never seen, but not
    impossible) is left to Whoosh's writer: the same postings and phrase matches as flat ones."""
    pages = write_generated_pages(tmp_path / "kb")
    search.update_index(pages, tmp_path / "flat")
    with monkeypatch.context() as unfit:
        unfit.setattr(blocks, "_flat_bytes", lambda values, postings: None)
        search.update_index(pages, tmp_path / "whoosh")
    assert _layouts(tmp_path / "flat") == {blocks.SPLIT}
    assert _layouts(tmp_path / "whoosh") == {3}  # Whoosh's zlib level
    assert _postings(tmp_path / "flat") == _postings(tmp_path / "whoosh")
    with (
        search.open_index(tmp_path / "flat") as one,
        search.open_index(tmp_path / "whoosh") as two,
    ):
        for text in ('"bone marrow"', '"red blood cells" anemia'):
            a, b = one.search(text), two.search(text)
            assert a.total == b.total > 0 and [h.id for h in a] == [h.id for h in b], text


@pytest.mark.slow
def test_kbsearch_indexes_read_through_its_own_matchers_and_topk_fast_paths(
    seed_kb: search.KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segments keep kbsearch's codec, whose matchers are `topk`'s block readers: a word query
    reads its text fields' posting lists as split blocks itself, not through Whoosh's matcher
    calls (an exact-value look-up, such as a hit's translations, may use them)."""
    searcher = seed_kb._fresh_searcher()
    for leaf, _ in searcher.leaf_searchers():
        reader = leaf.reader()
        assert type(reader.segment().codec()) is codec.KbsearchCodec
        word = next(w for _, w in reader.most_frequent_terms("body", 1))
        assert type(reader.postings("body", word)) is blocks.SplitLeafMatcher
    read: list[bool] = []
    read_split_blocks = blocks.read_split_blocks

    def counted(matcher: Any) -> Any:
        found = read_split_blocks(matcher)
        read.append(found is not None)
        return found

    monkeypatch.setattr(blocks, "read_split_blocks", counted)
    for name in ("next", "skip_to"):
        method = getattr(whoosh3.W3LeafMatcher, name)
        monkeypatch.setattr(whoosh3.W3LeafMatcher, name, _never_for_text(method))
    assert seed_kb.search("anemia transfusion", snippets=False).total > 0
    assert read and all(read)


def _never_for_text(method: Any) -> Any:
    """`method` of Whoosh's matcher, failing the test when it reads a text field's postings."""

    def guarded(matcher: Any, *args: Any) -> Any:
        if matcher._term[0] in schema.ALL_TEXT_FIELDS:
            raise AssertionError(f"{matcher._term[0]} postings read through Whoosh's matcher")
        return method(matcher, *args)

    return guarded


class _NoTable:
    """A term table that fails the test when it is probed."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the term table was probed ({name})")

    def __contains__(self, key: object) -> bool:
        raise AssertionError("the term table was probed (in)")

    def __getitem__(self, key: object) -> Any:
        raise AssertionError("the term table was probed ([])")


def _answers(terms: Any, fieldname: str, tbytes: bytes) -> tuple[object, ...]:
    """What a terms reader says of one term, a missing term's errors included."""
    try:
        info = terms.term_info(fieldname, tbytes)
        stats: tuple[object, ...] = (info.weight(), info.doc_frequency(), info.max_weight())
    except Exception as exc:  # Whoosh raises TermNotFound; compared by type
        stats = (type(exc),)
    counts = []
    for ask in (terms.frequency, terms.doc_frequency):
        try:
            counts.append(ask(fieldname, tbytes))
        except Exception as exc:  # a missing key is a KeyError, which the segment reader reads as 0
            counts.append(type(exc))
    return ((fieldname, tbytes) in terms, *stats, *counts)


def test_a_segments_term_infos_are_remembered_and_answer_as_whoosh_does(
    seed_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The codec's term table remembers each term's info, and that a term is missing: asked
    again, it answers the same without probing the table; its memory stays within its bound."""
    monkeypatch.setattr(codec, "REMEMBERED_TERMS", 64)
    with search.open_index(seed_index) as kb:
        reader = kb._fresh_searcher().leaf_searchers()[0][0].reader()
        ours = reader._terms
        assert type(ours) is codec.TermsReader
        whoosh_own = whoosh3.W3Codec().terms_reader(reader._storage, reader.segment())
        asked = [(f, t) for f, t in ours.terms() if f in ("title", "body", "language")][::97][:40]
        asked += [(f, t + b"zq") for f, t in asked[:10]] + [("nofield", b"anemia")]
        assert len(asked) == 51
        expected = [_answers(whoosh_own, f, t) for f, t in asked]
        assert any(a[0] for a in expected) and not all(a[0] for a in expected)
        assert [_answers(ours, f, t) for f, t in asked] == expected
        assert len(ours._infos) <= 64
        recent = asked[-5:]
        for f, t in recent:
            _answers(ours, f, t)
        table, ours._tindex = ours._tindex, _NoTable()
        try:
            assert [_answers(ours, f, t) for f, t in recent] == expected[-5:]
        finally:
            ours._tindex = table
        whoosh_own.close()
