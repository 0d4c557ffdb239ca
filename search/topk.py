"""Exact ranking of every document a query matches, word queries one posting list at a time.

Whoosh scores one document at a time through a tree of matcher objects: several Python calls per
posting per field, so a query of common words over 10k pages spends most of its time there. The
queries people type parse to an OR of words (`FieldsTerm`), single-field terms (the title bonus)
and a few phrases. The words are scored here, each posting list read once into a dict with the
same formulas as the matchers; every other clause (phrases, prefixes, NOT, ranges) is scored by
its own Whoosh matcher. An OR's score is the sum of its clauses', so the scores and the ranking
are Whoosh's, and the number of matches comes free.
"""

from __future__ import annotations

import heapq
import itertools
import pickle
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

from whoosh import formats
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader, _lenfield
from whoosh.reading import IndexReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

from .bm25f import K1, B, FieldsTerm, avg_field_length, idf
from .schema import ALL_TEXT_FIELDS

# BM25's length normalisation of each document, (1 - B) + B * length / average, per segment
# reader and field, with the average it was computed for (a reader outlives a searcher, and
# the average changes with the index). One list lookup per posting on a warm query.
_NORMS: weakref.WeakKeyDictionary[IndexReader, dict[str, tuple[float, list[float]]]] = (
    weakref.WeakKeyDictionary()
)
# A length byte as Whoosh decodes it (0: no length, the field is empty).
_BYTE_LENGTHS = [0] + [byte_to_length(n) for n in range(1, 256)]


def _clauses(q: wq.Query, factor: float = 1.0) -> list[tuple[wq.Query, float]]:
    """The clauses whose scores `q` sums, each with the factor it is scaled by (the boosts of
    the ORs above it)."""
    if type(q) is not wq.Or or q.scale or not q.subqueries:
        return [(q, factor)]
    if len(q.subqueries) > 1:  # Whoosh applies an OR's boost only when it has several children
        factor *= q.boost
    return [clause for sub in q.subqueries for clause in _clauses(sub, factor)]


def _is_word(q: wq.Query) -> bool:
    """A word over fields, or a term of one text field: scored from its posting lists."""
    if isinstance(q, FieldsTerm):
        return all(type(t) is wq.Term and t.fieldname in ALL_TEXT_FIELDS for t in q.subqueries)
    return type(q) is wq.Term and q.fieldname in ALL_TEXT_FIELDS and not q.minquality


def _is_phrase(q: wq.Query) -> bool:
    """Words in a row in one text field (no slop, no repeated word): scored from postings.
    (`char_ranges`, which the parser sets, only serve highlighting.)"""
    return (
        type(q) is wq.Phrase
        and q.fieldname in ALL_TEXT_FIELDS
        and q.slop == 1
        and len(q.words) >= 2
        and len(set(q.words)) == len(q.words)
    )


def score_all(searcher: Searcher, q: wq.Query) -> dict[int, float]:
    """The score of every document `q` matches, by index-wide docnum."""
    clauses = _clauses(q)
    context = searcher.context(needs_current=True, top_query=q)
    scores: dict[int, float] = {}
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        for clause, factor in clauses:
            if _is_phrase(clause):
                _add_phrase(searcher, reader, offset, clause, factor, scores)
                continue
            if not _is_word(clause):
                matcher = clause.matcher(leaf, context)
                while matcher.is_active():
                    key = matcher.id() + offset
                    scores[key] = scores.get(key, 0.0) + matcher.score() * factor
                    matcher.next()
                continue
            # As the matchers do: a word's fields are those this segment has it in.
            terms = clause.subqueries if isinstance(clause, FieldsTerm) else [clause]
            terms = [t for t in terms if (t.fieldname, t.text) in reader]
            if not terms:
                continue
            weight = idf(searcher, (t.fieldname for t in terms), terms[0].text)
            weight *= (K1 + 1) * clause.boost * factor
            frequencies: dict[int, float] = {}
            for term in terms:
                # A FieldsTerm weighs each field by its term's boost; a lone Term's boost
                # scales its score (in `weight`), not its frequency.
                boost = term.boost if isinstance(clause, FieldsTerm) else 1.0
                frequencies = _sum(frequencies, _frequencies(searcher, reader, term, boost))
            saturated = {
                docnum + offset: weight * frequency / (K1 + frequency)
                for docnum, frequency in frequencies.items()
            }
            scores = _sum(scores, saturated)
    return scores


