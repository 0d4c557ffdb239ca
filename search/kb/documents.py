"""Read one file (YAML, TOML or JSON frontmatter + Markdown) into a validated `Document`."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ..budgets import DEFAULT_BUDGETS, Budgets, check_markdown, check_values, size_text
from ..errors import DocumentError
from ..keys import DATE_KEYS, KEYWORD_KEYS, parse_date
from ..text import highlight
from ..text.languages import analysis_of, normalize_tag
from .dialects import Include, plain_markdown
from .sources import file_kind

TEXT_KEYS = ("title",)


@dataclass(frozen=True)
class PageKeys:
    """Which frontmatter keys give a page's title, summary, tags, date and language, first found
    wins: the keys Hugo, Jekyll, MkDocs, Docusaurus and Obsidian pages write, unless the knowledge
    base's `kbsearch.toml` names its own."""

    title: tuple[str, ...] = ("title", "linkTitle")
    description: tuple[str, ...] = ("description", "summary", "excerpt")
    tags: tuple[str, ...] = ("tags", "categories", "keywords")  # all of them: a page's tags
    date: tuple[str, ...] = ("lastReviewed", "lastmod", "updated", "last_update", "date")
    language: tuple[str, ...] = ("language", "lang", "locale")
    draft: tuple[str, ...] = ("draft",)


DEFAULT_KEYS = PageKeys()

# Markdown extensions that real knowledge-base pages use; all ship with the markdown package.
# `toc` gives each heading the id a site generator gives it (`Treatment of anemia` ->
# `treatment-of-anemia`, a `_1` suffix on a repeat: MkDocs' anchors, GitHub's for ASCII); its
# `[TOC]` marker is off, so a page's text never grows a table of contents.
# `attr_list`, `abbr`, `footnotes` and `def_list` read what MkDocs and Hugo pages write (`{ #id }`
# after a heading, `*[HTML]: …`, `[^1]`, `term` / `: definition`) instead of showing it.
# `pymdownx.superfences` reads a code fence inside a list item or a definition too, where
# Python-Markdown's `fenced_code` leaves its backticks and code in the text (its `highlight`
# loaded without Pygments: the code stays one plain `<pre><code>`, as fast as before).
MARKDOWN_EXTENSIONS = (
    "tables",
    "pymdownx.highlight",
    "pymdownx.superfences",
    "sane_lists",
    "toc",
    "attr_list",
    "abbr",
    "footnotes",
    "def_list",
)
MARKDOWN_CONFIG: dict[str, dict[str, Any]] = {
    "toc": {"marker": ""},
    "pymdownx.highlight": {"use_pygments": False},
}

# Elements whose content is never visible text; `<script>` in a page must not become searchable.
INVISIBLE_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title"})
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Elements that end a line of text, so words on either side never run together.
BLOCK_TAGS = HEADING_TAGS | frozenset(
    {"p", "li", "br", "div", "tr", "td", "th", "pre", "blockquote", "hr", "dt", "dd", "table"}
)

# Zero-width and bidirectional control characters: invisible, and they would split words.
_INVISIBLE_CHARS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Marks where a heading starts while the text is tidied (a private-use character, removed from
# pages' own text), so sections know their offsets in the final text.
SECTION_MARK = "\ue000"
# Mark where a code block starts and ends, likewise: snippets prefer the prose around code.
CODE_START, CODE_END = "\ue001", "\ue002"
_MARKS = re.compile(f"[{SECTION_MARK}{CODE_START}{CODE_END}]")
_MARK_SPACES = re.compile(f"[ \t]*([{SECTION_MARK}{CODE_START}{CODE_END}])[ \t]*")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t\r\f\v]+")

MetaValue = str | list[str] | Any


@dataclass(frozen=True)
class Section:
    """One heading of a page: its text, its anchor, and where its part of the body starts."""

    heading: str
    anchor: str  # the heading's id in the rendered page (see MARKDOWN_EXTENSIONS)
    start: int  # offset in `Document.body` of the heading's line; it runs to the next heading


