"""`kbsearch serve` and its client, as real processes: a query answered by the server prints what
an in-process search prints, and anything the server cannot answer falls back to searching here."""

from __future__ import annotations

import inspect
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import search
from search.app.client import SEARCH_OPTIONS, socket_path

from .conftest import ROOT, make_doc
from .test_cli import kbsearch as cli

START_TIMEOUT = 120  # seconds a server may take to open its index on a slow CI machine


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runtime folder of this test's own, for the servers it starts and the clients it runs."""
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


def env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": ""}


class Server:
    """A `kbsearch serve` process; `stop()` ends it with SIGTERM and returns its log."""

    def __init__(self, index: Path, *extra: str | Path) -> None:
        self.index = index
        self.process = subprocess.Popen(
            [sys.executable, "-m", "search", "serve", "--index", str(index), *map(str, extra)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env(),
        )
        assert self.process.stderr is not None
        ready, _, _ = select.select([self.process.stderr], [], [], START_TIMEOUT)
        first = self.process.stderr.readline() if ready else ""
        assert "serving" in first, first + self.stop()

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, log = self.process.communicate(timeout=60)
        return log


def wait_until_answering(process: subprocess.Popen[str], index: Path) -> None:
    """Wait for the server `process` to answer searches of `index` (it must not end first)."""
    deadline = time.monotonic() + START_TIMEOUT
    while search.query_server("anemia", index) is None:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)


def logged(log: str, kind: str, text: str = "") -> int:
    """How many lines of a server's log are of this kind (query, ran, error, declined) and start
    with this text."""
    return len(re.findall(rf"^kbsearch serve: \S+ {kind} {re.escape(text)}", log, re.MULTILINE))


@pytest.fixture
def server(seed_index: Path, runtime: Path) -> Iterator[Server]:
    running = Server(seed_index)
    yield running
    running.stop()


QUERIES = [
    ["anemia", "transfusion", "--format", "json"],
    ["cancer", "--tag", "genetics", "--facets", "tags,source", "--json"],
    ["cancer", "-f", "cancerTypes=breast", "--format", "jsonl", "-n", "50"],
    ["cancer", "--sort", "-lastReviewed", "--format", "plain", "-n", "20", "--page", "2"],
    ["cancer", "--since", "2025-01-01", "--format", "html"],
    ["luspatersept", "--format", "plain"],  # a suggestion
    ["luspatersept", "--fix", "--format", "plain"],  # the suggestion searched
    ["what", "are", "the", "side", "effects", "of", "radiation", "for", "breast", "cancer"],
    ["chemo*", "--format", "paths", "--no-feedback", "--snippet-chars", "60"],
    ["zzzyzzx", "--format", "plain"],  # nothing found: exit 1
    ["lastReviewed:[soon TO later]"],  # a query that cannot be read: exit 2
    ["cancer", "--until", "yesterday"],  # a bad date: exit 2
]


@pytest.mark.slow
def test_the_server_answers_as_an_in_process_search_would(server: Server, seed_index: Path) -> None:
    for args in QUERIES:
        served = cli("query", *args, "--index", seed_index)
        local = cli("query", *args, "--index", seed_index, "--no-server")
        assert (served.returncode, served.stdout, served.stderr) == (
            local.returncode,
            local.stdout,
            local.stderr,
        ), args
        assert "Traceback" not in served.stderr
    log = server.stop()
    # The server ran every one of them (errors too): none ran in the command's own process.
    assert log.count("\n") == logged(log, "ran", "query ") == len(QUERIES), log
    assert logged(log, "ran", "query 'lastReviewed:[soon TO later]' --index") == 1, log


def on_terminal(*args: str | Path) -> bytes:
    """What `kbsearch ARGS` writes to a terminal (a pseudo-terminal: colour is decided by that)."""
    main_fd, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "search", *map(str, args)],
        stdout=terminal,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=env(),
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 1 << 16)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert process.wait(timeout=300) == 0
    return b"".join(chunks)


@pytest.mark.slow
def test_the_callers_folder_environment_and_terminal_decide(
    server: Server, seed_index: Path, tmp_path: Path
) -> None:
    def both(*args: str | Path, cwd: Path, **extra: str) -> list[tuple[int, str, str]]:
        runs = []
        for flag in ([], ["--no-server"]):
            done = subprocess.run(
                [sys.executable, "-m", "search", "query", *map(str, args), *flag],
                capture_output=True,
                text=True,
                cwd=cwd,
                env={**env(), **extra},
                timeout=300,
            )
            runs.append((done.returncode, done.stdout, done.stderr))
        return runs

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    relative = os.path.relpath(seed_index, elsewhere)
    served, local = both("anemia", "--index", relative, "--format", "plain", cwd=elsewhere)
    assert served == local and served[0] == 0
    served, local = both("anemia", "--format", "paths", cwd=elsewhere, KBSEARCH_INDEX=relative)
    assert served == local and served[0] == 0
    coloured = on_terminal("query", "anemia", "--index", seed_index)
    assert b"\x1b[" in coloured  # styled on a terminal, by the server as by the command itself
    assert coloured == on_terminal("query", "anemia", "--index", seed_index, "--no-server")
    assert logged(server.stop(), "ran", "query anemia") == 3


