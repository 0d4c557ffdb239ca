"""The HTTP API's shape: what `/api/*` answers, as JSON and as the OpenAPI document says.

Names follow Meilisearch where it has one (`processingTimeMs`, `page`, `totalPages`); a hit
carries its path in the knowledge base, never the server's file path. The pydantic models only
describe the answers (FastAPI's `responses=`): the answers are built here, not validated.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import (
    DocumentNotFound,
    IndexCorrupt,
    IndexNotFound,
    IndexOutdated,
    KbsearchError,
    QuerySyntaxError,
)
from ..kb.results import Hit, IndexStatus, SearchResults, StoredDocument

# What a hit carries unless `fields=` says otherwise; `text` (the snippet without marks) only
# when asked for.
HIT_FIELDS = (
    "id",
    "path",
    "url",
    "title",
    "title_html",
    "language",
    "score",
    "snippet",
    "highlights",
    "metadata",
    "sections",
    "translations",
)
OPTIONAL_HIT_FIELDS = ("text",)

ErrorType = Literal[
    "BadRequest",
    "QuerySyntaxError",
    "BadHost",
    "Unauthorized",
    "NotFound",
    "MethodNotAllowed",
    "URITooLong",
    "InternalError",
    "Busy",
    "Timeout",
    "IndexUnavailable",
]
# The status each error type is answered with.
ERROR_STATUS: dict[str, int] = {
    "BadRequest": 400,
    "QuerySyntaxError": 400,
    "BadHost": 400,
    "Unauthorized": 401,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "URITooLong": 414,
    "InternalError": 500,
    "Busy": 503,
    "Timeout": 503,
    "IndexUnavailable": 503,
}


def library_error_type(exc: KbsearchError) -> str:
    """The API's error type for an error of the library."""
    if isinstance(exc, DocumentNotFound):
        return "NotFound"
    if isinstance(exc, IndexNotFound | IndexCorrupt | IndexOutdated):
        return "IndexUnavailable"
    if isinstance(exc, QuerySyntaxError):
        return "QuerySyntaxError"
    return "BadRequest"


def http_error_type(status: int) -> str:
    """The API's error type for a status Starlette answered itself (an unknown route, ...)."""
    named = {404: "NotFound", 405: "MethodNotAllowed", 414: "URITooLong", 401: "Unauthorized"}
    return named.get(status, "InternalError" if status >= 500 else "BadRequest")


