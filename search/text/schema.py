"""The Whoosh schema and analyzers, in one place: what is indexed, how, and with what weight."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import Stemmer
from whoosh import analysis, columns, fields, formats
from whoosh.support.charset import accent_map

from ..engine.analyzed import Analyzed, TakesAnalyzed
from ..keys import DATE_KEYS, KEYWORD_KEYS
from .highlight import JOINERS, WORD
from .languages import (
    ANALYSES,
    ENGLISH,
    analysis_of,
    bigrams,
    field_analysis,
    fold,
    has_unspaced,
    split_scripts,
)

# Bump when the schema, an analyzer or the postings layout (blocks) changes: an index of another
# version needs `--full`.
SCHEMA_VERSION = 21

# Query-time field weights: a word in the title or a heading says more about a page than one in
# the body, and one in its reference list (`cited`: who wrote about the subject) much less.
# Applied at query time so tuning needs no re-index (see README, Relevance).
_WEIGHTS = {
    "title": 2.0,
    "headings": 1.5,
    "brands": 2.0,
    "description": 1.5,
    "body": 1.0,
    "cited": 0.05,
}

# Free-text fields a plain query searches, and the prefix of frontmatter keys the code doesn't know.
TEXT_FIELDS = ("title", "headings", "brands", "description", "body", "cited")
# A page in another language is analysed as that language into fields of its own (`body_de`), so
# each language's words are stemmed as that language stems them and counted among its own pages.
# Brand names are the same in every language.
LANGUAGE_FIELDS: dict[str, tuple[str, ...]] = {
    code: tuple(name + spec.suffix for name in TEXT_FIELDS if name != "brands" or code == "en")
    for code, spec in ANALYSES.items()
}
SPANISH_FIELDS = LANGUAGE_FIELDS["es"]
ALL_TEXT_FIELDS = tuple(f for fields_ in LANGUAGE_FIELDS.values() for f in fields_)
FIELD_WEIGHTS = {name: _WEIGHTS[name.split("_")[0]] for name in ALL_TEXT_FIELDS}
# The long fields, where most of a word's postings are (ranking bounds a body-only match).
BODY_FIELDS = tuple("body" + spec.suffix for spec in ANALYSES.values())
CITED_FIELDS = tuple("cited" + spec.suffix for spec in ANALYSES.values())
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


# Distinct words whose terms each cache below keeps (`english_term`, `spanish_term`,
# `word_term`, `fold_accents`): the most recent, which on Zipf-distributed text are nearly all the
# words a page uses. Small, since a reader process's memory must not grow with a corpus's
# vocabulary: 80,000 distinct words analysed leave 26 MB cached, where the earlier 100,000 /
# 200,000 words and PyStemmer's own cache of 100,000 kept 79 MB (and up to ~120 MB a process on
# larger ones).
WORD_CACHE = 32_768


@lru_cache(maxsize=64)
def _stemmer(language: str) -> Stemmer.Stemmer:
    stemmer = Stemmer.Stemmer(language)
    stemmer.maxCacheSize = 0  # every call comes through a cached function below
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

# One-letter stop words ("a", "I"; Spanish "a", "e", "o", "y") that name something when written
# as a capital after a word: vitamin A, hepatitis A, stage I, type I. Kept there, dropped elsewhere.
CAPITAL_LETTER_WORDS = frozenset(w for w in STOP_WORDS | SPANISH_STOP_WORDS if len(w) == 1)
# Between a word and a capital letter, one of these starts a new clause: "… in 2010. A trial",
# "stage IIIA, I think".
_SENTENCE_BREAK = re.compile(r"[.,!?;:\n]")
# A letter right after an apostrophe is a clitic (patient's, don't), never a term of its own.
_APOSTROPHES = "'’"
# In a reference list a lone letter is an author's initial (`Ashar B, Vargo E:`) and a lone digit
# an issue or page (`(4): 197-8`, `[5]`): not words anyone searches, and they would lengthen the
# pages that cite most (scores normalise by length).
_INITIAL = re.compile(r"[A-Z]\w*[ ]$")
_INITIAL_END = tuple(",:;.")
_ROMAN_NUMERALS = "IVX"


def _in_citation(text: str, start: int, end: int, word: str) -> bool:
    """Whether the one-character word text[start:end] is part of a citation."""
    before, after = text[start - 1 : start], text[end : end + 1]
    if before in ("(", "[") and after in (")", "]"):
        return True
    if before in ("-", ":", ";", ",") and text[max(0, start - 2) : start - 1].isdigit():
        return True
    return (
        word.isupper()
        and word not in _ROMAN_NUMERALS
        and after in _INITIAL_END
        and _INITIAL.search(text, max(0, start - 40), start) is not None
    )


# Spanish folds accents (cáncer = cancer, pulmón = pulmon) but keeps ñ: año (year) and ano (anus)
# are different words in medical text. A missing ñ is a typo that "did you mean" mends.
SPANISH_FOLDING = {code: folded for code, folded in accent_map.items() if chr(code) not in "ñÑ"}
# The stop words of the languages that have a list here; other languages keep every word (BM25's
# IDF weighs common words down).
_STOPS = {"en": STOP_WORDS, "es": SPANISH_STOP_WORDS}
_NO_STOPS: frozenset[str] = frozenset()


def stem_spanish(word: str) -> str:
    """Snowball Spanish via PyStemmer (module-level so the schema pickles)."""
    return _stemmer("spanish").stemWord(word)  # type: ignore[no-any-return]


@lru_cache(maxsize=WORD_CACHE)
def english_term(word: str) -> str:
    """What an English text field indexes for one lower-cased word (stop words aside)."""
    return stem_english(word.translate(accent_map))


@lru_cache(maxsize=WORD_CACHE)
def spanish_term(word: str) -> str:
    """What a Spanish text field indexes for one lower-cased word (stop words aside).

    Accents are folded before stemming, so a word typed without them gets the same term: the
    Snowball stemmer treats `cirugía` and `cirugia` differently (314 of the 2,199 accented words
    of the Spanish seeds), and people type Spanish without accents.
    """
    return stem_spanish(word.translate(SPANISH_FOLDING))


@lru_cache(maxsize=WORD_CACHE)
def _other_term(word: str, language: str) -> str:
    """What the fields of a language other than English and Spanish index for a lower-cased
    word: accents folded as that language folds them, then stemmed by its Snowball stemmer."""
    stemmer = ANALYSES[language].stemmer
    if not word.isascii():  # one spelling of each letter: `फ़` typed as one character or two
        word = unicodedata.normalize("NFC", word)
    folded = fold_accents(word, language)
    return _stemmer(stemmer).stemWord(folded) if stemmer else folded  # type: ignore[no-any-return]


def term_of(language: str) -> Callable[[str], str]:
    """The word → term function of a language's fields."""
    if language == "en":
        return english_term
    if language == "es":
        return spanish_term
    return functools.partial(_other_term, language=language)


