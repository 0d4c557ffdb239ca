"""Hostile documents, hostile queries, killed rebuilds, racing writers and damaged indexes."""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import search
from search.engine import storage

from .conftest import ROOT, SEED_COUNT, SEEDS, without_privileges
from .hostile import (
    GOOD_BODY,
    SECRET_WORD,
    HostileCorpus,
    write_budget_breakers,
    write_hostile_corpus,
    write_memory_breaker,
)
from .test_cli import kbsearch

# ------------------------------------------------------------------------------- documents


@pytest.mark.slow
def test_hostile_corpus_indexes_every_good_document(tmp_path: Path) -> None:
    corpus = write_hostile_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    result = kbsearch("index", tmp_path / "docs", "--index", index_dir, "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == len(corpus.good)
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert set(reasons) == set(corpus.bad)
    for name, fragment in corpus.bad.items():
        assert fragment in reasons[name], (name, reasons[name])

    with search.open_index(index_dir) as kb:
        found = kb.search("quokka", limit=100)
        assert {hit.id for hit in found} >= corpus.good - {"huge.md", "frontmatter-only.md"}
        assert kb.search("stealcookies").total == 0  # <script> is not text
        assert kb.search("transfusion")[0].id == "huge.md"
        html = "".join(hit.snippet.html() + hit.title_snippet.html() for hit in found)
        assert "<script" not in html and "<b>" not in html and "<div" not in html
        assert kb.get("nön-ascii-ñame.md").title == "Non-ASCII"
        assert kb.get("date-timezone.md").metadata["lastReviewed"] == "2025-05-01"

    strict = kbsearch("index", tmp_path / "docs", "--index", tmp_path / "strict", "--strict")
    assert strict.returncode == 1 and "index left unchanged" in strict.stderr
    assert storage.current_generation(tmp_path / "strict") is None


def test_file_deleted_while_indexing_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(5):
        (folder / f"{n}.md").write_text(f"# Page {n}\n\n{GOOD_BODY}")

    def delete_the_last(done: int, total: int) -> None:
        if done == 1:
            (folder / "4.md").unlink()

    report = search.update_index(folder, tmp_path / "ix", progress=delete_the_last)
    assert report.added == 4
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("4.md", "file disappeared while indexing")
    ]


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float  # the largest resident size of the process and of each child it waited for


# Runs the command and writes its peak memory. A child forked from this (large) test process
# would report this process's size as its own peak, so a small Python process starts it.
PEAK_WRAPPER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_bounded(*args: str | Path, deadline: float) -> Finished:
    """Run `python -m search ARGS` as a process; fail the test if it is still running after
    `deadline` seconds (it and its children are killed). Reports its peak memory: the largest
    resident size of the process or of any child it waited for (its parsing workers)."""
    with tempfile.TemporaryDirectory() as folder:
        out, err, peak = Path(folder, "stdout"), Path(folder, "stderr"), Path(folder, "peak")
        command = [sys.executable, "-m", "search", *map(str, args)]
        with open(out, "w") as stdout, open(err, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", PEAK_WRAPPER, str(peak), *command],
                cwd=ROOT,
                stdout=stdout,
                stderr=stderr,
                env={**os.environ, "NO_COLOR": "1"},
                start_new_session=True,
            )
        try:
            process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            pytest.fail(f"`kbsearch {' '.join(map(str, args))[:200]}` still ran after {deadline} s")
        return Finished(
            process.returncode, out.read_text(), err.read_text(), int(peak.read_text()) / 1024
        )


# Each breaker is cut short: the slow one after 3 s, the memory one at 256 MB.
BREAKER_OPTIONS = ("--timeout", "3", "--max-memory", "256")
# The memory breaker runs alone with a time budget it cannot reach first, however busy the
# machine: only the memory budget can cut it short.
MEMORY_ONLY_OPTIONS = ("--timeout", "3600", "--max-memory", "256")


@pytest.fixture(scope="module")
def breakers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HostileCorpus]:
    base = tmp_path_factory.mktemp("breakers")
    corpus = write_budget_breakers(base / "kb", base / "outside")
    return base / "kb", corpus


