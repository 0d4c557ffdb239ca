"""`kbsearch check`: every problem kind, every review frequency, month-end edge cases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import search
from search.app.cli import main
from search.kb.health import add_months, review_due

from .conftest import WriteDoc, make_doc

D = dt.date


@pytest.mark.parametrize(
    ("last", "frequency", "due"),
    [
        (D(2025, 1, 10), "weekly", D(2025, 1, 17)),
        (D(2025, 1, 31), "monthly", D(2025, 2, 28)),
        (D(2024, 1, 31), "monthly", D(2024, 2, 29)),
        (D(2025, 11, 30), "quarterly", D(2026, 2, 28)),
        (D(2023, 11, 30), "quarterly", D(2024, 2, 29)),
        (D(2025, 8, 31), "semiannually", D(2026, 2, 28)),
        (D(2025, 8, 31), "biannually", D(2026, 2, 28)),
        (D(2024, 2, 29), "annually", D(2025, 2, 28)),
        (D(2025, 3, 15), "Quarterly", D(2025, 6, 15)),
        (D(2025, 12, 15), "monthly", D(2026, 1, 15)),
    ],
)
def test_review_due_dates(last: dt.date, frequency: str, due: dt.date) -> None:
    assert review_due(last, frequency) == due


def test_unknown_frequency_has_no_due_date() -> None:
    assert review_due(D(2025, 1, 1), "fortnightly") is None
    assert add_months(D(2025, 12, 31), 2) == D(2026, 2, 28)


@pytest.fixture
def messy(write: WriteDoc, corpus: Path) -> Path:
    full = {"tags": "x", "language": "en"}
    write(
        "ok.md",
        make_doc(
            "Fine page", "text", url="https://kb.example/ok", lastReviewed="2026-01-01", **full
        ),
    )
    write(
        "due-today.md",
        make_doc(
            "Due today",
            "text",
            url="https://kb.example/due",
            lastReviewed="2025-11-30",
            reviewFrequency="quarterly",
            **full,
        ),
    )
    write(
        "overdue.md",
        make_doc(
            "Overdue",
            "text",
            url="https://kb.example/late",
            lastReviewed="2025-11-27",
            reviewFrequency="quarterly",
            **full,
        ),
    )
    write(
        "odd-frequency.md",
        make_doc(
            "Odd",
            "text",
            url="https://kb.example/odd",
            lastReviewed="2025-11-29",
            reviewFrequency="fortnightly",
            **full,
        ),
    )
    write(
        "dup-a.md",
        make_doc(
            "Same title", "text", url="https://kb.example/dup", lastReviewed="2026-01-01", **full
        ),
    )
    write(
        "dup-b.md",
        make_doc(
            "Same Title", "text", url="https://kb.example/dup", lastReviewed="2026-01-01", **full
        ),
    )
    write("bare.md", "# Bare page\n\nNo frontmatter at all.\n")
    write(
        "empty-body.md",
        make_doc(
            "Empty body", "", url="https://kb.example/empty", lastReviewed="2026-01-01", **full
        ),
    )
    write(
        "links.md",
        make_doc(
            "Links",
            "[ok](ok.md) [gone](missing.md) [anchor](ok.md#part) [web](https://other.example/x) "
            "[kb ok](https://kb.example/ok#s) [kb gone](https://kb.example/nowhere) "
            "[rel kb](/late) [rel gone](/nowhere-else)",
            url="https://kb.example/links",
            lastReviewed="2026-01-01",
            **full,
        ),
    )
    write("broken.md", "---\ntitle: [oops\n---\n")
    # The keys this knowledge base requires of a page (cancer.gov's, as the seeds' own file).
    write("kbsearch.toml", 'required_keys = ["title", "tags", "url", "lastReviewed", "language"]\n')
    return corpus


def kinds(report: search.HealthReport) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for problem in report.problems:
        found.setdefault(Path(problem.path).name, set()).add(problem.kind)
    return found


def test_every_problem_kind(messy: Path) -> None:
    report = search.check(messy, as_of=D(2026, 2, 28), base_urls=["https://kb.example"])
    found = kinds(report)
    assert "ok.md" not in found
    assert "due-today.md" not in found  # due 28 Feb, checked on 28 Feb: not yet overdue
    assert found["overdue.md"] == {"overdue"}
    assert found["odd-frequency.md"] == {"unknown_frequency"}
    assert found["dup-a.md"] == found["dup-b.md"] == {"duplicate_url", "duplicate_title"}
    assert found["bare.md"] == {"missing_key"}
    missing = [p.message for p in report.problems if p.path.endswith("bare.md")]
    # Its title comes from its heading; the four other keys are missing.
    assert len(missing) == 4 and any("`lastReviewed`" in m for m in missing)
    assert found["empty-body.md"] == {"empty_body"}
    assert found["broken.md"] == {"invalid"}
    broken = sorted(p.message for p in report.problems if p.kind == "broken_link")
    assert len(broken) == 3
    assert any("missing.md" in m for m in broken)
    assert any("kb.example/nowhere" in m for m in broken)
    assert any("/nowhere-else" in m for m in broken)
    assert report.by_kind()["missing_key"] == 4
    assert report.failing() and report.failing(["overdue"]) and not report.failing(["nothing"])


def test_without_base_urls_only_relative_links_are_checked(messy: Path) -> None:
    report = search.check(messy, as_of=D(2026, 2, 28))
    assert [p.message for p in report.problems if p.kind == "broken_link"] == [
        "links to 'missing.md': no such file"
    ]


def test_check_command_exit_codes_and_json(messy: Path, write: WriteDoc, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["check", str(messy), "--as-of", "2026-02-28", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["as_of"] == "2026-02-28" and data["documents"] == 10
    assert data["by_kind"]["overdue"] == 1
    assert "NCI" not in data["by_source"] and data["by_source"]["- / -"] >= 1

    only_overdue = runner.invoke(
        main, ["check", str(messy), "--as-of", "2026-02-27", "--fail-on", "overdue"]
    )
    assert only_overdue.exit_code == 0, only_overdue.output  # 27 Feb: nothing overdue yet
    assert "by kind:" in only_overdue.output
    assert runner.invoke(main, ["check", str(messy), "--fail-on", "bogus"]).exit_code == 2
    assert runner.invoke(main, ["check", str(messy), "--as-of", "soon"]).exit_code == 2
    assert runner.invoke(main, ["check", str(tmp_path / "missing")]).exit_code == 2

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.md").write_text(
        make_doc("A", "text", tags="x", url="u", lastReviewed="2026-01-01", language="en")
    )
    assert runner.invoke(main, ["check", str(clean)]).exit_code == 0


def test_stats_reports_overdue_pages(seed_kb: search.KnowledgeBase) -> None:
    # the four drug pages are reviewed quarterly and were last reviewed in 2025 or earlier
    assert seed_kb.stats().extra["overdue"] == 4


def test_one_title_in_two_folders_is_no_duplicate(write: WriteDoc, corpus: Path) -> None:
    # tldr: the same command's page for each platform; a tutorial's step beside the reference.
    write("common/chsh.md", "# chsh\n\nChange the login shell.\n")
    write("linux/chsh.md", "# chsh\n\nChange the login shell on Linux.\n")
    write("linux/CHSH.md", "# chsh\n\nThe same page again.\n")
    report = search.check(corpus)
    duplicates = sorted(p.path.split("/docs/")[-1] for p in report.problems)
    assert duplicates == ["linux/CHSH.md", "linux/chsh.md"]


def test_a_link_out_of_the_knowledge_base_is_broken_whatever_is_there(
    write: WriteDoc, corpus: Path
) -> None:
    (corpus.parent / "outside.md").write_text("# Not in the knowledge base\n")
    write("page.md", "# Page\n\n[out](../outside.md) [deep](../../../../etc/hostname)\n")
    broken = sorted(p.message for p in search.check(corpus).problems if p.kind == "broken_link")
    assert broken == [
        "links to '../../../../etc/hostname': no such file",
        "links to '../outside.md': no such file",
    ]
