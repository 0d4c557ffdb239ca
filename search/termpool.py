"""The writers' posting pool: postings gathered by term as they come, instead of Whoosh's one
tuple per posting sorted at the end.

Whoosh's `PostingPool` keeps a tuple (field, term, docnum, weight, value) per posting, sorts them
when it spills a run to disk past its memory limit, and merges the runs posting by posting,
comparing tuples (first merging 128 runs into one when there are more): a profile of a 25k
build's writers put a third of their time there. A writer adds its documents in docnum order
(and the segments it merges after them, each term's postings in docnum order), so a term's
postings arrive in order. This pool appends each posting to flat arrays per field (term number,
docnum, weight, value), spills a run as its terms in sorted order (a stable sort of the term
numbers groups each term's postings, still in order), and merges runs term by term, a term's
parts joined oldest first. The block writer takes a term's postings a block at a time
(`blocks._add_postings`). Postings that arrive out of order are sorted as Whoosh sorts them.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import operator
import pickle
from array import array
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import IO, Any

from whoosh import writing

from .blocks import PROTOCOL
from .schema import Analyzed, Posting

WHOOSH_POOL = writing.PostingPool  # Whoosh's own, for the tests that compare with it
# Estimated bytes held per posting (a docnum, a weight, a value's pointer and its bytes object
# without its length) and per distinct term (its dict entry, key and arrays, without the key's
# length): what `limitmb` is measured in. Whoosh's estimate for a posting tuple was ~150.
POSTING_BYTES = 28
VALUE_BYTES = 33
TERM_BYTES = 120
# Postings per pickled piece of a run: a merge holds one piece of each run it reads, ~60 bytes
# a posting once loaded (its docnum, weight and positions), so ~30 kB a run.
RUN_PIECE_POSTINGS = 512
# Runs merged at once at the end; past it, the oldest runs are first merged into one run
# (open files and memory stay bounded however large a build grows).
MAX_OPEN_RUNS = 128

# One term's postings: field name, term bytes, docnums, weights, values (bytes or None).
TermPostings = tuple[str, bytes, "array[int]", "array[float]", list[Any]]
# The same with its run's number after the term: runs merged by (field, term, run).
_RunTerm = tuple[str, bytes, int, "array[int]", "array[float]", list[Any]]


class _Field:
    """One field's postings in the pool's memory, in the order they were added: each posting's
    term number (its term's place in `numbers`), docnum, weight and value. Flat arrays and one
    list, so the garbage collector has almost nothing to walk (an object per term made the
    writers' collections cost as much as the rest of their work)."""

    __slots__ = ("docs", "numbers", "terms", "values", "weights")

    def __init__(self) -> None:
        self.numbers: dict[bytes, int] = {}
        self.terms: array[int] = array("I")
        self.docs: array[int] = array("I")
        self.weights: array[float] = array("d")
        self.values: list[Any] = []

    def by_term(self, fieldname: str, run: int) -> Iterator[_RunTerm]:
        """The postings term by term, terms in sorted order, each term's by docnum."""
        texts = sorted(self.numbers)
        rank = array("I", bytes(4 * len(texts)))
        for place, text in enumerate(texts):
            rank[self.numbers[text]] = place
        ranks = array("I", map(rank.__getitem__, self.terms))
        docs = self.docs
        if all(map(operator.le, docs, itertools.islice(docs, 1, None))):
            # Added in docnum order (as documents are): a stable sort by term keeps it.
            order = sorted(range(len(ranks)), key=ranks.__getitem__)
        else:
            keys = list(zip(ranks, docs, strict=True))
            order = sorted(range(len(ranks)), key=keys.__getitem__)
        docs = array("I", map(docs.__getitem__, order))
        weights = array("d", map(self.weights.__getitem__, order))
        values = list(map(self.values.__getitem__, order))
        counts = collections.Counter(ranks)
        start = 0
        for place, text in enumerate(texts):
            end = start + counts[place]
            yield fieldname, text, run, docs[start:end], weights[start:end], values[start:end]
            start = end


class TermPostingPool:
    """Drop-in for Whoosh's `writing.PostingPool` (`add`, `iter_postings`, `cleanup`,
    `fieldnames`), holding postings by term. Not usable for Whoosh's single-segment
    multi-process merge (`MpWriter(multisegment=False)` reads the pool's runs itself); kbsearch's
    parallel writer writes one segment per process."""

    def __init__(self, tempstore: Any, segment: Any, limitmb: float = 128, **kwargs: Any) -> None:
        self.tempstore = tempstore
        self.segment = segment
        self.limit = limitmb * 1024 * 1024
        self.currentsize = 0
        self.fieldnames: set[str] = set()
        self.fields: dict[str, _Field] = {}
        self.runs: list[str] = []  # run files, oldest first
        self._written = 0  # run files made, for their names

    # A field's postings of a document come whole, as one item (see `schema.Analyzed`).
    takes_whole_fields = True

    def add(self, item: tuple[str, bytes | Analyzed, int, float, Any]) -> None:
        """Add one posting: (field name, term bytes, docnum, weight, value bytes or None); or a
        document's postings of a field, an `Analyzed` in place of the term, `weight` the field's
        boost."""
        fieldname, text, docnum, weight, value = item
        field = self.fields.get(fieldname)
        if field is None:
            field = self.fields[fieldname] = _Field()
            self.fieldnames.add(fieldname)
        if isinstance(text, Analyzed):
            self._add_whole(field, text.postings, docnum, weight)
            return
        numbers = field.numbers
        number = numbers.get(text)
        if number is None:
            number = numbers[text] = len(numbers)
            self.currentsize += TERM_BYTES + len(text)
        field.terms.append(number)
        field.docs.append(docnum)
        field.weights.append(weight)
        field.values.append(value)
        self.currentsize += POSTING_BYTES + (VALUE_BYTES + len(value) if value else 0)
        if self.currentsize > self.limit:
            self.save()

    def _add_whole(
        self, field: _Field, postings: Sequence[Posting], docnum: int, boost: float
    ) -> None:
        """A document's postings of one field (distinct terms), each weight times `boost` as
        Whoosh's writer multiplies it; in comprehensions, not a call per posting."""
        texts = [posting[0] for posting in postings]
        numbers = field.numbers
        size = 0
        for text in dict.fromkeys([text for text in texts if text not in numbers]):
            numbers[text] = len(numbers)
            size += TERM_BYTES + len(text)
        values = [posting[3] for posting in postings]
        field.terms.extend([numbers[text] for text in texts])
        field.docs.extend(itertools.repeat(docnum, len(texts)))
        field.weights.extend([posting[2] * boost for posting in postings])
        field.values.extend(values)
        size += POSTING_BYTES * len(texts) + sum([VALUE_BYTES + len(v) for v in values if v])
        self.currentsize += size
        if self.currentsize > self.limit:
            self.save()

    def _held(self, run: int) -> Iterator[_RunTerm]:
        """The postings in memory, term by term in sorted order, marked as run `run`."""
        for fieldname in sorted(self.fields):
            yield from self.fields[fieldname].by_term(fieldname, run)

    def save(self) -> None:
        """Spill the postings in memory to a run file, sorted by field and term."""
        if self.fields:
            self._write_run(_without_run(self._held(len(self.runs))))
        self.fields = {}
        self.currentsize = 0

    def _write_run(self, terms: Iterable[TermPostings]) -> None:
        path = f"{self.segment.segment_id()}_{self._written}.termrun"
        self._written += 1
        with self.tempstore.create_file(path).raw_file() as f:
            _write_pieces(f, terms)
        self.runs.append(path)

    def _read_run(self, number: int, path: str) -> Iterator[_RunTerm]:
        with self.tempstore.open_file(path).raw_file() as f:
            while True:
                try:
                    piece = pickle.load(f)
                except EOFError:
                    break
                for fieldname, text, docs, weights, values in piece:
                    yield (
                        fieldname,
                        text,
                        number,
                        _frombytes("I", docs),
                        _frombytes("d", weights),
                        values,
                    )
        self.tempstore.delete_file(path)

    def _merge(self, sources: list[Iterator[_RunTerm]]) -> Iterator[TermPostings]:
        """Runs merged by field and term; a term's parts joined oldest first (sorted if not in
        docnum order)."""
        for (fieldname, text), group in itertools.groupby(heapq.merge(*sources), _KEY):
            parts = list(group)
            if len(parts) == 1:
                yield fieldname, text, *parts[0][3:]
                continue
            docs, weights, values = array("I"), array("d"), []
            ordered = True
            for _, _, _, part_docs, part_weights, part_values in parts:
                if docs and part_docs and part_docs[0] <= docs[-1]:
                    ordered = False
                docs.extend(part_docs)
                weights.extend(part_weights)
                values.extend(part_values)
            if ordered:
                yield fieldname, text, docs, weights, values
            else:
                yield fieldname, text, *_sorted(docs, weights, values)

    def _reduce(self, most: int) -> None:
        """Merge the oldest runs into one until at most `most` remain (a run keeps its place)."""
        while len(self.runs) > most:
            count = min(len(self.runs) - most + 1, most)
            oldest, rest = self.runs[:count], self.runs[count:]
            self.runs = []
            self._write_run(self._merge([self._read_run(i, p) for i, p in enumerate(oldest)]))
            self.runs += rest

    def term_postings(self) -> Iterator[TermPostings]:
        """Every term's postings, by field and term, each term's in docnum order."""
        if not self.runs:
            yield from _without_run(self._held(0))
            self.fields = {}
            return
        self._reduce(MAX_OPEN_RUNS - 1)  # the postings in memory make one more source
        sources = [self._read_run(i, path) for i, path in enumerate(self.runs)]
        sources.append(self._held(len(sources)))
        self.runs = []
        yield from self._merge(sources)
        self.fields = {}

    def iter_postings(self) -> TermPostingIterator:
        """What the field writer takes: `blocks._add_postings` reads it term by term."""
        return TermPostingIterator(self)

    def cleanup(self) -> None:
        """Remove run files left by a cancelled writer."""
        for path in self.runs:
            with contextlib.suppress(OSError):
                self.tempstore.delete_file(path)
        self.runs = []


class TermPostingIterator:
    """A pool's postings: by term (`terms`), or one tuple per posting as Whoosh's pool gives
    them (field, term, docnum, weight, value), for any other reader."""

    def __init__(self, pool: TermPostingPool) -> None:
        self.pool = pool

    def terms(self) -> Iterator[TermPostings]:
        return self.pool.term_postings()

    def __iter__(self) -> Iterator[tuple[str, bytes, int, float, Any]]:
        for fieldname, text, docs, weights, values in self.terms():
            for docnum, weight, value in zip(docs, weights, values, strict=True):
                yield fieldname, text, docnum, weight, value


_KEY = itemgetter(0, 1)


def _without_run(terms: Iterable[_RunTerm]) -> Iterator[TermPostings]:
    for fieldname, text, _, docs, weights, values in terms:
        yield fieldname, text, docs, weights, values


def _sorted(
    docs: array[int], weights: array[float], values: list[Any]
) -> tuple[array[int], array[float], list[Any]]:
    """A term's postings by docnum (Whoosh's order), those of one docnum by weight and value."""
    rows = sorted(
        zip(docs, weights, values, strict=True),
        key=lambda row: (row[0], row[1], row[2] or b""),
    )
    return (
        array("I", [row[0] for row in rows]),
        array("d", [row[1] for row in rows]),
        [row[2] for row in rows],
    )


def _write_pieces(f: IO[bytes], terms: Iterable[TermPostings]) -> None:
    """Pickle terms in pieces of about `RUN_PIECE_POSTINGS` postings each."""
    piece: list[tuple[str, bytes, bytes, bytes, list[Any]]] = []
    size = 0
    for fieldname, text, docs, weights, values in terms:
        piece.append((fieldname, text, docs.tobytes(), weights.tobytes(), values))
        size += len(docs) + 3  # a term's own objects weigh about as much as 3 postings
        if size >= RUN_PIECE_POSTINGS:
            pickle.dump(piece, f, PROTOCOL)
            piece, size = [], 0
    if piece:
        pickle.dump(piece, f, PROTOCOL)


def _frombytes(typecode: str, data: bytes) -> array[Any]:
    numbers = array(typecode)
    numbers.frombytes(data)
    return numbers


def install() -> None:
    """Make Whoosh's segment writers (module `whoosh.writing`, pinned to 2.7) gather postings in
    this pool. Idempotent; done when the indexer is imported, so Whoosh's sub-writer processes
    get it too."""
    writing.PostingPool = TermPostingPool
