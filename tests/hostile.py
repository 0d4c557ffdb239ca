"""Write a corpus of broken and strange documents beside good ones, with what each should give.

`write_hostile_corpus(folder)` returns the ids that must be indexed and, for each bad file, a
fragment its skip reason must contain: the reliability tests check both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

GOOD_BODY = "The hostile corpus still has searchable words: quokka.\n"


@dataclass
class HostileCorpus:
    good: set[str] = field(default_factory=set)  # ids that must be indexed
    bad: dict[str, str] = field(default_factory=dict)  # file name -> fragment of its reason


def _front(**meta: str) -> str:
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in meta.items()) + "---\n\n"


def write_hostile_corpus(folder: Path, huge_mb: int = 8) -> HostileCorpus:
    folder.mkdir(parents=True, exist_ok=True)
    corpus = HostileCorpus()

    def good(name: str, content: str | bytes) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        corpus.good.add(name)

    def bad(name: str, content: bytes, reason: str) -> None:
        (folder / name).write_bytes(content)
        corpus.bad[name] = reason

    bad("invalid-yaml.md", b"---\ntitle: [unclosed\ntags: {\n---\nbody\n", "invalid YAML")
    bad("not-a-mapping.md", b"---\n- just\n- a list\n---\nbody\n", "must be a mapping")
    good("no-frontmatter.md", "# No frontmatter\n\n" + GOOD_BODY)
    good("frontmatter-only.md", _front(title="Only metadata", tags="quokka"))
    bad("empty.md", b"", "empty file")
    bad("binary.md", bytes(range(256)) * 4, "binary file")
    bad("latin1.md", ("---\ntitle: Caf\xe9\n---\n\nna\xefve\n").encode("latin-1"), "not UTF-8")
    good("utf16.md", (_front(title="UTF-16 page") + GOOD_BODY).encode("utf-16"))
    good("bom.md", b"\xef\xbb\xbf" + (_front(title="BOM page") + GOOD_BODY).encode())
    good("crlf.md", (_front(title="CRLF page") + GOOD_BODY).replace("\n", "\r\n").encode())
    good("one-long-line.md", _front(title="Long line") + "quokka " * 200_000)
    if huge_mb:
        paragraph = "Anemia is treated with red blood cell transfusion. " * 20 + "\n\n"
        repeats = huge_mb * 1_000_000 // len(paragraph)
        good("huge.md", _front(title="Huge page") + "## Big\n\n" + paragraph * repeats)
    good("tags-string.md", _front(title="Tags string", tags="treatment") + GOOD_BODY)
    good("tags-number.md", _front(title="Tags number", tags="42") + GOOD_BODY)
    bad(
        "tags-mapping.md",
        b"---\ntitle: T\ntags:\n  nested: map\n---\n\nbody\n",
        "`tags` must be a value or a list",
    )
    bad("date-not-date.md", _front(title="T", lastReviewed="soon").encode(), "is not a date")
    good(
        "date-timezone.md",
        _front(title="Dated", lastReviewed="2025-05-01T23:00:00-05:00") + GOOD_BODY,
    )
    good("missing-title.md", "---\ntags: [x]\n---\n\n" + GOOD_BODY)
    bad("title-list.md", _front(title="[a, b]").encode() + b"body\n", "`title` must be text")
    good("same-url-1.md", _front(title="Twin one", url="https://example.org/x") + GOOD_BODY)
    good("same-url-2.md", _front(title="Twin two", url="https://example.org/x") + GOOD_BODY)
    good(
        "html-script.md",
        _front(title="Script page")
        + "<script>stealcookies()</script>\n\n<div onclick='x'>raw <b>html</b></div>\n\n"
        + GOOD_BODY,
    )
    good("zero-width.md", _front(title="Zero\u200bwidth \u202eRTL\u202c") + "qu\u200bokka\n")
    good("emoji.md", _front(title="Emoji 🧬") + "🧬 " + GOOD_BODY)
    good("name with spaces.md", _front(title="Spaces") + GOOD_BODY)
    good("nön-ascii-ñame.md", _front(title="Non-ASCII") + GOOD_BODY)
    good("sub/dir/nested.md", _front(title="Nested") + GOOD_BODY)
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "dangling.md").symlink_to(folder / "does-not-exist.md")
    corpus.bad["dangling.md"] = "broken symlink"
    return corpus


def alias_bomb(levels: int = 8) -> str:
    """YAML frontmatter of ~400 bytes whose aliases expand to 10^(levels+1) values."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "---\n" + "\n".join(lines) + "\n---\n\nThe bomb's body.\n"


