"""The site generators' own syntax in a page's Markdown, made plain before it is rendered.

Pages written for Hugo, Jekyll or MkDocs carry syntax that their generator turns into HTML and
Python-Markdown would show as text: Hugo shortcodes (`{{< alert >}}`), Liquid and Go-template
tags (`{% include x.html %}`, `{{ .Title }}`), MkDocs' blocks (`!!! note "Title"`, `??? tip`,
`=== "Tab"`, whose bodies are indented four spaces), snippet lines (`--8<-- "file"`), icons
(`:material-check:`), GitHub's alerts (`> [!NOTE]`) and fence info strings with attributes
(```` ```go {file="x.go"} ````), Obsidian's callouts (`> [!tip] Title`), wikilinks and embeds
(`[[Page|label]]`, `![[image.png]]`), Docusaurus' admonitions (`:::note`) and MDX's `import` and
`export` lines. What a reader sees stays: a block's title and body, a shortcode's inner text, a
wikilink's label; links stay links (`ref`, `relref`, Jekyll's `link` and `post_url` give their
targets); included files bring their text (`include`). Template syntax is read only for Hugo and
Jekyll, which run it over the whole page, code too; elsewhere it is text, and code inside fences
is left as written: its examples are searched.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

# A Hugo shortcode, opening or closing, in either delimiter (`{{</* x */>}}` shows one as text).
_SHORTCODE = re.compile(r"\{\{[<%]/?\*?.*?\*?/?[>%]\}\}")
# A Liquid / Go-template tag or output, trimmed or not.
_TEMPLATE = re.compile(r"\{%-?.*?-?%\}|\{\{-?.*?-?\}\}")
_LIQUID_BLOCK = re.compile(r"^\s*\{%-?\s*(comment|raw|endraw|endcomment)\b.*?%\}\s*$")
# What a generator shows as written: Liquid inside `{% raw %}…{% endraw %}`, a Hugo shortcode
# escaped as `{{</* x */>}}` (shown as `{{< x >}}`).
_RAW_INLINE = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}")
_ESCAPED_SHORTCODE = re.compile(r"\{\{([<%])/\*(.*?)\*/([>%])\}\}")
_KEPT = re.compile("\ue010(\\d+)\ue011")
# Generators that run their templates over the whole page, code blocks too.
TEMPLATED = ("hugo", "jekyll")
# A line that only opens or closes an HTML container: the Markdown inside it is rendered (Hugo
# and MkDocs' `md_in_html` do), so the line goes and the Markdown stays Markdown.
_CONTAINER_LINE = re.compile(
    r"^\s*</?(?:details|section|div|article|aside|main|nav|header|footer|center|figure)\b[^<>]*>\s*$",
    re.IGNORECASE,
)
_SUMMARY_LINE = re.compile(r"^\s*<summary\b[^>]*>(.*)</summary>\s*$", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
_HIGHLIGHT = re.compile(r"^\s*\{%-?\s*highlight\s+([\w+#.-]+).*?%\}\s*$")
_END_HIGHLIGHT = re.compile(r"^\s*\{%-?\s*endhighlight\s*-?%\}\s*$")
# GitHub's five alert kinds and Obsidian's callouts (any kind, folded `-` or `+`, a title).
_ALERT = re.compile(r"^(\s*>\s*)\[![\w-]+\][+-]?\s*")
# Tags whose target is a page: Hugo's `ref`/`relref`, Jekyll's `link` and `post_url`.
_HUGO_REF = re.compile(
    r"""\{\{[<%]-?\s*(?:rel)?ref\s+(?:"([^"]*)"|'([^']*)'|(\S+?))\s*-?[>%]\}\}"""
)
_JEKYLL_LINK = re.compile(r"\{%-?\s*link\s+(\S+?)\s*-?%\}")
_JEKYLL_POST = re.compile(r"\{%-?\s*post_url\s+(\S+?)\s*-?%\}")
# A link whose address starts with a template (`{{ site.repo }}/issues/1`) leads where only the
# generator knows: it stays a link, to nowhere `check` follows.
_TEMPLATED_LINK = re.compile(r"\]\(\s*<?\s*(?:\{\{.*?\}\}|\{%.*?%\})[^)\s]*>?(\s+\"[^\"]*\")?\)")
_BARE_DEFINITION = re.compile(r"^\s*\[[^\]]+\]:\s*$")
_TEMPLATED_DEFINITION = re.compile(r"^(\s*\[[^\]]+\]:\s*)<?\s*(?:\{\{.*?\}\}|\{%.*?%\})\S*")
# (`[[PUBMED Abstract]](https://…)` is a link whose text has brackets, no wikilink.)
_WIKILINK = re.compile(r"(!?)\[\[([^\[\]|#^]*)(?:#\^?([^\[\]|]*))?(?:\|([^\[\]]*))?\]\](?!\()")
# Docusaurus' admonitions: `:::note Title`, `:::tip[Title]`, and the closing `:::`.
_COLONS = re.compile(r"^\s*:{3,}\s*(?:([\w-]+)\s*(?:\[(.*)\]|(.*))?)?$")
# MDX module lines (`import X from "y";`, `export const z = ...`) and JSX comments.
_MDX_LINE = re.compile(
    r"""^(?:import\s+(?:[\w{},*\s]+\s+from\s+)?['"][^'"]+['"];?\s*$|export\s+(?:const|default|function)\b)"""
)
_JSX_COMMENT = re.compile(r"\{/\*.*?\*/\}")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*\{?\s*\.?([\w+#.-]*)(.*)$")
# MkDocs (Python-Markdown / pymdownx) blocks: an admonition or collapsible details (a type,
# modifiers such as `inline end`, a title), a content tab (a title).
_ADMONITION = re.compile(r'^\s*(?:!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+[\w-]+)*(?:\s+"([^"]*)")?\s*$')
_TAB = re.compile(r'^\s*===[!+]?\s+"([^"]*)"\s*$')
# A paired Hugo shortcode whose inner text is code: `highlight`, `code-toggle`, or any with a
# `lang=` or `code=true` argument (Docsy's `tab` and `card`), opened alone on its line.
_CODE_SHORTCODE = re.compile(r"""^\s*\{\{[<%]-?\s*([\w-]+)\b([^>%]*?)\s*-?[>%]\}\}\s*$""")
_CLOSING_SHORTCODE = re.compile(r"\{\{[<%]-?\s*/([\w-]+)")
_LANG_ARG = re.compile(r"""\b(?:lang|language)\s*=\s*["']?([\w+#.-]+)""")
_SNIPPET = re.compile(r"^\s*-{1,2}8<-{1,2}\s")
# An icon shortcode, and the attribute list that styles it (`:material-check:{ style="…" }`).
_ICON = re.compile(r":(?:material|octicons|fontawesome|simple)-[\w-]+:(?:\{[^}\n]*\})?")
# A tag left open at the end of a line (its attributes on the lines below), and its closer.
_OPEN_TAG = re.compile(r"(\{\{[<%]|\{%)(?!.*(?:[>%]\}\}|%\}))")
_CLOSERS = {"{{<": ">}}", "{{%": "%}}", "{%": "%}"}
_OPEN_OUTPUT = re.compile(r"\{\{(?![<%])(?!.*\}\})")
_MAX_JOINED = 8
# A line that is only an attribute list (`{.display-6}`, `{: #id }`), whose block went away.
_ATTRIBUTES_ONLY = re.compile(r"^\s*\{:?\s*[.#][^}]*\}\s*$")
_INDENT = 4


# A line that includes another file where it stands: Hugo's `include` and `readfile`
# shortcodes (`code="true"`: as code), MkDocs' snippets, Jekyll's `include_relative`.
_HUGO_INCLUDE = re.compile(
    r"""^\s*\{\{[<%]-?\s*(?:include|readfile)\s+(?:file\s*=\s*)?["']([^"']+)["']([^>%]*?)-?[>%]\}\}\s*$"""
)
_SNIPPET_INCLUDE = re.compile(r"""^\s*-{1,2}8<-{1,2}\s+["']([^"']+)["']\s*$""")
_JEKYLL_INCLUDE = re.compile(
    r"^\s*\{%-?\s*include_relative\s+(\S+\.(?:md|markdown|txt))\s*-?%\}\s*$"
)
# Includes one page may make, nested ones counted: a file that includes itself stops here.
MAX_INCLUDES = 32

Include = Callable[[str], "str | None"]  # a target as written -> its text, None: not readable


def plain_markdown(source: str, generator: str = "plain", include: Include | None = None) -> str:
    """`source` with the generators' syntax above turned into plain Markdown; `generator` is the
    site's (see `sites.GENERATORS`). Templates are Hugo's and Jekyll's, which run them over the
    whole page, code too; anywhere else `{{ x }}` is text (tldr's placeholders)."""
    templated = generator in TEMPLATED
    hugo, liquid = generator == "hugo", generator == "jekyll"
    raw = False  # inside `{% raw %}`: Liquid shown as written
    out: list[str] = []
    blocks: list[int] = []  # the indentation of each MkDocs block the line is inside
    fence = ""  # the open fence's marker, or "" outside code
    skipping = False  # inside `{% comment %}`
    closer = ""  # the end of a tag that spans lines, while inside it
    code_until: re.Pattern[str] | None = None  # the end of a code shortcode, while inside it
    closed = set(_CLOSING_SHORTCODE.findall(source))  # shortcodes used in pairs
    lines = deque(source.split("\n"))
    included = 0
    while lines:
        line = lines.popleft()
        target = _included(line, generator) if include is not None and not fence else None
        if target is not None and include is not None and included < MAX_INCLUDES:
            included += 1
            path, as_code = target
            text = include(path)
            if text is not None:
                lead = line[: len(line) - len(line.lstrip())]  # inside a block, it stays there
                body = [f"```{as_code}", *text.split("\n"), "```"] if as_code else text.split("\n")
                lines.extendleft(reversed([lead + part if part else part for part in body]))
                continue
        if code_until is not None:
            end = code_until.search(line)
            if end is None:
                if not _FENCE.match(line):  # the shortcode is the fence: one inside it goes
                    out.append(_without_templates(line) if templated else line)
                continue
            out.extend([line[: end.start()], "```"] if line[: end.start()].strip() else ["```"])
            code_until = None
            continue
        opened_code = _code_shortcode(line) if hugo and not fence else None
        if opened_code is not None and opened_code[0] in closed:
            name, language = opened_code
            code_until = re.compile(r"\{\{[<%]-?\s*/" + re.escape(name) + r"\s*-?[>%]\}\}")
            out.append(f"```{language}")
            continue
        if closer:
            if closer not in line:
                continue
            line, closer = line.split(closer, 1)[1], ""
        indent = len(line) - len(line.lstrip(" "))
        if line.strip():
            while blocks and indent <= blocks[-1] and not fence:
                blocks.pop()
        line = line[min(indent, _INDENT * len(blocks)) :]
        comment = _LIQUID_BLOCK.match(line) if liquid else None
        if comment:
            kind = comment.group(1)
            if kind in ("raw", "endraw"):
                raw = kind == "raw"
            elif not fence:
                skipping = kind == "comment"
            continue
        if fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            elif liquid and _END_HIGHLIGHT.match(line) and fence == "```":
                line, fence = "```", ""
            elif templated and not raw:
                line = _without_templates(line)
            out.append(line)
            continue
        if skipping:
            continue
        highlight = _HIGHLIGHT.match(line) if liquid else None
        if highlight:
            out.append(f"```{highlight.group(1)}")
            fence = "```"
            continue
        opened = _FENCE.match(line)
        if opened:
            lead, marker, language, _ = opened.groups()
            out.append(f"{lead}{marker}{language}")
            fence = marker
            continue
        title = _block_title(line)
        if title is not None:
            title = " ".join(_ICON.sub("", title).split())
            blocks.append(indent)
            lead = line[: len(line) - len(line.lstrip(" "))]  # inside a list item, it stays
            out.extend([lead + title, ""] if title else [""])
            continue
        if _SNIPPET.match(line) or _ATTRIBUTES_ONLY.match(line) or _MDX_LINE.match(line):
            continue
        if _CONTAINER_LINE.match(line):
            out.append("")
            continue
        summary = _SUMMARY_LINE.match(line)
        if summary:
            out.extend(["", _TAG.sub("", summary.group(1)), ""])
            continue
        colons = _COLONS.match(line)
        if colons:
            kind, bracketed, rest = colons.groups()
            title = (bracketed or rest or "").strip() or (kind or "").capitalize()
            out.extend([title, ""] if title else [""])
            continue
        line = _ALERT.sub(r"\1", line)
        if templated and not raw:
            if _BARE_DEFINITION.match(line) and lines:  # `[x]:` with its target below
                line = f"{line} {lines.popleft().strip()}"
            joined = 0  # an output `{{ x` closed on a line below is read as one line
            while _OPEN_OUTPUT.search(line) and lines and joined < _MAX_JOINED:
                line, joined = f"{line} {lines.popleft().strip()}", joined + 1
            unclosed = _OPEN_TAG.search(line)
            if unclosed:
                closer = _CLOSERS[unclosed.group(1)]
                line = line[: unclosed.start()]
            line = _without_templates(_template_links(line, hugo))
        line = _WIKILINK.sub(_wikilink, line)
        line = _ICON.sub("", line)
        line = _JSX_COMMENT.sub("", line)
        out.append(line)
    return "\n".join(out)


def _block_title(line: str) -> str | None:
    """The title an MkDocs block opened on `line` shows (its type when it has none; "" for an
    admonition titled `""`), or None when the line opens no block."""
    admonition = _ADMONITION.match(line)
    if admonition:
        kind, title = admonition.groups()
        return kind.replace("-", " ").capitalize() if title is None else title
    tab = _TAB.match(line)
    return tab.group(1) if tab else None


def _without_templates(line: str) -> str:
    """`line` without template tags and outputs, but with what is shown as written (`raw`,
    escaped shortcodes) kept."""
    kept: list[str] = []

    def keep(text: str) -> str:
        kept.append(text)
        return f"\ue010{len(kept) - 1}\ue011"

    line = _RAW_INLINE.sub(lambda m: keep(m.group(1)), line)
    line = _ESCAPED_SHORTCODE.sub(lambda m: keep("{{" + "".join(m.groups()) + "}}"), line)
    line = _TEMPLATE.sub("", _SHORTCODE.sub("", line))
    return _KEPT.sub(lambda m: kept[int(m.group(1))], line) if kept else line


def _included(line: str, generator: str) -> tuple[str, str] | None:
    """(the file a line includes, its language if it comes in as code, else "")."""
    if generator == "hugo":
        match = _HUGO_INCLUDE.match(line)
        if match:
            args = match.group(2)
            code = re.search(r"\bcode\s*=\s*[\"']?true", args)
            language = _LANG_ARG.search(args)
            return match.group(1), (language.group(1) if language else "text") if code else ""
    elif generator == "mkdocs":
        match = _SNIPPET_INCLUDE.match(line)
        if match:
            return match.group(1), ""
    elif generator == "jekyll":
        match = _JEKYLL_INCLUDE.match(line)
        if match:
            return match.group(1), ""
    return None


def _template_links(line: str, hugo: bool) -> str:
    """Tags that stand for a page's address as the address (Hugo's `ref`, a Jekyll `link` from
    the site's root); a link to a template's value leads to `#`."""
    if hugo:
        line = _HUGO_REF.sub(lambda m: next(g for g in m.groups() if g is not None), line)
    else:
        line = _JEKYLL_LINK.sub(lambda m: "/" + m.group(1).lstrip("/"), line)
        line = _JEKYLL_POST.sub(lambda m: "/_posts/" + m.group(1), line)
    line = _TEMPLATED_LINK.sub("](#)", line)
    return _TEMPLATED_DEFINITION.sub(r"\1#", line)


def _wikilink(match: re.Match[str]) -> str:
    """Obsidian's wikilink as a Markdown link; an embed goes (an image, or a note shown in
    another)."""
    embed, page, part, label = match.groups()
    if embed:
        return ""
    page, part = page.strip(), (part or "").strip()
    shown = (label or "").strip() or " > ".join(p for p in (page, part) if p)
    target = page + (f"#{part}" if part else "")
    return f"[{shown}](<{target}>)" if target else shown


def _code_shortcode(line: str) -> tuple[str, str] | None:
    """(name, language) of a paired shortcode opened on `line` whose inner text is code."""
    match = _CODE_SHORTCODE.match(line)
    if match is None or match.group(2).rstrip().endswith("/"):
        return None
    name, args = match.groups()
    language = _LANG_ARG.search(args)
    if name in ("highlight", "code-toggle"):
        first = args.split()[0].strip("\"'") if args.split() and "=" not in args.split()[0] else ""
        return name, language.group(1) if language else first
    if language or re.search(r"\bcode\s*=\s*[\"']?true", args):
        return name, language.group(1) if language else ""
    return None