def test_the_library_call_returns_the_same_results(server: Server, seed_index: Path) -> None:
    options = {"filters": {"tags": ["genetics"]}, "facets": ("tags",), "limit": 5, "page": 2}
    served = search.query_server("cancer", seed_index, **options)
    with search.open_index(seed_index) as kb:
        local = kb.search("cancer", **options)
    assert served is not None and served.total > 5
    assert served == local  # the same dataclasses, field by field (scores included)
    with pytest.raises(search.QuerySyntaxError) as raised:
        search.query_server("cancer", seed_index, since="not a date")
    assert raised.value.exit_code == 2 and "not a date" in str(raised.value)
    with pytest.raises(TypeError, match="colour"):
        search.query_server("cancer", seed_index, colour=True)


def test_a_request_carries_every_search_option() -> None:
    """The options a request may carry are the keyword arguments of `KnowledgeBase.search`."""
    parameters = inspect.signature(search.KnowledgeBase.search).parameters
    assert set(parameters) - {"self", "query"} == SEARCH_OPTIONS


def test_no_server_means_none(seed_index: Path, runtime: Path) -> None:
    assert search.query_server("anemia", seed_index) is None
    assert cli("query", "anemia", "--index", seed_index).returncode == 0


def test_requests_the_server_declines_are_searched_in_process(
    server: Server, seed_index: Path, tmp_path: Path
) -> None:
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("luspatercept, reblozyl\n")
    # Other synonyms than the server's: the server declines, the command searches itself.
    assert search.query_server("reblozyl", seed_index, synonyms=synonyms) is None
    other = cli("query", "reblozyl", "--synonyms", synonyms, "--index", seed_index, "--json")
    assert other.returncode == 0
    assert json.loads(other.stdout)["hits"][0]["title"] == "Luspatercept-aamt - NCI"

    def ask(payload: bytes) -> dict[str, object]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(socket_path(seed_index)))
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            return json.loads(sock.makefile("rb").read())  # type: ignore[no-any-return]

    assert "declined" in ask(b"\xff not json")
    old = {
        "protocol": 1,
        "version": "0.0.1",
        "index": os.path.realpath(seed_index),
        "synonyms": None,
        "query": "anemia",
        "options": {},
    }
    assert "0.0.1" in str(ask(json.dumps(old).encode())["declined"])
    current = {**old, "version": search.__version__}
    assert ask(json.dumps(current).encode())["results"]  # the same request, this version
    # The server still answers after all that.
    assert search.query_server("anemia", seed_index) is not None
    log = server.stop()
    assert "declined 'reblozyl': other synonyms" in log and "kbsearch 0.0.1" in log


@pytest.mark.slow
def test_a_socket_in_a_folder_others_can_write_is_not_asked(
    server: Server, seed_index: Path, runtime: Path
) -> None:
    folder = socket_path(seed_index).parent
    assert search.query_server("anemia", seed_index) is not None
    folder.chmod(0o777)
    try:
        assert search.query_server("anemia", seed_index) is None
        assert cli("query", "anemia", "--index", seed_index).returncode == 0
    finally:
        folder.chmod(0o700)
    assert logged(server.stop(), "query") == 1  # the first call only


@pytest.mark.slow
def test_the_server_sees_changes_and_rebuilds(tmp_path: Path, runtime: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "a.md").write_text(make_doc("Anemia", "Anemia and transfusion."))
    assert cli("index", docs, "--index", index).returncode == 0
    server = Server(index)
    try:
        assert cli("query", "zebra", "--index", index).returncode == 1
        (docs / "b.md").write_text(make_doc("Zebra", "A zebra is not a horse."))
        assert cli("index", docs, "--index", index).returncode == 0  # incremental commit
        found = cli("query", "zebra", "--index", index, "--format", "paths")
        assert [Path(line).name for line in found.stdout.split()] == ["b.md"]
        (docs / "c.md").write_text(make_doc("Zebra two", "Another zebra."))
        assert cli("index", docs, "--index", index, "--full").returncode == 0  # a new generation
        found = cli("query", "zebra", "--index", index, "--format", "paths")
        assert sorted(Path(line).name for line in found.stdout.split()) == ["b.md", "c.md"]
    finally:
        log = server.stop()
    assert logged(log, "ran", "query zebra") == 3, log