@dataclass(frozen=True)
class Document:
    """One document as the index sees it: visible text plus typed metadata."""

    id: str  # path relative to the source folder, with forward slashes: stable across machines
    path: str  # the file's path as given when it was read
    title: str
    body: str  # the visible text of the rendered Markdown
    headings: tuple[str, ...]
    metadata: Mapping[str, MetaValue]  # every frontmatter key, JSON-safe (dates as ISO strings)
    keywords: Mapping[str, tuple[str, ...]]  # exact-match values of each scalar or list key
    last_reviewed: dt.date | None = None
    brand_names: tuple[str, ...] = field(default=())
    links: tuple[str, ...] = field(default=())  # link targets in the body, as written
    sections: tuple[Section, ...] = field(default=())  # the headings that have an anchor
    code: tuple[tuple[int, int], ...] = field(default=())  # (start, end) of code blocks in body
    description: str = ""  # the frontmatter's summary of the page (`description`, ...)
    draft: bool = False  # marked a draft: not published, so not a page by default
    # How its language (`keywords["language"]`) was found: "frontmatter", "config", "folder",
    # "suffix", "detected" (from its text) or "default"; "" before the site's rules are applied.
    language_from: str = ""
    # What its translations share (`sites.translation_key`); "" before the site's rules apply.
    translation: str = ""


def content_hash(data: bytes) -> str:
    """The fingerprint used to tell a changed file from a touched one."""
    return hashlib.sha256(data).hexdigest()


def _too_large(size: int, budgets: Budgets) -> str:
    return f"larger than {size_text(budgets.max_size_mb)} ({size / 1e6:.1f} MB)"


def load_parsers() -> None:
    """Import the Markdown and YAML parsers now: a reading worker forked afterwards has them
    loaded, so its time budget is spent on documents, not on imports."""
    import frontmatter  # noqa: F401
    import markdown  # noqa: F401


