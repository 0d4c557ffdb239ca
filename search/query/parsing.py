"""User text -> Whoosh query: plain words or full syntax, filters, sorting and suggestions."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Literal

from whoosh import qparser, sorting
from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.reading import IndexReader
from whoosh.searching import Searcher
from whoosh.support.levenshtein import distance

from ..budgets import MAX_EXPANDED_TERMS, MAX_QUERY_CHARS, MAX_SCANNED_TERMS, MAX_TYPO_WORDS
from ..engine.bm25f import Completions, FieldsTerm, boosted, fold_fields
from ..errors import QuerySyntaxError
from ..keys import DATE_KEYS, KEYWORD_KEYS, parse_date
from ..text.highlight import WORD_CHARS
from ..text.languages import ENGLISH_NAMES, has_unspaced, normalize_tag
from ..text.schema import (
    ALL_TEXT_FIELDS,
    BODY_FIELDS,
    CAPITAL_LETTER_WORDS,
    DYNAMIC_PREFIX,
    FIELD_WEIGHTS,
    SPANISH_STOP_WORDS,
    STOP_WORDS,
    TEXT_FIELDS,
    VALUE_SEPARATOR,
    field_name,
    spelling_word,
)
from ..text.spelling import closest_words
from ..text.synonyms import Synonyms, with_synonyms
from .language import (
    BODY,
    FIELDS,
    LANGUAGES,
    OTHER_LANGUAGE_WEIGHT,
    SPELLING,
    Language,
    field_language,
    language_pages,
    languages_present,
    main_language,
)

QueryMode = Literal["auto", "plain"]
# A query word that this share of its language's pages use is a word of its grammar (`de`,
# `the`): it does not look in another language's pages that use it a tenth as often. Counted
# only for a language of this many pages.
FUNCTION_WORD_SHARE = 0.3
FUNCTION_WORD_MIN_PAGES = 20
# Adjacent query words found within this many positions of each other add a phrase-like bonus.
PROXIMITY_BOOST = 0.1
PROXIMITY_SLOP = 1
PROXIMITY_FIELDS = BODY_FIELDS
# Titles whose words also score on their own (`bm25f.TITLE_BONUS`): the English and Spanish
# ones, where it was measured.
TITLE_FIELDS = ("title", "title_es")
# A prefix, wildcard or fuzzy term expands to at most this many index terms (the most frequent).
MAX_EXPANSIONS = 64
# "Did you mean" looks this many edits away for a word that is not in the index.
SUGGEST_MAX_EDITS = 2
# ...keeping the first letter: people rarely mistype it, and it makes the search 10x smaller.
SUGGEST_PREFIX = 1
# A word not in the index also searches this many closest indexed words, each weighted lower.
TYPO_ALTERNATIVES = 2
TYPO_WEIGHT = 0.8
TYPO_MIN_CHARS = 4  # shorter words have too many neighbours one edit away

SORT_KEYS = ("relevance", "lastReviewed", "-lastReviewed", "title", "-title")

_W = f"[{WORD_CHARS}]"  # a word's character, combining marks included (`हिन्दी`)
_WORD = re.compile(rf"{_W}+(?:['’.-]{_W}+)*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A `?` that ends a word is a question mark, not a one-character wildcard.
_QUESTION_MARK = re.compile(rf"(?<={_W})\?+(?=\s|$)")
Filters = Mapping[str, str | Sequence[str]]


def clean_text(text: str) -> str:
    """Bound the length and drop control characters; what is left is what the person meant."""
    return mark_letter_words(_CONTROL.sub(" ", text[:MAX_QUERY_CHARS]).strip())


_FIRST_LETTER = re.compile(rf"\w(?!{_W})")
# A word of one letter or digit, or a number: it qualifies the word before it.
_SHORT = r"[^\W_]|\d+"
_SHORT_WORD = re.compile(_SHORT)
# In the query syntax, such a word after a plain word (not a field value, not an operator) is
# quoted with it, as `attach_short_words` joins them; a number with dots in it (`4.4.1`) is a
# word of its own, as `query_words` reads it.
_SHORT_AFTER_WORD = re.compile(
    rf"(?<![{WORD_CHARS}:\"*?~-])([^\W\d_]{_W}*)\s+({_SHORT})(?![{WORD_CHARS}:*?~\"-]|\.\w)"
)
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})


def quote_short_words(text: str) -> str:
    """`vitamin D` as `"vitamin D"` in a query without quotes (see `attach_short_words`)."""
    if '"' in text:
        return text

    def quote(match: re.Match[str]) -> str:
        word, short = match.groups()
        if word in _OPERATORS or _is_article(short):
            return match.group()
        return f'"{word} {short}"'

    return _SHORT_AFTER_WORD.sub(quote, text)


# A one-letter word, the word before it and what stands between them.
_LETTER_WORD = re.compile(rf"({_W}+)(\s+)(\w)(?!{_W})(?=(\s*(?:[\"')\]]|$))?)")


def mark_letter_words(text: str) -> str:
    """Write as a capital each one-letter stop word that names something (`vitamin a` →
    `vitamin A`), as a small letter each one that does not (`what is A tumor`): the analyzers
    keep a capital one. A letter names something after a content word, when typed as a capital
    or when it ends the query or a phrase (an article never ends one)."""

    def mark(match: re.Match[str]) -> str:
        before, space, letter, ends = match.groups()
        if letter.lower() not in CAPITAL_LETTER_WORDS:
            return match.group()
        word = before.lower()
        after_word = len(word) > 1 and word not in STOP_WORDS and word not in SPANISH_STOP_WORDS
        names = after_word and (letter.isupper() or ends is not None)
        return before + space + (letter.upper() if names else letter.lower())

    text = _LETTER_WORD.sub(mark, text)
    first = _FIRST_LETTER.match(text)  # a letter that starts the query has no word before it
    if first and first.group().lower() in CAPITAL_LETTER_WORDS:
        text = first.group().lower() + text[1:]
    return text


def query_words(text: str) -> list[str]:
    """The words of a query as a person reads them, syntax ignored."""
    return _WORD.findall(clean_text(text))


def content_terms(text: str, schema: Schema, language: Language | None = None) -> list[str]:
    """The analysed terms of a query's words (stop words dropped, stemmed), as the body of the
    query's language has them."""
    body = schema[BODY[language or "en"]]
    return list(body.process_text(clean_text(text), mode="query"))


