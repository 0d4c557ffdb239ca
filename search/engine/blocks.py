"""Posting blocks with their positions apart: what a word query reads without what only a
phrase needs.

Whoosh 2.7 pickles each block of 128 postings as one tuple, (docnum deltas, weights, encoded
positions), and compresses it whole, so scoring a word decompresses and unpickles every posting's
positions too: two thirds of a body block's bytes and most of a word query's read time. Here a
block is its docnum deltas and weights as small arrays, uncompressed, then its values on their
own: for a `Positions` field, each posting's count of positions and the positions of all, flat,
as two arrays of the narrowest type (no larger than a compressed pickle of them, and read
without a decompression, an unpickling or an object per position: a phrase's count reads them
as arrays). They are unpacked only when asked for: by a phrase (`flat`), or by a Whoosh matcher's
`value()` (re-encoded as Whoosh encodes them). The block's info tuple marks the layout (`SPLIT`
where Whoosh writes its compression level), so a block written by Whoosh still reads.

The postings reach the block writer through the field writer's loop, replaced here too
(`_add_postings`): the same calls, without per-posting type checks, each document's field length
read once per field instead of once per posting; from the writers' term pool (`termpool`), a
term's postings come as arrays and go into the block a block's worth at a time.
"""

from __future__ import annotations

import io
import itertools
import operator
import pickle
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from whoosh import formats
from whoosh.codec import base, whoosh3
from whoosh.system import _INT_SIZE, unpack_int
from whoosh.util.numeric import length_to_byte

PROTOCOL = 4  # pickles readable by every Python 3 since 3.4 (codec uses it for the rest)
# The info tuple's compression field of a block in this layout (Whoosh writes 0-9 there).
SPLIT = -1
# A split block's data: the docnum deltas' and the weights' array types, what its values hold
# and their compression level (one byte each), the two arrays (little-endian), then the values.
_HEAD = struct.Struct("<BBBB")
# Values as Whoosh encodes them (pickled, compressed at Whoosh's level), or (a `Positions`
# field's) flat: the array types of the counts and of the positions (a byte each), then both
# arrays (little-endian), uncompressed.
_ENCODED, POSITIONS = ord("E"), ord("A")
_FLAT_HEAD = struct.Struct("<BB")
_POSITIONS_FORMAT = formats.Positions()
_INTEGERS = (("B", 1 << 8), ("H", 1 << 16), ("I", 1 << 32))  # the narrowest that holds a block
_NO_WEIGHTS, _ONE_WEIGHT = ord("N"), ord("F")  # every weight 1.0; every weight the same float
_SIZES = {ord(typecode): array(typecode).itemsize for typecode in "BHId"}
_WHOLE = {ord(typecode) for typecode, _ in _INTEGERS}
_SHARED = {_NO_WEIGHTS: 0, _ONE_WEIGHT: 8}  # the bytes of a block's weights held once for all
_SWAP = sys.byteorder == "big"

_whoosh_write_block = whoosh3.W3PostingsWriter._write_block
_whoosh_read_data = whoosh3.W3LeafMatcher._read_data
_whoosh_read_values = whoosh3.W3LeafMatcher._read_values


class FlatPositions(NamedTuple):
    """A term's postings' positions held flat, as the writers' term pool keeps them: each
    posting's count of positions, and the positions of all, one posting's after another."""

    counts: array[int]
    positions: array[int]

    def each(self) -> Iterator[tuple[int, ...]]:
        """Each posting's positions, a tuple a posting."""
        starts = itertools.accumulate(self.counts, initial=0)
        ends = itertools.accumulate(self.counts)
        return map(tuple, map(self.positions.__getitem__, map(slice, starts, ends)))

    def encoded(self) -> Iterator[bytes]:
        """Each posting's positions as Whoosh encodes them (a count, then a pickle of deltas)."""
        return map(_POSITIONS_FORMAT.encode, self.each())


class DamagedBlock(Exception):
    """A split block whose header does not describe its bytes: the postings file is damaged."""


