"""The client side of `kbsearch serve`: find the server of an index and ask it.

`run_on_server` hands it a whole `kbsearch query` command (the `kbsearch` launcher does, so a
served query loads neither click nor Whoosh); `query_server` asks it for a search's results as
data (for programs that do not keep an index open themselves). Whenever no server can answer
exactly as the caller would (none runs, another version, other synonyms, a broken connection),
both return None and the caller does the work itself: the server only ever saves time.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .. import __version__, errors
from ..engine.storage import default_index_dir
from ..errors import KbsearchError
from ..text.synonyms import user_synonyms_file

# The launcher imports this module for every query: what only `query_server` needs (the result
# classes, and with them dataclasses and inspect) is imported by the function that decodes.
if TYPE_CHECKING:
    from ..kb.knowledgebase import KnowledgeBase
    from ..kb.results import SearchResults
    from ..text.highlight import Snippet

# Bumped whenever a request or an answer changes shape; the version must match as well.
PROTOCOL = 1
# The keyword arguments of `KnowledgeBase.search` a request may carry.
SEARCH_OPTIONS = frozenset(
    {
        "filters",
        "since",
        "until",
        "facets",
        "sort",
        "limit",
        "page",
        "offset",
        "mode",
        "fix",
        "snippet_chars",
        "snippets",
        "query_language",
        "feedback",
        "prefix",
        "typos",
    }
)
# Environment variables a command passes to the server that runs it: kbsearch's own (index,
# synonyms, debug) and NO_COLOR (anything else the CLI reads is in its arguments).
CLI_ENV = ("KBSEARCH_", "NO_COLOR")
# A live server accepts at once; waiting longer only delays the in-process fallback.
CONNECT_TIMEOUT = 1.0
# The slowest search seen (a long question at 50k pages) takes about a second; a server that has
# not answered in this time is stuck (stopped, swapping), and the caller searches itself.
ANSWER_TIMEOUT = 30.0


# The indexes a `kbsearch serve` of this process has open, by `index_key`: (synonyms_key, open
# index). A query the server runs through the CLI is answered from there, not over the socket.
SERVING: dict[str, tuple[str | None, KnowledgeBase]] = {}


def runtime_dir() -> Path:
    """The private folder of this user's sockets: `$XDG_RUNTIME_DIR/kbsearch`, else
    `kbsearch-UID` in `$TMPDIR` or /tmp."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base) / "kbsearch"
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"kbsearch-{os.getuid()}"


