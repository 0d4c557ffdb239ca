"""Knowledge-base health: what editors should fix before readers notice (`kbsearch check`)."""

from __future__ import annotations

import calendar
import datetime as dt
import os
import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin, urlsplit

from .budgets import DEFAULT_BUDGETS, Budgets
from .sources import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, Skipped, scan_source

if TYPE_CHECKING:  # the reader (Markdown, YAML) is imported by `check`; a query never needs it
    from .documents import Document

# Keys every page should carry: without them it cannot be found, filtered or kept current.
RECOMMENDED_KEYS = ("title", "tags", "url", "lastReviewed", "language")
# reviewFrequency -> months between reviews (weekly is counted in days).
FREQUENCY_MONTHS = {
    "monthly": 1,
    "quarterly": 3,
    "semiannually": 6,
    "semiannual": 6,
    "biannually": 6,
    "biannual": 6,
    "annually": 12,
    "annual": 12,
    "yearly": 12,
}
WEEKLY = ("weekly",)
PROBLEM_KINDS = (
    "invalid",
    "missing_key",
    "overdue",
    "unknown_frequency",
    "duplicate_url",
    "duplicate_title",
    "broken_link",
    "empty_body",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one document."""

    path: str
    kind: str
    message: str
    source: str = ""
    source_type: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "kind": self.kind,
            "message": self.message,
            "source": self.source,
            "sourceType": self.source_type,
        }


@dataclass(frozen=True)
class HealthReport:
    """Every problem found, and counts by kind and by source/sourceType."""

    documents: int
    as_of: dt.date
    problems: tuple[Problem, ...] = field(default=())

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(p.kind for p in self.problems).most_common())

    def by_source(self) -> dict[str, int]:
        counts = Counter(f"{p.source or '-'} / {p.source_type or '-'}" for p in self.problems)
        return dict(counts.most_common())

    def failing(self, kinds: Iterable[str] | None = None) -> bool:
        """True when a problem of one of `kinds` (default: any) was found."""
        wanted = set(kinds) if kinds is not None else None
        return any(wanted is None or p.kind in wanted for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "as_of": self.as_of.isoformat(),
            "problems": [p.to_dict() for p in self.problems],
            "by_kind": self.by_kind(),
            "by_source": self.by_source(),
        }


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's end (30 Nov + 3 months = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(last_reviewed: dt.date, frequency: str) -> dt.date | None:
    """When the next review is due, or None for a frequency this code does not know."""
    key = frequency.strip().lower()
    if key in WEEKLY:
        return last_reviewed + dt.timedelta(days=7)
    months = FREQUENCY_MONTHS.get(key)
    return add_months(last_reviewed, months) if months else None


def overdue_problem(
    last_reviewed: str | dt.date | None, frequency: Any, as_of: dt.date
) -> tuple[str, str] | None:
    """(kind, message) when a page is overdue or its frequency is unknown; else None."""
    if not frequency or last_reviewed is None:
        return None
    frequency_text = frequency[0] if isinstance(frequency, list) and frequency else frequency
    frequency_text = str(frequency_text)
    reviewed = (
        last_reviewed
        if isinstance(last_reviewed, dt.date)
        else dt.date.fromisoformat(str(last_reviewed))
    )
    due = review_due(reviewed, frequency_text)
    if due is None:
        known = ", ".join(["weekly", *FREQUENCY_MONTHS])
        return "unknown_frequency", f"reviewFrequency {frequency_text!r} is not one of {known}"
    if due < as_of:
        late = (as_of - due).days
        return "overdue", f"review was due {due.isoformat()} ({late} days ago, {frequency_text})"
    return None


def _meta_text(doc: Document, key: str) -> str:
    values = doc.keywords.get(key, ())
    return values[0] if values else ""


def _page_url(url: str) -> str:
    """A page's URL without its #section: sections of one page share it."""
    return urldefrag(url)[0].rstrip("/")


def check(
    source: str | os.PathLike[str],
    *,
    as_of: dt.date | None = None,
    base_urls: Sequence[str] = (),
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    budgets: Budgets = DEFAULT_BUDGETS,
    follow_links: bool = False,
) -> HealthReport:
    """Check every document under `source`; `base_urls` are the prefixes of the knowledge base's
    own published pages, so links to them can be checked against the documents' `url`s.

    Documents are read as the indexer reads them (the same budgets, links and workers), so
    every file the indexer would skip is reported here as `invalid`, with the same reason."""
    from .reading import read_as_document, read_files

    root = Path(source)
    today = as_of or dt.date.today()
    files, scan_problems = scan_source(root, include, exclude, follow_links)
    problems = [Problem(s.path, "invalid", s.reason) for s in scan_problems]
    docs: list[Document] = []
    outcomes = read_files(files, root, read_as_document, budgets, follow_links=follow_links)
    for _, outcome in outcomes:
        if isinstance(outcome, Skipped):
            problems.append(Problem(outcome.path, "invalid", outcome.reason))
        else:
            docs.append(outcome)
    problems.extend(_document_problems(docs, today))
    # Sections of one page carry the page's url with their own #anchor: compare whole urls.
    problems.extend(_duplicates(docs, "url", lambda d: _meta_text(d, "url").rstrip("/")))
    problems.extend(_duplicates(docs, "title", lambda d: d.title.casefold()))
    problems.extend(_broken_links(docs, root, base_urls))
    order = {kind: n for n, kind in enumerate(PROBLEM_KINDS)}
    problems.sort(key=lambda p: (p.path, order.get(p.kind, 99)))
    return HealthReport(documents=len(files), as_of=today, problems=tuple(problems))


def _problem(doc: Document, kind: str, message: str) -> Problem:
    return Problem(
        doc.path, kind, message, _meta_text(doc, "source"), _meta_text(doc, "sourceType")
    )


def _document_problems(docs: Iterable[Document], today: dt.date) -> Iterable[Problem]:
    for doc in docs:
        for key in RECOMMENDED_KEYS:
            if key not in doc.metadata or doc.metadata[key] in (None, "", []):
                yield _problem(doc, "missing_key", f"no `{key}` in the frontmatter")
        found = overdue_problem(doc.last_reviewed, doc.metadata.get("reviewFrequency"), today)
        if found:
            yield _problem(doc, *found)
        if not doc.body.strip():
            yield _problem(doc, "empty_body", "the page has no text below its frontmatter")


def _duplicates(docs: Sequence[Document], what: str, key: Any) -> Iterable[Problem]:
    groups: dict[str, list[Document]] = {}
    for doc in docs:
        value = key(doc)
        if value:
            groups.setdefault(value, []).append(doc)
    for group in groups.values():
        if len(group) > 1:
            for doc in group:
                others = ", ".join(other.id for other in group if other is not doc)
                yield _problem(doc, f"duplicate_{what}", f"same {what} as {others}")


def _broken_links(
    docs: Sequence[Document], root: Path, base_urls: Sequence[str]
) -> Iterable[Problem]:
    known_urls = {_page_url(_meta_text(d, "url")) for d in docs if _meta_text(d, "url")}
    prefixes = tuple(base.rstrip("/") for base in base_urls)
    for doc in docs:
        for link in doc.links:
            target = link.strip()
            parts = urlsplit(target)
            if parts.scheme in ("mailto", "tel", "data", "javascript") or target.startswith("#"):
                continue
            if not parts.scheme and not parts.netloc and not target.startswith("/"):
                relative = posixpath.normpath(posixpath.join(posixpath.dirname(doc.id), parts.path))
                if not (root / relative).is_file():
                    yield _problem(doc, "broken_link", f"links to {link!r}: no such file")
                continue
            absolute = urljoin(_meta_text(doc, "url") or "", target)
            if prefixes and absolute.startswith(prefixes) and _page_url(absolute) not in known_urls:
                yield _problem(doc, "broken_link", f"links to {link!r}: no page has that url")


def overdue_count(metadata: Iterable[Mapping[str, Any]], as_of: dt.date | None = None) -> int:
    """How many pages (stored metadata) are overdue for review: for `kbsearch stats`."""
    today = as_of or dt.date.today()
    count = 0
    for meta in metadata:
        try:
            found = overdue_problem(meta.get("lastReviewed"), meta.get("reviewFrequency"), today)
        except ValueError:
            continue
        count += bool(found and found[0] == "overdue")
    return count
