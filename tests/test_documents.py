"""Reading one document: frontmatter shapes, visible text, and every kind of bad file."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from search.errors import DocumentError
from search.kb.documents import Rendered, brand_names, read_document, render_markdown

from .conftest import SEED_DOC, SEEDS, WriteDoc, make_doc


def read(path: Path) -> object:
    return read_document(path, path.parent)


def test_seed_document_reads_with_typed_metadata() -> None:
    doc = read_document(SEEDS / SEED_DOC, SEEDS)
    assert doc.id == SEED_DOC
    assert doc.title == "Luspatercept-aamt - NCI"
    assert doc.last_reviewed == dt.date(2025, 12, 30)
    assert doc.keywords["tags"] == ("treatment",)
    assert doc.keywords["reviewFrequency"] == ("quarterly",)
    assert doc.keywords["url"] == (
        "https://www.cancer.gov/about-cancer/treatment/drugs/luspatercept-aamt",
    )
    assert doc.metadata["citation"] == "NCI, 2025"  # a key the code has no special case for
    assert doc.brand_names == ("Reblozyl",)
    assert "Use in Cancer" in doc.headings


def test_body_is_the_visible_text(write: WriteDoc) -> None:
    body = """
    # Heading one

    See [the label](https://example.org/label?id=1) &amp; more&nbsp;text &eacute;.

    - item **bold**
    - item two

    <script>alert("x")</script>
    <p>raw <b>html</b></p>
    """
    doc = read_document(write("a.md", make_doc("T", body)), write("b.md", "x").parent)
    assert "the label" in doc.body
    assert "example.org" not in doc.body and "https" not in doc.body
    assert "& more" in doc.body and "é" in doc.body
    assert "alert" not in doc.body
    assert "raw html" in doc.body
    assert "<" not in doc.body
    assert doc.headings == ("Heading one",)


@pytest.mark.parametrize(
    ("frontmatter_title", "body", "name", "expected"),
    [
        ("From frontmatter", "# A heading\n\ntext", "f.md", "From frontmatter"),
        (None, "# The first heading\n\ntext", "f.md", "The first heading"),
        (None, "just text", "my-page.md", "my-page"),
        ("''", "## Sub\n\ntext", "f.md", "Sub"),
        ("2024", "text", "f.md", "2024"),
    ],
)
def test_title_falls_back_to_heading_then_file_name(
    write: WriteDoc, frontmatter_title: str | None, body: str, name: str, expected: str
) -> None:
    doc = read(write(name, make_doc(frontmatter_title, body)))
    assert doc.title == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        ("treatment", ("treatment",)),
        ("[a, b]", ("a", "b")),
        ("7", ("7",)),
        ("'two words, and comma'", ("two words, and comma",)),
    ],
)
def test_list_keys_accept_lists_and_single_values(
    write: WriteDoc, yaml_value: str, expected: tuple[str, ...]
) -> None:
    doc = read(write("a.md", f"---\ntitle: T\ntags: {yaml_value}\n---\nbody\n"))
    assert doc.keywords["tags"] == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        ("2025-03-04", dt.date(2025, 3, 4)),
        ("'2025-03-04'", dt.date(2025, 3, 4)),
        ("2025-03-04T23:30:00+05:00", dt.date(2025, 3, 4)),
        ("'2025-03-04T10:00:00Z'", dt.date(2025, 3, 4)),
    ],
)
def test_dates_in_every_yaml_shape(write: WriteDoc, yaml_value: str, expected: dt.date) -> None:
    doc = read(write("a.md", f"---\ntitle: T\nlastReviewed: {yaml_value}\n---\nbody\n"))
    assert doc.last_reviewed == expected  # type: ignore[attr-defined]


def test_unknown_keys_are_kept_and_searchable(write: WriteDoc) -> None:
    doc = read(write("a.md", make_doc("T", "b", owner="Jane Doe", priority=3, flags=["x", "y"])))
    assert doc.keywords["owner"] == ("Jane Doe",)  # type: ignore[attr-defined]
    assert doc.keywords["priority"] == ("3",)  # type: ignore[attr-defined]
    assert doc.keywords["flags"] == ("x", "y")  # type: ignore[attr-defined]


def test_document_without_frontmatter_is_fine(write: WriteDoc) -> None:
    doc = read(write("plain.md", "# Plain page\n\nNo metadata at all.\n"))
    assert doc.title == "Plain page"  # type: ignore[attr-defined]
    assert doc.metadata == {}  # type: ignore[attr-defined]


TLDR_MV = (
    "# mv\n\n> Move or rename files and directories.\n"
    "> More information: <https://www.gnu.org/software/coreutils/mv>.\n\n"
    "- Move a file to an arbitrary location:\n\n`mv {{path/to/source}} {{path/to/target}}`\n"
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # tldr-pages' format: the quote under the title says what the command does (its web
        # address is no summary word).
        (TLDR_MV, "Move or rename files and directories.\nMore information:"),
        ("> A summary first, *marked*.\n\nThen the text.\n", "A summary first, marked."),
        # The frontmatter's summary comes first.
        ("---\ndescription: Said here.\n---\n> Quoted.\n\nText.\n", "Said here."),
        # An alert or a callout is a note, not a summary; a quote further down is a quotation.
        ("# T\n\n> [!NOTE]\n> Back up first.\n\nText.\n", ""),
        ("# T\n\nText first.\n\n> A quotation.\n", ""),
        # A quote of nothing but an address summarises nothing (not the paragraph after it).
        ("# T\n\n> <https://example.com/t>\n\nText.\n", ""),
    ],
)
def test_a_page_that_opens_with_a_quote_has_it_as_its_summary(
    write: WriteDoc, content: str, expected: str
) -> None:
    doc = read(write("a.md", content))
    assert doc.description == expected  # type: ignore[attr-defined]


def test_a_long_opening_quote_is_cut_to_a_summary(write: WriteDoc) -> None:
    doc = read(write("a.md", "> " + " ".join(f"w{i}" for i in range(200)) + "\n"))
    assert doc.description.split() == [f"w{i}" for i in range(70)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n ", "empty file"),
        (b"---\ntitle: [unclosed\n---\nbody\n", "invalid YAML frontmatter"),
        (b"---\n- a\n- b\n---\nbody\n", "frontmatter must be a mapping"),
        (b"---\njust a string\n---\nbody\n", "frontmatter must be a mapping"),
        (b"---\ntitle: T\nbody never closes\n", "never closed"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("---\ntitle: caf\xe9\n---\nb\n".encode("latin-1"), "not UTF-8"),
        (b"---\ntitle: T\nlastReviewed: not a date\n---\nb\n", "is not a date"),
        (b"---\ntitle: T\nlastReviewed: 2025-13-45\n---\nb\n", "not a date"),
        (b"---\ntitle: [a, b]\n---\nb\n", "`title` must be text, not a list"),
        (b"---\ntitle: T\ntags:\n  a: 1\n---\nb\n", "`tags` must be a value or a list"),
        (b"---\ntitle: T\ntags: [[a, b]]\n---\nb\n", "`tags` must be a value or a list"),
    ],
)
def test_bad_documents_name_the_problem(write: WriteDoc, content: bytes, reason: str) -> None:
    path = write("bad.md", content)
    with pytest.raises(DocumentError) as caught:
        read(path)
    assert caught.value.path == str(path)
    assert reason in caught.value.reason


def test_encodings_bom_utf16_and_crlf_are_read(write: WriteDoc) -> None:
    text = make_doc("Café", "Line one\n\nLine two")
    for name, data in [
        ("bom.md", b"\xef\xbb\xbf" + text.encode()),
        ("utf16.md", text.encode("utf-16")),
        ("crlf.md", text.replace("\n", "\r\n").encode()),
    ]:
        doc = read(write(name, data))
        assert doc.title == "Café", name  # type: ignore[attr-defined]
        assert "\r" not in doc.body  # type: ignore[attr-defined]


def test_invisible_characters_do_not_split_words(write: WriteDoc) -> None:
    doc = read(write("z.md", make_doc("T", "trans\u200bfusion \u202eabc \U0001f600 ok")))
    assert "transfusion" in doc.body  # type: ignore[attr-defined]
    assert "\U0001f600" in doc.body  # type: ignore[attr-defined]


def test_brand_names_are_read_from_drug_pages() -> None:
    assert brand_names("US Brand Name(s)\n\nAvastin\nMvasi\n\nFDA Approved") == (
        "Avastin",
        "Mvasi",
    )
    assert brand_names("no brand section here") == ()


def test_sections_have_site_generator_anchors_and_their_offsets(write: WriteDoc) -> None:
    body = """
    Intro text.

    - Treatment of anemia
    - Other words

    ## Treatment of anemia

    Transfusions help.

    ## Treatment of anemia

    Again, a repeated heading.

    ### Cómo se trata: ¿qué hacer?

    Texto.
    """
    doc = read_document(write("a.md", make_doc("T", body)), write("b.md", "x").parent)
    assert [(s.heading, s.anchor) for s in doc.sections] == [
        ("Treatment of anemia", "treatment-of-anemia"),
        ("Treatment of anemia", "treatment-of-anemia_1"),  # as Python-Markdown's toc numbers it
        ("Cómo se trata: ¿qué hacer?", "como-se-trata-que-hacer"),
    ]
    # Each offset is the heading's own line, not the list item with the same words before it.
    first, second, third = doc.sections
    assert doc.body[first.start :].startswith("Treatment of anemia\n\nTransfusions help.")
    assert doc.body[second.start :].startswith("Treatment of anemia\n\nAgain")
    assert doc.body[third.start :].startswith("Cómo se trata")


def test_a_toc_marker_is_text_not_a_table_of_contents(write: WriteDoc) -> None:
    doc = read_document(
        write("a.md", make_doc("T", "[TOC]\n\n## First\n\nText.")), write("b.md", "x").parent
    )
    assert doc.body.startswith("[TOC]") and doc.body.count("First") == 1


def _rendered_in_a_new_thread(*sources: str) -> list[Rendered]:
    """Each source rendered in turn by one new thread (so by a renderer of its own)."""
    out: list[Rendered] = []
    thread = threading.Thread(target=lambda: out.extend(map(render_markdown, sources)))
    thread.start()
    thread.join()
    return out


def test_a_page_renders_the_same_after_other_pages() -> None:
    # The renderer is reused page after page: nothing of one page may reach the next (heading
    # anchors already taken, abbreviations, footnotes, stashed code).
    before = (
        "# Intro\n\nThe HTML spec[^1].\n\n*[HTML]: Hyper Text Markup Language\n\n"
        "[^1]: A note.\n\n```python\nprint('hi')\n```\n"
    )
    page = "# Intro\n\nHTML again[^1], and `code`.\n\n[^1]: Another note.\n\n## Intro\n\nText.\n"
    (alone,) = _rendered_in_a_new_thread(page)
    _, after = _rendered_in_a_new_thread(before, page)
    assert after == alone
    assert [s.anchor for s in alone.sections] == ["intro", "intro_1"]
    assert "print" not in alone.text and "Another note" in alone.text
