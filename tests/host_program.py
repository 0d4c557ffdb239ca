"""A program that embeds kbsearch and keeps Whoosh indexes of its own, run by test_host.py.

    python host_program.py KB_FOLDER WORK_FOLDER [--threaded]

Builds and searches a kbsearch index of KB_FOLDER (with the parallel writer and reading workers,
their thresholds lowered), checking after each public call that nothing of Whoosh, of
`sys.modules` or of `multiprocessing`'s start method changed; then writes two plain Whoosh
indexes of its own, one with one process and one with `procs=2`. Prints one JSON line: what
changed (empty lists when nothing did) and how many documents each of its indexes got.
`--threaded` keeps a second thread running throughout, as a server would.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import multiprocessing
import pkgutil
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import whoosh

HOST_DOCUMENTS = 300


def whoosh_state() -> dict[str, int]:
    """The identity of every attribute of every Whoosh module and of every class it defines."""
    state: dict[str, int] = {}
    for name, module in list(sys.modules.items()):
        if not (name == "whoosh" or name.startswith("whoosh.")) or module is None:
            continue
        for attr, value in vars(module).items():
            state[f"{name}.{attr}"] = id(value)
            if inspect.isclass(value) and value.__module__ == name:
                for member, inner in vars(value).items():
                    state[f"{name}.{attr}.{member}"] = id(inner)
    return state


def modules_state() -> dict[str, int]:
    return {name: id(module) for name, module in list(sys.modules.items())}


def changes(before: dict[str, Any], after: dict[str, Any], call: str) -> list[str]:
    """What `call` changed: an entry replaced or removed, or a module that kbsearch imports
    Whoosh without (`search.imports`) left in `sys.modules` as its stand-in."""
    from search.imports import STANDS_IN_FOR

    found = [f"{call}: {key} replaced" for key in before if after.get(key) != before[key]]
    for name in STANDS_IN_FOR:
        module = sys.modules.get(name)
        if module is not None and module.__spec__ is None:
            found.append(f"{call}: sys.modules[{name!r}] is a stand-in")
    return found


def main() -> None:
    kb_folder, work = Path(sys.argv[1]), Path(sys.argv[2])
    threaded = "--threaded" in sys.argv
    warnings.simplefilter("error", DeprecationWarning)  # fork with threads warns on 3.12+
    stop = threading.Event()
    if threaded:
        threading.Thread(target=stop.wait, daemon=True).start()
    for info in pkgutil.walk_packages(whoosh.__path__, "whoosh."):
        if not info.name.startswith("whoosh.support"):  # optional extras (e.g. Cython)
            with contextlib.suppress(ImportError):
                importlib.import_module(info.name)

    import search
    from search.kb import indexer, reading

    indexer.PARALLEL_WRITE_MIN_FILES = 10  # the multi-process writer and readers, on a few pages
    reading.PARALLEL_MIN_FILES = 10
    method = multiprocessing.get_start_method(allow_none=True)
    changed: list[str] = []
    index_dir = work / "kb-index"

    def checked(call: str, fn: Any) -> Any:
        before_whoosh, before_modules = whoosh_state(), modules_state()
        result = fn()
        changed.extend(changes(before_whoosh, whoosh_state(), call))
        changed.extend(changes(before_modules, modules_state(), call))
        if multiprocessing.get_start_method(allow_none=True) != method:
            changed.append(f"{call}: start method set")
        return result

    report = checked("update_index", lambda: search.update_index(kb_folder, index_dir, wait=True))
    kb = checked("open_index", lambda: search.open_index(index_dir))
    found = checked("search", lambda: kb.search("lantern harbour"))
    checked("search with facets", lambda: kb.search("lantern", facets=["tags"]))
    checked("get", lambda: kb.get(found.hits[0].id))
    checked("stats", kb.stats)
    (kb_folder / "late.md").write_text("---\ntitle: Late page\n---\nA lantern came late.\n")
    checked("update_index again", lambda: search.update_index(kb_folder, index_dir, wait=True))
    checked("search again", lambda: kb.search("lantern"))
    checked("check", lambda: search.check(kb_folder))
    checked("export", lambda: search.export_documents(kb_folder, work / "export.jsonl"))
    kb.close()

    # The host's own indexes, with Whoosh's stock writers.
    from whoosh import fields, index

    schema = fields.Schema(key=fields.ID(stored=True), text=fields.TEXT(stored=True))
    counts = {}
    for name, procs in (("host-one", 1), ("host-procs", 2)):
        folder = work / name
        folder.mkdir()
        ix = index.create_in(str(folder), schema)
        writer = ix.writer(procs=procs) if procs > 1 else ix.writer()
        for n in range(HOST_DOCUMENTS):
            writer.add_document(key=f"d{n}", text=f"host document number {n} about harbours")
        writer.commit()
        counts[name] = ix.doc_count()
    stop.set()
    print(
        json.dumps(
            {
                "changed": changed,
                "kb_pages": report.added,
                "kb_hits": found.total,
                "host_counts": counts,
            }
        )
    )


if __name__ == "__main__":
    main()