def _field_query(fieldname: str, word: str, schema: Schema) -> list[wq.Query]:
    """One typed word in one field: its terms, or a phrase when it joins a letter or a number
    to a word (5-FU, BRCA1/2): such a part means nothing alone. Other compounds (heat-transfer,
    HER2-positive) search their parts, and the proximity bonus favours them side by side."""
    tokens = list(schema[fieldname].process_text(word, mode="query"))
    boost = FIELD_WEIGHTS.get(fieldname, 1.0)
    if joins_a_short_part(tokens):
        return [wq.Phrase(fieldname, tokens, boost=boost)]
    return [wq.Term(fieldname, token, boost=boost) for token in tokens]


def joins_a_short_part(tokens: Sequence[str]) -> bool:
    """Whether a typed word's terms are a letter or a number joined to a word (5-FU, BRCA1/2),
    or pairs of CJK characters (`不可变` is `不可 可变`): the terms mean the word only in a row."""
    if len(tokens) < 2:
        return False
    return any(len(token) == 1 or token.isdigit() or has_unspaced(token) for token in tokens)


class _Parser(qparser.QueryParser):  # type: ignore[misc]
    """Whoosh's parser, with a typed word of several terms read as `_field_query` reads it."""

    def multitoken_query(
        self, spec: str, texts: list[str], fieldname: str, termclass: type, boost: float
    ) -> wq.Query:
        if joins_a_short_part(texts):
            return self.phraseclass(fieldname, texts, boost=boost)
        return super().multitoken_query(spec, texts, fieldname, termclass, boost)


def _proximity(field: str, tokens: Sequence[str]) -> list[wq.Query]:
    """Optional phrase clauses for each pair of adjacent query words: pages where the words
    stand together ("red blood", "heat transfer") rank above pages that merely contain both."""
    if PROXIMITY_BOOST <= 0:
        return []
    return [
        wq.Phrase(field, [first, second], slop=PROXIMITY_SLOP, boost=PROXIMITY_BOOST)
        for first, second in itertools.pairwise(tokens)
        if first != second
    ]


def search_fields(reader: IndexReader) -> tuple[str, ...]:
    """The text fields a query searches: English's, and another language's only when it has
    pages."""
    present = set(reader.indexed_field_names())
    return TEXT_FIELDS + tuple(f for f in ALL_TEXT_FIELDS if f in present and f not in TEXT_FIELDS)


def _is_article(short: str) -> bool:
    """A one-letter stop word written small: `mark_letter_words` took it for an article or a
    conjunction (`start a blog`, `cáncer y dolor`), which qualifies no word."""
    return short.islower() and short in CAPITAL_LETTER_WORDS


def attach_short_words(words: Sequence[str]) -> list[str]:
    """Words as people mean them: a letter or a number after a word belongs to it (vitamin D,
    hepatitis B, type 2), so the two are searched as one phrase, never the word alone; an
    article does not (`start a blog`)."""
    joined: list[str] = []
    for word in words:
        attaches = _SHORT_WORD.fullmatch(word) and not _is_article(word)
        if joined and attaches and not _SHORT_WORD.fullmatch(joined[-1]):
            joined[-1] += " " + word
        else:
            joined.append(word)
    return joined


