"""The Whoosh schema and analyzers, in one place: what is indexed, how, and with what weight."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import Stemmer
from whoosh import analysis, columns, fields, formats
from whoosh.support.charset import accent_map

from .documents import DATE_KEYS, KEYWORD_KEYS
from .highlight import WORD

# Bump when the schema or an analyzer changes: an index of another version needs `--full`.
SCHEMA_VERSION = 4

# Query-time field weights: a word in the title or a heading says more about a page than one in
# the body. Applied at query time so tuning needs no re-index (see README, Relevance).
FIELD_WEIGHTS = {
    "title": 2.0,
    "headings": 1.5,
    "brands": 2.0,
    "body": 1.0,
    "title_es": 2.0,
    "headings_es": 1.5,
    "body_es": 1.0,
}

# Free-text fields a plain query searches, and the prefix of frontmatter keys the code doesn't know.
TEXT_FIELDS = ("title", "headings", "brands", "body")
# Documents with `language: es` are analysed in Spanish into these fields instead.
SPANISH_FIELDS = ("title_es", "headings_es", "body_es")
ALL_TEXT_FIELDS = TEXT_FIELDS + SPANISH_FIELDS
DYNAMIC_PREFIX = "meta_"
# Values of a list key are joined with this character before indexing; it never occurs in text.
VALUE_SEPARATOR = "\x1f"

_NOT_A_NAME_CHAR = re.compile(r"\W")
# review_age of a document without lastReviewed: larger than any real age, so it sorts last.
NO_DATE_AGE = 2**32 - 1
LAST_DAY = dt.date(9999, 12, 31)


# English function words: they carry no topic, and natural-language questions are full of them
# ("what are the problems of …"). Whoosh's own list misses the question words; measured on the
# eval collections (README, Relevance).
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most must my myself no nor not now of off on once only or other our
    ours ourselves out over own same shall she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up upon us very
    was we were what when where which while who whom why will with within would yet you your
    yours yourself yourselves""".split()
)


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    stemmer = Stemmer.Stemmer(language)
    stemmer.maxCacheSize = 100_000
    return stemmer


def stem_english(word: str) -> str:
    """Snowball English (Porter 2) via PyStemmer: faster and better than Whoosh's Porter 1.

    A module-level function because Whoosh pickles the schema, analyzers included.
    """
    return _stemmer("english").stemWord(word)  # type: ignore[no-any-return]


SPANISH_STOP_WORDS = frozenset(
    """a al algo algunas algunos ante antes como con contra cual cuando de del desde donde
    durante e el ella ellas ellos en entre era es esa esas ese eso esos esta estas este esto
    estos fue fueron ha han hasta hay la las le les lo los mas me mi mucho muy nada ni no nos
    o otra otras otro otros para pero poco por porque que quien se sea ser si sin sobre su sus
    tambien te tiene tienen todo todos tu un una uno unos y ya""".split()
)


def stem_spanish(word: str) -> str:
    """Snowball Spanish via PyStemmer (module-level so the schema pickles)."""
    return _stemmer("spanish").stemWord(word)  # type: ignore[no-any-return]


@lru_cache(maxsize=100_000)
def english_term(word: str) -> str:
    """What `text_analyzer` indexes for one lower-cased word (stop words aside)."""
    return stem_english(word.translate(accent_map))


@lru_cache(maxsize=100_000)
def spanish_term(word: str) -> str:
    """What `spanish_analyzer` indexes for one lower-cased word (stop words aside)."""
    return stem_spanish(word).translate(accent_map)  # type: ignore[no-any-return]


def term_function(fieldname: str) -> Callable[[str], str]:
    """The word → term function of a text field's analyzer: highlighting marks the words of a
    page whose term the query asked for, without running the whole analyzer over the page."""
    return spanish_term if fieldname in SPANISH_FIELDS else english_term


def spanish_analyzer() -> analysis.Analyzer:
    """The Spanish counterpart of `text_analyzer` (stems computed before accents are folded)."""
    return (
        analysis.RegexTokenizer()
        | analysis.LowercaseFilter()
        | analysis.StemFilter(stemfn=stem_spanish, cachesize=-1)
        | analysis.CharsetFilter(accent_map)
        | analysis.StopFilter(stoplist=SPANISH_STOP_WORDS)
    )


def is_spanish(language: str | None) -> bool:
    return bool(language) and str(language).lower().split("-")[0] in ("es", "spa", "spanish")


def text_analyzer() -> analysis.Analyzer:
    """Words, lower-cased, accents folded, stop words dropped, Snowball-stemmed."""
    return spelling_analyzer() | analysis.StemFilter(stemfn=stem_english, cachesize=-1)


Posting = tuple[bytes, int, float, bytes]  # term, frequency, weight, encoded positions
# The field of unstemmed body words that "did you mean" and typo alternatives draw from.
SPELLING_FIELD = "spelling"


@dataclass(frozen=True)
class Analyzed:
    """A field's postings computed ahead of `add_document` (in a parsing worker, so both cores
    analyse): exactly what the field would compute from the text itself."""

    postings: tuple[Posting, ...]


class _TakesAnalyzed:
    """Mixin for a field type that also takes an `Analyzed` value as is."""

    def index(self, value: Any, **kwargs: Any) -> Iterator[Posting]:
        if isinstance(value, Analyzed):
            return iter(value.postings)
        return super().index(value, **kwargs)  # type: ignore[misc, no-any-return]


