"""Which files under a folder are documents: the default patterns and the scan that lists them."""

from __future__ import annotations

import fnmatch
import os
import stat
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


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A candidate document found by the scan, with what `stat` says about it. Its path is kept
    as a string: a build holds one of these per file (and its forked workers share them), and a
    `Path` with its cached parts costs ~300 bytes more (28 MB for a 50k-page scan, now 14)."""

    id: str
    location: str  # the path as the scan found it
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.location)


def file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _matches(rel: str, name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(rel if "/" in p else name, p) for p in patterns)


def inside(path: str, folder: str) -> bool:
    """Whether the resolved `path` is `folder` or lies under it (both already resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


OUTSIDE = "points outside the source folder (--follow-links to index it)"


def scan_source(
    source: Path,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    follow_links: bool = False,
) -> tuple[list[SourceFile], list[Skipped]]:
    """List the documents under `source` (hidden files and folders excluded), sorted by id.

    A symlink whose target is outside `source` is reported, not followed, unless `follow_links`:
    what is indexed may be published, and a link must not publish what was never in the folder.
    A symlink to a folder inside `source` is not followed (its pages are found under their own
    paths), and no folder is visited twice, so a symlink loop ends. Anything that is not a
    regular file (a named pipe, a socket, a device) is reported and never opened.
    """
    if not source.is_dir():
        raise SourceNotFound(f"{source} is not a folder of documents")
    root = os.path.realpath(source)
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
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            folder = os.path.join(dirpath, name)
            if not os.path.islink(folder):
                kept.append(name)
            elif inside(os.path.realpath(folder), root):
                continue  # an alias of a folder the walk reaches: its pages keep their own ids
            elif follow_links:
                kept.append(name)
            else:
                problems.append(Skipped(folder, OUTSIDE))
        dirnames[:] = kept
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath, name)
            rel = path.relative_to(source).as_posix()
            if not _matches(rel, name, include) or _matches(rel, name, exclude):
                continue
            problem = _problem(path, root, follow_links)
            if isinstance(problem, Skipped):
                problems.append(problem)
            elif problem is not None:
                found.append(SourceFile(rel, str(path), problem.st_size, problem.st_mtime_ns))
    found.sort(key=lambda f: f.id)
    return found, problems


def _problem(path: Path, root: str, follow_links: bool) -> Skipped | os.stat_result | None:
    """Why `path` cannot be a document, or its `stat` when it can (None: not a document)."""
    try:
        info = path.stat()
    except OSError as exc:
        reason = "broken symlink" if path.is_symlink() else f"cannot be read: {exc.strerror}"
        return Skipped(str(path), reason)
    if not follow_links and path.is_symlink() and not inside(os.path.realpath(path), root):
        return Skipped(str(path), OUTSIDE)
    kind = file_kind(info.st_mode)
    if kind == "a folder":
        return None  # a folder named like a document (`notes.md/`) is walked, not read
    if kind is not None:
        return Skipped(str(path), f"is {kind}, not a regular file; not opened")
    return info
