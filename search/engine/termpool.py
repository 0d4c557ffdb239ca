"""The writers' posting pool: postings gathered by term as they come, instead of Whoosh's one
tuple per posting sorted at the end.

Whoosh's `PostingPool` keeps a tuple (field, term, docnum, weight, value) per posting, sorts them
when it spills a run to disk past its memory limit, and merges the runs posting by posting,
comparing tuples (first merging 128 runs into one when there are more): a profile of a 25k
build's writers put a third of their time there. A writer adds its documents in docnum order
(and the segments it merges after them, each term's postings in docnum order), so a term's
postings arrive in order. This pool appends each posting to flat arrays per field (term number,
docnum, weight, value), spills a run as its terms in sorted order (a stable sort of the term
numbers groups each term's postings, still in order; a long term in parts), and merges runs by
term, a term's parts passed on oldest first, one after another: a word on every page is never
held whole. The block writer takes a term's postings a block at a time
(`blocks._add_postings`). Postings that arrive out of order (a merged segment's, term by term)
are joined by term and sorted as Whoosh sorts them.

A field analysed ahead (`analyzed.Analyzed`) is held without an object a posting: a text field's
positions as one array (each posting's count of them in another), a spelling field's postings
with no value at all. They reach the block writer so (`blocks.FlatPositions`), never encoded as
Whoosh's bytes and decoded again; the postings of a segment being merged, which come as
Whoosh's bytes, join them decoded.
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
from enum import Enum
from operator import itemgetter
from typing import IO, Any

from whoosh import formats, writing

from .analyzed import Analyzed
from .blocks import PROTOCOL, FlatPositions

WHOOSH_POOL = writing.PostingPool  # Whoosh's own, for the tests that compare with it
# Estimated bytes held per posting given as Whoosh gives it (a docnum, a weight, a value's
# pointer and its bytes object without its length), per posting of an analysed field (its term
# number, docnum and weight in arrays), per position (and count) of a text field's posting, and
# per distinct term (its dict entry, key and arrays, without the key's length): what `limitmb`
# is measured in. Whoosh's estimate for a posting tuple was ~150.
POSTING_BYTES = 28
VALUE_BYTES = 33
ARRAY_POSTING_BYTES = 16
POSITION_BYTES = 4
TERM_BYTES = 120
# Postings per pickled piece of a run: a merge holds one piece of each run it reads, ~60 bytes
# a posting once loaded (its docnum, weight and positions), so ~30 kB a run.
RUN_PIECE_POSTINGS = 512
# Runs merged at once at the end; past it, the oldest runs are first merged into one run
# (open files and memory stay bounded however large a build grows).
MAX_OPEN_RUNS = 128
_POSITIONS = formats.Positions()

# A term's values: one per posting as Whoosh gives them (bytes or None), none at all (a field
# without values), or positions held flat.
Values = list[Any] | None | FlatPositions
# One term's postings: field name, term bytes, docnums, weights, values.
TermPostings = tuple[str, bytes, "array[int]", "array[float]", Values]
# The same with its run's number after the term: runs merged by (field, term, run).
_RunTerm = tuple[str, bytes, int, "array[int]", "array[float]", Values]


class Kind(Enum):
    """How a field's postings are held, fixed by the first one the pool gets."""

    VALUES = "values"  # one value a posting, as Whoosh gives them
    BARE = "bare"  # analysed, without values (spelling words)
    POSITIONS = "positions"  # analysed, with positions (text fields)


def _kind_of(first: bytes | Analyzed) -> Kind:
    """The kind of a field whose first posting (its term, or the field analysed) is `first`."""
    if not isinstance(first, Analyzed):
        return Kind.VALUES
    return Kind.BARE if first.positions is None else Kind.POSITIONS


