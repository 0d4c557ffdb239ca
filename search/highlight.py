"""Snippets: the best fragments of a field around the matched words, and their output formats."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from whoosh import highlight

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


class _SegmentFormatter(highlight.Formatter):  # type: ignore[misc]
    """A Whoosh formatter that keeps structure instead of producing a string."""

    def format_fragment(self, fragment: Any, replace: bool = False) -> tuple[Segment, ...]:
        segments: list[Segment] = []
        index = fragment.startchar
        text = fragment.text
        for token in sorted(fragment.matches, key=lambda t: (t.startchar, -t.endchar)):
            if token.startchar is None or token.startchar < index:
                continue
            if token.startchar > index:
                segments.append((text[index : token.startchar], False))
            segments.append((text[token.startchar : token.endchar], True))
            index = token.endchar
        segments.append((text[index : fragment.endchar], False))
        return _tidy(segments)

    def format(self, fragments: Sequence[Any], replace: bool = False) -> Snippet:
        return Snippet(tuple(self.format_fragment(f) for f in fragments))


_WHITESPACE = re.compile(r"\s+")


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


def configure(results: Any, chars: int = SNIPPET_CHARS) -> None:
    """Set a Whoosh Results object to produce `Snippet`s of about `chars` characters."""
    results.fragmenter = highlight.ContextFragmenter(
        maxchars=chars, surround=min(SNIPPET_SURROUND, chars // 3), charlimit=HIGHLIGHT_CHAR_LIMIT
    )
    results.formatter = _SegmentFormatter()


def leading(text: str, chars: int = SNIPPET_CHARS) -> Snippet:
    """The start of a text, cut at a word boundary: the snippet when no query word is in it."""
    flat = _WHITESPACE.sub(" ", text).strip()
    if len(flat) > chars:
        flat = flat[:chars].rsplit(" ", 1)[0] + "…"
    return Snippet((((flat, False),),)) if flat else Snippet()


def whole(text: str) -> Snippet:
    """A short text (a title) as a snippet with nothing marked."""
    return Snippet((((text, False),),)) if text else Snippet()
