"""The open index: one searcher, opened anew when the index changes on disk, thread-safe."""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import os
import pickle
import re
import struct
import threading
import weakref
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.searching import Results, Searcher

from ..budgets import bound_query
from ..engine import blocks, bm25f, storage, topk
from ..engine.storage import damaged, open_generation
from ..errors import DocumentNotFound, IndexNotFound, IndexOutdated
from ..query.feedback import DOCUMENTS as FEEDBACK_PAGES
from ..query.feedback import applies as feedback_applies
from ..query.feedback import expand
from ..query.language import (
    FIELDS,
    SPELLING,
    detect,
    field_language,
    field_pages,
    languages_present,
    outmatched,
    parse_language,
)
from ..query.parsing import (
    PREFIX_COMPLETIONS,
    Filters,
    QueryMode,
    build_filter,
    content_terms,
    facet_groups,
    highlight_terms,
    matching_docs,
    parse_user_query,
    sort_facet,
    suggest,
    typed_last_word,
    without_open_quote,
)
from ..text import highlight
from ..text.languages import normalize_tag
from ..text.schema import (
    ALL_TEXT_FIELDS,
    BODY_FIELDS,
    CAPITAL_LETTER_WORDS,
    CITED_FIELDS,
    DYNAMIC_PREFIX,
    FIELD_WEIGHTS,
    LABEL_JOINT,
    LABELS_FIELD,
    SCHEMA_VERSION,
    SPELLING_FIELD,
    SPELLING_FIELDS,
    fold_accents,
    suffix_of,
    term_function,
)
from ..text.synonyms import Synonyms, load_synonyms, user_synonyms_file
from .results import (
    Hit,
    IndexStats,
    IndexStatus,
    SearchResults,
    Section,
    StoredDocument,
    Translation,
)

# Metadata keys whose value counts `stats()` reports.
STATS_KEYS = ("tags", "source", "sourceType", "language", "audienceLevel", "status", "cancerTypes")
# Upper bound of one page, so a typo like --limit 10000000 cannot exhaust memory.
MAX_LIMIT = 10_000
# A hit shows its best few sections (Pagefind shows 3 sub-results too): more is a second page.
SECTIONS_PER_HIT = 3
# A query of no words: list pages rather than rank them (`*`, `*:*`, or filters alone).
BROWSING = re.compile(r"[\s*:]*")
# Search-as-you-type reads at most this many indexed words that begin with the typed letters.
COMPLETION_SCAN = 20_000

# What reading a damaged index file raises: Whoosh's pickled headers and stored fields, the
# compressed blocks, the packed integers, a posting block whose header does not fit its bytes.
DAMAGED_DATA = (pickle.UnpicklingError, zlib.error, struct.error, EOFError, blocks.DamagedBlock)


_LABELS: weakref.WeakKeyDictionary[IndexReader, dict[tuple[str, str], str]] = (
    weakref.WeakKeyDictionary()
)


def facet_labels(reader: IndexReader) -> dict[tuple[str, str], str]:
    """(key, value as indexed) -> the value as most pages write it (`label_token`)."""
    labels = _LABELS.get(reader)
    if labels is None:
        best: dict[tuple[str, str], tuple[tuple[int, int], str]] = {}
        if LABELS_FIELD in reader.schema:
            for term in reader.lexicon(LABELS_FIELD):
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                key, folded, written = text.split(LABEL_JOINT, 2)
                # most pages first, then the form that keeps the most accents
                rank = (
                    reader.doc_frequency(LABELS_FIELD, text),
                    sum(not c.isascii() for c in written),
                )
                if rank > best.get((key, folded), ((0, 0), ""))[0]:
                    best[(key, folded)] = (rank, written)
        labels = _LABELS[reader] = {pair: written for pair, (_, written) in best.items()}
    return labels


# A hit links to at most this many translations of itself.
MAX_TRANSLATIONS = 16


def _translations(searcher: Searcher, stored: dict[str, Any]) -> tuple[Translation, ...]:
    """The page in the index's other languages (pages that share its `translation` key), by
    language tag."""
    key = stored.get("translation")
    language = stored.get("language_tag", ("",))[0]
    pages = _pages_of_key(searcher, key) if key else ()
    return tuple(t for t in pages if t.language != language and t.id != stored.get("id"))