def read_bytes(path: Path, budgets: Budgets = DEFAULT_BUDGETS) -> bytes:
    """The raw content of a regular file no larger than the budget, or a `DocumentError` saying
    why it cannot be had. Opened without blocking, so a named pipe never stalls the read."""
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise DocumentError(where, "file disappeared while indexing") from None
    except IsADirectoryError:
        raise DocumentError(where, "is a folder, not a file") from None
    except OSError as exc:
        raise DocumentError(where, f"cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        kind = file_kind(info.st_mode)
        if kind is not None:
            raise DocumentError(where, f"is {kind}, not a regular file")
        if info.st_size > budgets.max_bytes:
            raise DocumentError(where, _too_large(info.st_size, budgets))
        try:
            data = file.read(budgets.max_bytes + 1)  # never more, even if the file grows
        except OSError as exc:
            raise DocumentError(where, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > budgets.max_bytes:
        grew = f"larger than {size_text(budgets.max_size_mb)} (it grew while being read)"
        raise DocumentError(where, grew)
    return data


def read_document(
    path: Path,
    root: Path,
    budgets: Budgets = DEFAULT_BUDGETS,
    keys: PageKeys = DEFAULT_KEYS,
    generator: str = "plain",
    include: Include | None = None,
) -> Document:
    """Read and validate one file; raise `DocumentError` naming what a person should fix."""
    data = read_bytes(path, budgets)
    return parse_document(data, path, root, budgets, keys, generator, include)


def parse_document(
    data: bytes,
    path: Path,
    root: Path,
    budgets: Budgets = DEFAULT_BUDGETS,
    keys: PageKeys = DEFAULT_KEYS,
    generator: str = "plain",
    include: Include | None = None,
) -> Document:
    """Turn the bytes of one file into a `Document` (no I/O but `include`'s), within `budgets`
    (all but time and memory, which the reading workers hold it to); `generator` is the site's,
    whose syntax is read as it renders (`dialects`); `include` reads the files a page includes."""
    where = str(path)
    if len(data) > budgets.max_bytes:
        raise DocumentError(where, _too_large(len(data), budgets))
    text = decode_text(data, where)
    if not text.strip():
        raise DocumentError(where, "empty file: nothing to index")
    raw_meta, body_markdown = split_frontmatter(text, where, budgets)
    check_markdown(body_markdown, budgets, where)
    try:
        rendered = render_markdown(body_markdown, generator, include)
    except RecursionError:  # nesting the depth check does not see (inline, HTML)
        raise DocumentError(where, "nested too deeply for the Markdown renderer") from None
    metadata, keywords, last_reviewed = validate_metadata(raw_meta, where, keys)
    title = _title(raw_meta, rendered.headings, path, where, keys)
    try:
        doc_id = path.relative_to(root).as_posix()
    except ValueError:
        doc_id = path.as_posix()
    return Document(
        id=doc_id,
        path=where,
        title=title,
        body=rendered.text,
        headings=tuple(rendered.headings),
        metadata=metadata,
        keywords=keywords,
        last_reviewed=last_reviewed,
        brand_names=brand_names(rendered.text),
        links=tuple(rendered.links),
        sections=rendered.sections,
        code=rendered.code,
        description=_description(raw_meta, keys) or _opening_quote(body_markdown, rendered),
        draft=any(raw_meta.get(key) in (True, "true") for key in keys.draft),
    )


def decode_text(data: bytes, where: str) -> str:
    """Decode UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is reported."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise DocumentError(
                where, "starts with a UTF-16 mark but is not valid UTF-16"
            ) from None
    else:
        if b"\x00" in data[:8192]:
            raise DocumentError(where, "binary file (contains NUL bytes), not a text document")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(
                where,
                f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "save the file as UTF-8",
            ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise DocumentError(where, "binary file (contains NUL characters), not a text document")
    return text


@lru_cache(maxsize=1)
def _frontmatter_handlers() -> tuple[Any, ...]:
    """python-frontmatter's YAML (`---`) and JSON (`{`) handlers, and TOML (`+++`, as Hugo pages
    write it) read with the standard library's `tomllib`."""
    import tomllib

    from frontmatter.default_handlers import BaseHandler, JSONHandler, YAMLHandler

    class TomlHandler(BaseHandler):  # type: ignore[misc]
        FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
        START_DELIMITER = END_DELIMITER = "+++"

        def load(self, fm: str, **kwargs: object) -> Any:
            return tomllib.loads(fm)

    return YAMLHandler(), TomlHandler(), JSONHandler()


def split_frontmatter(
    text: str, where: str, budgets: Budgets = DEFAULT_BUDGETS
) -> tuple[dict[str, Any], str]:
    """Split YAML, TOML or JSON frontmatter from the Markdown body; a document may have none.

    YAML aliases are loaded as shared objects (PyYAML does not copy them), so the values are
    counted (`check_values`) before anything walks them expanded."""
    import frontmatter  # imported here: searching never parses documents, so never pays for it
    import yaml

    stripped = text.lstrip()
    handler = frontmatter.detect_format(stripped, _frontmatter_handlers())
    if handler is None:
        return {}, text
    try:
        raw, body = handler.split(stripped)
    except ValueError:
        raise DocumentError(where, "frontmatter is opened but never closed") from None
    kind = {"---": "YAML", "+++": "TOML"}.get(handler.START_DELIMITER or "", "JSON")
    try:
        loaded = handler.load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = f" at line {mark.line + 2}" if mark is not None else ""
        raise DocumentError(where, f"invalid YAML frontmatter{line}: {problem}") from None
    except ValueError as exc:  # bad JSON or TOML, or a YAML date like 2025-13-45
        if kind == "YAML":
            raise DocumentError(
                where, f"frontmatter holds a value that is not a date: {exc} (write YYYY-MM-DD)"
            ) from None
        raise DocumentError(where, f"invalid {kind} frontmatter: {exc}") from None
    except RecursionError:
        raise DocumentError(
            where, f"frontmatter is nested more than {budgets.max_depth} levels deep"
        ) from None
    check_values(loaded, budgets, where)
    if loaded is None:
        return {}, body
    if not isinstance(loaded, dict):
        kind = type(loaded).__name__
        raise DocumentError(
            where, f"frontmatter must be a mapping of key: value lines, not a {kind}"
        )
    return {str(key): value for key, value in loaded.items()}, body


class _VisibleText(HTMLParser):
    """Collect the text a reader sees in rendered HTML, and the headings on their own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.headings: list[str] = []
        self.links: list[str] = []
        # (id, text) of every heading element, in order; the text gets a SECTION_MARK before it
        self.marked: list[list[str]] = []
        self._heading: list[str] | None = None
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in INVISIBLE_TAGS:
            self._hidden_depth += 1
        elif tag in HEADING_TAGS:
            self._heading = []
            self.marked.append([dict(attrs).get("id") or "", ""])
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        if tag in HEADING_TAGS:
            self.parts.append(SECTION_MARK)
        if tag == "pre":
            self.parts.append(CODE_START)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.parts.append(CODE_END)
        if tag in INVISIBLE_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in HEADING_TAGS and self._heading is not None:
            heading = _SPACES.sub(" ", "".join(self._heading)).strip()
            if heading:
                self.headings.append(heading)
            self.marked[-1][1] = _INVISIBLE_CHARS.sub("", heading)
            self._heading = None
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        data = _MARKS.sub("", data)
        self.parts.append(data)
        if self._heading is not None:
            self._heading.append(data)


@dataclass(frozen=True)
class Rendered:
    """A page's Markdown as a reader sees it."""

    text: str  # the visible text, a line per block
    headings: list[str]
    links: list[str]  # link targets, as written
    sections: tuple[Section, ...]
    code: tuple[tuple[int, int], ...] = ()  # (start, end) in `text` of each code block


_RENDERERS = threading.local()


def _renderer() -> Any:
    """This thread's Markdown renderer, reused page after page (`reset` between pages, as
    Python-Markdown provides for): setting one up with its extensions costs as much as
    rendering a small page. Imported here, like frontmatter: only indexing renders Markdown."""
    renderer = getattr(_RENDERERS, "markdown", None)
    if renderer is None:
        import markdown

        renderer = _RENDERERS.markdown = markdown.Markdown(
            extensions=list(MARKDOWN_EXTENSIONS), extension_configs=MARKDOWN_CONFIG
        )
    return renderer


def render_markdown(
    source: str, generator: str = "plain", include: Include | None = None
) -> Rendered:
    """Render Markdown to its visible text, headings (with anchors) and link targets; tags and
    link targets leave the text. `include` reads what the page includes (`dialects`)."""
    renderer = _renderer()
    renderer.reset()  # (also after a page that failed half-way)
    html = renderer.convert(plain_markdown(source, generator, include))
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    text = _INVISIBLE_CHARS.sub("", "".join(parser.parts))
    text = _MARK_SPACES.sub(r"\1", text)  # so each line's spaces go, marks or not
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text).strip()
    headings = [_INVISIBLE_CHARS.sub("", h) for h in parser.headings]
    text, offsets = _unmark(text)
    sections = tuple(
        Section(heading, anchor, start)
        for (anchor, heading), start in zip(parser.marked, offsets[SECTION_MARK], strict=True)
        if anchor and heading
    )
    starts, ends = offsets[CODE_START], offsets[CODE_END]
    code = tuple((start, end) for start, end in zip(starts, ends, strict=False) if end > start)
    return Rendered(text, headings, parser.links, sections, code)


