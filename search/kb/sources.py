"""Which files under a folder are documents: the default patterns and the scan that lists them."""

from __future__ import annotations

import fnmatch
import itertools
import os
import stat
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from ..errors import SourceNotFound

DEFAULT_SOURCE = "seeds"
DEFAULT_INCLUDE = ("*.md", "*.markdown", "*.txt")
# README and licence files describe a folder; they are not pages of the knowledge base.
DEFAULT_EXCLUDE = ("README*", "LICENSE*", "LICENCE*")


@dataclass(frozen=True)
class Skipped:
    """A document that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A candidate document found by the scan, with what `stat` says about it."""

    id: str  # its path under the source folder, with `/` between folders
    location: str  # the path as the scan found it
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.location)


class ScannedFiles(Sequence[SourceFile]):
    """The files a scan found, sorted by id, each made a `SourceFile` when asked for.

    A build holds its scan from start to end, and its forked processes inherit it. As one object
    per file (~310 bytes: 16 MB at 50k pages) it was copied into the parent page by page as
    reference counts and collections wrote to it, and counted again in every child: a build's
    memory grew with the folder. Here a file costs ~35 bytes: the ids joined in one string (a
    file name never holds NUL), where each ends, sizes and times in arrays.
    """

    __slots__ = ("_ends", "_ids", "_mtimes", "_sizes", "_source", "unlisted")

    def __init__(
        self,
        source: Path,
        files: Iterable[tuple[str, int, int]],
        unlisted: Iterable[str] = (),
    ) -> None:
        """`files`: (id, size, mtime_ns) of each file, in any order; `unlisted`: the ids of the
        folders the scan could not list (their pages are unknown, not gone)."""
        self.unlisted: tuple[str, ...] = tuple(sorted(unlisted))
        ordered = sorted(files)
        self._source = str(source)
        self._ids = "\0".join(file_id for file_id, _, _ in ordered)
        self._ends = array("q", itertools.accumulate(len(file_id) + 1 for file_id, _, _ in ordered))
        self._sizes = array("q", (size for _, size, _ in ordered))
        self._mtimes = array("q", (mtime for _, _, mtime in ordered))

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> SourceFile: ...

    @overload
    def __getitem__(self, index: slice) -> list[SourceFile]: ...

    def __getitem__(self, index: int | slice) -> SourceFile | list[SourceFile]:
        if isinstance(index, slice):
            return [self[n] for n in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("scanned file index out of range")
        start = self._ends[index - 1] if index else 0
        file_id = self._ids[start : self._ends[index] - 1]
        location = os.path.join(self._source, file_id.replace("/", os.sep))
        return SourceFile(file_id, location, self._sizes[index], self._mtimes[index])

    def unseen(self, doc_id: str) -> bool:
        """Whether a page of this id could lie in a folder the scan could not list."""
        return any(doc_id.startswith(folder + "/") for folder in self.unlisted)


def shown_path(path: str) -> str:
    """A path as text that is valid UTF-8: bytes of a name that is not are shown as `\\xe9`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.walk gave the name's undecodable bytes as surrogates
        return False
    return True


UNLISTED = "cannot be listed"
NOT_UTF8 = "its name is not valid UTF-8; rename it (e.g. `convmv -f latin1 -t utf8`)"


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
    leave_out: Callable[[str], bool] | None = None,
) -> tuple[ScannedFiles, list[Skipped]]:
    """List the documents under `source` (hidden files and folders excluded), sorted by id.
    `leave_out(id)` names the files and folders (their ids end with `/`) that are no pages.

    A symlink whose target is outside `source` is reported, not followed, unless `follow_links`:
    what is indexed may be published, and a link must not publish what was never in the folder.
    A symlink to a folder inside `source` is not followed (its pages are found under their own
    paths), and no folder is visited twice, so a symlink loop ends. Anything that is not a
    regular file (a named pipe, a socket, a device) is reported and never opened. So is a name
    that is not UTF-8 (an index holds text), and a folder that cannot be listed, whose id the
    result keeps (`ScannedFiles.unlisted`): its pages are unknown, not deleted.
    """
    if not source.is_dir():
        raise SourceNotFound(f"{source} is not a folder of documents")
    try:
        os.scandir(source).close()
    except OSError as exc:
        raise SourceNotFound(f"{source} cannot be listed: {exc.strerror}") from None
    root = os.path.realpath(source)
    found: list[tuple[str, int, int]] = []  # (id, size, mtime_ns)
    problems: list[Skipped] = []
    unlisted: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    top = os.path.join(os.fspath(source), "")  # what each path found starts with

    def cannot_list(folder: str, exc: OSError) -> None:
        """A folder whose pages cannot be seen: reported, and its pages are not taken as gone."""
        unlisted.append(folder[len(top) :].replace(os.sep, "/"))
        problems.append(Skipped(shown_path(folder), f"{UNLISTED}: {exc.strerror}"))

    def walk_error(exc: OSError) -> None:
        if exc.filename is not None:
            cannot_list(os.fsdecode(exc.filename), exc)

    for dirpath, dirnames, filenames in os.walk(source, onerror=walk_error, followlinks=True):
        try:
            info = os.stat(dirpath)
        except OSError as exc:
            cannot_list(dirpath, exc)
            dirnames[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add((info.st_dev, info.st_ino))
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            folder = os.path.join(dirpath, name)
            if not _is_utf8(name):
                problems.append(Skipped(shown_path(folder), NOT_UTF8))
            elif leave_out is not None and leave_out(folder[len(top) :].replace(os.sep, "/") + "/"):
                continue
            elif not os.path.islink(folder):
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
            # Strings, not Paths: pathlib interns every part of every path it parses.
            path = os.path.join(dirpath, name)
            rel = path[len(top) :].replace(os.sep, "/")
            if not _matches(rel, name, include) or _matches(rel, name, exclude):
                continue
            if leave_out is not None and leave_out(rel):
                continue
            if not _is_utf8(name):
                problems.append(Skipped(shown_path(path), NOT_UTF8))
                continue
            problem = _problem(path, root, follow_links)
            if isinstance(problem, Skipped):
                problems.append(problem)
            elif problem is not None:
                found.append((rel, problem.st_size, problem.st_mtime_ns))
    return ScannedFiles(source, found, unlisted), problems


def _problem(path: str, root: str, follow_links: bool) -> Skipped | os.stat_result | None:
    """Why `path` cannot be a document, or its `stat` when it can (None: not a document)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        reason = "broken symlink" if os.path.islink(path) else f"cannot be read: {exc.strerror}"
        return Skipped(path, reason)
    if not follow_links and os.path.islink(path) and not inside(os.path.realpath(path), root):
        return Skipped(path, OUTSIDE)
    kind = file_kind(info.st_mode)
    if kind == "a folder":
        return None  # a folder named like a document (`notes.md/`) is walked, not read
    if kind is not None:
        return Skipped(path, f"is {kind}, not a regular file; not opened")
    return info
