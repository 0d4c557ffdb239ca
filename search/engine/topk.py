"""Ranking of the documents a query matches: exact scores, and the best few found without
scoring every match.

Whoosh scores one document at a time through a tree of matcher objects: several Python calls per
posting per field, so a query of common words over 10k pages spends most of its time there. The
queries people type parse to an OR of words (`FieldsTerm`), single-field terms (the title bonus)
and a few phrases. The words are scored here, each posting list read once into a dict with the
same formulas as the matchers; every other clause (prefixes, NOT, ranges) is scored by its own
Whoosh matcher. An OR's score is the sum of its clauses', so the scores and the ranking are
Whoosh's, and the number of matches comes free.

`rank` finds the best few without scoring every match (MaxScore, Turtle & Flood 1995, at the
level of fields): the pages a query word is in the title, headings or names of are scored
exactly; every other match has the word only in its body, so its score is at most what the
words' highest body frequencies give. When that bound is below the k-th best score found, the
rest are never scored. A phrase's score is its words' BM25 in the field, so it is known before
its positions are read: candidates are verified best first, as many as the top k needs, and
the total counts them a range of pages at a time (`phrases.in_a_row`).

Past EXACT_TOTAL_UP_TO matches (known from the lists' lengths) the total is a lower bound, so
the body lists, most of a common word's postings, need not be read whole (`_rank_many`): each
candidate gets a rough bound from the words' highest scores, then a tighter one from the
highest frequency of its block of each body list (block headers, Whoosh's block-max) over its
own length, and only the pages whose bound can still reach the top have their body postings
read, a block at a time (block-max MaxScore, Ding & Suel 2011, in its simplest form). When
thousands of candidates tie on their bounds (common words in many titles, a two-letter prefix),
verifying them one by one costs more than scoring every match at once: past DENSE_AFTER
verified candidates, the words' whole posting lists are scored as numpy arrays (`_dense`), in
the same order, so to the same floats.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from .bm25f import K1, B, FieldsTerm, avg_field_length, field_roles, idf, terms_idf
from .phrases import Phrase, Positions, in_a_row, kept_in, lazy_numpy
from .postings import (
    LazyPostings,
    length_norms,
    norm_array,
    posting_arrays,
    read_postings,
)

# The total is counted exactly up to this many matches; past it, only as far as it is free
# (Elasticsearch's `track_total_hits` default): the longest posting list of a word query (whose
# body lists are then not read whole), the phrase matches found when the limit was reached.
EXACT_TOTAL_UP_TO = 10_000

# A bound is raised by this much, so rounding (the same score summed in another order) can never
# make it fall below a score it must not exclude.
BOUND_MARGIN = 1 + 1e-9
# Past EXACT_TOTAL_UP_TO matches, a ranking that has verified this many candidates one at a
# time and is not done scores every match of the words at once, as numpy arrays (`_dense`):
# when thousands of pages tie on their bounds (common words in many titles: `breast canc`),
# one pass over whole posting lists costs less than verifying them page by page. Measured at
# 50k pages, the typed and plain queries of benchmarks/run.py: 256 has the lowest p50 (-20%
# against 512) with no higher p95; 128 raises p95 (lists read whole for too many rankings).
DENSE_AFTER = 256
# ... or has given this many times more candidates tighter bounds (each costs about a quarter of
# a verification: a two-letter prefix's thousands of pages tie on their rough bounds).
REFINED_PER_VERIFIED = 4
# A phrase whose rarest word has more postings than this in a segment is read and scored as
# numpy arrays; fewer, as dicts (a small knowledge base's phrase does not import numpy).
ARRAYS_FROM = 2048


@dataclass
class Ranking:
    """The best documents of a query, best first, and how many it matches."""

    best: list[tuple[int, float]]  # (index-wide docnum, score)
    total: int  # matches (within the filter); a lower bound when not `total_is_exact`
    total_is_exact: bool = True
    matched: set[int] | None = None  # every match, when asked for (`every_match`)
    scored: int = 0  # documents whose score was computed (pruning leaves the others)


def _clauses(q: wq.Query, factor: float = 1.0) -> list[tuple[wq.Query, float]]:
    """The clauses whose scores `q` sums, each with the factor it is scaled by (the boosts of
    the ORs above it)."""
    if type(q) is not wq.Or or q.scale or not q.subqueries:
        return [(q, factor)]
    if len(q.subqueries) > 1:  # Whoosh applies an OR's boost only when it has several children
        factor *= q.boost
    return [clause for sub in q.subqueries for clause in _clauses(sub, factor)]


def _is_word(q: wq.Query, text: Collection[str]) -> bool:
    """A word over fields, or a term of one text field: scored from its posting lists."""
    if isinstance(q, FieldsTerm):
        return all(type(t) is wq.Term and t.fieldname in text for t in q.subqueries)
    return type(q) is wq.Term and q.fieldname in text and not q.minquality


def _is_phrase(q: wq.Query, text: Collection[str]) -> bool:
    """Words in a row in one text field (no slop, no repeated word): scored from postings.
    (`char_ranges`, which the parser sets, only serve highlighting.)"""
    return (
        type(q) is wq.Phrase
        and q.fieldname in text
        and q.slop == 1
        and len(q.words) >= 2
        and len(set(q.words)) == len(q.words)
    )


@dataclass
class _FieldList:
    """One field's postings of a query word in a segment: docnum -> weight (term frequency)."""

    fieldname: str
    long: bool  # a long field (a body: `FieldRoles.long`), whose postings are read last
    scale: float  # the field's weight within the word (1 for a lone Term)
    postings: LazyPostings
    norms: list[float]
    highest: float  # at least the highest `scale * tf / norm` of the list
    top_weight: float  # at least the highest tf of the list
    count: int  # its postings, deleted documents included

    @property
    def weights(self) -> dict[int, float]:
        """docnum -> weight of every posting (all read)."""
        return self.postings.every()

    def frequencies(self, docs: Iterable[int]) -> dict[int, float]:
        """`scale` times the length-normalised frequency, tf / norm, of each of `docs`."""
        weights, norms, scale = self.weights, self.norms, self.scale
        return {docnum: scale * weights[docnum] / norms[docnum] for docnum in docs}