def socket_path(index_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the server of `index_dir` (default `$KBSEARCH_INDEX` or `index/`) listens: named
    after the index's real path, so every spelling of that path finds the same server (a
    checksum, not a digest: two indexes sharing one would only decline each other's requests)."""
    key = index_key(index_dir)
    return runtime_dir() / f"{Path(key).name[:40]}-{zlib.crc32(key.encode()):08x}.sock"


def index_key(index_dir: str | os.PathLike[str] | None) -> str:
    """The index as a request names it: its real path."""
    return os.path.realpath(index_dir if index_dir is not None else default_index_dir())


def synonyms_key(synonyms: str | os.PathLike[str] | None) -> str | None:
    """The user's synonyms file as a request names it: its absolute path, or None."""
    user = user_synonyms_file(synonyms)
    return None if user is None else os.path.abspath(user)


def is_private(folder: Path) -> bool:
    """True when `folder` is a real folder of this user that nobody else can enter or write."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def query_server(
    query: str,
    index_dir: str | os.PathLike[str] | None = None,
    synonyms: str | os.PathLike[str] | None = None,
    **options: Any,
) -> SearchResults | None:
    """`open_index(index_dir, synonyms).search(query, **options)` answered by a running
    `kbsearch serve` of that index, or None when none can answer it (then search in-process).

    Errors the search would raise (a bad date, an outdated index) are raised here too.
    """
    unknown = set(options) - SEARCH_OPTIONS
    if unknown:
        raise TypeError(f"query_server() got unexpected options: {', '.join(sorted(unknown))}")
    key, synonyms_file = index_key(index_dir), synonyms_key(synonyms)
    if key in SERVING:  # this process is the server
        served_synonyms, kb = SERVING[key]
        return kb.search(query, **options) if served_synonyms == synonyms_file else None
    request = {"index": key, "synonyms": synonyms_file, "query": query, "options": options}
    answer = _ask(socket_path(index_dir), request)
    if answer is None:
        return None
    if "error" in answer:
        raise _error(answer["error"])
    try:
        return _results(answer["results"])
    except (KeyError, TypeError, ValueError):
        return None


def run_on_server(args: list[str]) -> int | None:
    """Run `kbsearch ARGS` (a query) in a running server of its index and print what it printed;
    the exit code, or None when no server ran it (run the command here then).

    Only `--index` is read here, to find the server (which declines a request naming another
    index than its own); the server parses the whole command in this process's folder and
    environment.
    """
    try:
        cwd = os.getcwd()
    except OSError:  # the folder was deleted under the shell: nothing to hand over
        return None
    index_dir: str | None = None
    for position, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--index" and position + 1 < len(args):
            index_dir = args[position + 1]
        elif arg.startswith("--index="):
            index_dir = arg.removeprefix("--index=")
    env = {name: value for name, value in os.environ.items() if name.startswith(CLI_ENV)}
    request = {
        "index": index_key(index_dir),
        "cli": {"args": args, "cwd": cwd, "env": env, "color": sys.stdout.isatty()},
    }
    answer = _ask(socket_path(index_dir), request)
    ran = answer.get("cli") if answer else None
    if not isinstance(ran, dict):
        return None
    try:
        _write(sys.stdout, str(ran["stdout"]))
        _write(sys.stderr, str(ran["stderr"]))
    except BrokenPipeError:  # `kbsearch query x | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return int(ran["exit_code"])


def _write(stream: TextIO, text: str) -> None:
    """Text as a terminal or pipe of this process takes it (unencodable characters replaced)."""
    stream.buffer.write(text.encode(stream.encoding or "utf-8", "replace"))
    stream.flush()


def _ask(path: Path, request: dict[str, Any]) -> dict[str, Any] | None:
    """The server's answer to `request`; None when there is no safe server to ask, or it did not
    answer."""
    if not is_private(path.parent):  # never ask a socket another user could have put there
        return None
    try:
        payload = json.dumps(
            {"protocol": PROTOCOL, "version": __version__, **request}, default=_json_value
        ).encode()
    except (TypeError, ValueError):  # an option only the in-process search can take
        return None
    return _exchange(path, payload)


def _exchange(path: Path, payload: bytes) -> dict[str, Any] | None:
    """Send one request and read the whole answer; None when the server is gone or stuck."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(str(path))
            sock.settimeout(ANSWER_TIMEOUT)
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(1 << 16):
                chunks.append(chunk)
        answer = json.loads(b"".join(chunks))
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def _json_value(value: object) -> object:
    """Dates and other sequences in options, as the search reads them back."""
    isoformat = getattr(value, "isoformat", None)  # a date
    if callable(isoformat):
        return isoformat()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(type(value).__name__)


def _error(data: Mapping[str, Any]) -> KbsearchError:
    """The server's KbsearchError, raised here with the same class (so the same exit code)."""
    kind = getattr(errors, str(data.get("type")), KbsearchError)
    if not (isinstance(kind, type) and issubclass(kind, KbsearchError)):
        kind = KbsearchError
    error = kind.__new__(kind)  # not kind(...): DocumentError's __init__ takes a path and a reason
    Exception.__init__(error, str(data.get("message", "")))
    return error


def _snippet(fragments: list[list[list[Any]]]) -> Snippet:
    from ..text.highlight import Snippet

    return Snippet(tuple(tuple((str(t), bool(m)) for t, m in frag) for frag in fragments))


def _results(data: Mapping[str, Any]) -> SearchResults:
    from ..kb.results import Hit, SearchResults, Section, Translation

    hits = tuple(
        Hit(
            id=hit["id"],
            path=hit["path"],
            title=hit["title"],
            score=hit["score"],
            snippet=_snippet(hit["snippet"]["fragments"]),
            title_snippet=_snippet(hit["title_snippet"]["fragments"]),
            highlights=tuple(hit["highlights"]),
            metadata=hit["metadata"],
            sections=tuple(
                Section(
                    s["heading"],
                    s["anchor"],
                    _snippet(s["snippet"]["fragments"]),
                    _snippet(s.get("marked_heading", {}).get("fragments", [])),
                )
                for s in hit.get("sections", ())
            ),
            url=hit.get("url", ""),
            language=hit.get("language", ""),
            translations=tuple(Translation(**t) for t in hit.get("translations", ())),
        )
        for hit in data["hits"]
    )
    return SearchResults(
        query=data["query"],
        total=data["total"],
        total_is_exact=data.get("total_is_exact", True),
        hits=hits,
        offset=data["offset"],
        limit=data["limit"],
        facets=data["facets"],
        suggestion=data["suggestion"],
        corrected=data["corrected"],
        language=data.get("language"),
        notices=tuple(data.get("notices", ())),
    )