def plain_query(text: str, schema: Schema, fieldnames: Sequence[str] = TEXT_FIELDS) -> wq.Query:
    """Every word OR'ed across the text fields, plus a bonus where adjacent words stand together;
    a word with a letter or number attached (`attach_short_words`) is a phrase."""
    per_word: list[wq.Query] = []
    tokens: dict[str, list[str]] = {}
    for word in attach_short_words(query_words(text)):
        subqueries = [q for f in fieldnames for q in _field_query(f, word, schema)]
        if subqueries:
            per_word.append(wq.Or(subqueries))
        for term in subqueries:
            words = term.words if isinstance(term, wq.Phrase) else [term.text]  # type: ignore[attr-defined]
            tokens.setdefault(term.fieldname, []).extend(words)  # type: ignore[attr-defined]
    if not per_word:
        return wq.NullQuery
    clauses = per_word + [
        clause for field in PROXIMITY_FIELDS for clause in _proximity(field, tokens.get(field, []))
    ]
    if len(clauses) == 1:
        return clauses[0]
    return wq.Or(clauses)


def _aliases(reader: IndexReader) -> dict[str, list[str]]:
    """Field names a person may type: any metadata key as written, known keys in any case."""
    aliases: dict[str, list[str]] = {}
    for name in reader.indexed_field_names():
        if name.startswith(DYNAMIC_PREFIX):
            aliases[name] = [name[len(DYNAMIC_PREFIX) :]]
    for key in (*KEYWORD_KEYS, *DATE_KEYS):
        if key.lower() != key:
            aliases.setdefault(key, []).append(key.lower())
    return aliases


class _Clauses(wq.Or):  # type: ignore[misc]
    """The OR of a query's clauses as the parser builds it. Not a plain `Or`, so Whoosh's
    `normalize` does not merge each word's OR of fields into it, deep-copying every field term
    (a tenth of a query's parsing, with 11 languages' fields); `plain_ors` merges them."""


class _ClauseGroup(qparser.OrGroup):  # type: ignore[misc]
    qclass = _Clauses


def one_word_phrases_as_terms(q: wq.Query) -> wq.Query:
    """Each phrase of one word (`"a blog"`: the article is a stop word) as that word's term
    with the phrase's boost, its field's weight, before the query is normalized: Whoosh's
    `Phrase.normalize` makes the term without it, and the word was then scored in each field
    apart (`fold_fields` folds a word's terms whose boosts are their fields' weights)."""
    if type(q) is wq.Phrase:
        words = [w for w in q.words if w is not None]
        if len(words) == 1:
            term = wq.Term(q.fieldname, words[0], boost=q.boost)
            if q.char_ranges:
                term.startchar, term.endchar = q.char_ranges[q.words.index(words[0])]
            return term
        return q
    return q if q.is_leaf() else q.apply(one_word_phrases_as_terms)


def plain_ors(q: wq.Query) -> wq.Query:
    """`q` with each `_Clauses` a plain `Or` whose nested ORs are merged into it, as Whoosh's
    `normalize` merges them (boosts multiplied, the same terms once), copying only the terms
    whose boost changes."""
    if q.is_leaf():
        return q
    q = q.apply(plain_ors)
    if type(q) is not _Clauses:
        return q
    merged: list[wq.Query] = []
    for sub in q.subqueries:
        if isinstance(sub, wq.Or):
            factor = sub.boost
            merged += [s if factor == 1 else boosted(s, s.boost * factor) for s in sub.subqueries]
        else:
            merged.append(sub)
    plain = wq.Or(merged, boost=q.boost, minmatch=q.minmatch, scale=q.scale)
    return plain.normalize()  # type: ignore[no-any-return]


def syntax_parser(schema: Schema, reader: IndexReader) -> qparser.QueryParser:
    """The full query language: AND/OR/NOT, phrases, field:value, prefix*, fuzzy~, ranges."""
    parser = _Parser(None, schema, group=_ClauseGroup)
    parser.add_plugin(
        qparser.MultifieldPlugin(list(search_fields(reader)), fieldboosts=FIELD_WEIGHTS)
    )
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.add_plugin(qparser.FieldAliasPlugin(_aliases(reader)))
    return parser


def _has_syntax_damage(text: str) -> bool:
    """Unbalanced quotes or parentheses: the person did not mean syntax there."""
    return text.count('"') % 2 == 1 or text.count("(") != text.count(")")


# A word being typed (`prefix=True`) also searches this many indexed words that begin with it,
# the most common first: enough for `chem` to find chemotherapy and chemical, few enough to
# stay cheap while typing.
PREFIX_COMPLETIONS = 8
# ...once it has this many letters: one letter begins too many words to tell anything.
PREFIX_MIN_CHARS = 2
_LAST_WORD = re.compile(rf"(?:^|(?<=[\s(]))({_W}+)$")


