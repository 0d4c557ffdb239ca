"""Shared fixtures: small real documents on disk and real indexes built from them."""

from __future__ import annotations

import random
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import search

if TYPE_CHECKING:
    from .web_server import HttpServer

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


# Words of generated pages: a few very common (a posting list of many blocks), most rare; joined
# words and numbers, Spanish words with accents and ñ.
_ENGLISH_WORDS = (
    "the anemia blood cell iron therapy lung cancer screening marrow transplant config.yml "
    "github_subdir 3.x 4.4.1 vitamin e hepatitis b chemotherapy radiation dose patient trial "
    "study risk review treatment side effect nausea fatigue pain diet rest sleep water red "
    "bone cells"
).split()
_SPANISH_WORDS = (
    "cáncer pulmón año niños sangre anemia tratamiento quimioterapia médula ósea dolor "
    "náuseas cansancio riesgo estudio paciente dosis vitamina"
).split()


def write_generated_pages(folder: Path, count: int = 48, seed: int = 7) -> Path:
    """`count` pages in English and Spanish (every fourth), with headings, tags and dates,
    their words drawn with a skew (a few words on every page, many on a few): a knowledge base
    of seconds to build whose common words still span many blocks of a small block size."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        spanish = n % 4 == 3
        words = _SPANISH_WORDS if spanish else _ENGLISH_WORDS
        weights = [1 / (rank + 1) for rank in range(len(words))]

        def sentence(length: int, words: list[str] = words, weights: list[float] = weights) -> str:
            return " ".join(rng.choices(words, weights, k=length)).capitalize() + "."

        body = "\n\n".join(
            f"## {sentence(3)}\n\n" + " ".join(sentence(rng.randint(5, 14)) for _ in range(6))
            for _ in range(rng.randint(1, 4))
        )
        if n % 5 == 0 and not spanish:  # phrases to find
            body += "\n\nRed blood cells carry iron. Bone marrow makes them."
        meta: dict[str, object] = {
            "tags": rng.sample(["treatment", "screening", "diet", "trials"], 2),
            "lastReviewed": f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
        }
        if spanish:
            meta["language"] = "es"
        (folder / f"page-{n:03d}.md").write_text(make_doc(sentence(4), body, **meta))
    return folder


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Posting blocks of 8 postings: a generated knowledge base's lists span many blocks."""
    from search.engine import codec

    monkeypatch.setattr(codec, "BLOCK_POSTINGS", 8)
    return 8


@pytest.fixture(scope="module")
def http(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """A `kbsearch serve --http` of the seeds for one test module."""
    from .web_server import HttpServer

    server = HttpServer(seed_index, tmp_path_factory.mktemp("run"))
    yield server
    server.stop()
