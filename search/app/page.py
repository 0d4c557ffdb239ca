"""The search page's HTML: the page, its results (rendered here for the first load, for shared
links, for browsers without JavaScript, and for the page's own script), and a document.

Every piece of document or query text goes through `html.escape` (snippets arrive escaped, with
<mark> around matches); links to a page's `url` are kept only for http(s) addresses.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ..kb.results import Hit, SearchResults, StoredDocument
from ..text.languages import ENGLISH_NAMES, analysis_of, normalize_tag
from ..text.schema import same_value

# Results on one page, and the metadata keys offered as filters beside them.
PAGE_SIZE = 10
FACETS = ("tags", "audienceLevel", "cancerTypes")
FACET_VALUES_SHOWN = 8
# A hit shows this many of its best sections (the API gives up to 3).
SECTIONS_SHOWN = 2
# The interface's words in each language it speaks; which one: `ui=`, else the query's language,
# else the browser's (Accept-Language), else English.
UI: dict[str, dict[str, str]] = {
    "en": {
        "search": "Search",
        "placeholder": "Search (press / to focus)",
        "language": "Language",
        "all_languages": "All languages",
        "hint": "Type a question or a few words.",
        "no_results_for": "No results for <q>{q}</q>.",
        "no_results": "No results.",
        "results": "{total} result(s), {first}–{last}",
        "read_as": " · read as {language}",
        "did_you_mean": "Did you mean",
        "showing": "Showing results for",
        "instead": "Search instead for",
        "filters": "Filters",
        "active": "Active filters",
        "clear": "Clear all",
        "remove": "remove",
        "without_filters": "Search without the filters",
        "fewer_words": "Try fewer or other words.",
        "previous": "← Previous",
        "next": "Next →",
        "page": "Page {page} of {pages}",
        "skip": "Skip to the results",
        "back": "← Back to the search",
        "contents": "Contents",
        "here": "view here",
        "also_in": "Also in",
        "tags": "Topic",
        "audienceLevel": "Audience",
        "cancerTypes": "Cancer type",
        "lang": "Language",
    },
    "es": {
        "search": "Buscar",
        "placeholder": "Buscar (pulse / para escribir)",
        "language": "Idioma",
        "all_languages": "Todos los idiomas",
        "hint": "Escriba una pregunta o unas palabras.",
        "no_results_for": "No hay resultados para <q>{q}</q>.",
        "no_results": "No hay resultados.",
        "results": "{total} resultado(s), {first}–{last}",
        "read_as": " · leído como {language}",
        "did_you_mean": "Quizás quiso decir",
        "showing": "Mostrando resultados para",
        "instead": "Buscar en cambio",
        "filters": "Filtros",
        "active": "Filtros activos",
        "clear": "Quitar todos",
        "remove": "quitar",
        "without_filters": "Buscar sin los filtros",
        "fewer_words": "Pruebe con menos palabras o con otras.",
        "previous": "← Anterior",
        "next": "Siguiente →",
        "page": "Página {page} de {pages}",
        "skip": "Ir a los resultados",
        "back": "← Volver a la búsqueda",
        "contents": "Contenido",
        "here": "ver aquí",
        "also_in": "También en",
        "tags": "Tema",
        "audienceLevel": "Público",
        "cancerTypes": "Tipo de cáncer",
        "lang": "Idioma",
    },
}
# Languages by name in each interface language (others: their English name).
LANGUAGE_NAMES = {
    "en": {"en": "English", "es": "Spanish"},
    "es": {"en": "inglés", "es": "español"},
}
LANGUAGES = (("", "all_languages"), ("en", "English"), ("es", "Español"))
# What the page reads of its address: longer queries are cut by the search anyway.
MAX_QUERY_CHARS_IN_URL = 4000
MAX_PAGE = 1000


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Form:
    """What the page was asked: the query, its filters and the page number, as in its URL
    (`/?q=anemia&tag=treatment&lang=en&f=audienceLevel:patient&page=2`), and how: `prefix`
    while the query is being typed (never in the URL), `fix` (None: correct a query that
    finds nothing; False: as typed), `ui` (the interface's language, when chosen)."""

    q: str = ""
    lang: str = ""
    tags: tuple[str, ...] = ()
    others: tuple[tuple[str, str], ...] = ()  # (key, value) of `f=key:value`
    page: int = 1
    fix: bool | None = None
    prefix: bool = False
    ui: str = ""

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
        fix = first("fix")
        return cls(
            q=first("q")[:MAX_QUERY_CHARS_IN_URL],
            lang=_language(first("lang")),
            tags=tuple(dict.fromkeys(values("tag"))),
            others=tuple(dict.fromkeys(others)),
            page=min(int(page), MAX_PAGE) if page.isdigit() and int(page) > 0 else 1,
            fix=True if fix in ("1", "true") else False if fix in ("0", "false") else None,
            prefix=first("prefix") == "last",
            ui=first("ui") if first("ui") in UI else "",
        )

    @property
    def searched(self) -> bool:
        return bool(self.q.strip() or self.tags or self.others or self.lang)

    @property
    def filtered(self) -> bool:
        return bool(self.tags or self.others or self.lang)

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
        """Whether `key=value` is a filter on, the value matched as filters match it (case and
        accents aside: `estomago` in an older address is the facet `estómago`)."""
        if key == "tags":
            return any(same_value(tag, value) for tag in self.tags)
        return any(k == key and same_value(v, value) for k, v in self.others)

    def toggled(self, key: str, value: str) -> Form:
        """The same search with the filter `key=value` added, or removed if it was on."""
        if key == "lang":
            return replace(self, lang="", page=1)
        on = self.has(key, value)
        if key == "tags":
            tags = tuple(tag for tag in self.tags if not same_value(tag, value))
            return replace(self, tags=tags if on else (*tags, value), page=1)
        others = tuple((k, v) for k, v in self.others if not (k == key and same_value(v, value)))
        return replace(self, others=others if on else (*others, (key, value)), page=1)

    def unfiltered(self) -> Form:
        return replace(self, tags=(), others=(), lang="", page=1)

    def params(self) -> list[tuple[str, str]]:
        pairs = [("q", self.q)] if self.q else []
        pairs += [("lang", self.lang)] if self.lang else []
        pairs += [("tag", tag) for tag in self.tags]
        pairs += [("f", f"{key}:{value}") for key, value in self.others]
        pairs += [("page", str(self.page))] if self.page > 1 else []
        pairs += [("fix", "1" if self.fix else "0")] if self.fix is not None else []
        pairs += [("ui", self.ui)] if self.ui else []
        return pairs

    def url(self) -> str:
        return "/?" + urlencode(self.params()) if self.params() else "/"


def ui_language(form: Form, results: SearchResults | None, accept: str = "") -> str:
    """The interface's language: the one chosen, else that of the pages filtered by language,
    else the query's (when the interface speaks them), else the browser's first that it
    speaks, else English."""
    if form.ui:
        return form.ui
    if form.lang.split("-")[0] in UI:
        return form.lang.split("-")[0]
    if results is not None and results.language in UI:
        return str(results.language)
    for part in accept.split(","):
        tag = part.split(";")[0].strip().split("-")[0].lower()
        if tag in UI:
            return tag
    return "en"


def hit_link(hit: Hit | StoredDocument, anchor: str = "", q: str = "") -> str:
    """Where a result leads: its published page (http or https only) plus the anchor, else
    kbsearch's rendering of it with the query's words marked."""
    url = hit.url or str(hit.metadata.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.split("#")[0] + f"#{anchor}" if anchor else url
    return local_link(hit.id, anchor, q)


def local_link(doc_id: str, anchor: str = "", q: str = "") -> str:
    """kbsearch's own rendering of a page (`/doc/ID`), the query's words marked."""
    local = f"/doc/{quote(doc_id)}" + ("?" + urlencode({"q": q}) if q else "")
    return local + (f"#{anchor}" if anchor else "")


def _template() -> str:
    return resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")


def search_page(form: Form, results: SearchResults | None, ui: str = "en") -> str:
    """The whole page: the form, and the first page of results when a search was asked."""
    title = f"{form.q} – kbsearch" if form.q else "kbsearch"
    return _page(
        ui, title, form.q, form.lang, _hidden_filters(form), results_html(form, results, ui)
    )


def _page(ui: str, title: str, q: str, lang: str, hidden: str, content: str) -> str:
    words = UI[ui]
    other = "es" if ui == "en" else "en"
    switch = (
        f'<a class="ui-switch" href="?{_e(urlencode({"q": q, "ui": other}))}" lang="{other}"'
        f' hreflang="{other}">{"Español" if other == "es" else "English"}</a>'
    )
    return (
        _template()
        .replace("{{ui}}", ui)
        .replace("{{title}}", _e(title))
        .replace("{{q}}", _e(q))
        .replace("{{languages}}", _language_options(lang, ui))
        .replace("{{hidden}}", hidden)
        .replace("{{switch}}", switch)
        .replace("{{search}}", _e(words["search"]))
        .replace("{{placeholder}}", _e(words["placeholder"]))
        .replace("{{language}}", _e(words["language"]))
        .replace("{{skip}}", _e(words["skip"]))
        .replace("{{results}}", content)
    )


def _language(value: str) -> str:
    """A `lang` parameter as a language tag, "" unless it names a language kbsearch analyses."""
    tag = normalize_tag(value)
    return tag if tag and analysis_of(tag).code != "und" else ""


def _language_name(code: str, ui: str) -> str:
    return LANGUAGE_NAMES[ui].get(code) or ENGLISH_NAMES.get(code.split("-")[0], code)


def _language_options(chosen: str, ui: str = "en") -> str:
    """The language filter's choices; a language chosen in the address (`lang=ja`) joins them."""
    choices = [(code, UI[ui].get(name, name)) for code, name in LANGUAGES]
    if chosen and chosen not in dict(LANGUAGES):
        choices.append((chosen, _language_name(chosen, ui)))
    return "".join(
        f'<option value="{_e(code)}"{" selected" if chosen == code else ""}>{_e(name)}</option>'
        for code, name in choices
    )


def _hidden_filters(form: Form) -> str:
    """The active filters as hidden fields, so submitting the form keeps them (without
    JavaScript; the page's script takes them from the address, which is always current)."""
    fields = [("tag", tag) for tag in form.tags] + [("f", f"{k}:{v}") for k, v in form.others]
    fields += [("ui", form.ui)] if form.ui else []
    return "".join(f'<input type="hidden" name="{n}" value="{_e(v)}">' for n, v in fields)


def results_html(form: Form, results: SearchResults | None, ui: str = "en") -> str:
    """The results part of the page: summary, correction, active filters, facets, hits and
    paging. Its first element tells the page's script the interface's language and words."""
    words = UI[ui]
    state = (
        f'<div id="state" hidden data-ui="{ui}" data-search="{_e(words["search"])}"'
        f' data-placeholder="{_e(words["placeholder"])}"></div>'
    )
    if results is None:
        return f'{state}<p class="hint">{_e(words["hint"])}</p>'
    parts = [
        state,
        f'<div role="status"><h2 class="summary" id="summary" tabindex="-1">'
        f"{_summary(form, results, ui)}</h2></div>",
    ]
    parts += [f'<p class="notice">{_e(notice)}</p>' for notice in results.notices]
    parts.append(_correction(form, results, ui))
    parts.append(_chips(form, ui))
    if not results.total:
        parts.append(_no_results_help(form, ui))
    parts.append('<div class="columns">')
    parts.append(_facets_html(form, results.facets, ui))
    hits = "".join(_hit_html(hit, form.q, ui) for hit in results)
    parts.append(f'<ol class="hits" start="{results.offset + 1}">{hits}</ol>')
    parts.append("</div>")
    parts.append(_pager(form, results, ui))
    return "".join(parts)


def _summary(form: Form, results: SearchResults, ui: str) -> str:
    words = UI[ui]
    if not results.total:
        return words["no_results_for"].format(q=_e(form.q)) if form.q else words["no_results"]
    first, last = results.offset + 1, results.offset + len(results)
    total = results.total_text if ui == "en" else results.total_text.replace(",", ".")
    said = words["results"].format(total=total, first=first, last=last)
    if results.language:
        said += words["read_as"].format(language=_language_name(results.language, ui))
    return _e(said)


def _correction(form: Form, results: SearchResults, ui: str) -> str:
    """The spelling correction: "Showing results for X. Search instead for Y" when it was
    searched, "Did you mean: X" when the query was searched as typed."""
    words = UI[ui]
    if not results.suggestion:
        return ""
    if results.corrected:
        fixed = replace(form, q=results.suggestion, page=1, fix=None)
        asked = replace(form, page=1, fix=False)
        return (
            f'<p class="suggestion">{_e(words["showing"])} <a href="{_e(fixed.url())}" data-nav>'
            f"<strong>{_e(results.suggestion)}</strong></a>. {_e(words['instead'])} "
            f'<a href="{_e(asked.url())}" data-nav>{_e(form.q)}</a>.</p>'
        )
    target = replace(form, q=results.suggestion, page=1, fix=None)
    return (
        f'<p class="suggestion">{_e(words["did_you_mean"])}: <a href="{_e(target.url())}"'
        f" data-nav>{_e(results.suggestion)}</a></p>"
    )


def _chips(form: Form, ui: str) -> str:
    """The active filters, each a link that removes it, and one that removes them all."""
    words = UI[ui]
    chosen = [("lang", form.lang)] if form.lang else []
    chosen += [("tags", tag) for tag in form.tags] + list(form.others)
    if not chosen:
        return ""
    chips = "".join(
        f'<li><a class="chip" href="{_e(form.toggled(key, value).url())}" data-nav>'
        f"{_e(words.get(key, key))}: {_e(_value_label(key, value, ui))}"
        f' <span aria-hidden="true">×</span><span class="visually-hidden">'
        f" ({_e(words['remove'])})</span></a></li>"
        for key, value in chosen
    )
    everything = _e(form.unfiltered().url())
    clear = f'<li><a class="clear" href="{everything}" data-nav>{_e(words["clear"])}</a></li>'
    return f'<ul class="chips" aria-label="{_e(words["active"])}">{chips}{clear}</ul>'


def _value_label(key: str, value: str, ui: str) -> str:
    return _language_name(value, ui) if key == "lang" else value.replace("_", " ")


def _no_results_help(form: Form, ui: str) -> str:
    words = UI[ui]
    offers = []
    if form.filtered:
        offers.append(
            f'<a href="{_e(form.unfiltered().url())}" data-nav>{_e(words["without_filters"])}</a>'
        )
    if len(form.q.split()) > 1:
        offers.append(_e(words["fewer_words"]))
    return f'<p class="help">{" ".join(offers)}</p>' if offers else ""


def _hit_html(hit: Hit, q: str, ui: str) -> str:
    words = UI[ui]
    link = hit_link(hit, q=q)  # the published page's address (http or https only) is shown
    external = "://" in link
    where = link.split("://", 1)[1].split("#")[0].rstrip("/") if external else hit.id
    language = hit.language
    badge = (
        f'<span class="badge" title="{_e(_language_name(language, ui))}">{_e(language)}</span>'
        if language
        else ""
    )
    reviewed = str(hit.metadata.get("lastReviewed") or "")
    local = (
        f' · <a class="local" href="{_e(local_link(hit.id, q=q))}">{_e(words["here"])}</a>'
        if external
        else ""
    )
    details = f'<span class="where">{_e(where)}</span>' + (f" · {_e(reviewed)}" if reviewed else "")
    sections = "".join(
        f'<li><a class="section" href="{_e(hit_link(hit, section.anchor, q))}">'
        f"{section.heading_html()}</a>"
        + ("" if hit.repeats_snippet(section) else f"<p>{section.snippet.html()}</p>")
        + "</li>"
        for section in hit.sections[:SECTIONS_SHOWN]
    )
    lang = f' lang="{_e(language)}"' if language else ""
    return (
        f'<li class="hit"{lang}><a class="title" href="{_e(link)}">'
        f"{hit.title_snippet.html()}</a> {badge}"
        f'<div class="details">{details}{local}{_translations_html(hit, ui)}</div>'
        f'<p class="snippet">{hit.snippet.html()}</p>'
        + (f'<ul class="sections">{sections}</ul>' if sections else "")
        + "</li>"
    )


def _translations_html(hit: Hit, ui: str) -> str:
    """Links to the page in its other languages, each named in the interface's language and
    titled in its own."""
    links = ", ".join(
        f'<a class="translation" href="{_e(local_link(t.id))}" hreflang="{_e(t.language)}"'
        f' title="{_e(t.title)}" lang="{_e(ui)}">{_e(_language_name(t.language, ui))}</a>'
        for t in hit.translations
    )
    return f' · <span lang="{_e(ui)}">{_e(UI[ui]["also_in"])}</span> {links}' if links else ""


def _facets_html(form: Form, facets: Mapping[str, Mapping[str, int]], ui: str) -> str:
    words = UI[ui]
    groups = []
    for key, counts in facets.items():
        items = list(counts.items())[:FACET_VALUES_SHOWN]
        shown = {value for value, _ in items}
        chosen_values = form.tags if key == "tags" else [v for k, v in form.others if k == key]
        items += [
            (value, counts.get(value, 0))
            for value in chosen_values
            if not any(same_value(value, other) for other in shown)
        ]
        if not items:
            continue
        links = "".join(
            f'<li><a class="facet" href="{_e(form.toggled(key, value).url())}" data-nav'
            f' role="checkbox" aria-checked="{"true" if form.has(key, value) else "false"}">'
            f'<span class="value">{_e(value.replace("_", " "))}</span>'
            f' <span class="count">{count:,}</span></a></li>'
            for value, count in items
        )
        name = words.get(key, key)
        groups.append(f'<section class="facet-group"><h3>{_e(name)}</h3><ul>{links}</ul></section>')
    if not groups:
        return ""
    chosen = len(form.tags) + len(form.others) + bool(form.lang)
    count = f" ({chosen})" if chosen else ""
    return (
        f'<details class="facets" open><summary>{_e(words["filters"])}{count}</summary>'
        f'<nav aria-label="{_e(words["filters"])}">{"".join(groups)}</nav></details>'
    )


def _pager(form: Form, results: SearchResults, ui: str) -> str:
    words = UI[ui]
    pages = max(1, -(-results.total // PAGE_SIZE))
    if pages == 1:
        return ""
    links = []
    if form.page > 1:
        links.append(_page_link(form, form.page - 1, words["previous"], 'rel="prev"'))
    said = words["page"].format(page=form.page, pages=f"{pages:,}")
    links.append(f'<span class="page">{_e(said)}</span>')
    if form.page < pages:
        links.append(_page_link(form, form.page + 1, words["next"], 'rel="next"'))
    return f'<nav class="pager" aria-label="{_e(said)}">{"".join(links)}</nav>'


def _page_link(form: Form, number: int, label: str, rel: str) -> str:
    return f'<a href="{_e(replace(form, page=number).url())}" {rel} data-nav>{_e(label)}</a>'


def document_page(document: StoredDocument, q: str, ui: str = "") -> str:
    """kbsearch's own rendering of a document: its text as stored, in paragraphs and lists,
    each section under its heading (with the anchor a site generator gives it), a table of
    contents, the query's words marked; in the document's language when the interface speaks
    it."""
    language = document.language or str(document.metadata.get("language") or "")
    ui = ui or (language.split("-")[0] if language.split("-")[0] in UI else "en")
    words = UI[ui]
    body = _marked_blocks(document.body, document.sections, document.marks)
    link = hit_link(document)
    source = (
        f'<p class="details"><a href="{_e(link)}">{_e(link)}</a></p>'
        if link.startswith("http")
        else ""
    )
    toc = "".join(
        f'<li><a href="#{_e(anchor)}">{_e(heading)}</a></li>'
        for heading, anchor, _ in document.sections
    )
    contents = (
        f'<nav class="toc" aria-label="{_e(words["contents"])}"><h2>{_e(words["contents"])}</h2>'
        f"<ol>{toc}</ol></nav>"
        if len(document.sections) > 1
        else ""
    )
    back = "/?" + urlencode({"q": q}) if q else "/"
    lang = f' lang="{_e(language)}"' if language else ""
    content = (
        f'<p><a href="{_e(back)}">{_e(words["back"])}</a></p>'
        f'<div class="document">{contents}<article{lang}><h1>{_e(document.title)}</h1>'
        f"{source}{body}</article></div>"
    )
    return _page(ui, f"{document.title} – kbsearch", q, "", "", content)


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
    """The body as paragraphs and lists (a block whose lines all start `- `, `* ` or `1. `), a
    heading (with its id) at the start of each section."""
    starts = {start: (heading, anchor) for heading, anchor, start in sections}
    out = []
    position = 0
    for block in body.split("\n\n"):
        heading = starts.get(position)
        offset, rest = position, block
        if heading is not None and block.startswith(heading[0]):
            title, anchor = heading
            out.append(
                f'<h2 id="{_e(anchor)}">{_marked(block[: len(title)], position, marks)}</h2>'
            )
            rest = block[len(title) :].lstrip("\n")
            offset = position + len(block) - len(rest)
        if rest.strip():
            out.append(_block_html(rest, offset, marks))
        position += len(block) + 2
    return "".join(out)


_LIST_ITEM = re.compile(r"(?:[-*•]|\d{1,3}[.)])\s+")


def _block_html(block: str, offset: int, marks: tuple[tuple[int, int], ...]) -> str:
    """One block of the body: a list when each of its lines is an item, else a paragraph
    whose line breaks are spaces (they were the source's wrapping)."""
    lines = block.split("\n")
    if all(_LIST_ITEM.match(line) for line in lines if line.strip()):
        items, at = [], offset
        for line in lines:
            item = _LIST_ITEM.match(line)
            if item is not None:
                start = at + item.end()
                items.append(f"<li>{_marked(line[item.end() :], start, marks)}</li>")
            at += len(line) + 1
        tag = "ol" if lines[0][:1].isdigit() else "ul"
        return f"<{tag}>{''.join(items)}</{tag}>"
    return f"<p>{_marked(block, offset, marks).replace(chr(10), ' ')}</p>"