def hit_fields(spec: str) -> tuple[str, ...]:
    """The fields named by `fields=` (comma-separated; `*` or empty: the default ones)."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names or names == ["*"]:
        return HIT_FIELDS
    known = (*HIT_FIELDS, *OPTIONAL_HIT_FIELDS)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; fields: {', '.join(known)}")
    return tuple(dict.fromkeys(names))


def hit_json(hit: Hit, fields: tuple[str, ...] = HIT_FIELDS) -> dict[str, Any]:
    """One hit as the API gives it: the fields asked for, in the order of HIT_FIELDS."""
    full = hit.to_dict()
    values = {
        **full,
        "path": hit.id,  # the path in the knowledge base, not on the server's disk
        "title_html": hit.title_snippet.html(),
    }
    return {name: values[name] for name in (*HIT_FIELDS, *OPTIONAL_HIT_FIELDS) if name in fields}


def search_json(
    results: SearchResults, took_ms: float, fields: tuple[str, ...] = HIT_FIELDS
) -> dict[str, Any]:
    """The answer of `/api/search`: the page of hits, where it is among all, and how long the
    search took."""
    data: dict[str, Any] = {
        "query": results.query,
        "processingTimeMs": round(took_ms),
        "total": results.total,
        "total_is_exact": results.total_is_exact,
        "page": results.page,
        "totalPages": math.ceil(results.total / results.limit) if results.limit else 0,
        "limit": results.limit,
        "offset": results.offset,
        "language": results.language,
        "notices": list(results.notices),
        "hits": [hit_json(hit, fields) for hit in results.hits],
        "facets": {name: dict(counts) for name, counts in results.facets.items()},
        "suggestion": results.suggestion,
        "corrected": results.corrected,
    }
    return data


def document_json(document: StoredDocument) -> dict[str, Any]:
    """The answer of `/api/documents/ID`: the document, its path in the knowledge base."""
    return {**document.to_dict(), "path": document.id}


def health_json(status: IndexStatus) -> dict[str, Any]:
    """The answer of `/api/health` (the index's folder is the server's business)."""
    return {key: value for key, value in status.to_dict().items() if key != "index"}


# ------------------------------------------------------------------- the OpenAPI description


class Error(BaseModel):
    """Every error: a message for people, a type for programs."""

    error: str
    type: ErrorType


class Section(BaseModel):
    heading: str
    heading_html: str = Field(description="the heading as HTML, the query's words in <mark>")
    anchor: str = Field(description="the heading's id in the page")
    snippet: str = Field(description="HTML: the query's words in <mark>, the rest escaped")
    url: str = Field(description="the section's published address; empty when unknown")


class ApiTranslation(BaseModel):
    id: str = Field(description="the key of /api/documents/{id}")
    title: str
    language: str = Field(description="its language (BCP 47)")
    url: str = Field(description="where it is published; empty when unknown")


class ApiHit(BaseModel):
    """A hit: every field but `text` unless `fields=` names which (so none is required)."""

    id: str = Field(description="the key of /api/documents/{id}")
    path: str = Field(description="the file's path in the knowledge base")
    url: str = Field(description="where the page is published; empty when unknown")
    title: str
    title_html: str = Field(description="the title as HTML, the query's words in <mark>")
    language: str = Field(description="the page's language (BCP 47)")
    score: float | None = Field(description="null when sorted by a field")
    snippet: str = Field(description="HTML: the query's words in <mark>, the rest escaped")
    text: str = Field(description="the snippet as plain text (only when asked for)")
    highlights: list[str] = Field(description="the words marked, as the text has them")
    metadata: dict[str, Any] = Field(description="the page's frontmatter values")
    sections: list[Section] = Field(description="up to 3 best-matching sections, best first")
    translations: list[ApiTranslation] = Field(
        description="the same page in the knowledge base's other languages"
    )


class SearchAnswer(BaseModel):
    query: str
    processingTimeMs: int = Field(description="time the search took in the server")
    total: int
    total_is_exact: bool = Field(description="false: total is a lower bound")
    page: int
    totalPages: int
    limit: int
    offset: int
    language: str | None = Field(description="the language the query was read as")
    notices: list[str] = Field(description="limits the query met (cut to its first words, ...)")
    hits: list[ApiHit]
    facets: dict[str, dict[str, int]] = Field(description="value counts of the keys asked for")
    suggestion: str | None = Field(description="the query with misspellings corrected")
    corrected: bool = Field(description="true: the suggestion was searched instead")


class Completions(BaseModel):
    query: str
    completions: list[str]


class DocumentSection(BaseModel):
    heading: str
    anchor: str
    start: int = Field(description="offset of the section in body")


class ApiDocument(BaseModel):
    id: str
    path: str
    url: str
    language: str
    language_from: str
    title: str
    metadata: dict[str, Any]
    body: str
    sections: list[DocumentSection]


class Health(BaseModel):
    status: Literal["ok"]
    documents: int
    last_updated: str | None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI's `responses=` for these error statuses, each with the one error schema."""
    described = {
        400: "bad parameter, query, filter or sort",
        401: "an access token is required",
        404: "no such document",
        414: "the address is too long",
        503: "busy, too slow, or the index cannot be read",
    }
    return {status: {"model": Error, "description": described[status]} for status in statuses}


def tidy_openapi(spec: dict[str, Any], bearer: bool) -> dict[str, Any]:
    """FastAPI's document as the server answers: no 422 (bad parameters get a 400 with the one
    error schema), and the bearer token when the server wants one."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
            if bearer:
                operation["security"] = [{"bearer": []}]
    schemas = spec.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.get("ApiHit", {}).pop("required", None)  # `fields=` may leave any out
    if bearer:
        spec.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"}
        }
    return spec
