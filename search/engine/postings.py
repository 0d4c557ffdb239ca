"""A segment's posting lists as ranking reads them: whole, as dicts or numpy arrays, or a block
at a time from the block headers (`LazyPostings`), with the deleted documents a segment hides
left out, and BM25's length normalisation of each document.

kbsearch's own block reader (`blocks.SplitLeafMatcher`) and Whoosh 3's are read here directly,
a block at a time; any other matcher one posting at a time.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from . import blocks
from .blocks import SplitLeafMatcher
from .bm25f import B, avg_field_length
from .phrases import Positions, lazy_numpy, position_decoder

# The posting readers whose blocks the fast paths read themselves: kbsearch's, and Whoosh 3's
# (a block in Whoosh's layout is read through the matcher).
BLOCK_MATCHERS = (SplitLeafMatcher, W3LeafMatcher)
# BM25's length normalisation of each document, (1 - B) + B * length / average, per segment
# reader and field, with the average it was computed for (a reader outlives a searcher, and
# the average changes with the index). One list lookup per posting on a warm query.
NORMS: weakref.WeakKeyDictionary[IndexReader, dict[str, tuple[float, list[float]]]] = (
    weakref.WeakKeyDictionary()
)
# The same as numpy arrays, for the phrases `topk` reads as arrays, with the list each
# was made from.
NORM_ARRAYS: weakref.WeakKeyDictionary[IndexReader, dict[str, tuple[list[float], Any]]] = (
    weakref.WeakKeyDictionary()
)
# Postings (16 bytes each as arrays) a segment reader keeps decoded for scoring at once, those
# read least recently dropped first: a query being typed reads the same words' lists at every
# keystroke.
ARRAY_POSTINGS = 1_000_000
# A length byte as Whoosh decodes it (0: no length, the field is empty).
_BYTE_LENGTHS = [0] + [byte_to_length(n) for n in range(1, 256)]


class LazyPostings:
    """A term's weights (term frequencies) in a segment by docnum, deleted documents left out:
    decoded whole when every posting is needed, else a block at a time for the pages a ranking
    looks up (the body list of a common word spans hundreds of blocks; a top 10 needs a few)."""

    def __init__(self, reader: IndexReader, fieldname: str, text: str) -> None:
        self._reader, self._fieldname, self._text = reader, fieldname, text
        self._every: dict[int, float] | None = None
        self._matcher: Any = None
        self._deleted: Collection[int] = ()
        self._ends: list[int] = []  # the last docnum of each block
        self._starts: list[int] = []  # where each block is in the postings file
        self._highest: list[float] = []  # the highest weight of each block, then 0
        self._read: dict[int, tuple[list[int], Sequence[float]]] = {}  # blocks decoded so far

    def every(self) -> dict[int, float]:
        """docnum -> weight of every posting."""
        if self._every is None:
            self._every = read_postings(self._reader, self._fieldname, self._text)[0]
        return self._every

    def get(self, docnum: int) -> float | None:
        """The document's weight, None if the term is not in it; only its block is read."""
        if self._every is not None:
            return self._every.get(docnum)
        if self._matcher is None and not self._directory():
            return self.every().get(docnum)
        at = bisect.bisect_left(self._ends, docnum)
        if at == len(self._ends) or docnum in self._deleted:
            return None
        if at not in self._read:
            self._matcher._goto(self._starts[at])
            ids, weights = current_block(self._matcher)
            self._read[at] = (list(ids), weights)
        ids, weights = self._read[at]
        where = bisect.bisect_left(ids, docnum)
        return weights[where] if where < len(ids) and ids[where] == docnum else None

    def arrays(self, norms: list[float]) -> tuple[Any, Any, Any]:
        """Every posting as numpy arrays, docnums and weights (read-only: they may be another
        query's too), and `norms` (the field's, from `length_norms`) as one."""
        recent = _RECENT.get(self._reader)
        if recent is None:
            recent = _RECENT.setdefault(self._reader, RecentArrays())
        key = (self._fieldname, self._text)
        found = recent.get(key)
        if found is None:
            docnums, weights, _ = posting_arrays(self._reader, *key, False)
            docnums.flags.writeable = weights.flags.writeable = False
            found = recent.put(key, (docnums, weights))
        return *found, norm_array(self._reader, self._fieldname, norms)

    def _directory(self) -> bool:
        """Each block's last docnum, place and highest weight, from the block headers alone,
        the list's bytes read in one go (False for a reader that does not hand out Whoosh's
        own block matcher: read it whole)."""
        matcher, self._deleted = unfiltered(self._reader.postings(self._fieldname, self._text))
        if type(matcher) not in BLOCK_MATCHERS:
            return False
        for start, info, _ in blocks.block_frames(matcher):
            self._ends.append(info[1])  # (postings, last docnum, highest weight, ...)
            self._highest.append(info[2])
            self._starts.append(start)
        self._highest.append(0.0)  # past the last block
        self._matcher = matcher
        return True

    def highest(self, docnums: list[int], default: float) -> Iterable[float]:
        """At least each document's weight: the highest of its block (from the block headers),
        its weight once read whole, `default` where neither is known."""
        if self._every is not None:
            get = self._every.get
            return [get(docnum, 0.0) for docnum in docnums]
        if self._matcher is None and not self._directory():
            return itertools.repeat(default, len(docnums))
        ends, highest, block_of = self._ends, self._highest, bisect.bisect_left
        return [highest[block_of(ends, docnum)] for docnum in docnums]


