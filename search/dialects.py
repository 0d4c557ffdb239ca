"""The site generators' own syntax in a page's Markdown, made plain before it is rendered.

Pages written for Hugo, Jekyll or MkDocs carry syntax that their generator turns into HTML and
Python-Markdown would show as text: Hugo shortcodes (`{{< alert >}}`), Liquid and Go-template
tags (`{% include x.html %}`, `{{ .Title }}`), MkDocs' blocks (`!!! note "Title"`, `??? tip`,
`=== "Tab"`, whose bodies are indented four spaces), snippet lines (`--8<-- "file"`), icons
(`:material-check:`), GitHub's alerts (`> [!NOTE]`) and fence info strings with attributes
(```` ```go {file="x.go"} ````). What a reader sees stays: a block's title and body, a
shortcode's inner text. Code inside fences is left as written: its examples are searched.
"""

from __future__ import annotations

import re

# A Hugo shortcode, opening or closing, in either delimiter (`{{</* x */>}}` shows one as text).
_SHORTCODE = re.compile(r"\{\{[<%]/?\*?.*?\*?/?[>%]\}\}")
# A Liquid / Go-template tag or output, trimmed or not.
_TEMPLATE = re.compile(r"\{%-?.*?-?%\}|\{\{-?.*?-?\}\}")
_LIQUID_BLOCK = re.compile(r"^\s*\{%-?\s*(comment|raw|endraw|endcomment)\b.*?%\}\s*$")
_HIGHLIGHT = re.compile(r"^\s*\{%-?\s*highlight\s+([\w+#.-]+).*?%\}\s*$")
_END_HIGHLIGHT = re.compile(r"^\s*\{%-?\s*endhighlight\s*-?%\}\s*$")
_ALERT = re.compile(r"^(\s*>\s*)\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][+-]?\s*", re.IGNORECASE)
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*\{?\s*\.?([\w+#.-]*)(.*)$")
# MkDocs (Python-Markdown / pymdownx) blocks: an admonition or collapsible details (a type,
# modifiers such as `inline end`, a title), a content tab (a title).
_ADMONITION = re.compile(r'^\s*(?:!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+[\w-]+)*(?:\s+"([^"]*)")?\s*$')
_TAB = re.compile(r'^\s*===[!+]?\s+"([^"]*)"\s*$')
_SNIPPET = re.compile(r"^\s*-{1,2}8<-{1,2}\s")
_ICON = re.compile(r":(?:material|octicons|fontawesome|simple)-[\w-]+:")
# A tag left open at the end of a line (its attributes on the lines below), and its closer.
_OPEN_TAG = re.compile(r"(\{\{[<%]|\{%)(?!.*(?:[>%]\}\}|%\}))")
_CLOSERS = {"{{<": ">}}", "{{%": "%}}", "{%": "%}"}
# A line that is only an attribute list (`{.display-6}`, `{: #id }`), whose block went away.
_ATTRIBUTES_ONLY = re.compile(r"^\s*\{:?\s*[.#][^}]*\}\s*$")
_INDENT = 4


def plain_markdown(source: str) -> str:
    """`source` with the generators' syntax above turned into plain Markdown."""
    out: list[str] = []
    blocks: list[int] = []  # the indentation of each MkDocs block the line is inside
    fence = ""  # the open fence's marker, or "" outside code
    skipping = False  # inside `{% comment %}`
    closer = ""  # the end of a tag that spans lines, while inside it
    for line in source.split("\n"):
        if closer:
            if closer not in line:
                continue
            line, closer = line.split(closer, 1)[1], ""
        indent = len(line) - len(line.lstrip(" "))
        if line.strip():
            while blocks and indent <= blocks[-1] and not fence:
                blocks.pop()
        line = line[min(indent, _INDENT * len(blocks)) :]
        if fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            elif _END_HIGHLIGHT.match(line) and fence == "```":
                line, fence = "```", ""
            out.append(line)
            continue
        comment = _LIQUID_BLOCK.match(line)
        if comment:
            skipping = comment.group(1) == "comment"
            continue
        if skipping:
            continue
        highlight = _HIGHLIGHT.match(line)
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
            blocks.append(indent)
            lead = line[: len(line) - len(line.lstrip(" "))]  # inside a list item, it stays
            out.extend([lead + title, ""] if title else [""])
            continue
        if _SNIPPET.match(line) or _ATTRIBUTES_ONLY.match(line):
            continue
        unclosed = _OPEN_TAG.search(line)
        if unclosed:
            closer = _CLOSERS[unclosed.group(1)]
            line = line[: unclosed.start()]
        line = _ALERT.sub(r"\1", line)
        line = _SHORTCODE.sub("", line)
        line = _TEMPLATE.sub("", line)
        line = _ICON.sub("", line)
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
