"""Phrases: each word's positions by document, unpacked a block at a time, and the documents
that have the words in a row, one at a time or a whole range of documents at once.

A page's phrase is checked from its words' positions; a count of thousands of matches (the
total, exact up to 10,000) checks a range of pages at once instead: each word's positions in
the range become keys, docnum << 32 plus the position the phrase's last word would have, built
in one comprehension and intersected as sets, so a page costs no Python call of its own.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import pickle
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from whoosh import formats
from whoosh.system import _INT_SIZE

from . import blocks

# A position's key: its docnum shifted past any position (a field holds fewer than 2**32 words:
# a page is at most a few megabytes), plus the position.
KEY_SHIFT = 32


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
    """A term's positions by docnum, each split block's unpacked when one of its documents is
    first looked up: a phrase reads the positions of the candidates it verifies, not of every
    document with its words."""

    def __init__(self) -> None:
        super().__init__()
        self._ends: list[int] = []  # the last docnum of each block
        # Each block's docnums and positions: still packed, or None once in the dict.
        self._blocks: list[tuple[list[int], blocks.PackedValues | None]] = []
        self._last: tuple[int, tuple[list[int], Sequence[Sequence[int]]]] = (-1, ([], []))

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
        positions = packed.positions() if packed is not None else None
        if positions is None:  # past the last block, or its block is unpacked and lacks it
            raise KeyError(docnum)
        self._blocks[at] = (docnums, None)
        self.update(zip(docnums, positions, strict=True))
        return self[docnum]

    def keys_between(self, low: int, high: int, shift: int) -> list[int]:
        """The keys (docnum << KEY_SHIFT, plus the position, plus `shift`) of every position of
        the documents from `low` up to `high` (excluded)."""
        at = stop = bisect.bisect_left(self._ends, low)
        while stop < len(self._blocks) and self._blocks[stop][0][0] < high:
            stop += 1
        found = [self._block(one) for one in range(at, stop)]
        if found:  # the first and last blocks cut to the range (a block may hold two ranges')
            docnums, positions = found[0]
            cut = bisect.bisect_left(docnums, low)
            found[0] = docnums[cut:], positions[cut:]
            docnums, positions = found[-1]
            cut = bisect.bisect_left(docnums, high)
            found[-1] = docnums[:cut], positions[:cut]
        starts = [[(docnum << KEY_SHIFT) + shift for docnum in docnums] for docnums, _ in found]
        return [
            start + position
            for first, (_, positions) in zip(starts, found, strict=True)
            for start, each in zip(first, positions, strict=True)
            for position in each
        ]

    def _block(self, at: int) -> tuple[list[int], Sequence[Sequence[int]]]:
        """Block `at`'s docnums and their positions, the last block's kept (ranges move forward,
        and a block may hold documents of two)."""
        if self._last[0] == at:
            return self._last[1]
        docnums, packed = self._blocks[at]
        positions = packed.positions() if packed is not None else [self[d] for d in docnums]
        found = (docnums, positions if positions is not None else [()] * len(docnums))
        self._last = (at, found)
        return found


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
        # Each word's positions moved to where the last word would be; the first word's make a
        # set, the others' are looked up in it.
        keys = set(self.postings[0].keys_between(low, high, last))
        for at, positions in enumerate(self.postings[1:], 1):
            if not keys:
                return set()
            keys = keys.intersection(positions.keys_between(low, high, last - at))
        return set(map(operator.rshift, keys, itertools.repeat(KEY_SHIFT)))


# Documents a count checks at once: a few thousand keys a word, and a count that stops at its
# limit has checked at most this many pages past it.
RANGE = 1024


def in_a_row(phrases: list[Phrase], docnums: list[int]) -> Iterator[set[int]]:
    """The documents of `docnums` (in order) that have one of the phrases' words in a row, a
    range of RANGE docnums at a time, ranges in order."""
    start = 0
    while start < len(docnums):
        low = docnums[start]
        end = bisect.bisect_left(docnums, low + RANGE, start)
        found = set().union(*(phrase.matches_between(low, low + RANGE) for phrase in phrases))
        yield found.intersection(docnums[start:end])
        start = end
