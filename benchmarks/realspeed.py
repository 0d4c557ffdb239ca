"""Speed on real knowledge bases: kbsearch beside SQLite FTS5 and tantivy, in one run.

    python benchmarks/realspeed.py [--quick] [NAME=FOLDER ...]

For each set (default: the whole tldr, 23,436 pages in 11 languages, and Docsy's Hugo site, from
../shared/corpus/realkb; `--quick`: the copies in tests/realkb) it prints the full build (files
to searchable; seconds and the peak memory of the process tree), the index size, warm query
p50/p95 per query kind with snippets, and a cold one-off query. FTS5 and tantivy (installed with
`pip install -e '.[bench]'`; its column is left out without it) index the cheapest honest
reading a user would write: frontmatter split off, the title from it (else the first `#`
heading, else the file name) and the raw Markdown as the body, the title weighted 10. The
ratio is kbsearch's cost over FTS5's. "Whoosh alone" is the floor of kbsearch's stack: the
library kbsearch is built on, given the same raw reading (its stemming analyzer, the title
weighted 10, its own two-process writer, its parser's OR of the words, its own highlighter for
the snippets), with nothing of kbsearch's; its ratio to FTS5 is as low as a Whoosh engine goes.
No thresholds: figures for people; CI runs `--quick`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import Run, cold_runs, kbsearch_command, percentiles, sampled_run, timed  # noqa: E402

import search  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus" / "realkb"
TESTS = ROOT / "tests" / "realkb"
SETS = {"tldr": "tldr", "docsy": "docsy/docsy.dev/content/en"}

# Five queries a kind, cycled; the same text goes to every engine (FTS5 gets it as an OR of
# quoted words, or the phrase, as a user of FTS5 would write it).
QUERIES: dict[str, dict[str, list[str]]] = {
    "tldr": {
        "1-word": ["tar", "grep", "docker", "ssh", "curl"],
        "2-word": ["extract archive", "git commit", "list files", "kill process", "disk usage"],
        "3-word": [
            "copy directory recursively",
            "download file url",
            "search text files",
            "compress files zip",
            "show network interfaces",
        ],
        "phrase": [
            '"git commit"',
            '"current directory"',
            '"regular expression"',
            '"file system"',
            '"network interface"',
        ],
        "other languages": [
            "comprimir archivo",
            "répertoire courant",
            "Datei kopieren",
            "ファイル",
            "文件",
        ],
    },
    "docsy": {
        "1-word": ["shortcode", "navbar", "taxonomy", "search", "blocks"],
        "2-word": ["dark mode", "swagger ui", "print support", "edit page", "landing page"],
        "3-word": [
            "add a blog",
            "configure search engine",
            "change the logo",
            "update docsy theme",
            "google analytics tracking",
        ],
        "phrase": [
            '"page info"',
            '"table of contents"',
            '"hugo module"',
            '"custom styles"',
            '"lead block"',
        ],
    },
}

# The cheapest honest reading of a Markdown page, shared by the FTS5 and tantivy builds and by
# `kbsearch eval --compare`: the module's source, run in a bare interpreter.
READ_PAGES = (ROOT / "search" / "app" / "rawpages.py").read_text(encoding="utf-8")

FTS5_BUILD = (
    READ_PAGES
    + r"""
import sqlite3, sys
folder, db = sys.argv[1:3]
con = sqlite3.connect(db)
con.execute(
    "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, tokenize='porter unicode61')"
)
con.executemany("INSERT INTO docs VALUES (?, ?, ?)", raw_pages(folder))
con.commit()
con.close()
"""
)

TANTIVY_BUILD = (
    READ_PAGES
    + r"""
import sys, tantivy
folder, where = sys.argv[1:3]
builder = tantivy.SchemaBuilder()
builder.add_text_field("id", stored=True, tokenizer_name="raw")
builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
builder.add_text_field("body", stored=True, tokenizer_name="en_stem")
index = tantivy.Index(builder.build(), path=where)
writer = index.writer(heap_size=128_000_000, num_threads=2)
for doc_id, title, body in raw_pages(folder):
    writer.add_document(tantivy.Document(id=doc_id, title=title, body=body))
writer.commit()
writer.wait_merging_threads()
"""
)

WHOOSH_BUILD = (
    READ_PAGES
    + r"""
