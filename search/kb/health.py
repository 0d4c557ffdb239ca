"""Knowledge-base health: what editors should fix before readers notice (`kbsearch check`)."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import os
import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from ..budgets import DEFAULT_BUDGETS, Budgets
from .choices import PROBLEM_KINDS
from .sites import Site, load_site, page_url, scan_site
from .sources import Skipped

if TYPE_CHECKING:  # the reader (Markdown, YAML) is imported by `check`; a query never needs it
    from .documents import Document

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
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    budgets: Budgets = DEFAULT_BUDGETS,
    follow_links: bool = False,
    site: Site | str | None = None,
) -> HealthReport:
    """Check every page under `source`; `base_urls` are the prefixes of the knowledge base's
    own published pages besides the site's base URL, so links to them can be checked.

    Documents are read as the indexer reads them (the same budgets, links, workers and site
    rules), so every file the indexer would skip is reported here as `invalid`, with the same
    reason. Required keys are the site's (`kbsearch.toml`; a title by default), and links are
    resolved as the site's generator resolves them."""
    from .reading import LeftOut, read_as_document, read_files

    root = Path(source)
    if not isinstance(site, Site):
        site = load_site(root, site)
    today = as_of or dt.date.today()
    files, scan_problems, _ = scan_site(site, root, include, exclude, follow_links)
    problems = [Problem(s.path, "invalid", s.reason) for s in scan_problems]
    docs: list[Document] = []
    task = functools.partial(read_as_document, site=site)
    drafts = 0
    for _, outcome in read_files(files, root, task, budgets, follow_links=follow_links):
        if isinstance(outcome, LeftOut):
            drafts += 1
            continue
        if isinstance(outcome, Skipped):
            problems.append(Problem(outcome.path, "invalid", outcome.reason))
        else:
            docs.append(outcome)
    problems.extend(_document_problems(docs, today, site))
    # Sections of one page carry the page's url with their own #anchor: compare whole urls.
    problems.extend(_duplicates(docs, "url", lambda d: _meta_text(d, "url").rstrip("/")))
    # Pages of one title in one folder look alike in results; across folders (a platform's or a
    # language's version, a tutorial's step) they are each other's versions.
    problems.extend(
        _duplicates(docs, "title", lambda d: f"{posixpath.dirname(d.id)}\0{d.title.casefold()}")
    )
    problems.extend(_broken_links(docs, root, site, base_urls))
    order = {kind: n for n, kind in enumerate(PROBLEM_KINDS)}
    problems.sort(key=lambda p: (p.path, order.get(p.kind, 99)))
    return HealthReport(documents=len(files) - drafts, as_of=today, problems=tuple(problems))


def _problem(doc: Document, kind: str, message: str) -> Problem:
    return Problem(
        doc.path, kind, message, _meta_text(doc, "source"), _meta_text(doc, "sourceType")
    )


def _document_problems(docs: Iterable[Document], today: dt.date, site: Site) -> Iterable[Problem]:
    for doc in docs:
        for key in site.required_keys:
            # A title may come from the frontmatter or a heading, not from the file name.
            keys = site.keys.title if key == "title" else (key,)
            present = [doc.metadata.get(k) for k in keys]
            if key == "title":
                present += doc.headings[:1]
            if all(value in (None, "", []) for value in present):
                yield _problem(doc, "missing_key", f"no `{key}` in the frontmatter")
        found = overdue_problem(doc.last_reviewed, doc.metadata.get("reviewFrequency"), today)
        if found:
            yield _problem(doc, *found)
        if not doc.body.strip() and not _listing(doc):
            yield _problem(doc, "empty_body", "the page has no text below its frontmatter")


def _listing(doc: Document) -> bool:
    """Whether a page's text comes from its template: a Hugo section page (`_index.md`, which
    lists its section) or a page with its own `layout`."""
    return posixpath.basename(doc.id) == "_index.md" or bool(doc.metadata.get("layout"))


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