def deep_list(levels: int) -> str:
    """A Markdown list nested `levels` deep, two more spaces each line."""
    return "# Deep\n\n" + "".join("  " * n + "- x\n" for n in range(levels))


SECRET_WORD = "zanzibarsecret"


def write_memory_breaker(folder: Path) -> str:
    """A page whose parse needs gigabytes (5,000 uses of a 1 MB link) beside a good one, in
    `folder`; returns its name. Cut short by `--max-memory` of at most 512 MB."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.md").write_text("# Good\n\n" + GOOD_BODY, encoding="utf-8")
    links = "# Links\n\n" + "[x][r] " * 5000 + "\n\n[r]: https://e.org/" + "a" * 1_000_000
    (folder / "memory.md").write_text(links + "\n", encoding="utf-8")
    return "memory.md"


def write_budget_breakers(folder: Path, outside: Path) -> HostileCorpus:
    """Documents that blow a budget (size, values, depth, time, memory), links out of `folder`
    into `outside`, and a named pipe, beside good documents (some linked within the folder).
    The slow document needs `--timeout` of a few seconds to be cut short. The memory breaker
    is apart (`write_memory_breaker`): on a busy machine a time budget could fire first."""
    folder.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    corpus = HostileCorpus()

    def good(name: str, content: str) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
        corpus.good.add(name)

    def bad(name: str, content: str, reason: str) -> None:
        (folder / name).write_text(content, encoding="utf-8")
        corpus.bad[name] = reason

    good("a-good.md", _front(title="Good") + GOOD_BODY)
    good("nested-fine.md", "# Nested fine\n\n" + deep_list(6) + "\n" + GOOD_BODY)
    good(
        "aliases-fine.md",
        "---\ntitle: Aliases\ntags: &t [quokka, marsupial]\nsee: *t\n---\n\n" + GOOD_BODY,
    )
    good("sub/inner.md", _front(title="Inner") + GOOD_BODY)
    (folder / "linked-inside.md").symlink_to(folder / "a-good.md")
    corpus.good.add("linked-inside.md")
    # A link to a folder inside: its pages are indexed once, under their own paths.
    (folder / "a-linked-folder").symlink_to(folder / "sub", target_is_directory=True)

    bad("bomb.md", alias_bomb(), "frontmatter expands to more than 10,000 values")
    bad("deep-list.md", deep_list(3000), "nested more than 100 levels deep")
    deep_yaml = "---\ntitle: " + "[" * 150 + "]" * 150 + "\n---\n\nbody\n"
    bad("deep-yaml.md", deep_yaml, "frontmatter is nested more than 100 levels deep")
    bad("self-alias.md", "---\na: &a [x, *a]\n---\n\nbody\n", "frontmatter contains itself")
    paragraph = "Anemia is treated with red blood cell transfusion. " * 20 + "\n\n"
    bad(
        "huge.md",
        "# Huge\n\n" + paragraph * (50_000_000 // len(paragraph) + 1),
        "larger than 10 MB",
    )
    bad("m-slow.md", "# Slow\n\n" + "[" * 30_000 + "\n", "took longer than")
    os.mkfifo(folder / "pipe.md")
    corpus.bad["pipe.md"] = "is a named pipe, not a regular file"

    (outside / "secret.md").write_text(f"# Secret\n\n{SECRET_WORD}\n", encoding="utf-8")
    (outside / "notes").mkdir(exist_ok=True)
    (outside / "notes" / "more.md").write_text(f"# More\n\n{SECRET_WORD}\n", encoding="utf-8")
    (folder / "secret-link.md").symlink_to(outside / "secret.md")
    corpus.bad["secret-link.md"] = "points outside the source folder"
    (folder / "outside-folder").symlink_to(outside / "notes", target_is_directory=True)
    corpus.bad["outside-folder"] = "points outside the source folder"
    return corpus
