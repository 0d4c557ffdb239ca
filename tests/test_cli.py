"""The CLI, through click's CliRunner and as a real subprocess: output shapes and exit codes."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import search
from search.app import output
from search.app.cli import main

from .conftest import ROOT, SEED_COUNT, SEED_DOC, SEEDS, WriteDoc, make_doc


def kbsearch(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m search` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "search", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "", **(env or {})},
        timeout=300,
    )


def run(*args: str | Path) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.slow
def test_index_then_query_finds_the_seed_page_first(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    built = kbsearch("index", "--index", index_dir)
    assert built.returncode == 0, built.stderr
    assert f"{SEED_COUNT} added" in built.stdout and "0 skipped" in built.stdout

    found = kbsearch("query", "luspatercept", "--json", "--index", index_dir)
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert data["total"] >= 1
    first = data["hits"][0]
    assert first["id"] == SEED_DOC
    assert Path(first["path"]) == SEEDS / SEED_DOC
    assert "<mark>Luspatercept</mark>" in first["snippet"]
    assert first["metadata"]["tags"] == ["treatment"]
    assert set(first) >= {"path", "title", "score", "snippet", "metadata"}

    again = kbsearch("index", "--json", "--index", index_dir)
    assert again.returncode == 0
    assert json.loads(again.stdout) == {
        "added": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": SEED_COUNT,
        "kept": 0,
        "left_out": 0,
        "site": "plain folder",
        "skipped": [],
    }


@pytest.mark.slow
def test_index_reads_kbsearch_index_from_the_environment(
    write: WriteDoc, corpus: Path, tmp_path: Path
) -> None:
    write("a.md", make_doc("Alpha", "apples"))
    env = {"KBSEARCH_INDEX": str(tmp_path / "envindex")}
    assert kbsearch("index", corpus, env=env).returncode == 0
    assert kbsearch("query", "apples", "--format", "paths", env=env).stdout.strip().endswith("a.md")


@pytest.mark.slow
def test_skipped_documents_exit_1_and_are_reported(
    write: WriteDoc, corpus: Path, index_dir: Path
) -> None:
    write("good.md", make_doc("Good", "fine"))
    bad = write("bad.md", "---\ntitle: [broken\n---\n")
    result = run("index", corpus, "--index", index_dir, "--json")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert report["added"] == 1
    assert report["skipped"][0]["path"] == str(bad)
    assert "invalid YAML" in report["skipped"][0]["reason"]

    plain = kbsearch("index", corpus, "--index", index_dir, "--full")
    assert plain.returncode == 1
    assert f"{bad}: invalid YAML" in plain.stderr
    assert "Traceback" not in plain.stderr


def test_strict_flag_fails_the_run(write: WriteDoc, corpus: Path, index_dir: Path) -> None:
    write("good.md", make_doc("Good", "fine"))
    write("bad.md", b"\x00binary")
    result = kbsearch("index", corpus, "--index", index_dir, "--strict")
    assert result.returncode == 1
    assert "index left unchanged" in result.stderr
    assert not (index_dir / "CURRENT").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("index", tmp_path / "missing", "--index", tmp_path / "i").exit_code == 2  # type: ignore[attr-defined]
    assert run("query", "--limit", "x").exit_code == 2  # type: ignore[attr-defined]
    assert run("bogus").exit_code == 2  # type: ignore[attr-defined]


def test_query_without_an_index_says_how_to_build_it(tmp_path: Path) -> None:
    result = kbsearch("query", "anything", "--index", tmp_path / "none")
    assert result.returncode == 2
    assert "kbsearch index" in result.stderr
    assert "Traceback" not in result.stderr


def test_query_exit_codes_like_grep(seed_index: Path) -> None:
    assert run("query", "luspatercept", "--index", seed_index).exit_code == 0  # type: ignore[attr-defined]
    nothing = run("query", "xyzzyplugh", "--index", seed_index)
    assert nothing.exit_code == 1  # type: ignore[attr-defined]
    assert "no results" in nothing.output  # type: ignore[attr-defined]


def test_query_table_output_and_no_colour_when_piped(seed_index: Path) -> None:
    result = kbsearch("query", "anemia transfusion", "--index", seed_index, "--limit", "3")
    assert result.returncode == 0
    assert "\x1b[" not in result.stdout
    assert "result(s), showing 1-3" in result.stdout
    assert result.stdout.count("score ") == 3


def test_colour_on_a_terminal_unless_no_color(seed_index: Path) -> None:
    coloured = CliRunner().invoke(
        main, ["query", "luspatercept", "--index", str(seed_index)], color=True
    )
    assert "\x1b[" in coloured.output
    plain = CliRunner(env={"NO_COLOR": "1"}).invoke(
        main, ["query", "luspatercept", "--index", str(seed_index)], color=True
    )
    assert "\x1b[" not in plain.output


def hold_lock(index_dir: Path, seconds: float) -> subprocess.Popen[str]:
    """Another real process that holds the writer lock of `index_dir` for a while."""
    code = (
        "import sys, time; from pathlib import Path; from search.engine import storage\n"
        "with storage.writer_lock(Path(sys.argv[1])):\n"
        "    print('locked', flush=True); time.sleep(float(sys.argv[2]))\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(index_dir), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.slow
def test_second_writer_exits_75_or_waits(write: WriteDoc, corpus: Path, index_dir: Path) -> None:
    write("a.md", make_doc("Alpha", "apples"))
    holder = hold_lock(index_dir, 3)
    try:
        busy = kbsearch("index", corpus, "--index", index_dir)
        assert busy.returncode == 75
        assert "another kbsearch process is writing" in busy.stderr
        assert "Traceback" not in busy.stderr
        started = time.monotonic()
        waited = kbsearch("index", corpus, "--index", index_dir, "--wait")
        assert waited.returncode == 0, waited.stderr
        assert holder.poll() is not None  # it only got in after the holder let go
        assert time.monotonic() - started > 0.5
    finally:
        holder.kill()
        holder.wait()
    assert "1 unchanged" in kbsearch("index", corpus, "--index", index_dir).stdout


@pytest.mark.parametrize("output", ["json", "jsonl", "paths", "html", "plain", "table"])
def test_every_output_format_runs(seed_index: Path, output: str) -> None:
    result = run("query", "luspatercept", "--index", seed_index, "--format", output)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    text = result.output  # type: ignore[attr-defined]
    if output == "json":
        assert json.loads(text)["hits"][0]["id"] == SEED_DOC
    elif output == "jsonl":
        assert json.loads(text.splitlines()[0])["id"] == SEED_DOC
    elif output == "paths":
        assert text.splitlines()[0] == str(SEEDS / SEED_DOC)
    elif output == "html":
        assert "<mark>Luspatercept</mark>" in text
    else:
        assert "Luspatercept-aamt - NCI" in text


def test_python_dash_m_and_version() -> None:
    result = kbsearch("--version")
    assert result.returncode == 0 and "kbsearch" in result.stdout


def test_query_options_reach_the_library(seed_index: Path) -> None:
    ix = ["--index", str(seed_index)]
    tagged = run("query", "cancer", "--tag", "genetics", "--json", "--facets", "tags,source", *ix)
    data = json.loads(tagged.output)  # type: ignore[attr-defined]
    assert data["total"] == data["facets"]["tags"]["genetics"] > 0
    assert all(hit["metadata"]["tags"] == ["genetics"] for hit in data["hits"])

    filtered = run(
        "query",
        "cancer",
        "-f",
        "cancerTypes=breast",
        "-f",
        "audienceLevel=patient",
        "--format",
        "jsonl",
        "-n",
        "50",
        *ix,
    )
    rows = [json.loads(line) for line in filtered.output.splitlines()]  # type: ignore[attr-defined]
    assert rows and all("breast" in r["metadata"]["cancerTypes"] for r in rows)
    assert all(r["metadata"]["audienceLevel"] == "patient" for r in rows)

    newest = run("query", "cancer", "--sort", "-lastReviewed", "--json", "-n", "20", *ix)
    dates = [h["metadata"]["lastReviewed"] for h in json.loads(newest.output)["hits"]]  # type: ignore[attr-defined]
    assert dates == sorted(dates, reverse=True)

    page2 = json.loads(run("query", "cancer", "--json", "-n", "5", "--page", "2", *ix).output)  # type: ignore[attr-defined]
    assert page2["offset"] == 5 and len(page2["hits"]) == 5

    since = json.loads(run("query", "cancer", "--since", "2025-01-01", "--json", *ix).output)  # type: ignore[attr-defined]
    assert all(h["metadata"]["lastReviewed"] >= "2025-01-01" for h in since["hits"])

    question = "what are the side effects of radiation for breast cancer".split()
    ranked = [
        [h["id"] for h in json.loads(run("query", *question, *flag, "--json", *ix).output)["hits"]]  # type: ignore[attr-defined]
        for flag in ([], ["--no-feedback"])
    ]
    assert ranked[0] != ranked[1]  # feedback re-ranks long questions; the flag turns it off

    bad_date = run("query", "cancer", "--until", "yesterday", *ix)
    assert bad_date.exit_code == 2 and "not a date" in bad_date.output  # type: ignore[attr-defined]
    bad_filter = run("query", "cancer", "--filter", "novalue", *ix)
    assert bad_filter.exit_code == 2  # type: ignore[attr-defined]


def test_did_you_mean_and_fix_on_the_command_line(seed_index: Path) -> None:
    ix = ["--index", str(seed_index)]
    suggested = run("query", "luspatersept", *ix)
    assert "Did you mean: luspatercept" in suggested.output  # type: ignore[attr-defined]
    assert suggested.exit_code == 0  # the typo fallback found the page anyway  # type: ignore[attr-defined]
    fixed = run("query", "luspatersept", "--fix", "--format", "plain", *ix)
    assert fixed.exit_code == 0  # type: ignore[attr-defined]
    assert "Searched for: luspatercept" in fixed.output  # type: ignore[attr-defined]
    assert "Luspatercept-aamt - NCI" in fixed.output  # type: ignore[attr-defined]


def test_show_similar_and_stats_commands(seed_index: Path) -> None:
    ix = ["--index", str(seed_index)]
    shown = run("show", SEED_DOC, "--json", *ix)
    assert json.loads(shown.output)["title"] == "Luspatercept-aamt - NCI"  # type: ignore[attr-defined]
    assert run("show", "missing.md", *ix).exit_code == 2  # type: ignore[attr-defined]
    similar = run("similar", SEED_DOC, "--format", "paths", "-n", "3", *ix)
    assert similar.exit_code == 0 and len(similar.output.splitlines()) == 3  # type: ignore[attr-defined]
    stats = run("stats", *ix)
    assert f"documents:    {SEED_COUNT}" in stats.output  # type: ignore[attr-defined]
    assert json.loads(run("stats", "--json", *ix).output)["documents"] == SEED_COUNT  # type: ignore[attr-defined]


def test_bad_query_syntax_is_a_message_not_a_traceback(seed_index: Path) -> None:
    result = kbsearch("query", "lastReviewed:[soon TO later]", "--index", seed_index)
    assert result.returncode == 2
    assert result.stderr.startswith("kbsearch: cannot read the query")
    assert "Traceback" not in result.stderr


def quick_benchmark(script: str) -> str:
    """What a benchmark script prints with `--quick`, after checking it ran to the end."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_benchmark_quick_smoke() -> None:
    """The benchmark script runs end to end (figures are for people: nothing asserted)."""
    stdout = quick_benchmark("run.py")
    assert "full build" in stdout and "warm query 3-word p50" in stdout


