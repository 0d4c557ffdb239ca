"""Snippets: the best fragments of a field around the matched words, and their output formats."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from .languages import has_unspaced

# A snippet is at most this many characters a fragment, this many fragments.
SNIPPET_CHARS = 240
SNIPPET_FRAGMENTS = 2
# Characters of context kept on each side of a match inside a fragment.
SNIPPET_SURROUND = 80
# Highlighting re-reads the stored text; past this many characters it stops looking for matches,
# so one huge document cannot make every query slow.
HIGHLIGHT_CHAR_LIMIT = 200_000
ELLIPSIS = " … "

Segment = tuple[str, bool]  # (text, is_match)


@dataclass(frozen=True)
class Snippet:
    """Fragments of text as (text, is_match) segments; render with `text()`, `html()`, `ansi()`."""

    fragments: tuple[tuple[Segment, ...], ...] = ()

    def __str__(self) -> str:
        return self.text()

    def __bool__(self) -> bool:
        return any(text for fragment in self.fragments for text, _ in fragment)

    def render(self, match: Callable[[str], str], other: Callable[[str], str] = str) -> str:
        """Join the fragments, passing matched text through `match` and the rest through `other`."""
        return ELLIPSIS.join(
            "".join(match(text) if hit else other(text) for text, hit in fragment)
            for fragment in self.fragments
        )

    def text(self) -> str:
        """Plain text, no marks."""
        return self.render(str)

    def html(self) -> str:
        """HTML: matches in `<mark>`, every other character of document and query escaped."""
        return self.render(
            lambda text: f"<mark>{html.escape(text)}</mark>", lambda text: html.escape(text)
        )

    def marked(self, start: str, end: str) -> str:
        """Matches wrapped in the given markers (e.g. ANSI codes), the rest as is."""
        return self.render(lambda text: f"{start}{text}{end}")

    def matched_words(self) -> list[str]:
        """The distinct words highlighted, lower-cased, in order of first appearance."""
        seen: dict[str, None] = {}
        for fragment in self.fragments:
            for text, hit in fragment:
                if hit:
                    seen.setdefault(text.lower(), None)
        return list(seen)


_WHITESPACE = re.compile(r"\s+")


def _combining_marks() -> str:
    """The combining marks of the scripts in use (Unicode categories Mn, Mc, Me) as ranges for a
    character class: Python's \\w leaves them out, which would cut `हिन्दी` into `ह न द` and
    `مُجَلَّد` into one-letter words."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x0300, 0x2000):
        if unicodedata.category(chr(code)) in ("Mn", "Mc", "Me"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


# What the index calls a word: Whoosh's RegexTokenizer default, [\w*]+(\.?[\w*]+)*, without
# the capturing group (so findall returns whole words), and with the scripts' combining marks
# (vowel signs of Devanagari and Thai, Arabic harakat) inside words. The schema's analysis uses it.
WORD_CHARS = rf"\w{_combining_marks()}"  # inside a character class: `[{WORD_CHARS}]`
_IN_WORD = rf"[{WORD_CHARS}*]"
WORD = re.compile(rf"{_IN_WORD}+(?:\.?{_IN_WORD}+)*")


# Where a word's parts join: underscores, and dots but those between digits, so `config.yml` and
# `3.x` have parts and a version number (`4.4.1`) is one word, as in Lucene's standard tokenizer.
JOINERS = re.compile(r"_+|\.(?!\d)|(?<!\d)\.")


def _matching_term(word: str, terms: Collection[str], term_of: Callable[[str], str]) -> str | None:
    """The term of `terms` a lower-cased word matches: its own, or one of its parts' when it
    is joined (`config.yml` for `config`), as the index holds them."""
    term = term_of(word)
    if term in terms:
        return term
    if "." in word or "_" in word:
        for part in JOINERS.split(word):
            if part and term_of(part) in terms:
                return term_of(part)
    return None


def find_matches(
    text: str,
    terms: Collection[str],
    term_of: Callable[[str], str],
    capitals: Collection[str] = (),
) -> list[tuple[int, int, str]]:
    """(start, end, term) of each word of `text` whose indexed term is in `terms`, in order;
    a one-letter word in `capitals` only where it is a capital (the A of vitamin A, not an
    article: the analyzers index no other).

    Each distinct word is analysed once (`term_of` gets it lower-cased); the matching words are
    then found in one regular-expression pass, so a long page costs little more than a short one.
    """
    text = text[:HIGHLIGHT_CHAR_LIMIT]
    if not terms or not text:
        return []
    pairs = [term for term in terms if has_unspaced(term)]
    found = _word_matches(text, terms, term_of, capitals) + (
        _pair_matches(text, pairs) if pairs else []
    )
    return sorted(found) if pairs else found


def _pair_matches(text: str, pairs: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, first pair) of each run of the query's CJK character pairs in `text`
    (`拉取请求` for `拉取 取请 请求`): CJK text is indexed as pairs, not words."""
    pattern = re.compile("|".join(re.escape(pair) for pair in sorted(pairs, key=len, reverse=True)))
    spans: list[tuple[int, int, str]] = []
    at = 0
    while (found := pattern.search(text, at)) is not None:
        start, end = found.span()
        while (more := pattern.match(text, end - 1)) is not None and more.end() > end:
            end = more.end()  # overlapping pairs in a row are one word
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end, spans[-1][2])
        else:
            spans.append((start, end, found.group()))
        at = end
    return spans


def _word_matches(
    text: str, terms: Collection[str], term_of: Callable[[str], str], capitals: Collection[str]
) -> list[tuple[int, int, str]]:
    """`find_matches` of the words whose term (or a joined word's part's) is in `terms`."""
    words: dict[str, str] = {}
    for word in set(WORD.findall(text.lower())):
        term = _matching_term(word, terms, term_of)
        if term is not None:
            words[word] = term
    if not words:
        return []
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return [
        (m.start(), m.end(), words.get(m.group().lower()) or term_of(m.group().lower()))
        for m in pattern.finditer(text)
        if m.group() not in capitals  # a small one-letter word that only counts as a capital
    ]


def snippet(
    text: str,
    terms: Collection[str],
    term_of: Callable[[str], str],
    chars: int = SNIPPET_CHARS,
    fragments: int = SNIPPET_FRAGMENTS,
    capitals: Collection[str] = (),
) -> Snippet:
    """The best `fragments` windows of about `chars` characters around the words of `text` whose
    term is in `terms`, in document order; empty when no word matches.

    A window is better when it holds more distinct query terms, then more matches, then comes
    first: a snippet shows the passage where the question's words meet. `capitals` as in
    `find_matches`.
    """
    return snippet_of(text, find_matches(text, terms, term_of, capitals), chars, fragments)


Match = tuple[int, int, str]  # (start, end, term) of a matched word


Span = tuple[int, int]  # (start, end) of a code block in a text


def snippet_of(
    text: str,
    matches: Sequence[Match],
    chars: int = SNIPPET_CHARS,
    fragments: int = 1,
    code: Sequence[Span] = (),
) -> Snippet:
    """`snippet` from matches already found (`find_matches`), for callers that use them twice.

    `code` are the text's code blocks: when a query word is in the prose, the windows are
    around its matches in the prose and end where code begins; only code matched, the code."""
    if not matches:
        return Snippet()
    surround = min(SNIPPET_SURROUND, chars // 3)
    prose = [m for m in matches if _block_of(m[0], code) is None]
    chosen = prose or list(matches)
    windows: list[tuple[tuple[int, int, int], int, int]] = []
    first = 0
    while first < len(chosen):
        start = chosen[first][0]
        low, high = _between_code(start, code) if prose else (0, len(text))
        last = first
        while (
            last + 1 < len(chosen)
            and chosen[last + 1][1] - start <= chars - surround
            and chosen[last + 1][1] <= high
        ):
            last += 1
        group = chosen[first : last + 1]
        rank = (len({term for _, _, term in group}), len(group), -first)
        left, right = _window(text, start, group[-1][1], chars, surround, low, high)
        windows.append((rank, left, right))
        first = last + 1
    best = sorted(sorted(windows, reverse=True)[:fragments], key=lambda window: window[1])
    return Snippet(tuple(_segments(text, left, right, matches) for _, left, right in best))


# Headings of a page's reference list, in the languages whose readers write them so.
REFERENCE_HEADINGS = re.compile(
    r"(?i)\s*(references?|bibliography|citations?|works cited|sources|referencias|bibliograf[ií]a"
    r"|fuentes|r[ée]f[ée]rences|bibliographie|literatur(verzeichnis)?|quellen|einzelnachweise"
    r"|refer[êe]ncias|bibliografia|riferimenti)\b[\s\w]{0,30}"
)
# What marks a citation: `et al.`, PubMed and DOI links, `[PUBMED Abstract]`, `Vol (Issue): pages`.
_CITATION = re.compile(
    r"\bet al\.|\bPMID\b|\bdoi:|\bPUBMED\b|pubmed\.ncbi|\b\d{1,4} ?\(\d{1,3}\): ?\d+(-\d+)?",
    re.IGNORECASE,
)
# A section with this many citation marks per 1,000 characters is a reference list.
CITATIONS_PER_1000 = 6.0


def is_reference(heading: str, text: str) -> bool:
    """Whether a section is a reference list or a block of citations: by its heading
    (`References`, `Bibliografía`, ...), or by the density of citation marks in its text. Such a
    section says who wrote about a subject, not what the page says of it."""
    if REFERENCE_HEADINGS.fullmatch(heading):
        return True
    marks = len(_CITATION.findall(text))
    return marks >= 3 and marks * 1000 / max(len(text), 1) >= CITATIONS_PER_1000


def _section_ends(text: str, sections: Sequence[tuple[str, str, int]]) -> list[int]:
    """Where each section ends: at the next one's start, the last at the end of `text`."""
    return [start for _, _, start in sections[1:]] + [len(text)]


def reference_spans(text: str, sections: Sequence[tuple[str, str, int]]) -> list[Span]:
    """(start, end) of the sections of `text` that are reference lists (`is_reference`)."""
    if not sections:
        return []
    return [
        (start, end)
        for (heading, _, start), end in zip(sections, _section_ends(text, sections), strict=True)
        if is_reference(heading, text[start + len(heading) : end])
    ]


def best_sections(
    text: str,
    sections: Sequence[tuple[str, str, int]],
    matches: Sequence[Match],
    count: int = 3,
    chars: int = SNIPPET_CHARS,
    code: Sequence[Span] = (),
    cited: Sequence[Span] | None = None,
) -> list[tuple[str, str, Snippet]]:
    """(heading, anchor, snippet) of the `count` sections of `text` that match best, best first;
    `matches` are the query's words in `text` (`find_matches`).

    `sections` are (heading, anchor, start offset), in order; each runs to the next. A section
    is better when it holds more distinct query terms, then has one in its heading, then more
    matches: the part of a long page where the question's words meet. A reference list is never
    one of them: `cited` says where they are (found at index time), else `is_reference` tells.
    """
    if not matches or not sections:
        return []
    ranked = []
    ends = _section_ends(text, sections)
    for number, ((heading, anchor, start), end) in enumerate(zip(sections, ends, strict=True)):
        inside = [(s - start, e - start, t) for s, e, t in matches if start <= s and e <= end]
        if not inside:
            continue
        if (
            any(s <= start < e for s, e in cited)
            if cited is not None
            else is_reference(heading, text[start + len(heading) : end])
        ):
            continue
        in_heading = any(e <= len(heading) for _, e, _ in inside)
        rank = (len({term for _, _, term in inside}), in_heading, len(inside), -number)
        blocks = [
            (max(s, start) - start, min(e, end) - start) for s, e in code if s < end and e > start
        ]
        ranked.append((rank, heading, anchor, text[start:end], inside, blocks))
    ranked.sort(key=lambda item: item[0], reverse=True)
    return [
        (heading, anchor, snippet_of(part, inside, chars, 1, blocks))
        for _, heading, anchor, part, inside, blocks in ranked[:count]
    ]


def _block_of(offset: int, code: Sequence[Span]) -> Span | None:
    """The code block that holds `offset`, if any."""
    return next(((s, e) for s, e in code if s <= offset < e), None)


def _between_code(offset: int, code: Sequence[Span]) -> Span:
    """The bounds of the prose around `offset`: from the code block before it to the next."""
    low = max((e for _, e in code if e <= offset), default=0)
    high = min((s for s, _ in code if s > offset), default=1 << 62)
    return low, high


def _window(
    text: str, start: int, end: int, chars: int, surround: int, low: int = 0, high: int = 1 << 62
) -> tuple[int, int]:
    """Character bounds of a window of about `chars` around [start, end), cut between words,
    within [low, high)."""
    spare = max(0, chars - (end - start))
    left = max(low, start - min(surround, spare // 2))
    right = min(len(text), high, end + spare - (start - left))
    if left > 0:
        space = _WHITESPACE.search(text, left, start)
        left = space.end() if space else start
    if right < len(text):
        spaces = [space.start() for space in _WHITESPACE.finditer(text, end, right + 1)]
        right = spaces[-1] if spaces else end
    return left, right


def _segments(
    text: str, left: int, right: int, matches: Sequence[tuple[int, int, str]]
) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    index = left
    for start, end, _ in matches:
        if start < left or end > right:
            continue
        segments.append((text[index:start], False))
        segments.append((text[start:end], True))
        index = end
    segments.append((text[index:right], False))
    return _tidy(segments)


def _tidy(segments: list[Segment]) -> tuple[Segment, ...]:
    """Collapse line breaks and runs of spaces (a snippet is one line) and trim the ends."""
    tidy: list[Segment] = []
    for text, hit in ((_WHITESPACE.sub(" ", t), h) for t, h in segments if t):
        # Matches separated only by spaces become one mark, so a phrase is marked as a phrase.
        if hit and len(tidy) >= 2 and tidy[-1][0] == " " and tidy[-2][1]:
            tidy.pop()
            tidy[-1] = (tidy[-1][0] + " " + text, True)
        else:
            tidy.append((text, hit))
    if tidy:
        tidy[0] = (tidy[0][0].lstrip(), tidy[0][1])
        tidy[-1] = (tidy[-1][0].rstrip(), tidy[-1][1])
    return tuple((text, hit) for text, hit in tidy if text)


def leading(text: str, chars: int = SNIPPET_CHARS, code: Sequence[Span] = ()) -> Snippet:
    """The start of a text's prose (its code blocks left out), cut at a word boundary: the
    snippet when no query word is in it."""
    if code:
        pieces, last = [], 0
        for start, end in sorted(code):
            pieces.append(text[last:start])
            last = max(last, end)
        pieces.append(text[last:])
        text = " ".join(pieces) if "".join(pieces).strip() else text
    flat = _WHITESPACE.sub(" ", text).strip()
    if len(flat) > chars:
        flat = flat[:chars].rsplit(" ", 1)[0] + "…"
    return Snippet((((flat, False),),)) if flat else Snippet()


def whole(
    text: str,
    terms: Collection[str] = (),
    term_of: Callable[[str], str] = str,
    capitals: Collection[str] = (),
) -> Snippet:
    """A short text (a title) whole, as one fragment, its words whose term is in `terms`
    marked: a title is short enough to show entire, so it is never cut to a window."""
    if not text:
        return Snippet()
    matches = find_matches(text, terms, term_of, capitals)
    return Snippet((_segments(text, 0, len(text), matches),))
