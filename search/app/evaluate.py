"""Relevance evaluation on test collections (BEIR layout): nDCG@10, Recall@100, MRR@10.

A collection folder holds `queries.jsonl` and `qrels.tsv`, and its documents either as
`corpus.jsonl` (`{"_id", "title", "text"}` a line) or as a folder of Markdown documents named by
`collection.json` (`{"documents": "relative/path"}`), whose ids are paths relative to that folder.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import storage
from ..errors import KbsearchError
from ..kb.documents import Document
from ..kb.indexer import index_documents, update_index
from ..kb.knowledgebase import open_index
from ..query.parsing import QueryMode
from ..text.schema import SCHEMA_VERSION
from .rawpages import raw_pages

Qrels = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Collection:
    """Queries, graded judgments and where the documents are."""

    name: str
    queries: Mapping[str, str]
    qrels: Qrels
    corpus_file: Path | None = None
    documents_dir: Path | None = None


@dataclass(frozen=True)
class EvalReport:
    """Mean figures over the judged queries of one collection, for one system."""

    collection: str
    system: str
    queries: int
    ndcg10: float
    recall100: float
    mrr10: float
    seconds: float
    hits1: float = 0.0  # the share of queries with a relevant page first
    hits10: float = 0.0  # ... in the first ten

    def to_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "system": self.system,
            "queries": self.queries,
            "ndcg@10": round(self.ndcg10, 4),
            "recall@100": round(self.recall100, 4),
            "mrr@10": round(self.mrr10, 4),
            "hits@1": round(self.hits1, 4),
            "hits@10": round(self.hits10, 4),
            "seconds": round(self.seconds, 2),
        }


# ---------------------------------------------------------------------------------- metrics


def ndcg(ranked: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with gain 2^grade - 1 and a log2 discount; the ideal ranking is the judged grades."""
    dcg = sum(
        (2 ** judged.get(doc, 0) - 1) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k])
    )
    ideal_grades = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    ideal = sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(ideal_grades))
    return dcg / ideal if ideal else 0.0


