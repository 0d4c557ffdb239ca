"""The HTTP API and the search page (`kbsearch serve --http`): FastAPI on uvicorn.

Every route calls the library (`KnowledgeBase.search`, `complete`, `get`, `status`); `api`
shapes the JSON and describes it. The page and its results are rendered by `page`; the
browser's script only swaps in what the server renders. Errors are JSON with a 4xx or 5xx
status (`{"error": ..., "type": ...}`, the types fixed in `api.ErrorType`), never a traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hmac
import ipaddress
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import KbsearchError
from ..kb.knowledgebase import KnowledgeBase
from ..kb.results import SearchResults
from . import api, page
from .output import safe

# A request may take this long; past it the client gets a 503 (queries are bounded by
# `budgets`, so this only trips on a machine that is far too busy).
REQUEST_SECONDS = 10.0
# The request line may be this large: a 100 kB pasted query still arrives (and is cut, with a
# notice, like any long query); a longer one gets a 414, and past twice this the HTTP parser
# drops the connection instead of buffering more.
MAX_REQUEST_LINE = 128 * 1024
# Requests served at once; more get a 503 at once instead of queueing without bound. (Open
# connections are bounded apart, in `connections`: an idle one never counts here.)
MAX_REQUESTS = 64
# Results a page of the API may ask for.
MAX_PAGE_SIZE = 100
TOKEN_COOKIE = "kbsearch_token"
# Answers at least this large go gzip-compressed to a client that accepts it.
GZIP_MIN_BYTES = 1024
# With several worker processes, a keep-alive connection stays with the worker that accepted it,
# and one worker often accepts most of a burst of new connections (they share one listening
# socket): 8 clients gave one worker twice the other's work. After this many requests on one
# connection the answer says `Connection: close`, and the client's next connection goes to
# whichever worker accepts first, mostly the idle one (as Envoy's max_requests_per_connection).
REQUESTS_PER_CONNECTION = 16
# Connections whose requests are counted at once (the oldest count is dropped past it).
COUNTED_CONNECTIONS = 4096

Log = Callable[[str], None]


def _error(kind: str, message: str) -> JSONResponse:
    """The one error answer: its type (one of `api.ErrorType`) decides the status."""
    return JSONResponse({"error": message, "type": kind}, status_code=api.ERROR_STATUS[kind])


def parse_filters(pairs: list[str], langs: list[str], tags: list[str]) -> dict[str, list[str]]:
    """`key:value` pairs (and the `lang`, `tag` shorthands) as `KnowledgeBase.search` filters."""
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"filter {pair!r} is not key:value")
        filters.setdefault(key.strip(), []).append(value.strip())
    for key, values in (("language", langs), ("tags", tags)):
        for value in values:
            if value.strip():
                filters.setdefault(key, []).append(value.strip())
    return filters


@dataclass(frozen=True)
class AllowedHosts:
    """Which `Host` headers the server answers: a web page cannot then read it through DNS
    rebinding (a name of the attacker's that resolves to this machine). Allowed: `localhost`,
    loopback addresses, the address served on, any address when serving on all of them, the
    machine's own names when serving beyond loopback, and `names` (`*.example.org` matches
    any name under it)."""

    bound: str = "127.0.0.1"
    names: tuple[str, ...] = ()

    def allows(self, header: str | None) -> bool:
        if not header:
            return True  # HTTP/1.0 without a Host: no browser sends such a request
        host = _host_of(header)
        if host == "localhost" or host.endswith(".localhost"):
            return True
        address = _address(host)
        if address is not None:  # an address is no rebinding: only which one is served
            if address.is_loopback:
                return True
            served = _address(self.bound)
            if served is None:
                return not is_loopback(self.bound)
            return served.is_unspecified or address == served
        if host == self.bound.lower():
            return True
        if not is_loopback(self.bound) and host in _own_names():
            return True
        return any(
            host == name or (name.startswith("*.") and host.endswith(name[1:]))
            for name in (n.lower() for n in self.names)
        )


def _host_of(header: str) -> str:
    """The host of a Host header, without its port or an IPv6 address's brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`host` as an IP address, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@functools.cache
def _own_names() -> frozenset[str]:
    """This machine's host name and fully qualified name, lower-cased: looked up once a process
    (`getfqdn` may ask DNS), not on every request."""
    import socket

    return frozenset({socket.gethostname().lower(), socket.getfqdn().lower()})