class _Field:
    """One field's postings in the pool's memory, in the order they were added: each posting's
    term number (its term's place in `numbers`), docnum, weight and value (by `kind`: a list
    of values, nothing, or its count of positions and the positions one after another). Flat
    arrays and at most one list, so the garbage collector has almost nothing to walk (an object
    per term made the writers' collections cost as much as the rest of their work)."""

    __slots__ = ("counts", "docs", "kind", "numbers", "positions", "terms", "values", "weights")

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.numbers: dict[bytes, int] = {}
        self.terms: array[int] = array("I")
        self.docs: array[int] = array("I")
        self.weights: array[float] = array("d")
        self.values: list[Any] = []
        self.counts: array[int] = array("I")
        self.positions: array[int] = array("I")

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
        if self.kind is Kind.VALUES:
            values = list(map(self.values.__getitem__, order))
        counts_by_term = collections.Counter(ranks)
        ends = list(itertools.accumulate(counts_by_term[place] for place in range(len(texts))))
        if self.kind is Kind.POSITIONS:
            flat = _split(FlatPositions(*_gather(order, self.counts, self.positions)), ends)
        start = 0
        for text, end in zip(texts, ends, strict=True):
            held: Values
            if self.kind is Kind.VALUES:
                held = values[start:end]
            elif self.kind is Kind.POSITIONS:
                held = next(flat)
            else:
                held = None
            yield fieldname, text, run, docs[start:end], weights[start:end], held
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
        self.kinds: dict[str, Kind] = {}  # each field's, kept across runs so that they merge
        self.runs: list[str] = []  # run files, oldest first
        self._written = 0  # run files made, for their names
        # Whether every posting came in docnum order (as a writer adds documents; a segment it
        # merges comes term by term): then each term's parts come in order, run after run.
        self.in_order = True
        self._last_docnum = -1

    # A field's postings of a document are held as they come, whole (see `analyzed.Analyzed`);
    # False: one by one, as Whoosh's pool would take them (for the tests that compare).
    takes_whole_fields = True

    def add(self, item: tuple[str, bytes | Analyzed, int, float, Any]) -> None:
        """Add one posting: (field name, term bytes, docnum, weight, value bytes or None); or a
        document's postings of a field, an `Analyzed` in place of the term, `weight` the field's
        boost."""
        fieldname, text, docnum, weight, value = item
        if docnum < self._last_docnum:
            self.in_order = False
        self._last_docnum = docnum
        field = self.fields.get(fieldname)
        if field is None:
            field = self._field(fieldname, text)
        if isinstance(text, Analyzed):
            if self.takes_whole_fields and field.kind is _kind_of(text):
                self._add_whole(field, text, docnum, weight)
            else:  # a field given both ways: its postings one by one, as Whoosh gives them
                for term, _, each, encoded in text.postings:
                    self.add((fieldname, term, docnum, each * weight, encoded))
            return
        numbers = field.numbers
        number = numbers.get(text)
        if number is None:
            number = numbers[text] = len(numbers)
            self.currentsize += TERM_BYTES + len(text)
        field.terms.append(number)
        field.docs.append(docnum)
        field.weights.append(weight)
        if field.kind is Kind.VALUES:
            field.values.append(value)
            self.currentsize += POSTING_BYTES + (VALUE_BYTES + len(value) if value else 0)
        elif field.kind is Kind.POSITIONS:
            if not value:
                raise ValueError(f"a posting of {fieldname!r} without positions")
            where = _POSITIONS.decode_positions(value)
            field.counts.append(len(where))
            field.positions.extend(where)
            self.currentsize += ARRAY_POSTING_BYTES + POSITION_BYTES * (len(where) + 1)
        elif value:
            raise ValueError(f"a posting of {fieldname!r} with a value")
        else:
            self.currentsize += ARRAY_POSTING_BYTES
        if self.currentsize > self.limit:
            self.save()

    def _field(self, fieldname: str, text: bytes | Analyzed) -> _Field:
        """A field's postings in memory, of the kind its first posting in this pool decided."""
        kind = self.kinds.get(fieldname)
        if kind is None:
            kind = self.kinds[fieldname] = _kind_of(text)
            self.fieldnames.add(fieldname)
        field = self.fields[fieldname] = _Field(kind)
        return field

    def _add_whole(self, field: _Field, analyzed: Analyzed, docnum: int, boost: float) -> None:
        """A document's postings of one field (distinct terms), each weight times `boost` as
        Whoosh's writer multiplies it; in comprehensions and array copies, not a call per
        posting."""
        texts = analyzed.terms
        numbers = field.numbers
        size = 0
        for text in dict.fromkeys([text for text in texts if text not in numbers]):
            numbers[text] = len(numbers)
            size += TERM_BYTES + len(text)
        field.terms.extend([numbers[text] for text in texts])
        field.docs.extend(itertools.repeat(docnum, len(texts)))
        weight = analyzed.boost * boost
        field.weights.extend([count * weight for count in analyzed.frequencies])
        size += ARRAY_POSTING_BYTES * len(texts)
        if analyzed.positions is not None:
            field.counts.extend(analyzed.frequencies)
            field.positions.extend(analyzed.positions)
            size += POSITION_BYTES * (len(texts) + len(analyzed.positions))
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
                        _loaded(values),
                    )
        self.tempstore.delete_file(path)

    def _merge(self, sources: list[Iterator[_RunTerm]]) -> Iterator[TermPostings]:
        """Runs merged by field and term. Postings added in docnum order: a term's parts passed
        on one after another, oldest first, as they are read (a common word's postings are
        never held whole: at 200k pages one term's positions were ~40 MB a writer, twice over
        while joined); otherwise a term's parts joined and sorted by docnum."""
        merged = heapq.merge(*sources)
        if self.in_order:
            yield from _without_run(merged)
            return
        for (fieldname, text), group in itertools.groupby(merged, _KEY):
            parts = list(group)
            if len(parts) == 1:
                yield fieldname, text, *parts[0][3:]
                continue
            docs, weights = array("I"), array("d")
            ordered = True
            for _, _, _, part_docs, part_weights, _ in parts:
                if docs and part_docs and part_docs[0] <= docs[-1]:
                    ordered = False
                docs.extend(part_docs)
                weights.extend(part_weights)
            values = _joined([part[5] for part in parts])
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
            held = _as_whoosh(values, len(docs))
            for docnum, weight, value in zip(docs, weights, held, strict=True):
                yield fieldname, text, docnum, weight, value