def recall(ranked: Sequence[str], judged: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents (grade > 0) found in the top k."""
    relevant = {doc for doc, grade in judged.items() if grade > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    """1/rank of the first relevant document in the top k, else 0."""
    for rank, doc in enumerate(ranked[:k], 1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def score_run(
    collection: str, system: str, runs: Mapping[str, Sequence[str]], qrels: Qrels, seconds: float
) -> EvalReport:
    """Mean metrics over the queries that have at least one positive judgment."""
    scored = [qid for qid, judged in qrels.items() if any(g > 0 for g in judged.values())]
    if not scored:
        raise KbsearchError(f"{collection}: no query has a positive judgment")

    def mean(metric: Any) -> float:
        return float(sum(metric(runs.get(qid, []), qrels[qid]) for qid in scored)) / len(scored)

    def hits(k: int) -> Any:
        return lambda ranked, judged: float(any(judged.get(d, 0) > 0 for d in ranked[:k]))

    return EvalReport(
        collection,
        system,
        len(scored),
        mean(ndcg),
        mean(recall),
        mean(reciprocal_rank),
        seconds,
        mean(hits(1)),
        mean(hits(10)),
    )


# ------------------------------------------------------------------------------ collections


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def load_collection(folder: str | os.PathLike[str]) -> Collection:
    """Read a collection folder; a missing or malformed file is a KbsearchError naming it."""
    path = Path(folder)
    try:
        queries = {str(q["_id"]): str(q["text"]) for q in _read_jsonl(path / "queries.jsonl")}
        qrels: dict[str, dict[str, int]] = {}
        with open(path / "qrels.tsv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
        config = path / "collection.json"
        documents_dir = None
        if config.exists():
            documents_dir = (path / json.loads(config.read_text())["documents"]).resolve()
    except (OSError, ValueError, KeyError) as exc:
        raise KbsearchError(f"{path} is not a readable collection: {exc}") from None
    corpus = path / "corpus.jsonl"
    if documents_dir is None and not corpus.exists():
        raise KbsearchError(f"{path} has neither corpus.jsonl nor collection.json")
    return Collection(
        name=path.resolve().name,
        queries=queries,
        qrels=qrels,
        corpus_file=corpus if documents_dir is None else None,
        documents_dir=documents_dir,
    )


def corpus_documents(corpus_file: Path) -> Iterator[Document]:
    """The documents of a corpus.jsonl, as the indexer takes them (title and text only)."""
    for row in _read_jsonl(corpus_file):
        doc_id = str(row["_id"])
        yield Document(
            id=doc_id,
            path=doc_id,
            title=str(row.get("title") or ""),
            body=str(row.get("text") or ""),
            headings=(),
            metadata={},
            keywords={},
        )


def prepare_index(collection: Collection, index_dir: Path) -> None:
    """Build the collection's index, or reuse it when the corpus and schema are unchanged."""
    if collection.documents_dir is not None:
        update_index(collection.documents_dir, index_dir, wait=True)
        return
    assert collection.corpus_file is not None
    stat = collection.corpus_file.stat()
    stamp = f"{collection.corpus_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    current = storage.current_generation(index_dir)
    meta = storage.read_meta(current) if current else {}
    if meta.get("source") == stamp and meta.get("schema_version") == SCHEMA_VERSION:
        return
    index_documents(corpus_documents(collection.corpus_file), index_dir, source=stamp)


def evaluate(
    folder: str | os.PathLike[str],
    index_dir: str | os.PathLike[str] | None = None,
    limit: int = 100,
    mode: QueryMode = "plain",
) -> EvalReport:
    """Run every query of a collection through `search()` and score it: in plain-words mode
    (what the figures in docs/relevance.md measure), or as users' queries are read by default
    (`auto`: syntax where the text has it), reported as `kbsearch-auto`."""
    collection = load_collection(folder)
    target = (
        Path(index_dir)
        if index_dir is not None
        else storage.default_index_dir() / "eval" / collection.name
    )
    prepare_index(collection, target)
    runs: dict[str, list[str]] = {}
    started = time.perf_counter()
    with open_index(target) as kb:
        for qid, text in collection.queries.items():
            if qid in collection.qrels:
                results = kb.search(text, mode=mode, limit=limit, snippets=False)
                runs[qid] = [hit.id for hit in results]
    elapsed = time.perf_counter() - started
    system = "kbsearch" if mode == "plain" else f"kbsearch-{mode}"
    return score_run(collection.name, system, runs, collection.qrels, elapsed)


# ----------------------------------------------------------------------- SQLite FTS5 baseline

_FTS_WORD = re.compile(r"\w+")
# The title's weight in FTS5's bm25: a page is looked for by its name, there as here.
FTS5_TITLE_WEIGHT = 10.0


def evaluate_fts5(
    folder: str | os.PathLike[str], limit: int = 100, raw: bool = False
) -> EvalReport:
    """The same queries on SQLite FTS5 (porter unicode61, bm25 with the title weighing 10 and
    the body 1): over the same text as kbsearch (ranking compared), or with `raw` over each
    Markdown file as a user's own script reads it (`rawpages`: what a user would otherwise run).
    """
    collection = load_collection(folder)
    system = "sqlite-fts5"
    if collection.corpus_file is not None:
        rows: Iterator[tuple[str, str, str]] = (
            (d.id, d.title, d.body) for d in corpus_documents(collection.corpus_file)
        )
    elif raw:
        assert collection.documents_dir is not None
        rows, system = raw_pages(str(collection.documents_dir)), "sqlite-fts5-raw"
    else:
        assert collection.documents_dir is not None
        rows = markdown_rows(collection.documents_dir)
    db = fts5_database(":memory:", rows)
    runs: dict[str, list[str]] = {}
    started = time.perf_counter()
    for qid, text in collection.queries.items():
        if qid not in collection.qrels:
            continue
        words = _FTS_WORD.findall(text.lower())
        if not words:
            runs[qid] = []
            continue
        match = " OR ".join(f'"{word}"' for word in words)
        found = db.execute(
            "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, ?, 1) LIMIT ?",
            (match, FTS5_TITLE_WEIGHT, limit),
        )
        runs[qid] = [row[0] for row in found]
    elapsed = time.perf_counter() - started
    return score_run(collection.name, system, runs, collection.qrels, elapsed)


def baselines(folder: str | os.PathLike[str], limit: int = 100) -> list[EvalReport]:
    """FTS5 over kbsearch's text and, for a folder of Markdown pages, over the raw files."""
    reports = [evaluate_fts5(folder, limit)]
    if load_collection(folder).documents_dir is not None:
        reports.append(evaluate_fts5(folder, limit, raw=True))
    return reports


def fts5_database(
    path: str | os.PathLike[str], rows: Iterable[tuple[str, str, str]]
) -> sqlite3.Connection:
    """An FTS5 table `docs(id, title, body)` with the porter tokenizer, filled with `rows`."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5("
        "id UNINDEXED, title, body, tokenize='porter unicode61')"
    )
    db.executemany("INSERT INTO docs VALUES (?, ?, ?)", rows)
    db.commit()
    return db


def markdown_rows(folder: Path) -> Iterator[tuple[str, str, str]]:
    """(id, title, visible text) of each page of a folder: the pages and text kbsearch indexes."""
    from ..budgets import DEFAULT_BUDGETS
    from ..errors import NotAPage
    from ..kb.reading import read_as_document
    from ..kb.sites import load_site, scan_site

    site = load_site(folder)
    files, _, _ = scan_site(site, folder)
    for file in files:
        try:
            doc = read_as_document(file, folder, DEFAULT_BUDGETS, site)
        except NotAPage:
            continue
        yield doc.id, doc.title, doc.body
