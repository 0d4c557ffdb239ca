"""Indexing: incremental add/update/delete, no-op runs, full rebuild swap, strictness, scanning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

import search
from search.engine import blocks, storage, termpool
from search.kb import indexer, sources
from search.kb.sources import scan_source

from .conftest import ROOT, WriteDoc, make_doc, without_privileges, write_generated_pages


def index_files(index_dir: Path) -> dict[str, int]:
    """Every file of the index folder with its mtime: to prove a run touched nothing."""
    return {
        str(p.relative_to(index_dir)): p.stat().st_mtime_ns
        for p in index_dir.rglob("*")
        if p.is_file() and p.name != storage.LOCK_FILE
    }


def titles(index_dir: Path, query: str) -> list[str]:
    with search.open_index(index_dir) as kb:
        return [hit.title for hit in kb.search(query, limit=50)]


def test_first_run_builds_and_second_run_changes_nothing(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("a.md", make_doc("Alpha", "apples"))
    write("sub/b.md", make_doc("Beta", "bananas"))
    first = search.update_index(corpus, index_dir)
    assert (first.added, first.full, first.ok) == (2, True, True)
    before = index_files(index_dir)
    second = search.update_index(corpus, index_dir)
    assert second.to_dict() == {
        "added": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 2,
        "kept": 0,
        "left_out": 0,
        "site": "plain folder",
        "skipped": [],
    }
    assert index_files(index_dir) == before


def test_incremental_add_update_delete_in_one_run(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("keep.md", make_doc("Keep", "constant"))
    write("change.md", make_doc("Change", "old words"))
    gone = write("gone.md", make_doc("Gone", "vanishing"))
    search.update_index(corpus, index_dir)
    generation = storage.current_generation(index_dir)

    changed = write("change.md", make_doc("Change", "fresh words"))
    os.utime(changed, ns=(1, changed.stat().st_mtime_ns + 10**9))
    gone.unlink()
    write("new.md", make_doc("New", "newcomer"))
    report = search.update_index(corpus, index_dir)

    assert (report.added, report.updated, report.deleted, report.unchanged) == (1, 1, 1, 1)
    assert not report.full
    assert storage.current_generation(index_dir) == generation  # updated in place, no rebuild
    assert titles(index_dir, "fresh") == ["Change"]
    assert titles(index_dir, "old") == []
    assert titles(index_dir, "vanishing") == []
    assert titles(index_dir, "newcomer") == ["New"]


def test_touched_but_identical_file_counts_as_unchanged(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    path = write("a.md", make_doc("Alpha", "apples"))
    search.update_index(corpus, index_dir)
    os.utime(path, ns=(1, path.stat().st_mtime_ns + 5 * 10**9))
    report = search.update_index(corpus, index_dir)
    assert (report.unchanged, report.updated) == (1, 0)
    # its fingerprint was refreshed, so the next run does not even read it
    before = index_files(index_dir)
    assert search.update_index(corpus, index_dir).unchanged == 1
    assert index_files(index_dir) == before


def test_bad_document_is_skipped_and_the_rest_indexed(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("good.md", make_doc("Good", "fine text"))
    bad = write("bad.md", "---\ntitle: [oops\n---\nbody\n")
    report = search.update_index(corpus, index_dir)
    assert report.added == 1
    assert [(s.path, "invalid YAML" in s.reason) for s in report.skipped] == [(str(bad), True)]
    assert titles(index_dir, "fine") == ["Good"]


def test_a_document_that_turns_bad_leaves_the_index(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    path = write("page.md", make_doc("Page", "zebra"))
    search.update_index(corpus, index_dir)
    path.write_bytes(b"\x00\x01binary now")
    report = search.update_index(corpus, index_dir)
    assert len(report.skipped) == 1 and "binary" in report.skipped[0].reason
    assert titles(index_dir, "zebra") == []


def test_full_rebuild_swaps_generation_and_cleans_up(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("a.md", make_doc("Alpha", "apples"))
    search.update_index(corpus, index_dir)
    first = storage.current_generation(index_dir)
    kb = search.open_index(index_dir)  # a long-running reader, open across the swap
    assert [h.title for h in kb.search("apples")] == ["Alpha"]

    write("b.md", make_doc("Beta", "apples too"))
    report = search.update_index(corpus, index_dir, full=True)
    second = storage.current_generation(index_dir)
    assert report.full and report.added == 2
    assert second is not None and second != first
    assert sorted(h.title for h in kb.search("apples")) == ["Alpha", "Beta"]  # sees the swap

    search.update_index(corpus, index_dir, full=True)
    generations = sorted(p.name for p in index_dir.glob(storage.GENERATION_PREFIX + "*"))
    assert len(generations) == 2  # the live one and the one before it, no more
    assert first is not None and first.name not in generations
    kb.close()


def test_unfinished_build_litter_is_removed_by_the_next_run(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("a.md", make_doc("Alpha", "apples"))
    search.update_index(corpus, index_dir)
    litter = storage.new_generation(index_dir)
    (litter / "junk").write_text("half a segment")
    search.update_index(corpus, index_dir)
    assert not litter.exists()
    assert titles(index_dir, "apples") == ["Alpha"]


def test_strict_mode_leaves_the_index_unchanged(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("a.md", make_doc("Alpha", "apples"))
    search.update_index(corpus, index_dir)
    before = index_files(index_dir)
    write("b.md", make_doc("Beta", "bananas"))
    write("bad.md", b"\xff\xfe\x00")
    with pytest.raises(search.StrictModeError, match=r"bad\.md"):
        search.update_index(corpus, index_dir, strict=True)
    assert index_files(index_dir) == before
    with pytest.raises(search.StrictModeError):
        search.update_index(corpus, index_dir, strict=True, full=True)
    assert titles(index_dir, "bananas") == []


def test_scan_follows_the_rules_for_what_is_a_document(write: WriteDoc, corpus: Path) -> None:
    for name in [
        "a.md",
        "b.markdown",
        "c.txt",
        "README.md",
        "README.txt",
        "LICENSE.md",
        ".hidden.md",
        ".git/x.md",
        "sub/d.md",
        "notes.rst",
        "image.png",
    ]:
        write(name, make_doc(name))
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    found, problems = scan_source(corpus)
    assert [f.id for f in found] == ["a.md", "b.markdown", "c.txt", "sub/d.md"]
    assert problems == []
    only_md, _ = scan_source(corpus, include=["*.md"], exclude=["README*", "LICENSE*", "sub/*"])
    assert [f.id for f in only_md] == ["a.md"]


@pytest.mark.slow
def test_a_scan_holds_a_few_bytes_a_file(tmp_path: Path) -> None:
    """A build holds its scan throughout and forks it into every worker: no object per file."""
    import gc
    import tracemalloc

    folder = tmp_path / "many"
    for n in range(5_000):
        sub = folder / f"part{n % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"page-{n:05d}.md").write_text("# Page\n")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        found, _ = scan_source(folder)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(found) == 5_000
    assert held / len(found) < 80, f"{held / len(found):.0f} bytes a file"
    # Each file is still there, sorted by id, with its path and what stat says.
    assert [f.id for f in found[:2]] == ["part0/page-00000.md", "part0/page-00010.md"]
    last = found[-1]
    assert last.id == "part9/page-04999.md"
    assert last.path == folder / "part9" / "page-04999.md"
    assert (last.size, last.mtime_ns) == (last.path.stat().st_size, last.path.stat().st_mtime_ns)
    assert [f.id for f in found] == sorted(f.id for f in found)


def test_missing_source_folder_is_a_clear_error(tmp_path: Path, index_dir: Path) -> None:
    with pytest.raises(search.SourceNotFound, match="not a folder"):
        search.update_index(tmp_path / "nope", index_dir)


def test_index_of_another_schema_version_is_rebuilt(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("a.md", make_doc("Alpha", "apples"))
    search.update_index(corpus, index_dir)
    generation = storage.current_generation(index_dir)
    assert generation is not None
    storage.write_meta(generation, {"schema_version": -1})
    with pytest.raises(search.IndexOutdated, match="kbsearch index"):
        search.open_index(index_dir)  # searching it says what to do, instead of failing oddly
    report = search.update_index(corpus, index_dir)
    assert report.full and report.added == 1
    with search.open_index(index_dir) as kb:
        assert kb.search("apples").total == 1


def _block_layouts(kb: search.KnowledgeBase) -> set[tuple[int, int]]:
    """The layout mark and what the values hold (positions, flat) of the first posting block of
    each segment's most common body word."""
    found = set()
    for leaf, _ in kb._fresh_searcher().leaf_searchers():
        reader = leaf.reader()
        (_, word), *_ = reader.most_frequent_terms("body", 1)
        matcher = reader.postings("body", word)
        matcher._read_data()
        packed = matcher._data[2]
        assert packed.flat() is not None
        found.add((matcher._compression, packed.kind))
    return found


