"""Which language a query is in, among the languages the index has pages in, and the fields of
each language.

The script decides first (Kana is Japanese, Hangul Korean, Cyrillic Russian or Serbian, ...),
among the languages present that write it. Between languages of one script, the query's words
are compared with the words of each language's pages (how common each is there), with the stop
words of the languages that have a list, and with what only Spanish is written with (¿ ¡ ñ);
beyond English against Spanish (where these measured best), the text detector's odds and a
head start for the main language count too, and a word both the main language's pages and
another's write is a borrowed one, no evidence either way. Pages in other languages still
count, at `OTHER_LANGUAGE_WEIGHT`, so one that matches much better (a drug name, a word only
they have) can still come first; one that matches worse than the query language's best page is
left out (`outmatched`).
"""

from __future__ import annotations

import math
import re
import weakref
from itertools import combinations

from whoosh.reading import IndexReader

from ..errors import QuerySyntaxError
from ..text.highlight import WORD_CHARS
from ..text.languages import (
    ANALYSES,
    analysis_of,
    bigrams,
    field_analysis,
    has_unspaced,
    normalize_tag,
    scripts_of,
    text_language_odds,
)
from ..text.schema import (
    LANGUAGE_FIELD,
    LANGUAGE_FIELDS,
    SPELLING_FIELD,
    spelling_word,
    stop_words,
    term_of,
)

Language = str  # an analysed language's code (`Analysis.code`): "en", "es", "de", "zh", ...
LANGUAGES: tuple[Language, ...] = tuple(ANALYSES)
FIELDS: dict[Language, tuple[str, ...]] = LANGUAGE_FIELDS
BODY: dict[Language, str] = {code: "body" + a.suffix for code, a in ANALYSES.items()}
SPELLING: dict[Language, str] = {code: SPELLING_FIELD + a.suffix for code, a in ANALYSES.items()}

# A page in another language than the query's scores this share of its score: it comes first
# only when it matches several times better (measured on tests/bilingual; README, Languages).
OTHER_LANGUAGE_WEIGHT = 0.25
# A query's language is decided when the evidence for one side passes this (a sum of log-ratios).
DECIDE_AT = 0.75
# One word's evidence is capped, so a single rare word does not outvote the rest of the query.
WORD_EVIDENCE = 4.0
# A language with fewer pages than this (or than a tenth of the index) is not weighed as a
# query's language by its words: a page or two say nothing of which words are its own.
MIN_PAGES = 10
# The knowledge base's main language (`main_language`) starts this far ahead: technical words
# that other languages borrow (`debugger`, `Branches` in German pages) stay its own.
MAIN_PRIOR = 1.0
# A word that the main language's pages and another's each write as typed, on at least this
# share of their pages, is one the other borrowed (`git`, `commit`, `Branches` in German pages):
# which has it more often says what their pages are about, not which language it is (tldr's
# French pages are 16% git's, its English ones 6%).
SHARED_SHARE = 0.0005
# A word that is about as common in both languages' pages (retinoblastoma, Merkel) says nothing.
NEUTRAL_BELOW = 1.0
# Written in Spanish, not in English: inverted marks, accented vowels, ñ. Each counts as a strong
# word for Spanish against English; against other languages only ¿ ¡ ñ do (French writes é too).
_SPANISH_MARKS = re.compile(r"[¿¡ñáéíóúü]", re.IGNORECASE)
_ONLY_SPANISH_MARKS = re.compile(r"[¿¡ñ]", re.IGNORECASE)
_WORD = re.compile(f"[{WORD_CHARS}]+")
# The scripts that name their languages at once, each with the languages that write it.
_SCRIPT_LANGUAGES = {
    "Kana": ("ja",),
    "Hangul": ("ko",),
    "Han": ("zh", "ja"),  # in this order of preference
}

_PRESENT: weakref.WeakKeyDictionary[IndexReader, tuple[Language, ...]] = weakref.WeakKeyDictionary()


def parse_language(value: str | None) -> Language | None:
    """A language tag or name (`de`, `pt-BR`, `Deutsch`) as the language its analysis is in;
    None or `auto` for none."""
    if value is None or value.strip().lower() in ("", "auto"):
        return None
    tag = normalize_tag(value)
    code = analysis_of(tag).code if tag else None
    if code is None or code == "und":
        raise QuerySyntaxError(
            f"unknown query language {value!r}; use auto or a language code "
            f"({', '.join(c for c in LANGUAGES if c != 'und')})"
        )
    return code


# Pages of each language per reader: read once, as every scored word asks (a reader never
# changes).
_LANGUAGE_PAGES: weakref.WeakKeyDictionary[IndexReader, dict[str, int]] = (
    weakref.WeakKeyDictionary()
)