import sys
from whoosh import fields, index
from whoosh.analysis import StemmingAnalyzer
folder, where = sys.argv[1:3]
schema = fields.Schema(
    id=fields.ID(stored=True),
    title=fields.TEXT(analyzer=StemmingAnalyzer(), field_boost=10.0),
    body=fields.TEXT(analyzer=StemmingAnalyzer(), stored=True),
)
writer = index.create_in(where, schema).writer(procs=2, limitmb=128)
for doc_id, title, body in raw_pages(folder):
    writer.add_document(id=doc_id, title=title, body=body)
writer.commit()
"""
)

# Whoosh's own search and snippets, as its documentation shows them (the cold query runs it).
WHOOSH_SEARCH = """
from whoosh import highlight, index, qparser
def whoosh_searcher(where):
    opened = index.open_dir(where)
    searcher = opened.searcher()
    parser = qparser.MultifieldParser(["title", "body"], opened.schema, group=qparser.OrGroup)
    def run(text):
        results = searcher.search(parser.parse(text), limit=10)
        results.fragmenter = highlight.ContextFragmenter(surround=60)
        return [hit.highlights("body") for hit in results]
    return run
"""
WHOOSH_QUERY = (
    WHOOSH_SEARCH
    + """
import sys
print(whoosh_searcher(sys.argv[1])(sys.argv[2]))
"""
)

FTS5_SQL = (
    "SELECT id, snippet(docs, 2, '<mark>', '</mark>', '…', 16) FROM docs WHERE docs MATCH ? "
    "ORDER BY bm25(docs, 0.0, 10.0, 1.0) LIMIT 10"
)
FTS5_QUERY = f"""
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(con.execute({FTS5_SQL!r}, (sys.argv[2],)).fetchall())
"""
TANTIVY_QUERY = """
import sys, tantivy
index = tantivy.Index.open(sys.argv[1])
searcher = index.searcher()
query = index.parse_query(sys.argv[2], ["title", "body"], field_boosts={"title": 10.0})
snippets = tantivy.SnippetGenerator.create(searcher, query, index.schema, "body")
for _, address in searcher.search(query, 10).hits:
    print(snippets.snippet_from_doc(searcher.doc(address)).to_html())