@pytest.mark.slow
def test_documents_over_budget_are_skipped_and_the_rest_indexed(
    breakers: tuple[Path, HostileCorpus], tmp_path: Path
) -> None:
    folder, corpus = breakers
    index_dir = tmp_path / "index"
    run = run_bounded(
        "index", folder, "--index", index_dir, "--json", *BREAKER_OPTIONS, deadline=120
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    report = json.loads(run.stdout)
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert set(reasons) == set(corpus.bad), reasons
    for name, fragment in corpus.bad.items():
        assert fragment in reasons[name], (name, reasons[name])
    # Nothing held more memory than the largest budget (256 MB) over a Python process's own.
    assert run.peak_mb < 256 + 200, run.peak_mb

    with search.open_index(index_dir) as kb:
        found = {hit.id for hit in kb.search("quokka", limit=100)}
        assert found == corpus.good
        assert kb.search(SECRET_WORD).total == 0  # nothing from outside the folder


@pytest.mark.slow
def test_a_document_past_its_memory_budget_is_skipped(tmp_path: Path) -> None:
    name = write_memory_breaker(tmp_path / "kb")
    run = run_bounded(
        "index",
        tmp_path / "kb",
        "--index",
        tmp_path / "ix",
        "--json",
        *MEMORY_ONLY_OPTIONS,
        deadline=300,
    )
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["added"] == 1
    assert [(Path(s["path"]).name, "MB of memory" in s["reason"]) for s in report["skipped"]] == [
        (name, True)
    ], report["skipped"]
    assert run.peak_mb < 256 + 200, run.peak_mb


@pytest.mark.slow
def test_check_reports_what_the_indexer_skips(
    breakers: tuple[Path, HostileCorpus], tmp_path: Path
) -> None:
    folder, _ = breakers
    indexed = run_bounded(
        "index", folder, "--index", tmp_path / "ix", "--json", *BREAKER_OPTIONS, deadline=120
    )
    checked = run_bounded("check", folder, "--json", *BREAKER_OPTIONS, deadline=120)
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    invalid = {
        (p["path"], p["message"])
        for p in json.loads(checked.stdout)["problems"]
        if p["kind"] == "invalid"
    }
    skipped = {(s["path"], s["reason"]) for s in json.loads(indexed.stdout)["skipped"]}
    # Timeouts and memory are measured, so those two reasons are compared by what they say.
    assert {p for p, _ in invalid} == {p for p, _ in skipped}
    assert {r for _, r in invalid if "took" not in r} == {r for _, r in skipped if "took" not in r}


def test_links_out_of_the_folder_only_with_follow_links(tmp_path: Path) -> None:
    folder, outside = tmp_path / "kb", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (folder / "page.md").write_text("# Page\n\n" + GOOD_BODY)
    (outside / "secret.md").write_text(f"# Secret\n\n{SECRET_WORD}\n")
    (folder / "secret.md").symlink_to(outside / "secret.md")
    (folder / "notes").symlink_to(outside, target_is_directory=True)

    report = search.update_index(folder, tmp_path / "ix")
    assert {(Path(s.path).name, s.reason.split(" (")[0]) for s in report.skipped} == {
        ("secret.md", "points outside the source folder"),
        ("notes", "points outside the source folder"),
    }
    with search.open_index(tmp_path / "ix") as kb:
        assert kb.search(SECRET_WORD).total == 0

    followed = search.update_index(folder, tmp_path / "ix", follow_links=True)
    assert followed.ok and followed.added == 2  # the link and the file in the linked folder
    with search.open_index(tmp_path / "ix") as kb:
        assert {hit.id for hit in kb.search(SECRET_WORD)} == {"secret.md", "notes/secret.md"}


@pytest.mark.slow
def test_a_worker_past_its_time_is_replaced_and_the_run_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    for n in range(6):
        (folder / f"{n}.md").write_text(f"# Page {n}\n\n" + GOOD_BODY)
    (folder / "2-slow.md").write_text("# Slow\n\n" + "[" * 30_000)
    (folder / "4-slow.md").write_text("# Slow too\n\n" + "[" * 30_000)
    budgets = search.Budgets(timeout=3)
    started = time.monotonic()
    report = search.update_index(folder, tmp_path / "ix", budgets=budgets)
    assert time.monotonic() - started < 60  # unbounded, each takes about 75 s
    assert report.added == 6
    assert sorted((Path(s.path).name, s.reason) for s in report.skipped) == [
        ("2-slow.md", "took longer than 3 s to parse"),
        ("4-slow.md", "took longer than 3 s to parse"),
    ]


@pytest.mark.parametrize(
    ("budget", "content", "reason"),
    [
        (search.Budgets(max_size_mb=0.001), "# Big\n\n" + "word " * 400, "larger than 0.001 MB"),
        (
            search.Budgets(max_depth=3),
            "# Deep\n\n" + "- a\n  - b\n    - c\n      - d\n",
            "more than 3 levels",
        ),
        (search.Budgets(max_depth=3), "# Quotes\n\n> > > > deep\n", "more than 3 levels"),
        (
            search.Budgets(max_values=5),
            "---\ntags: [a, b, c, d, e, f]\n---\n\nx\n",
            "more than 5 values",
        ),
    ],
)
def test_each_budget_can_be_set(
    tmp_path: Path, budget: search.Budgets, content: str, reason: str
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "page.md").write_text(content)
    report = search.update_index(folder, tmp_path / "ix", budgets=budget)
    assert [reason in s.reason for s in report.skipped] == [True], report.skipped
    assert search.update_index(folder, tmp_path / "ix2").ok  # the defaults take it


@pytest.mark.slow
def test_budget_options_reach_the_reader(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "page.md").write_text("# Page\n\n" + "word " * 400)
    small = kbsearch("index", folder, "--index", tmp_path / "ix", "--max-size", "0.001")
    assert small.returncode == 1 and "larger than 0.001 MB" in small.stderr
    checked = kbsearch("check", folder, "--max-size", "0.001")
    assert "page.md: invalid: larger than 0.001 MB" in checked.stdout
    wrong = kbsearch("index", folder, "--index", tmp_path / "ix", "--timeout", "0")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr


def _distinct_words(count: int) -> Iterator[str]:
    """`count` different made-up words of letters only, as a long-tailed vocabulary has."""
    letters = string.ascii_lowercase
    for n in range(count):
        word, rest = "", n
        while True:
            rest, digit = divmod(rest, 26)
            word += letters[digit]
            if not rest:
                break
        yield "zq" + word + "ations"


@pytest.mark.slow
def test_a_huge_vocabulary_does_not_grow_a_reader_without_bound() -> None:
    """Reader processes cache each distinct word's terms (stemmed, accents folded); a corpus with
    80,000 distinct words must not leave them all cached, in both languages and the spelling."""
    import gc
    import tracemalloc

    from search.text import schema

    fields = schema.build_schema()
    for cached in (schema.english_term, schema.spanish_term, schema.fold_accents):
        cached.cache_clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        words = list(_distinct_words(80_000))
        for start in range(0, len(words), 2_000):
            text = " ".join(words[start : start + 2_000])
            for fieldname in ("body", "body_es", schema.SPELLING_FIELD):
                schema.analyze(fields, fieldname, text)
        del words, text
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 40 * 1024 * 1024, f"{held / 1024 / 1024:.0f} MB held after the analysis"


# --------------------------------------------------------------------------------- queries

NASTY_QUERIES = [
    "",
    " ",
    "*",
    "**",
    "?",
    "~",
    "^",
    ":",
    "::",
    "a:",
    ":a",
    "title:",
    "title:*",
    "*:*",
    '"',
    '""',
    '"""',
    "(",
    ")",
    "((((",
    "))))",
    "[",
    "]",
    "{",
    "}",
    "[a TO",
    "[ TO ]",
    "AND",
    "OR",
    "NOT",
    "AND OR NOT",
    "NOT NOT NOT",
    "a AND",
    "OR b",
    "anemia^",
    "anemia^x",
    "anemia~x",
    "anemia~999",
    "lastReviewed:[x TO y]",
    "lastReviewed:>2025",
    "tags:",
    "tags:*",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "🧬" * 100,
    "a" * 5000,
    "lusp* " * 200,
    "<script>alert(1)</script>",
    "'; DROP TABLE docs; --",
    "\\",
    "\\\\",
    "/",
    "//",
    "a/b",
    "zzz*",
    "*zzz",
    "?????",
    "a~2 b~2 c~2",
]


@pytest.fixture(scope="module")
def tiny_kb(tmp_path_factory: pytest.TempPathFactory) -> search.KnowledgeBase:
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "a.md").write_text("---\ntitle: Anemia <b>&</b> you\ntags: [x]\n---\n\nAnemia & <i>")
    (folder / "b.md").write_text("# Lusp page\n\nluspatercept anemia transfusion")
    search.update_index(folder, folder.parent / "tiny-index")
    return search.open_index(folder.parent / "tiny-index")