@pytest.mark.slow
def test_real_corpora_benchmark_quick_smoke() -> None:
    """The real-corpora benchmark runs end to end on the copies in tests/realkb, with tantivy
    beside FTS5 when the bench extra is installed and bare Whoosh always (figures are for
    people: nothing asserted)."""
    stdout = quick_benchmark("realspeed.py")
    rows = {line.split("  ")[0].strip(): line for line in stdout.splitlines()}
    for name in ("tldr", "docsy"):
        assert f"{name}: pages" in rows
    assert "warm other languages p50, with snippets (ms)" in rows
    assert "Whoosh alone/FTS5" in rows["measure"]
    for measure in (
        "full build (s)",
        "warm phrase p50, with snippets (ms)",
        "cold one-off query (ms)",
    ):
        assert len(re.findall(r"\d+\.\d+x", rows[measure])) == 2, measure  # both ratios
    if importlib.util.find_spec("tantivy") is not None:
        assert "—" not in rows["full build (s)"]


@pytest.mark.slow
def test_markdown_parsers_benchmark_quick_smoke() -> None:
    """The read-path benchmark runs end to end on each real set, with the parsers it compares
    when the bench extra is installed (figures are for people: nothing asserted)."""
    if importlib.util.find_spec("mistune") is None:
        pytest.skip("the bench extra is not installed")
    stdout = quick_benchmark("parsers.py")
    for name in ("tldr", "docsy", "mkdocs", "jekyll"):
        assert re.search(rf"^\| {name}: pages [1-9]\d* \|", stdout, re.MULTILINE), name
    assert stdout.count("|   markdown-it-py render |") == 4