def _sum(first: dict[int, float], second: dict[int, float]) -> dict[int, float]:
    """Both dicts added key by key, into the larger one, which is returned (changed): the work
    is the size of the smaller, and a + b is the same float whichever is which."""
    larger, smaller = (first, second) if len(first) >= len(second) else (second, first)
    get = larger.get
    for key, value in smaller.items():
        larger[key] = get(key, 0.0) + value
    return larger


def _frequencies(
    searcher: Searcher, reader: IndexReader, term: wq.Term, scale: float
) -> dict[int, float]:
    """`scale` times the term's length-normalised frequency, tf / ((1 - B) + B * dl / avgdl), in
    each document of the segment `reader` that contains it."""
    norms = _norms(searcher, reader, term.fieldname)
    return {
        docnum: scale * weight / norms[docnum]
        for docnums, weights in _blocks(reader.postings(term.fieldname, term.text))
        for docnum, weight in zip(docnums, weights, strict=True)
    }


def _add_phrase(
    searcher: Searcher,
    reader: IndexReader,
    offset: int,
    phrase: wq.Phrase,
    factor: float,
    scores: dict[int, float],
) -> None:
    """Score the documents of the segment `reader` that have the phrase's words in a row, as
    Whoosh's phrase matcher does: the sum of each word's BM25 in the field, times the boost."""
    fieldname, words = phrase.fieldname, phrase.words
    if any((fieldname, word) not in reader for word in words):
        return
    postings: list[dict[int, tuple[float, bytes]]] = []
    for word in words:
        found: dict[int, tuple[float, bytes]] = {}
        for docnums, weights, values in _blocks(reader.postings(fieldname, word), values=True):
            found.update(zip(docnums, zip(weights, values, strict=True), strict=True))
        postings.append(found)
    candidates = set(postings[0])
    for found in postings[1:]:
        candidates &= found.keys()
    if not candidates:
        return
    decode = _position_decoder(searcher.schema[fieldname].format)
    norms = _norms(searcher, reader, fieldname)
    weights = [idf(searcher, (fieldname,), word) * (K1 + 1) for word in words]
    scale = phrase.boost * factor
    for docnum in sorted(candidates):
        starts = set(decode(postings[0][docnum][1]))
        for shift, found in enumerate(postings[1:], start=1):
            starts &= {position - shift for position in decode(found[docnum][1])}
            if not starts:
                break
        if not starts:
            continue
        norm = K1 * norms[docnum]
        score = sum(
            weight * found[docnum][0] / (found[docnum][0] + norm)
            for weight, found in zip(weights, postings, strict=True)
        )
        key = docnum + offset
        scores[key] = scores.get(key, 0.0) + score * scale


def _position_decoder(format: formats.Format) -> Callable[[bytes], Iterable[int]]:
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


def _blocks(matcher: Any, values: bool = False) -> Iterator[tuple[Iterable[Any], ...]]:
    """A posting list as (docnums, weights[, encoded values]) blocks. Whoosh's own format is read
    a block at a time (its decoded arrays, pinned to whoosh-reloaded 2.7 and checked against the
    matcher path by the tests); any other matcher, e.g. one that hides deleted documents, one
    posting at a time."""
    if type(matcher) is W3LeafMatcher:
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            ids = itertools.accumulate(matcher._data[0])  # Whoosh stores deltas
            matcher._read_weights()
            if values:
                matcher._read_values()
                yield ids, matcher._weights, matcher._values
            else:
                yield ids, matcher._weights
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


def _norms(searcher: Searcher, reader: IndexReader, fieldname: str) -> list[float]:
    """(1 - B) + B * length / average field length, per document of the segment `reader`."""
    average = avg_field_length(searcher, fieldname) or 1
    per_field = _NORMS.setdefault(reader, {})
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


def top(
    scores: dict[int, float], count: int, allowed: Collection[int] | None = None
) -> list[tuple[int, float]]:
    """The `count` best (docnum, score) pairs, best first; ties go to the earlier document, as
    in Whoosh. `allowed` keeps only those documents (a filter)."""
    items: Iterable[tuple[int, float]] = scores.items()
    values: Iterable[float] = scores.values()
    if allowed is not None:
        items = [(docnum, score) for docnum, score in items if docnum in allowed]
        values = [score for _, score in items]
    if count <= 0:
        return []
    # The count-th best score, compared as plain floats; then only pages at or above it sorted.
    best = heapq.nlargest(count, values)
    if not best:
        return []
    kept = itertools.compress(items, map(best[-1].__le__, values))
    return sorted(kept, key=lambda item: (-item[1], item[0]))[:count]