def language_pages(reader: IndexReader) -> dict[str, int]:
    """The pages of each language an index has (`Analysis.code`: count), deleted ones included
    as in `doc_count_all`; pages of no recorded language count as English."""
    pages = _LANGUAGE_PAGES.get(reader)
    if pages is None:
        pages = {code: reader.doc_frequency(LANGUAGE_FIELD, code) for code in ANALYSES}
        pages["en"] += max(0, reader.doc_count_all() - sum(pages.values()))
        _LANGUAGE_PAGES[reader] = pages
    return pages


_OTHER_PAGES: weakref.WeakKeyDictionary[IndexReader, dict[Language, frozenset[int]]] = (
    weakref.WeakKeyDictionary()
)


def other_language_pages(reader: IndexReader, language: Language) -> frozenset[int]:
    """The index-wide docnums of the pages in another language than `language` (pages of no
    recorded language are English's), read once per reader."""
    found = _OTHER_PAGES.setdefault(reader, {})
    if language not in found:

        def pages_of(code: Language) -> frozenset[int]:
            if not reader.doc_frequency(LANGUAGE_FIELD, code):
                return frozenset()
            return frozenset(reader.postings(LANGUAGE_FIELD, code).all_ids())

        if language == "en":  # every recorded language's pages but English's
            others = [pages_of(code) for code in languages_present(reader) if code != "en"]
            found[language] = frozenset().union(*others)
        else:
            found[language] = frozenset(range(reader.doc_count_all())) - pages_of(language)
    return found[language]


def outmatched(scores: dict[int, float], language: Language, reader: IndexReader) -> frozenset[int]:
    """The pages in another language than the query's that match worse than its language's
    best page (their score, weighed by `OTHER_LANGUAGE_WEIGHT`, under that share of the best
    one's): listed, they would only fill the list with pages that share a word or a name."""
    others = other_language_pages(reader, language)
    if not others:
        return frozenset()
    best = max((s for d, s in scores.items() if d not in others), default=None)
    if best is None:  # no page in the query's language matches: every other one may
        return frozenset()
    floor = OTHER_LANGUAGE_WEIGHT * best
    return frozenset(d for d, s in scores.items() if s < floor and d in others)


def field_pages(reader: IndexReader, fieldname: str) -> int:
    """The pages analysed in the language of `fieldname`: what its BM25 statistics count
    (`bm25f.FieldRoles.pages`)."""
    return language_pages(reader)[field_analysis(fieldname).code]


def field_language(fieldname: str) -> Language:
    """The language of a text field."""
    return field_analysis(fieldname).code


def languages_present(reader: IndexReader) -> tuple[Language, ...]:
    """The languages the index has pages in, English first, then by their count of pages."""
    present = _PRESENT.get(reader)
    if present is None:
        pages = language_pages(reader)
        ordered = sorted((c for c in pages if pages[c]), key=lambda c: (c != "en", -pages[c], c))
        present = _PRESENT[reader] = tuple(ordered)
    return present


def _counts(word: str, reader: IndexReader, language: Language) -> tuple[int, int, int]:
    """How many of `language`'s pages have `word` in a title or heading (its term: the words a
    language's pages are about), and how many use it as typed, anywhere (the form: `vitamin` is
    English, `vitamina` Spanish, though they share a stem), and how many have its term in their
    text (an inflected form: `klonen` where the pages write `Klone`). A CJK word, which has no
    spelling form: the pages that have its rarest pair of characters, each time."""
    suffix = ANALYSES[language].suffix
    if has_unspaced(word):
        used = min(reader.doc_frequency("body" + suffix, pair) for pair in bigrams(word))
        return used, used, used
    term = term_of(language)(word)
    topics = sum(reader.doc_frequency(f + suffix, term) for f in ("title", "headings"))
    form = spelling_word(word, language)
    uses = reader.doc_frequency(SPELLING_FIELD + suffix, form) if form else 0
    return topics, uses, reader.doc_frequency("body" + suffix, term)


def _log_ratio(first: int, second: int, first_pages: int, second_pages: int) -> float:
    """log of the ratio of two languages' shares of pages with a word (smoothed); none from a
    word neither has, whatever their sizes."""
    if first == 0 and second == 0:
        return 0.0
    return math.log(((first + 0.5) / first_pages) / ((second + 0.5) / second_pages))


def _shared(uses: int, pages: int) -> bool:
    """Whether a language's pages write a word as typed often enough for it to be one of
    theirs (`SHARED_SHARE`)."""
    return uses > 0 and uses >= SHARED_SHARE * pages


def _candidates(
    text: str, present: tuple[Language, ...], pages: dict[Language, int]
) -> tuple[Language, ...]:
    """The languages present that write the query's most telling script (all present when none
    does). Between languages of one script, words are the evidence, and a language of a handful
    of pages (`MIN_PAGES`: one page detected as Latin) or of no analysis of its own (`und`) has
    too few to weigh; the main language stays a candidate whatever its size."""
    for script in scripts_of(text):
        named = _SCRIPT_LANGUAGES.get(script, ())
        writers = [c for c in named if c in present]
        writers += [c for c in present if ANALYSES[c].script == script and c not in writers]
        if len(writers) == 1:
            return tuple(writers)
        if writers:
            present = tuple(writers)
            break
    enough = min(MIN_PAGES, sum(pages.values()) / 10)
    weighed = tuple(
        c for c in present if c == present[0] or (c != "und" and pages.get(c, 0) >= enough)
    )
    return weighed or present