def typed_last_word(text: str) -> str | None:
    """The word a person is still typing: the last one, when nothing follows it (no space,
    quote, `*` or `~`), it is not inside quotes nor a `field:value`, and it is long enough to
    mean something (`PREFIX_MIN_CHARS`); None otherwise."""
    text = _CONTROL.sub(" ", text[:MAX_QUERY_CHARS])
    match = _LAST_WORD.search(text)
    if match is None or text.count('"') % 2 or len(match.group(1)) < PREFIX_MIN_CHARS:
        return None
    word = match.group(1)
    return word if word.upper() not in _OPERATORS else None


def without_open_quote(text: str) -> str:
    """`text` without its last quote when that quote opens a phrase nothing closes yet: while
    a phrase is typed (`"stem cell tran`), its words are searched, the last as a prefix."""
    if text.count('"') % 2 == 0:
        return text
    at = text.rindex('"')
    return text[:at] + " " + text[at + 1 :] if at else text[1:]


def with_completions(
    q: wq.Query, schema: Schema, word: str, completions: Sequence[str]
) -> tuple[wq.Query, frozenset[tuple[str, str]]]:
    """The query with each term of `word` (the word being typed) in each field also matching
    the terms of `completions` (indexed words that begin with it) there; and the (field, term)
    pairs of `word` itself, which typo alternatives must leave alone."""
    typed: set[tuple[str, str]] = set()
    extra: dict[tuple[str, str], list[str]] = {}

    def complete(node: wq.Query) -> wq.Query:
        if type(node) is not wq.Term or node.fieldname not in ALL_TEXT_FIELDS:
            return node
        field = schema[node.fieldname]
        key = (node.fieldname, node.text)
        if key not in extra:
            if node.text not in set(field.process_text(word, mode="query")):
                extra[key] = []
            else:
                typed.add(key)
                stems = (t for w in completions for t in field.process_text(w, mode="query"))
                extra[key] = [t for t in dict.fromkeys(stems) if t != node.text]
        if not extra[key]:
            return node
        others = [wq.Term(node.fieldname, t, boost=node.boost) for t in extra[key]]
        return Completions([node, *others], word=node.text)

    return q.accept(complete), frozenset(typed)


def parse_user_query(
    text: str,
    schema: Schema,
    reader: IndexReader,
    mode: QueryMode = "auto",
    synonyms: Synonyms | None = None,
    language: Language | None = None,
    completions: tuple[str, Sequence[str]] | None = None,
    typos: bool = True,
) -> wq.Query:
    """Read what a person typed; broken syntax falls back to plain words, never to an error.

    `completions`, the word still being typed and indexed words that begin with it
    (`typed_last_word`), makes that word match them too, with no typo alternatives for it.
    `typos=False` searches unknown words as typed, without their closest spellings.

    `language` is the query's (None: unknown): pages in the other language weigh less, and
    only words unknown in that language get typo alternatives. The one error raised is for
    syntax that is whole but wrong in a way words cannot fix, such as a date range whose ends
    are not dates.
    """
    text = clean_text(text)
    fieldnames = search_fields(reader)
    if mode == "plain" or _has_syntax_damage(text):
        parsed = plain_query(text, schema, fieldnames)
        return _widen(parsed, schema, reader, synonyms, language, text, completions, typos)
    try:
        parsed = syntax_parser(schema, reader).parse(
            quote_short_words(_QUESTION_MARK.sub("", text)), normalize=False
        )
        parsed = plain_ors(one_word_phrases_as_terms(parsed).normalize())
    except Exception as exc:  # Whoosh's date and range parsers raise bare Exceptions
        raise QuerySyntaxError(
            f"cannot read the query {text!r} ({exc}); dates are written YYYY-MM-DD"
        ) from None
    if parsed is wq.NullQuery and query_words(text):
        parsed = plain_query(text, schema, fieldnames)
        return _widen(parsed, schema, reader, synonyms, language, text, completions, typos)
    parsed.accept(lambda node: _check_value(node, schema))
    parsed = parsed.accept(_exclude_negations)
    parsed = _widen(parsed, schema, reader, synonyms, language, text, completions, typos)
    return bound_expansions(parsed, reader)


def _check_value(node: wq.Query, schema: Schema) -> wq.Query:
    """A `key:value` whose value the field cannot read (`lastReviewed:""`) is a query error."""
    if isinstance(node, wq.Term) and node.fieldname in schema:
        try:
            schema[node.fieldname].to_bytes(node.text)
        except Exception:  # Whoosh's date parser raises bare Exceptions
            raise QuerySyntaxError(
                f"cannot read {node.text!r} as a value of {node.fieldname}; "
                "dates are written YYYY-MM-DD"
            ) from None
    return node