@pytest.mark.slow
def test_parallel_writers_build_the_same_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: int
) -> None:
    pages = write_generated_pages(tmp_path / "kb", count=240)  # a job file of 100 a writer
    serial = search.update_index(pages, tmp_path / "serial")
    monkeypatch.setattr(indexer, "PARALLEL_WRITE_MIN_FILES", 1)
    monkeypatch.setattr(indexer, "WRITERS", 2)
    parallel = search.update_index(pages, tmp_path / "parallel")
    assert parallel.added == serial.added > 0
    with (
        search.open_index(tmp_path / "serial") as one,
        search.open_index(tmp_path / "parallel") as two,
    ):
        assert len(two._fresh_searcher().leaf_searchers()) > 1  # one segment per writer
        assert _block_layouts(one) == _block_layouts(two) == {(blocks.SPLIT, blocks.POSITIONS)}
        for text in ("anemia therapy", '"bone marrow"', "chemo*", "lung NOT screening"):
            a, b = one.search(text), two.search(text)
            assert a.total == b.total > 0, text
            assert [(h.id, round(h.score, 9)) for h in a] == [(h.id, round(h.score, 9)) for h in b]


def _all_postings(index_dir: Path) -> list[tuple[object, ...]]:
    with search.open_index(index_dir) as kb:
        return [
            p
            for leaf, _ in kb._fresh_searcher().leaf_searchers()
            for p in leaf.reader().iter_postings()
        ]