def _unmark(text: str) -> tuple[str, dict[str, list[int]]]:
    """`text` without the marks, and where each kind of mark stood in what is left."""
    offsets: dict[str, list[int]] = {SECTION_MARK: [], CODE_START: [], CODE_END: []}
    pieces: list[str] = []
    length = 0
    last = 0
    for match in _MARKS.finditer(text):
        pieces.append(text[last : match.start()])
        length += match.start() - last
        offsets[match.group()].append(length)
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces), offsets


def _scalar_text(value: Any) -> str | None:
    """A YAML scalar as the exact text it is matched by; None for mappings and nested lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    return None


def _keyword_values(key: str, value: Any, where: str) -> tuple[str, ...] | None:
    """Values of a list-or-single key; None when the value has no exact-match form."""
    items = value if isinstance(value, list) else [value]
    texts = [_scalar_text(item) for item in items if item is not None]
    if any(text is None for text in texts):
        if key in KEYWORD_KEYS:
            kind = "mapping" if isinstance(value, dict) else "nested list"
            raise DocumentError(where, f"`{key}` must be a value or a list of values, not a {kind}")
        return None
    return tuple(text for text in texts if text)


def _json_safe(value: Any) -> Any:
    """Metadata as JSON can carry it: dates become ISO strings, everything else kept."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def validate_metadata(
    raw: Mapping[str, Any], where: str, keys: PageKeys = DEFAULT_KEYS
) -> tuple[dict[str, Any], dict[str, tuple[str, ...]], dt.date | None]:
    """Check known keys' types and derive the exact-match keywords of every key; a page's tags
    gather every key of `keys.tags`, its language and date are the first of theirs found."""
    metadata: dict[str, Any] = {}
    keywords: dict[str, tuple[str, ...]] = {}
    dates: dict[str, dt.date] = {}
    for key, value in raw.items():
        if key in DATE_KEYS or key in keys.date:
            if value is None or value == "":
                continue
            try:
                dates[key] = parse_date(value)
            except ValueError as exc:
                if key in DATE_KEYS:  # kbsearch's own key must be a date; a site's may be text
                    raise DocumentError(where, f"`{key}`: {exc}") from None
            else:
                if key in DATE_KEYS:
                    metadata[key] = dates[key].isoformat()
                    continue
        metadata[key] = _json_safe(value)
        if key in TEXT_KEYS:
            continue
        values = _keyword_values(key, value, where)
        if values:
            keywords[key] = values
    tags = [v for key in keys.tags for v in keywords.get(key, ())]
    if tags:
        keywords["tags"] = tuple(dict.fromkeys(tags))
    language = next((keywords[key] for key in keys.language if keywords.get(key)), None)
    if language:
        keywords["language"] = language[:1]
    date = next((dates[key] for key in (*DATE_KEYS, *keys.date) if key in dates), None)
    return metadata, keywords, date


