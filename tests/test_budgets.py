"""The checks that hold a document and a query to their budgets, before the costly step runs."""

from __future__ import annotations

import pytest
import yaml

from search.budgets import (
    MAX_NESTING,
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    Budgets,
    bound_query,
    check_values,
    markdown_depth,
)
from search.errors import DocumentError

from .hostile import alias_bomb, deep_list


@pytest.mark.parametrize(
    ("markdown", "depth"),
    [
        ("plain text\n\nmore text", 0),
        ("- a\n- b\n- c", 1),
        ("- a\n  - b\n    - c\n- d", 3),
        ("1. a\n   1. b\n      - c", 3),
        ("- a\n\n  continued under a\n  - b", 2),
        ("- a\n  - b\n\nback at the left\n\n- c", 2),
        ("> a\n> > b\n> > > c", 3),
        ("> - a\n>   - b", 3),
        ("```\n- a\n  - b\n    - c\n```\n- d", 1),  # lists inside fenced code are code
        ("~~~~\n> > > >\n~~~~", 0),
        (deep_list(300), 101),  # counting stops past the limit
    ],
)
def test_markdown_depth(markdown: str, depth: int) -> None:
    assert markdown_depth(markdown, limit=100) == depth


def test_an_alias_bomb_is_counted_not_expanded() -> None:
    loaded = yaml.safe_load(alias_bomb().split("---")[1])  # PyYAML shares aliased lists
    with pytest.raises(DocumentError, match="expands to more than 10,000 values"):
        check_values(loaded, Budgets(), "bomb.md")
    check_values(loaded, Budgets(max_values=2 * 10**9), "bomb.md")  # counting is cheap


def test_shared_values_count_each_time_they_are_used() -> None:
    shared = ["a", "b", "c"]
    value = {"x": shared, "y": shared}  # 1 + (1 + 4) + (1 + 4) = 11 values
    check_values(value, Budgets(max_values=11), "page.md")
    with pytest.raises(DocumentError, match="more than 10 values"):
        check_values(value, Budgets(max_values=10), "page.md")


def test_frontmatter_that_contains_itself_is_refused() -> None:
    loaded = yaml.safe_load("a: &a [x, *a]")
    with pytest.raises(DocumentError, match="contains itself"):
        check_values(loaded, Budgets(), "loop.md")


@pytest.mark.parametrize("name", ["max_size_mb", "max_values", "max_depth", "timeout"])
def test_budgets_must_be_positive(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Budgets(**{name: 0})


def test_a_short_query_is_left_alone() -> None:
    assert bound_query("(anemia OR fatigue) AND transfusion") == (
        "(anemia OR fatigue) AND transfusion",
        (),
    )


def test_a_long_query_is_cut_at_a_word_and_says_so() -> None:
    words = [f"word{n}" for n in range(500)]
    text, notices = bound_query(" ".join(words))
    assert text.split() == words[:MAX_QUERY_WORDS]
    assert notices == (f"the query was cut to its first {MAX_QUERY_WORDS} words (of 500)",)

    long_words = ["x" * 40] * 60
    text, notices = bound_query(" ".join(long_words))
    assert len(text) <= MAX_QUERY_CHARS and text.split() == long_words[: len(text.split())]
    assert notices == (f"the query was cut to its first {len(text):,} characters (of 2,459)",)


def test_deep_parentheses_are_read_as_words() -> None:
    deep = "(" * (MAX_NESTING + 1) + "anemia" + ")" * (MAX_NESTING + 1)
    text, notices = bound_query(deep)
    assert text.split() == ["anemia"]
    assert "nested 17 deep" in notices[0]
    shallow = "(" * MAX_NESTING + "anemia" + ")" * MAX_NESTING
    assert bound_query(shallow) == (shallow, ())