def _as_whoosh(values: Values, count: int) -> list[Any]:
    """A term's `count` values as Whoosh's pool gives them: bytes (b"" for none) or None."""
    if type(values) is FlatPositions:
        return list(values.encoded())
    return [b""] * count if values is None else values  # type: ignore[return-value]


_KEY = itemgetter(0, 1)


def _without_run(terms: Iterable[_RunTerm]) -> Iterator[TermPostings]:
    for fieldname, text, _, docs, weights, values in terms:
        yield fieldname, text, docs, weights, values


def _sorted(
    docs: array[int], weights: array[float], values: Values
) -> tuple[array[int], array[float], Values]:
    """A term's postings by docnum (Whoosh's order), those of one docnum by weight and value."""
    held = _as_whoosh(values, len(docs))
    order = sorted(range(len(docs)), key=lambda i: (docs[i], weights[i], held[i] or b""))
    sorted_values: Values
    if type(values) is FlatPositions:
        sorted_values = FlatPositions(*_gather(order, values.counts, values.positions))
    else:
        sorted_values = None if values is None else [values[i] for i in order]
    return (
        array("I", map(docs.__getitem__, order)),
        array("d", map(weights.__getitem__, order)),
        sorted_values,
    )


def _gather(
    order: Sequence[int], counts: array[int], positions: array[int]
) -> tuple[array[int], array[int]]:
    """Postings' counts of positions and their positions (one after another), in `order` (each
    posting's place in `counts`)."""
    starts = [0, *itertools.accumulate(counts)]
    ends = starts[1:]
    spans = map(slice, map(starts.__getitem__, order), map(ends.__getitem__, order))
    return (
        array("I", map(counts.__getitem__, order)),
        array("I", itertools.chain.from_iterable(map(positions.__getitem__, spans))),
    )


def _joined(parts: list[Values]) -> Values:
    """A term's values from several runs, oldest first, as one."""
    first = parts[0]
    if first is None:
        return None
    if type(first) is FlatPositions:
        counts, positions = array("I"), array("I")
        for part in parts:
            counts.extend(part.counts)  # type: ignore[union-attr]
            positions.extend(part.positions)  # type: ignore[union-attr]
        return FlatPositions(counts, positions)
    return list(itertools.chain.from_iterable(parts))  # type: ignore[arg-type]


def _write_pieces(f: IO[bytes], terms: Iterable[TermPostings]) -> None:
    """Pickle terms in pieces of about `RUN_PIECE_POSTINGS` postings each, a term of more in
    parts of that many (a merge then holds a part of each run, not a whole term)."""
    piece: list[tuple[str, bytes, bytes, bytes, Any]] = []
    size = 0
    for fieldname, text, term_docs, term_weights, term_values in terms:
        for docs, weights, values in _parts(term_docs, term_weights, term_values):
            held: Any = values
            if type(values) is FlatPositions:
                held = (values.counts.tobytes(), values.positions.tobytes())
            piece.append((fieldname, text, docs.tobytes(), weights.tobytes(), held))
            size += len(docs) + 3  # a term's own objects weigh about as much as 3 postings
            if size >= RUN_PIECE_POSTINGS:
                pickle.dump(piece, f, PROTOCOL)
                piece, size = [], 0
    if piece:
        pickle.dump(piece, f, PROTOCOL)


def _parts(
    docs: array[int], weights: array[float], values: Values
) -> Iterator[tuple[array[int], array[float], Values]]:
    """A term's postings in parts of at most `RUN_PIECE_POSTINGS`, in order."""
    if len(docs) <= RUN_PIECE_POSTINGS:
        yield docs, weights, values
        return
    starts = range(0, len(docs), RUN_PIECE_POSTINGS)
    flat = None
    if isinstance(values, FlatPositions):
        flat = _split(values, [start + RUN_PIECE_POSTINGS for start in starts])
    for start in starts:
        end = start + RUN_PIECE_POSTINGS
        part: Values = None
        if flat is not None:
            part = next(flat)
        elif isinstance(values, list):
            part = values[start:end]
        yield docs[start:end], weights[start:end], part


def _split(values: FlatPositions, ends: Iterable[int]) -> Iterator[FlatPositions]:
    """Postings' positions cut into consecutive parts, the postings up to each of `ends`."""
    start = at = 0
    for end in ends:
        counts = values.counts[start:end]
        after = at + sum(counts)
        yield FlatPositions(counts, values.positions[at:after])
        start, at = end, after


def _loaded(values: Any) -> Values:
    """A term's values as `_write_pieces` wrote them."""
    if type(values) is tuple:
        return FlatPositions(_frombytes("I", values[0]), _frombytes("I", values[1]))
    return values  # type: ignore[no-any-return]


def _frombytes(typecode: str, data: bytes) -> array[Any]:
    numbers = array(typecode)
    numbers.frombytes(data)
    return numbers
