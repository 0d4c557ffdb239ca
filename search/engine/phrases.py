"""Phrases: each word's positions by document, read a block at a time, and the documents that
have the words in a row, one at a time or a whole range of documents at once.

A page's phrase is checked from its words' positions; a count of thousands of matches (the
total, exact up to 10,000) checks a range of pages at once instead: each word's positions in
the range become keys, docnum << 32 plus the position the phrase's last word would have, and
the words' keys are intersected. The blocks hold positions as flat arrays (`blocks`), so the
keys are built and intersected by numpy without a Python object per position; numpy is imported
when a phrase is first counted, so a `kbsearch query` of words does not pay for its import.
"""

from __future__ import annotations

import bisect
import itertools
import pickle
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from whoosh import formats
from whoosh.system import _INT_SIZE

from . import blocks

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# A position's key: its docnum shifted past any position (a field holds fewer than 2**32 words:
# a page is at most a few megabytes), plus the position.
KEY_SHIFT = 32


def lazy_numpy() -> ModuleType:
    """numpy, imported on first use (60 ms: more than a cold query of words takes in all)."""
    import numpy

    return numpy


def kept_in(values: NDArray[np.int64], ascending: NDArray[np.int64]) -> NDArray[np.int64]:
    """The elements of `values` that are in `ascending` (a sorted numpy array, maybe empty),
    each found by a binary search, in C."""
    if not len(ascending):
        return values[:0]
    where = lazy_numpy().searchsorted(ascending, values)
    where[where == len(ascending)] = 0
    return values[ascending[where] == values]  # type: ignore[no-any-return]


def position_decoder(format: formats.Format) -> Callable[[bytes], Iterable[int]]:
    """Whoosh's Positions value is a count and a protocol-2 pickle of the position deltas, which
    it decodes in a Python loop (most of a phrase query's time); the same, summed in C. Any other
    format decodes itself."""
    if type(format) is not formats.Positions:
        return format.decode_positions  # type: ignore[no-any-return]

    def decode(value: bytes) -> Iterable[int]:
        if value[-1:] != b".":  # Whoosh may drop the pickle's final STOP opcode
            value += b"."
        return itertools.accumulate(pickle.loads(value[_INT_SIZE:]))

    return decode


class Positions(dict[int, Sequence[int]]):
    """A term's positions by docnum, a block's read when one of its documents is first looked
    up: a phrase reads the positions of the candidates it verifies, not of every document with
    its words."""

    def __init__(self) -> None:
        super().__init__()
        self._ends: list[int] = []  # the last docnum of each block
        # Each block's docnums and packed positions (None: decoded when added, in the dict).
        self._blocks: list[tuple[list[int], blocks.PackedValues | None]] = []
        # The blocks a page was looked up in: their positions and where each posting's start.
        self._read: dict[int, tuple[blocks.FlatPositions, list[int]]] = {}

    def add(self, docnums: list[int], packed: blocks.PackedValues) -> None:
        """A block's documents (in order, after every block added before) and positions."""
        self._ends.append(docnums[-1])
        self._blocks.append((docnums, packed))

    def add_decoded(self, docnums: list[int], positions: Iterable[Sequence[int]]) -> None:
        """A block's documents and their positions, already decoded."""
        self.update(zip(docnums, positions, strict=True))
        if docnums:
            self._ends.append(docnums[-1])
            self._blocks.append((docnums, None))

    def __missing__(self, docnum: int) -> Sequence[int]:
        at = bisect.bisect_left(self._ends, docnum)
        docnums, packed = self._blocks[at] if at < len(self._ends) else ([], None)
        where = bisect.bisect_left(docnums, docnum)
        if packed is None or where == len(docnums) or docnums[where] != docnum:
            raise KeyError(docnum)  # past the last block, not in its block, or already decoded
        if at not in self._read:
            flat = self._flat(at)
            self._read[at] = flat, list(itertools.accumulate(flat.counts, initial=0))
        flat, starts = self._read[at]
        found = self[docnum] = flat.positions[starts[where] : starts[where + 1]]
        return found

    def _flat(self, at: int) -> blocks.FlatPositions:
        """Block `at`'s positions, flat."""
        docnums, packed = self._blocks[at]
        if packed is not None:
            flat = packed.flat()
            if flat is None:
                raise blocks.DamagedBlock("a block of positions holds other values")
            return flat
        each = [self[docnum] for docnum in docnums]  # decoded when added (Whoosh's layout)
        counts = array("I", map(len, each))
        return blocks.FlatPositions(counts, array("q", itertools.chain.from_iterable(each)))

    def keys_between(self, low: int, high: int, shift: int) -> NDArray[np.int64]:
        """The keys (docnum << KEY_SHIFT, plus the position, plus `shift`) of every position of
        the documents from `low` up to `high` (excluded), in ascending order."""
        numpy = lazy_numpy()
        at = stop = bisect.bisect_left(self._ends, low)
        while stop < len(self._blocks) and self._blocks[stop][0][0] < high:
            stop += 1
        docnums: list[int] = []
        counts, positions = [], []
        for one in range(at, stop):
            docnums += self._blocks[one][0]
            flat = self._flat(one)
            counts.append(numpy.asarray(flat.counts))
            positions.append(numpy.asarray(flat.positions))
        if not docnums:
            return numpy.zeros(0, numpy.int64)  # type: ignore[no-any-return]
        # The first and last blocks cut to the range (a block may hold two ranges').
        first, last = bisect.bisect_left(docnums, low), bisect.bisect_left(docnums, high)
        each = numpy.concatenate(counts).astype(numpy.int64)
        starts = numpy.concatenate(([0], numpy.cumsum(each)))
        keys = numpy.repeat((numpy.array(docnums, numpy.int64) << KEY_SHIFT) + shift, each)
        keys += numpy.concatenate(positions).astype(numpy.int64)
        return keys[starts[first] : starts[last]]  # type: ignore[no-any-return]