def create_app(
    kb: KnowledgeBase,
    *,
    token: str | None = None,
    log: Log | None = None,
    trouble: Log | None = None,
    hosts: AllowedHosts | None = None,
    cors_origins: Sequence[str] = (),
    requests_per_connection: int = 0,
) -> FastAPI:
    """The application serving `kb`; `token`, when given, is required of every request (as a
    bearer token, or once as `?token=` in a browser, which keeps it in a cookie). `log` gets a
    line a request, `trouble` (default `log`) the lines of requests that failed on our side.
    A request whose Host `hosts` does not allow gets a 400 (default: loopback names only).
    `cors_origins`: the web origins whose pages may call the API (CORS); none by default.
    `requests_per_connection` > 0 closes a keep-alive connection after that many answers."""
    say = log or (lambda _line: None)
    warn = trouble or say
    allowed = hosts or AllowedHosts()
    in_flight = 0
    served: dict[tuple[str, int], int] = {}  # answers given on each open connection
    app = FastAPI(
        title="kbsearch",
        version=__version__,
        description="Full-text search over a knowledge base of Markdown documents.",
        docs_url=None,  # Swagger UI loads its script from the internet; the page must not
        redoc_url=None,
    )

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        nonlocal in_flight
        started = time.perf_counter()
        response = _authorize(request, token)
        if len(request.url.query) + len(request.url.path) > MAX_REQUEST_LINE:
            limit = f"{MAX_REQUEST_LINE // 1024} kB"
            response = _error("URITooLong", f"the address is longer than {limit}")
        if not allowed.allows(request.headers.get("host")):
            hint = "start the server with --allowed-host NAME to answer it"
            response = _error("BadHost", f"this server does not answer for that host; {hint}")
        if response is None and in_flight >= MAX_REQUESTS:
            response = _error("Busy", "too many requests at once; try again")
        if response is None:
            in_flight += 1
            try:
                response = await asyncio.wait_for(call_next(request), REQUEST_SECONDS)
            except TimeoutError:
                response = _error("Timeout", f"took longer than {REQUEST_SECONDS:g} s")
            finally:
                in_flight -= 1
        if requests_per_connection and request.client is not None:
            connection = (request.client.host, request.client.port)
            answered = served.pop(connection, 0) + 1
            if answered >= requests_per_connection:
                response.headers["Connection"] = "close"
            else:
                served[connection] = answered
                if len(served) > COUNTED_CONNECTIONS:
                    served.pop(next(iter(served)))
        took = (time.perf_counter() - started) * 1000
        shown = [(k, "***" if k == "token" else v) for k, v in request.query_params.multi_items()]
        target = request.url.path + (f"?{urlencode(shown)}" if shown else "")
        client = request.client.host if request.client else "-"
        target = safe(target[:300])  # a path is decoded: a client's escapes stay out of the log
        line = f"{client} {request.method} {target} {response.status_code} {took:.0f} ms"
        (warn if response.status_code >= 500 else say)(line)
        return response

    @app.exception_handler(KbsearchError)
    async def library_error(request: Request, exc: KbsearchError) -> JSONResponse:
        return _error(api.library_error_type(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'][1:])}: {error['msg']}"
            for error in exc.errors()
        )
        return _error("BadRequest", problems or "bad request")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(api.http_error_type(exc.status_code), str(exc.detail))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        warn(f"internal error on {safe(request.url.path)}: {type(exc).__name__}: {safe(str(exc))}")
        return _error("InternalError", "internal error (logged by the server)")

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return _error("BadRequest", str(exc))

    @app.get(
        "/api/search",
        summary="Search",
        tags=["api"],
        response_model=None,
        responses={200: {"model": api.SearchAnswer}, **api.error_responses(400, 401, 414, 503)},
    )
    def api_search(
        q: Annotated[str, Query(description="The query: plain words or the query syntax")] = "",
        limit: Annotated[int, Query(ge=0, le=MAX_PAGE_SIZE)] = 10,
        offset: Annotated[int | None, Query(ge=0, le=100_000)] = None,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        filter: Annotated[list[str], Query(description="key:value, repeatable")] = [],  # noqa: B006
        lang: Annotated[list[str], Query(description="language filter, repeatable")] = [],  # noqa: B006
        tag: Annotated[list[str], Query(description="tags filter, repeatable")] = [],  # noqa: B006
        since: Annotated[str | None, Query(description="lastReviewed on or after")] = None,
        until: Annotated[str | None, Query(description="lastReviewed on or before")] = None,
        facets: Annotated[str, Query(description="comma-separated keys to count")] = "",
        sort: Annotated[str | None, Query(description="relevance, lastReviewed, title")] = None,
        fix: bool = False,
        typos: Annotated[
            bool, Query(description="false: a word the index lacks is not read as its closest")
        ] = True,
        mode: Literal["auto", "plain"] = "auto",
        query_lang: str = "auto",
        prefix: Annotated[
            Literal["none", "last"],
            Query(description="last: the last word is being typed and matches as a prefix"),
        ] = "none",
        fields: Annotated[
            str, Query(description="comma-separated fields of a hit (default: all but text)")
        ] = "",
    ) -> dict[str, Any]:
        """The hits of `kbsearch query` for the same query and options: ids, total, scores
        and snippets are the same."""
        chosen = api.hit_fields(fields)
        started = time.perf_counter()
        results = kb.search(
            q,
            filters=parse_filters(filter, lang, tag),
            since=since or None,
            until=until or None,
            facets=[name.strip() for name in facets.split(",") if name.strip()],
            sort=sort or None,
            limit=limit,
            page=page,
            offset=offset,
            mode=mode,
            fix=fix,
            query_language=None if query_lang == "auto" else query_lang,
            prefix=prefix == "last",
            typos=typos,
        )
        return api.search_json(results, (time.perf_counter() - started) * 1000, chosen)

    @app.get(
        "/api/suggest",
        summary="Completions as you type",
        tags=["api"],
        response_model=None,
        responses={200: {"model": api.Completions}, **api.error_responses(400, 401, 414, 503)},
    )
    def api_suggest(
        q: Annotated[str, Query(max_length=1000)] = "",
        limit: Annotated[int, Query(ge=1, le=20)] = 8,
    ) -> dict[str, Any]:
        """The query with its last word completed by indexed words, most frequent first."""
        return {"query": q, "completions": kb.complete(q, limit)}

    @app.get(
        "/api/documents/{doc_id:path}",
        summary="One document",
        tags=["api"],
        response_model=None,
        responses={200: {"model": api.ApiDocument}, **api.error_responses(401, 404, 414, 503)},
    )
    def api_document(doc_id: str) -> dict[str, Any]:
        """A document's metadata and text, by id (its path in the knowledge base)."""
        return api.document_json(kb.get(doc_id))

    @app.get(
        "/api/health",
        summary="Status",
        tags=["api"],
        response_model=None,
        responses={200: {"model": api.Health}, **api.error_responses(401, 414, 503)},
    )
    def api_health() -> dict[str, Any]:
        """`ok`, the document count and the last update of the index."""
        return api.health_json(kb.status())

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request) -> HTMLResponse:
        form = page.Form.from_params(request.query_params)
        results = _page_results(form) if form.searched else None
        ui = page.ui_language(form, results, request.headers.get("accept-language", ""))
        return HTMLResponse(page.search_page(form, results, ui))

    @app.get("/fragment", response_class=HTMLResponse, include_in_schema=False)
    def results_fragment(request: Request) -> HTMLResponse:
        form = page.Form.from_params(request.query_params)
        results = _page_results(form) if form.searched else None
        ui = page.ui_language(form, results, request.headers.get("accept-language", ""))
        return HTMLResponse(page.results_html(form, results, ui))

    @app.get("/doc/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(
        doc_id: str,
        q: Annotated[str, Query(max_length=2000)] = "",
        ui: Annotated[str, Query(max_length=8)] = "",
    ) -> HTMLResponse:
        chosen = ui if ui in page.UI else ""
        return HTMLResponse(page.document_page(kb.get(doc_id, query=q), q, chosen))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = api.tidy_openapi(spec, bearer=token is not None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to amend it
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    if cors_origins:  # outermost: it answers a browser's preflight, which carries no token
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET"],
            allow_headers=["Authorization"],
            max_age=600,
        )

    def _page_results(form: page.Form) -> SearchResults:
        """The page's search: a query that finds nothing is searched as corrected (unless
        asked as typed), and a correction that finds nothing either is not offered."""

        def run(fix: bool) -> SearchResults:
            return kb.search(
                form.q,
                filters=form.filters(),
                facets=page.FACETS,
                limit=page.PAGE_SIZE,
                page=form.page,
                fix=fix,
                prefix=form.prefix,
                typos=form.fix is not False,  # "search instead for": exactly as typed
            )

        results = run(bool(form.fix))
        if not results.suggestion or form.fix is not None:
            return results
        if results.total:  # found through the closest spellings: the correction was searched
            return dataclasses.replace(results, corrected=True)
        corrected = run(True)
        return corrected if corrected.total else dataclasses.replace(results, suggestion=None)

    return app