def _widen(
    q: wq.Query,
    schema: Schema,
    reader: IndexReader,
    synonyms: Synonyms | None,
    language: Language | None = None,
    text: str = "",
    completions: tuple[str, Sequence[str]] | None = None,
    typos: bool = True,
) -> wq.Query:
    """Unknown words also search their closest spellings (unless not `typos`); known words
    their synonyms; the fields of other languages than the query's (or, when it has none, the
    main one) weigh less; a word being typed, its `completions`."""
    typed: frozenset[tuple[str, str]] = frozenset()
    if completions is not None:
        q, typed = with_completions(q, schema, *completions)
    if typos:
        q = with_typo_alternatives(q, schema, reader, language, typed)
    widened = with_synonyms(q, synonyms or {}, reader)
    # Each word scored once over all text fields (BM25F), not once per field.
    widened = fold_fields(widened, FIELD_WEIGHTS, FIELDS.values(), TITLE_FIELDS)
    favoured = language or main_language(reader)
    if language is not None and text:
        widened = _without_foreign_clauses(widened, text, language, reader)
    return favour_language(widened, favoured)


def foreign_clauses(text: str, language: Language, reader: IndexReader) -> set[tuple[str, str]]:
    """(field, term) in other languages' fields that a query in `language` must not look for,
    of the words its own pages have: a word another language never writes as typed, whose
    stem there is another word's (`vitamin` is not `vitamina`, `depurador` not `depurar`), and
    a word of the query language's grammar (`de` in Portuguese: most of its pages use it) that
    another language's pages use far less, where it would match by chance (`de` in English)."""
    pages = language_pages(reader)
    found: set[tuple[str, str]] = set()

    def share(lang: Language, form: str | None) -> float:
        if form is None or pages.get(lang, 0) < FUNCTION_WORD_MIN_PAGES:
            return 0.0
        return float(reader.doc_frequency(SPELLING[lang], form)) / pages[lang]

    for word in query_words(text):
        lower = word.lower()
        if has_unspaced(lower):  # pairs of characters: the same in every language that writes them
            continue
        form = spelling_word(lower, language)
        own = list(reader.schema[BODY[language]].process_text(word, mode="query"))
        if form is None or not any(reader.doc_frequency(BODY[language], t) for t in own):
            continue  # not a word of the query's language: other languages may have it
        common = share(language, form)
        for other in languages_present(reader):
            if other == language:
                continue
            written = spelling_word(lower, other)
            unwritten = written is not None and not reader.doc_frequency(SPELLING[other], written)
            grammar = common >= FUNCTION_WORD_SHARE and share(other, written) < common / 10
            if unwritten or grammar:
                terms = list(reader.schema[BODY[other]].process_text(word, mode="query"))
                found.update((field, term) for field in FIELDS[other] for term in terms)
    return found


def _without_foreign_clauses(
    q: wq.Query, text: str, language: Language, reader: IndexReader
) -> wq.Query:
    """`q` without the clauses that look for its words in other languages' fields where they
    would match another word (`foreign_clauses`)."""
    dropped = foreign_clauses(text, language, reader)
    if not dropped:
        return q

    def keep(node: wq.Query) -> bool:
        if isinstance(node, FieldsTerm):
            return not all((t.fieldname, t.text) in dropped for t in node.subqueries)
        return not (type(node) is wq.Term and (node.fieldname, node.text) in dropped)

    def prune(node: wq.Query) -> wq.Query:
        if isinstance(node, wq.Or):
            kept = [prune(sub) for sub in node.subqueries if keep(sub)]
            if not kept:
                return wq.NullQuery
            return wq.Or(kept, boost=node.boost, scale=node.scale) if len(kept) > 1 else kept[0]
        return node

    return prune(q)


def favour_language(
    q: wq.Query, language: Language | None, weight: float = OTHER_LANGUAGE_WEIGHT
) -> wq.Query:
    """Each clause over the other language's fields than `language` scaled by `weight` (a
    `FieldsTerm` as a whole: its fields' weights inside are frequencies, not scores)."""
    if language is None or weight == 1.0:
        return q
    others = {f for lang in LANGUAGES if lang != language for f in FIELDS[lang]}

    def scale(node: wq.Query) -> wq.Query:
        if isinstance(node, FieldsTerm):
            if all(t.fieldname in others for t in node.subqueries):
                return boosted(node, node.boost * weight)
            return node
        if node.is_leaf():
            if getattr(node, "fieldname", None) in others:
                return boosted(node, node.boost * weight)
            return node
        return node.apply(scale)

    return scale(q)


