"""Read many files in worker processes, each file within its time and memory budget.

A worker still busy with one file past `Budgets.timeout` is killed and replaced, and that file
is reported as skipped; a worker that dies (out of memory, a crash in a parser) costs only its
file. Results come back in file order, at most `WINDOW` files ahead of the consumer, so memory
stays bounded however large the folder is. The indexer and `kbsearch check` share this reader.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkContext, ForkServerContext
from pathlib import Path
from typing import Any

from ..budgets import Budgets
from ..errors import DocumentError, NotAPage
from .documents import Document, load_parsers, parse_document, read_bytes
from .sites import PLAIN, Includes, Site, includes_of, page_language, translation_key
from .sources import OUTSIDE, Skipped, SourceFile, inside

# Read with this many worker processes (capped by the cores); fewer files than
# PARALLEL_MIN_FILES get one worker (a second costs more to start than it saves).
WORKERS = int(os.environ.get("KBSEARCH_WORKERS", "2"))
PARALLEL_MIN_FILES = 64
# Files handed to a worker ahead of the one it is on, so it never waits for the next one.
PREFETCH = 4
# Results parsed ahead of the one the consumer waits for; bounds the memory of a slow file.
WINDOW = 256

# A task reads one file into whatever its caller needs (index fields, a Document). It runs in a
# worker process, so it must be a module-level function; DocumentError becomes a skip.
Task = Callable[[SourceFile, Path, Budgets], Any]


@dataclass(frozen=True)
class LeftOut:
    """A file read and found to be no page (a draft): not indexed, and no problem either."""

    path: str
    reason: str


def parse_page(
    data: bytes, file: SourceFile, root: Path, budgets: Budgets, site: Site = PLAIN
) -> tuple[Document, Includes | None]:
    """One file's bytes as its site renders them, and what it included; a draft is left out
    (NotAPage) unless the site indexes drafts. The indexer and `read_as_document` share it."""
    includes = includes_of(site, str(file.path), budgets.max_bytes)
    doc = parse_document(data, file.path, root, budgets, site.keys, site.generator, includes)
    if doc.draft and not site.drafts:
        raise NotAPage(doc.path, "a draft (`draft: true`): not published")
    return with_language(doc, site, str(root)), includes


def with_language(doc: Document, site: Site, root: str) -> Document:
    """The page with its language tag as `keywords["language"]`, found as `page_language` finds
    it (the text it may detect it from is the prose: code says little of a language), and what
    its translations share."""
    prose, at = [], 0
    for start, end in doc.code:
        prose.append(doc.body[at:start])
        at = end
    prose.append(doc.body[at:])
    declared = next(iter(doc.keywords.get("language", ())), None)
    text = "\n".join([doc.title, doc.description, *prose])
    tag, how = page_language(site, doc.path, root, declared, text)
    return replace(
        doc,
        keywords={**doc.keywords, "language": (tag,)},
        language_from=how,
        translation=translation_key(site, doc.path, root, doc.metadata),
    )


def read_as_document(
    file: SourceFile, root: Path, budgets: Budgets, site: Site = PLAIN
) -> Document:
    """The task of a reader that wants each file as a `Document` (`check`, `export`)."""
    return parse_page(read_bytes(file.path, budgets), file, root, budgets, site)[0]


def worker_context() -> ForkContext | ForkServerContext:
    """How kbsearch starts its worker processes, without fixing the start method of the host
    process (`multiprocessing.get_context()` with no name would): forked while this process
    runs one thread (the workers start at once and share its loaded modules), else from a fork
    server, since forking a process with threads can copy a lock another thread holds."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver")


@contextlib.contextmanager
def start_method_kept() -> Iterator[None]:
    """Start processes inside this to leave the host's start method unset if it was: starting
    one from a fork server sets it (CPython's `spawn.get_preparation_data` asks for it)."""
    unset = multiprocessing.get_start_method(allow_none=True) is None
    try:
        yield
    finally:
        if unset:
            multiprocessing.set_start_method(None, force=True)


def start_child(parent: int) -> None:
    """What a worker does first: leave the objects it inherited to its parent, and end when
    the parent dies. (`gc.freeze`: the worker's collections never write to the inherited
    objects, so their pages stay shared instead of being copied into every worker.)"""
    gc.freeze()
    exit_with_parent(parent)