"""


def fts5_text(query: str) -> str:
    """The query as an FTS5 user writes it: a phrase as is, words as an OR of quoted words."""
    if query.startswith('"'):
        return query
    return " OR ".join(f'"{word}"' for word in query.split())


def has_tantivy() -> bool:
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return False
    return True


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def measure(name: str, folder: Path, work: Path, repeat: int, cold: int) -> list[list[str]]:
    """The table's rows for one set: [measure, kbsearch, FTS5, tantivy, Whoosh alone,
    kbsearch/FTS5, Whoosh alone/FTS5]."""
    tantivy_on = has_tantivy()
    index, db, tv, wh = work / "index", work / "fts.db", work / "tantivy", work / "whoosh"
    tv.mkdir()
    wh.mkdir()
    python = sys.executable
    ours = sampled_run([*kbsearch_command(), "index", str(folder), "--index", str(index), "-q"])
    fts = sampled_run([python, "-c", FTS5_BUILD, str(folder), str(db)])
    tan = sampled_run([python, "-c", TANTIVY_BUILD, str(folder), str(tv)]) if tantivy_on else None
    bare = sampled_run([python, "-c", WHOOSH_BUILD, str(folder), str(wh)])
    rows: list[list[str]] = []

    def row(measure: str, values: tuple[float, float, float | None, float], unit: str) -> None:
        a, b, c, d = values
        ratios = [f"{x / b:.2f}x" if b else "" for x in (a, d)]
        rows.append([f"{measure} ({unit})", f"{a:.2f}", f"{b:.2f}", _shown(c), f"{d:.2f}", *ratios])

    with search.open_index(index) as kb:
        pages = kb.status().documents
    rows.append([f"{name}: pages", str(pages), "", "", "", "", ""])
    tan_seconds = tan.seconds if tan else None
    row("full build", (ours.seconds, fts.seconds, tan_seconds, bare.seconds), "s")
    peaks = (_peak(ours), _peak(fts), _peak(tan) if tan else None, _peak(bare))
    row("build peak memory, PSS", peaks, "MB")
    sizes = (folder_mb(index), db.stat().st_size / 1e6, folder_mb(tv) if tan else None)
    row("index size", (*sizes, folder_mb(wh)), "MB")
    scope: dict[str, Any] = {}
    exec(WHOOSH_SEARCH, scope)  # the cold query's own code, so both time the same search
    whoosh_search: Callable[[str], object] = scope["whoosh_searcher"](str(wh))

    import sqlite3

    con = sqlite3.connect(db)
    tantivy_search: Callable[[str], object] | None = None
    if tantivy_on:
        import tantivy

        tv_index = tantivy.Index.open(str(tv))
        tv_searcher = tv_index.searcher()

        def tantivy_search(text: str) -> object:
            query = tv_index.parse_query(text, ["title", "body"], field_boosts={"title": 10.0})
            snippets = tantivy.SnippetGenerator.create(tv_searcher, query, tv_index.schema, "body")
            hits = tv_searcher.search(query, 10).hits
            return [snippets.snippet_from_doc(tv_searcher.doc(a)).to_html() for _, a in hits]

    with search.open_index(index) as kb:
        for texts in QUERIES.get(name, QUERIES["docsy"]).values():  # each engine warmed once
            for text in texts:
                kb.search(text, limit=10)
                con.execute(FTS5_SQL, (fts5_text(text),)).fetchall()
                if tantivy_search is not None:
                    tantivy_search(text)
                whoosh_search(text)
        for kind, texts in QUERIES.get(name, QUERIES["docsy"]).items():
            samples: tuple[list[float], ...] = ([], [], [], [])
            for n in range(repeat):
                text = texts[n % len(texts)]
                samples[0].append(timed(lambda t=text: kb.search(t, limit=10)))
                samples[1].append(
                    timed(lambda t=text: con.execute(FTS5_SQL, (fts5_text(t),)).fetchall())
                )
                if tantivy_search is not None:
                    samples[2].append(timed(lambda t=text: tantivy_search(t)))
                samples[3].append(timed(lambda t=text: whoosh_search(t)))
            (a50, a95), (b50, b95) = percentiles(samples[0]), percentiles(samples[1])
            c50, c95 = percentiles(samples[2]) if samples[2] else (None, None)
            d50, d95 = percentiles(samples[3])
            p50s = (a50 * 1e3, b50 * 1e3, _ms(c50), d50 * 1e3)
            row(f"warm {kind} p50, with snippets", p50s, "ms")
            p95s = (a95 * 1e3, b95 * 1e3, _ms(c95), d95 * 1e3)
            row(f"warm {kind} p95, with snippets", p95s, "ms")
    con.close()

    text = QUERIES.get(name, QUERIES["docsy"])["2-word"][1]
    commands = [
        [*kbsearch_command(), "query", text, "--index", str(index), "--no-server"],
        [python, "-c", FTS5_QUERY, str(db), fts5_text(text)],
    ]
    commands.append([python, "-c", WHOOSH_QUERY, str(wh), text])
    if tantivy_on:
        commands.append([python, "-c", TANTIVY_QUERY, str(tv), text])
    medians = [seconds * 1e3 for seconds in cold_runs(commands, cold)]  # in turns
    cold_tantivy = medians[3] if tantivy_on else None
    row("cold one-off query", (medians[0], medians[1], cold_tantivy, medians[2]), "ms")
    return rows


def _peak(run: Run) -> float:
    return max(run.early_peak_mb, run.late_peak_mb)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the copies in tests/realkb")
    parser.add_argument("--markdown", action="store_true", help="print the table in Markdown")
    parser.add_argument("sets", nargs="*", help="NAME=FOLDER sets instead of the defaults")
    args = parser.parse_args()
    base = TESTS if args.quick or not SHARED.exists() else SHARED
    sets = {name: base / where for name, where in SETS.items()}
    for arg in args.sets:
        name, _, where = arg.partition("=")
        sets[name] = Path(where)
    repeat, cold = (10, 2) if args.quick else (60, 7)
    header = [
        "measure",
        "kbsearch",
        "SQLite FTS5",
        "tantivy",
        "Whoosh alone",
        "kbsearch/FTS5",
        "Whoosh alone/FTS5",
    ]
    rows: list[list[str]] = []
    for name, folder in sets.items():
        with tempfile.TemporaryDirectory(prefix="kbsearch-real-") as tmp:
            rows += measure(name, folder, Path(tmp), repeat, cold)
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" + "---:|" * (len(header) - 1))
        for cells in rows:
            print("| " + " | ".join(cells) + " |")
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for cells in [header, *rows]:
            padded = [c.rjust(w) for c, w in zip(cells, widths, strict=True)]
            print("  ".join([cells[0].ljust(widths[0]), *padded[1:]]))
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
