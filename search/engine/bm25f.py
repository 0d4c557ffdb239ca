"""True BM25F for Whoosh: a word's frequencies in every field are weighted, length-normalised and
summed first, then saturated once (Robertson & Zaragoza, "The Probabilistic Relevance Framework").

Whoosh scores each field on its own and adds the scores, so a word in the title *and* the body
(most titles repeat in the text) counts twice; here it counts once, a little more.
"""

from __future__ import annotations

import copy
import math
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from whoosh import matching, scoring
from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.searching import SearchContext, Searcher
from whoosh.util import make_binary_tree

# Length normalisation (B) and term-frequency saturation (K1); measured on the eval collections.
B = 0.75
K1 = 1.6
# A word in a page's title also scores on its own, at this weight: people search for a page by its
# name, and within BM25F one title match saturates like any other (known items 0.91 -> 0.96).
TITLE_BONUS = 0.6


@dataclass(frozen=True)
class FieldRoles:
    """What ranking must know of an index's fields, given by whoever made the schema: the text
    fields scored as BM25F (and by `topk` from their postings), the long ones among them (a
    page's body: MaxScore reads them last), and the pages a field's statistics count (a
    language's fields count that language's pages); None: every page."""

    text: frozenset[str] = frozenset()
    long: frozenset[str] = frozenset()
    pages: Callable[[IndexReader, str], int] | None = None


class Weighting(scoring.BM25F):  # type: ignore[misc]
    """Whoosh's per-field BM25 with the probabilistic IDF of `idf` and the averages of
    `avg_field_length`, for what is not a plain word (phrases, prefixes, a title bonus); words
    are scored by `FieldsTerm`. Holds the index's `FieldRoles` for every ranking function."""

    def __init__(self, roles: FieldRoles) -> None:
        super().__init__(B=B, K1=K1)
        self.roles = roles

    def scorer(self, searcher: Searcher, fieldname: str, text: str, qf: int = 1) -> Any:
        scorer = super().scorer(searcher, fieldname, text, qf)
        if isinstance(scorer, scoring.BM25FScorer):  # its language's pages, as for words
            scorer.avgfl = avg_field_length(searcher, fieldname) or 1
        return scorer

    def idf(self, searcher: Searcher, fieldname: str, text: str) -> float:
        return idf(searcher, (fieldname,), text)


def field_roles(searcher: Searcher) -> FieldRoles:
    """The roles the searcher's `Weighting` holds; under another weighting, every scorable
    field is text, none long, every page counted."""
    roles = getattr(searcher.weighting, "roles", None)
    if isinstance(roles, FieldRoles):
        return roles
    scorable = frozenset(name for name, f in searcher.schema.items() if f.scorable)
    return FieldRoles(text=scorable)


def field_documents(searcher: Searcher, fieldname: str) -> int:
    """The pages whose statistics `fieldname`'s count (every page of a one-language index):
    each language's statistics count its own pages, so an English word that is rare in the
    Spanish pages (their references cite English titles) is not scored as if it were rare in
    the whole knowledge base."""
    whole = searcher.get_parent()
    pages = field_roles(searcher).pages
    return whole.doc_count_all() if pages is None else pages(whole.reader(), fieldname)


def idf(searcher: Searcher, fieldnames: Iterable[str], text: str) -> float:
    """Robertson/Lucene IDF, log(1 + (N - n + 0.5) / (n + 0.5)), of the word's most common field
    (an estimate of its document frequency over all fields: titles mostly repeat in the text),
    N the pages of the fields' language. Statistics of the whole index, not of one segment."""
    return terms_idf(searcher, [(f, text) for f in fieldnames])


def terms_idf(searcher: Searcher, terms: Iterable[tuple[str, str]]) -> float:
    """`idf` of (field, text) terms scored as one word: the most common term's (several texts
    are one word's forms, as a word being typed and its completions; Lucene's SynonymQuery
    takes the most common too)."""
    whole = searcher.get_parent()
    terms = list(terms)
    found = max((whole.doc_frequency(f, text) for f, text in terms), default=0)
    total = field_documents(searcher, terms[0][0]) if terms else whole.doc_count_all()
    return math.log(1 + max(0.0, total - found + 0.5) / (found + 0.5))


# Each open index's field averages, kept while its reader lives (a reader never changes).
_AVERAGES: weakref.WeakKeyDictionary[IndexReader, dict[tuple[str, FieldRoles], float]] = (
    weakref.WeakKeyDictionary()
)


def avg_field_length(searcher: Searcher, fieldname: str) -> float:
    """The field's average length over the live pages of its language (Whoosh divides by every
    page, which halves the average of each language in a bilingual index)."""
    whole = searcher.get_parent()
    key = (fieldname, field_roles(searcher))
    averages = _AVERAGES.setdefault(whole.reader(), {})
    if key not in averages:
        live, every = whole.doc_count(), whole.doc_count_all()
        pages = live * field_documents(searcher, fieldname) / every if every else 0
        averages[key] = whole.field_length(fieldname) / pages if pages else 1.0
    return averages[key]


