"""Frontmatter keys with a known meaning, and how their dates are read: what the reader
validates, the schema indexes and the query side filters on, below all three."""

from __future__ import annotations

import datetime as dt
from typing import Any

# Frontmatter keys with a known meaning: matched exactly (case-folded), lists or single values.
KEYWORD_KEYS = (
    "tags",
    "cancerTypes",
    "source",
    "sourceType",
    "status",
    "audienceLevel",
    "language",
    "license",
    "reviewFrequency",
    "version",
    "url",
)
DATE_KEYS = ("lastReviewed",)


def parse_date(value: Any) -> dt.date:
    """A frontmatter date: a YAML date, a datetime (its own calendar day), or an ISO string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (write it as YYYY-MM-DD)")
