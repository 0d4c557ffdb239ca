"""The `kbsearch` command: parse options, call the library, format output, map errors."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import search

from .. import __version__
from ..budgets import DEFAULT_BUDGETS, Budgets
from ..errors import KbsearchError
from ..kb.choices import GENERATORS, PROBLEM_KINDS
from ..kb.sources import DEFAULT_EXCLUDE, DEFAULT_SOURCE
from ..text.highlight import SNIPPET_CHARS
from . import output
from .output import OUTPUT_FORMATS, skipped_line

if TYPE_CHECKING:
    pass

# The library API (`search.open_index`, `search.update_index`, `search.check`) is imported on
# first use, so each command loads only what it runs: a query never imports the indexer.

F = TypeVar("F", bound=Callable[..., Any])

EXIT_NOTHING_FOUND = 1  # like grep: the search ran and found nothing
EXIT_SKIPPED = 1  # the index was committed, but some documents were bad
EXIT_PROBLEMS = 1  # `check` found problems
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in kbsearch, never the user's input
SORT_CHOICES = ("relevance", "lastReviewed", "-lastReviewed", "title", "-title")


def _color() -> bool | None:
    """None lets click colour a terminal and strip codes from pipes; NO_COLOR always strips."""
    return False if os.environ.get("NO_COLOR") else None


def _echo(text: str = "", err: bool = False) -> None:
    click.echo(text, err=err, color=_color())


def _print(text: str) -> None:
    """Print a block of output; nothing at all (not an empty line) for an empty one."""
    if text:
        _echo(text)


def handle_errors(func: F) -> F:
    """Turn every KbsearchError into `kbsearch: message` and its exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KbsearchError as exc:
            _echo(f"kbsearch: {output.safe(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click prints usage errors itself, with exit code 2
        except KeyboardInterrupt:
            _echo("kbsearch: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `kbsearch query x | head`: the reader left, nothing to say
            sys.stderr.close()
            sys.exit(0)
        except Exception as exc:  # a bug: say so plainly, keep the traceback for developers
            if os.environ.get("KBSEARCH_DEBUG"):
                raise
            _echo(
                f"kbsearch: internal error: {type(exc).__name__}: {output.safe(str(exc))}", err=True
            )
            _echo("kbsearch: set KBSEARCH_DEBUG=1 for details and please report it", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


index_option = click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Index folder [default: $KBSEARCH_INDEX or index/].",
)
synonyms_option = click.option(
    "--synonyms",
    "synonyms_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A synonyms file added to the built-in groups [default: $KBSEARCH_SYNONYMS].",
)


def reading_options(func: F) -> F:
    """The budgets and the link rule of `index` and `check`, which read documents alike; the
    command receives them as `budgets` (a Budgets) and `follow_links`."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        max_size_mb: float,
        max_values: int,
        max_depth: int,
        timeout: float,
        max_memory_mb: int,
        **kwargs: Any,
    ) -> Any:
        budgets = Budgets(max_size_mb, max_values, max_depth, timeout, max_memory_mb)
        return func(*args, budgets=budgets, **kwargs)

    positive = click.FloatRange(0, min_open=True)
    options = [
        click.option(
            "--max-size",
            "max_size_mb",
            type=positive,
            default=DEFAULT_BUDGETS.max_size_mb,
            show_default=True,
            metavar="MB",
            help="Skip a document larger than this.",
        ),
        click.option(
            "--max-values",
            type=click.IntRange(1),
            default=DEFAULT_BUDGETS.max_values,
            show_default=True,
            metavar="N",
            help="Skip a document whose frontmatter expands (YAML aliases) to more values.",
        ),
        click.option(
            "--max-depth",
            type=click.IntRange(1),
            default=DEFAULT_BUDGETS.max_depth,
            show_default=True,
            metavar="N",
            help="Skip a document whose lists, quotes or frontmatter nest deeper.",
        ),
        click.option(
            "--timeout",
            type=positive,
            default=DEFAULT_BUDGETS.timeout,
            show_default=True,
            metavar="SECONDS",
            help="Skip a document that takes longer to read (its worker is killed).",
        ),
        click.option(
            "--max-memory",
            "max_memory_mb",
            type=click.IntRange(1),
            default=DEFAULT_BUDGETS.max_memory_mb,
            show_default=True,
            metavar="MB",
            help="Skip a document whose reading needs more memory than this.",
        ),
        click.option(
            "--follow-links",
            is_flag=True,
            help="Read symlinks that point outside SOURCE (reported and skipped by default).",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def site_option(function: F) -> F:
    """`--site`: the site generator the pages are written for, when recognising it is not enough."""
    return click.option(  # type: ignore[return-value]
        "--site",
        type=click.Choice(GENERATORS),
        help="The generator the pages are written for [default: recognised from the files].",
    )(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kbsearch")
def main() -> None:
    """Full-text search over a knowledge base of Markdown documents with YAML frontmatter."""


# ---------------------------------------------------------------------------------------- index


@main.command("index")
@click.argument("source", type=click.Path(path_type=Path), default=DEFAULT_SOURCE, required=False)
@index_option
@click.option("--full", is_flag=True, help="Rebuild from scratch (aside, then swapped in).")
@click.option("--strict", is_flag=True, help="Any bad document fails the run; index unchanged.")
@click.option("--wait", is_flag=True, help="Wait for another writer instead of exiting 75.")
@click.option(
    "--include", multiple=True, help="Glob of documents [default: *.md *.markdown *.txt]."
)
@click.option(
    "--exclude",
    multiple=True,
    help="Glob of files to leave out, besides README*, LICENSE* and hidden files.",
)
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Delete even when most of the index would go (refused by default: an empty folder?).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary (errors only).")
@site_option
@click.option(
    "--base-url",
    metavar="URL",
    help="Where the site is published, for each hit's URL [default: from its configuration].",
)
@reading_options
@handle_errors
def index_command(
    source: Path,
    index_dir: Path | None,
    full: bool,
    strict: bool,
    wait: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    allow_mass_delete: bool,
    as_json: bool,
    quiet: bool,
    site: str | None,
    base_url: str | None,
    budgets: Budgets,
    follow_links: bool,
) -> None:
    """Index the documents under SOURCE [default: seeds/]; incremental unless --full.

    Exit 0 when every document was indexed, 1 when some were skipped (the rest is committed),
    2 on usage errors and when the run was refused or could not write (the index is left as it
    was), 75 when another process is writing the index.
    """
    show_bar = not quiet and not as_json and sys.stderr.isatty()
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="indexing", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        report = search.update_index(
            source,
            index_dir,
            full=full,
            strict=strict,
            wait=wait,
            include=include or None,
            exclude=DEFAULT_EXCLUDE + exclude if exclude else None,
            progress=progress if show_bar else None,
            budgets=budgets,
            follow_links=follow_links,
            allow_mass_delete=allow_mass_delete,
            site=site,
            base_url=base_url,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        _echo(output.to_json(report.to_dict(), indent=None))
    else:
        for skipped in report.skipped:
            _echo(skipped_line(skipped), err=True)
        if not quiet:
            _echo(output.index_summary(report))
    sys.exit(0 if report.ok else EXIT_SKIPPED)


# ---------------------------------------------------------------------------------------- query


def _parse_filters(
    pairs: Sequence[str], shorthands: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--filter")
        filters.setdefault(key.strip(), []).append(value.strip())
    for key, values in shorthands.items():
        if values:
            filters.setdefault(key, []).extend(values)
    return filters


@main.command("query")
@click.argument("text", nargs=-1)
@index_option
@click.option("--limit", "-n", type=click.IntRange(0), default=10, show_default=True)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option(
    "--offset", type=click.IntRange(0), default=None, help="Skip N hits (overrides --page)."
)
@click.option(
    "--filter",
    "-f",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only documents whose KEY has VALUE; repeat: same key OR, other keys AND.",
)
@click.option("--tag", multiple=True, help="Shorthand for --filter tags=VALUE.")
@click.option("--source", "sources", multiple=True, help="Shorthand for --filter source=VALUE.")
@click.option("--lang", multiple=True, help="Shorthand for --filter language=VALUE.")
@click.option(
    "--query-lang",
    metavar="CODE",
    default="auto",
    show_default=True,
    help="The query's language (en, de, pt-BR, ...): its pages rank first, others' come when "
    "they match at least as well (unlike --lang).",
)
@click.option("--since", metavar="DATE", help="lastReviewed on or after DATE (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="lastReviewed on or before DATE (YYYY-MM-DD).")
@click.option(
    "--facets", metavar="KEYS", default="", help="Count values of these keys, e.g. tags,source."
)
@click.option("--sort", type=click.Choice(SORT_CHOICES), default="relevance", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="table is coloured on a terminal; plain never is.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--plain", "plain_words", is_flag=True, help="Read the query as plain words, no syntax."
)
@click.option("--fix", is_flag=True, help="Search the spelling suggestion when there is one.")
@click.option(
    "--no-feedback",
    is_flag=True,
    help="Rank long questions by their own words only (no feedback from the top pages).",
)
@click.option(
    "--no-server", is_flag=True, help="Search in this process even if `kbsearch serve` runs."
)
@synonyms_option
@click.option(
    "--snippet-chars", type=click.IntRange(20, 5000), default=SNIPPET_CHARS, show_default=True
)
@handle_errors
def query_command(
    text: tuple[str, ...],
    index_dir: Path | None,
    limit: int,
    page: int,
    offset: int | None,
    filters: tuple[str, ...],
    tag: tuple[str, ...],
    sources: tuple[str, ...],
    lang: tuple[str, ...],
    query_lang: str,
    since: str | None,
    until: str | None,
    facets: str,
    sort: str,
    fmt: str,
    as_json: bool,
    plain_words: bool,
    fix: bool,
    no_feedback: bool,
    no_server: bool,
    synonyms_file: Path | None,
    snippet_chars: int,
) -> None:
    """Search the index for TEXT (plain words, or the query syntax in the README).

    Exit 0 when something was found, 1 when nothing matched, 2 on errors.
    """
    query = " ".join(text)
    chosen_filters = _parse_filters(filters, {"tags": tag, "source": sources, "language": lang})
    if not query.strip() and not chosen_filters and not since and not until:
        raise click.UsageError("give a query, or a filter to list the documents that pass it")
    options: dict[str, Any] = dict(
        filters=chosen_filters,
        since=since,
        until=until,
        facets=[name.strip() for name in facets.split(",") if name.strip()],
        sort=sort,
        limit=limit,
        page=page,
        offset=offset,
        mode="plain" if plain_words else "auto",
        fix=fix,
        snippet_chars=snippet_chars,
        feedback=not no_feedback,
        query_language=None if query_lang == "auto" else query_lang,
    )
    # In `kbsearch serve` (which runs the launcher's queries) this is the index it holds open;
    # elsewhere a running server's answer, if one runs; else the search runs here.
    results = None if no_server else search.query_server(query, index_dir, synonyms_file, **options)
    if results is None:
        with search.open_index(index_dir, synonyms=synonyms_file) as kb:
            results = kb.search(query, **options)
    fmt = "json" if as_json else fmt
    for notice in results.notices:
        _echo(f"kbsearch: {output.safe(notice)}", err=True)
    if results.suggestion and fmt in ("table", "plain"):
        verb = "Searched for" if results.corrected else "Did you mean"
        _echo(f"{verb}: {output.safe(results.suggestion)}")
    if not results.total and fmt in ("table", "plain"):
        shown = results.query if len(results.query) <= 80 else results.query[:79] + "…"
        _echo(f"no results for {shown!r}", err=True)
    _print(output.results_text(results, fmt))
    sys.exit(0 if results.total else EXIT_NOTHING_FOUND)


# ---------------------------------------------------------------------------------------- serve


def _host_port(value: str | None) -> tuple[str, int] | None:
    """`8080`, `:8080` or `HOST:8080` (an IPv6 host in brackets) as (host, port)."""
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not [HOST:]PORT", param_hint="--http")
    return host, int(port)


@main.command("serve")
@index_option
@synonyms_option
@click.option("--quiet", "-q", is_flag=True, help="Log errors only, not each query.")
@click.option(
    "--http",
    "http",
    metavar="[HOST:]PORT",
    help="Also serve the HTTP API and the search page (host 127.0.0.1 unless given).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="HTTP processes, each with the index open (searches in one process take turns).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Require the token in this file of every HTTP request (for more than localhost).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A host name the HTTP server answers for (repeatable; *.example.org for any under it); "
    "others get a 400 [default: localhost, its address, and this machine's names].",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="A web origin whose pages may call the HTTP API, e.g. https://docs.example.org "
    "(repeatable; * for any) [default: none].",
)
@handle_errors
def serve_command(
    index_dir: Path | None,
    synonyms_file: Path | None,
    quiet: bool,
    http: str | None,
    workers: int,
    token_file: Path | None,
    allowed_hosts: tuple[str, ...],
    cors_origins: tuple[str, ...],
) -> None:
    """Keep the index open and run `kbsearch query` for it: a query then loads neither click nor
    Whoosh. With --http, also serve the HTTP API (/api/search, /api/suggest,
    /api/documents/ID, /api/health, /openapi.json) and the search page (/).

    Runs until Ctrl-C or SIGTERM; picks up rebuilds of the index by itself. A query runs in its
    own process whenever no server answers it as that process would.
    """
    address = _host_port(http)
    http_only = token_file is not None or workers > 1 or allowed_hosts or cors_origins
    if http_only and address is None:
        raise click.UsageError(
            "--token-file, --workers, --allowed-host and --cors-origin are for --http"
        )
    import contextlib
    import signal

    stderr = sys.stderr  # this one: while the server runs a command, sys.stderr is the command's

    def log(line: str) -> None:
        stamped = f"kbsearch serve: {dt.datetime.now():%H:%M:%S} {line}"
        click.echo(stamped, file=stderr, color=_color())

    # serve stops on SIGTERM cleanly, then hands it here: a stopped server is a success.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C is how a foreground server is stopped: not an error.
    with contextlib.suppress(KeyboardInterrupt):
        token = None
        if token_file is not None:
            from .web import read_token

            token = read_token(token_file)
        search.serve(
            index_dir,
            synonyms_file,
            log=log,
            quiet=quiet,
            http=address,
            token=token,
            http_workers=workers,
            allowed_hosts=allowed_hosts,
            cors_origins=cors_origins,
        )


# ---------------------------------------------------------------------- show, similar, stats


@main.command("show")
@click.argument("doc_id")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the document as JSON.")
@handle_errors
def show_command(doc_id: str, index_dir: Path | None, as_json: bool) -> None:
    """Print one document's metadata and text; DOC_ID is its path relative to the source folder."""
    with search.open_index(index_dir) as kb:
        doc = kb.get(doc_id)
    if as_json:
        _echo(output.to_json(doc.to_dict()))
        return
    _echo(output.document_text(doc))


@main.command("similar")
@click.argument("doc_id")
@index_option
@click.option("--limit", "-n", type=click.IntRange(1), default=10, show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@handle_errors
def similar_command(
    doc_id: str, index_dir: Path | None, limit: int, fmt: str, as_json: bool
) -> None:
    """List documents like DOC_ID (more-like-this on its key terms)."""
    with search.open_index(index_dir) as kb:
        results = kb.similar(doc_id, limit=limit)
    _print(output.results_text(results, "json" if as_json else fmt))
    sys.exit(0 if results.total else EXIT_NOTHING_FOUND)


@main.command("stats")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@handle_errors
def stats_command(index_dir: Path | None, as_json: bool) -> None:
    """Document count, fields, index size, last update and counts of the main metadata values."""
    with search.open_index(index_dir) as kb:
        stats = kb.stats()
    if as_json:
        _echo(output.to_json(stats.to_dict()))
    else:
        _echo(output.stats_text(stats))


# ----------------------------------------------------------------------------------- eval


@main.command("eval")
@click.argument("collections", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Hits retrieved a query (Recall@100 needs 100).",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Also run SQLite FTS5 (porter, bm25) on the same text and on the raw Markdown files.",
)
@click.option(
    "--mode",
    type=click.Choice(("plain", "auto")),
    default="plain",
    show_default=True,
    help="How queries are read: plain words, or as `kbsearch query` reads them by default "
    "(syntax where the text has it; reported as kbsearch-auto).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a collection and system.")
@click.option("--markdown", is_flag=True, help="The table in Markdown, as the docs show it.")
@handle_errors
def eval_command(
    collections: tuple[Path, ...],
    index_dir: Path | None,
    limit: int,
    compare: bool,
    mode: str,
    as_json: bool,
    markdown: bool,
) -> None:
    """Score ranking on test collections (BEIR layout): nDCG@10, Recall@100, MRR@10.

    Builds (or reuses) an index of each collection under --index (default index/eval/NAME) and
    runs every query through the same search() users get, in plain-words mode (--mode auto:
    as `kbsearch query` reads a query by default).
    """
    from .evaluate import baselines, evaluate  # only this command needs it

    reports = []
    for folder in collections:
        target = index_dir / folder.resolve().name if index_dir is not None else None
        reports.append(
            evaluate(folder, target, limit=limit, mode="auto" if mode == "auto" else "plain")
        )
        if compare:
            reports.extend(baselines(folder, limit=limit))
    if as_json:
        for report in reports:
            _echo(output.to_json(report.to_dict(), indent=None))
        return
    _echo(output.eval_table(reports, markdown=markdown))


# --------------------------------------------------------------------------------- export


@main.command("export")
@click.argument("source", type=click.Path(path_type=Path), default=DEFAULT_SOURCE, required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("jsonl", "opensearch")),
    default="jsonl",
    show_default=True,
    help="JSON lines, or an OpenSearch/Elasticsearch _bulk file (its mapping written beside).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write [default: standard output; a bulk file needs one].",
)
@click.option("--index-name", default="kbsearch", show_default=True, help="The bulk file's index.")
@reading_options
@handle_errors
def export_command(
    source: Path,
    fmt: str,
    output: Path | None,
    index_name: str,
    budgets: Budgets,
    follow_links: bool,
) -> None:
    """Write every document under SOURCE as parsed, to load into another engine.

    Exit 0 when every document was written, 1 when some were skipped (as `kbsearch index`
    would skip them), 2 on errors.
    """
    if fmt == "opensearch" and output is None:
        raise click.UsageError("--format opensearch needs --output FILE (the mapping goes beside)")
    report = search.export_documents(
        source,
        output if output is not None else sys.stdout,
        fmt,  # type: ignore[arg-type]
        index_name=index_name,
        budgets=budgets,
        follow_links=follow_links,
    )
    for skipped in report.skipped:
        _echo(skipped_line(skipped), err=True)
    if output is not None:
        beside = f", its mapping in {report.mapping}" if report.mapping else ""
        _echo(f"exported {report.documents} document(s) to {output}{beside}", err=True)
    sys.exit(0 if report.ok else EXIT_SKIPPED)


# ---------------------------------------------------------------------------------- check


def _parse_date_option(value: str | None) -> dt.date | None:
    if value is None:
        return None
    from ..keys import parse_date

    try:
        return parse_date(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--as-of"
        ) from None


@main.command("check")
@click.argument("source", type=click.Path(path_type=Path), default=DEFAULT_SOURCE, required=False)
@click.option("--as-of", metavar="DATE", help="Judge review dates as of DATE [default: today].")
@click.option(
    "--fail-on",
    metavar="KINDS",
    default="",
    help=f"Only these kinds exit 1 (comma-separated from: {', '.join(PROBLEM_KINDS)}).",
)
@click.option(
    "--base-url",
    "base_urls",
    multiple=True,
    metavar="URL",
    help="Prefix of the knowledge base's own published pages; links under it are "
    "checked against the documents' `url`s. Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@site_option
@reading_options
@handle_errors
def check_command(
    source: Path,
    as_of: str | None,
    fail_on: str,
    base_urls: tuple[str, ...],
    as_json: bool,
    site: str | None,
    budgets: Budgets,
    follow_links: bool,
) -> None:
    """Report what is wrong with the documents under SOURCE [default: seeds/].

    Invalid frontmatter, missing recommended keys, pages overdue for review, duplicate urls and
    titles, broken links, empty bodies. Exit 0 when clean, 1 when problems were found (of the
    --fail-on kinds, if given), 2 on errors.
    """
    kinds = [kind.strip() for kind in fail_on.split(",") if kind.strip()]
    unknown = sorted(set(kinds) - set(PROBLEM_KINDS))
    if unknown:
        raise click.BadParameter(f"unknown kind(s): {', '.join(unknown)}", param_hint="--fail-on")
    report = search.check(
        source,
        as_of=_parse_date_option(as_of),
        base_urls=base_urls,
        budgets=budgets,
        follow_links=follow_links,
        site=site,
    )
    _echo(output.to_json(report.to_dict()) if as_json else output.health_text(report))
    sys.exit(EXIT_PROBLEMS if report.failing(kinds or None) else 0)
