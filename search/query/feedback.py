"""Pseudo-relevance feedback (RM3): a question's best pages lend it the words they share.

A long natural-language question names its topic in the asker's words; the top pages of a first
search name it in the pages' words. RM3 (Lavrenko & Croft; as in Anserini) adds the words most
typical of those pages to the query, weighted. Measured on the eval collections (README).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from whoosh import query as wq
from whoosh.searching import Searcher

from ..engine.bm25f import FieldsTerm

# Feedback is for questions: a query needs this many distinct content words to get it.
MIN_WORDS = 5
# Pages read, words added, and the share of the final query the added words get.
DOCUMENTS = 10
TERMS = 10
WEIGHT = 0.5
# Only the start of each page is read: a long page must not make a query slow.
READ_CHARS = 4000


def applies(words: Sequence[str]) -> bool:
    """Whether a query of these analysed terms gets feedback (a question, not a few words)."""
    return len(set(words)) >= MIN_WORDS and WEIGHT > 0


def expand(
    searcher: Searcher,
    parsed: wq.Query,
    words: Sequence[str],
    first: Sequence[tuple[float, Mapping[str, Any]]],
    fieldnames: Sequence[str],
    field_weights: Mapping[str, float],
) -> wq.Query | None:
    """`parsed` plus the RM3 words of its top pages, or None when feedback does not apply.

    `words` are the query's analysed terms; `first` the (score, stored fields) of the first
    search's best DOCUMENTS pages, best first, among those the search can return; `fieldnames`
    the text fields of the query's language, its body last.
    """
    distinct = set(words)
    if not applies(words) or not first:
        return None
    # P(D|Q) as exp(score): a BM25 score is a sum of log-odds, like a query log-likelihood.
    best = first[0][0]
    likelihoods = [math.exp(score - best) for score, _ in first]
    total = sum(likelihoods)
    analyzer = searcher.schema[fieldnames[-1]].analyzer  # the body of the fields' language
    model: dict[str, float] = {}
    for (_, page), likelihood in zip(first, likelihoods, strict=True):
        text = page.get("title", "") + "\n" + page.get("content", "")[:READ_CHARS]
        counts = Counter(token.text for token in analyzer(text))
        length = sum(counts.values()) or 1
        for term, count in counts.items():
            model[term] = model.get(term, 0.0) + likelihood / total * count / length
    candidates = heapq.nlargest(TERMS * 2, model.items(), key=lambda item: item[1])
    top = [(term, p) for term, p in candidates if len(term) > 1 and not term.isdigit()][:TERMS]
    if not top:
        return None
    norm = sum(p for _, p in top)
    # RM3 mixes the query (each word 1/|q|) with the model; scaled by |q| so words keep weight 1.
    added = [
        FieldsTerm.over(term, fieldnames, field_weights, boost=WEIGHT * len(distinct) * p / norm)
        for term, p in top
    ]
    return wq.Or([parsed.with_boost(parsed.boost * (1 - WEIGHT)), *added])