def _text_value(raw: Mapping[str, Any], names: tuple[str, ...], where: str | None) -> str:
    """The first of `names` that holds text; a list or mapping there is an error (when `where`
    names the file) or passed over."""
    for name in names:
        value = raw.get(name)
        if isinstance(value, (list, dict)):
            if where is not None:
                kind = "list" if isinstance(value, list) else "mapping"
                raise DocumentError(where, f"`{name}` must be text, not a {kind}")
            continue
        if value is not None and str(value).strip():
            return _INVISIBLE_CHARS.sub("", str(value)).strip()
    return ""


def _title(
    raw: Mapping[str, Any], headings: list[str], path: Path, where: str, keys: PageKeys
) -> str:
    """Frontmatter `title` (or `linkTitle`, ...), else the first heading, else the file name."""
    return _text_value(raw, keys.title, where) or (headings[0] if headings else path.stem)


def _description(raw: Mapping[str, Any], keys: PageKeys) -> str:
    """The page's summary from its frontmatter, as plain text (Markdown marks left as written)."""
    return _text_value(raw, keys.description, None)


# A page that opens with a quote, after its title if any: tldr-pages' `> description`, a README's
# `> summary`; not a GitHub alert or Obsidian callout (`> [!NOTE]`), which is a note, not a summary.
_OPENING_QUOTE = re.compile(r"\A\s*(?:#[^#\n][^\n]*\n\s*)?>(?!\s*\[!)\s*\S")
# A summary taken from the text is cut to this many words, as Hugo cuts a page's automatic one
# (`summaryLength`).
SUMMARY_WORDS = 70
_WORD = re.compile(r"\S+")
# A web address in a summary (tldr's "More information: <https://…>") is not what the page is
# about: `docker` in docs.docker.com would make every docker page's summary name it.
_ADDRESS = re.compile(r"\b(?:https?|ftp)://\S+")


def _opening_quote(markdown: str, rendered: Rendered) -> str:
    """The quote a page opens with, as its summary when the frontmatter gives none: said first
    and set apart, it says what the page is about (tldr's one-line description of a command),
    so it is searched with the summary's weight. Its first paragraph without web addresses, at
    most SUMMARY_WORDS."""
    if not _OPENING_QUOTE.match(markdown):
        return ""
    headings = set(rendered.headings)
    blocks = (b.strip() for b in rendered.text.split("\n\n"))
    block = next((b for b in blocks if b and b not in headings), "")
    text = _ADDRESS.sub("", block).strip()
    words = list(_WORD.finditer(text))
    return text[: words[SUMMARY_WORDS - 1].end()] if len(words) > SUMMARY_WORDS else text


_BRAND_SECTION = re.compile(r"US Brand Name\(s\)\s*\n+(.+?)\n\s*\n", re.DOTALL)


def brand_names(body: str) -> tuple[str, ...]:
    """Brand names an NCI drug page lists under "US Brand Name(s)", for brand-to-generic search."""
    match = _BRAND_SECTION.search(body)
    if not match:
        return ()
    names = re.split(r"[\n,;]+", match.group(1))
    return tuple(name.strip() for name in names if name.strip())


def language_tag(doc: Document) -> str | None:
    """A page's language tag (BCP 47), from its `language` key (which the reader sets as
    `sites.page_language` finds it)."""
    return normalize_tag(next(iter(doc.keywords.get("language", ())), None))


def document_language(doc: Document) -> str:
    """The language a page is analysed in (`Analysis.code`: "en", "es", "de", "zh", "und")."""
    return analysis_of(language_tag(doc)).code


def apart_from_references(doc: Document) -> tuple[str, str, list[tuple[int, int]]]:
    """The page's text without its reference lists, those lists (`highlight.is_reference`),
    and where they are in its text: a page that only cites a word is no answer to it, so that
    text counts for little."""
    sections = [(s.heading, s.anchor, s.start) for s in doc.sections]
    spans = highlight.reference_spans(doc.body, sections)
    if not spans:
        return doc.body, "", []
    said, at = [], 0
    for start, end in spans:
        said.append(doc.body[at:start])
        at = end
    said.append(doc.body[at:])
    cited = "\n\n".join(doc.body[start:end] for start, end in spans)
    return "\n\n".join(said), cited, spans
