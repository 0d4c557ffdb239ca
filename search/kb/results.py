"""What a search, a lookup or a stats call returns: small immutable records, JSON-ready."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..text.highlight import Snippet
from ..text.languages import ENGLISH_NAMES


@dataclass(frozen=True)
class Section:
    """A part of a hit's page that matched: its heading, its anchor and a snippet from it."""

    heading: str
    anchor: str  # the heading's id: link to `url#anchor` (or the page kbsearch renders)
    snippet: Snippet
    marked_heading: Snippet = field(default_factory=Snippet)  # the query's words marked

    def heading_html(self) -> str:
        """The heading as HTML: the query's words in <mark>, the rest escaped."""
        return self.marked_heading.html() if self.marked_heading else escape(self.heading)

    def to_dict(self) -> dict[str, str]:
        return {
            "heading": self.heading,
            "heading_html": self.heading_html(),
            "anchor": self.anchor,
            "snippet": self.snippet.html(),
        }


@dataclass(frozen=True)
class Translation:
    """The same page in another language: a hit's link to it."""

    id: str
    title: str
    language: str  # its language tag (BCP 47)
    url: str = ""  # where it is published, "" when unknown

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "language": self.language, "url": self.url}


@dataclass(frozen=True)
class Hit:
    """One matching document: where it is, how well it matched, and the text around the match."""

    id: str
    path: str
    title: str
    score: float | None  # None when results are sorted by a field rather than relevance
    snippet: Snippet
    title_snippet: Snippet
    highlights: tuple[str, ...]  # the words marked in the snippets, as they appear in the text
    metadata: Mapping[str, Any]
    sections: tuple[Section, ...] = ()  # up to 3 best-matching sections, best first
    url: str = ""  # where the page is published (its site's URL), "" when unknown
    language: str = ""  # the page's language tag (BCP 47), "" when unknown
    translations: tuple[Translation, ...] = ()  # the page in the index's other languages

    def repeats_snippet(self, section: Section) -> bool:
        """Whether a section's snippet shows what the hit's own snippet does (shown once)."""
        main, part = self.snippet.text(), section.snippet.text()
        return bool(main) and (part in main or main in part)

    def section_url(self, section: Section) -> str:
        """The published address of one of the hit's sections ("" when the page has none)."""
        return f"{self.url.split('#')[0]}#{section.anchor}" if self.url else ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: `snippet` marked up with <mark> (HTML-escaped), `text` without marks."""
        return {
            "id": self.id,
            "path": self.path,
            "url": self.url,
            "language": self.language,
            "title": self.title,
            "score": None if self.score is None else round(self.score, 4),
            "snippet": self.snippet.html(),
            "text": self.snippet.text(),
            "highlights": list(self.highlights),
            "metadata": dict(self.metadata),
            "sections": [
                {**section.to_dict(), "url": self.section_url(section)} for section in self.sections
            ],
            "translations": [translation.to_dict() for translation in self.translations],
        }


@dataclass(frozen=True)
class SearchResults:
    """A page of hits plus the total, facet counts and a spelling suggestion."""

    query: str
    total: int
    hits: tuple[Hit, ...]
    offset: int = 0
    limit: int = 10
    facets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    suggestion: str | None = None  # the query with misspelled words corrected
    corrected: bool = False  # True when the suggestion was searched instead of the query
    language: str | None = None  # the query's language as assumed ("en", "es"), None: unknown
    notices: tuple[str, ...] = ()  # limits the query hit (cut to its first 64 words, ...)
    # False when `total` is a lower bound: the matches were counted exactly up to 10,000 and
    # there are more (a word query's longest posting list, or the phrase matches found so far).
    total_is_exact: bool = True

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, index: int) -> Hit:
        return self.hits[index]

    @property
    def language_name(self) -> str | None:
        """The query's language as assumed, in English words ("Spanish"); None: unknown."""
        return ENGLISH_NAMES.get(self.language or "")

    @property
    def total_text(self) -> str:
        """The total as people read it: "1,234", or "10,000+" when it is a lower bound."""
        return f"{self.total:,}" if self.total_is_exact else f"{self.total:,}+"

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1 if self.limit else 1

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "query": self.query,
            "total": self.total,
            "total_is_exact": self.total_is_exact,
            "offset": self.offset,
            "limit": self.limit,
            "language": self.language,
            "notices": list(self.notices),
            "hits": [hit.to_dict() for hit in self.hits],
        }
        if self.facets:
            data["facets"] = {name: dict(counts) for name, counts in self.facets.items()}
        if self.suggestion is not None:
            data["suggestion"] = self.suggestion
            data["corrected"] = self.corrected
        return data


@dataclass(frozen=True)
class StoredDocument:
    """One indexed document as stored: for `kbsearch show`."""

    id: str
    path: str
    title: str
    body: str
    metadata: Mapping[str, Any]
    sections: tuple[tuple[str, str, int], ...] = ()  # (heading, anchor, offset in body)
    marks: tuple[tuple[int, int], ...] = ()  # (start, end) in body of a query's words
    url: str = ""  # where the page is published, "" when unknown
    language: str = ""  # its language tag (BCP 47)
    language_from: str = ""  # how it was found: frontmatter, config, folder, suffix, detected

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "url": self.url,
            "language": self.language,
            "language_from": self.language_from,
            "title": self.title,
            "metadata": dict(self.metadata),
            "body": self.body,
            "sections": [
                {"heading": heading, "anchor": anchor, "start": start}
                for heading, anchor, start in self.sections
            ],
        }


@dataclass(frozen=True)
class IndexStatus:
    """Whether an index answers, how many documents it holds and when it last changed: the
    cheap part of `IndexStats`, for health checks."""

    index_dir: str
    documents: int
    last_updated: str | None  # ISO timestamp of the last commit

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "index": self.index_dir,
            "documents": self.documents,
            "last_updated": self.last_updated,
        }


@dataclass(frozen=True)
class IndexStats:
    """What is in an index: for `kbsearch stats` and for monitoring."""

    index_dir: str
    documents: int
    size_bytes: int
    last_updated: str | None  # ISO timestamp of the last commit
    source: str | None
    fields: tuple[str, ...]
    values: Mapping[str, Mapping[str, int]]  # value counts of the main metadata keys
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index_dir,
            "documents": self.documents,
            "size_bytes": self.size_bytes,
            "last_updated": self.last_updated,
            "source": self.source,
            "fields": list(self.fields),
            "values": {key: dict(counts) for key, counts in self.values.items()},
            **dict(self.extra),
        }