def with_typo_alternatives(
    q: wq.Query,
    schema: Schema,
    reader: IndexReader,
    language: Language | None = None,
    keep: Collection[tuple[str, str]] = (),
) -> wq.Query:
    """A word its language's fields do not contain also searches that language's closest
    indexed spellings, so a misspelled drug name (`bevacizumib`) still finds its page; known
    words are left alone, and so are the other language's fields than the query's.

    When another word of the query is in the index, the query finds pages without the unknown
    word, which may be a real word the pages do not use (`refuses`): then a spelling stands in
    for it only when its term is about as long (`bevacizumab`), never a shorter word (`refs`)."""
    alternatives: dict[tuple[str, str], list[str]] = {}
    wanted = (language,) if language is not None else LANGUAGES
    known = any(
        type(t) is wq.Term
        and t.fieldname in ALL_TEXT_FIELDS
        and reader.doc_frequency(t.fieldname, t.text)
        for t in q.leaves()
    )

    def widen(node: wq.Query) -> wq.Query:
        if type(node) is not wq.Term or node.fieldname not in ALL_TEXT_FIELDS:
            return node
        if (node.fieldname, node.text) in keep:  # a word being typed: completed instead
            return node
        lang = field_language(node.fieldname)
        if lang not in wanted or len(node.text) < TYPO_MIN_CHARS:
            return node
        if any(reader.doc_frequency(field, node.text) for field in FIELDS[lang]):
            return node
        key = (lang, node.text)
        if key not in alternatives and len(alternatives) >= MAX_TYPO_WORDS:
            return node
        if key not in alternatives:
            words = closest_words(
                reader,
                node.text,
                TYPO_ALTERNATIVES,
                SUGGEST_MAX_EDITS,
                SUGGEST_PREFIX,
                (SPELLING[lang],),
            )
            body = schema[BODY[lang]]
            stems = [t for w in words for t in body.process_text(w, mode="query")]
            if known:  # a shorter word (`refs` -> `ref` for `refuses` -> `refus`) is no typo
                stems = [t for t in stems if len(t) >= len(node.text) - 1]
            alternatives[key] = list(dict.fromkeys(stems))
        if not alternatives[key]:
            return node
        widened = [
            wq.Term(node.fieldname, stem, boost=node.boost * TYPO_WEIGHT)
            for stem in alternatives[key]
        ]
        return wq.Or([node, *widened])

    return q.accept(widen)


def _exclude_negations(node: wq.Query) -> wq.Query:
    """In an OR group, `NOT x` excludes x (as people mean it) instead of matching all but x."""
    if not isinstance(node, wq.Or):
        return node
    negated = [sub.query for sub in node.subqueries if isinstance(sub, wq.Not)]
    if not negated:
        return node
    positive = [sub for sub in node.subqueries if not isinstance(sub, wq.Not)]
    kept: wq.Query = (
        wq.Or(positive, boost=node.boost, scale=node.scale)
        if len(positive) > 1
        else (positive[0] if positive else wq.Every())
    )
    excluded = wq.Or(negated) if len(negated) > 1 else negated[0]
    return wq.AndNot(kept, excluded)


def _expanding(node: wq.Query) -> bool:
    return isinstance(node, wq.MultiTerm) and not isinstance(node, wq.Every)


def _candidates(node: wq.MultiTerm, reader: IndexReader) -> Iterator[tuple[str, bool]]:
    """(index word, whether `node` matches it) for each word `node` looks at, in order: what
    Whoosh's `_btexts` yields for wildcards and fuzzy words, but counting the words it skips."""
    fieldname = node.fieldname
    if isinstance(node, wq.Wildcard):
        pattern = re.compile(node._get_pattern())
        prefix = node._find_prefix(node.text)
        words = reader.expand_prefix(fieldname, prefix) if prefix else reader.lexicon(fieldname)
        for btext in words:
            word = btext.decode("utf-8")
            yield word, pattern.match(word) is not None
    elif isinstance(node, wq.FuzzyTerm):
        for btext in reader.expand_prefix(fieldname, node.text[: node.prefixlength]):
            word = btext.decode("utf-8")
            yield word, distance(word, node.text, limit=node.maxdist) <= node.maxdist
    else:  # a prefix or a range: every word it looks at matches
        for btext in node._btexts(reader):
            yield (btext.decode("utf-8") if isinstance(btext, bytes) else btext), True