@pytest.mark.slow
def test_a_build_that_spills_sort_runs_writes_the_same_postings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: int
) -> None:
    pages = write_generated_pages(tmp_path / "kb")
    search.update_index(pages, tmp_path / "in-memory")
    runs: list[int] = []
    write_run = termpool.TermPostingPool._write_run

    def counted(self: termpool.TermPostingPool, terms: object) -> None:
        runs.append(len(self.runs))
        write_run(self, terms)

    monkeypatch.setattr(termpool.TermPostingPool, "_write_run", counted)
    # A pool of 10 kB spills more runs than are merged at once (4 here), so the oldest runs
    # are also merged into runs first.
    monkeypatch.setattr(indexer, "WRITER_LIMIT_MB", 0.01)
    monkeypatch.setattr(termpool, "MAX_OPEN_RUNS", 4)
    search.update_index(pages, tmp_path / "spilled")
    assert len(runs) > 12 and 0 in runs[4:]  # spilled, then runs merged into a first run
    spilled = _all_postings(tmp_path / "spilled")
    assert len(spilled) > 3_000
    assert spilled == _all_postings(tmp_path / "in-memory")


def _lengths(index_dir: Path) -> list[tuple[str, int, int]]:
    """Each field's length in each document of each segment."""
    with search.open_index(index_dir) as kb:
        return [
            (name, docnum, reader.doc_field_length(docnum, name, 0) or 0)
            for leaf, _ in kb._fresh_searcher().leaf_searchers()
            for reader in [leaf.reader()]
            for name in reader.schema.scorable_names()
            for docnum in range(reader.doc_count_all())
        ]


