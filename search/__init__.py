"""kbsearch: full-text search over a folder of Markdown documents with YAML frontmatter.

import search
report = search.update_index("seeds/", "index/")
kb = search.open_index("index/")
for hit in kb.search("anemia transfusion", filters={"tags": "treatment"}):
    print(hit.score, hit.title, hit.path, hit.snippet)
"""

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it. Imported on first use, so `kbsearch query`
# does not pay for Markdown and YAML parsing it never does.
_EXPORTS = {
    "Budgets": ".budgets",
    "Document": ".kb.documents",
    "DocumentError": ".errors",
    "DocumentNotFound": ".errors",
    "ExportReport": ".kb.export",
    "HealthReport": ".kb.health",
    "Hit": ".kb.results",
    "BuildFailed": ".errors",
    "IndexCorrupt": ".errors",
    "IndexLocked": ".errors",
    "IndexNotFound": ".errors",
    "IndexOutdated": ".errors",
    "IndexReport": ".kb.indexer",
    "IndexWriteError": ".errors",
    "IndexStats": ".kb.results",
    "Translation": ".kb.results",
    "KbsearchError": ".errors",
    "KnowledgeBase": ".kb.knowledgebase",
    "Problem": ".kb.health",
    "QuerySyntaxError": ".errors",
    "SearchResults": ".kb.results",
    "Site": ".kb.sites",
    "SiteConfigError": ".errors",
    "Skipped": ".kb.sources",
    "Snippet": ".text.highlight",
    "SourceNotFound": ".errors",
    "StoredDocument": ".kb.results",
    "StrictModeError": ".errors",
    "DeletionRefused": ".errors",
    "check": ".kb.health",
    "export_documents": ".kb.export",
    "load_site": ".kb.sites",
    "open_index": ".kb.knowledgebase",
    "query_server": ".app.client",
    "read_document": ".kb.documents",
    "serve": ".app.server",
    "update_index": ".kb.indexer",
}
# The modules above that import Whoosh: loaded through `imports.import_whoosh`, which spares a
# cold start the standard-library modules Whoosh imports and never uses.
_WHOOSH_MODULES = frozenset({".kb.export", ".kb.indexer", ".kb.knowledgebase", ".app.server"})

__version__ = "0.1.0"

__all__ = [
    "Budgets",
    "BuildFailed",
    "DeletionRefused",
    "Document",
    "DocumentError",
    "DocumentNotFound",
    "ExportReport",
    "HealthReport",
    "Hit",
    "IndexCorrupt",
    "IndexLocked",
    "IndexNotFound",
    "IndexOutdated",
    "IndexReport",
    "IndexStats",
    "IndexWriteError",
    "KbsearchError",
    "KnowledgeBase",
    "Problem",
    "QuerySyntaxError",
    "SearchResults",
    "Site",
    "SiteConfigError",
    "Skipped",
    "Snippet",
    "SourceNotFound",
    "StoredDocument",
    "StrictModeError",
    "Translation",
    "check",
    "export_documents",
    "load_site",
    "open_index",
    "query_server",
    "read_document",
    "serve",
    "update_index",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    if module in _WHOOSH_MODULES:
        from .imports import import_whoosh

        import_whoosh()
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # the names as type checkers and editors see them
    from .app.client import query_server
    from .app.server import serve
    from .budgets import Budgets
    from .errors import (
        BuildFailed,
        DeletionRefused,
        DocumentError,
        DocumentNotFound,
        IndexCorrupt,
        IndexLocked,
        IndexNotFound,
        IndexOutdated,
        IndexWriteError,
        KbsearchError,
        QuerySyntaxError,
        SiteConfigError,
        SourceNotFound,
        StrictModeError,
    )
    from .kb.documents import Document, read_document
    from .kb.export import ExportReport, export_documents
    from .kb.health import HealthReport, Problem, check
    from .kb.indexer import IndexReport, update_index
    from .kb.knowledgebase import KnowledgeBase, open_index
    from .kb.results import Hit, IndexStats, SearchResults, StoredDocument, Translation
    from .kb.sites import Site, load_site
    from .kb.sources import Skipped
    from .text.highlight import Snippet