# The pages of each translation key an index's reader was asked for (a reader never changes).
_KEY_PAGES: weakref.WeakKeyDictionary[IndexReader, dict[str, tuple[Translation, ...]]] = (
    weakref.WeakKeyDictionary()
)
_KEYS_KEPT = 10_000


def _pages_of_key(searcher: Searcher, key: str) -> tuple[Translation, ...]:
    """The first page of each language with translation key `key`, by language tag; read once
    a reader (the same pages come back page after page, and keystroke after keystroke)."""
    known = _KEY_PAGES.setdefault(searcher.reader(), {})
    pages = known.get(key)  # (another thread may clear `known` meanwhile: only read it once)
    if pages is None:
        found: dict[str, Translation] = {}
        for docnum in searcher.document_numbers(translation=key):
            other = searcher.stored_fields(docnum)
            tag = other.get("language_tag", ("",))[0]
            if tag not in found:
                title, url = other.get("title", ""), other.get("page_url", "")
                found[tag] = Translation(other["id"], title, tag, url)
            if len(found) > MAX_TRANSLATIONS:
                break
        if len(known) >= _KEYS_KEPT:
            known.clear()
        pages = known[key] = tuple(found[tag] for tag in sorted(found))
    return pages


def weighting() -> bm25f.Weighting:
    """The ranking model every search uses, with the roles of the schema's fields."""
    return bm25f.Weighting(
        bm25f.FieldRoles(
            text=frozenset(ALL_TEXT_FIELDS),
            long=frozenset(BODY_FIELDS + CITED_FIELDS),
            pages=field_pages,
        )
    )


def _feedback_query(
    searcher: Searcher,
    parsed: wq.Query,
    words: list[str],
    first: list[tuple[float, dict[str, Any]]],
    language: str | None,
) -> wq.Query | None:
    """The query re-weighted by the words of its first pages (`feedback.expand`), or None.
    Added words re-rank the pages the query matches; they never add pages."""
    fieldnames = FIELDS[language or "en"]
    return expand(searcher, parsed, words, first, fieldnames, FIELD_WEIGHTS)