class PackedValues:
    """A block's values as written, decoded when first asked for."""

    __slots__ = ("count", "data", "kind", "level", "start")

    def __init__(
        self, data: bytes | memoryview, start: int, kind: int, level: int, count: int
    ) -> None:
        self.data, self.start, self.kind, self.level, self.count = data, start, kind, level, count

    def flat(self) -> FlatPositions | None:
        """Each posting's count of positions and the positions of all (arrays read from the
        block's bytes); None if the block holds other values."""
        if self.kind != POSITIONS:
            return None
        view = memoryview(self.data)[self.start :]
        count_code, position_code = _FLAT_HEAD.unpack_from(view)
        if count_code not in _WHOLE or position_code not in _WHOLE:
            raise DamagedBlock(f"positions of unknown layout {bytes(view[:2])!r}")
        end = _FLAT_HEAD.size + self.count * _SIZES[count_code]
        if end > len(view) or (len(view) - end) % _SIZES[position_code]:
            raise DamagedBlock(f"a block of {self.count} postings with {len(view)} bytes of them")
        counts = _array(count_code, view[_FLAT_HEAD.size : end])
        positions = _array(position_code, view[end:])
        if sum(counts) != len(positions):
            raise DamagedBlock(f"a block of {self.count} postings with {len(view)} bytes of them")
        return FlatPositions(counts, positions)

    def unpack(self) -> Any:
        """The values as Whoosh's block tuple holds them (a tuple of bytes, one per posting)."""
        flat = self.flat()
        if flat is not None:
            return tuple(flat.encoded())
        raw = memoryview(self.data)[self.start :]
        return pickle.loads(zlib.decompress(raw) if self.level else raw)


def _decoded(values: tuple[bytes, ...]) -> tuple[tuple[int, ...], ...]:
    """Whoosh's encoded positions (a count, then a pickle of the deltas, its final STOP opcode
    sometimes dropped), each posting's decoded."""
    return tuple(
        tuple(
            itertools.accumulate(
                pickle.loads(v[_INT_SIZE:] if v[-1:] == b"." else v[_INT_SIZE:] + b".")
            )
        )
        for v in values
    )


def _integers(numbers: Sequence[float]) -> array[int] | None:
    """Whole non-negative numbers in the narrowest array that holds them; None if one is not."""
    try:
        whole = list(map(int, numbers))
    except (OverflowError, ValueError):  # infinity, NaN
        return None
    return _narrowest(whole) if whole == list(numbers) else None


def _deltas(ids: Sequence[int]) -> array[int] | None:
    """A block's docnums as the differences Whoosh writes (`_mini_ids`), computed in C, in the
    narrowest array; None if they are not ascending."""
    return _narrowest(list(map(operator.sub, ids, itertools.chain((0,), ids))))


def _narrowest(whole: list[int]) -> array[int] | None:
    """Whole numbers in the narrowest array that holds them; None if one is negative or too
    large."""
    if min(whole, default=0) < 0:
        return None
    highest = max(whole, default=0)
    for typecode, limit in _INTEGERS:
        if highest < limit:
            return array(typecode, whole)
    return None


def _bytes(numbers: array[Any]) -> bytes:
    if _SWAP:
        numbers = array(numbers.typecode, numbers)
        numbers.byteswap()
    return numbers.tobytes()


def _array(typecode: int, data: memoryview) -> array[Any]:
    numbers = array(chr(typecode))
    numbers.frombytes(data)
    if _SWAP:
        numbers.byteswap()
    return numbers


