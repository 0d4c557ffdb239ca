"""kbsearch as a guest in a host program that also keeps Whoosh indexes of its own: nothing of
Whoosh, of `sys.modules` or of `multiprocessing`'s start method changes, and the host's indexes,
written in the same process, read back in stock Whoosh in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HOST = Path(__file__).parent / "host_program.py"

# Reads an index with stock Whoosh only (kbsearch never imported): prints its count of
# documents and how many match `harbours`.
READ_WITH_STOCK_WHOOSH = """
import sys
from whoosh import index
from whoosh.qparser import QueryParser
ix = index.open_dir(sys.argv[1])
with ix.searcher() as s:
    found = s.search(QueryParser("text", ix.schema).parse("harbours"), limit=None)
    keys = sorted(int(hit["key"][1:]) for hit in found)
    print(ix.doc_count(), len(found), keys == list(range(len(keys))))
assert "search" not in sys.modules
"""


def _pages(folder: Path, count: int) -> Path:
    folder.mkdir()
    for n in range(count):
        tag = "light" if n % 2 else "sea"
        (folder / f"page-{n:03d}.md").write_text(
            f"---\ntitle: Page {n}\ntags: [{tag}]\n---\n# Page {n}\n\n"
            f"A lantern in harbour number {n}, with words of its own: word{n} and more.\n"
        )
    return folder


@pytest.mark.parametrize("threaded", [False, True], ids=["one thread", "threads running"])
@pytest.mark.slow
def test_a_host_program_keeps_whoosh_and_its_own_indexes_as_they_were(
    tmp_path: Path, threaded: bool
) -> None:
    kb = _pages(tmp_path / "kb", 40)
    command = [sys.executable, str(HOST), str(kb), str(tmp_path)] + (["--threaded"] * threaded)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["changed"] == []
    assert result["kb_pages"] == 40 and result["kb_hits"] == 40
    assert result["host_counts"] == {"host-one": 300, "host-procs": 300}
    for name in ("host-one", "host-procs"):
        read = subprocess.run(
            [sys.executable, "-c", READ_WITH_STOCK_WHOOSH, str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert read.returncode == 0, read.stderr
        assert read.stdout.split() == ["300", "300", "True"], name