@dataclass
class _Word:
    """A word clause in a segment: its BM25 weight (idf * (K1 + 1) * boosts) and field lists."""

    weight: float
    lists: list[_FieldList]

    def scores(self, docs: Iterable[int] | None = None) -> dict[int, float]:
        """BM25F of each of `docs` (every document with the word when None) that has it."""
        frequencies: dict[int, float] = {}
        for one in self.lists:  # in the fields' order, as Whoosh sums them
            found = one.weights.keys() if docs is None else one.weights.keys() & docs
            frequencies = _sum(frequencies, one.frequencies(found))
        weight = self.weight
        return {docnum: weight * f / (K1 + f) for docnum, f in frequencies.items()}

    def body_bound(self) -> float:
        """The highest score of a document that has the word in no field but the body."""
        body = sum(one.highest for one in self.lists if one.long)
        return self.weight * body / (K1 + body) * BOUND_MARGIN

    def bound(self) -> float:
        """The highest score of any document."""
        every = sum(one.highest for one in self.lists)
        return self.weight * every / (K1 + every) * BOUND_MARGIN

    def score_of(self, docnum: int) -> float | None:
        """The document's score (as `scores` gives it), None if it lacks the word; only the
        blocks of its postings are read."""
        frequency = None
        for one in self.lists:
            weight = one.postings.get(docnum)
            if weight is not None:
                part = one.scale * weight / one.norms[docnum]
                frequency = part if frequency is None else frequency + part
        if frequency is None:
            return None
        return self.weight * frequency / (K1 + frequency)

    def bounds_of(self, docnums: list[int]) -> list[float]:
        """At least each document's score, its body postings not read: the highest frequency
        of its block of each body list (`LazyPostings.highest`) over the document's own body
        length, exact in the other fields. Many pages at a time (often thousands tie on their rough
        bounds), in comprehensions: chains of `map` measured twice as slow on CPython 3.11."""
        frequencies = [0.0] * len(docnums)
        for one in self.lists:
            norms, scale = one.norms, one.scale
            if one.long:
                highest = one.postings.highest(docnums, one.top_weight)
                frequencies = [
                    f + scale * most / norms[d]
                    for f, most, d in zip(frequencies, highest, docnums, strict=True)
                ]
            else:
                get = one.weights.get
                frequencies = [
                    f + scale * get(d, 0.0) / norms[d]
                    for f, d in zip(frequencies, docnums, strict=True)
                ]
        weight = self.weight
        return [weight * f / (K1 + f) for f in frequencies]