def _write_block(self: Any, last: bool = False) -> None:
    """`W3PostingsWriter._write_block` in the split layout: the same header, block statistics
    and info tuple (compression: `SPLIT`), then the arrays and the positions. Term vectors'
    blocks (ids that are words), docnums past 32 bits and positions that cannot be held flat
    are left to Whoosh."""
    ids = None if self._byteids else _deltas(self._ids)
    positions = ids is not None and type(self._format) is formats.Positions and bool(self._values)
    flat = _flat_bytes(tuple(self._values), len(self._ids)) if positions else None
    if ids is None or (positions and flat is None):
        if self._values and type(self._values[0]) is tuple:  # from `FlatPositions`
            self._values = list(map(_POSITIONS_FORMAT.encode, self._values))
        _whoosh_write_block(self, last)
        return
    if not self._blockcount:
        self._postfile.write(whoosh3.WHOOSH3_HEADER_MAGIC)
    self._terminfo.add_block(self)
    weights = self._mini_weights()  # None, one float, or a tuple of floats (term frequencies)
    if weights is None:
        weight_code, weight_bytes = _NO_WEIGHTS, b""
    elif type(weights) is float:
        weight_code, weight_bytes = _ONE_WEIGHT, _bytes(array("d", [weights]))
    else:
        packed = _integers(weights) or array("d", weights)
        weight_code, weight_bytes = ord(packed.typecode), _bytes(packed)
    if flat is not None:
        kind, level, tail = POSITIONS, 0, flat
    else:
        values = self._mini_values()  # None, bytes of fixed-size values, or a tuple of bytes
        kind, level = _ENCODED, self._compression if values is not None else 0
        tail = pickle.dumps(values, PROTOCOL)
        tail = zlib.compress(tail, level) if level else tail
    data = b"".join(
        (_HEAD.pack(ord(ids.typecode), weight_code, kind, level), _bytes(ids), weight_bytes, tail)
    )
    info = pickle.dumps(
        (
            len(self._ids),
            self._ids[-1],
            self._maxweight,
            SPLIT,
            length_to_byte(self._minlength),
            length_to_byte(self._maxlength),
        ),
        PROTOCOL,
    )
    length = len(info) + len(data)
    self._postfile.write_int(-length if last else length)
    self._postfile.write(info)
    self._postfile.write(data)
    self._blockcount += 1
    self._new_block()


def _flat_bytes(values: tuple[Any, ...], postings: int) -> bytes | None:
    """A block's positions (tuples from `FlatPositions`, or as Whoosh encodes them) in the flat
    layout; None unless there is one a posting, each within 32 bits (Whoosh's layout holds any)."""
    if len(values) != postings:
        return None
    if values and type(values[0]) is not tuple:
        values = _decoded(values)
    counts = _narrowest(list(map(len, values)))
    flat = _narrowest(list(itertools.chain.from_iterable(values)))
    if counts is None or flat is None:
        return None
    head = _FLAT_HEAD.pack(ord(counts.typecode), ord(flat.typecode))
    return b"".join((head, _bytes(counts), _bytes(flat)))


def _read_data(self: Any) -> None:
    """`W3LeafMatcher._read_data` for both layouts: a split block's docnum deltas and weights,
    its values left packed."""
    if self._compression != SPLIT:
        _whoosh_read_data(self)
        return
    data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
    self._data = _split_block(data, self._blocklength)


def _split_block(data: bytes | memoryview, count: int) -> tuple[Any, Any, PackedValues]:
    """A split block's data (`count` postings): its docnum deltas, its weights as Whoosh's block
    tuple holds them (an array, one float for all, or None for 1.0), its values packed."""
    view = memoryview(data)
    id_code, weight_code, kind, level = _HEAD.unpack_from(view)
    if (
        count < 0
        or id_code not in _SIZES
        or (weight_code not in _SIZES and weight_code not in _SHARED)
    ):
        raise DamagedBlock(f"a posting block of unknown layout {bytes(view[: _HEAD.size])!r}")
    weight_size = _SHARED[weight_code] if weight_code in _SHARED else count * _SIZES[weight_code]
    end = _HEAD.size + count * _SIZES[id_code]
    if end + weight_size > len(view):
        raise DamagedBlock(f"a posting block of {len(view)} bytes holds {count} postings")
    ids = _array(id_code, view[_HEAD.size : end])
    weights: Any
    if weight_code == _NO_WEIGHTS:
        weights = None
    elif weight_code == _ONE_WEIGHT:
        weights = _array(ord("d"), view[end : end + 8])[0]
    else:
        weights = _array(weight_code, view[end : end + weight_size])
    return ids, weights, PackedValues(data, end + weight_size, kind, level, count)