def bound_expansions(q: wq.Query, reader: IndexReader, limit: int = MAX_EXPANSIONS) -> wq.Query:
    """Replace each prefix/wildcard/fuzzy term by an OR of at most `limit` of its expansions
    (the most frequent); all of them together look at no more than MAX_SCANNED_TERMS words and
    keep no more than MAX_EXPANDED_TERMS."""
    expanding = max(1, sum(1 for node in q.leaves() if _expanding(node)))
    scan_limit = max(100, MAX_SCANNED_TERMS // expanding)
    limit = max(1, min(limit, MAX_EXPANDED_TERMS // expanding))

    def bounded(node: wq.Query) -> wq.Query:
        if isinstance(node, wq.FuzzyTerm) and not node.prefixlength:
            node.prefixlength = SUGGEST_PREFIX  # the same first-letter rule as suggestions
        if not _expanding(node):
            return node
        terms: list[tuple[int, str]] = []
        found = 0
        for scanned, (word, matches) in enumerate(_candidates(node, reader), 1):
            if matches:
                terms.append((reader.doc_frequency(node.fieldname, word), word))
                found += 1
            # Stop a huge expansion early; keep the most frequent words seen so far.
            if found >= limit * 20 or scanned >= scan_limit:
                break
        terms.sort(reverse=True)
        best = [wq.Term(node.fieldname, word, boost=node.boost) for _, word in terms[:limit]]
        if not best:
            return wq.NullQuery
        return wq.Or(best) if len(best) > 1 else best[0]

    return q.accept(bounded)


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _keyword_terms(key: str, values: Iterable[str], schema: Schema) -> list[wq.Query]:
    name = field_name(key)
    try:
        field = schema[name]
    except KeyError:  # a key no document has: the filter matches nothing, as it should
        return [wq.NullQuery]
    terms: list[wq.Query] = []
    for value in values:
        for part in value.split(VALUE_SEPARATOR):
            tokens = list(field.process_text(part, mode="query"))
            terms.extend(wq.Term(name, token) for token in tokens)
    return terms or [wq.NullQuery]


def _date(value: str | dt.date, what: str) -> dt.datetime:
    try:
        day = parse_date(value)
    except ValueError:
        raise QuerySyntaxError(f"{what}: {value!r} is not a date (write YYYY-MM-DD)") from None
    return dt.datetime.combine(day, dt.time())


def filter_keys(reader: IndexReader) -> list[str]:
    """The frontmatter keys a filter can name: those some page of the index has a value of."""
    present = set(reader.indexed_field_names())
    known = [key for key in (*KEYWORD_KEYS, *DATE_KEYS, "language") if key in present]
    dynamic = [name[len(DYNAMIC_PREFIX) :] for name in present if name.startswith(DYNAMIC_PREFIX)]
    return sorted(set(known + dynamic), key=str.lower)


def _check_languages(values: Sequence[str], reader: IndexReader) -> None:
    """A language filter that no page's tag matches (`fr` where there are no French pages, a
    code that names no language) is an error that says which languages the pages are in."""
    tags = [t.decode("utf-8") for t in reader.lexicon("language")] if values else []
    for value in values:
        tag = normalize_tag(value) or value
        if not any(
            t.lower() == tag.lower() or t.lower().startswith(tag.lower() + "-") for t in tags
        ):
            name = ENGLISH_NAMES.get(tag.split("-")[0].lower())
            asked = f"{tag} ({name})" if name else repr(value)
            there = ", ".join(
                f"{t} ({ENGLISH_NAMES[t.split('-')[0]]})" if t.split("-")[0] in ENGLISH_NAMES else t
                for t in tags
            )
            raise QuerySyntaxError(f"no page is in {asked}; the pages are in: {there or 'none'}")


def build_filter(
    filters: Filters | None,
    schema: Schema,
    since: str | dt.date | None = None,
    until: str | dt.date | None = None,
    reader: IndexReader | None = None,
) -> wq.Query | None:
    """Metadata filters: values of one key OR'ed, keys AND'ed; dates bound `lastReviewed`.
    With `reader`, a key no page has is an error (a typo would otherwise find nothing, with no
    word of why)."""
    if reader is not None:
        present = set(reader.indexed_field_names())
        for key in filters or {}:
            if field_name(key) not in present:
                keys = ", ".join(filter_keys(reader)) or "none"
                raise QuerySyntaxError(f"no page has the key {key!r} to filter by; keys: {keys}")
        _check_languages(_as_list((filters or {}).get("language", [])), reader)
    clauses: list[wq.Query] = []
    for key, value in (filters or {}).items():
        if key in DATE_KEYS:
            day = _date(_as_list(value)[0], key)
            clauses.append(
                wq.DateRange(key, day, day + dt.timedelta(days=1) - dt.timedelta.resolution)
            )
            continue
        terms = _keyword_terms(key, _as_list(value), schema)
        if key == "language":  # `pt` also takes `pt-BR`, as BCP 47's basic filtering does
            terms += [
                wq.Prefix(t.fieldname, t.text + "-")
                for t in terms
                if isinstance(t, wq.Term) and "-" not in t.text
            ]
        clauses.append(wq.Or(terms) if len(terms) > 1 else terms[0])
    if since is not None or until is not None:
        start = _date(since, "since") if since is not None else None
        end = (
            _date(until, "until") + dt.timedelta(days=1) - dt.timedelta.resolution
            if until is not None
            else None
        )
        clauses.append(wq.DateRange("lastReviewed", start, end))
    if not clauses:
        return None
    return wq.And(clauses) if len(clauses) > 1 else clauses[0]


def sort_facet(sort: str | None) -> sorting.FacetType | None:
    """`relevance` (None), `lastReviewed`, `title`; a leading `-` reverses."""
    if sort in (None, "", "relevance"):
        return None
    assert sort is not None
    reverse = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "lastReviewed":  # undated documents last in both directions
        if reverse:
            return sorting.FieldFacet("review_age")
        return sorting.FieldFacet("lastReviewed")
    if key == "title":
        return sorting.FieldFacet("title_sort", reverse=reverse)
    raise QuerySyntaxError(f"cannot sort by {sort!r}; use one of {', '.join(SORT_KEYS)}")


def facet_groups(names: Sequence[str]) -> dict[str, sorting.FacetType]:
    """Whoosh facets counting each value of the given metadata keys within the result set."""
    return {
        name: sorting.FieldFacet(field_name(name), allow_overlap=True, maptype=sorting.Count)
        for name in names
    }


# A word as typed, with what may stand around it: `field:` before, `*`, `?` or `~` after.
_TYPED_WORD = re.compile(rf"(\w+:)?({_W}+)([*?~]?)")


def suggest(
    text: str, searcher: Searcher, language: Language | None = None, typing: str | None = None
) -> str | None:
    """The query with each unknown word replaced by the closest indexed word, if any changed.

    A word is unknown when no language's text fields have its term; the replacement comes from
    the words of the query's language (both languages' when it is unknown). Words carrying
    syntax (`field:word`, `word*`, `word~`) are left as typed, and so is `typing`, a word the
    person is still typing. None when an unknown word has no close spelling: what the others
    would be corrected to finds pages that have nothing to do with the query.
    """
    schema = searcher.schema
    reader = searcher.reader()
    present = languages_present(reader)
    asked = [language] if language in present else list(present)
    replacements: dict[str, str] = {}
    looked_up = 0
    for match in _TYPED_WORD.finditer(clean_text(text)):
        if looked_up >= MAX_TYPO_WORDS:
            break
        prefix, word, suffix = match.groups()
        if prefix or suffix or len(word) < 3 or any(ch.isdigit() for ch in word):
            continue
        if word == typing:
            continue
        known = False
        for lang in present:
            terms = list(schema[BODY[lang]].process_text(word, mode="query"))
            if not terms or any(reader.doc_frequency(f, t) for f in FIELDS[lang] for t in terms):
                known = True  # a stop word, or a word the index knows
                break
        if known or not asked:
            continue
        folded = spelling_word(word.lower(), asked[0] if len(asked) == 1 else "en") or word.lower()
        spelling = tuple(SPELLING[lang] for lang in asked)
        looked_up += 1
        best = closest_words(reader, folded, 1, SUGGEST_MAX_EDITS, SUGGEST_PREFIX, spelling)
        if not best:  # a word with no close spelling: the rest corrected would still be junk
            return None
        replacements[word] = best[0]
    if not replacements:
        return None
    return _TYPED_WORD.sub(
        lambda m: (
            replacements.get(m.group(2), m.group(2))
            if not (m.group(1) or m.group(3))
            else m.group(0)
        ),
        clean_text(text),
    )


def matching_docs(searcher: Searcher, q: wq.Query) -> set[int] | None:
    """The documents an OR of words matches, read straight from the posting lists; None for
    other queries. Whoosh counts a ranked search's total by running the query again, scored."""
    if isinstance(q, wq.Term):
        if q.fieldname not in ALL_TEXT_FIELDS:
            return None  # other fields' values need their own parsing: Whoosh's path
        if (q.fieldname, q.text) not in searcher.reader():
            return set()
        return set(searcher.postings(q.fieldname, q.text).all_ids())
    if not isinstance(q, wq.Or | FieldsTerm) or getattr(q, "scale", None):
        return None
    words = {(t.fieldname, t.text) for t in q.subqueries if isinstance(t, wq.Term)}
    words |= {
        (t.fieldname, t.text)
        for sub in q.subqueries
        if isinstance(sub, FieldsTerm)
        for t in sub.subqueries
    }
    found: set[int] = set()
    for sub in q.subqueries:
        if isinstance(sub, wq.Phrase) and all((sub.fieldname, w) in words for w in sub.words):
            continue  # a phrase of words the OR has anyway adds no document
        docs = matching_docs(searcher, sub)
        if docs is None:
            return None
        found |= docs
    return found


def highlight_terms(q: wq.Query, reader: IndexReader) -> dict[str, frozenset[str]]:
    """The terms to mark in each field: every word, phrase word and expansion (of a prefix,
    wildcard or fuzzy word) the query asks for, except those it excludes (NOT, -word)."""
    found: dict[str, set[str]] = {}

    def walk(node: wq.Query) -> None:
        if isinstance(node, wq.Not):
            return
        if isinstance(node, wq.AndNot):
            walk(node.a)
        elif node.is_leaf():
            for fieldname, text in node.expanded_terms(reader, phrases=True):
                word = text.decode("utf-8") if isinstance(text, bytes) else text
                found.setdefault(fieldname, set()).add(word)
        else:
            for child in node.children():
                walk(child)

    walk(q)
    return {fieldname: frozenset(words) for fieldname, words in found.items()}
