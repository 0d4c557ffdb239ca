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

from whoosh.reading import IndexReader
from whoosh.support.levenshtein import levenshtein

from .schema import SPELLING_FIELD

# Spelling words by first letters, then by length, per reader (a reader never changes).
_WORDS: weakref.WeakKeyDictionary[IndexReader, dict[str, dict[int, list[str]]]] = (
    weakref.WeakKeyDictionary()
)


def _words(reader: IndexReader, start: str) -> dict[int, list[str]]:
    per_start = _WORDS.setdefault(reader, {})
    if start not in per_start:
        by_length: dict[int, list[str]] = {}
        for term in reader.expand_prefix(SPELLING_FIELD, start):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            by_length.setdefault(len(word), []).append(word)
        per_start[start] = by_length
    return per_start[start]


def closest_words(
    reader: IndexReader, word: str, limit: int, maxdist: int = 2, prefix: int = 1
) -> list[str]:
    """Up to `limit` indexed spelling words within `maxdist` edits of `word` that share its
    first `prefix` letters, most frequent first."""
    if SPELLING_FIELD not in reader.schema:
        return []
    by_length = _words(reader, word[:prefix])
    found: list[tuple[float, str]] = []
    for length in range(len(word) - maxdist, len(word) + maxdist + 1):
        for candidate in by_length.get(length, ()):
            if levenshtein(candidate, word, limit=maxdist) <= maxdist:
                frequency = reader.frequency(SPELLING_FIELD, candidate) or 1
                found.append((0 - (maxdist + 0.5 / frequency), candidate))
    best = heapq.nlargest(limit, found)
    return [candidate for _, candidate in sorted(best, key=lambda item: (-item[0], item[1]))]
