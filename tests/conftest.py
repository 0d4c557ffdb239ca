"""Shared fixtures: small real documents on disk and real indexes built from them."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import search

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_DOC = "000_355141efc37d04b9.txt"
# The documents of seeds/: English and Spanish pages (README* is not a document).
SEED_COUNT = len(list(SEEDS.glob("[0-9]*")))


def make_doc(
    title: str | None = "A page",
    body: str = "Some text.",
    **meta: object,
) -> str:
    """A document in the seed format: YAML frontmatter then Markdown."""
    lines = ["---"]
    if title is not None:
        lines.append(f"title: {title}")
    for key, value in meta.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"- {item}" for item in value)
        else:
            lines.append(f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines) + "\n\n" + textwrap.dedent(body).strip() + "\n"


WriteDoc = Callable[..., Path]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


@pytest.fixture
def write(corpus: Path) -> WriteDoc:
    """Write a file into the corpus folder (text or bytes) and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the shipped seeds/ folder, built once for the whole run."""
    target = tmp_path_factory.mktemp("seed-index") / "index"
    report = search.update_index(SEEDS, target)
    assert report.ok and report.added == len(list(SEEDS.glob("[0-9]*")))
    return target


@pytest.fixture(scope="session")
def seed_kb(seed_index: Path) -> search.KnowledgeBase:
    return search.open_index(seed_index)


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of seeds/ that a test may change."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


def without_privileges() -> list[str]:
    """A command prefix under which file permissions hold, as for any user: root's power to
    read and write past them dropped (`setpriv`), or nothing when not root. Skips the test
    when root cannot drop it."""
    import os

    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be made to hold")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]