class _NormalisedFrequency(scoring.WeightLengthScorer):  # type: ignore[misc]
    """One field's term frequency divided by its length normalisation, (1 - b) + b * dl / avgdl."""

    def __init__(self, searcher: Searcher, fieldname: str, text: str, b: float) -> None:
        self.avgfl = avg_field_length(searcher, fieldname) or 1
        self.b = b
        self.setup(searcher, fieldname, text)

    def _score(self, weight: float, length: float) -> float:
        return weight / ((1 - self.b) + self.b * length / self.avgfl)  # type: ignore[no-any-return]


class _FrequencyModel(scoring.WeightingModel):  # type: ignore[misc]
    def scorer(self, searcher: Searcher, fieldname: str, text: str, qf: int = 1) -> Any:
        return _NormalisedFrequency(searcher, fieldname, text, B)


class _Weighted(matching.WrappingMatcher):  # type: ignore[misc]
    """A field's frequencies times its weight. Whoosh's own wrapper hands its child the score
    to beat as it is, not divided by the weight, so Whoosh's top-N search dropped pages that a
    field weighted above 1 lifts over it."""

    def replace(self, minquality: float = 0) -> Any:
        child = self.child.replace(minquality / self.boost if minquality else 0)
        return self if child is self.child else self._replacement(child)


class _Saturated(matching.WrappingMatcher):  # type: ignore[misc]
    """Turns the summed field frequencies of its child into a BM25 score (monotone, so Whoosh's
    block-quality skipping stays valid)."""

    def __init__(self, child: Any, boost: float = 1.0, weight: float = 1.0) -> None:
        super().__init__(child, boost=boost)
        self.weight_ = weight  # idf * (K1 + 1) * boost: the score a huge frequency tends to

    def _replacement(self, newchild: Any) -> _Saturated:
        return _Saturated(newchild, self.boost, self.weight_)

    def copy(self) -> _Saturated:
        return _Saturated(self.child.copy(), self.boost, self.weight_)

    def _saturate(self, frequency: float) -> float:
        return self.weight_ * frequency / (K1 + frequency)

    def _frequency(self, minquality: float) -> float:
        """The summed frequency whose score is `minquality` (inf: no frequency reaches it)."""
        if minquality >= self.weight_:
            return math.inf
        return K1 * minquality / (self.weight_ - minquality)

    def replace(self, minquality: float = 0) -> Any:
        # the child sums frequencies: the score to beat is handed down as one
        if minquality and self.max_quality() < minquality:
            return matching.NullMatcher()
        child = self.child.replace(self._frequency(minquality) if minquality else 0)
        return self if child is self.child else self._replacement(child)

    def skip_to_quality(self, minquality: float) -> int:
        if minquality >= self.weight_:
            return self.child.skip_to_quality(math.inf)  # type: ignore[no-any-return]
        return self.child.skip_to_quality(  # type: ignore[no-any-return]
            K1 * minquality / (self.weight_ - minquality)
        )

    def max_quality(self) -> float:
        return self._saturate(self.child.max_quality())

    def block_quality(self) -> float:
        return self._saturate(self.child.block_quality())

    def weight(self) -> float:
        return self.child.weight()  # type: ignore[no-any-return]

    def score(self) -> float:
        return self._saturate(self.child.score())


class FieldsTerm(wq.CompoundQuery):  # type: ignore[misc]
    """One query word over several fields (one `Term` child each, its boost the field weight),
    scored as BM25F. Matches what the OR of its children matches. Its children may hold several
    texts, one word's forms (a word being typed and its `Completions`): their frequencies add
    up, as one word's would."""

    JOINT = " F "

    @classmethod
    def over(
        cls, text: str, fieldnames: Iterable[str], weights: Mapping[str, float], boost: float = 1.0
    ) -> FieldsTerm:
        """`text` in each of `fieldnames`, each field weighted by `weights` (default 1)."""
        return cls([wq.Term(f, text, boost=weights.get(f, 1.0)) for f in fieldnames], boost=boost)

    def normalize(self) -> wq.Query:
        return self  # never collapse into a single Term: the saturation would be lost

    def _matcher(self, subs: list[wq.Query], searcher: Searcher, context: Any) -> Any:
        return self.matcher(searcher, context)

    def matcher(self, searcher: Searcher, context: Any = None) -> Any:
        terms = [t for t in self.subqueries if (t.fieldname, t.text) in searcher.reader()]
        if not terms:
            return matching.NullMatcher()
        weight = terms_idf(searcher, ((t.fieldname, t.text) for t in terms)) * (K1 + 1)
        base = context if context is not None else SearchContext()
        frequencies = base.set(weighting=_FrequencyModel(), needs_current=True)
        fields = []
        for term in terms:
            field = wq.Term(term.fieldname, term.text).matcher(searcher, frequencies)
            fields.append(field if term.boost == 1 else _Weighted(field, term.boost))
        child = make_binary_tree(matching.UnionMatcher, fields)
        return _Saturated(child, self.boost, weight * self.boost)