@dataclass
class _Segment:
    """What a query found in one segment (local docnums), gathered before ranking."""

    offset: int
    size: int  # documents, deleted ones included
    live: int  # documents not deleted
    words: list[_Word] = field(default_factory=list)
    phrases: list[Phrase] = field(default_factory=list)
    other: dict[int, float] = field(default_factory=dict)  # clauses scored by Whoosh

    def phrases_with(self, docnum: int) -> Iterator[Phrase]:
        """The phrases the document (a local docnum) has all the words of."""
        return (phrase for phrase in self.phrases if docnum in phrase.scores)

    def candidates(self) -> set[int]:
        """The documents a word has outside the body, another clause matches, or have all of a
        phrase's words: few, for the pages with a word in their body only are most."""
        found = set(self.other)
        for word in self.words:
            for one in word.lists:
                if not one.long:
                    found.update(one.weights)
        for phrase in self.phrases:
            found.update(phrase.scores)
        return found

    def rough_bounds(self) -> dict[int, float]:
        """Each candidate's bound, from the words' highest scores alone (cheap for thousands
        of pages): a word's highest where the page has it outside the body, its highest body-
        only score elsewhere; `bounds_of` is tighter, page by page."""
        bodies = [word.body_bound() for word in self.words]
        bounds = dict.fromkeys(self.candidates(), sum(bodies))
        for word, body in zip(self.words, bodies, strict=True):
            outside = [one.weights for one in word.lists if not one.long]
            if outside and (extra := word.bound() - body) > 0:
                for docnum in set().union(*outside):
                    bounds[docnum] += extra
        for scores in [self.other, *(phrase.scores for phrase in self.phrases)]:
            for docnum, score in scores.items():
                bounds[docnum] += score * BOUND_MARGIN
        return bounds

    def score_of(self, docnum: int) -> tuple[bool, float]:
        """Whether the document matches and its exact score (summed in Whoosh's order: other
        clauses, words, phrases), its body postings read a block at a time."""
        score = self.other.get(docnum)
        for word in self.words:
            found = word.score_of(docnum)
            if found is not None:
                score = found if score is None else score + found
        return self.with_phrases(docnum, score is not None, score or 0.0)

    def with_phrases(self, docnum: int, matched: bool, score: float) -> tuple[bool, float]:
        """`matched` and `score` of the document with its phrases' words in a row added."""
        for phrase in self.phrases_with(docnum):
            if phrase.has(docnum):
                score += phrase.scores[docnum]
                matched = True
        return matched, score

    def body_bound(self) -> float:
        """The highest score of a document that has the words in no field but the body."""
        return sum(word.body_bound() for word in self.words)

    def word_scores(self, docnums: Collection[int]) -> dict[int, float]:
        """The words' scores of each of `docnums` that has one (no other clause, no phrase)."""
        scores: dict[int, float] = {}
        for word in self.words:
            scores = _sum(scores, word.scores(docnums))
        return scores

    def bounds_of(self, docnums: list[int]) -> list[float]:
        """At least each document's score (`_Word.bounds_of`, phrases' words taken as in a row)."""
        get = self.other.get
        bounds = [get(d, 0.0) for d in docnums]
        for word in self.words:
            bounds = [b + w for b, w in zip(bounds, word.bounds_of(docnums), strict=True)]
        for phrase in self.phrases:
            get = phrase.scores.get
            bounds = [b + get(d, 0.0) for b, d in zip(bounds, docnums, strict=True)]
        return [b * BOUND_MARGIN for b in bounds]

    def at_least(self) -> int:
        """A lower bound of the documents the query matches here, from the lists' lengths."""
        deleted = self.size - self.live
        lengths = [one.count - deleted for word in self.words for one in word.lists]
        return max(len(self.other), *lengths, 0)

    def exhaustive(self) -> dict[int, float]:
        """Every matching document's exact score, phrases verified (index-wide docnums)."""
        scores = dict(self.other)
        for word in self.words:
            scores = _sum(scores, word.scores())
        for phrase in self.phrases:
            get, phrase_scores = scores.get, phrase.scores
            for found in in_a_row([phrase], sorted(phrase_scores)):
                scores.update({d: get(d, 0.0) + phrase_scores[d] for d in found})
        return {docnum + self.offset: score for docnum, score in scores.items()}