def term_function(fieldname: str) -> Callable[[str], str]:
    """The word → term function of a text field's analyzer: highlighting marks the words of a
    page whose term the query asked for, without running the whole analyzer over the page."""
    return term_of(field_analysis(fieldname).code)


def suffix_of(stored: dict[str, Any]) -> str:
    """The suffix of the text fields a stored page was analysed into (`body` + it)."""
    return analysis_of(stored.get(LANGUAGE_FIELD)).suffix


def stop_words(language: str) -> frozenset[str]:
    return _STOPS.get(language, _NO_STOPS)


def _is_stop_word(lower: str, language: str) -> bool:
    stops = _STOPS.get(language)
    return stops is not None and fold_accents(lower, language) in stops


@lru_cache(maxsize=WORD_CACHE)
def word_term(lower: str, language: str) -> str | None:
    """What a text field indexes for a lower-cased word of two or more characters, None for a
    stop word; cached, so analysing a page costs one lookup for most of its words."""
    if _is_stop_word(lower, language):
        return None
    return term_of(language)(lower)


def text_terms(
    text: str, language: str = "en", mode: str = "index", words: set[str] | None = None
) -> Iterator[tuple[str, int, int, int]]:
    """(term, position, start, end) of each word a text field indexes: lower-cased, stop words
    dropped, accents folded, Snowball-stemmed. Single letters and digits are words (vitamin D,
    hepatitis B, type 2, 5-FU); a one-letter stop word counts only as a capital after a word in
    the same sentence, or, in a query, as a capital (the query side decides the context: see
    `query.mark_letter_words`). Stop words leave no gap: positions are renumbered, as Whoosh does.
    Outside a query, a joined word's parts follow it at its position (`_parts`).
    Each word of the text, lower-cased, is added to `words` if given (a spelling field's words,
    read in the same pass).
    """
    term_of_ = term_of(language)
    position = -1
    after_word = False  # the previous token was kept: a capital letter here names something
    previous_end = 0
    for index, match in enumerate(WORD.finditer(text)):
        word = match.group()
        lower = word.lower()
        if words is not None:
            words.add(lower)
        start = match.start()
        if not lower.isascii() and has_unspaced(lower):
            for piece, at, until in _pair_terms(lower, language):
                position = index if position < 0 else position + 1
                yield piece, position, start + at, start + until
            after_word, previous_end = True, match.end()
            continue
        if len(lower) > 1:
            term = word_term(lower, language)
        else:
            clitic = start > 0 and text[start - 1] in _APOSTROPHES
            cited = mode != "query" and _in_citation(text, start, match.end(), word)
            if not lower.isalnum() or clitic or cited:
                kept = False
            elif lower in CAPITAL_LETTER_WORDS and _is_stop_word(lower, language):
                kept = word.isupper() and (
                    mode == "query"
                    or (after_word and not _SENTENCE_BREAK.search(text, previous_end, start))
                )
            else:
                kept = True
            term = term_of_(lower) if kept else None
        after_word, previous_end = term is not None, match.end()
        parts = (
            _parts(lower, language, term)
            if mode != "query" and ("." in lower or "_" in lower)
            else ()
        )
        if term is None and not parts:
            continue
        position = index if position < 0 else position + 1
        if term is not None:
            yield term, position, start, match.end()
        for part in parts:
            yield part, position, start, match.end()


