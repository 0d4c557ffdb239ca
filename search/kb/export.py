"""Hand the knowledge base to a bigger engine: every document as parsed, as JSON lines or as an
OpenSearch (and Elasticsearch) `_bulk` file with an index mapping written beside it.

Documents are read as the indexer reads them (`reading`: the same budgets, link rule and
workers), so an export holds exactly what `kbsearch index` would index. The mapping mirrors the
schema: English and Spanish text fields with their languages' analyzers, every frontmatter key
as an exact-match keyword, `lastReviewed` a date; the field weights, which kbsearch applies at
query time, travel in the mapping's `_meta` and in the `multi_match` the guide shows.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from ..budgets import DEFAULT_BUDGETS, Budgets
from ..keys import KEYWORD_KEYS
from ..text.languages import ANALYSES
from ..text.schema import FIELD_WEIGHTS, LANGUAGE_FIELDS
from .documents import Document, apart_from_references, document_language
from .reading import LeftOut, read_as_document, read_files
from .sites import Site, load_site, scan_site
from .sources import Skipped

ExportFormat = Literal["jsonl", "opensearch"]
EXPORT_FORMATS = ("jsonl", "opensearch")
DEFAULT_INDEX_NAME = "kbsearch"


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote, and what it skipped (as the indexer would have)."""

    documents: int
    skipped: tuple[Skipped, ...]
    mapping: str | None = None  # the mapping file written beside an OpenSearch bulk file

    @property
    def ok(self) -> bool:
        return not self.skipped


def document_record(doc: Document) -> dict[str, Any]:
    """One document as parsed, JSON-ready: what `--format jsonl` writes a line of."""
    return {
        "id": doc.id,
        "path": os.path.abspath(doc.path),
        "title": doc.title,
        "headings": list(doc.headings),
        "description": doc.description,
        "body": doc.body,
        "language": document_language(doc),
        "sections": [
            {"heading": s.heading, "anchor": s.anchor, "start": s.start} for s in doc.sections
        ],
        "metadata": dict(doc.metadata),
    }


def meta_key(key: str) -> str:
    """A frontmatter key as a field name under `meta` (a dot would make OpenSearch nest it)."""
    return key.replace(".", "_").strip() or "_"


def bulk_source(doc: Document) -> dict[str, Any]:
    """One document as an OpenSearch source: its text in its language's fields, as kbsearch
    indexes it, and every frontmatter key's exact values under `meta`."""
    language = document_language(doc)
    suffix = ANALYSES[language].suffix
    said, cited, _ = apart_from_references(doc)
    source: dict[str, Any] = {
        "id": doc.id,
        "path": os.path.abspath(doc.path),
        "language": language,
        "title" + suffix: doc.title,
        "headings" + suffix: list(doc.headings),
        "description" + suffix: doc.description,
        "body" + suffix: said,
        "cited" + suffix: cited,
        "brands": list(doc.brand_names),
        "display_title": doc.title,
        "meta": {meta_key(key): list(values) for key, values in doc.keywords.items()},
        "metadata": dict(doc.metadata),
    }
    if doc.last_reviewed is not None:
        source["lastReviewed"] = doc.last_reviewed.isoformat()
    return source


# OpenSearch's built-in analyzer of each other language kbsearch analyses ("standard" for the rest).
OPENSEARCH_ANALYZERS = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german",
    "el": "greek", "et": "estonian", "eu": "basque", "fa": "persian", "fi": "finnish",
    "fr": "french", "ga": "irish", "hi": "hindi", "hu": "hungarian", "hy": "armenian",
    "id": "indonesian", "it": "italian", "ja": "cjk", "ko": "cjk", "lt": "lithuanian",
    "nl": "dutch", "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sv": "swedish", "tr": "turkish", "zh": "cjk",
}  # fmt: skip


