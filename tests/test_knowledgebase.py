"""The open index across many index runs: a reader kept open for days answers as a fresh one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import search

from .conftest import make_doc
from .test_cli import kbsearch

PAGES = 20
# Enough runs for Whoosh to merge segments several times (it merges small ones at a commit).
RUNS = 40


def _page(n: int, version: int) -> str:
    return make_doc(f"Page {n}", f"Common words. Word{n}v{version} and plum{n}.")


def _answers(kb: search.KnowledgeBase, words: list[str]) -> dict[str, tuple[int, list[str]]]:
    found = {}
    for word in words:
        results = kb.search(word, limit=100)
        found[word] = (results.total, sorted(hit.id for hit in results))
    return found


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_a_reader_open_across_nightly_runs_answers_as_a_fresh_one(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "kb", tmp_path / "index"
    corpus.mkdir()
    versions = dict.fromkeys(range(PAGES), 0)
    for n in versions:
        (corpus / f"{n}.md").write_text(_page(n, 0))
    assert kbsearch("index", corpus, "--index", index_dir, "--quiet").returncode == 0
    kb = search.open_index(index_dir)
    kb.search("common")
    descriptors = _open_descriptors()
    next_page = PAGES
    for run in range(1, RUNS + 1):
        edited = sorted(versions)[run % len(versions)]
        versions[edited] = run
        (corpus / f"{edited}.md").write_text(_page(edited, run))
        if run % 3 == 0:  # a page deleted every third night, one added every night
            gone = sorted(versions)[0]
            (corpus / f"{gone}.md").unlink()
            del versions[gone]
        (corpus / f"{next_page}.md").write_text(_page(next_page, run))
        versions[next_page] = run
        next_page += 1
        ran = kbsearch("index", corpus, "--index", index_dir, "--quiet")  # as cron runs it
        assert ran.returncode == 0, ran.stderr

        words = ["common", "plum0", f"word{edited}v{run}", f"word{edited}v0", f"plum{edited}"]
        words += [f"plum{n}" for n in range(next_page - 3, next_page)]
        with search.open_index(index_dir) as fresh:
            expected = _answers(fresh, words)
            assert fresh.status().documents == len(versions)
        assert _answers(kb, words) == expected, f"after run {run}"
        assert kb.status().documents == len(versions), f"after run {run}"
        assert expected["common"][0] == len(versions)
    assert kb.get(f"{next_page - 1}.md").title == f"Page {next_page - 1}"
    with pytest.raises(search.DocumentNotFound):
        kb.get("0.md")  # deleted on the third night
    # The old segments' files are closed as the new ones are opened: no growth over the runs.
    assert _open_descriptors() <= descriptors + 4, (descriptors, _open_descriptors())
    kb.close()