def _pair_terms(word: str, language: str) -> Iterator[tuple[str, int, int]]:
    """(term, start, end) in `word` of each pair of characters of its unspaced runs (CJK, Thai:
    `bigrams`), and of each run of other characters, analysed as `language` analyses words
    (`git提交`)."""
    for part, start, end, unspaced in split_scripts(word):
        if unspaced:
            for offset, pair in enumerate(bigrams(part)):
                yield pair, start + offset, start + offset + len(pair)
        else:
            term = word_term(part, language) if len(part) > 1 else part
            if term is not None:
                yield term, start, end


def _parts(lower: str, language: str, whole: str | None) -> tuple[str, ...]:
    """The terms of a joined word's parts (`config.yml`, `3.x`, `github_subdir`), indexed at
    its position beside the whole, as Lucene's word delimiter with `preserve_original` does: a
    search for `config` or `3` finds them, one for `config.yml` still matches the whole."""
    terms: dict[str, None] = {}
    for part in JOINERS.split(lower):
        if len(part) > 1 or part.isdigit():
            term = word_term(part, language) if len(part) > 1 else part
            if term is not None and term != whole:
                terms[term] = None
    return tuple(terms)


class TextAnalyzer(analysis.Analyzer):  # type: ignore[misc]
    """A text field's analyzer as Whoosh calls it (queries, phrases, feedback): `text_terms`."""

    def __init__(self, language: str = "en") -> None:
        self.language = language

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[analysis.Token]:
        token = analysis.Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:  # a wildcard or range pattern: one token, case and accents folded
            token.text = fold_accents(value.lower(), self.language)
            token.boost, token.stopped, token.pos = 1.0, False, start_pos
            token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for term, position, start, end in text_terms(value, self.language, mode):
            token.text, token.boost, token.stopped = term, 1.0, False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


# The fields of unstemmed body words that "did you mean" and typo alternatives draw from, one a
# language, so a Spanish query is never corrected into English.
SPELLING_FIELD = "spelling"
SPELLING_FIELDS = tuple(SPELLING_FIELD + spec.suffix for spec in ANALYSES.values())
# The language a page's text was analysed in ("en" or "es"): each language's BM25 statistics
# count its own pages (`language.language_pages`).
LANGUAGE_FIELD = "text_language"


class AnalyzedText(TakesAnalyzed, fields.TEXT):  # type: ignore[misc]
    """A TEXT field that also takes an `Analyzed` value; the query side is plain TEXT."""


