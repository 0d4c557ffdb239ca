"""The index folder on disk: generations, the CURRENT pointer, the writer lock, and litter.

An index folder holds one or more generation folders (`gen-*`), each a complete Whoosh index, and a
`CURRENT` file naming the live one. Incremental updates commit inside the live generation (Whoosh's
own commit is an atomic rename of its table of contents); a full rebuild writes a new generation
beside it and swaps `CURRENT` with an atomic rename, so a reader always finds a complete index.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexCorrupt, IndexLocked, IndexWriteError

if TYPE_CHECKING:  # Whoosh is imported when an index is opened: the query client needs paths only
    from whoosh.index import Index

CURRENT_FILE = "CURRENT"
LOCK_FILE = "kbsearch.lock"
META_FILE = "kbsearch.json"
GENERATION_PREFIX = "gen-"
BUILDING_SUFFIX = ".building"
# How often a waiting writer retries the lock; short enough to feel immediate.
LOCK_POLL_SECONDS = 0.1
INDEX_ENV = "KBSEARCH_INDEX"
DEFAULT_INDEX_DIR = "index"


def default_index_dir() -> Path:
    """`$KBSEARCH_INDEX` if set, else `index/` in the working folder."""
    return Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX_DIR)


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when no index has been built here."""
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not name or "/" in name or not name.startswith(GENERATION_PREFIX):
        return None
    path = index_dir / name
    return path if path.is_dir() else None


def new_generation(index_dir: Path) -> Path:
    """Create an empty folder for a generation being built; invisible to readers until published."""
    path = index_dir / f"{GENERATION_PREFIX}{time.time_ns()}{BUILDING_SUFFIX}"
    path.mkdir(parents=True)
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, text: str) -> None:
    """Write a small file so that readers see either the old or the new content, never a part."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    _fsync_dir(path.parent)


def publish_generation(index_dir: Path, building: Path) -> Path:
    """Make a fully built generation the live one, atomically."""
    final = building.with_name(building.name.removesuffix(BUILDING_SUFFIX))
    os.rename(building, final)
    _fsync_dir(index_dir)
    _write_atomically(index_dir / CURRENT_FILE, final.name + "\n")
    return final


def remove_stale(index_dir: Path, keep: set[Path]) -> None:
    """Delete unfinished builds and generations other than `keep` (call only under the lock).

    The caller keeps the previous generation as well as the live one, so a reader that read
    CURRENT just before a swap can still open what it read.
    """
    import shutil  # here, not above: `kbsearch query` reads this module and never deletes

    keep_names = {path.name for path in keep}
    for entry in index_dir.glob(GENERATION_PREFIX + "*"):
        if entry.name not in keep_names and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
    for temp in index_dir.glob(f".{CURRENT_FILE}.*.tmp"):
        temp.unlink(missing_ok=True)


def previous_generations(index_dir: Path, current: Path | None) -> list[Path]:
    """Published generations other than the live one, newest first."""
    found = [
        entry
        for entry in index_dir.glob(GENERATION_PREFIX + "*")
        if entry.is_dir() and not entry.name.endswith(BUILDING_SUFFIX) and entry != current
    ]
    return sorted(found, key=lambda entry: entry.name, reverse=True)


def read_meta(generation: Path) -> dict[str, Any]:
    """The facts kbsearch keeps beside a Whoosh index (schema version, source folder)."""
    try:
        loaded = json.loads((generation / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def write_meta(generation: Path, meta: dict[str, Any]) -> None:
    _write_atomically(generation / META_FILE, json.dumps(meta, indent=2, sort_keys=True))


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait: bool | float = False) -> Iterator[None]:
    """Hold the one-writer lock of an index folder; `wait` blocks (True) or retries for N seconds.

    The lock is an flock on a file, so the kernel releases it when a writer dies, even by SIGKILL:
    a killed run never leaves a lock behind that needs manual clean-up.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        deadline = None if wait is True else time.monotonic() + float(wait or 0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if deadline is not None and time.monotonic() >= deadline:
                raise IndexLocked(
                    f"another kbsearch process is writing the index at {index_dir}; "
                    "try again later or pass --wait"
                )
            time.sleep(LOCK_POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def damaged(index_dir: Path, exc: Exception) -> IndexCorrupt:
    """The error for an index Whoosh cannot read, naming the fix."""
    return IndexCorrupt(
        f"the index at {index_dir} is damaged ({type(exc).__name__}: {exc}); "
        "rebuild it with `kbsearch index --full`"
    )


def write_error(index_dir: Path, exc: OSError) -> IndexWriteError:
    """The error for a run that could not write the index (no space, no permission, I/O), naming
    the path and the fix; the caller has removed what the run wrote."""
    where = f" ({os.fsdecode(exc.filename)})" if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some space there and run again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "make the folder writable by this user, or pass --index to write elsewhere"
    else:
        fix = "check the disk and run again"
    return IndexWriteError(
        f"cannot write the index at {index_dir}: {reason}{where}; the last good index is "
        f"unchanged and this run's files were removed: {fix}"
    )


def remove_litter(index: Index) -> None:
    """Delete what a failed or killed writer left in a generation: segment files its table of
    contents does not name, an unfinished table of contents, Whoosh's temporary folders. Needs
    no space, so it works on a full disk. Call only under the writer lock."""
    import shutil

    from whoosh import index as whoosh_index

    toc = index._read_toc()
    whoosh_index.clean_files(index.storage, index.indexname, toc.generation, toc.segments)
    folder = Path(index.storage.folder)
    for entry in folder.glob(f"_{index.indexname}_*.toc.*"):  # a table of contents half written
        entry.unlink(missing_ok=True)
    for entry in folder.glob("*.tmp"):  # a writer's pool, spilled
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def open_generation(generation: Path) -> Index:
    """Open the Whoosh index of one generation, turning damage into a message naming the fix."""
    from whoosh import index as whoosh_index

    try:
        return whoosh_index.open_dir(str(generation))
    except Exception as exc:  # Whoosh raises many kinds on damaged files
        raise damaged(generation.parent, exc) from None
