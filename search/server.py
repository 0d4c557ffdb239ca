"""The query server: `kbsearch serve` keeps one index open and answers `query_server` calls.

One thread a connection; a request is one JSON object, the answer another (results, an error to
raise in the caller, or why the server declined, so the caller searches in-process instead).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import socketserver
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from . import __version__
from .client import PROTOCOL, SEARCH_OPTIONS, index_key, is_private, socket_path, synonyms_key
from .errors import KbsearchError
from .knowledgebase import KnowledgeBase, open_index

# How long a client may take to send its request; a request is a few hundred bytes.
REQUEST_TIMEOUT = 10.0
MAX_REQUEST_BYTES = 1 << 20


def serve(
    index_dir: str | os.PathLike[str] | None = None,
    synonyms: str | os.PathLike[str] | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> None:
    """Answer `query_server` calls for one index until interrupted (Ctrl-C, or SIGTERM turned
    into SystemExit by the caller). Rebuilds of the index are picked up as in-process searches
    pick them up; the socket is removed on the way out."""
    say = log or (lambda _line: None)
    path = socket_path(index_dir)
    with open_index(index_dir, synonyms) as kb, _only_server(path):
        server = _QueryServer(path, kb, index_key(index_dir), synonyms_key(synonyms), say)
        try:
            say(f"serving {kb.index_dir} on {path}")
            server.serve_forever()
        finally:
            server.server_close()
            with suppress(FileNotFoundError):
                path.unlink()


@contextmanager
def _only_server(path: Path) -> Iterator[None]:
    """Hold the lock that makes this the one server of its socket; a killed server's lock goes
    with its process, so its socket file is left over and replaced."""
    folder = path.parent
    with suppress(FileExistsError):
        folder.mkdir(mode=0o700, parents=True)
    if not is_private(folder):
        raise KbsearchError(
            f"{folder} is not a private folder of this user; remove it or set XDG_RUNTIME_DIR"
        )
    with open(path.with_suffix(".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = f"a query server of this index is running already ({path})"
            raise KbsearchError(running) from None
        with suppress(FileNotFoundError):
            path.unlink()
        yield


class _QueryServer(socketserver.ThreadingUnixStreamServer):
    """One thread a connection; the searches themselves take turns on the open index."""

    daemon_threads = True

    def __init__(
        self,
        path: Path,
        kb: KnowledgeBase,
        index_key: str,
        synonyms_key: str | None,
        log: Callable[[str], None],
    ) -> None:
        self.kb, self.index_key, self.synonyms_key, self.log = kb, index_key, synonyms_key, log
        old_umask = os.umask(0o177)  # the socket is this user's only (the folder is too)
        try:
            super().__init__(str(path), _Handler)
        except OSError as exc:  # e.g. a path past the ~100 bytes a socket's name may have
            raise KbsearchError(f"cannot listen on {path}: {exc.strerror or exc}") from None
        finally:
            os.umask(old_umask)

    def answer(self, raw: bytes) -> dict[str, Any]:
        """The answer to one request: results, an error to re-raise, or why it was declined."""
        try:
            request = json.loads(raw)
            query, options = request["query"], request["options"]
            mismatch = _mismatch(self, request)
        except (ValueError, KeyError, TypeError):
            return {"declined": "not a kbsearch request"}
        if mismatch:
            self.log(f"declined {query!r}: {mismatch}")
            return {"declined": mismatch}
        started = time.perf_counter()
        try:
            results = self.kb.search(query, **options)
        except KbsearchError as exc:
            self.log(f"error {query!r}: {exc}")
            return {"error": {"type": type(exc).__name__, "message": str(exc)}}
        except Exception as exc:  # let the caller's own search show it, with its traceback
            self.log(f"declined {query!r}: {type(exc).__name__}: {exc}")
            return {"declined": f"{type(exc).__name__}: {exc}"}
        took = (time.perf_counter() - started) * 1000
        self.log(f"query {query!r}: {results.total} found, {took:.0f} ms")
        return {"results": dataclasses.asdict(results)}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up or stalled costs its own request only: one line, no traceback."""
        self.log("a client went away before its answer")


def _mismatch(server: _QueryServer, request: Mapping[str, Any]) -> str | None:
    """Why this server would not answer as the caller's own search would, if it would not."""
    if request.get("protocol") != PROTOCOL or request.get("version") != __version__:
        return f"the client runs kbsearch {request.get('version')}, this server {__version__}"
    if request.get("index") != server.index_key:
        return f"another index ({request.get('index')})"
    if request.get("synonyms") != server.synonyms_key:
        return f"other synonyms ({request.get('synonyms') or 'built-in only'})"
    options = request["options"]
    if not isinstance(options, dict) or not set(options) <= SEARCH_OPTIONS:
        return "unknown options"
    return None


class _Handler(socketserver.StreamRequestHandler):
    timeout = REQUEST_TIMEOUT

    def handle(self) -> None:
        server = self.server
        assert isinstance(server, _QueryServer)
        raw = self.rfile.read(MAX_REQUEST_BYTES + 1)
        answer = (
            {"declined": "request too large"}
            if len(raw) > MAX_REQUEST_BYTES
            else server.answer(raw)
        )
        self.wfile.write(json.dumps(answer, ensure_ascii=False).encode())
