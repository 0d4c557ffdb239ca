"""The fixed choices of the knowledge base's options: the site generators kbsearch reads
(`--site`) and the kinds of problem `kbsearch check` reports (`--fail-on`). Apart from the
modules that act on them, so the CLI offers them without importing those (a query loads none)."""

from __future__ import annotations

GENERATORS = ("hugo", "mkdocs", "jekyll", "docusaurus", "obsidian", "plain")
PROBLEM_KINDS = (
    "invalid",
    "missing_key",
    "overdue",
    "unknown_frequency",
    "duplicate_url",
    "duplicate_title",
    "broken_link",
    "empty_body",
)
