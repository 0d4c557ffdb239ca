"""The Whoosh schema and analyzers, in one place: what is indexed, how, and with what weight."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache

import Stemmer
from whoosh import analysis, columns, fields
from whoosh.support.charset import accent_map

from .documents import DATE_KEYS, KEYWORD_KEYS

# Bump when the schema or an analyzer changes: an index of another version needs `--full`.
SCHEMA_VERSION = 3

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
    return (
        analysis.RegexTokenizer()
        | analysis.LowercaseFilter()
        | analysis.CharsetFilter(accent_map)
        | analysis.StopFilter(stoplist=STOP_WORDS)
        | analysis.StemFilter(stemfn=stem_english, cachesize=-1)
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
        title=fields.TEXT(analyzer=text, stored=True),
        title_sort=fields.COLUMN(columns.VarBytesColumn()),
        headings=fields.TEXT(analyzer=text),
        brands=fields.TEXT(analyzer=text),
        # spelling=True keeps unstemmed words aside for "did you mean" suggestions.
        body=fields.TEXT(analyzer=text, spelling=True),
        title_es=fields.TEXT(analyzer=spanish),
        headings_es=fields.TEXT(analyzer=spanish),
        body_es=fields.TEXT(analyzer=spanish),
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
