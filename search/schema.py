"""The Whoosh schema and analyzers, in one place: what is indexed, how, and with what weight."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from whoosh import analysis, columns, fields
from whoosh.support.charset import accent_map

from .documents import DATE_KEYS, KEYWORD_KEYS

# Bump when the schema or an analyzer changes: an index of another version needs `--full`.
SCHEMA_VERSION = 1

# Query-time field weights: a word in the title or a heading says more about a page than one in
# the body. Applied at query time so tuning needs no re-index (see README, Relevance).
FIELD_WEIGHTS = {"title": 3.0, "headings": 1.5, "brands": 2.0, "body": 1.0}

# Free-text fields a plain query searches, and the prefix of frontmatter keys the code doesn't know.
TEXT_FIELDS = tuple(FIELD_WEIGHTS)
DYNAMIC_PREFIX = "meta_"
# Values of a list key are joined with this character before indexing; it never occurs in text.
VALUE_SEPARATOR = "\x1f"

_NOT_A_NAME_CHAR = re.compile(r"\W")
# review_age of a document without lastReviewed: larger than any real age, so it sorts last.
NO_DATE_AGE = 2**32 - 1
LAST_DAY = dt.date(9999, 12, 31)


def text_analyzer() -> analysis.Analyzer:
    """Words, lower-cased, accents folded, English stop words dropped, Porter-stemmed."""
    return (
        analysis.RegexTokenizer()
        | analysis.LowercaseFilter()
        | analysis.CharsetFilter(accent_map)
        | analysis.StopFilter()
        | analysis.StemFilter(cachesize=100_000)
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
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        path=fields.STORED(),
        title=fields.TEXT(analyzer=text, stored=True),
        title_sort=fields.COLUMN(columns.VarBytesColumn()),
        headings=fields.TEXT(analyzer=text),
        brands=fields.TEXT(analyzer=text),
        # spelling=True keeps unstemmed words aside for "did you mean" suggestions.
        body=fields.TEXT(analyzer=text, stored=True, spelling=True),
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