@pytest.mark.slow
def test_fields_handed_to_the_pool_whole_write_what_posting_by_posting_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: int
) -> None:
    """An analysed field reaches the term pool as one item (Whoosh's writer loop sees its
    length as one frequency); posting by posting, as Whoosh's own pool takes it, the index is
    the same: postings, weights, positions and every field length."""
    whole: list[int] = []
    add_whole = termpool.TermPostingPool._add_whole

    def counted(self: termpool.TermPostingPool, *args: Any) -> None:
        whole.append(1)
        add_whole(self, *args)

    pages = write_generated_pages(tmp_path / "kb")
    monkeypatch.setattr(termpool.TermPostingPool, "_add_whole", counted)
    search.update_index(pages, tmp_path / "whole")
    assert len(whole) > 200
    monkeypatch.setattr(termpool.TermPostingPool, "takes_whole_fields", False)
    whole.clear()
    search.update_index(pages, tmp_path / "posting by posting")
    assert not whole
    assert _all_postings(tmp_path / "whole") == _all_postings(tmp_path / "posting by posting")
    lengths = _lengths(tmp_path / "whole")
    assert sum(length for *_, length in lengths) > 5_000
    assert lengths == _lengths(tmp_path / "posting by posting")


@pytest.mark.slow
def test_a_dead_writer_process_fails_the_build_and_keeps_the_index(
    seed_copy: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    search.update_index(seed_copy, index_dir)
    before = storage.current_generation(index_dir)
    monkeypatch.setattr(indexer, "PARALLEL_WRITE_MIN_FILES", 1)
    monkeypatch.setattr(indexer, "WRITERS", 2)
    monkeypatch.setattr(indexer._SubWriter, "run", lambda self: os._exit(3))
    with pytest.raises(search.BuildFailed):
        search.update_index(seed_copy, index_dir, full=True)
    assert storage.current_generation(index_dir) == before
    assert [p for p in index_dir.iterdir() if p.name.startswith("gen-")] == [before]
    with search.open_index(index_dir) as kb:
        assert kb.search("anemia").total > 0


# ------------------------------------------------------- no run deletes what it could not see


def _kbsearch_bytes(
    *args: str | Path, prefix: Sequence[str] = ()
) -> subprocess.CompletedProcess[bytes]:
    """`kbsearch ARGS` as a real process, its output kept as bytes (to check they are UTF-8)."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "search", *map(str, args)],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=300,
    )


def _pages(corpus: Path, names: Iterable[str]) -> None:
    for name in names:
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(make_doc(name.title(), f"Common words of {name}."))


def _indexed(index_dir: Path) -> set[str]:
    with search.open_index(index_dir) as kb:
        return {hit.id for hit in kb.search("common", limit=100)}


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.slow
def test_an_empty_source_folder_keeps_the_index(tmp_path: Path, full: bool) -> None:
    corpus, empty, index_dir = tmp_path / "kb", tmp_path / "empty", tmp_path / "index"
    _pages(corpus, ["a.md", "b.md", "sub/c.md"])
    empty.mkdir()
    assert search.update_index(corpus, index_dir).added == 3
    refused = _kbsearch_bytes("index", empty, "--index", index_dir, "--quiet", *["--full"] * full)
    assert refused.returncode == 2, refused.stderr
    message = refused.stderr.decode()
    assert "holds no documents" in message and "--allow-mass-delete" in message
    assert "Traceback" not in message
    assert _indexed(index_dir) == {"a.md", "b.md", "sub/c.md"}
    told = _kbsearch_bytes(
        "index", empty, "--index", index_dir, "--allow-mass-delete", *["--full"] * full
    )
    assert told.returncode == 0, told.stderr
    assert _indexed(index_dir) == set()


def test_a_run_that_would_delete_most_pages_refuses_unless_told(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "kb", tmp_path / "index"
    _pages(corpus, ["a.md", "b.md", "c.md", "d.md"])
    search.update_index(corpus, index_dir)
    (corpus / "a.md").unlink()
    (corpus / "b.md").unlink()  # half the pages: allowed
    assert search.update_index(corpus, index_dir).deleted == 2
    _pages(corpus, ["a.md", "b.md"])
    search.update_index(corpus, index_dir)
    for name in ("a.md", "b.md", "c.md"):
        (corpus / name).unlink()
    with pytest.raises(search.DeletionRefused, match="3 of the index's 4 pages"):
        search.update_index(corpus, index_dir)
    with pytest.raises(search.DeletionRefused):
        search.update_index(corpus, index_dir, full=True)
    assert _indexed(index_dir) == {"a.md", "b.md", "c.md", "d.md"}
    report = search.update_index(corpus, index_dir, allow_mass_delete=True)
    assert report.deleted == 3 and _indexed(index_dir) == {"d.md"}
    # Pages moved to other paths (the folder reorganised) are deleted and added back: no refusal.
    _pages(corpus, ["a.md", "b.md", "c.md"])
    search.update_index(corpus, index_dir)
    for name in ("a.md", "b.md", "c.md", "d.md"):
        (corpus / name).rename(corpus / f"moved-{name}")
    moved = search.update_index(corpus, index_dir)
    assert (moved.deleted, moved.added) == (4, 4)


@pytest.mark.slow
def test_a_folder_that_cannot_be_listed_keeps_its_pages(tmp_path: Path) -> None:
    prefix = without_privileges()
    corpus, index_dir = tmp_path / "kb", tmp_path / "index"
    _pages(corpus, ["a.md", "b.md", "private/c.md", "private/d.md"])
    assert search.update_index(corpus, index_dir).added == 4
    (corpus / "b.md").write_text(make_doc("B", "Common words, edited."))
    (corpus / "private").chmod(0)
    try:
        ran = _kbsearch_bytes("index", corpus, "--index", index_dir, "--json", prefix=prefix)
        checked = _kbsearch_bytes("check", corpus, "--json", prefix=prefix)
        full = _kbsearch_bytes("index", corpus, "--index", index_dir, "--full", prefix=prefix)
    finally:
        (corpus / "private").chmod(0o755)
    assert ran.returncode == 1, ran.stderr  # reported as skipped; the rest is committed
    report = json.loads(ran.stdout)
    assert (report["deleted"], report["updated"], report["kept"]) == (0, 1, 2)
    assert [(Path(s["path"]).name, s["reason"]) for s in report["skipped"]] == [
        ("private", "cannot be listed: Permission denied; the pages indexed under it are kept")
    ]
    assert _indexed(index_dir) == {"a.md", "b.md", "private/c.md", "private/d.md"}
    problems = json.loads(checked.stdout)["problems"]
    assert checked.returncode == 1 and [
        p["message"] for p in problems if p["kind"] == "invalid"
    ] == ["cannot be listed: Permission denied"]
    assert full.returncode == 2 and b"a rebuild would drop the 2 page(s)" in full.stderr
    assert _indexed(index_dir) == {"a.md", "b.md", "private/c.md", "private/d.md"}


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_is_skipped_and_the_rest_indexed(tmp_path: Path) -> None:
    corpus, index_dir = tmp_path / "kb", tmp_path / "index"
    _pages(corpus, ["a.md", "b.md"])
    latin1 = os.fsencode(corpus) + b"/caf\xe9.md"
    with open(latin1, "w") as handle:
        handle.write(make_doc("Cafe", "Common words."))
    os.mkdir(os.fsencode(corpus) + b"/d\xe9j\xe0")
    with open(os.fsencode(corpus) + b"/d\xe9j\xe0/inner.md", "w") as handle:
        handle.write(make_doc("Inner", "Common words."))
    for full in ([], ["--full"], []):
        (corpus / "b.md").write_text(make_doc("B", f"Common words, version {len(full)}."))
        ran = _kbsearch_bytes("index", corpus, "--index", index_dir, "--json", *full)
        assert ran.returncode == 1, ran.stderr
        report = json.loads(ran.stdout.decode("utf-8"))  # strict: valid UTF-8
        assert sorted((s["path"].rsplit("/", 1)[1], s["reason"]) for s in report["skipped"]) == [
            ("caf\\xe9.md", sources.NOT_UTF8),
            ("d\\xe9j\\xe0", sources.NOT_UTF8),
        ]
        assert _indexed(index_dir) == {"a.md", "b.md"}
    shown = _kbsearch_bytes("index", corpus, "--index", index_dir)
    assert b"caf\\xe9.md" in shown.stderr and b"Traceback" not in shown.stderr
    checked = _kbsearch_bytes("check", corpus, "--json")
    invalid = json.loads(checked.stdout.decode("utf-8"))["problems"]
    assert any(p["path"].endswith("/caf\\xe9.md") for p in invalid)
    exported = _kbsearch_bytes("export", corpus, "--output", tmp_path / "out.jsonl")
    assert exported.returncode == 1, exported.stderr
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["a.md", "b.md"]