@pytest.mark.slow
def test_the_server_forgets_deleted_and_edited_pages(tmp_path: Path, runtime: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    for name in ("a", "b", "c"):
        (docs / f"{name}.md").write_text(make_doc(f"Zebra {name}", f"A zebra, {name}pple."))
    assert cli("index", docs, "--index", index).returncode == 0
    server = Server(index)
    try:
        for night, name in enumerate(("a", "b"), 1):
            assert cli("query", "zebra", "--index", index).returncode == 0  # asked of the server
            (docs / f"{name}.md").unlink()
            (docs / "c.md").write_text(make_doc("Zebra c", f"A zebra, night{night}."))
            assert cli("index", docs, "--index", index).returncode == 0  # incremental commits
            served = cli("query", "zebra", "--index", index, "--format", "paths")
            local = cli("query", "zebra", "--index", index, "--format", "paths", "--no-server")
            assert served.stdout == local.stdout
            assert f"{name}.md" not in served.stdout
            assert cli("query", "cpple", "--index", index).returncode == 1
    finally:
        log = server.stop()
    assert logged(log, "ran", "query zebra") == 4, log


@pytest.mark.slow
def test_a_killed_server_leaves_queries_working_and_is_replaced(
    seed_index: Path, runtime: Path
) -> None:
    first = Server(seed_index)
    first.process.kill()
    first.process.wait()
    assert socket_path(seed_index).exists()  # no chance to clean up
    assert cli("query", "anemia", "--index", seed_index).returncode == 0  # searched in-process
    assert search.query_server("anemia", seed_index) is None
    second = Server(seed_index)  # the stale socket is replaced
    try:
        assert search.query_server("anemia", seed_index) is not None
        again = cli("serve", "--index", seed_index)
        assert again.returncode == 2 and "running already" in again.stderr
    finally:
        log = second.stop()
    assert second.process.returncode == 0 and "Traceback" not in log
    assert not socket_path(seed_index).exists()  # SIGTERM cleans up


def test_serve_without_an_index_says_how_to_build_one(tmp_path: Path, runtime: Path) -> None:
    result = cli("serve", "--index", tmp_path / "nothing")
    assert result.returncode == 2 and "kbsearch index" in result.stderr


def test_ctrl_c_while_a_stuck_server_is_asked_is_a_message(seed_index: Path, runtime: Path) -> None:
    """A server that accepts and never answers (stopped, swapping): Ctrl-C ends the wait as it
    ends a search, with a message and exit 130. (The client starts with SIGINT at its default,
    as from a terminal: a runner started in the background, as `cmd &` from a script, ignores
    SIGINT, and its children inherit that.)"""
    path = socket_path(seed_index)
    path.parent.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stuck:
        stuck.bind(str(path))
        stuck.listen()
        stuck.settimeout(START_TIMEOUT)
        process = subprocess.Popen(
            [sys.executable, "-m", "search", "query", "anemia", "--index", str(seed_index)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env(),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        connection, _ = stuck.accept()
        with connection:
            request = connection.makefile("rb").read()  # all of it: the client then waits
            assert json.loads(request)["cli"]["args"][:2] == ["query", "anemia"]
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
    assert (process.returncode, out, err) == (130, "", "kbsearch: interrupted\n")


def test_a_quiet_server_logs_trouble_only(seed_index: Path, runtime: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "search", "serve", "--index", str(seed_index), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env(),
    )
    try:
        wait_until_answering(process, seed_index)  # answered, not logged
        assert cli("query", "anemia", "--index", seed_index).returncode == 0  # run, not logged
        synonyms = tmp_path / "synonyms.txt"
        synonyms.write_text("luspatercept, reblozyl\n")
        assert search.query_server("reblozyl", seed_index, synonyms=synonyms) is None
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=60)
    assert process.returncode == 0
    assert log.count("\n") == logged(log, "declined", "'reblozyl'") == 1, log


HOST_SERVING = """
import signal, sys
import search

def host_handler(number, frame):
    print("host handler", signal.Signals(number).name, search.query_server("anemia", INDEX) is None)
    sys.exit(3)

signal.signal(signal.SIGTERM, host_handler)
# Python's own SIGINT handling, even when started with SIGINT ignored (a background job).
signal.signal(signal.SIGINT, signal.default_int_handler)
try:
    search.serve(INDEX, log=lambda line: print(line, file=sys.stderr, flush=True))
except KeyboardInterrupt:
    print("KeyboardInterrupt", search.query_server("anemia", INDEX) is None)
    sys.exit(4)
"""


@pytest.mark.parametrize(
    ("received", "said", "exit_code"),
    [
        (signal.SIGTERM, "host handler SIGTERM True", 3),
        (signal.SIGINT, "KeyboardInterrupt True", 4),
    ],
)
def test_a_host_serving_from_its_main_thread_gets_its_signal_after_a_clean_stop(
    seed_index: Path, runtime: Path, received: int, said: str, exit_code: int
) -> None:
    """The server stops first (no one answers any more), then the host's own handling runs:
    its SIGTERM handler, Python's KeyboardInterrupt for SIGINT."""
    program = HOST_SERVING.replace("INDEX", repr(str(seed_index)))
    process = subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env(),
    )
    try:
        wait_until_answering(process, seed_index)
        process.send_signal(received)
        out, log = process.communicate(timeout=60)
    finally:
        process.kill()
    assert (out.strip(), process.returncode) == (said, exit_code), log
    assert not socket_path(seed_index).exists()