def _authorize(request: Request, token: str | None) -> Response | None:
    """None when the request may go on; else the answer it gets instead."""
    if token is None:
        return None
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else ""  # RFC 9110: any case
    given = given or request.cookies.get(TOKEN_COOKIE, "")
    in_query = request.query_params.get("token")
    if in_query is not None and hmac.compare_digest(in_query.encode(), token.encode()):
        # A browser's first visit: keep the token in a cookie and take it out of the address.
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        target = request.url.path + (f"?{urlencode(params)}" if params else "")
        redirect = RedirectResponse(target, status_code=303)
        redirect.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return redirect
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return None
    return _error("Unauthorized", "an access token is required (Authorization: Bearer TOKEN)")


def read_token(path: str | Path) -> str:
    """The access token kept in `path` (its first line); an empty file is an error."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip().splitlines()
    except OSError as exc:
        raise KbsearchError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token or not token[0].strip():
        raise KbsearchError(f"the token file {path} is empty")
    return token[0].strip()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    address = _address(host)
    return address is not None and address.is_loopback


# How `run_http` tells its worker processes (`workers` > 1) what to serve: each opens the index
# itself (`app_from_environment`). The token travels in the environment, which only this user
# can read (/proc/PID/environ), never on a command line.
WORKER_ENVIRONMENT = (
    "KBSEARCH_HTTP_INDEX",
    "KBSEARCH_HTTP_SYNONYMS",
    "KBSEARCH_HTTP_TOKEN",
    "KBSEARCH_HTTP_QUIET",
    "KBSEARCH_HTTP_HOSTS",  # the address served on, then the allowed names, space-separated
    "KBSEARCH_HTTP_CORS",  # the origins allowed to call the API, space-separated
)


def _stderr_log(line: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"kbsearch serve: {stamp} {line}", file=sys.stderr, flush=True)


def app_from_environment() -> FastAPI:
    """The application of one HTTP worker process, with its own open index (uvicorn's factory
    for `workers` > 1; the settings are those `run_http` put in WORKER_ENVIRONMENT)."""
    index, synonyms, token, quiet, hosts, cors = (os.environ.get(n, "") for n in WORKER_ENVIRONMENT)
    kb = KnowledgeBase(index, synonyms or None)
    log = None if quiet == "1" else _stderr_log
    bound, *names = hosts.split() or ["127.0.0.1"]
    allowed = AllowedHosts(bound, tuple(names))
    return create_app(
        kb,
        token=token or None,
        log=log,
        trouble=_stderr_log,
        hosts=allowed,
        cors_origins=tuple(cors.split()),
        requests_per_connection=REQUESTS_PER_CONNECTION,
    )


def run_http(
    kb: KnowledgeBase,
    host: str,
    port: int,
    *,
    token: str | None = None,
    log: Log | None = None,
    notice: Log | None = None,
    workers: int = 1,
    allowed_hosts: tuple[str, ...] = (),
    cors_origins: tuple[str, ...] = (),
) -> None:
    """Serve `kb` over HTTP until SIGTERM or Ctrl-C, then finish the requests in flight; `log`
    gets a line a request, `notice` the lines that always matter (where it serves, warnings).

    `workers` > 1 answers from that many processes, each with its own open index (searches in
    one process take turns: more processes use more cores). `allowed_hosts`: names the server
    answers for besides its address and `localhost` (see `AllowedHosts`); `cors_origins`: the
    web origins whose pages may call the API."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .connections import GuardedH11Protocol

    say = notice or (lambda _line: None)
    if token is None and not is_loopback(host):
        say(f"serving on {host} without an access token: anyone who reaches it can search")
    settings: dict[str, Any] = dict(
        host=host,
        port=port,
        access_log=False,  # one line per request comes from the app, through `log`
        log_level="warning",
        h11_max_incomplete_event_size=2 * MAX_REQUEST_LINE,  # past the 414: dropped
        http=GuardedH11Protocol,  # a deadline for a request's head, connections bounded
        limit_concurrency=None,  # uvicorn's counts idle connections; MAX_REQUESTS instead
        timeout_graceful_shutdown=int(REQUEST_SECONDS),
        server_header=False,
    )
    hosts = AllowedHosts(host, tuple(allowed_hosts))
    say(f"serving http://{host}:{port}/" + (f" with {workers} processes" if workers > 1 else ""))
    if workers <= 1:
        app = create_app(
            kb, token=token, log=log, trouble=notice, hosts=hosts, cors_origins=cors_origins
        )
        uvicorn.Server(uvicorn.Config(app, **settings)).run()
        return
    values = (
        str(kb.index_dir.resolve()),
        str(kb.synonyms_file or ""),
        token or "",
        "1" if log is None else "",
        " ".join((host, *allowed_hosts)),
        " ".join(cors_origins),
    )
    os.environ.update(zip(WORKER_ENVIRONMENT, values, strict=True))
    config = uvicorn.Config(
        "search.app.web:app_from_environment", factory=True, workers=workers, **settings
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