def _gather(searcher: Searcher, q: wq.Query) -> list[_Segment]:
    """Each segment's posting lists of the query's words and phrases, and the scores of its
    other clauses."""
    clauses = _clauses(q)
    roles = field_roles(searcher)
    context = searcher.context(needs_current=True, top_query=q)
    segments = []
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        segment = _Segment(offset, reader.doc_count_all(), reader.doc_count())
        segments.append(segment)
        postings: dict[tuple[str, str], LazyPostings] = {}
        for clause, factor in clauses:
            if _is_phrase(clause, roles.text):
                phrase = _phrase(searcher, reader, clause, factor)
                if phrase is not None:
                    segment.phrases.append(phrase)
            elif _is_word(clause, roles.text):
                word = _word(searcher, reader, clause, factor, postings, roles.long)
                if word is not None:
                    segment.words.append(word)
            else:
                matcher = clause.matcher(leaf, context)
                other = segment.other
                while matcher.is_active():
                    docnum = matcher.id()
                    other[docnum] = other.get(docnum, 0.0) + matcher.score() * factor
                    matcher.next()
    return segments


def _word(
    searcher: Searcher,
    reader: IndexReader,
    clause: wq.Query,
    factor: float,
    postings: dict[tuple[str, str], LazyPostings],
    long: Collection[str],
) -> _Word | None:
    """The word's field lists in the segment `reader`, None if it has none; `postings` holds
    the segment's term postings the query has asked for so far (each is read once); `long`
    the long fields."""
    # As the matchers do: a word's fields are those this segment has it in.
    terms = clause.subqueries if isinstance(clause, FieldsTerm) else [clause]
    terms = [t for t in terms if (t.fieldname, t.text) in reader]
    if not terms:
        return None
    weight = terms_idf(searcher, ((t.fieldname, t.text) for t in terms))
    weight *= (K1 + 1) * clause.boost * factor
    lists = []
    for term in terms:
        # A FieldsTerm weighs each field by its term's boost; a lone Term's boost scales its
        # score (in `weight`), not its frequency.
        scale = term.boost if isinstance(clause, FieldsTerm) else 1.0
        key = (term.fieldname, term.text)
        if key not in postings:  # (a title term is often a clause of its own too)
            postings[key] = LazyPostings(reader, term.fieldname, term.text)
        norms = length_norms(searcher, reader, term.fieldname)
        # The term's highest frequency over its shortest field, from the segment's term info:
        # Whoosh keeps both per term (as it keeps each document's length, in one byte).
        info = reader.term_info(term.fieldname, term.text)
        average = avg_field_length(searcher, term.fieldname) or 1
        shortest = (1 - B) + B * info.min_length() / average
        top_weight = info.max_weight()
        highest = scale * top_weight / shortest
        count = info.doc_frequency()
        lists.append(
            _FieldList(
                term.fieldname,
                term.fieldname in long,
                scale,
                postings[key],
                norms,
                highest,
                top_weight,
                count,
            )
        )
    return _Word(weight, lists)


def _phrase(
    searcher: Searcher, reader: IndexReader, phrase: wq.Phrase, factor: float
) -> Phrase | None:
    """The phrase's candidates in the segment `reader` and their scores as Whoosh's phrase
    matcher gives them: the sum of each word's BM25 in the field, times the boost."""
    fieldname, words = phrase.fieldname, phrase.words
    if any((fieldname, word) not in reader for word in words):
        return None
    norms = length_norms(searcher, reader, fieldname)
    idfs = [idf(searcher, (fieldname,), word) * (K1 + 1) for word in words]
    scale = phrase.boost * factor
    if min(reader.doc_frequency(fieldname, word) for word in words) > ARRAYS_FROM:
        return _phrase_of_arrays(reader, fieldname, words, idfs, norms, scale)
    frequencies: list[dict[int, float]] = []
    postings: list[Positions] = []
    for word in words:
        weights, positions = read_postings(reader, fieldname, word, positions=True)
        frequencies.append(weights)
        postings.append(positions)
    # The documents with every word, in docnum order (each word's dict is in that order).
    common = frequencies[0].keys() & frequencies[1].keys()
    for weights in frequencies[2:]:
        common &= weights.keys()
    docnums = [docnum for docnum in min(frequencies, key=len) if docnum in common]
    lengths = [K1 * norm for norm in map(norms.__getitem__, docnums)]
    columns = [list(map(found.__getitem__, docnums)) for found in frequencies]
    scores = _phrase_scores(idfs, columns, lengths, scale)
    return Phrase(postings, dict(zip(docnums, scores, strict=True)))