def _only_documented_errors(kb: search.KnowledgeBase, text: str, mode: str) -> None:
    try:
        results = kb.search(text, mode=mode)  # type: ignore[arg-type]
    except search.QuerySyntaxError:
        assert mode == "auto"  # plain words never raise
        return
    for hit in results:
        html = hit.snippet.html() + hit.title_snippet.html()
        stripped = html.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped


@pytest.mark.parametrize("text", NASTY_QUERIES)
def test_known_nasty_queries(tiny_kb: search.KnowledgeBase, text: str) -> None:
    for mode in ("auto", "plain"):
        _only_documented_errors(tiny_kb, text, mode)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
@pytest.mark.slow
def test_any_text_is_a_query(tiny_kb: search.KnowledgeBase, text: str) -> None:
    for mode in ("auto", "plain"):
        _only_documented_errors(tiny_kb, text, mode)


SYNTAX_PIECES = st.sampled_from(
    [
        "anemia",
        "lusp*",
        "tags:x",
        "title:anemia",
        '"',
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "~",
        "^2",
        "[",
        "]",
        "TO",
        "lastReviewed:",
        "2025-01-01",
        "*",
        "?",
        ":",
        " ",
        "\\",
        "{",
        "}",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(SYNTAX_PIECES, max_size=12).map("".join))
@pytest.mark.slow
def test_syntax_soup_is_a_query(tiny_kb: search.KnowledgeBase, text: str) -> None:
    _only_documented_errors(tiny_kb, text, "auto")


@pytest.fixture(scope="module")
def wide_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index with a huge vocabulary (100,000 made-up words) beside a few real pages."""
    folder = tmp_path_factory.mktemp("wide") / "kb"
    folder.mkdir()
    rng = random.Random(7)
    for n in range(20):
        words = ("".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(5000))
        (folder / f"words-{n}.md").write_text(f"# Words {n}\n\n" + " ".join(words) + "\n")
    for seed in sorted(SEEDS.glob("[0-9]*"))[:20]:
        shutil.copy(seed, folder)
    index_dir = folder.parent / "index"
    search.update_index(folder, index_dir)
    return index_dir


def _made_up_words(count: int, suffix: str = "") -> str:
    rng = random.Random(3)
    return " ".join(
        "".join(rng.choices(string.ascii_lowercase, k=8)) + suffix for _ in range(count)
    )


RARE_WILDCARDS = " ".join(f"*{a}{b}*" for a in "zqxjk" for b in "zqxjkvw")
# name -> (query, a notice it must give, or None)
HUGE_QUERIES = {
    "100,000 characters": ("anemia " * 14_000, "cut to its first 64 words (of 14,000)"),
    "one 100,000-character word": ("a" * 100_000, "cut to its first 1,000 characters"),
    "10,000 words": (_made_up_words(10_000), "cut to its first 64 words (of 10,000)"),
    "deep parentheses": ("(" * 200 + "anemia" + ")" * 200, "nested 200 deep"),
    "1,000 ORs": (" OR ".join(["anemia", "fatigue"] * 500), "cut to its first 64 words"),
    "rare wildcards": (RARE_WILDCARDS, None),
    "prefixes": (" ".join(f"{a}{b}*" for a in "abcdefgh" for b in "aeiou"), None),
    "fuzzy words": (_made_up_words(60, "~2"), None),
    "misspellings": (_made_up_words(60), None),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", HUGE_QUERIES)
def test_huge_queries_answer_within_bounds(wide_index: Path, name: str) -> None:
    query, notice = HUGE_QUERIES[name]
    run = run_bounded("query", query, "--index", wide_index, "--json", deadline=60)
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr
    results = json.loads(run.stdout)
    assert len(results["query"]) <= 1000
    if notice is not None:
        assert any(notice in text for text in results["notices"]), results["notices"]
        assert f"kbsearch: {results['notices'][0]}" in run.stderr
    else:
        assert results["notices"] == []
    assert run.peak_mb < 300, run.peak_mb


class _CountingReader:
    """A reader that counts the index words handed out by its word lists."""

    def __init__(self, reader: object) -> None:
        self.reader = reader
        self.words_read = 0

    def _counted(self, words: Iterable[bytes]) -> Iterator[bytes]:
        for word in words:
            self.words_read += 1
            yield word

    def expand_prefix(self, fieldname: str, prefix: str) -> Iterator[bytes]:
        return self._counted(self.reader.expand_prefix(fieldname, prefix))  # type: ignore[attr-defined]

    def lexicon(self, fieldname: str) -> Iterator[bytes]:
        return self._counted(self.reader.lexicon(fieldname))  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.reader, name)


@pytest.mark.slow
def test_wildcards_read_and_keep_a_bounded_number_of_words(wide_index: Path) -> None:
    from whoosh import query as wq

    from search.budgets import MAX_EXPANDED_TERMS, MAX_SCANNED_TERMS
    from search.query.parsing import bound_expansions

    with search.open_index(wide_index) as kb:
        reader = _CountingReader(kb._fresh_searcher().reader())
        soup = wq.Or(
            [
                wq.Wildcard(field, word)
                for word in RARE_WILDCARDS.split()
                for field in ("body", "spelling")
            ]
            + [
                wq.FuzzyTerm("body", word, maxdist=2, prefixlength=1)
                for word in _made_up_words(20).split()
            ]
        )
        bounded = bound_expansions(soup, reader)  # type: ignore[arg-type]
        assert reader.words_read <= MAX_SCANNED_TERMS
        assert len(list(bounded.leaves())) <= MAX_EXPANDED_TERMS
        # One word alone still finds what it matches.
        assert kb.search("*zq*").total > 0


# -------------------------------------------------------------------- crashes and races


def _count(index_dir: Path) -> int:
    with search.open_index(index_dir) as kb:
        assert kb.search("cancer", limit=1).total > 0
        return kb.stats().documents


def _start_index(source: Path, index_dir: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "search", "index", str(source), "--index", str(index_dir), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def kill_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """seeds/ twice over (2 x SEED_COUNT documents): a full build takes several seconds."""
    folder = tmp_path_factory.mktemp("kill") / "docs"
    shutil.copytree(SEEDS, folder / "a")
    shutil.copytree(SEEDS, folder / "b")
    return folder


@pytest.mark.slow
def test_killed_full_rebuilds_lose_nothing(kill_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    search.update_index(kill_corpus / "a", index_dir)  # the last good index: SEED_COUNT documents
    rng = random.Random(20261124)
    complete = len(list(kill_corpus.rglob("[0-9]*")))
    counts = set()
    for _trial in range(20):
        process = _start_index(kill_corpus, index_dir, "--full")
        time.sleep(rng.uniform(0.3, 8.0))
        process.send_signal(signal.SIGKILL)
        process.communicate()
        count = _count(index_dir)
        assert count in (SEED_COUNT, complete)
        counts.add(count)
    final = kbsearch("index", kill_corpus, "--index", index_dir, "--full")
    assert final.returncode == 0, final.stderr
    assert _count(index_dir) == complete
    leftovers = list(index_dir.glob("*" + storage.BUILDING_SUFFIX))
    assert leftovers == []


@pytest.mark.slow
def test_killed_incremental_runs_lose_nothing(kill_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    source = tmp_path / "docs"
    shutil.copytree(kill_corpus / "a", source)
    search.update_index(source, index_dir)
    rng = random.Random(7)
    for trial in range(20):
        extra = source / f"extra-{trial}"
        shutil.copytree(kill_corpus / "b", extra)  # SEED_COUNT new documents to add
        before = _count(index_dir)
        process = _start_index(source, index_dir)
        time.sleep(rng.uniform(0.3, 6.0))
        process.send_signal(signal.SIGKILL)
        process.communicate()
        after = _count(index_dir)
        assert after in (before, before + SEED_COUNT)  # one commit: all of it or none of it
        shutil.rmtree(extra)
        tidy = kbsearch("index", source, "--index", index_dir, "--json")
        assert tidy.returncode == 0, tidy.stderr
        assert _count(index_dir) == SEED_COUNT


@pytest.mark.slow
def test_two_writers_and_a_reader_race(kill_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    search.update_index(kill_corpus / "a", index_dir)
    reader_code = (
        "import sys, time, search\n"
        "kb = search.open_index(sys.argv[1]); n = 0\n"
        "end = time.time() + float(sys.argv[2])\n"
        "while time.time() < end:\n"
        "    assert kb.search('cancer', limit=3).total > 0; n += 1\n"
        "print(n)\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", reader_code, str(index_dir), "8"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = _start_index(kill_corpus, index_dir, "--full")
    second = _start_index(kill_corpus, index_dir, "--full")
    codes = sorted([first.wait(timeout=600), second.wait(timeout=600)])
    assert codes == [0, 75]
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert int(out) > 0  # it kept answering throughout
    assert _count(index_dir) == 2 * SEED_COUNT
    waiting = [_start_index(kill_corpus, index_dir, "--wait") for _ in range(2)]
    assert [p.wait(timeout=600) for p in waiting] == [0, 0]


# ------------------------------------------------------------------------ damaged indexes


def _segment_files(index_dir: Path) -> list[Path]:
    generation = storage.current_generation(index_dir)
    assert generation is not None
    return sorted(p for p in generation.iterdir() if p.suffix in (".seg", ".trm", ".pst", ".col"))


def _damage_postings(index_dir: Path, where: str) -> None:
    """Garbage over the first block of the body's `cancer` postings: its pickled header, or the
    layout bytes that open its data (files that open fine, and fail as a query reads them)."""
    with search.open_index(index_dir) as kb:
        (leaf, _), *_ = kb._fresh_searcher().leaf_searchers()
        matcher = leaf.reader().postings("body", "cancer")
        generation = storage.current_generation(index_dir)
        assert generation is not None
        path = generation / matcher._postfile._name
        base = matcher._baseoffset
    data = bytearray(path.read_bytes())
    start = base + 4  # past the block's length
    if where == "data":  # past its header too
        stream = io.BytesIO(bytes(data[start:]))
        pickle.load(stream)
        start += stream.tell()
    data[start : start + 4] = b"\xff\xfe\xfd\xfc"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage", ["truncate", "delete", "toc-garbage", "posting-header", "posting-data"]
)
@pytest.mark.slow
def test_damaged_index_names_the_fix_and_the_fix_works(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(20):
        (folder / f"{n}.md").write_text(f"# Page {n}\n\ncancer words {n}\n")
    index_dir = tmp_path / "index"
    search.update_index(folder, index_dir)
    generation = storage.current_generation(index_dir)
    assert generation is not None
    if damage == "toc-garbage":
        toc = next(generation.glob("*.toc"))
        toc.write_bytes(b"garbage" * 10)
    elif damage.startswith("posting-"):
        _damage_postings(index_dir, damage.removeprefix("posting-"))
    else:
        target = max(_segment_files(index_dir), key=lambda p: p.stat().st_size)
        if damage == "truncate":
            target.write_bytes(target.read_bytes()[:10])
        else:
            target.unlink()
    broken = kbsearch("query", "cancer", "--index", index_dir)
    assert broken.returncode == 2, broken.stdout + broken.stderr
    assert "kbsearch index --full" in broken.stderr
    assert "Traceback" not in broken.stderr
    incremental = kbsearch("index", folder, "--index", index_dir)
    assert incremental.returncode in (0, 2)
    assert "Traceback" not in incremental.stderr
    fixed = kbsearch("index", folder, "--index", index_dir, "--full")
    assert fixed.returncode == 0, fixed.stderr
    assert kbsearch("query", "cancer", "--index", index_dir).returncode == 0


def test_lock_file_left_by_a_killed_writer_does_not_block(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\ncancer\n")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from search.engine import storage\n"
            "with storage.writer_lock(Path(sys.argv[1])):\n"
            "    print('locked', flush=True); time.sleep(60)\n",
            str(tmp_path / "index"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / "index" / storage.LOCK_FILE).exists()
    assert kbsearch("index", folder, "--index", tmp_path / "index").returncode == 0


# --------------------------------------------------------------- a full disk, no permission


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB filesystem of its own (a tmpfs), so a test can fill it; skipped where it cannot
    be mounted (not root, or no mount in this sandbox)."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace')}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path, leave_kb: int) -> Path:
    """Fill `disk` to the last byte, then free `leave_kb`: the disk is as good as full."""
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - leave_kb * 1024))
    return filler


def _generation_files(index_dir: Path) -> set[str]:
    return {str(p.relative_to(index_dir)) for p in index_dir.rglob("*")} - {storage.LOCK_FILE}


def _titles(index_dir: Path, query: str) -> list[str]:
    with search.open_index(index_dir) as kb:
        return sorted(hit.title for hit in kb.search(query, limit=50))


@pytest.mark.slow
def test_a_full_disk_is_a_message_and_leaves_no_litter(tmp_path: Path, small_disk: Path) -> None:
    folder, index_dir = tmp_path / "docs", small_disk / "index"
    folder.mkdir()
    for n in range(10):
        (folder / f"{n}.md").write_text(f"# Page {n}\n\nCommon words, plum{n}.\n")
    assert kbsearch("index", folder, "--index", index_dir).returncode == 0
    before = _generation_files(index_dir)
    filler = _fill(small_disk, leave_kb=256)
    # A page whose segment needs far more than the space left, and a one-line edit.
    words = " ".join(f"quince{n:06d}" for n in range(20_000))
    (folder / "big.md").write_text(f"# Big\n\n{words}\n")
    (folder / "0.md").write_text("# Page 0\n\nCommon words, apricot.\n")
    for full in ([], ["--full"]):
        failed = kbsearch("index", folder, "--index", index_dir, *full)
        assert failed.returncode == 2, failed.stdout + failed.stderr
        assert "No space left on device" in failed.stderr and "free some space" in failed.stderr
        assert "internal error" not in failed.stderr and "Traceback" not in failed.stderr
        assert _generation_files(index_dir) == before  # no segment, no .building left
        assert _titles(index_dir, "plum0") == ["Page 0"]  # the last good index answers
    (folder / "big.md").unlink()
    edited = kbsearch("index", folder, "--index", index_dir)  # the disk is still nearly full
    assert edited.returncode == 0, edited.stderr + str(_generation_files(index_dir))
    assert _titles(index_dir, "apricot") == ["Page 0"]
    filler.unlink()
    (folder / "big.md").write_text(f"# Big\n\n{words}\n")
    assert kbsearch("index", folder, "--index", index_dir).returncode == 0
    assert _titles(index_dir, "quince000042") == ["Big"]


@pytest.mark.slow
def test_an_index_folder_that_cannot_be_written_is_a_message(tmp_path: Path) -> None:
    prefix = without_privileges()
    folder, index_dir = tmp_path / "docs", tmp_path / "index"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nCommon words, plum.\n")
    assert kbsearch("index", folder, "--index", index_dir).returncode == 0
    (folder / "a.md").write_text("# A\n\nCommon words, apricot.\n")
    locked = [index_dir, *index_dir.glob("gen-*")]
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    for path in [*locked, read_only]:
        path.chmod(0o555)
    try:
        runs = [
            subprocess.run(
                [
                    *prefix,
                    sys.executable,
                    "-m",
                    "search",
                    "index",
                    folder,
                    "--index",
                    target,
                    *full,
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=300,
            )
            for target, full in [(index_dir, []), (index_dir, ["--full"]), (read_only / "ix", [])]
        ]
    finally:
        for path in [*locked, read_only]:
            path.chmod(0o755)
    for run in runs:
        assert run.returncode == 2, run.stdout + run.stderr
        assert "Permission denied" in run.stderr and "make the folder writable" in run.stderr
        assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    assert _titles(index_dir, "plum") == ["A"]
