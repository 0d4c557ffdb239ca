"""Hostile documents, hostile queries, killed rebuilds, racing writers and damaged indexes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import search
from search import storage

from .conftest import ROOT, SEED_COUNT, SEEDS
from .hostile import GOOD_BODY, write_hostile_corpus
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
def test_syntax_soup_is_a_query(tiny_kb: search.KnowledgeBase, text: str) -> None:
    _only_documented_errors(tiny_kb, text, "auto")


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


@pytest.mark.parametrize("damage", ["truncate", "delete", "toc-garbage"])
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
            "import sys, time; from pathlib import Path; from search import storage\n"
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
