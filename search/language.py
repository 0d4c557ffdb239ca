"""Which language a query is in (English or Spanish), and the fields, words and weights of each.

A bilingual knowledge base answers a query in the query's language: its words are compared with
the words of each language's pages (how common each is there), with the stop words of both
languages, and with what only Spanish is written with (accents, ñ, ¿ ¡). Pages in the other
language still count, at `OTHER_LANGUAGE_WEIGHT`, so one that matches much better (a drug name,
a word only they have) can still come first.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from whoosh.reading import IndexReader

from .bm25f import language_pages
from .errors import QuerySyntaxError
from .schema import (
    SPANISH_FIELDS,
    SPANISH_SPELLING_FIELD,
    SPANISH_STOP_WORDS,
    SPELLING_FIELD,
    STOP_WORDS,
    TEXT_FIELDS,
    english_term,
    spanish_term,
    spelling_word,
)

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "es")
FIELDS: dict[Language, tuple[str, ...]] = {"en": TEXT_FIELDS, "es": SPANISH_FIELDS}
BODY: dict[Language, str] = {"en": "body", "es": "body_es"}
SPELLING: dict[Language, str] = {"en": SPELLING_FIELD, "es": SPANISH_SPELLING_FIELD}

# A page in the other language than the query's scores this share of its score: it comes first
# only when it matches several times better (measured on tests/bilingual; README, Languages).
OTHER_LANGUAGE_WEIGHT = 0.25
# A query's language is decided when the evidence for one side passes this (a sum of log-ratios).
DECIDE_AT = 0.75
# One word's evidence is capped, so a single rare word does not outvote the rest of the query.
WORD_EVIDENCE = 4.0
# A word that is about as common in both languages' pages (retinoblastoma, Merkel) says nothing.
NEUTRAL_BELOW = 1.0
# Written only in Spanish: inverted marks, accented vowels, ñ. Each counts as a strong word.
_SPANISH_MARKS = re.compile(r"[¿¡ñáéíóúü]", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_ALIASES: dict[str, Language] = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "es": "es",
    "spa": "es",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
}


def parse_language(value: str | None) -> Language | None:
    """`en`/`es` (or their names, or a tag like `es-MX`) as a language; None or `auto` for none."""
    if value is None or value.strip().lower() in ("", "auto"):
        return None
    found = _ALIASES.get(value.strip().lower().split("-")[0].split("_")[0])
    if found is None:
        raise QuerySyntaxError(f"unknown query language {value!r}; use en, es or auto")
    return found


def field_language(fieldname: str) -> Language:
    """The language of a text field."""
    return "es" if fieldname in SPANISH_FIELDS else "en"


def languages_present(reader: IndexReader) -> tuple[Language, ...]:
    """The languages the index has pages in."""
    pages = language_pages(reader)
    return tuple(lang for lang, count in zip(LANGUAGES, pages, strict=True) if count)


def _word_evidence(word: str, reader: IndexReader, pages: dict[Language, int]) -> float:
    """Evidence that `word` is English (positive) or Spanish (negative): the log-ratio of the
    shares of each language's pages that have it in a title or heading (its stem: the words a
    language's pages are about), plus the same for pages that use it as typed, anywhere (the
    form: `vitamin` is English, `vitamina` Spanish, though they share a stem). Titles first,
    because Spanish pages cite English titles in their bodies; a word about as common in both
    languages says nothing."""

    def share(count: int, language: Language) -> float:
        return (count + 0.5) / pages[language]

    english_stem, spanish_stem = english_term(word), spanish_term(word)
    english_topics = sum(reader.doc_frequency(f, english_stem) for f in ("title", "headings"))
    spanish_topics = sum(reader.doc_frequency(f, spanish_stem) for f in ("title_es", "headings_es"))
    english_form, spanish_form = spelling_word(word), spelling_word(word, spanish=True)
    english_uses = reader.doc_frequency(SPELLING_FIELD, english_form) if english_form else 0
    spanish_uses = reader.doc_frequency(SPANISH_SPELLING_FIELD, spanish_form) if spanish_form else 0
    evidence = math.log(share(english_topics, "en") / share(spanish_topics, "es")) + math.log(
        share(english_uses, "en") / share(spanish_uses, "es")
    )
    if abs(evidence) < NEUTRAL_BELOW:
        return 0.0
    return max(-WORD_EVIDENCE, min(WORD_EVIDENCE, evidence))


def detect(text: str, reader: IndexReader) -> Language | None:
    """The language `text` is written in, or None when nothing tells (`retinoblastoma`).

    Spanish marks and each language's own stop words count one word each way; content words
    count by how much more common they are in one language's pages (only when the index has
    both languages).
    """
    evidence = -WORD_EVIDENCE * len(_SPANISH_MARKS.findall(text))
    present = languages_present(reader)
    english_pages, spanish_pages = language_pages(reader)
    pages: dict[Language, int] = {"en": max(1, english_pages), "es": max(1, spanish_pages)}
    for word in _WORD.findall(text.lower()):
        if len(word) == 1:  # a letter or digit: `vitamin E` says nothing of the language
            continue
        english_stop, spanish_stop = word in STOP_WORDS, word in SPANISH_STOP_WORDS
        if english_stop or spanish_stop:
            evidence += (1.0 if english_stop else 0.0) - (1.0 if spanish_stop else 0.0)
        elif len(present) == 2 and not word.isdigit():
            evidence += _word_evidence(word, reader, pages)
    if evidence >= DECIDE_AT:
        return "en"
    if evidence <= -DECIDE_AT:
        return "es"
    return present[0] if len(present) == 1 else None