def block_frames(matcher: Any) -> Iterator[tuple[int, tuple[Any, ...], memoryview]]:
    """Each block of the posting list of Whoosh's block matcher `matcher`, from one read of the
    list's bytes (the matcher reads, seeks and unpickles each block's header on its own): its
    place in the postings file, its info tuple (postings, last docnum, highest weight,
    compression, ...) and its data."""
    base, size = matcher._baseoffset, matcher._length
    if type(size) is tuple:  # as read back from a term info (Whoosh unpacks it so)
        (size,) = size
    data = matcher._postfile.get(base, matcher._startoffset + size - base)
    view, stream = memoryview(data), io.BytesIO(data)
    at = 0
    while True:  # each block: its length (negative for the last), its info tuple, its data
        (length,) = unpack_int(data[at : at + _INT_SIZE])
        stream.seek(at + _INT_SIZE)
        info = pickle.load(stream)
        end = at + _INT_SIZE + abs(length)
        yield base + at, info, view[stream.tell() : end]
        if length < 0:
            return
        at = end


def read_split_blocks(matcher: Any) -> list[tuple[Any, Any, PackedValues]] | None:
    """Every block of the posting list of Whoosh's block matcher `matcher` as `_split_block`
    gives it (`block_frames`); None if a block is in Whoosh's own layout."""
    found = []
    for _, (count, _, _, compression, _, _), data in block_frames(matcher):
        if compression != SPLIT:
            return None
        found.append(_split_block(data, count))
    return found


def _read_values(self: Any) -> None:
    """`W3LeafMatcher._read_values`, the values unpacked first if they are still packed."""
    if self._data is None:
        self._read_data()
    ids, weights, values = self._data
    if type(values) is PackedValues:
        self._data = (ids, weights, values.unpack())
    _whoosh_read_values(self)


class _Lengths(dict[int, int]):
    """One field's length per document, each read from the segment's length column once."""

    def __init__(self, lengths: Any, fieldname: str) -> None:
        super().__init__()
        self.lengths, self.fieldname = lengths, fieldname

    def __missing__(self, docnum: int) -> int:
        length: int = self.lengths.doc_field_length(docnum, self.fieldname) if self.lengths else 0
        self[docnum] = length
        return length


def _add_postings(self: Any, schema: Any, lengths: Any, items: Iterable[Any]) -> None:
    """`FieldWriter.add_postings` for Whoosh's field writer: the same calls in the same order,
    without its per-posting calls through `add` and type checks, and with each document's field
    length read once per field (Whoosh seeks and reads the length column once per posting: a
    third of a segment's write time). Postings given by term (`termpool`) are added a block's
    worth at a time."""
    terms = getattr(items, "terms", None)
    if terms is not None:
        _add_terms(self, schema, lengths, terms())
        return
    lastfn: str | None = None
    lasttext: bytes | None = None
    table: _Lengths = _Lengths(None, "")
    add: Any = None
    for fieldname, btext, docnum, weight, value in items:
        if fieldname != lastfn:
            if lastfn is not None and fieldname < lastfn:
                raise base.OutOfOrderError(f"Field {lastfn!r} .. {fieldname!r}")
            if lasttext is not None:
                self.finish_term()
            if lastfn is not None:
                self.finish_field()
            self.start_field(fieldname, schema[fieldname])
            lastfn, lasttext, table = fieldname, None, _Lengths(lengths, fieldname)
        if docnum == -1:  # Whoosh's marker of a word for its spelling graph (not used here)
            continue
        if btext != lasttext:
            if lasttext is not None:
                if btext < lasttext:
                    raise base.OutOfOrderError(f"Term {fieldname}:{lasttext!r} .. {btext!r}")
                self.finish_term()
            self.start_term(btext)
            lasttext, add = btext, self._postwriter.add_posting
        add(docnum, weight, value or b"", table[docnum])
    if lasttext is not None:
        self.finish_term()


