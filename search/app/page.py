"""The search page's HTML: the page, its results (rendered here for the first load, for shared
links, for browsers without JavaScript, and for the page's own script), and a document.

Every piece of document or query text goes through `html.escape` (snippets arrive escaped, with
<mark> around matches); links to a page's `url` are kept only for http(s) addresses.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ..kb.results import Hit, SearchResults, StoredDocument
from ..text.languages import ENGLISH_NAMES, analysis_of, normalize_tag

# Results on one page, and the metadata keys offered as filters beside them.
PAGE_SIZE = 10
FACETS = ("tags", "audienceLevel", "cancerTypes")
FACET_NAMES = {"tags": "Topic", "audienceLevel": "Audience", "cancerTypes": "Cancer type"}
FACET_VALUES_SHOWN = 8
LANGUAGES = (("", "All languages"), ("en", "English"), ("es", "Español"))
# What the page reads of its address: longer queries are cut by the search anyway.
MAX_QUERY_CHARS_IN_URL = 4000
MAX_PAGE = 1000


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Form:
    """What the page was asked: the query, its filters and the page number, as in its URL
    (`/?q=anemia&tag=treatment&lang=en&f=audienceLevel:patient&page=2`)."""

    q: str = ""
    lang: str = ""
    tags: tuple[str, ...] = ()
    others: tuple[tuple[str, str], ...] = ()  # (key, value) of `f=key:value`
    page: int = 1
    fix: bool = False

    @classmethod
    def from_params(cls, params: Any) -> Form:
        """Read a request's query parameters (a Starlette QueryParams or any multi-dict)."""

        def values(name: str) -> list[str]:
            found = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
            return [str(value).strip() for value in found if value and str(value).strip()]

        def first(name: str) -> str:
            return next(iter(values(name)), "")

        others = []
        for pair in values("f"):
            key, sep, value = pair.partition(":")
            if sep and key.strip() and value.strip():
                others.append((key.strip(), value.strip()))
        page = first("page")
        return cls(
            q=first("q")[:MAX_QUERY_CHARS_IN_URL],
            lang=_language(first("lang")),
            tags=tuple(values("tag")),
            others=tuple(others),
            page=min(int(page), MAX_PAGE) if page.isdigit() and int(page) > 0 else 1,
            fix=first("fix") in ("1", "true"),
        )

    @property
    def searched(self) -> bool:
        return bool(self.q.strip() or self.tags or self.others or self.lang)

    def filters(self) -> dict[str, list[str]]:
        chosen: dict[str, list[str]] = {}
        if self.tags:
            chosen["tags"] = list(self.tags)
        if self.lang:
            chosen["language"] = [self.lang]
        for key, value in self.others:
            chosen.setdefault(key, []).append(value)
        return chosen

    def has(self, key: str, value: str) -> bool:
        if key == "tags":
            return value in self.tags
        return (key, value) in self.others

    def toggled(self, key: str, value: str) -> Form:
        """The same search with the filter `key=value` added, or removed if it was on."""
        if key == "tags":
            tags = tuple(tag for tag in self.tags if tag != value)
            return replace(self, tags=tags if value in self.tags else (*tags, value), page=1)
        pair = (key, value)
        others = tuple(other for other in self.others if other != pair)
        return replace(self, others=others if pair in self.others else (*others, pair), page=1)

    def params(self) -> list[tuple[str, str]]:
        pairs = [("q", self.q)] if self.q else []
        pairs += [("lang", self.lang)] if self.lang else []
        pairs += [("tag", tag) for tag in self.tags]
        pairs += [("f", f"{key}:{value}") for key, value in self.others]
        pairs += [("page", str(self.page))] if self.page > 1 else []
        return pairs

    def url(self) -> str:
        return "/?" + urlencode(self.params()) if self.params() else "/"


