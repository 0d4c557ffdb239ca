"""Spelling suggestions from the index's spelling words ("did you mean", typo alternatives).

Whoosh's `ReaderCorrector` reads every indexed word that shares the first letter and computes
its edit distance in Python, on every query with an unknown word. Here the words of each first
letter are read once per searcher and grouped by length, and only words whose length is within
the edit distance are compared (the distance is at least the difference in length); the ranking
is Whoosh's: most frequent first among the words within `maxdist` edits (Levenshtein, as its
segment readers count them: a transposition is two edits), ties alphabetical.
"""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Sequence

from whoosh.reading import IndexReader
from whoosh.support.levenshtein import levenshtein

from .schema import SPELLING_FIELD

# Spelling words by field and first letters, then by length, per reader (a reader never changes).
_WORDS: weakref.WeakKeyDictionary[IndexReader, dict[tuple[str, str], dict[int, list[str]]]] = (
    weakref.WeakKeyDictionary()
)


def _words(reader: IndexReader, fieldname: str, start: str) -> dict[int, list[str]]:
    per_start = _WORDS.setdefault(reader, {})
    if (fieldname, start) not in per_start:
        by_length: dict[int, list[str]] = {}
        for term in reader.expand_prefix(fieldname, start):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            by_length.setdefault(len(word), []).append(word)
        per_start[fieldname, start] = by_length
    return per_start[fieldname, start]


def closest_words(
    reader: IndexReader,
    word: str,
    limit: int,
    maxdist: int = 2,
    prefix: int = 1,
    fieldnames: Sequence[str] = (SPELLING_FIELD,),
) -> list[str]:
    """Up to `limit` indexed spelling words (of the given spelling fields: one a language)
    within `maxdist` edits of `word` that share its first `prefix` letters, most frequent first."""
    found: dict[str, float] = {}  # a word both languages have counts once, at its best
    for fieldname in fieldnames:
        if fieldname not in reader.schema:
            continue
        by_length = _words(reader, fieldname, word[:prefix])
        for length in range(len(word) - maxdist, len(word) + maxdist + 1):
            for candidate in by_length.get(length, ()):
                if levenshtein(candidate, word, limit=maxdist) <= maxdist:
                    frequency = reader.frequency(fieldname, candidate) or 1
                    rank = 0 - (maxdist + 0.5 / frequency)
                    found[candidate] = max(rank, found.get(candidate, rank))
    best = heapq.nlargest(limit, ((rank, candidate) for candidate, rank in found.items()))
    return [candidate for _, candidate in sorted(best, key=lambda item: (-item[0], item[1]))]
