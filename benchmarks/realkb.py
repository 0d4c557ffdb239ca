"""The real knowledge bases in tests/realkb (or others, as NAME=FOLDER), side by side with SQLite
FTS5 in one run:

    python benchmarks/realkb.py [NAME=FOLDER ...]

Prints, for each set: its generator, pages, kbsearch's full build time beside FTS5's (FTS5 gets
the same parsed text: both times include reading the pages) and their ratio, the share of the
top-10 hits' snippets of 50 queries that show generator syntax outside code (tests/test_realkb),
and, for the sets with a known-item collection, MRR@10, hits@1 and hits@10 beside FTS5's. Give
the whole tldr (23,436 pages) as `tldr=../shared/corpus/realkb/tldr`. No thresholds: figures for
people.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import search  # noqa: E402
from search.app.evaluate import evaluate, evaluate_fts5, fts5_database, markdown_rows  # noqa: E402
from search.kb.sites import load_site  # noqa: E402
from tests.test_realkb import SETS, markup_share, queries  # noqa: E402


def build_times(folder: Path, work: Path) -> tuple[int, float, float]:
    """(pages, kbsearch's seconds, FTS5's seconds) for a full build of `folder`."""
    started = time.perf_counter()
    report = search.update_index(folder, work / "ix", full=True)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    fts5_database(str(work / "fts.db"), markdown_rows(folder)).close()
    theirs = time.perf_counter() - started
    return report.added, ours, theirs


def main(argv: list[str]) -> None:
    sets: dict[str, Path] = dict(SETS)
    for arg in argv:
        name, _, where = arg.partition("=")
        sets[name] = Path(where)
    print(
        f"{'set':8} {'site':10} {'pages':>6} {'kbsearch s':>10} {'FTS5 s':>8} {'ratio':>6} "
        f"{'markup':>7}"
    )
    quality = []
    for name, folder in sets.items():
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            pages, ours, theirs = build_times(folder, work)
            asked = queries(name) if name in SETS else []
            generator = load_site(folder).generator
            with search.open_index(work / "ix") as kb:
                share = markup_share(kb, asked, generator)[0] if asked else float("nan")
            print(
                f"{name:8} {generator:10} {pages:6} {ours:10.2f} {theirs:8.2f} "
                f"{ours / theirs:5.1f}x {share:7.2%}"
            )
            collection = ROOT / "tests" / f"known_items_{name}"
            if collection.is_dir():
                quality.append((evaluate(collection, work / "eval"), evaluate_fts5(collection)))
    print(f"\n{'set':8} {'system':12} {'MRR@10':>7} {'H@1':>6} {'H@10':>6}")
    for pair in quality:
        for report in pair:
            print(
                f"{report.collection[12:]:8} {report.system:12} {report.mrr10:7.4f} "
                f"{report.hits1:6.4f} {report.hits10:6.4f}"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