class RecentArrays:
    """The posting arrays (docnums, weights) of a segment's terms read most recently, at most
    `ARRAY_POSTINGS` postings in all (one longer list is kept alone); shared by threads."""

    def __init__(self) -> None:
        self.arrays: OrderedDict[tuple[str, str], tuple[Any, Any]] = OrderedDict()
        self.postings = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[Any, Any] | None:
        with self._lock:
            found = self.arrays.get(key)
            if found is not None:
                self.arrays.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], arrays: tuple[Any, Any]) -> tuple[Any, Any]:
        """Keep `arrays` as the term's (unless another thread just did: then those)."""
        with self._lock:
            if key in self.arrays:
                return self.arrays[key]
            self.arrays[key] = arrays
            self.postings += len(arrays[0])
            while self.postings > ARRAY_POSTINGS and len(self.arrays) > 1:
                _, (dropped, _) = self.arrays.popitem(last=False)
                self.postings -= len(dropped)
            return arrays


_RECENT: weakref.WeakKeyDictionary[IndexReader, RecentArrays] = weakref.WeakKeyDictionary()


def posting_arrays(
    reader: IndexReader, fieldname: str, text: str, positions: bool = True
) -> tuple[Any, Any, Positions]:
    """A term's postings in the segment `reader` as numpy arrays, docnums (ascending) and
    weights, deleted documents left out, and its positions (`read_postings`, as arrays; none
    unless `positions`)."""
    numpy = lazy_numpy()
    matcher, deleted = unfiltered(reader.postings(fieldname, text))
    every = blocks.read_split_blocks(matcher) if type(matcher) in BLOCK_MATCHERS else None
    if not every or (positions and any(packed.kind != blocks.POSITIONS for *_, packed in every)):
        weights, found = read_postings(reader, fieldname, text, positions=positions)
        docnums = numpy.fromiter(weights, numpy.int64, len(weights))
        return docnums, numpy.fromiter(weights.values(), numpy.float64, len(weights)), found
    # Each block's deltas start from 0: summed whole, then each block's start taken back.
    sizes = [len(deltas) for deltas, _, _ in every]
    summed = numpy.cumsum(numpy.concatenate([numpy.asarray(d) for d, _, _ in every]), dtype=int)
    ends = numpy.cumsum(sizes)
    docnums = summed - numpy.repeat(numpy.concatenate(([0], summed[ends[:-1] - 1])), sizes)
    weights = numpy.concatenate(  # (one weight for a whole block: a float32, as Whoosh expands it)
        [
            numpy.asarray(w, numpy.float64)
            if isinstance(w, array)
            else numpy.full(size, numpy.float32(1.0 if w is None else w), numpy.float64)
            for (_, w, _), size in zip(every, sizes, strict=True)
        ]
    )
    found = Positions()
    if positions:
        listed, stops = docnums.tolist(), ends.tolist()
        for start, stop, (_, _, packed) in zip([0, *stops[:-1]], stops, every, strict=True):
            found.add(listed[start:stop], packed)
    if deleted:
        kept = ~numpy.isin(docnums, numpy.fromiter(deleted, numpy.int64, len(deleted)))
        docnums, weights = docnums[kept], weights[kept]
    return docnums, weights, found


def norm_array(reader: IndexReader, fieldname: str, norms: list[float]) -> Any:
    """`norms` (the segment's, from `length_norms`) as a numpy array, made once per list."""
    per_field = NORM_ARRAYS.setdefault(reader, {})
    made = per_field.get(fieldname)
    if made is None or made[0] is not norms:
        made = per_field[fieldname] = (norms, lazy_numpy().asarray(norms, dtype=float))
    return made[1]