def _phrase_of_arrays(
    reader: IndexReader,
    fieldname: str,
    words: list[str],
    idfs: list[float],
    norms: list[float],
    scale: float,
) -> Phrase:
    """`_phrase` of words on thousands of pages: each word's postings read as numpy arrays, the
    candidates found and scored as arrays (the same floats, in the same order, as
    `_phrase_scores`), without a dict entry or a float object per posting until the scores."""
    numpy = lazy_numpy()
    read = [posting_arrays(reader, fieldname, word) for word in words]
    common = read[0][0]
    for docnums, _, _ in read[1:]:
        common = kept_in(common, docnums)
    lengths = K1 * norm_array(reader, fieldname, norms)[common]
    total: Any = 0.0
    for weight, (docnums, weights, _) in zip(idfs, read, strict=True):
        found = weights[numpy.searchsorted(docnums, common)]
        total = total + weight * found / (found + lengths)
    scores = scale * total
    postings = [positions for _, _, positions in read]
    return Phrase(postings, dict(zip(common.tolist(), scores.tolist(), strict=True)))


def _phrase_scores(
    idfs: list[float], frequencies: list[list[float]], lengths: list[float], scale: float
) -> list[float]:
    """Each document's phrase score, `scale` times the sum of its words' BM25 in their order,
    `idf * f / (f + K1 * norm)` (`idfs` carry K1 + 1, `lengths` are K1 * norm, `frequencies`
    each word's f, aligned). Two and three words (most phrases) in one comprehension rather than
    a pass per word over tens of thousands of pages; the same floats either way."""
    if len(idfs) == 2:
        (w0, w1), (f0, f1) = idfs, frequencies
        return [
            scale * (w0 * a / (a + k) + w1 * b / (b + k))
            for a, b, k in zip(f0, f1, lengths, strict=True)
        ]
    if len(idfs) == 3:
        (w0, w1, w2), (f0, f1, f2) = idfs, frequencies
        return [
            scale * (w0 * a / (a + k) + w1 * b / (b + k) + w2 * c / (c + k))
            for a, b, c, k in zip(f0, f1, f2, lengths, strict=True)
        ]
    totals = [0.0] * len(lengths)
    for weight, found in zip(idfs, frequencies, strict=True):
        totals = [
            total + weight * f / (f + length)
            for total, f, length in zip(totals, found, lengths, strict=True)
        ]
    return [scale * total for total in totals]


def _sum(first: dict[int, float], second: dict[int, float]) -> dict[int, float]:
    """Both dicts added key by key, into the larger one, which is returned (changed): the work
    is the size of the smaller, and a + b is the same float whichever is which."""
    larger, smaller = (first, second) if len(first) >= len(second) else (second, first)
    get = larger.get
    for key, value in smaller.items():
        larger[key] = get(key, 0.0) + value
    return larger


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


def score_all(
    searcher: Searcher, q: wq.Query, allowed: Collection[int] | None = None
) -> dict[int, float]:
    """The score of every document `q` matches (within `allowed`), by index-wide docnum."""
    return _every_score(_gather(searcher, q), allowed)


def _every_score(segments: list[_Segment], allowed: Collection[int] | None) -> dict[int, float]:
    """`score_all` of a query's gathered segments."""
    scores: dict[int, float] = {}
    for segment in segments:
        scores.update(segment.exhaustive())
    if allowed is not None:
        scores = {docnum: score for docnum, score in scores.items() if docnum in allowed}
    return scores


LeaveOut = Callable[[dict[int, float]], Collection[int]]