class SpellingWords(TakesAnalyzed, fields.FieldType):  # type: ignore[misc]
    """Each distinct word of a page once, unstemmed, for spelling suggestions. Scorable only so
    that Whoosh keeps its lengths in a column (it stats a file per posting otherwise); a real
    field rather than Whoosh's `spelling=True`, whose words all point at document 0 and so
    outlive the pages that had them."""

    def __init__(self, language: str = "en") -> None:
        super().__init__(formats.Existence(), analyzer=SpellingAnalyzer(language), scorable=True)


@lru_cache(maxsize=WORD_CACHE)
def fold_accents(word: str, language: str = "en") -> str:
    """A word's accents folded as its language's fields fold them (Spanish keeps ñ)."""
    if language == "en":
        return word.translate(accent_map)
    if language == "es":
        return word.translate(SPANISH_FOLDING)
    spec = ANALYSES.get(language, ENGLISH)
    return fold(word, spec.keep) if spec.fold else word


def spelling_word(word: str, language: str = "en") -> str | None:
    """What a spelling field indexes for one lower-cased word (accents folded, not stemmed),
    None for a stop word, a single character or CJK text (its words have no spelling to
    suggest)."""
    if language not in ("en", "es") and not word.isascii():
        word = unicodedata.normalize("NFC", word)
    folded = fold_accents(word, language)
    if len(folded) < 2 or folded in stop_words(language) or has_unspaced(folded):
        return None
    return folded


def analyze(schema: fields.Schema, fieldname: str, text: str) -> Analyzed:
    """A field's postings for `text`, as its analyzer (`TextAnalyzer`, `SpellingAnalyzer`)
    would make them, computed without Whoosh's token objects (the tests compare them)."""
    boost = schema[fieldname].format.field_boost
    if fieldname in SPELLING_FIELDS:
        words = set(map(str.lower, WORD.findall(text)))
        return _spelling(words, field_analysis(fieldname).code, boost)
    return _positional(text, field_analysis(fieldname).code, boost)


def analyze_with_spelling(
    schema: fields.Schema, texts: Mapping[str, str], spelling: str
) -> tuple[dict[str, Analyzed], Analyzed]:
    """`analyze` of text fields (name -> text) and of a spelling field holding all their
    words, each text read once."""
    words: set[str] = set()
    analyzed = {
        name: _positional(text, field_analysis(name).code, schema[name].format.field_boost, words)
        for name, text in texts.items()
    }
    language = field_analysis(spelling).code
    return analyzed, _spelling(words, language, schema[spelling].format.field_boost)


def _spelling(words: set[str], language: str, boost: float) -> Analyzed:
    """A spelling field's postings from a text's lower-cased words."""
    kept = {spelling_word(word, language) for word in words}
    terms = tuple(word.encode("utf-8") for word in kept if word)
    return Analyzed(terms, array("I", itertools.repeat(1, len(terms))), None, boost)


def _positional(text: str, language: str, boost: float, words: set[str] | None = None) -> Analyzed:
    """A text field's postings (`text_terms`), each term's positions in order."""
    positions: dict[str, list[int]] = {}
    for term, position, _, _ in text_terms(text, language, words=words):
        found = positions.get(term)
        if found is None:
            positions[term] = [position]
        else:
            found.append(position)
    return Analyzed(
        tuple([term.encode("utf-8") for term in positions]),
        array("I", map(len, positions.values())),
        array("I", itertools.chain.from_iterable(positions.values())),
        boost,
    )


class SpellingAnalyzer(analysis.Analyzer):  # type: ignore[misc]
    """A spelling field's analyzer as Whoosh calls it: each word lower-cased, accents folded as
    its language folds them (Spanish keeps ñ), not stemmed; stop words, single characters and
    CJK text dropped (`spelling_word`)."""

    def __init__(self, language: str = "en") -> None:
        self.language = language

    def __call__(
        self, value: str, positions: bool = False, chars: bool = False, **kwargs: Any
    ) -> Iterator[analysis.Token]:
        kwargs.pop("removestops", None)
        token = analysis.Token(positions, chars, **kwargs)
        for position, match in enumerate(WORD.finditer(value)):
            word = spelling_word(match.group().lower(), self.language)
            if word is None:
                continue
            token.text, token.boost, token.stopped, token.pos = word, 1.0, False, position
            token.startchar, token.endchar = match.start(), match.end()
            yield token


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


@lru_cache(maxsize=1)
def _keywords() -> analysis.Analyzer:
    return keyword_analyzer()  # its tokenizer makes a new token each call: safe to share