# ------------------------------------------------------------ nothing raw reaches a terminal

# What steers a terminal: clear the screen, set the window title, an OSC 8 link, an OSC 52
# clipboard write, a C1 CSI, a backspace, a bell, a carriage return.
STEERING = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\"
STEERING += "\x1b]52;c;ZXZpbA==\x07\x9b31m\x08\x07\r"
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.slow
def test_nothing_from_a_document_steers_the_terminal(tmp_path: Path) -> None:
    folder, index_dir = tmp_path / "kb", tmp_path / "index"
    folder.mkdir()
    title = f"Zebra {STEERING} stripes"
    (folder / "evil.md").write_text(
        f"---\ntitle: {json.dumps(title)}\ntags: [{json.dumps('tag' + STEERING)}]\n---\n\n"
        f"# Heading {STEERING}\n\nA zebra {STEERING} has stripes.\n"
    )
    (folder / "name\x1b]0;x\x07.md").write_text(make_doc("Zebra name", "A zebra too."))
    (folder / "a\nkbsearch: all good.md").write_text("---\ntitle: [unclosed\n---\nzebra\n")
    indexed = kbsearch("index", folder, "--index", index_dir, env={"NO_COLOR": "1"})
    assert indexed.returncode == 1
    runs = [
        indexed,
        kbsearch("query", "zebra", "--index", index_dir, "--facets", "tags", "--no-server"),
        kbsearch("query", "zebra", "--index", index_dir, "--plain", "--no-server"),
        kbsearch("query", "zebra", "--index", index_dir, "--format", "paths", "--no-server"),
        kbsearch("show", "evil.md", "--index", index_dir),
        kbsearch("check", folder),
        kbsearch("stats", "--index", index_dir),
    ]
    for run in runs:
        for stream in (run.stdout, run.stderr):
            assert not FORBIDDEN.findall(stream.replace("\n", "")), (run.args, stream)
            assert not any(line.startswith("kbsearch: all good") for line in stream.splitlines())
    assert "\\x1b]0;pwned\\x07" in runs[1].stdout  # shown, escaped
    assert '"' + str(folder) + '/a\\x0akbsearch: all good.md"' in indexed.stderr  # quoted
    exact = kbsearch("query", "zebra", "--index", index_dir, "--json", "--no-server")
    titles = {hit["title"] for hit in json.loads(exact.stdout)["hits"]}
    assert title in titles  # --json stays exact


@pytest.mark.slow
def test_the_coloured_table_has_no_escapes_but_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "evil.md").write_text(
        make_doc(json.dumps(f"Zebra {STEERING}"), f"A zebra {STEERING} has stripes.")
    )
    search.update_index(folder, tmp_path / "index")
    with search.open_index(tmp_path / "index") as kb:
        table = output.results_text(kb.search("zebra"), "table")
    for style in (output.MATCH, output.TITLE, output.TITLE_MATCH, output.DIM, output.RESET):
        table = table.replace(style, "")
    assert "\\x1b[2J" in table and not FORBIDDEN.findall(table.replace("\n", ""))