def mapping(keys: Iterable[str] = KEYWORD_KEYS) -> dict[str, Any]:
    """The index settings and mapping for `bulk_source` documents: the schema's fields, each
    language's analyzer, the frontmatter `keys` (as `meta_key` names them) as case-insensitive
    keywords. Strict: a field the mapping does not name is refused, not guessed."""
    english = {"type": "text", "analyzer": "kb_english"}
    spanish = {"type": "text", "analyzer": "kb_spanish"}
    keyword = {"type": "keyword", "normalizer": "kb_folded"}
    return {
        "settings": {
            "analysis": {
                "analyzer": {
                    # Accents folded before stemming, as kbsearch does; Spanish keeps ñ apart only
                    # in kbsearch (OpenSearch's asciifolding has no exception for it).
                    "kb_english": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding", "english_stop", "english_stem"],
                    },
                    "kb_spanish": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding", "spanish_stop", "spanish_stem"],
                    },
                },
                "filter": {
                    "english_stop": {"type": "stop", "stopwords": "_english_"},
                    "english_stem": {"type": "stemmer", "language": "english"},
                    "spanish_stop": {"type": "stop", "stopwords": "_spanish_"},
                    "spanish_stem": {"type": "stemmer", "language": "light_spanish"},
                },
                "normalizer": {
                    "kb_folded": {"type": "custom", "filter": ["lowercase", "asciifolding"]}
                },
            }
        },
        "mappings": {
            "_meta": {"kbsearch_field_weights": FIELD_WEIGHTS},
            "dynamic": "strict",
            "properties": {
                "id": {"type": "keyword"},
                "path": {"type": "keyword", "index": False},
                "language": {"type": "keyword"},
                "title": english,
                "headings": english,
                "description": english,
                "body": english,
                "cited": english,
                "brands": english,
                "title_es": spanish,
                "headings_es": spanish,
                "description_es": spanish,
                "body_es": spanish,
                "cited_es": spanish,
                **{
                    name: {"type": "text", "analyzer": OPENSEARCH_ANALYZERS.get(code, "standard")}
                    for code, names in LANGUAGE_FIELDS.items()
                    if code not in ("en", "es")
                    for name in names
                },
                "display_title": {"type": "keyword", "index": False},
                "lastReviewed": {"type": "date", "format": "strict_date"},
                # Every frontmatter key's exact values, known keys or not.
                "meta": {
                    "type": "object",
                    "properties": {meta_key(key): keyword for key in sorted({*keys})},
                },
                "metadata": {"type": "object", "enabled": False},  # kept as written, not indexed
            },
        },
    }


def _lines(docs: Iterator[Document], fmt: ExportFormat, index_name: str) -> Iterator[str]:
    for doc in docs:
        if fmt == "jsonl":
            yield json.dumps(document_record(doc), ensure_ascii=False)
        else:
            yield json.dumps({"index": {"_index": index_name, "_id": doc.id}}, ensure_ascii=False)
            yield json.dumps(bulk_source(doc), ensure_ascii=False)


def mapping_path(output: Path) -> Path:
    """Where the mapping of a bulk file goes: beside it (`kb.ndjson` -> `kb.mapping.json`)."""
    return output.with_name(output.name.split(".")[0] + ".mapping.json")


def export_documents(
    source: str | os.PathLike[str],
    output: TextIO | str | os.PathLike[str],
    fmt: ExportFormat = "jsonl",
    *,
    index_name: str = DEFAULT_INDEX_NAME,
    budgets: Budgets = DEFAULT_BUDGETS,
    follow_links: bool = False,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    site: Site | str | None = None,
) -> ExportReport:
    """Write every document under `source` to `output` (a path, or an open text stream) as JSON
    lines or as an OpenSearch `_bulk` file; for a bulk file written to a path, its index
    mapping goes beside it (`mapping_path`). Bad documents are skipped and reported."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    root = Path(source)
    if not isinstance(site, Site):
        site = load_site(root, site)
    files, skipped, _ = scan_site(site, root, include, exclude, follow_links)
    count = 0
    keys: set[str] = set(KEYWORD_KEYS)
    task = functools.partial(read_as_document, site=site)

    def documents() -> Iterator[Document]:
        nonlocal count
        for _, outcome in read_files(files, root, task, budgets, follow_links=follow_links):
            if isinstance(outcome, LeftOut):
                continue
            if isinstance(outcome, Skipped):
                skipped.append(outcome)
            else:
                count += 1
                keys.update(outcome.keywords)
                yield outcome

    written_mapping = None
    if isinstance(output, (str, os.PathLike)):
        target = Path(output)
        with open(target, "w", encoding="utf-8") as stream:
            for line in _lines(documents(), fmt, index_name):
                stream.write(line + "\n")
        if fmt == "opensearch":  # written last: it names every key the documents use
            written_mapping = mapping_path(target)
            written_mapping.write_text(json.dumps(mapping(keys), indent=2) + "\n", "utf-8")
    else:
        for line in _lines(documents(), fmt, index_name):
            output.write(line + "\n")
    return ExportReport(count, tuple(skipped), str(written_mapping) if written_mapping else None)