def folded_value(value: str) -> list[str]:
    """A frontmatter value as the keyword fields index it (`keyword_analyzer`)."""
    return [token.text for token in _keywords()(value)]


def same_value(a: str, b: str) -> bool:
    """Whether two frontmatter values are one to a filter (case and accents folded)."""
    return folded_value(a) == folded_value(b)


# Joins a facet label's parts (`label_token`); never occurs in a value.
LABEL_JOINT = "\x1e"
LABELS_FIELD = "labels"


def label_token(key: str, value: str) -> str | None:
    """`value` of frontmatter key `key` as indexed (folded) and as written, in one term of
    `LABELS_FIELD`: facets count the folded values and show them as pages write them
    (`estómago`, not `estomago`). None: a blank value, or one that cannot be joined."""
    folded = folded_value(value)
    written = value.strip()
    if len(folded) != 1 or LABEL_JOINT in key + written:
        return None
    return LABEL_JOINT.join((key, folded[0], written))


def field_name(key: str) -> str:
    """The index field that holds a frontmatter key (unknown keys get a safe prefixed name)."""
    if key in KEYWORD_KEYS or key in DATE_KEYS:
        return key
    return DYNAMIC_PREFIX + _NOT_A_NAME_CHAR.sub("_", key)


@lru_cache(maxsize=1)
def build_schema() -> fields.Schema:
    """The schema of a new index."""
    text = TextAnalyzer()
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        path=fields.STORED(),
        page_url=fields.STORED(),  # where the page is published ("" when unknown)
        language_tag=fields.STORED(),  # [its language tag, how it was found (`language_from`)]
        # What the page's translations share (`sites.translation_key`): a hit links to them.
        translation=fields.ID(stored=True),
        title=AnalyzedText(analyzer=text, stored=True),
        title_sort=fields.COLUMN(columns.VarBytesColumn()),
        headings=AnalyzedText(analyzer=text),
        brands=AnalyzedText(analyzer=text),
        # The frontmatter's summary of the page (`description`, `summary`, `excerpt`).
        description=AnalyzedText(analyzer=text),
        body=AnalyzedText(analyzer=text),
        # The page's reference lists (`highlight.is_reference`), apart from its body.
        cited=AnalyzedText(analyzer=text),
        spelling=SpellingWords(),
        # The visible text, stored once for snippets and `show`, whatever its language.
        content=fields.STORED(),
        # [heading, anchor, offset in content] of each anchored heading: a hit's best sections.
        sections=fields.STORED(),
        # [start, end] in content of each code block: snippets show prose unless only code matches.
        code=fields.STORED(),
        # [start, end] in content of each reference list: never a hit's best section or snippet.
        cited_spans=fields.STORED(),
        metadata=fields.STORED(),
        # Days from lastReviewed to 9999-12-31: sorting on it ascending lists the newest first
        # and undated documents last (a DATETIME column would put them first in reverse).
        review_age=fields.COLUMN(columns.NumericColumn("I", default=NO_DATE_AGE)),
        # size:mtime_ns:sha256 of the file, read back as a column for cheap change detection.
        fingerprint=fields.COLUMN(columns.VarBytesColumn()),
        # The files the page includes, a "path<TAB>size:mtime_ns" line each: a change re-reads it.
        includes=fields.COLUMN(columns.VarBytesColumn()),
        # Each frontmatter value as written beside its folded form (`label_token`).
        labels=fields.FieldType(
            format=fields.formats.Existence(),
            analyzer=analysis.RegexTokenizer(f"[^{VALUE_SEPARATOR}]+"),
            scorable=False,
        ),
    )
    for code, spec in ANALYSES.items():
        if code == "en":
            continue
        analyzer = TextAnalyzer(code)
        for name in LANGUAGE_FIELDS[code]:
            schema.add(name, AnalyzedText(analyzer=analyzer))
        schema.add(SPELLING_FIELD + spec.suffix, SpellingWords(code))
    schema.add(LANGUAGE_FIELD, fields.ID(stored=True))
    for key in KEYWORD_KEYS:
        schema.add(key, keyword_field())
    for key in DATE_KEYS:
        schema.add(key, fields.DATETIME(sortable=True))
    schema.add(DYNAMIC_PREFIX + "*", keyword_field(), glob=True)
    return schema
