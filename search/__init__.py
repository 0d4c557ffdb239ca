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
    "Document": ".documents",
    "DocumentError": ".errors",
    "DocumentNotFound": ".errors",
    "ExportReport": ".export",
    "HealthReport": ".health",
    "Hit": ".results",
    "BuildFailed": ".errors",
    "IndexCorrupt": ".errors",
    "IndexLocked": ".errors",
    "IndexNotFound": ".errors",
    "IndexOutdated": ".errors",
    "IndexReport": ".indexer",
    "IndexWriteError": ".errors",
    "IndexStats": ".results",
    "KbsearchError": ".errors",
    "KnowledgeBase": ".knowledgebase",
    "Problem": ".health",
    "QuerySyntaxError": ".errors",
    "SearchResults": ".results",
    "Site": ".sites",
    "SiteConfigError": ".errors",
    "Skipped": ".sources",
    "Snippet": ".highlight",
    "SourceNotFound": ".errors",
    "StoredDocument": ".results",
    "StrictModeError": ".errors",
    "DeletionRefused": ".errors",
    "check": ".health",
    "export_documents": ".export",
    "load_site": ".sites",
    "open_index": ".knowledgebase",
    "query_server": ".client",
    "read_document": ".documents",
    "serve": ".server",
    "update_index": ".indexer",
}
# The modules above that import Whoosh: loaded through `imports.import_whoosh`, which spares a
# cold start the standard-library modules Whoosh imports and never uses.
_WHOOSH_MODULES = frozenset({".export", ".indexer", ".knowledgebase", ".server"})

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
    from .budgets import Budgets
    from .client import query_server
    from .documents import Document, read_document
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
    from .export import ExportReport, export_documents
    from .health import HealthReport, Problem, check
    from .highlight import Snippet
    from .indexer import IndexReport, update_index
    from .knowledgebase import KnowledgeBase, open_index
    from .results import Hit, IndexStats, SearchResults, StoredDocument
    from .server import serve
    from .sites import Site, load_site
    from .sources import Skipped