@dataclass(frozen=True)
class _Pages:
    """What links can lead to: the pages' site paths (and aliases) and their files."""

    site: Site
    root: Path
    urls: Mapping[str, str]  # each page's id -> its URL ("" when it has none)
    paths: frozenset[str]  # "/docs/x" of every page's URL (no trailing slash)
    names: frozenset[str]  # file names without extension, for Obsidian's wikilinks

    @classmethod
    def of(cls, docs: Sequence[Document], root: Path, site: Site) -> _Pages:
        urls = {d.id: page_url(site, d.id, d.metadata) or _meta_text(d, "url") for d in docs}
        paths = set()
        for doc in docs:
            url = urls[doc.id]
            paths.add(_site_path(url))
            for alias in _aliases(doc):
                paths.add(_site_path(urljoin(url, alias)))
        if site.generator == "hugo":  # Hugo publishes a page per taxonomy and per term
            base = urlsplit(site.base_url).path.rstrip("/")
            for taxonomy in ("tags", "categories"):
                paths.add(f"{base}/{taxonomy}")
                for doc in docs:
                    for term in _as_terms(doc.metadata.get(taxonomy)):
                        paths.add(f"{base}/{taxonomy}/{term}")
        names = frozenset(posixpath.splitext(posixpath.basename(d.id))[0].casefold() for d in docs)
        return cls(site, root, urls, frozenset(paths), names)

    def file(self, path: str, *folders: str) -> bool:
        """Whether `path` names a file under one of `folders` (a page's `.md` may be left out,
        and a folder stands for its `index.md` or `_index.md`). A path that leads out of the
        folder names nothing: a report never tells what lies outside the knowledge base."""
        for folder in folders:
            top = Path(folder).resolve()
            base = (top / path.lstrip("/")).resolve()
            if not base.is_relative_to(top):
                continue
            tries = [base / "index.md", base / "_index.md", base / "index.html"]
            tries += [base.with_name(base.name + ext) for ext in ("", ".md", ".markdown", ".html")]
            if any(t.is_file() for t in tries if t.name):
                return True
        return False


def _as_terms(value: Any) -> list[str]:
    """A taxonomy's terms as Hugo writes them in URLs (lower case, `-` for spaces)."""
    items = value if isinstance(value, list) else [value] if value else []
    return [str(item).strip().lower().replace(" ", "-") for item in items]


def _site_path(url: str) -> str:
    return urlsplit(_page_url(url)).path.rstrip("/")


def _aliases(doc: Document) -> list[str]:
    found = []
    for key in ("aliases", "redirect_from"):
        value = doc.metadata.get(key)
        found += [str(v) for v in value] if isinstance(value, list) else [str(value)] * bool(value)
    return found


def _broken_links(
    docs: Sequence[Document], root: Path, site: Site, base_urls: Sequence[str]
) -> Iterable[Problem]:
    pages = _Pages.of(docs, root, site)
    prefixes = tuple(base.rstrip("/") for base in (*base_urls, site.base_url) if base)
    for doc in docs:
        for link in doc.links:
            problem = _link_problem(doc, link.strip(), pages, prefixes)
            if problem:
                yield _problem(doc, "broken_link", f"links to {link!r}: {problem}")


def _link_problem(
    doc: Document, target: str, pages: _Pages, prefixes: tuple[str, ...]
) -> str | None:
    """Why `target`, a link on `doc`, leads nowhere; None when it resolves (or is not ours)."""
    parts = urlsplit(target)
    if parts.scheme in ("mailto", "tel", "data", "javascript") or target.startswith("#"):
        return None
    site = pages.site
    here = pages.urls[doc.id]
    path = unquote(parts.path)
    folder = posixpath.dirname(doc.id)
    if not parts.scheme and not parts.netloc and not target.startswith("/"):
        relative = posixpath.normpath(posixpath.join(folder, path))
        if pages.file(relative, str(pages.root)):
            return None
        if site.generator == "obsidian" and posixpath.basename(path).casefold() in pages.names:
            return None
        if site.generator == "hugo" and pages.file(path, site.content):
            return None  # `ref` / `relref` and Hugo's links to content paths
        if site.generator != "plain" and here and _site_path(urljoin(here, target)) in pages.paths:
            return None
        return "no such file"
    absolute = urljoin(here or "/", target)
    ours = absolute.startswith(prefixes) if prefixes else False
    if target.startswith("/") and site.generator != "plain":
        base_path = urlsplit(site.base_url).path.rstrip("/")
        if _site_path(absolute) in pages.paths or _site_path(base_path + path) in pages.paths:
            return None
        if pages.file(path, site.content, *site.static_dirs):
            return None
        return "no page has that path"
    if ours and _site_path(absolute) not in pages.paths:
        base_path = urlsplit(site.base_url).path
        local = urlsplit(absolute).path
        local = local[len(base_path) :] if local.startswith(base_path) else local
        if pages.file(local, site.content, *site.static_dirs):
            return None
        return "no page has that url"
    return None


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
