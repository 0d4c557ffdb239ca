"""Which files under a folder are documents: the default patterns and the scan that lists them."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SourceNotFound

DEFAULT_SOURCE = "seeds"
DEFAULT_INCLUDE = ("*.md", "*.markdown", "*.txt")
# README files describe a folder; they are not pages of the knowledge base.
DEFAULT_EXCLUDE = ("README*",)


@dataclass(frozen=True)
class Skipped:
    """A document that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    """A candidate document found by the scan, with what `stat` says about it."""

    id: str
    path: Path
    size: int
    mtime_ns: int


def _matches(rel: str, name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(rel if "/" in p else name, p) for p in patterns)


def scan_source(
    source: Path,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
) -> tuple[list[SourceFile], list[Skipped]]:
    """List the documents under `source` (hidden files and folders excluded), sorted by id.

    Symlinked folders are followed once: a symlink loop is visited a single time, not forever.
    """
    if not source.is_dir():
        raise SourceNotFound(f"{source} is not a folder of documents")
    found: list[SourceFile] = []
    problems: list[Skipped] = []
    seen_dirs: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(source, followlinks=True):
        try:
            info = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add((info.st_dev, info.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath, name)
            rel = path.relative_to(source).as_posix()
            if not _matches(rel, name, include) or _matches(rel, name, exclude):
                continue
            try:
                stat = path.stat()
            except OSError as exc:
                reason = (
                    "broken symlink" if path.is_symlink() else f"cannot be read: {exc.strerror}"
                )
                problems.append(Skipped(str(path), reason))
                continue
            if not path.is_file():
                continue
            found.append(SourceFile(rel, path, stat.st_size, stat.st_mtime_ns))
    found.sort(key=lambda f: f.id)
    return found, problems