class Completions(wq.Or):  # type: ignore[misc]
    """A word being typed (its first child) or the indexed words that begin with it, in one
    field: `fold_fields` scores them as one word, so a page is not ranked up for holding many
    of them, and the clause is bounded as one word is (which keeps type-ahead fast)."""

    JOINT = " |C| "

    def __init__(self, subqueries: list[wq.Query], boost: float = 1.0, word: str = "") -> None:
        super().__init__(subqueries, boost=boost)
        self.word = word  # the typed word's term, which each of them stands for

    def apply(self, fn: Callable[[wq.Query], wq.Query]) -> Completions:
        return Completions([fn(q) for q in self.subqueries], self.boost, self.word)


def boosted(q: wq.Query, boost: float) -> wq.Query:
    """`q` with another boost, its children shared: Whoosh's `with_boost` deep-copies the whole
    tree, a tenth of a query's parsing when every word is a term in each language's fields."""
    found = copy.copy(q)
    found.boost = boost
    return found


def fold_fields(
    q: wq.Query,
    field_weights: Mapping[str, float],
    groups: Iterable[Iterable[str]],
    titles: Collection[str] = (),
) -> wq.Query:
    """Rewrite each OR of field terms into one `FieldsTerm` per word and field group (English
    fields score together, Spanish together); nested ORs flatten first, so a typo alternative or
    synonym is scored over all its fields too. A word in one of `titles` also scores there
    alone (`TITLE_BONUS`). Other queries keep their scoring."""
    group_of = {field: i for i, group in enumerate(groups) for field in group}
    Leaf = tuple[wq.Query, float, str | None]

    def leaves(node: wq.Query, boost: float, word: str | None = None) -> Iterable[Leaf]:
        """(leaf, boost, the typed word it completes or None) of a tree of ORs."""
        if isinstance(node, Completions):
            word = word or node.word
        if (type(node) is wq.Or and not node.scale) or isinstance(node, Completions):
            for sub in node.subqueries:
                yield from leaves(sub, boost * node.boost, word)
        else:
            yield node, boost, word

    def fold(node: wq.Query) -> wq.Query:
        if not (type(node) is wq.Or and not node.scale) and not isinstance(node, Completions):
            return node.apply(fold)  # type: ignore[no-any-return]
        kept: list[wq.Query] = []
        # (field group, word, boost) -> (field, text) -> times asked
        words: dict[tuple[int, str, float], dict[tuple[str, str], int]] = {}
        for leaf, boost, word in leaves(node, 1.0):
            if type(leaf) is wq.Term and leaf.fieldname in group_of:
                extra = round(boost * leaf.boost / field_weights.get(leaf.fieldname, 1.0), 6)
                key = (group_of[leaf.fieldname], word or leaf.text, extra)
                terms = words.setdefault(key, {})
                terms[(leaf.fieldname, leaf.text)] = terms.get((leaf.fieldname, leaf.text), 0) + 1
            else:
                kept.append(fold(boosted(leaf, leaf.boost * boost) if boost != 1.0 else leaf))
        if not words:
            return wq.Or(kept) if len(kept) > 1 else kept[0]
        folded = [
            # a word typed twice counts twice
            FieldsTerm(
                [wq.Term(f, text, boost=field_weights.get(f, 1.0)) for f, text in terms],
                boost=extra * max(terms.values()),
            )
            for (_, _, extra), terms in words.items()
        ]
        bonus: list[wq.Query] = []
        for (_, _, extra), terms in words.items():
            named = [wq.Term(f, text) for f, text in terms if f in titles]
            if len(named) == 1:
                bonus.append(boosted(named[0], TITLE_BONUS * extra))
            elif named:  # a word's forms in the title: one word there too
                bonus.append(FieldsTerm(named, boost=TITLE_BONUS * extra))
        clauses = folded + bonus + kept
        return clauses[0] if len(clauses) == 1 else wq.Or(clauses)

    return fold(q)


def whoosh_search(searcher: Searcher, q: wq.Query, limit: int | None, **options: Any) -> Any:
    """Whoosh's `search` of `q` (for sorting, facets and filters), its top `limit` pages the
    ones that scoring every match ranks first. Two of Whoosh's shortcuts are set aside: on an
    index under 5,000 pages it reads an OR of three or more clauses into one array whose best
    possible score it takes as its best clause's, not their sum (each OR here is a tree of
    two-way unions instead); and its block skipping moves a union's clause past pages on the
    bounds of the other clause's current block only. With them, `lung AND cancer` and
    `anemia NOT transfusion` lost their best pages."""

    def unions(node: wq.Query) -> wq.Query:
        node = node.apply(unions)
        if type(node) is wq.Or:
            return wq.compound.DefaultOr(
                node.subqueries, boost=node.boost, minmatch=node.minmatch, scale=node.scale
            )
        return node

    return searcher.search(unions(q), limit=limit, optimize=False, **options)
