"""kbsearch: full-text search over a folder of Markdown documents with YAML frontmatter.

import search
report = search.update_index("seeds/", "index/")
kb = search.open_index("index/")
for hit in kb.search("anemia transfusion", filters={"tags": "treatment"}):
    print(hit.score, hit.title, hit.path, hit.snippet)
"""

from .documents import Document, read_document
from .errors import (
    DocumentError,
    DocumentNotFound,
    IndexCorrupt,
    IndexLocked,
    IndexNotFound,
    KbsearchError,
    QuerySyntaxError,
    SourceNotFound,
    StrictModeError,
)
from .health import HealthReport, Problem, check
from .highlight import Snippet
from .indexer import IndexReport, Skipped, update_index
from .knowledgebase import KnowledgeBase, open_index
from .results import Hit, IndexStats, SearchResults, StoredDocument

__version__ = "0.1.0"

__all__ = [
    "Document",
    "DocumentError",
    "DocumentNotFound",
    "HealthReport",
    "Hit",
    "IndexCorrupt",
    "IndexLocked",
    "IndexNotFound",
    "IndexReport",
    "IndexStats",
    "KbsearchError",
    "KnowledgeBase",
    "Problem",
    "QuerySyntaxError",
    "SearchResults",
    "Skipped",
    "Snippet",
    "SourceNotFound",
    "StoredDocument",
    "StrictModeError",
    "check",
    "open_index",
    "read_document",
    "update_index",
]