def exit_with_parent(parent: int) -> None:
    """End this process when `parent` dies (even by SIGKILL), so no orphan keeps the parent's
    pipes open or its CPU busy. (A worker started by a fork server is the server's child: the
    server ends with `parent`, and the worker is handed to another parent.)"""
    started_by = os.getppid()

    def alive() -> bool:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return os.getppid() == started_by

    def watch() -> None:
        while alive():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _limit_memory(megabytes: int) -> None:
    """Let this process grow by at most `megabytes` of address space (Linux; elsewhere a no-op):
    past it, allocations fail with MemoryError, which the worker reports as a skip."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = used + megabytes * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass


def _run(task: Task, file: SourceFile, source: Path, budgets: Budgets, root: str | None) -> Any:
    """One file through `task`, every failure turned into a `Skipped` with a reason; `root` is
    the resolved source folder the file must lie in (None: links may lead anywhere)."""
    where = str(file.path)
    try:
        # The scan checked links; check again, since the file may have been swapped for a link.
        if root is not None and not inside(os.path.realpath(file.path), root):
            return Skipped(where, OUTSIDE)
        return task(file, source, budgets)
    except NotAPage as exc:
        return LeftOut(exc.path, exc.reason)
    except DocumentError as exc:
        return Skipped(exc.path, exc.reason)
    except MemoryError:
        return Skipped(where, f"needs more than {budgets.max_memory_mb} MB of memory to parse")
    except RecursionError:
        return Skipped(where, "nested too deeply to read")
    except Exception as exc:  # a parser's own bug on strange input must cost one file, not the run
        return Skipped(where, f"could not be read ({type(exc).__name__}: {exc})")


def _serve(
    conn: Connection,
    task: Task,
    source: Path,
    budgets: Budgets,
    root: str | None,
    parent: int,
) -> None:
    """A worker: read the files sent on `conn`, one at a time, and send back each outcome."""
    start_child(parent)
    _limit_memory(budgets.max_memory_mb)
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        seq, file = item
        conn.send((seq, _run(task, file, source, budgets, root)))


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process (its type is the context's)
    conn: Connection
    pending: deque[int] = field(default_factory=deque)  # file numbers sent, oldest first
    started: float = 0.0  # when it began the oldest pending file

    def send(self, seq: int, file: SourceFile) -> None:
        if not self.pending:
            self.started = time.monotonic()
        self.pending.append(seq)
        self.conn.send((seq, file))

    def stop(self, grace: float = 0.0) -> None:
        """End the worker: asked to (it exits after its file) within `grace` s, else killed."""
        if grace:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(grace)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


def read_files(
    files: Sequence[SourceFile],
    source: Path,
    task: Task,
    budgets: Budgets,
    *,
    follow_links: bool = False,
    workers: int | None = None,
) -> Iterator[tuple[SourceFile, Any]]:
    """Yield (file, what `task` returned, or a `Skipped`) for each file, in order; `workers`
    defaults to WORKERS for a large folder, one for a small one."""
    if not files:
        return
    if workers is None:
        workers = min(WORKERS, os.cpu_count() or 1) if len(files) >= PARALLEL_MIN_FILES else 1
    root = None if follow_links else os.path.realpath(source)
    load_parsers()  # before the workers fork, so each inherits them loaded
    context = worker_context()

    def start() -> _Worker:
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(theirs, task, source, budgets, root, os.getpid()),
            daemon=True,
        )
        with start_method_kept():
            process.start()
        theirs.close()
        return _Worker(process, ours)

    pool = [start() for _ in range(max(1, min(workers, len(files))))]
    retry: deque[int] = deque()  # files sent to a worker that was replaced before it began them
    next_seq = 0  # the next file never sent
    next_out = 0  # the next file to yield
    results: dict[int, Any] = {}

    def replace(worker: _Worker, reason: str) -> None:
        seq = worker.pending.popleft()
        results[seq] = Skipped(str(files[seq].path), reason)
        retry.extendleft(reversed(worker.pending))
        worker.stop()
        pool[pool.index(worker)] = start()

    try:
        while next_out < len(files):
            while next_out in results:
                yield files[next_out], results.pop(next_out)
                next_out += 1
            if next_out >= len(files):
                break
            for worker in pool:
                while len(worker.pending) < PREFETCH:
                    if retry:
                        seq = retry.popleft()
                    elif next_seq < len(files) and next_seq - next_out < WINDOW:
                        seq, next_seq = next_seq, next_seq + 1
                    else:
                        break
                    worker.send(seq, files[seq])
            busy = [worker for worker in pool if worker.pending]
            assert busy, "the next file is neither read nor being read"
            first_deadline = min(worker.started for worker in busy) + budgets.timeout
            wait(
                [worker.conn for worker in busy] + [worker.process.sentinel for worker in busy],
                timeout=max(0.0, first_deadline - time.monotonic()),
            )
            for worker in busy:
                try:
                    while worker.pending and worker.conn.poll():
                        seq, outcome = worker.conn.recv()
                        worker.pending.popleft()
                        results[seq] = outcome
                        worker.started = time.monotonic()
                except (EOFError, OSError):
                    pass  # it died mid-message: handled as a dead worker below
                if not worker.pending:
                    continue
                if not worker.process.is_alive():
                    replace(worker, _death(worker.process.exitcode, budgets))
                elif time.monotonic() - worker.started > budgets.timeout:
                    replace(worker, f"took longer than {budgets.timeout:g} s to parse")
    finally:
        for worker in pool:
            worker.stop(grace=1.0 if not worker.pending else 0.0)


def _death(exitcode: int | None, budgets: Budgets) -> str:
    """Why a worker ended in the middle of a file, in words."""
    if exitcode is not None and exitcode < 0:
        signal_number = -exitcode
        if signal_number == 9:
            return f"the reader was killed (out of memory? budget {budgets.max_memory_mb} MB)"
        return f"the reader crashed (signal {signal_number})"
    return f"the reader ended unexpectedly (exit {exitcode})"