def rank(
    searcher: Searcher,
    q: wq.Query,
    count: int,
    allowed: Collection[int] | None = None,
    every_match: bool = False,
    leave_out: LeaveOut | None = None,
) -> Ranking:
    """The `count` best documents `q` matches (within `allowed`, index-wide docnums), the same
    as `top(score_all(...), count, allowed)`, and the total. `every_match` finds every match
    (feedback re-ranks them all), verifying every phrase candidate. `leave_out(scores)` names
    the matches not to rank nor count, from every match's score (past EXACT_TOTAL_UP_TO, from
    the best ones': the total is a lower bound then anyway)."""
    segments = _gather(searcher, q)
    if allowed is None and not every_match and count > 0:
        at_least = sum(segment.at_least() for segment in segments)
        if at_least >= EXACT_TOTAL_UP_TO:
            if leave_out is None:
                return _rank_many(segments, count, at_least)
            return _rank_many_leaving_out(segments, count, at_least, leave_out)
    if leave_out is not None:
        scores = _every_score(segments, allowed)
        left_out = leave_out(scores)
        shown = scores.keys() - left_out if left_out else scores.keys()
        best = top(scores, count, shown if left_out else None)
        return Ranking(best, len(shown), matched=set(shown) if every_match else None)
    total = 0  # documents known to match
    exact: dict[int, float] = {}  # candidates known to match: their scores, phrases aside
    bounds: dict[int, float] = {}  # phrase candidates: their scores if all their phrases match
    # Candidates only a phrase can match, each segment's in docnum order.
    unknown: list[tuple[_Segment, list[int]]] = []
    skipped: list[tuple[_Segment, set[int]]] = []  # pages matched in their body only, unscored
    for segment in segments:
        offset, inside = segment.offset, _local(allowed, segment)
        candidates = set(segment.other)
        body_only: set[int] = set()
        for word in segment.words:
            for one in word.lists:
                (body_only if one.long else candidates).update(one.weights)
        for phrase in segment.phrases:
            candidates.update(phrase.scores)
        body_only -= candidates
        if inside is not None:
            candidates &= inside
            body_only &= inside
        scores = {docnum: segment.other[docnum] for docnum in candidates & segment.other.keys()}
        for word in segment.words:
            scores = _sum(scores, word.scores(candidates))
        total += len(body_only) + len(scores)  # the rest match by a phrase, if at all
        exact.update({docnum + offset: score for docnum, score in scores.items()})
        if segment.phrases:  # each candidate's bound, summed in the order `verify` sums
            found = [
                phrase.scores.keys() if inside is None else candidates & phrase.scores.keys()
                for phrase in segment.phrases
            ]
            own: dict[int, float] = {}
            get = scores.get
            for phrase, having in zip(segment.phrases, found, strict=True):
                phrase_scores, got = phrase.scores, own.get
                if not own and not scores and inside is None:
                    own = dict(phrase_scores)  # a lone phrase's bounds: its scores (0.0 + s is s)
                    continue
                own.update({d: got(d, get(d, 0.0)) + phrase_scores[d] for d in having})
            bounds.update({docnum + offset: bound for docnum, bound in own.items()})
            # The candidates only a phrase matches (in docnum order: a lone phrase's come so).
            unknown.append((segment, sorted(own.keys() - scores.keys() if scores else own)))
        skipped.append((segment, body_only))

    locate = _locator(segments)
    verified: dict[int, tuple[bool, float]] = {}

    def verify(docnum: int) -> tuple[bool, float]:
        """Whether a candidate matches and its score, its phrases' positions read once."""
        found = verified.get(docnum)
        if found is None:
            found = docnum in exact, exact.get(docnum, 0.0)
            if docnum in bounds:
                segment, docnum_there = locate(docnum)
                found = segment.with_phrases(docnum_there, *found)
            verified[docnum] = found
        return found

    best = [] if every_match else _best(exact, bounds, count, verify)
    threshold = best[-1][1] if count and len(best) == count else None
    scored_more = every_match
    for segment, body_only in skipped:
        bound = segment.body_bound()
        if not body_only or (threshold is not None and bound < threshold and not every_match):
            continue  # no page with the words in its body only can reach the top
        offset = segment.offset  # (body-only pages are not in `exact` yet)
        exact.update({d + offset: score for d, score in segment.word_scores(body_only).items()})
        scored_more = True
    if scored_more:
        best = _best(exact, bounds, count, verify)

    # The total: the known matches, then candidates matched by a phrase alone, checked in order
    # until every one is or one more is found past EXACT_TOTAL_UP_TO.
    limit = None if every_match else EXACT_TOTAL_UP_TO
    found_by_phrase: list[int] = []
    for segment, docnums in unknown:
        offset = segment.offset
        for in_range in in_a_row(segment.phrases, docnums):
            if limit is not None and total + len(in_range) > limit:
                scored = len(exact.keys() | verified.keys())
                return Ranking(best, max(total, limit), total_is_exact=False, scored=scored)
            total += len(in_range)
            if every_match:
                found_by_phrase.extend(local + offset for local in in_range)
    scored = len(exact.keys() | verified.keys())
    if not every_match:
        return Ranking(best, total, scored=scored)
    return Ranking(best, total, matched=exact.keys() | set(found_by_phrase), scored=scored)


