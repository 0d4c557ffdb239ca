"""`kbsearch export`: every document as parsed, as JSON lines or an OpenSearch bulk file whose
mapping names every field it uses."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import search
from search.kb.documents import read_document
from search.kb.export import OPENSEARCH_ANALYZERS, document_record, mapping_path

from .conftest import SEED_COUNT, SEEDS, make_doc
from .test_cli import kbsearch


def _seed_documents() -> dict[str, search.Document]:
    return {path.name: read_document(path, SEEDS) for path in sorted(SEEDS.glob("[0-9]*"))}


@pytest.mark.slow
def test_json_lines_hold_every_document_and_field_as_parsed() -> None:
    stream = io.StringIO()
    report = search.export_documents(SEEDS, stream)
    assert report.ok and report.documents == SEED_COUNT
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    documents = _seed_documents()
    assert [record["id"] for record in records] == sorted(documents)
    for record in records:
        doc = documents[record["id"]]
        assert record == json.loads(json.dumps(document_record(doc)))
        assert record["body"] == doc.body and record["headings"] == list(doc.headings)
        assert record["metadata"] == json.loads(json.dumps(dict(doc.metadata)))  # every key
        assert record["language"] == ("es" if doc.metadata.get("language") == "es" else "en")


def _fields(source: dict[str, Any], prefix: str = "") -> set[str]:
    names = set()
    for key, value in source.items():
        if isinstance(value, dict) and key != "metadata":
            names |= _fields(value, f"{prefix}{key}.")
        names.add(prefix + key)
    return names


def _mapped(properties: dict[str, Any], prefix: str = "") -> set[str]:
    names = set()
    for key, spec in properties.items():
        names.add(prefix + key)
        names |= _mapped(spec.get("properties", {}), f"{prefix}{key}.")
    return names


@pytest.fixture
def bulk(tmp_path: Path) -> tuple[Path, search.ExportReport]:
    folder = tmp_path / "kb"
    shutil.copytree(SEEDS, folder)
    (folder / "extra.md").write_text(
        make_doc("Extra", "## Owned\n\nText.", owner="Jane Doe", **{"review.team": "oncology"})
    )
    report = search.export_documents(folder, tmp_path / "kb.ndjson", "opensearch")
    return tmp_path / "kb.ndjson", report


@pytest.mark.slow
def test_the_bulk_file_is_action_and_source_pairs(bulk: tuple[Path, search.ExportReport]) -> None:
    path, report = bulk
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 * report.documents == 2 * (SEED_COUNT + 1)
    actions, sources = lines[0::2], lines[1::2]
    ids = []
    for action, source in zip(actions, sources, strict=True):
        command = json.loads(action)
        assert list(command) == ["index"] and command["index"]["_index"] == "kbsearch"
        document = json.loads(source)
        assert document["id"] == command["index"]["_id"]
        ids.append(document["id"])
    assert len(set(ids)) == len(ids)
    spanish = [json.loads(s) for s in sources if json.loads(s)["language"] == "es"]
    assert spanish and all("body_es" in s and "body" not in s for s in spanish)


@pytest.mark.slow
def test_the_mapping_names_every_field_the_bulk_file_uses(
    bulk: tuple[Path, search.ExportReport],
) -> None:
    path, report = bulk
    assert report.mapping == str(mapping_path(path)) == str(path.with_name("kb.mapping.json"))
    index = json.loads(Path(report.mapping).read_text(encoding="utf-8"))
    mapped = _mapped(index["mappings"]["properties"])
    used: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines()[1::2]:
        used |= _fields(json.loads(line))
    assert used <= mapped, used - mapped
    assert {"meta.owner", "meta.review_team", "meta.tags", "title_es", "lastReviewed"} <= used
    # Each analyzer is defined in the settings or one of OpenSearch's built-in language ones.
    analyzers = {*index["settings"]["analysis"]["analyzer"], *OPENSEARCH_ANALYZERS.values()}
    for spec in index["mappings"]["properties"].values():
        assert spec.get("analyzer", "kb_english") in analyzers | {"standard"}
    assert index["mappings"]["properties"]["body_de"]["analyzer"] == "german"
    assert index["mappings"]["_meta"]["kbsearch_field_weights"]["title"] == 2.0


@pytest.mark.slow
def test_the_command(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "good.md").write_text(make_doc("Good", "Words."))
    (folder / "bad.md").write_text("---\ntitle: [unclosed\n---\n")
    lines = kbsearch("export", folder)
    assert lines.returncode == 1 and "skipped" in lines.stderr and "bad.md" in lines.stderr
    assert [json.loads(line)["id"] for line in lines.stdout.splitlines()] == ["good.md"]
    needs_file = kbsearch("export", folder, "--format", "opensearch")
    assert needs_file.returncode == 2 and "--output" in needs_file.stderr
    written = kbsearch("export", folder, "--format", "opensearch", "-o", tmp_path / "out.ndjson")
    assert written.returncode == 1 and (tmp_path / "out.mapping.json").exists()
