"""Search as you type: the word being typed matches the indexed words it begins, and is never
corrected while it has them (`KnowledgeBase.search(prefix=True)`, the API's `prefix=last`)."""

from __future__ import annotations

import pytest

import search
from search.engine import bm25f, topk
from search.query.parsing import parse_user_query, typed_last_word, without_open_quote


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


def test_a_word_being_typed_and_its_completions_score_as_one_word(
    seed_kb: search.KnowledgeBase,
) -> None:
    """The completions of `chem` are one word's forms: one BM25F clause per language over all
    of them (their frequencies add up, the most common one's idf), so a page is not ranked up
    for holding many of them, and the clause is bounded as one word is. Whoosh's matchers and
    `topk` agree on its scores."""
    searcher = seed_kb._fresh_searcher()
    reader = searcher.reader()
    typing = "chem"
    begun = seed_kb._words_beginning(reader, typing, "en")
    assert len(begun) > 3
    parsed = parse_user_query(
        typing, searcher.schema, reader, "auto", seed_kb.synonyms, "en", (typing, begun)
    )
    words = [c for c in parsed.subqueries if isinstance(c, bm25f.FieldsTerm)]
    english = [w for w in words if any(t.fieldname == "body" for t in w.subqueries)]
    assert len(english) == 1  # the typed word and its completions together
    texts = {t.text for t in english[0].subqueries}
    assert len(texts) > 3 and "chemotherapi" in texts
    scores = topk.score_all(searcher, parsed)
    whoosh = {h.docnum: h.score for h in bm25f.whoosh_search(searcher, parsed, None)}
    assert scores.keys() == whoosh.keys() and len(scores) > 20
    assert [scores[d] for d in sorted(scores)] == pytest.approx([whoosh[d] for d in sorted(scores)])
    # One word's score is bounded by idf * (K1 + 1) (plus the title's): no sum over the forms.
    bound = max(
        bm25f.terms_idf(searcher, [(t.fieldname, t.text) for t in w.subqueries]) * (bm25f.K1 + 1)
        for w in words
    )
    assert max(scores.values()) <= bound * (1 + bm25f.TITLE_BONUS) + 1e-9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"stem cell tran', "stem cell tran"),
        ('anemia "red blo', "anemia  red blo"),
        ('"red blood cells"', '"red blood cells"'),
        ('"a" "b', '"a"  b'),
    ],
)
def test_an_open_phrase_is_searched_as_its_words_while_typed(text: str, expected: str) -> None:
    assert without_open_quote(text) == expected


def test_typing_a_phrase_finds_its_pages_before_the_quote_closes(
    seed_kb: search.KnowledgeBase,
) -> None:
    typed = seed_kb.search('"red blood ce', prefix=True, limit=10)
    assert typed.suggestion is None and typed.total > 0
    assert any("cell" in word.lower() for hit in typed.hits for word in hit.highlights)
