"""A knowledge base in many languages, side by side with SQLite FTS5 in one run:

    python benchmarks/languages.py [FOLDER]

FOLDER defaults to tests/realkb/tldr (the whole tldr, 23,436 pages in 11 languages, is
../shared/corpus/realkb/tldr). Prints kbsearch's full build time and index size beside FTS5's
with the unicode61 tokenizer and with the trigram tokenizer (which finds words inside CJK text),
both over the raw Markdown files, the warm query p50 of one word in each script, and how many
of the top-5 hits of English queries (`ENGLISH`: common commands and tasks) are in other
languages. No thresholds: figures for people.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import search  # noqa: E402

# One word a reader of each script searches tldr for (git's words, in each language's pages).
WORDS = {
    "Latin": "commit",
    "Cyrillic": "репозиторий",
    "Arabic": "مستودع",
    "Devanagari": "रिपॉजिटरी",
    "Han": "提交",
    "Kana": "コミット",
    "Hangul": "커밋",
}
# English queries a tldr reader types: commands and tasks (written before they were run).
ENGLISH = (
    "git commit", "git rebase", "git push", "git stash", "git branch", "git merge", "git log",
    "git diff", "git clone", "git status", "docker run", "docker build", "kubectl get pods",
    "tar", "grep", "ssh", "curl", "extract archive", "list files", "kill process", "disk usage",
    "copy directory recursively", "download file url", "search text files", "compress files zip",
    "show network interfaces", "find files by name", "change file permissions",
    "create symbolic link", "rename file", "delete directory", "count lines", "sort lines",
    "remove duplicate lines", "show running processes", "check disk space", "mount a drive",
    "create user", "change password", "schedule a job", "start a service", "compare two files",
    "convert image", "resize image", "play video", "record screen", "dns lookup", "sync files",
    "python virtual environment", "install package", "switch branches", "debugger",
)  # fmt: skip
RUNS = 50
TRIGRAM_QUERY = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10"


def size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fts5(folder: Path, database: Path, tokenizer: str) -> tuple[float, sqlite3.Connection]:
    started = time.perf_counter()
    db = sqlite3.connect(database)
    db.execute(f"CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, body, tokenize='{tokenizer}')")
    db.executemany(
        "INSERT INTO docs VALUES (?, ?)",
        ((str(p), p.read_text(encoding="utf-8", errors="replace")) for p in folder.rglob("*.md")),
    )
    db.commit()
    return time.perf_counter() - started, db


def p50(action: object) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str]) -> None:
    folder = Path(argv[0]) if argv else ROOT / "tests" / "realkb" / "tldr"
    pages = sum(1 for _ in folder.rglob("*.md"))
    with tempfile.TemporaryDirectory() as work:
        index = Path(work) / "index"
        started = time.perf_counter()
        search.update_index(folder, index, wait=True)
        built = time.perf_counter() - started
        plain_time, plain = fts5(folder, Path(work) / "u.db", "unicode61")
        tri_time, tri = fts5(folder, Path(work) / "t.db", "trigram")
        print(f"{folder} ({pages} pages)")
        print(f"{'system':22} {'build s':>8} {'size MB':>8} {'build ×':>8}")
        for name, seconds, where in (
            ("kbsearch", built, index),
            ("fts5 unicode61", plain_time, Path(work) / "u.db"),
            ("fts5 trigram", tri_time, Path(work) / "t.db"),
        ):
            print(f"{name:22} {seconds:8.1f} {size(where) / 1e6:8.1f} {built / seconds:8.1f}")
        print(f"\n{'script':11} {'word':12} {'kbsearch ms':>12} {'hits':>5} {'fts5 tri ms':>12}")
        with search.open_index(index) as kb:
            for script, word in WORDS.items():
                kb.search(word, limit=10)
                found = kb.search(word, limit=10)
                ours = p50(lambda w=word: kb.search(w, limit=10))
                match = f'"{word}"' if len(word) >= 3 else word
                theirs = p50(lambda m=match: tri.execute(TRIGRAM_QUERY, (m,)).fetchall())
                print(f"{script:11} {word:12} {ours:12.2f} {found.total:5} {theirs:12.2f}")
            shown = [hit for text in ENGLISH for hit in kb.search(text, limit=5, snippets=False)]
            foreign = [hit for hit in shown if not hit.language.startswith("en")]
            print(
                f"\n{len(ENGLISH)} English queries: {len(foreign)} of their {len(shown)} top-5 "
                f"hits in other languages ({len(foreign) / max(1, len(shown)):.0%})"
            )
        plain.close()
        tri.close()


if __name__ == "__main__":
    main(sys.argv[1:])