class AnalyzedText(_TakesAnalyzed, fields.TEXT):  # type: ignore[misc]
    """A TEXT field that also takes an `Analyzed` value; the query side is plain TEXT."""


class SpellingWords(_TakesAnalyzed, fields.FieldType):  # type: ignore[misc]
    """Each distinct word of a page once, unstemmed, for spelling suggestions. Scorable only so
    that Whoosh keeps its lengths in a column (it stats a file per posting otherwise); a real
    field rather than Whoosh's `spelling=True`, whose words all point at document 0 and so
    outlive the pages that had them."""

    def __init__(self) -> None:
        super().__init__(formats.Existence(), analyzer=spelling_analyzer(), scorable=True)


@lru_cache(maxsize=200_000)
def _spelling_word(word: str) -> str | None:
    """What `spelling_analyzer` indexes for one lower-cased word, None for a stop word."""
    folded = word.translate(accent_map)
    return folded if len(folded) >= 2 and folded not in STOP_WORDS else None


@lru_cache(maxsize=200_000)
def _index_term(word: str, spanish: bool) -> str | None:
    """What a text field indexes for one lower-cased word, None for a stop word (English drops
    stop words before stemming, Spanish after)."""
    if spanish:
        term = spanish_term(word)
        return term if len(term) >= 2 and term not in SPANISH_STOP_WORDS else None
    return english_term(word) if _spelling_word(word) is not None else None


def analyze(schema: fields.Schema, fieldname: str, text: str) -> Analyzed:
    """A field's postings for `text`, as its analyzer (`text_analyzer`, `spanish_analyzer`,
    `spelling_analyzer`) would make them.

    The analyzer chain runs once per distinct word here, not once per token through Whoosh's
    filter generators: the same result (the tests compare them) at a fraction of the cost.
    Stop words leave no gap: Whoosh renumbers positions.
    """
    field = schema[fieldname]
    tokens = WORD.findall(text)
    if fieldname == SPELLING_FIELD:
        words = {_spelling_word(token.lower()) for token in tokens}
        weight = field.format.field_boost
        return Analyzed(tuple((w.encode("utf-8"), 1, weight, b"") for w in words if w))
    spanish = fieldname in SPANISH_FIELDS
    positions: dict[str, list[int]] = {}
    position = -1
    for index, token in enumerate(tokens):
        term = _index_term(token.lower(), spanish)
        if term is None:
            continue
        position = index if position < 0 else position + 1
        found = positions.get(term)
        if found is None:
            positions[term] = [position]
        else:
            found.append(position)
    encode, boost = field.format.encode, field.format.field_boost
    return Analyzed(
        tuple(
            (term.encode("utf-8"), len(where), len(where) * boost, encode(where))
            for term, where in positions.items()
        )
    )


def spelling_analyzer() -> analysis.Analyzer:
    """Words, lower-cased, accents folded, stop words dropped, not stemmed."""
    return (
        analysis.RegexTokenizer()
        | analysis.LowercaseFilter()
        | analysis.CharsetFilter(accent_map)
        | analysis.StopFilter(stoplist=STOP_WORDS)
    )


def keyword_analyzer() -> analysis.Analyzer:
    """Whole values (spaces and commas included), case and accents folded, for exact matching."""
    return (
        analysis.RegexTokenizer(f"[^{VALUE_SEPARATOR}]+")
        | analysis.StripFilter()
        | analysis.LowercaseFilter()
        | analysis.CharsetFilter(accent_map)
    )


def keyword_field() -> fields.FieldType:
    """An exact-match, unscored field: filters and `key:value` queries, never ranking."""
    return fields.FieldType(
        format=fields.formats.Existence(), analyzer=keyword_analyzer(), scorable=False
    )


def field_name(key: str) -> str:
    """The index field that holds a frontmatter key (unknown keys get a safe prefixed name)."""
    if key in KEYWORD_KEYS or key in DATE_KEYS:
        return key
    return DYNAMIC_PREFIX + _NOT_A_NAME_CHAR.sub("_", key)


@lru_cache(maxsize=1)
def build_schema() -> fields.Schema:
    """The schema of a new index."""
    text = text_analyzer()
    spanish = spanish_analyzer()
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        path=fields.STORED(),
        title=AnalyzedText(analyzer=text, stored=True),
        title_sort=fields.COLUMN(columns.VarBytesColumn()),
        headings=AnalyzedText(analyzer=text),
        brands=AnalyzedText(analyzer=text),
        body=AnalyzedText(analyzer=text),
        spelling=SpellingWords(),
        title_es=AnalyzedText(analyzer=spanish),
        headings_es=AnalyzedText(analyzer=spanish),
        body_es=AnalyzedText(analyzer=spanish),
        # The visible text, stored once for snippets and `show`, whatever its language.
        content=fields.STORED(),
        metadata=fields.STORED(),
        # Days from lastReviewed to 9999-12-31: sorting on it ascending lists the newest first
        # and undated documents last (a DATETIME column would put them first in reverse).
        review_age=fields.COLUMN(columns.NumericColumn("I", default=NO_DATE_AGE)),
        # size:mtime_ns:sha256 of the file, read back as a column for cheap change detection.
        fingerprint=fields.COLUMN(columns.VarBytesColumn()),
    )
    for key in KEYWORD_KEYS:
        schema.add(key, keyword_field())
    for key in DATE_KEYS:
        schema.add(key, fields.DATETIME(sortable=True))
    schema.add(DYNAMIC_PREFIX + "*", keyword_field(), glob=True)
    return schema
