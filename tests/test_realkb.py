"""The four real knowledge bases in tests/realkb (Hugo, MkDocs, Jekyll, tldr): each indexed with
no error, and the snippets of its top ten hits for 50 queries show the text a reader sees, not
the generator's syntax: at most 1% of them hold any outside what the page shows as code (a
code example of a template is the page's text: `{{ page.title }}` in Jekyll's docs)."""

from __future__ import annotations

import json
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest

import search
from search.kb.dialects import plain_markdown
from search.kb.documents import MARKDOWN_CONFIG, MARKDOWN_EXTENSIONS, decode_text, split_frontmatter
from search.kb.sites import load_site

HERE = Path(__file__).parent
REALKB = HERE / "realkb"
SETS = {
    "docsy": REALKB / "docsy" / "docsy.dev" / "content" / "en",
    "mkdocs": REALKB / "mkdocs-material" / "docs",
    "jekyll": REALKB / "jekyll" / "docs",
    "tldr": REALKB / "tldr",
}
# Questions a tldr reader asks of the commands in the copy (all start with `g`), in English and
# in some of its languages; the three documentation sets use their known-item questions.
TLDR_QUERIES = """git commit all changed files | undo the last git commit | delete a git branch
| git rebase interactive | show git log as a graph | stash uncommitted changes | clone a repository
| gzip compress a file | decompress a gz archive | grep search recursively | grep ignore case
| gpg encrypt a file | gpg list keys | gcc compile a c program | g++ optimise | gdb breakpoint
| github create a pull request | gh issue list | git cherry pick a commit | git tag a release
| git remote add origin | gunzip keep the original | gradle build | go run a program
| go test with coverage | gem install a package | groupadd create a group | git diff staged
| git blame a line | git bisect find a bug | git worktree add | git submodule update
| getent passwd | gpasswd add a user to a group | git config user email | git reset hard
| git clean untracked files | git log of one file | git show a commit | gh repo clone
| git merge without fast forward | git pull rebase | git push force with lease
| comprimir un archivo | mostrar el historial de commits | crear una rama
| supprimer une branche | Datei komprimieren | 提交 | コミット""".replace("\n", " ")
# A generator's syntax, wherever it comes from: templates, MkDocs' and Docusaurus' blocks,
# alerts, wikilinks, fences, Markdown links and attribute lists, HTML tags.
MARKUP = re.compile(
    r"\{\{|\}\}|\{%|%\}|\[!\w+\]|^\s*(?:!!!|\?\?\?)|=== \"|--8<--|```|:(?:material|octicons|"
    r"fontawesome|simple)-[\w-]+:|:::|\[\[|\]\]|\]\(|\{:|\{\s*\.[\w-]+|</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>",
    re.MULTILINE,
)


def queries(name: str) -> list[str]:
    if name == "tldr":
        return [q.strip() for q in TLDR_QUERIES.split("|")][:50]
    folder = HERE / f"known_items_{name}"
    lines = (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines][:50]


class _Code(HTMLParser):
    """The text of a rendered page's code, inline and blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth, self.parts = 0, [""]

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.depth += tag == "code"

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self.depth, self.parts = max(0, self.depth - 1), [*self.parts, ""]

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts[-1] += data


@cache
def code_of(path: str, generator: str) -> str:
    """A page's code as the site shows it, whitespace folded: `|`-joined pieces."""
    text = decode_text(Path(path).read_bytes(), path)
    _, body = split_frontmatter(text, path)
    html = markdown.markdown(
        plain_markdown(body, generator),
        extensions=list(MARKDOWN_EXTENSIONS),
        extension_configs=MARKDOWN_CONFIG,
    )
    parser = _Code()
    parser.feed(html)
    return "|".join(" ".join(part.split()) for part in parser.parts)


def outside_code(text: str, code: str) -> list[str]:
    """The markup in a snippet that the page does not show as code: the run of text without
    spaces that holds it is not in the page's code."""
    found = []
    for match in MARKUP.finditer(text):
        start = text.rfind(" ", 0, match.start()) + 1
        end = text.find(" ", match.end())
        token = text[start : end if end >= 0 else len(text)].strip("…()[].,;:'\"")
        if token not in code:
            found.append(token)
    return found


def markup_share(
    kb: search.KnowledgeBase, asked: list[str], generator: str
) -> tuple[float, list[str]]:
    """The share of the hits' snippets (the main one and each section's) that hold markup."""
    shown, bad = 0, []
    for query in asked:
        for hit in kb.search(query, limit=10):
            for snippet in (hit.snippet, *(section.snippet for section in hit.sections)):
                text = snippet.text()
                shown += 1
                if MARKUP.search(text) and outside_code(text, code_of(hit.path, generator)):
                    bad.append(f"{query!r} {hit.id}: {text}")
    return len(bad) / max(shown, 1), bad


@pytest.mark.parametrize("name", SETS)
@pytest.mark.slow
def test_real_knowledge_bases_show_text_not_markup(name: str, tmp_path: Path) -> None:
    assert len(queries(name)) == 50
    report = search.update_index(SETS[name], tmp_path / "ix")
    assert report.ok, report.skipped
    assert report.added > 50
    generator = load_site(SETS[name]).generator
    with search.open_index(tmp_path / "ix") as kb:
        share, bad = markup_share(kb, queries(name), generator)
    assert share <= 0.01, "\n".join(bad)