class KnowledgeBase:
    """A searchable index folder. Create with `open_index`; safe to share between threads."""

    def __init__(
        self,
        index_dir: str | os.PathLike[str],
        synonyms: str | os.PathLike[str] | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.synonyms_file = user_synonyms_file(synonyms)
        load_synonyms(self.synonyms_file)  # a bad file is reported when the index is opened
        self._lock = threading.RLock()
        self._generation: Path | None = None
        self._index: whoosh_index.Index | None = None
        self._searcher: Searcher | None = None
        with self._lock:
            self._fresh_searcher()

    @property
    def synonyms(self) -> Synonyms:
        """The synonym groups a search expands with: built-in plus the user's file as it is now
        (re-read only when a file changed, so a long-lived process sees edits)."""
        return load_synonyms(self.synonyms_file)

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """The lock held while the index is read; a file that fails to decode (damaged after the
        index was opened) is reported as a damaged index, naming the fix."""
        with self._lock:
            try:
                yield
            except DAMAGED_DATA as exc:
                raise damaged(self.index_dir, exc) from None

    def close(self) -> None:
        """Release the searcher's open files."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._index = None
            self._generation = None

    def _fresh_searcher(self) -> Searcher:
        """The searcher of the live generation, reopened after a swap, refreshed after a commit."""
        generation = storage.current_generation(self.index_dir)
        if generation is None:
            raise IndexNotFound(
                f"no index at {self.index_dir}; build it with `kbsearch index [SOURCE]`"
            )
        if generation != self._generation or self._searcher is None:
            version = storage.read_meta(generation).get("schema_version")
            if version != SCHEMA_VERSION:
                raise IndexOutdated(
                    f"the index at {self.index_dir} was built by another version of kbsearch "
                    f"(schema {version}, this one reads {SCHEMA_VERSION}); rebuild it with "
                    "`kbsearch index [SOURCE]`"
                )
            index = open_generation(generation)
            searcher = self._searcher_of(index)
            if self._searcher is not None:
                self._searcher.close()
            self._index, self._searcher, self._generation = index, searcher, generation
        elif not self._searcher.up_to_date():
            # A new searcher, never Whoosh's `refresh()`: that reuses segment readers with the
            # deletions they had and brings back segments a commit merged away. Every read
            # holds the lock, so no search still uses the old one when it is closed here.
            assert self._index is not None
            searcher = self._searcher_of(self._index)
            self._searcher.close()
            self._searcher = searcher
        return self._searcher

    def _searcher_of(self, index: whoosh_index.Index) -> Searcher:
        """A searcher over the index's latest commit; what Whoosh cannot open names the fix."""
        try:
            return index.searcher(weighting=weighting())
        except Exception as exc:
            raise damaged(self.index_dir, exc) from None

    def search(
        self,
        query: str,
        *,
        filters: Filters | None = None,
        since: str | dt.date | None = None,
        until: str | dt.date | None = None,
        facets: Sequence[str] = (),
        sort: str | None = None,
        limit: int = 10,
        page: int = 1,
        offset: int | None = None,
        mode: QueryMode = "auto",
        fix: bool = False,
        snippet_chars: int = highlight.SNIPPET_CHARS,
        snippets: bool = True,
        feedback: bool = True,
        query_language: str | None = None,
        prefix: bool = False,
        typos: bool = True,
    ) -> SearchResults:
        """Search; filters never change scores, facets count the whole result set (a filtered
        key's values as if that key were not filtered, so its other values stay in view).

        `mode="plain"` reads the text as words only (no syntax). `fix=True` searches the
        spelling suggestion instead when one exists. `snippets=False` skips highlighting.
        `feedback=False` turns off the re-ranking of long questions by their top pages' words.
        `query_language` ("en", "es"; None or "auto": detected) says which language the query
        is in: pages in that language rank first, others come (unlike a `language` filter)
        when they match at least as well as its best page. The results say which language was
        assumed.
        `prefix=True`: the query is being typed, so its last word, when nothing follows it, also
        matches the most common indexed words that begin with it (`chemot`: chemotherapy), and
        is never corrected nor suggested a spelling while it has such words. `typos=False`
        searches a word the index does not have as typed, not as its closest spellings.
        """
        limit = max(0, min(limit, MAX_LIMIT))
        start = offset if offset is not None else max(0, page - 1) * limit
        query, notices = bound_query(query)
        if prefix:  # a phrase being typed is searched as its words until its quote closes
            query = without_open_quote(query)
        with self._reading():
            searcher = self._fresh_searcher()
            schema, reader = searcher.schema, searcher.reader()
            synonyms = self.synonyms
            condition = build_filter(filters, schema, since, until, reader)
            if BROWSING.fullmatch(query):
                return self._browse(
                    searcher,
                    query,
                    condition,
                    sort,
                    facets,
                    start,
                    limit,
                    notices,
                    filters,
                    since,
                    until,
                )
            language = parse_language(query_language) or detect(query, reader)
            typing = typed_last_word(query) if prefix else None
            begun = self._words_beginning(reader, typing, language) if typing else []
            completions = (typing, begun) if typing and begun else None
            suggestion = suggest(query, searcher, language, typing if completions else None)
            if language is None and suggestion is not None:  # `chemoterapy`: English after all
                language = detect(suggestion, reader)
            parsed = parse_user_query(
                query, schema, reader, mode, synonyms, language, completions, typos
            )
            corrected = bool(fix and suggestion)
            if corrected and suggestion is not None:
                parsed = parse_user_query(
                    suggestion, schema, reader, mode, synonyms, language, completions, typos
                )
            groups = facet_groups(facets)
            ordered = sort_facet(sort) is not None
            feedback = feedback and not ordered and parsed is not wq.NullQuery
            asked = suggestion or query if corrected else query
            words = content_terms(asked, schema, language) if feedback else []
            feedback = feedback and feedback_applies(words)
            # Mark the words asked for, not the ones feedback adds.
            marks = highlight_terms(parsed, reader) if snippets else None
            window, fed = slice(start, start + limit), (words if feedback else None)
            hidden: frozenset[int] = frozenset()
            found: Sequence[tuple[dict[str, Any], float | None]]
            if not ordered and not groups:
                found, total, total_is_exact = self._ranked(
                    searcher, parsed, condition, window, fed, language
                )
                facet_counts: dict[str, dict[str, int]] = {}
            else:
                hidden = self._hidden(searcher, parsed, condition, language)
                found, total, facet_counts = self._collected(
                    searcher, parsed, condition, window, fed, language, sort, groups, hidden
                )
                total_is_exact = True
            self._count_apart(searcher, parsed, filters, since, until, facet_counts, hidden)
            hits = tuple(
                self._hit(searcher, stored, score, marks, snippet_chars) for stored, score in found
            )
            return SearchResults(
                query=query,
                total=total,
                total_is_exact=total_is_exact,
                hits=hits,
                offset=start,
                limit=limit,
                facets=facet_counts,
                suggestion=suggestion,
                corrected=corrected,
                language=language,
                notices=notices,
            )

    def _count_apart(
        self,
        searcher: Searcher,
        parsed: wq.Query,
        filters: Filters | None,
        since: str | dt.date | None,
        until: str | dt.date | None,
        counts: dict[str, dict[str, int]],
        hidden: frozenset[int] = frozenset(),
    ) -> None:
        """Count the values of a filtered key as if that key were not filtered, the others
        still applying (disjunctive facets): choosing `tags: treatment` keeps the other tags in
        view with the pages each would add."""
        for name in [key for key in counts if key in (filters or {})]:
            others = {key: value for key, value in (filters or {}).items() if key != name}
            condition = build_filter(others, searcher.schema, since, until)
            groups = facet_groups([name])
            counted = self._collected(
                searcher, parsed, condition, slice(0, 0), None, None, None, groups, hidden
            )
            counts[name] = counted[2][name]

    def _browse(
        self,
        searcher: Searcher,
        query: str,
        condition: wq.Query | None,
        sort: str | None,
        facets: Sequence[str],
        start: int,
        limit: int,
        notices: tuple[str, ...],
        filters: Filters | None,
        since: str | dt.date | None,
        until: str | dt.date | None,
    ) -> SearchResults:
        """No words to rank by: `*`, or filters alone, list the pages that pass the filters
        (all of them for `*`), newest first where pages have dates, else by title; nothing for
        an empty query with no filter. No wildcard is expanded over the vocabulary."""
        if not query.strip() and condition is None:
            return SearchResults(query=query, total=0, hits=(), offset=start, limit=limit)
        if sort is None:
            dated = "lastReviewed" in searcher.reader().indexed_field_names()
            sort = "-lastReviewed" if dated else "title"
        window = slice(start, start + limit)
        found, total, facet_counts = self._collected(
            searcher, wq.Every(), condition, window, None, None, sort, facet_groups(facets)
        )
        self._count_apart(searcher, wq.Every(), filters, since, until, facet_counts)
        return SearchResults(
            query=query,
            total=total,
            # no query words: each hit shows the page's leading text
            hits=tuple(self._hit(searcher, stored, score, {}) for stored, score in found),
            offset=start,
            limit=limit,
            facets=facet_counts,
            notices=notices,
        )

    @staticmethod
    def _leave_out(reader: IndexReader, language: str | None) -> topk.LeaveOut | None:
        """In an index of several languages, for a query in one of them: what names the pages
        in other languages that match worse than the query language's best (`outmatched`)."""
        if language is None or len(languages_present(reader)) < 2:
            return None
        return lambda scores: outmatched(scores, language, reader)

    @classmethod
    def _hidden(
        cls,
        searcher: Searcher,
        parsed: wq.Query,
        condition: wq.Query | None,
        language: str | None,
    ) -> frozenset[int]:
        """The pages `_leave_out` names among every match (within the filter `condition`)."""
        leave_out = cls._leave_out(searcher.reader(), language)
        if leave_out is None or parsed is wq.NullQuery:
            return frozenset()
        allowed = None if condition is None else set(searcher.docs_for_query(condition))
        return frozenset(leave_out(topk.score_all(searcher, parsed, allowed)))

    @classmethod
    def _ranked(
        cls,
        searcher: Searcher,
        parsed: wq.Query,
        condition: wq.Query | None,
        window: slice,
        words: list[str] | None,
        language: str | None,
    ) -> tuple[list[tuple[dict[str, Any], float]], int, bool]:
        """A plain word query's page of hits (stored fields, score), its total and whether the
        total is exact, ranked by `topk` (the same scores as Whoosh's, a fraction of the time),
        less the pages in other languages that match worse than the query language's best;
        `words`: re-ranked by feedback from them."""
        allowed = None if condition is None else set(searcher.docs_for_query(condition))
        wanted = max(window.stop, FEEDBACK_PAGES if words is not None else 0)
        leave_out = cls._leave_out(searcher.reader(), language)
        ranking = topk.rank(
            searcher, parsed, wanted, allowed, every_match=words is not None, leave_out=leave_out
        )
        best = ranking.best
        if words is not None and ranking.matched:
            first = [(score, searcher.stored_fields(d)) for d, score in best[:FEEDBACK_PAGES]]
            expanded = _feedback_query(searcher, parsed, words, first, language)
            if expanded is not None:
                scores = topk.score_all(searcher, expanded)
                best = topk.top(scores, window.stop, ranking.matched)
        hits = [(searcher.stored_fields(docnum), score) for docnum, score in best[window]]
        return hits, ranking.total, ranking.total_is_exact

    def _collected(
        self,
        searcher: Searcher,
        parsed: wq.Query,
        condition: wq.Query | None,
        window: slice,
        words: list[str] | None,
        language: str | None,
        sort: str | None,
        groups: dict[str, Any],
        hidden: frozenset[int] = frozenset(),
    ) -> tuple[list[tuple[dict[str, Any], float | None]], int, dict[str, dict[str, int]]]:
        """A sorted or faceted query's page of hits, total and facet counts, from Whoosh's
        collectors, less the `hidden` pages; `words`: re-ranked by feedback from them."""
        matched = self._matches(searcher, parsed, condition)
        if matched is not None:
            matched -= hidden
        expanded = None
        if words is not None:
            first = self._first_pages(searcher, parsed, condition, hidden)
            expanded = _feedback_query(searcher, parsed, words, first, language)
        if expanded is not None:
            if matched is not None:
                condition = matched
            else:
                condition = parsed if condition is None else wq.And([condition, parsed])
        limit = window.stop - window.start
        order = sort_facet(sort)
        results = bm25f.whoosh_search(
            searcher,
            expanded or parsed,
            window.stop if limit else 1,
            filter=condition,
            sortedby=order,
            groupedby=groups or None,
            mask=set(hidden) or None,
        )
        # Sorted by a field, Whoosh's score is that field's sort key (a title's bytes): none.
        hits = (
            [(hit.fields(), None if order else hit.score) for hit in results[window]]
            if limit
            else []
        )
        total = len(results) if matched is None else len(matched)
        return hits, total, self._facet_counts(results, groups)

    @staticmethod
    def _first_pages(
        searcher: Searcher,
        parsed: wq.Query,
        condition: wq.Query | None,
        hidden: frozenset[int] = frozenset(),
    ) -> list[tuple[float, dict[str, Any]]]:
        """(score, stored fields) of the first search's best pages, which feedback reads."""
        results = bm25f.whoosh_search(
            searcher, parsed, FEEDBACK_PAGES, filter=condition, mask=set(hidden) or None
        )
        return [(hit.score, hit.fields()) for hit in results]

    @staticmethod
    def _matches(
        searcher: Searcher, parsed: wq.Query, condition: wq.Query | None
    ) -> set[int] | None:
        """The documents the query and filter match, from posting lists where the query allows
        (None: ask Whoosh). Gives the total, and the filter of a feedback-expanded search."""
        docs = matching_docs(searcher, parsed)
        if docs is not None and condition is not None:
            docs &= set(searcher.docs_for_query(condition))
        return docs

    @staticmethod
    def _facet_counts(results: Results, groups: dict[str, Any]) -> dict[str, dict[str, int]]:
        """Each facet's values, as pages write them, with their counts, most pages first."""
        counts: dict[str, dict[str, int]] = {}
        labels = facet_labels(results.searcher.reader())
        for name in groups:
            found: dict[str, int] = {}
            for value, count in results.groups(name).items():
                if value is None:
                    continue
                if name == "language":  # indexed folded; shown as BCP 47 writes them (`pt-BR`)
                    label = normalize_tag(str(value)) or str(value)
                else:
                    label = labels.get((name, str(value)), str(value))
                found[label] = found.get(label, 0) + int(count)
            counts[name] = dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))
        return counts

    @staticmethod
    def _hit(
        searcher: Searcher,
        stored: dict[str, Any],
        score: float | None,
        marks: dict[str, frozenset[str]] | None,
        snippet_chars: int = highlight.SNIPPET_CHARS,
    ) -> Hit:
        """A result from a document's stored fields; `marks` are the terms to highlight per field
        (None: no snippets)."""
        title = stored.get("title", "")
        if marks is not None:
            content = stored.get("content", "")
            suffix = suffix_of(stored)
            body, heading = "body" + suffix, "title" + suffix
            # The body's matches are found once: the snippet and the sections both use them.
            matches = highlight.find_matches(
                content, marks.get(body, ()), term_function(body), CAPITAL_LETTER_WORDS
            )
            code = [(start, end) for start, end in stored.get("code", ())]
            parts = [tuple(section) for section in stored.get("sections", ())]
            # The snippet shows what the page says, not who it cites, where it says anything.
            cited = [(start, end) for start, end in stored.get("cited_spans", ())]
            said = [m for m in matches if not any(s <= m[0] < e for s, e in cited)] or matches
            snippet = highlight.snippet_of(
                content, said, snippet_chars, highlight.SNIPPET_FRAGMENTS, code
            ) or highlight.leading(content, snippet_chars, code)
            title_snippet = highlight.whole(
                title, marks.get(heading, ()), term_function(heading), CAPITAL_LETTER_WORDS
            )
            headings = "headings" + suffix  # analysed as the body is
            marked = marks.get(body, frozenset()) | marks.get(headings, frozenset())
            sections = tuple(
                Section(
                    heading,
                    anchor,
                    section_snippet,
                    highlight.whole(heading, marked, term_function(body), CAPITAL_LETTER_WORDS),
                )
                for heading, anchor, section_snippet in highlight.best_sections(
                    content,
                    parts,
                    matches,
                    SECTIONS_PER_HIT,
                    snippet_chars,
                    code,
                    cited,
                )
            )
        else:
            snippet, title_snippet = highlight.Snippet(), highlight.whole(title)
            sections = ()
        words = dict.fromkeys(title_snippet.matched_words() + snippet.matched_words())
        return Hit(
            id=stored["id"],
            path=stored.get("path", stored["id"]),
            title=title,
            score=score,
            snippet=snippet,
            title_snippet=title_snippet,
            highlights=tuple(words),
            metadata=stored.get("metadata", {}),
            sections=sections,
            url=stored.get("page_url", ""),
            language=stored.get("language_tag", ("",))[0],
            translations=_translations(searcher, stored),
        )

    def get(self, doc_id: str, query: str | None = None) -> StoredDocument:
        """One document by id (its path relative to the indexed folder); with `query`, where
        the query's words are in its text (`StoredDocument.marks`), to show them marked."""
        with self._reading():
            searcher = self._fresh_searcher()
            stored = searcher.document(id=doc_id)
            if stored is None:
                raise DocumentNotFound(f"no document with id {doc_id!r} in {self.index_dir}")
            content = stored.get("content", "")
            marks: tuple[tuple[int, int], ...] = ()
            if query and query.strip():
                text, _ = bound_query(query)
                reader = searcher.reader()
                language = detect(text, reader)
                parsed = parse_user_query(
                    text, searcher.schema, reader, "plain", self.synonyms, language
                )
                terms = highlight_terms(parsed, reader)
                body = "body" + suffix_of(stored)
                found = highlight.find_matches(
                    content, terms.get(body, ()), term_function(body), CAPITAL_LETTER_WORDS
                )
                marks = tuple((start, end) for start, end, _ in found)
        language, language_from = stored.get("language_tag", ("", ""))
        return StoredDocument(
            id=stored["id"],
            path=stored.get("path", doc_id),
            title=stored.get("title", ""),
            body=content,
            metadata=stored.get("metadata", {}),
            sections=tuple(
                (heading, anchor, start) for heading, anchor, start in stored.get("sections", ())
            ),
            marks=marks,
            url=stored.get("page_url", ""),
            language=language,
            language_from=language_from,
        )

    def similar(self, doc_id: str, limit: int = 10) -> SearchResults:
        """Documents like the given one (more-like-this on the body's key terms)."""
        with self._reading():
            searcher = self._fresh_searcher()
            docnum = searcher.document_number(id=doc_id)
            if docnum is None:
                raise DocumentNotFound(f"no document with id {doc_id!r} in {self.index_dir}")
            stored = searcher.stored_fields(docnum)
            field = "body" + suffix_of(stored)
            text = stored.get("content", "")
            results = searcher.more_like(docnum, field, text=text, top=limit, numterms=15)
            marks = highlight_terms(results.q, searcher.reader())
            hits = tuple(self._hit(searcher, hit.fields(), hit.score, marks) for hit in results)
            return SearchResults(query=f"similar:{doc_id}", total=len(hits), hits=hits, limit=limit)

    def status(self) -> IndexStatus:
        """Document count and last update, read without scanning the documents."""
        with self._lock:
            searcher = self._fresh_searcher()
            assert self._index is not None
            updated = dt.datetime.fromtimestamp(self._index.last_modified()).astimezone()
            return IndexStatus(
                str(self.index_dir), searcher.doc_count(), updated.isoformat(timespec="seconds")
            )

    def complete(self, text: str, limit: int = 8) -> list[str]:
        """`text` with its last word completed by indexed words that begin with it, most
        frequent first, from the pages of the text's language when it can be told: for
        search-as-you-type. A last word under two letters gets none."""
        head, _, last = text.rstrip().rpartition(" ")
        if len(last) < 2 or not last.isalnum():
            return []
        with self._reading():
            reader = self._fresh_searcher().reader()
            language = detect(head, reader) if head else None
            words = self._words_beginning(reader, last, language, limit, keep_word=True)
        return [f"{head} {word}".strip() for word in words]

    @staticmethod
    def _words_beginning(
        reader: IndexReader,
        begun: str,
        language: str | None,
        limit: int = PREFIX_COMPLETIONS,
        keep_word: bool = False,
    ) -> list[str]:
        """Indexed words (as written, accents folded) that begin with `begun`, most frequent
        first, from the pages of `language` (every language's when None); the word itself too
        only when `keep_word`."""
        fieldnames = (SPELLING[language],) if language else SPELLING_FIELDS
        found: dict[str, int] = {}
        for fieldname in fieldnames:
            if fieldname not in reader.schema:
                continue
            prefix = fold_accents(begun.lower(), field_language(fieldname))
            words = itertools.islice(reader.expand_prefix(fieldname, prefix), COMPLETION_SCAN)
            for word in words:
                word = word.decode("utf-8")
                if keep_word or word != prefix:
                    found[word] = found.get(word, 0) + reader.doc_frequency(fieldname, word)
        best = heapq.nsmallest(limit, found.items(), key=lambda item: (-item[1], item[0]))
        return [word for word, _ in best]

    def stats(self) -> IndexStats:
        """Document count, fields, size on disk, last update and value counts of main keys."""
        with self._reading():
            searcher = self._fresh_searcher()
            generation = self._generation
            assert generation is not None and self._index is not None
            groups = facet_groups(STATS_KEYS)
            results = searcher.search(wq.Every(), limit=1, groupedby=groups)
            values = self._facet_counts(results, groups)
            fields = tuple(
                sorted(
                    name.removeprefix(DYNAMIC_PREFIX)
                    for name in searcher.reader().indexed_field_names()
                    if name != SPELLING_FIELD
                )
            )
            updated = dt.datetime.fromtimestamp(self._index.last_modified()).astimezone()
            from .health import overdue_count  # only stats needs it (keeps queries' imports lean)

            reviewed = searcher.search(wq.Every("reviewFrequency"), limit=None)
            overdue = overdue_count(hit.get("metadata", {}) for hit in reviewed)
            return IndexStats(
                index_dir=str(self.index_dir),
                documents=searcher.doc_count(),
                size_bytes=sum(f.stat().st_size for f in generation.iterdir() if f.is_file()),
                last_updated=updated.isoformat(timespec="seconds"),
                source=storage.read_meta(generation).get("source"),
                fields=fields,
                values=values,
                extra={"overdue": overdue},
            )


def open_index(
    index_dir: str | os.PathLike[str] | None = None,
    synonyms: str | os.PathLike[str] | None = None,
) -> KnowledgeBase:
    """Open the index at `index_dir` (default `$KBSEARCH_INDEX` or `index/`) for searching;
    `synonyms` adds a user synonyms file to the built-in groups (default `$KBSEARCH_SYNONYMS`)."""
    return KnowledgeBase(
        index_dir if index_dir is not None else storage.default_index_dir(), synonyms
    )