@dataclass
class Phrase:
    """A phrase clause in a segment: the candidates that have all its words, with the score
    they get if the words are in a row there (positions not read yet)."""

    postings: list[Positions]  # per word: docnum -> its positions there
    scores: dict[int, float]  # candidates in docnum order

    def has(self, docnum: int) -> bool:
        """Whether the words are in a row in the document."""
        if len(self.postings) == 2:  # most phrases: where the second word follows the first
            before, after = self.postings
            return not set(before[docnum]).isdisjoint([p - 1 for p in after[docnum]])
        first, *others = [positions[docnum] for positions in self.postings]
        rest: list[Collection[int]] = list(others)
        if len(first) * sum(map(len, rest)) > 64:  # long lists: sets make each test constant
            rest = [set(positions) for positions in others]
        for start in first:  # (a word or two a page, most often: a loop beats set algebra)
            at = start
            for positions in rest:
                at += 1
                if at not in positions:
                    break
            else:
                return True
        return False

    def matches_between(self, low: int, high: int) -> set[int]:
        """The documents from `low` up to `high` (excluded) that have the words in a row,
        candidates or not (the caller keeps its candidates: a deleted page has positions)."""
        last = len(self.postings) - 1
        # Each word's positions moved to where the last word would be, kept where every word's
        # are (each word's keys ascend).
        keys = self.postings[0].keys_between(low, high, last)
        for at, positions in enumerate(self.postings[1:], 1):
            if not len(keys):
                return set()
            keys = kept_in(keys, positions.keys_between(low, high, last - at))
        return set(lazy_numpy().unique(keys >> KEY_SHIFT).tolist())


# Documents a count checks at once: a few thousand keys a word, and a count that stops at its
# limit has checked at most this many pages past it.
RANGE = 1024
# A range with at most this many candidates checks them one by one (`Phrase.has`): a small
# knowledge base's phrase query needs no numpy (whose import alone takes 60 ms).
ONE_BY_ONE = 64


def in_a_row(phrases: list[Phrase], docnums: list[int]) -> Iterator[set[int]]:
    """The documents of `docnums` (in order) that have one of the phrases' words in a row, a
    range of RANGE docnums at a time, ranges in order."""
    start = 0
    while start < len(docnums):
        low = docnums[start]
        end = bisect.bisect_left(docnums, low + RANGE, start)
        if end - start <= ONE_BY_ONE:
            yield {
                docnum
                for docnum in docnums[start:end]
                if any(docnum in phrase.scores and phrase.has(docnum) for phrase in phrases)
            }
        else:
            found = set().union(*(phrase.matches_between(low, low + RANGE) for phrase in phrases))
            yield found.intersection(docnums[start:end])
        start = end
