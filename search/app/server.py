"""The query server: `kbsearch serve` keeps one index open and answers for it.

Two kinds of request: a search (`query_server` in another program: results come back as data)
and a whole `kbsearch query` command (from the `kbsearch` launcher, which then loads neither
click nor Whoosh: the server runs the command in the caller's folder and environment and sends
back what it printed and its exit code). One thread a connection; commands take turns, since a
command's folder, environment and output streams are the process's. Whatever the server cannot
answer exactly as the caller would, it declines, and the caller does the work itself.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shlex
import signal
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from .. import __version__
from ..errors import KbsearchError
from ..kb.knowledgebase import KnowledgeBase, open_index
from .cli import main as cli_main
from .client import (
    CLI_ENV,
    PROTOCOL,
    SEARCH_OPTIONS,
    SERVING,
    index_key,
    is_private,
    socket_path,
    synonyms_key,
)

# How long a client may take to send its request; a request is a few hundred bytes.
REQUEST_TIMEOUT = 10.0
MAX_REQUEST_BYTES = 1 << 20
# The commands a server runs: the others are not worth a round trip (or write to the index).
SERVED_COMMANDS = ("query",)


def serve(
    index_dir: str | os.PathLike[str] | None = None,
    synonyms: str | os.PathLike[str] | None = None,
    *,
    log: Callable[[str], None] | None = None,
    quiet: bool = False,
    http: tuple[str, int] | None = None,
    token: str | None = None,
    http_workers: int = 1,
    allowed_hosts: Sequence[str] = (),
    cors_origins: Sequence[str] = (),
) -> None:
    """Answer `query_server` calls and `kbsearch query` commands for one index until SIGINT
    (Ctrl-C) or SIGTERM. Called from the main thread, it stops on them cleanly, then hands each
    signal to the handler the caller had (Python's own turns SIGINT into KeyboardInterrupt).
    Rebuilds of the index are picked up as in-process searches pick them up; the socket is
    removed on the way out. `log` gets a line for each request (`quiet`: only for errors and
    declined requests).

    `http=(host, port)` also serves the HTTP API and the search page there, from the same open
    index (see `web`; `token` is then required of every HTTP request); `http_workers` > 1
    answers HTTP from that many processes, each with the index open. `allowed_hosts`: the
    names HTTP answers for besides its address and `localhost` (others get a 400);
    `cors_origins`: the web origins whose pages may call the HTTP API (none by default)."""
    say = log or (lambda _line: None)
    key, synonyms_file = index_key(index_dir), synonyms_key(synonyms)
    path = socket_path(index_dir)
    # Absolute paths: the commands run in their callers' folders.
    with _stopped_by_signals() as stop, open_index(key, synonyms_file) as kb, _only_server(path):
        server = _QueryServer(path, kb, key, synonyms_file, say, quiet)
        SERVING[key] = (synonyms_file, kb)
        try:
            server.report(f"serving {key} on {path}")
            if http is None:
                _serve_until(server, stop)
            else:
                from .web import run_http  # only an HTTP server pays for the web framework

                threading.Thread(target=server.serve_forever, daemon=True).start()
                if not stop.signals:  # uvicorn records its own while it runs, then hands them on
                    run_http(
                        kb,
                        *http,
                        token=token,
                        log=None if quiet else server.report,
                        notice=say,
                        workers=http_workers,
                        allowed_hosts=tuple(allowed_hosts),
                        cors_origins=tuple(cors_origins),
                    )
                server.shutdown()
        finally:
            del SERVING[key]
            server.server_close()
            with suppress(FileNotFoundError):
                path.unlink()


# How often a server waiting for a signal looks whether one came.
SIGNAL_POLL = 0.2


@dataclasses.dataclass
class _Stop:
    """Which signals asked the server to stop; None when this thread cannot receive them."""

    signals: list[int] | None


@contextmanager
def _stopped_by_signals() -> Iterator[_Stop]:
    """While the server runs, SIGINT and SIGTERM only record that they came; afterwards the
    caller's handlers are back and get each recorded signal. A handler that raised (SystemExit,
    KeyboardInterrupt) could land inside whatever the main thread runs, a finalizer included,
    where the exception is printed and dropped, and the server would keep running."""
    if threading.current_thread() is not threading.main_thread():
        yield _Stop(None)
        return
    came: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.getsignal(number) for number in wanted}
    for number in wanted:
        signal.signal(number, lambda received, _frame: came.append(received))
    try:
        yield _Stop(came)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for received in dict.fromkeys(came):
            signal.raise_signal(received)


def _serve_until(server: socketserver.BaseServer, stop: _Stop) -> None:
    """Serve until a signal is recorded (forever where none can be received)."""
    if stop.signals is None:
        server.serve_forever()
        return
    thread = threading.Thread(target=server.serve_forever, name="kbsearch-serve", daemon=True)
    thread.start()
    try:
        while not stop.signals and thread.is_alive():
            time.sleep(SIGNAL_POLL)
    finally:
        server.shutdown()


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
        quiet: bool,
    ) -> None:
        self.kb, self.index_key, self.synonyms_key, self.log = kb, index_key, synonyms_key, log
        self.quiet = quiet
        self.commands = threading.Lock()
        try:
            super().__init__(str(path), _Handler)
        except OSError as exc:  # e.g. a path past the ~100 bytes a socket's name may have
            raise KbsearchError(f"cannot listen on {path}: {exc.strerror or exc}") from None
        path.chmod(0o600)  # the folder is private already; this says so on the socket too

    def report(self, line: str) -> None:
        """Log what went well (a start, an answer), unless quiet; trouble goes to `log` always."""
        if not self.quiet:
            self.log(line)

    def answer(self, raw: bytes) -> dict[str, Any]:
        """The answer to one request: results, a command's output, an error to raise in the
        caller, or why it was declined."""
        try:
            request = json.loads(raw)
            mismatch = _mismatch(self, request)
        except (ValueError, KeyError, TypeError, AttributeError):
            return {"declined": "not a kbsearch request"}
        if mismatch:
            self.log(f"declined {_describe(request)}: {mismatch}")
            return {"declined": mismatch}
        if "cli" in request:
            return self._run(request["cli"])
        return self._search(request["query"], request["options"])

    def _search(self, query: str, options: dict[str, Any]) -> dict[str, Any]:
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
        self.report(f"query {query!r}: {results.total} found, {took:.0f} ms")
        return {"results": dataclasses.asdict(results)}

    def _run(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """Run `kbsearch ARGS` as the caller would have: its folder, its kbsearch environment
        (the server's own settings removed), colour if its output is a terminal."""
        args = [str(arg) for arg in command["args"]]
        env: dict[str, str | None] = {name: None for name in os.environ if name.startswith(CLI_ENV)}
        env.update({str(name): str(value) for name, value in dict(command["env"]).items()})
        started = time.perf_counter()
        with self.commands:
            previous = os.getcwd()
            try:
                os.chdir(str(command["cwd"]))
                result = CliRunner().invoke(
                    cli_main, args, env=env, color=bool(command["color"]), prog_name="kbsearch"
                )
            except OSError as exc:  # the caller's folder is gone or not ours to enter
                self.log(f"declined {shlex.join(args)}: {exc}")
                return {"declined": str(exc)}
            finally:
                os.chdir(previous)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            # KBSEARCH_DEBUG lets a bug through: the caller's own run shows its traceback.
            self.log(f"declined {shlex.join(args)}: {result.exception!r}")
            return {"declined": repr(result.exception)}
        took = (time.perf_counter() - started) * 1000
        self.report(f"ran {shlex.join(args)}: exit {result.exit_code}, {took:.0f} ms")
        output = {"stdout": result.stdout, "stderr": result.stderr, "exit_code": result.exit_code}
        return {"cli": output}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up or stalled costs its own request only: one line, no traceback
        (the client does the work itself when it gets no answer)."""
        exc = sys.exc_info()[1]
        self.log(f"a request failed: {type(exc).__name__}: {exc}")


def _describe(request: Mapping[str, Any]) -> str:
    if isinstance(request.get("cli"), dict):
        return shlex.join(map(str, request["cli"].get("args", [])))
    return repr(request.get("query"))


def _mismatch(server: _QueryServer, request: Mapping[str, Any]) -> str | None:
    """Why this server would not answer as the caller itself would, if it would not."""
    if request.get("protocol") != PROTOCOL or request.get("version") != __version__:
        return f"the client runs kbsearch {request.get('version')}, this server {__version__}"
    if request.get("index") != server.index_key:
        return f"another index ({request.get('index')})"
    if "cli" in request:
        command = request["cli"]
        if not isinstance(command, dict) or not set(command) >= {"args", "cwd", "env", "color"}:
            return "not a kbsearch request"
        args = command["args"]
        if not isinstance(args, list) or not args or args[0] not in SERVED_COMMANDS:
            return "not a query"
        return None
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
