"""What one document or one query may cost, and the checks that hold each to it before the
costly step runs.

Documents: size, frontmatter values, nesting, time and memory (`Budgets`). The defaults leave
real pages far inside: of the 478 seed pages the largest is 0.3 MB, the richest frontmatter
holds 31 values, the deepest list is 3 levels, the slowest parses in 0.1 s.

Queries: length, words, nesting (`bound_query`) and the index terms a wildcard may look at
(`MAX_SCANNED_TERMS`), so a query's cost does not grow with what is pasted or with the index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import DocumentError


@dataclass(frozen=True)
class Budgets:
    """The most one document may take; a document over any of them is skipped with the reason."""

    # 30x the largest seed page. Parsing costs ~20x the size in memory: 10 MB takes ~220 MB, 2 s.
    max_size_mb: float = 10.0
    # Frontmatter values once YAML aliases are expanded: 300x the richest seed page. An alias
    # bomb (400 bytes that expand to 10^8 values) is refused before it is expanded.
    max_values: int = 10_000
    # Lists, block quotes and frontmatter nested deeper than this (markdown-it's maxNesting):
    # the Markdown renderer recurses per level and slows quadratically (400 levels: 0.6 s).
    max_depth: int = 100
    # Seconds to read, parse and analyse one document; past it the worker is killed and replaced.
    timeout: float = 30.0
    # Memory a parsing worker may add while reading one document (a 10 MB page needs ~220 MB):
    # the backstop for what the checks above cannot foresee (one long link used 5,000 times).
    max_memory_mb: int = 512

    def __post_init__(self) -> None:
        for name in ("max_size_mb", "max_values", "max_depth", "timeout", "max_memory_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)!r}")

    @property
    def max_bytes(self) -> int:
        return int(self.max_size_mb * 1_000_000)


DEFAULT_BUDGETS = Budgets()


def size_text(megabytes: float) -> str:
    """10 -> '10 MB', 0.5 -> '0.5 MB'."""
    return f"{megabytes:g} MB"


def check_values(value: Any, budgets: Budgets, where: str) -> None:
    """Refuse frontmatter that expands to more than `max_values` values or nests deeper than
    `max_depth`, counting each shared (aliased) part by its size instead of expanding it."""
    sizes: dict[int, int] = {}
    walking = -1

    def size(node: Any, depth: int) -> int:
        if depth > budgets.max_depth:
            raise DocumentError(
                where, f"frontmatter is nested more than {budgets.max_depth} levels deep"
            )
        children: Iterable[Any]
        if isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, (list, tuple, set, frozenset)):
            children = node
        else:
            return 1
        known = sizes.get(id(node))
        if known == walking:
            raise DocumentError(where, "frontmatter contains itself (a YAML alias to its parent)")
        if known is not None:
            return known
        sizes[id(node)] = walking
        total = 1 + sum(size(child, depth + 1) for child in children)
        if total > budgets.max_values:
            raise DocumentError(
                where, f"frontmatter expands to more than {budgets.max_values:,} values"
            )
        sizes[id(node)] = total
        return total

    size(value, 0)


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_QUOTES = re.compile(r"(?: {0,3}>)+")
_LIST_ITEM = re.compile(r"( *)(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


def markdown_depth(text: str, limit: int) -> int:
    """How deeply lists and block quotes nest, read from indentation and `>` markers; stops
    counting past `limit`. Lines in fenced code do not count."""
    deepest = 0
    fence = ""
    open_items: list[int] = []  # the indentation of each list item still open
    for raw_line in text.split("\n"):
        line = raw_line.expandtabs(4)
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1).startswith(fence):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)[:3]
            continue
        quotes = _QUOTES.match(line)
        quote_depth = quotes.group(0).count(">") if quotes else 0
        rest = line[quotes.end() :] if quotes else line
        if not rest.strip():
            deepest = max(deepest, quote_depth)
            continue
        item = _LIST_ITEM.match(rest)
        indent = len(item.group(1)) if item else len(rest) - len(rest.lstrip(" "))
        if item:  # a sibling or shallower item closes the items at or right of it
            while open_items and open_items[-1] >= indent:
                open_items.pop()
            open_items.append(indent)
        else:  # text left of an item's content (2 columns past its marker) ends the item
            while open_items and open_items[-1] + 2 > indent:
                open_items.pop()
        deepest = max(deepest, quote_depth + len(open_items))
        if deepest > limit:
            break
    return deepest


def check_markdown(text: str, budgets: Budgets, where: str) -> None:
    """Refuse Markdown nested deeper than `max_depth` before the renderer recurses into it."""
    if markdown_depth(text, budgets.max_depth) > budgets.max_depth:
        raise DocumentError(
            where, f"lists or quotes are nested more than {budgets.max_depth} levels deep"
        )


# Longer query text is cut here: nobody types more, and a pasted page must not make a huge query.
MAX_QUERY_CHARS = 1000
# ...and after this many words (Google stops at 32; a pasted question is rarely longer).
MAX_QUERY_WORDS = 64
# Parentheses nested deeper than this are read as plain words: nobody groups 16 levels by hand.
MAX_NESTING = 16
# The prefix, wildcard and fuzzy words of one query together look at no more index terms than
# this (~0.2 s), so `*zq*` costs the same over ten thousand words or ten million.
MAX_SCANNED_TERMS = 200_000
# ...and expand to no more index terms than this in all (Lucene's default maxClauseCount).
MAX_EXPANDED_TERMS = 1024
# Unknown words of one query looked up for "did you mean" and typo alternatives (each lookup
# compares the word with every indexed word of its first letter: 0.15 s at 500k words).
MAX_TYPO_WORDS = 8

_QUERY_WORD = re.compile(r"\S+")


def _nesting(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(0, depth - 1)
    return deepest


def bound_query(text: str) -> tuple[str, tuple[str, ...]]:
    """The part of `text` that is searched, and a notice for each limit it hit: a long query is
    cut at a word's end (never silently), deep parentheses are read as plain words."""
    notices: list[str] = []
    words = 0
    for words, match in enumerate(_QUERY_WORD.finditer(text), 1):
        if words == MAX_QUERY_WORDS + 1:
            total = words + sum(1 for _ in _QUERY_WORD.finditer(text, match.end()))
            text = text[: match.start()].rstrip()
            notices.append(f"the query was cut to its first {MAX_QUERY_WORDS} words (of {total:,})")
            break
    if len(text) > MAX_QUERY_CHARS:
        length = len(text)
        cut = text[: MAX_QUERY_CHARS + 1]
        space = cut.rfind(" ")
        text = (cut[:space] if space > 0 else cut[:MAX_QUERY_CHARS]).rstrip()
        notices.append(f"the query was cut to its first {len(text):,} characters (of {length:,})")
    depth = _nesting(text)
    if depth > MAX_NESTING:
        text = text.replace("(", " ").replace(")", " ")
        notices.append(
            f"parentheses nested {depth} deep (more than {MAX_NESTING}) were read as plain words"
        )
    return text, tuple(notices)