def hit_link(hit: Hit | StoredDocument, anchor: str = "", q: str = "") -> str:
    """Where a result leads: its published page (http or https only) plus the anchor, else
    kbsearch's rendering of it with the query's words marked."""
    url = hit.url or str(hit.metadata.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.split("#")[0] + f"#{anchor}" if anchor else url
    local = f"/doc/{quote(hit.id)}" + ("?" + urlencode({"q": q}) if q else "")
    return local + (f"#{anchor}" if anchor else "")


def _template() -> str:
    return resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")


def search_page(form: Form, results: SearchResults | None) -> str:
    """The whole page: the form, and the first page of results when a search was asked."""
    title = f"{form.q} – kbsearch" if form.q else "kbsearch"
    options = _language_options(form.lang)
    return (
        _template()
        .replace("{{title}}", _e(title))
        .replace("{{q}}", _e(form.q))
        .replace("{{languages}}", options)
        .replace("{{hidden}}", _hidden_filters(form))
        .replace("{{results}}", results_html(form, results))
    )


def _language(value: str) -> str:
    """A `lang` parameter as a language tag, "" unless it names a language kbsearch analyses."""
    tag = normalize_tag(value)
    return tag if tag and analysis_of(tag).code != "und" else ""


def _language_options(chosen: str) -> str:
    """The language filter's choices; a language chosen in the address (`lang=ja`) joins them."""
    choices = [*LANGUAGES]
    if chosen and chosen not in dict(LANGUAGES):
        choices.append((chosen, ENGLISH_NAMES.get(chosen.split("-")[0], chosen)))
    return "".join(
        f'<option value="{_e(code)}"{" selected" if chosen == code else ""}>{_e(name)}</option>'
        for code, name in choices
    )


def _hidden_filters(form: Form) -> str:
    """The active filters as hidden fields, so submitting the form keeps them."""
    fields = [("tag", tag) for tag in form.tags] + [("f", f"{k}:{v}") for k, v in form.others]
    return "".join(f'<input type="hidden" name="{n}" value="{_e(v)}">' for n, v in fields)


def results_html(form: Form, results: SearchResults | None) -> str:
    """The results part of the page: summary, "did you mean", facets, hits and paging."""
    if results is None:
        return '<p class="hint">Type a question or a few words.</p>'
    parts = [f'<div class="summary" role="status">{_summary(form, results)}</div>']
    parts += [f'<p class="notice">{_e(notice)}</p>' for notice in results.notices]
    if results.suggestion:
        verb = "Searched for" if results.corrected else "Did you mean"
        target = replace(form, q=results.suggestion, page=1)
        parts.append(
            f'<p class="suggestion">{verb}: <a href="{_e(target.url())}" data-nav>'
            f"{_e(results.suggestion)}</a></p>"
        )
    parts.append('<div class="columns">')
    parts.append(_facets_html(form, results.facets))
    hits = "".join(_hit_html(number, hit, form.q) for number, hit in enumerate(results, 1))
    parts.append(f'<ol class="hits" start="{results.offset + 1}">{hits}</ol>')
    parts.append("</div>")
    parts.append(_pager(form, results))
    return "".join(parts)


def _summary(form: Form, results: SearchResults) -> str:
    if not results.total:
        return f"No results for <q>{_e(form.q)}</q>." if form.q else "No results."
    first, last = results.offset + 1, results.offset + len(results)
    read_as = f" · read as {_e(results.language_name)}" if results.language_name else ""
    return f"{results.total_text} result(s), {first}–{last}{read_as}"


def _hit_html(number: int, hit: Hit, q: str) -> str:
    meta = [str(hit.metadata.get(key) or "") for key in ("audienceLevel", "lastReviewed")]
    shown = [value.replace("_", " ") for value in meta if value]
    link = hit_link(hit, q=q)  # the published page's address (http or https only) is shown
    where = link.split("://", 1)[1].split("#")[0].rstrip("/") if "://" in link else ""
    details = " · ".join(_e(value) for value in ([where] if where else []) + shown)
    sections = "".join(
        f'<li><a class="section" href="{_e(hit_link(hit, s.anchor, q))}">{_e(s.heading)}</a>'
        f"<p>{s.snippet.html()}</p></li>"
        for s in hit.sections
    )
    return (
        f'<li class="hit"><a class="title" href="{_e(link)}">'
        f"{hit.title_snippet.html()}</a>"
        f'<div class="details">{details}</div>'
        f'<p class="snippet">{hit.snippet.html()}</p>'
        + (f'<ul class="sections">{sections}</ul>' if sections else "")
        + "</li>"
    )


def _facets_html(form: Form, facets: Mapping[str, Mapping[str, int]]) -> str:
    groups = []
    for key, counts in facets.items():
        items = list(counts.items())[:FACET_VALUES_SHOWN]
        chosen = [(value, 0) for value in form.tags if key == "tags" and value not in counts]
        if not items and not chosen:
            continue
        links = "".join(
            f'<li><a class="facet" href="{_e(form.toggled(key, value).url())}" data-nav'
            f' aria-pressed="{"true" if form.has(key, value) else "false"}">'
            f'{_e(value.replace("_", " "))} <span class="count">{count:,}</span></a></li>'
            for value, count in items + chosen
        )
        name = FACET_NAMES.get(key, key)
        groups.append(f'<section class="facet-group"><h2>{_e(name)}</h2><ul>{links}</ul></section>')
    return f'<nav class="facets" aria-label="Filters">{"".join(groups)}</nav>'


def _pager(form: Form, results: SearchResults) -> str:
    pages = max(1, -(-results.total // PAGE_SIZE))
    if pages == 1:
        return ""
    links = []
    if form.page > 1:
        links.append(_page_link(form, form.page - 1, "← Previous", 'rel="prev"'))
    links.append(f'<span class="page">Page {form.page} of {pages:,}</span>')
    if form.page < pages:
        links.append(_page_link(form, form.page + 1, "Next →", 'rel="next"'))
    return f'<nav class="pager" aria-label="Pages">{"".join(links)}</nav>'


def _page_link(form: Form, number: int, label: str, rel: str) -> str:
    return f'<a href="{_e(replace(form, page=number).url())}" {rel} data-nav>{_e(label)}</a>'


def document_page(document: StoredDocument, q: str) -> str:
    """kbsearch's own rendering of a document: its text as stored, each section under its
    heading (with the anchor a site generator gives it), the query's words marked."""
    body = _marked_blocks(document.body, document.sections, document.marks)
    link = hit_link(document)
    source = (
        f'<p class="details"><a href="{_e(link)}">{_e(link)}</a></p>'
        if link.startswith("http")
        else ""
    )
    back = "/?" + urlencode({"q": q}) if q else "/"
    content = (
        f'<p><a href="{_e(back)}">← Back to the search</a></p>'
        f"<article><h1>{_e(document.title)}</h1>{source}{body}</article>"
    )
    return (
        _template()
        .replace("{{title}}", _e(f"{document.title} – kbsearch"))
        .replace("{{q}}", _e(q))
        .replace(
            "{{languages}}", "".join(f'<option value="{c}">{_e(n)}</option>' for c, n in LANGUAGES)
        )
        .replace("{{hidden}}", "")
        .replace("{{results}}", content)
    )


def _marked(text: str, start: int, marks: Sequence[tuple[int, int]]) -> str:
    """`text` (which starts at offset `start` of the body) escaped, marks in <mark>; `marks`
    are (start, end) offsets in the body, in order."""
    out, index = [], 0
    first = bisect.bisect_left(marks, (start, start))
    last = bisect.bisect_right(marks, (start + len(text), start + len(text)))
    for mark_start, mark_end in marks[first:last]:
        left, right = mark_start - start, mark_end - start
        if left < index or right > len(text):
            continue
        out.append(_e(text[index:left]) + f"<mark>{_e(text[left:right])}</mark>")
        index = right
    out.append(_e(text[index:]))
    return "".join(out)


def _marked_blocks(
    body: str, sections: tuple[tuple[str, str, int], ...], marks: tuple[tuple[int, int], ...]
) -> str:
    """The body as paragraphs, a heading (with its id) at the start of each section."""
    starts = {start: (heading, anchor) for heading, anchor, start in sections}
    out = []
    position = 0
    for block in body.split("\n\n"):
        heading = starts.get(position)
        if heading is not None and block.startswith(heading[0]):
            title, anchor = heading
            out.append(
                f'<h2 id="{_e(anchor)}">{_marked(block[: len(title)], position, marks)}</h2>'
            )
            rest = block[len(title) :].lstrip("\n")
            if rest:
                offset = position + len(block) - len(rest)
                out.append(f"<p>{_marked(rest, offset, marks).replace(chr(10), '<br>')}</p>")
        elif block.strip():
            out.append(f"<p>{_marked(block, position, marks).replace(chr(10), '<br>')}</p>")
        position += len(block) + 2
    return "".join(out)
