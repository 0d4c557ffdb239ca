"""What the CLI prints: the library's results, reports and records as text, HTML, JSON or a
Markdown table. Pure functions returning strings; the CLI decides where they go and whether the
terminal keeps their colours (click strips ANSI codes from pipes and under NO_COLOR).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..kb.health import HealthReport
    from ..kb.indexer import IndexReport
    from ..kb.results import IndexStats, SearchResults, StoredDocument
    from ..kb.sources import Skipped
    from ..text.highlight import Snippet
    from .evaluate import EvalReport

OUTPUT_FORMATS = ("table", "plain", "html", "json", "jsonl", "paths")

# ANSI styles of the table format: matched words, titles, the dim line under a title.
MATCH = "\x1b[1;33m"  # bold yellow
TITLE = "\x1b[1;36m"  # bold cyan
TITLE_MATCH = "\x1b[1;4;36m"  # ...underlined where it matched
DIM = "\x1b[2m"
RESET = "\x1b[0m"


# Characters that steer a terminal instead of showing: C0 but tab (and newline where lines
# belong), DEL, C1. A document or a file name must not clear a screen, retitle a window, write
# to the clipboard (OSC 52) or forge a line of a report, in a terminal or in cron's mail.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def safe(text: str, lines: bool = False) -> str:
    """Text from a document for a terminal: each control character shown as an escape
    (`\\x1b`); `lines` keeps line breaks (a body), else they are escaped too."""
    return (_CONTROLS if lines else _LINE_CONTROLS).sub(_escape, text)


def safe_path(path: str) -> str:
    """A path for a terminal: as it is, or quoted with its control characters escaped when it
    has any (a newline in a file name must not start a line of its own)."""
    shown = safe(path)
    return path if shown == path else f'"{shown}"'


def _styled(text: str, style: str) -> str:
    return f"{style}{text}{RESET}" if text else ""


def _marked(snippet: Snippet, colour: bool) -> str:
    if colour:
        return snippet.render(lambda text: _styled(safe(text), MATCH), safe)
    return safe(snippet.text())


def to_json(data: Any, indent: int | None = 2) -> str:
    return json.dumps(data, ensure_ascii=False, indent=indent)


def skipped_line(skipped: Skipped) -> str:
    """A document the indexer (or the export) skipped, for the terminal or cron's mail."""
    return f"kbsearch: skipped {safe_path(skipped.path)}: {safe(skipped.reason)}"


def index_summary(report: IndexReport) -> str:
    kind = "full rebuild" if report.full else "incremental"
    return (
        f"indexed ({kind}): {report.added} added, {report.updated} updated, "
        f"{report.deleted} deleted, {report.unchanged} unchanged, {len(report.skipped)} skipped"
        + (f", {report.kept} kept (their folder cannot be listed)" if report.kept else "")
        + (f"; {report.left_out} file(s) no pages (drafts, fragments)" if report.left_out else "")
        + (f"; read as a {report.site}" if report.site else "")
    )


def results_text(results: SearchResults, output: str) -> str:
    """Results in one of OUTPUT_FORMATS (`table` is `plain` with colours)."""
    if output == "json":
        return to_json(results.to_dict())
    if output == "jsonl":
        return "\n".join(to_json(hit.to_dict(), None) for hit in results)
    if output == "paths":
        return "\n".join(safe_path(hit.path) for hit in results)
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
                lambda text: _styled(safe(text), TITLE_MATCH),
                lambda text: _styled(safe(text), TITLE),
            )
        else:
            title = safe(hit.title)
        score = "" if hit.score is None else f"  score {hit.score:.2f}"
        # The page's published address when its site gives one, else the file.
        where = f"   {safe(hit.url) if hit.url else safe_path(hit.path)}{score}"
        lines += [f"\n{number}. {title}", _styled(where, DIM) if colour else where]
        snippet = _marked(hit.snippet, colour)
        if snippet:
            lines.append(f"   {snippet}")
        if hit.translations:
            also = ", ".join(safe(t.language) for t in hit.translations)
            lines.append(_styled(f"   also in {also}", DIM) if colour else f"   also in {also}")
        for section in hit.sections:
            heading = _marked(section.marked_heading, colour) or safe(section.heading)
            lines.append(f"     § {heading}")
            text = "" if hit.repeats_snippet(section) else _marked(section.snippet, colour)
            if text:
                lines.append(f"       {text}")
    facets = facets_text(results.facets)
    return "\n".join(lines + ([facets] if facets else []))


def _results_html(results: SearchResults) -> str:
    items = [
        f'<li><a href="{html.escape(hit.url or hit.path)}">{hit.title_snippet.html()}</a>'
        f"<p>{hit.snippet.html()}</p></li>"
        for hit in results
    ]
    return "\n".join(['<ol class="kbsearch-results">', *items, "</ol>"])


def facets_text(facets: Mapping[str, Mapping[str, int]]) -> str:
    """Each facet's values and counts, a value a line."""
    lines = []
    for name, counts in facets.items():
        lines.append(f"\n{safe(name)}:")
        width = max((len(safe(value)) for value in counts), default=0)
        lines += [f"  {safe(value).ljust(width)}  {count:>6}" for value, count in counts.items()]
    return "\n".join(lines)


def document_text(doc: StoredDocument, colour: bool = True) -> str:
    lines = [
        _styled(safe(doc.title), TITLE) if colour else safe(doc.title),
        f"id: {safe_path(doc.id)}",
        f"path: {safe_path(doc.path)}",
        *([f"url: {safe(doc.url)}"] if doc.url else []),
    ]
    for key, value in doc.metadata.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        lines.append(f"{safe(str(key))}: {safe(str(shown))}")
    return "\n".join([*lines, "", safe(doc.body, lines=True)])


def stats_text(stats: IndexStats) -> str:
    lines = [
        f"index:        {stats.index_dir}",
        f"documents:    {stats.documents}",
        f"size:         {stats.size_bytes / 1_048_576:.1f} MiB",
        f"last update:  {stats.last_updated}",
        f"source:       {safe_path(str(stats.source))}",
    ]
    lines += [f"{key + ':':<13} {safe(str(value))}" for key, value in stats.extra.items()]
    lines.append(f"fields:       {', '.join(stats.fields)}")
    facets = facets_text(stats.values)
    return "\n".join(lines + ([facets] if facets else []))


EVAL_COLUMNS = (
    "collection",
    "system",
    "queries",
    "nDCG@10",
    "R@100",
    "MRR@10",
    "H@1",
    "H@10",
    "seconds",
)


def _eval_row(report: EvalReport) -> tuple[str, ...]:
    return (
        report.collection,
        report.system,
        str(report.queries),
        f"{report.ndcg10:.4f}",
        f"{report.recall100:.4f}",
        f"{report.mrr10:.4f}",
        f"{report.hits1:.4f}",
        f"{report.hits10:.4f}",
        f"{report.seconds:.2f}",
    )


def eval_table(reports: Iterable[EvalReport], markdown: bool = False) -> str:
    """The scores of `kbsearch eval` as aligned text, or as a Markdown table for the docs."""
    rows = [_eval_row(report) for report in reports]
    if markdown:
        return markdown_table(EVAL_COLUMNS, rows, numeric_from=2)
    widths = (18, 15, 7, 8, 7, 7, 7, 7, 8)
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
    lines = [
        f"{safe_path(problem.path)}: {problem.kind}: {safe(problem.message)}"
        for problem in report.problems
    ]
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
            width = max(len(safe(key)) for key in counts)
            lines += [f"  {safe(key).ljust(width)}  {count:>6}" for key, count in counts.items()]
    return "\n".join(lines)