def _add_terms(self: Any, schema: Any, lengths: Any, terms: Iterable[Any]) -> None:
    """`_add_postings` for postings given term by term in order: (field name, term bytes,
    docnums, weights, values), a term's postings in one part or in consecutive parts."""
    lastfn: str | None = None
    lasttext: bytes | None = None
    table: _Lengths = _Lengths(None, "")
    for fieldname, btext, docs, weights, values in terms:
        if fieldname != lastfn:
            if lasttext is not None:
                self.finish_term()
            if lastfn is not None:
                self.finish_field()
            self.start_field(fieldname, schema[fieldname])
            lastfn, lasttext, table = fieldname, None, _Lengths(lengths, fieldname)
        if btext != lasttext:
            if lasttext is not None:
                self.finish_term()
            self.start_term(btext)
            lasttext = btext
        _add_term_postings(self._postwriter, docs, weights, values, table)
    if lasttext is not None:
        self.finish_term()


def _add_term_postings(
    writer: Any,
    docs: array[int],
    weights: array[float],
    values: list[Any] | FlatPositions | None,
    table: _Lengths,
) -> None:
    """What `_add_posting` does for each of a term's postings, a block's worth at a time: the
    same blocks, statistics and values (from `termpool`: a list of values as Whoosh gives them,
    positions held flat, or none)."""
    count, start, limit = len(docs), 0, writer._blocklimit
    each: Iterator[Any] | None = None
    if type(values) is FlatPositions:  # for Whoosh's own block writer, as it encodes them
        each = values.each() if type(writer)._write_block is _write_block else values.encoded()
    while start < count:
        room = limit - len(writer._ids)
        if room <= 0:
            writer._write_block()
            room = limit - len(writer._ids)
        end = min(count, start + room)
        ids = docs[start:end]
        writer._ids.extend(ids)
        some = weights[start:end]
        writer._weights.fromlist(some.tolist())
        top = max(some)
        if top > writer._maxweight:
            writer._maxweight = top
        if each is not None:
            writer._values.extend(itertools.islice(each, end - start))
        elif values is not None:
            kept = values[start:end]  # type: ignore[index]
            if None in kept or b"" in kept:
                kept = [value for value in kept if value]
            writer._values.extend(kept)
        known = list(filter(None, map(table.__getitem__, ids)))
        if known:
            low, high = min(known), max(known)
            if writer._minlength is None or low < writer._minlength:
                writer._minlength = low
            if high > writer._maxlength:
                writer._maxlength = high
        start = end


def _add_posting(self: Any, id_: Any, weight: float, vbytes: bytes, length: int = 0) -> None:
    """`W3PostingsWriter.add_posting` without its type checks, done for every posting: they
    come from the fields' own `index` through the sort pool, or from a segment being merged."""
    if len(self._ids) >= self._blocklimit:
        self._write_block()
    self._ids.append(id_)
    self._weights.append(weight)
    if weight > self._maxweight:
        self._maxweight = weight
    if vbytes:
        self._values.append(vbytes)
    if length:
        if self._minlength is None or length < self._minlength:
            self._minlength = length
        if length > self._maxlength:
            self._maxlength = length


class SplitPostingsWriter(whoosh3.W3PostingsWriter):  # type: ignore[misc]
    """Whoosh 3's posting writer, writing blocks in the split layout, without per-posting type
    checks."""

    _write_block = _write_block
    add_posting = _add_posting


class SplitFieldWriter(whoosh3.W3FieldWriter):  # type: ignore[misc]
    """Whoosh 3's field writer, adding postings as `_add_postings` does."""

    add_postings = _add_postings


class SplitLeafMatcher(whoosh3.W3LeafMatcher):  # type: ignore[misc]
    """Whoosh 3's posting reader, reading blocks in either layout."""

    _read_data = _read_data
    _read_values = _read_values
