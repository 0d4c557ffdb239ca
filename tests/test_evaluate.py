"""Relevance: metric code on hand-computed cases, the known-item set, and `kbsearch eval`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import search
from search.app.cli import main
from search.app.evaluate import (
    baselines,
    load_collection,
    ndcg,
    recall,
    reciprocal_rank,
    score_run,
)
from search.app.rawpages import raw_pages

from .conftest import ROOT

KNOWN_ITEMS = ROOT / "tests" / "known_items"


def test_ndcg_by_hand() -> None:
    judged = {"a": 3, "b": 1, "c": 0}
    # ranking b, x, a: DCG = 1/log2(2) + 0 + 7/log2(4) = 1 + 3.5; ideal a, b = 7 + 1/log2(3)
    expected = (1 + 7 / 2) / (7 + 1 / math.log2(3))
    assert ndcg(["b", "x", "a"], judged) == pytest.approx(expected)
    assert ndcg(["a", "b"], judged) == pytest.approx(1.0)
    assert ndcg(["c", "x"], judged) == 0.0
    assert ndcg(["x"] * 10 + ["a"], judged, k=10) == 0.0  # beyond the cut-off


def test_recall_and_reciprocal_rank_by_hand() -> None:
    judged = {"a": 2, "b": 1, "c": 0, "d": 1}
    assert recall(["a", "c", "x"], judged) == pytest.approx(1 / 3)
    assert recall(["d", "b", "a"], judged, k=2) == pytest.approx(2 / 3)
    assert reciprocal_rank(["x", "c", "b"], judged) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"] * 10 + ["a"], judged) == 0.0


def test_queries_without_positive_judgments_are_not_scored() -> None:
    qrels = {"1": {"a": 1}, "2": {"b": 0}}
    report = score_run("c", "s", {"1": ["a"], "2": []}, qrels, 0.0)
    assert report.queries == 1 and report.ndcg10 == pytest.approx(1.0)


@pytest.mark.slow
def test_known_item_queries_find_their_page_in_the_top_3(seed_kb: search.KnowledgeBase) -> None:
    collection = load_collection(KNOWN_ITEMS)
    assert len(collection.queries) >= 30
    misses = []
    for qid, text in collection.queries.items():
        top3 = [hit.id for hit in seed_kb.search(text, mode="plain", limit=3, snippets=False)]
        if not set(top3) & set(collection.qrels[qid]):
            misses.append((text, top3))
    assert misses == []


def test_brand_name_and_typo_reach_the_generic_page(seed_kb: search.KnowledgeBase) -> None:
    assert seed_kb.search("Reblozyl")[0].title == "Luspatercept-aamt - NCI"
    assert seed_kb.search("bevacizumib")[0].title == "Bevacizumab - NCI"


def write_collection(folder: Path) -> Path:
    folder.mkdir()
    docs = [
        {"_id": "d1", "title": "heat transfer in slabs", "text": "conduction of heat in slabs"},
        {"_id": "d2", "title": "wing lift", "text": "lift of a wing in a slipstream"},
        {"_id": "d3", "title": "boundary layers", "text": "laminar boundary layer on a plate"},
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    queries = [{"_id": "1", "text": "what is heat conduction?"}, {"_id": "2", "text": "wing: lift"}]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t2\n2\td2\t1\n2\td3\t0\n")
    return folder


def test_eval_command_json_and_reuse(tmp_path: Path) -> None:
    folder = write_collection(tmp_path / "tiny")
    args = ["eval", str(folder), "--index", str(tmp_path / "ix"), "--json", "--compare"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    ours = rows[0]
    assert ours["collection"] == "tiny" and ours["system"] == "kbsearch"
    assert ours["queries"] == 2
    assert ours["ndcg@10"] == pytest.approx(1.0) and ours["mrr@10"] == pytest.approx(1.0)
    assert set(ours) >= {"collection", "queries", "ndcg@10", "recall@100", "mrr@10"}
    assert rows[1]["system"] == "sqlite-fts5"
    generation = next((tmp_path / "ix" / "tiny").glob("gen-*"))
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0
    assert generation.exists()  # unchanged corpus: the index was reused, not rebuilt


def test_eval_of_a_folder_that_is_not_a_collection(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a readable collection" in result.output


def test_compare_runs_fts5_over_our_text_and_over_the_raw_files(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "guide.md").write_text("---\ntitle: Zebra crossings\n---\nWhere to cross.\n")
    # a draft the site does not publish: only a script reading every file finds it
    (pages / "old.md").write_text("---\ntitle: Zebra zebra\ndraft: true\n---\nZebra.\n")
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "collection.json").write_text(json.dumps({"documents": "../pages"}))
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "1", "text": "zebra"}))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\tguide.md\t1\n")
    same, raw = baselines(folder)
    assert (same.system, raw.system) == ("sqlite-fts5", "sqlite-fts5-raw")
    assert same.mrr10 == pytest.approx(1.0)
    assert raw.mrr10 == pytest.approx(0.5)
    assert [page[:2] for page in raw_pages(str(pages))] == [
        ("guide.md", "Zebra crossings"),
        ("old.md", "Zebra zebra"),
    ]


def test_eval_reads_queries_as_plain_words_or_as_kbsearch_query_does(tmp_path: Path) -> None:
    """`--mode auto` measures what `kbsearch query` users get: there a quoted phrase is a
    phrase (d1 never writes `slabs heat`), in plain words two words."""
    folder = write_collection(tmp_path / "tiny")
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "1", "text": '"slabs heat"'}))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t2\n")
    rows = {}
    for mode in ("plain", "auto"):
        args = ["eval", str(folder), "--index", str(tmp_path / "ix"), "--json", "--mode", mode]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        row = json.loads(result.output)
        rows[row["system"]] = row["mrr@10"]
    assert rows == {"kbsearch": pytest.approx(1.0), "kbsearch-auto": 0.0}
