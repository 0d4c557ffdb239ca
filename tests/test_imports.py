"""Whoosh imported lean: a fresh process searches without loading urllib.request or asyncio, and
every module imported later is the real one."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import whoosh.index

import search
from search.engine import storage

from .conftest import ROOT, WriteDoc, make_doc

# What Whoosh's stand-ins keep out of a search (each is loaded by one of the two real modules).
UNUSED = ("urllib.request", "cached_property", "asyncio", "http.client", "ssl", "email")


def _run(script: str, *args: str) -> dict[str, object]:
    """Run `script` in a fresh Python and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


SEARCH_THEN_IMPORT = f"""
    import json, sys, threading
    from pathlib import Path
    if sys.argv[2] == "thread":  # another thread runs while Whoosh is first imported
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True).start()
    import search
    kb = search.open_index(sys.argv[1])
    paths = [Path(hit.path).name for hit in kb.search("anemia")]
    loaded = [name for name in {UNUSED!r} if name in sys.modules]
    import cached_property, urllib.request
    print(json.dumps({{
        "paths": paths,
        "loaded": loaded,
        "urlopen": callable(getattr(urllib.request, "urlopen", None)),
        "threaded": hasattr(cached_property, "threaded_cached_property"),
    }}))
"""


def _index_with_deletions(corpus: Path, write: WriteDoc, tmp_path: Path) -> Path:
    """An index whose segment holds deleted documents: built, then one page rewritten."""
    write("a.md", make_doc("Anemia", "Anemia is a low red blood cell count."))
    write("b.md", make_doc("Fatigue", "Anemia can cause fatigue."))
    write("c.md", make_doc("Nausea", "Nausea and vomiting."))
    index_dir = tmp_path / "index"
    search.update_index(corpus, index_dir)
    write("b.md", make_doc("Fatigue", "Tiredness that rest does not relieve."))
    search.update_index(corpus, index_dir)
    generation = storage.current_generation(index_dir)
    assert generation is not None
    with whoosh.index.open_dir(str(generation)).reader() as reader:
        assert reader.has_deletions()
    return index_dir


@pytest.mark.slow
def test_a_fresh_search_loads_no_unused_module_and_later_imports_are_real(
    corpus: Path, write: WriteDoc, tmp_path: Path
) -> None:
    index_dir = _index_with_deletions(corpus, write, tmp_path)
    result = _run(SEARCH_THEN_IMPORT, str(index_dir), "alone")
    assert result["loaded"] == []
    # The deleted version of b.md is hidden (Whoosh's deleted-documents set, a cached property).
    assert result["paths"] == ["a.md"]
    assert result["urlopen"] is True
    assert result["threaded"] is True


@pytest.mark.slow
def test_with_another_thread_running_whoosh_is_imported_plainly(
    corpus: Path, write: WriteDoc, tmp_path: Path
) -> None:
    index_dir = _index_with_deletions(corpus, write, tmp_path)
    result = _run(SEARCH_THEN_IMPORT, str(index_dir), "thread")
    assert "cached_property" in result["loaded"]
    assert result["paths"] == ["a.md"]


@pytest.mark.slow
def test_the_modules_named_as_importing_whoosh_are_exactly_those_that_do() -> None:
    modules = sorted(set(search._EXPORTS.values()))
    result = _run(
        """
        import importlib, json, subprocess, sys
        found = []
        for module in sys.argv[1:]:
            code = f"import sys, search{module}; print('whoosh' in sys.modules)"
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            if out.stdout.strip() == "True":
                found.append(module)
        print(json.dumps({"found": found}))
        """,
        *modules,
    )
    assert set(result["found"]) == search._WHOOSH_MODULES  # type: ignore[arg-type]


QUERY_FROM_CLI = """
    import contextlib, io, json, sys
    from search.__main__ import main
    sys.argv = ["kbsearch", "query", "anemia", "--no-server", "--index", sys.argv[1]]
    out = io.StringIO()
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(out):
        main()
    print(json.dumps({"printed": out.getvalue(), "loaded": sorted(sys.modules)}))
"""

# What indexing and `kbsearch check` load, and a one-off query does not need.
NOT_FOR_A_QUERY = (
    "search.kb.health", "search.kb.sites", "search.kb.documents", "search.kb.dialects",
    "search.kb.reading", "search.kb.indexer", "markdown", "frontmatter", "yaml", "tomllib",
)  # fmt: skip


@pytest.mark.slow
def test_a_query_from_the_cli_loads_no_indexing_module(
    corpus: Path, write: WriteDoc, tmp_path: Path
) -> None:
    """The cold start of `kbsearch query` is its imports: none of indexing's or check's (the CLI
    offers their option choices from `kb.choices`)."""
    index_dir = _index_with_deletions(corpus, write, tmp_path)
    result = _run(QUERY_FROM_CLI, str(index_dir))
    assert "a.md" in str(result["printed"])
    loaded = set(result["loaded"])  # type: ignore[arg-type]
    assert "search.app.cli" in loaded and "search.kb.choices" in loaded
    assert sorted(loaded.intersection(NOT_FOR_A_QUERY)) == []
