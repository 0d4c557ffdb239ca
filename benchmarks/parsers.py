"""The read path of a page, stage by stage, beside the Markdown parsers kbsearch could use.

    python benchmarks/parsers.py [--quick] [NAME=FOLDER ...]

For each set (default: the four real sets of ../shared/corpus/realkb; `--quick`: the first 200
pages of their copies in tests/realkb) it times, over every page, in one process: kbsearch's
whole reading of a page (`read_as_document`), its stages (frontmatter split, the generators'
syntax made plain, Python-Markdown's render with kbsearch's extensions, the HTML read back for
text), and the same plain Markdown rendered by markdown-it-py (CommonMark with tables,
footnotes, definition lists, attributes and heading anchors from mdit-py-plugins; and parsed to
tokens only) and by mistune 3 (with its table, footnote and definition-list plugins). Figures
are milliseconds per page and the ratio to Python-Markdown's render. Needs
`pip install -e '.[bench]'`. No thresholds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.budgets import DEFAULT_BUDGETS  # noqa: E402
from search.errors import KbsearchError  # noqa: E402
from search.kb.dialects import plain_markdown  # noqa: E402
from search.kb.documents import (  # noqa: E402
    MARKDOWN_CONFIG,
    MARKDOWN_EXTENSIONS,
    render_markdown,
    split_frontmatter,
)
from search.kb.reading import read_as_document  # noqa: E402
from search.kb.sites import load_site, scan_site  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus" / "realkb"
TESTS = ROOT / "tests" / "realkb"
SETS = {
    "tldr": "tldr",
    "docsy": "docsy/docsy.dev/content/en",
    "mkdocs": "mkdocs-material/docs",
    "jekyll": "jekyll/docs",
}


def renderers() -> dict[str, Callable[[str], object]]:
    """The renderers compared, each taking plain Markdown (the generators' syntax read)."""
    import markdown
    import mistune
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
    from mdit_py_plugins.deflist import deflist_plugin
    from mdit_py_plugins.footnote import footnote_plugin

    python_markdown = markdown.Markdown(
        extensions=list(MARKDOWN_EXTENSIONS), extension_configs=MARKDOWN_CONFIG
    )
    mdit = (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .use(footnote_plugin)
        .use(deflist_plugin)
        .use(attrs_plugin)
        .use(attrs_block_plugin)
        .use(anchors_plugin, max_level=6)
    )
    mist = mistune.create_markdown(
        escape=False, plugins=["table", "footnotes", "def_list", "strikethrough"]
    )

    def python_markdown_render(text: str) -> object:
        python_markdown.reset()
        return python_markdown.convert(text)

    return {
        "Python-Markdown render (kbsearch's)": python_markdown_render,
        "markdown-it-py render": mdit.render,
        "markdown-it-py tokens only": mdit.parse,
        "mistune render": mist,
    }


def measure(name: str, folder: Path, most: int | None = None) -> list[tuple[str, float]]:
    """(stage, ms per page) over every page of `folder` (the first `most`)."""
    site = load_site(folder)
    files = scan_site(site, folder)[0][:most]
    texts: list[str] = []
    started = time.perf_counter()
    for file in files:
        try:
            read_as_document(file, folder, DEFAULT_BUDGETS, site)
        except KbsearchError:
            continue
    whole = time.perf_counter() - started
    plain: list[str] = []
    split = dialects = 0.0
    for file in files:
        raw = file.path.read_text(encoding="utf-8", errors="replace")
        started = time.perf_counter()
        try:
            _, body = split_frontmatter(raw, str(file.path), DEFAULT_BUDGETS)
        except KbsearchError:
            continue
        middle = time.perf_counter()
        plain.append(plain_markdown(body, site.generator))
        split += middle - started
        dialects += time.perf_counter() - middle
        texts.append(body)
    pages = len(plain)
    rows = [
        (f"{name}: pages", float(pages)),
        ("kbsearch's whole reading of a page", whole / pages * 1e3),
        ("  frontmatter split", split / pages * 1e3),
        ("  generators' syntax made plain (dialects)", dialects / pages * 1e3),
    ]
    started = time.perf_counter()
    for text in texts:
        render_markdown(text, site.generator)
    rendered = (time.perf_counter() - started) / pages * 1e3
    rows.append(("  dialects + render + HTML read back", rendered))
    for label, render in renderers().items():
        started = time.perf_counter()
        for text in plain:
            render(text)
        rows.append((f"  {label}", (time.perf_counter() - started) / pages * 1e3))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 pages of tests/realkb's")
    parser.add_argument("sets", nargs="*", help="NAME=FOLDER (default: the four real sets)")
    args = parser.parse_args()
    base = TESTS if args.quick else SHARED
    chosen = dict(s.split("=", 1) for s in args.sets) or {
        name: str(base / path) for name, path in SETS.items()
    }
    for name, folder in chosen.items():
        rows = measure(name, Path(folder), 200 if args.quick else None)
        render = next(ms for label, ms in rows if label.startswith("  Python-Markdown"))
        print(f"| {rows[0][0]} {int(rows[0][1])} | ms/page | vs Python-Markdown's render |")
        print("|---|---:|---:|")
        for label, ms in rows[1:]:
            print(f"| {label} | {ms:.3f} | {ms / render:.2f}x |")
        print()


if __name__ == "__main__":
    main()