def read_postings(
    reader: IndexReader, fieldname: str, text: str, positions: bool = False
) -> tuple[dict[int, float], Positions]:
    """A term's postings in the segment `reader`: docnum -> weight and, with `positions`, docnum
    -> its positions in the field (read when looked up), deleted documents left out. A segment
    with deletions hands out Whoosh's own postings wrapped in a filter that hides them one
    posting at a time (every index an incremental run has touched): its blocks are read here,
    and the deleted removed."""
    matcher, deleted = unfiltered(reader.postings(fieldname, text))
    weights: dict[int, float] = {}
    found = Positions()
    decode = position_decoder(reader.schema[fieldname].format) if positions else None
    for block in posting_blocks(matcher, positions):
        docnums = list(block[0])
        weights.update(zip(docnums, block[1], strict=True))
        if decode is None:
            continue
        values = block[2]
        if type(values) is blocks.PackedValues:
            found.add(docnums, values)
        else:
            found.add_decoded(docnums, map(tuple, map(decode, values)))
    for docnum in [d for d in deleted if d in weights]:
        del weights[docnum]
    return weights, found


def unfiltered(matcher: Any) -> tuple[Any, Collection[int]]:
    """Whoosh's block matcher and the deleted docnums its filter hides, when a segment with
    deletions wraps it (its blocks are then read here, the deleted removed after); any other
    matcher as it is, with none."""
    child = getattr(matcher, "child", None)
    if type(matcher) is FilterMatcher and matcher._exclude and type(child) in BLOCK_MATCHERS:
        return matcher.child, matcher._ids
    return matcher, ()


def posting_blocks(matcher: Any, values: bool = False) -> Iterator[tuple[Any, ...]]:
    """A posting list as (docnums, weights[, values]) blocks. Whoosh's own format is read a block
    at a time (its decoded arrays, pinned to whoosh-reloaded 2.7 and checked against the matcher
    path by the tests), a split block's positions left packed (`blocks`); any other matcher, one
    posting at a time (`read_postings` unwraps the filter that hides a segment's deleted documents
    before it gets here)."""
    if type(matcher) in BLOCK_MATCHERS:
        every = blocks.read_split_blocks(matcher)
        if every is not None and (
            not values or all(packed.kind == blocks.POSITIONS for *_, packed in every)
        ):
            for deltas, weights, packed in every:
                if not isinstance(weights, array):  # as Whoosh's `_read_weights` expands them
                    weights = array("f", [1.0 if weights is None else weights]) * len(deltas)
                docnums = itertools.accumulate(deltas)  # Whoosh stores deltas
                yield (docnums, weights, packed) if values else (docnums, weights)
            return
        while matcher.is_active():
            ids, weights = current_block(matcher)
            if not values:
                yield ids, weights
            elif (
                type(packed := matcher._data[2]) is blocks.PackedValues
                and packed.kind == blocks.POSITIONS
            ):
                yield ids, weights, packed
            else:
                matcher._read_values()
                yield ids, weights, matcher._values
            matcher._next_block()
        return
    columns: tuple[list[Any], ...] = ([], [], []) if values else ([], [])
    while matcher.is_active():
        columns[0].append(matcher.id())
        columns[1].append(matcher.weight())
        if values:
            columns[2].append(matcher.value())
        matcher.next()
    yield columns


def current_block(matcher: SplitLeafMatcher) -> tuple[Iterable[int], Sequence[float]]:
    """The docnums and weights of the block Whoosh's block matcher is at."""
    if matcher._data is None:
        matcher._read_data()
    ids = itertools.accumulate(matcher._data[0])  # Whoosh stores deltas
    matcher._read_weights()
    return ids, matcher._weights


def length_norms(searcher: Searcher, reader: IndexReader, fieldname: str) -> list[float]:
    """(1 - B) + B * length / average field length, per document of the segment `reader`."""
    average = avg_field_length(searcher, fieldname) or 1
    per_field = NORMS.setdefault(reader, {})
    if fieldname not in per_field or per_field[fieldname][0] != average:
        raw = _length_bytes(reader, fieldname)
        if raw is not None:  # 256 possible lengths: normalise those, then look each page up
            by_byte = [(1 - B) + B * length / average for length in _BYTE_LENGTHS]
            norms = list(map(by_byte.__getitem__, raw))
        else:
            count = reader.doc_count_all()
            lengths = (reader.doc_field_length(n, fieldname, 0) or 0 for n in range(count))
            norms = [(1 - B) + B * length / average for length in lengths]
        per_field[fieldname] = (average, norms)
    return per_field[fieldname][1]


def _length_bytes(reader: IndexReader, fieldname: str) -> bytes | None:
    """The field's length byte of each document of a segment (Whoosh stores lengths as one byte
    each), read in one go from Whoosh's column file; None for other kinds of readers."""
    count = reader.doc_count_all()
    perdoc: Any = getattr(reader, "_perdoc", None)
    if type(reader) is not SegmentReader or type(perdoc) is not W3PerDocReader:
        return None
    column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:
        return bytes(count)
    raw: bytes = column._dbfile.get(column._basepos, min(column._count, count))
    return raw + bytes(count - len(raw))