def detect(text: str, reader: IndexReader) -> Language | None:
    """The language `text` is written in, or None when nothing tells (`retinoblastoma`).

    The script narrows the languages to those that write it. Between two languages, Spanish
    marks and each language's own stop words count one word each way; content words count by
    how much more common they are in one language's pages. A language is chosen when it beats
    every other candidate by `DECIDE_AT`.
    """
    present = languages_present(reader)
    pages = language_pages(reader)
    candidates = _candidates(text, present, pages) if present else ("en", "es")
    if len(present) <= 1 and set(candidates) <= {"en", "es"}:
        candidates = ("en", "es")  # stop words and marks still tell English from Spanish
    if len(candidates) == 1:
        return candidates[0]
    words = [w for w in _WORD.findall(text.lower()) if len(w) > 1]
    spanish_marks = len(_SPANISH_MARKS.findall(text))
    only_spanish_marks = len(_ONLY_SPANISH_MARKS.findall(text))
    counts: dict[tuple[str, Language], tuple[int, int, int]] = {}
    told: dict[str, float] = {}  # the detector's odds, when asked for (below)
    main = present[0] if present else "en"

    def evidence(first: Language, second: Language) -> float:
        """Evidence that `text` is in `first` rather than `second` (negative: `second`)."""
        measured = {first, second} == {"en", "es"}  # words alone measured best there
        prior = 0.0 if measured else MAIN_PRIOR * ((first == main) - (second == main))
        english = "en" in (first, second)
        marks = spanish_marks if english else only_spanish_marks
        total = prior + WORD_EVIDENCE * marks * ((first == "es") - (second == "es"))
        if not measured and first in told and second in told:
            said = math.log(told[first] / told[second])
            total += max(-WORD_EVIDENCE, min(WORD_EVIDENCE, said))
        both_present = pages.get(first, 0) > 0 and pages.get(second, 0) > 0
        borrowing = not measured and main in (first, second)
        for word in words:
            in_first, in_second = word in stop_words(first), word in stop_words(second)
            if in_first or in_second:
                total += in_first - in_second
            elif both_present and not word.isdigit():
                for lang in (first, second):
                    if (word, lang) not in counts:
                        counts[word, lang] = _counts(word, reader, lang)
                (topics_1, uses_1, text_1) = counts[word, first]
                (topics_2, uses_2, text_2) = counts[word, second]
                one, two = pages[first], pages[second]
                if borrowing and _shared(uses_1, one) and _shared(uses_2, two):
                    continue  # both write it: how often tells what their pages are about
                said = _log_ratio(topics_1, topics_2, one, two)
                said += _log_ratio(uses_1, uses_2, one, two)
                if not measured:
                    said += _log_ratio(text_1, text_2, one, two)
                if abs(said) >= NEUTRAL_BELOW or has_unspaced(word):
                    total += max(-WORD_EVIDENCE, min(WORD_EVIDENCE, said))
        return total

    def margins() -> dict[Language, float]:
        """Each candidate's least evidence against another."""
        beaten: dict[Language, float] = {lang: math.inf for lang in candidates}
        for first, second in combinations(candidates, 2):
            said = evidence(first, second)
            beaten[first] = min(beaten[first], said)
            beaten[second] = min(beaten[second], -said)
        return beaten

    beaten = margins()
    # The detector (~0.7 s to load) moves each margin by WORD_EVIDENCE at most: asked only when
    # that could change the outcome.
    settled = any(m - WORD_EVIDENCE >= DECIDE_AT for m in beaten.values()) or (
        all(m + WORD_EVIDENCE < DECIDE_AT for m in beaten.values())
        and not set(candidates) <= {"zh", "ja"}
    )
    if not settled and set(candidates) - {"en", "es"}:
        told.update(text_language_odds(text, candidates))
        if told:
            beaten = margins()
    for lang in candidates:
        if beaten[lang] >= DECIDE_AT:
            return lang
    # Han alone: the likelier of Chinese and Japanese, Chinese when nothing tells (Japanese
    # writes Kana too).
    if set(candidates) <= {"zh", "ja"}:
        return max(candidates, key=lambda lang: (beaten[lang], lang == candidates[0]))
    return present[0] if len(present) == 1 else None


def main_language(reader: IndexReader) -> Language | None:
    """The language a query in no particular language favours (`git commit`, words every
    language's pages use): English when the index has English pages, else its most common."""
    present = languages_present(reader)
    return present[0] if present else None
