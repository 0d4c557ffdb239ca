"""Search as you type: the word being typed matches the indexed words it begins, and is never
corrected while it has them (`KnowledgeBase.search(prefix=True)`, the API's `prefix=last`)."""

from __future__ import annotations

import pytest

import search
from search.query.parsing import typed_last_word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chemot", "chemot"),
        ("anemia transf", "transf"),
        ("tratamiento quimio", "quimio"),
        ("chemot ", None),  # a space after it: the word is finished
        ("c", None),  # one letter begins too many words
        ('"bone marr', None),  # inside an open phrase
        ("tags:treat", None),  # a field's value
        ("chemo*", None),  # syntax of its own
        ("anemia OR", None),  # an operator
        ("(anemia OR transf", "transf"),
    ],
)
def test_the_word_being_typed_is_the_last_one_with_nothing_after_it(
    text: str, expected: str | None
) -> None:
    assert typed_last_word(text) == expected


def test_typing_a_word_letter_by_letter_finds_its_pages_and_never_corrects_it(
    seed_kb: search.KnowledgeBase,
) -> None:
    whole = {hit.id for hit in seed_kb.search("chemotherapy", limit=10)}
    for typed in ("chem", "chemo", "chemot", "chemoth", "chemotherapy"):
        results = seed_kb.search(typed, prefix=True, limit=10)
        assert results.suggestion is None, typed
        marked = {word.lower() for hit in results.hits for word in hit.highlights}
        assert any(word.startswith("chemo") for word in marked), (typed, marked)
        if typed.startswith("chemot"):
            # the words it begins are chemotherapy's forms: the pages of the whole word
            assert len(whole & {hit.id for hit in results.hits}) >= 5, typed
    # Without prefix the same letters are a finished word, and a misspelled one.
    finished = seed_kb.search("chemot", limit=10)
    assert finished.suggestion is not None and "chemo" not in finished.suggestion


def test_the_words_before_the_one_being_typed_are_still_corrected(
    seed_kb: search.KnowledgeBase,
) -> None:
    results = seed_kb.search("anemya transf", prefix=True)
    assert results.suggestion == "anemia transf"
    assert results.total > 0


def test_a_finished_misspelled_word_is_still_suggested_while_typing(
    seed_kb: search.KnowledgeBase,
) -> None:
    # No indexed word begins with it: it is a typo, not a word being typed.
    results = seed_kb.search("luspatersept", prefix=True)
    assert results.suggestion == "luspatercept"
    assert results.hits and "luspatercept" in results.hits[0].title.lower()


def test_nonsense_gets_no_suggestion_built_from_its_few_near_words(
    seed_kb: search.KnowledgeBase,
) -> None:
    assert seed_kb.search("quantum blockchain zebra").suggestion is None
    assert seed_kb.search("chemoterapy").suggestion == "chemotherapy"
