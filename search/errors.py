"""The one exception hierarchy of kbsearch; the CLI maps each to a message and an exit code."""

from __future__ import annotations

# Exit codes follow grep and sysexits: 2 for usage/setup errors, 75 (EX_TEMPFAIL) for "try again".
EXIT_ERROR = 2
EXIT_TEMPFAIL = 75


class KbsearchError(Exception):
    """Base class of every error kbsearch reports to a user."""

    exit_code: int = EXIT_ERROR


class IndexNotFound(KbsearchError):
    """There is no index at the given location yet."""


class IndexCorrupt(KbsearchError):
    """The index exists but cannot be read; a full rebuild repairs it."""


class IndexOutdated(KbsearchError):
    """The index was built by another version of kbsearch; `kbsearch index` rebuilds it."""


class IndexLocked(KbsearchError):
    """Another process is writing the index."""

    exit_code = EXIT_TEMPFAIL


class BuildFailed(KbsearchError):
    """A rebuild did not write every document; the previous index is left as it was."""


class QuerySyntaxError(KbsearchError):
    """A query (or a filter, sort or date) that cannot be read even as plain words."""


class SourceNotFound(KbsearchError):
    """The folder of documents to index does not exist or is not a folder."""


class DeletionRefused(KbsearchError):
    """A run would delete most of the index (an empty or wrong source folder?) or pages it could
    not see (a folder it cannot list, in a rebuild); the index is unchanged."""


class IndexWriteError(KbsearchError):
    """The index folder cannot be written (no space, no permission, an I/O error); the last
    good index is unchanged."""


class DocumentNotFound(KbsearchError):
    """No indexed document has the given id."""


class DocumentError(KbsearchError):
    """One document cannot be read; carries the path and a reason a person can act on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class NotAPage(DocumentError):
    """A file that reads well but is no page of the site (a draft): left out, not reported."""


class StrictModeError(KbsearchError):
    """`strict=True` indexing found bad documents, so the index was left unchanged."""

    exit_code = 1


class SiteConfigError(KbsearchError):
    """A knowledge base's `kbsearch.toml` (or its site generator's configuration) cannot be used."""