def _rank_many_leaving_out(
    segments: list[_Segment], count: int, at_least: int, leave_out: LeaveOut
) -> Ranking:
    """`_rank_many` less the best pages `leave_out` names among them, more asked for until
    `count` are left (the matches are past EXACT_TOTAL_UP_TO: there are always more)."""
    wanted = count
    while True:
        ranking = _rank_many(segments, wanted, at_least)
        left_out = leave_out(dict(ranking.best))
        best = [(docnum, score) for docnum, score in ranking.best if docnum not in left_out]
        if len(best) >= count or len(ranking.best) < wanted:
            ranking.best = best[:count]
            return ranking
        wanted *= 2


def _rank_many(segments: list[_Segment], count: int, at_least: int) -> Ranking:
    """`rank` of a query known to match `at_least` documents, past EXACT_TOTAL_UP_TO: the total
    is that lower bound, so the pages with a word in their body only are neither counted nor,
    unless they could reach the top, scored; the candidates' body postings are read only for
    the pages whose bound can (`LazyPostings`: a block at a time)."""
    bounds: dict[int, float] = {}
    roughly = [segment.rough_bounds() for segment in segments]  # each segment's candidates
    for segment, rough in zip(segments, roughly, strict=True):
        offset = segment.offset
        bounds.update({docnum + offset: bound for docnum, bound in rough.items()})
    locate = _locator(segments)
    exact: dict[int, float] = {}  # pages with the words in their body only, when scored
    verified: dict[int, tuple[bool, float]] = {}
    dense = not any(segment.phrases for segment in segments)

    def verify(docnum: int) -> tuple[bool, float]:
        found = verified.get(docnum)
        if found is None:
            if dense and len(verified) >= DENSE_AFTER:
                raise _ScoreAtOnce
            if docnum in exact:
                found = (True, exact[docnum])
            else:
                segment, docnum_there = locate(docnum)
                found = segment.score_of(docnum_there)
            verified[docnum] = found
        return found

    refined = [0]  # candidates given tighter bounds so far

    def refine(docnums: list[int]) -> list[float]:
        """Tighter bounds of the candidates, segment by segment."""
        refined[0] += len(docnums)
        if dense and refined[0] > REFINED_PER_VERIFIED * DENSE_AFTER:
            raise _ScoreAtOnce
        bound_of: dict[int, float] = {}
        for segment in segments:
            start, end = segment.offset, segment.offset + segment.size
            inside = [docnum for docnum in docnums if start <= docnum < end]
            tighter = segment.bounds_of([docnum - start for docnum in inside]) if inside else []
            bound_of.update(zip(inside, tighter, strict=True))
        return [bound_of[docnum] for docnum in docnums]

    try:
        best = _best(exact, bounds, count, verify, refine)
    except _ScoreAtOnce:
        best, scored = _dense(segments, count)
        return Ranking(best, at_least, total_is_exact=False, scored=scored)
    threshold = best[-1][1] if len(best) == count else None
    # The segments whose pages with the words in their body only could reach the top: their
    # body lists are read whole, a dict each, unless that is more than scoring all at once.
    reaching = [
        (segment, rough)
        for segment, rough in zip(segments, roughly, strict=True)
        if threshold is None or segment.body_bound() >= threshold
    ]
    body = sum(one.count for s, _ in reaching for w in s.words for one in w.lists if one.long)
    if dense and body > REFINED_PER_VERIFIED * DENSE_AFTER:
        best, scored = _dense(segments, count)
        return Ranking(best, at_least, total_is_exact=False, scored=scored)
    for segment, rough in reaching:
        body_only: set[int] = set()
        for word in segment.words:
            for one in word.lists:
                if one.long:
                    body_only.update(one.weights)
        offset = segment.offset
        scores = segment.word_scores(body_only - rough.keys())
        exact.update({docnum + offset: score for docnum, score in scores.items()})
    if exact:
        try:
            best = _best(exact, bounds, count, verify, refine)
        except _ScoreAtOnce:
            best, scored = _dense(segments, count)
            return Ranking(best, at_least, total_is_exact=False, scored=scored)
    return Ranking(best, at_least, total_is_exact=False, scored=len(verified.keys() | exact))


class _ScoreAtOnce(Exception):
    """Raised by a ranking past DENSE_AFTER verified candidates (or REFINED_PER_VERIFIED times
    as many bounded): score every match at once."""


