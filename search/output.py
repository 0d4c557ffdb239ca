"""What the CLI prints: the library's results, reports and records as text, HTML, JSON or a
Markdown table. Pure functions returning strings; the CLI decides where they go and whether the
terminal keeps their colours (click strips ANSI codes from pipes and under NO_COLOR).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .evaluate import EvalReport
    from .health import HealthReport
    from .highlight import Snippet
    from .indexer import IndexReport
    from .results import IndexStats, SearchResults, StoredDocument

OUTPUT_FORMATS = ("table", "plain", "html", "json", "jsonl", "paths")

# ANSI styles of the table format: matched words, titles, the dim line under a title.
MATCH = "\x1b[1;33m"  # bold yellow
TITLE = "\x1b[1;36m"  # bold cyan
TITLE_MATCH = "\x1b[1;4;36m"  # ...underlined where it matched
DIM = "\x1b[2m"
RESET = "\x1b[0m"


def _styled(text: str, style: str) -> str:
    return f"{style}{text}{RESET}" if text else ""


def _marked(snippet: Snippet, colour: bool) -> str:
    return snippet.render(lambda text: _styled(text, MATCH)) if colour else snippet.text()


def to_json(data: Any, indent: int | None = 2) -> str:
    return json.dumps(data, ensure_ascii=False, indent=indent)


def index_summary(report: IndexReport) -> str:
    kind = "full rebuild" if report.full else "incremental"
    return (
        f"indexed ({kind}): {report.added} added, {report.updated} updated, "
        f"{report.deleted} deleted, {report.unchanged} unchanged, {len(report.skipped)} skipped"
        + (f", {report.kept} kept (their folder cannot be listed)" if report.kept else "")
    )


def results_text(results: SearchResults, output: str) -> str:
    """Results in one of OUTPUT_FORMATS (`table` is `plain` with colours)."""
    if output == "json":
        return to_json(results.to_dict())
    if output == "jsonl":
        return "\n".join(to_json(hit.to_dict(), None) for hit in results)
    if output == "paths":
        return "\n".join(hit.path for hit in results)
    if output == "html":
        return _results_html(results)
    return _results_table(results, colour=output == "table")


def _results_table(results: SearchResults, colour: bool) -> str:
    lines = []
    shown_from, shown_to = results.offset + 1, results.offset + len(results)
    if results.total and results.hits:
        read_as = results.language_name or "either language"
        lines.append(
            f"{results.total_text} result(s), showing {shown_from}-{shown_to} (read as {read_as})"
        )
    for number, hit in enumerate(results, shown_from):
        if colour:
            title = hit.title_snippet.render(
                lambda text: _styled(text, TITLE_MATCH), lambda text: _styled(text, TITLE)
            )
        else:
            title = hit.title
        score = "" if hit.score is None else f"  score {hit.score:.2f}"
        where = f"   {hit.path}{score}"
        lines += [f"\n{number}. {title}", _styled(where, DIM) if colour else where]
        snippet = _marked(hit.snippet, colour)
        if snippet:
            lines.append(f"   {snippet}")
        for section in hit.sections:
            lines.append(f"     § {section.heading}")
            text = _marked(section.snippet, colour)
            if text:
                lines.append(f"       {text}")
    facets = facets_text(results.facets)
    return "\n".join(lines + ([facets] if facets else []))


def _results_html(results: SearchResults) -> str:
    items = [
        f'<li><a href="{html.escape(hit.path)}">{hit.title_snippet.html()}</a>'
        f"<p>{hit.snippet.html()}</p></li>"
        for hit in results
    ]
    return "\n".join(['<ol class="kbsearch-results">', *items, "</ol>"])


def facets_text(facets: Mapping[str, Mapping[str, int]]) -> str:
    """Each facet's values and counts, a value a line."""
    lines = []
    for name, counts in facets.items():
        lines.append(f"\n{name}:")
        width = max((len(value) for value in counts), default=0)
        lines += [f"  {value.ljust(width)}  {count:>6}" for value, count in counts.items()]
    return "\n".join(lines)


def document_text(doc: StoredDocument, colour: bool = True) -> str:
    lines = [
        _styled(doc.title, TITLE) if colour else doc.title,
        f"id: {doc.id}",
        f"path: {doc.path}",
    ]
    for key, value in doc.metadata.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        lines.append(f"{key}: {shown}")
    return "\n".join([*lines, "", doc.body])


def stats_text(stats: IndexStats) -> str:
    lines = [
        f"index:        {stats.index_dir}",
        f"documents:    {stats.documents}",
        f"size:         {stats.size_bytes / 1_048_576:.1f} MiB",
        f"last update:  {stats.last_updated}",
        f"source:       {stats.source}",
    ]
    lines += [f"{key + ':':<13} {value}" for key, value in stats.extra.items()]
    lines.append(f"fields:       {', '.join(stats.fields)}")
    facets = facets_text(stats.values)
    return "\n".join(lines + ([facets] if facets else []))


EVAL_COLUMNS = ("collection", "system", "queries", "nDCG@10", "R@100", "MRR@10", "seconds")


def _eval_row(report: EvalReport) -> tuple[str, ...]:
    return (
        report.collection,
        report.system,
        str(report.queries),
        f"{report.ndcg10:.4f}",
        f"{report.recall100:.4f}",
        f"{report.mrr10:.4f}",
        f"{report.seconds:.2f}",
    )


def eval_table(reports: Iterable[EvalReport], markdown: bool = False) -> str:
    """The scores of `kbsearch eval` as aligned text, or as a Markdown table for the docs."""
    rows = [_eval_row(report) for report in reports]
    if markdown:
        return markdown_table(EVAL_COLUMNS, rows, numeric_from=2)
    widths = (16, 12, 7, 8, 7, 7, 8)
    lines = [EVAL_COLUMNS, *rows]
    return "\n".join(
        " ".join(
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    )


def markdown_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1
) -> str:
    """A GitHub-flavoured Markdown table; columns from `numeric_from` on are right-aligned."""
    align = ["---" if n < numeric_from else "---:" for n in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def health_text(report: HealthReport) -> str:
    """`kbsearch check`'s problems, a line each, then counts by kind and by source."""
    lines = [f"{problem.path}: {problem.kind}: {problem.message}" for problem in report.problems]
    lines.append(
        f"\n{report.documents} document(s) checked as of {report.as_of}, "
        f"{len(report.problems)} problem(s)"
    )
    for title, counts in (
        ("by kind", report.by_kind()),
        ("by source / sourceType", report.by_source()),
    ):
        if counts:
            lines.append(f"\n{title}:")
            width = max(len(key) for key in counts)
            lines += [f"  {key.ljust(width)}  {count:>6}" for key, count in counts.items()]
    return "\n".join(lines)