def _dense(segments: list[_Segment], count: int) -> tuple[list[tuple[int, float]], int]:
    """The `count` best of every document the words and other clauses match (no phrases),
    scored as numpy arrays in the order `_Segment.score_of` sums (so the same floats), and how
    many matched."""
    numpy = lazy_numpy()
    docnums, scores = [], []
    for segment in segments:
        total = numpy.zeros(segment.size)
        matched = numpy.zeros(segment.size, dtype=bool)
        if segment.other:
            where = numpy.fromiter(segment.other, numpy.int64, len(segment.other))
            total[where] = numpy.fromiter(segment.other.values(), float, len(segment.other))
            matched[where] = True
        for word in segment.words:
            frequency = numpy.zeros(segment.size)
            has = numpy.zeros(segment.size, dtype=bool)
            for one in word.lists:  # in the fields' order, as `_Word.score_of` sums them
                found, weights, norms = one.postings.arrays(one.norms)
                frequency[found] += one.scale * weights / norms[found]
                has[found] = True
            score = word.weight * frequency[has] / (K1 + frequency[has])
            total[has] += score
            matched |= has
        local = numpy.flatnonzero(matched)
        docnums.append(local + segment.offset)
        scores.append(total[local])
    every, scored = numpy.concatenate(docnums), numpy.concatenate(scores)
    if count < len(scored):  # the count-th best score; then only pages at or above it sorted
        cut = -numpy.partition(-scored, count - 1)[count - 1]
        kept = scored >= cut
        every, scored = every[kept], scored[kept]
    order = numpy.lexsort((every, -scored))[:count]
    best = list(zip(every[order].tolist(), scored[order].tolist(), strict=True))
    return best, int(sum(len(d) for d in docnums))


def _locator(segments: list[_Segment]) -> Callable[[int], tuple[_Segment, int]]:
    """A function giving an index-wide docnum's segment and its docnum there."""
    starts = [segment.offset for segment in segments]

    def locate(docnum: int) -> tuple[_Segment, int]:
        segment = segments[bisect.bisect_right(starts, docnum) - 1]
        return segment, docnum - segment.offset

    return locate


def _local(allowed: Collection[int] | None, segment: _Segment) -> set[int] | None:
    """The documents of `allowed` (index-wide docnums) in the segment, as its own docnums."""
    if allowed is None:
        return None
    start, end = segment.offset, segment.offset + segment.size
    return {docnum - start for docnum in allowed if start <= docnum < end}


def _best(
    exact: dict[int, float],
    bounds: dict[int, float],
    count: int,
    verify: Callable[[int], tuple[bool, float]],
    refine: Callable[[list[int]], list[float]] | None = None,
) -> list[tuple[int, float]]:
    """The `count` best candidates, best first: without bounds, the best exact scores; with
    them, candidates taken best bound first (their score if their phrases' words are in a row)
    and verified until no bound left can beat the count-th best verified score. `refine` gives
    tighter bounds of a batch of candidates (in their order), cheaper than verifying them: a
    batch is then verified in the order of those."""
    if count <= 0:
        return []
    if not bounds:
        return top(exact, count)
    # A phrase candidate's bound includes its exact score. (Read only: a lone dict is not copied.)
    everything = {**exact, **bounds} if exact else bounds
    bounds_of = everything.values()
    found: list[tuple[int, float]] = []
    done: set[int] = set()
    taken = 0
    ranked: list[float] = []
    while taken < len(everything):
        # The best bounds, a batch at a time (most queries need one: their best bounds match):
        # sorting every candidate's would cost more than verifying the few that matter. A
        # batch holds every candidate whose bound is at least `cut`; those left are below it.
        taken = min(len(everything), 4 * max(count, taken))
        if not taken > 4 * count:
            cut = heapq.nlargest(taken, bounds_of)[-1]
        else:  # a second batch: every bound sorted, once
            ranked = ranked or sorted(bounds_of, reverse=True)
            cut = ranked[taken - 1]
        if len(found) >= count:  # no candidate bounded below the count-th best score enters
            cut = max(cut, found[-1][1])
        docnums = [
            docnum
            for docnum in itertools.compress(everything, map(cut.__le__, bounds_of))
            if docnum not in done
        ]
        done.update(docnums)
        tighter = refine(docnums) if refine is not None else [everything[d] for d in docnums]
        for bound, docnum in sorted(zip([-b for b in tighter], docnums, strict=True)):
            if len(found) >= count and -bound < found[-1][1]:
                break  # neither this candidate nor those after it can enter
            matched, score = verify(docnum)
            if matched:
                found.append((docnum, score))
                found.sort(key=lambda item: (-item[1], item[0]))
                del found[count:]
        if len(found) >= count and cut <= found[-1][1]:
            return found  # every candidate left is bounded below the count-th best score
    return found
