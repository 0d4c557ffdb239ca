"""Synonym groups (built-in and user-supplied) and their expansion of query terms."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import KbsearchError

# Whoosh is imported by the functions that use it: the query client needs `user_synonyms_file` only.
if TYPE_CHECKING:
    from whoosh import query as wq
    from whoosh.reading import IndexReader

BUILTIN_FILE = Path(__file__).with_name("synonyms.txt")
SYNONYMS_ENV = "KBSEARCH_SYNONYMS"
# A synonym counts for less than the word typed: the page that uses the user's word comes first.
SYNONYM_WEIGHT = 0.3

# stem of a one-word term -> the other terms of its groups, each a tuple of stems (a phrase)
SynonymMap = dict[str, list[tuple[str, ...]]]
# A map a language: "en" from the English analyzer, "es" from the Spanish one. Every group is in
# both (a term the other language's pages lack costs nothing: it is never searched).
Synonyms = dict[str, SynonymMap]
# The field whose analyzer makes each language's map.
_ANALYZED_AS = {"en": "body", "es": "body_es"}


def read_groups(path: Path) -> list[list[str]]:
    """Groups of a synonyms file: comma-separated terms a line, `#` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KbsearchError(f"cannot read synonyms file {path}: {exc}") from None
    groups = []
    for line in lines:
        terms = [t.strip() for t in line.split("#", 1)[0].split(",") if t.strip()]
        if len(terms) > 1:
            groups.append(terms)
    return groups


def build_map(groups: Iterable[list[str]], fieldname: str = "body") -> SynonymMap:
    """Analyze every term as the field (`body`, `body_es`) is analyzed: expansion works on stems."""
    from .schema import build_schema

    field = build_schema()[fieldname]
    mapping: SynonymMap = {}
    for group in groups:
        analyzed = [tuple(field.process_text(term, mode="query")) for term in group]
        analyzed = [stems for stems in analyzed if stems]
        for stems in analyzed:
            if len(stems) != 1:
                continue
            others = [alt for alt in analyzed if alt != stems]
            existing = mapping.setdefault(stems[0], [])
            existing.extend(alt for alt in others if alt not in existing)
    return mapping


@lru_cache(maxsize=8)
def _cached_map(paths: tuple[str, ...], stamps: tuple[int, ...]) -> Synonyms:
    groups = [group for path in paths for group in read_groups(Path(path))]
    return {language: build_map(groups, field) for language, field in _ANALYZED_AS.items()}


def user_synonyms_file(extra: str | os.PathLike[str] | None = None) -> Path | None:
    """The user's synonyms file: `extra`, else $KBSEARCH_SYNONYMS, else none."""
    user = extra if extra is not None else os.environ.get(SYNONYMS_ENV)
    return Path(user) if user else None


def load_synonyms(user: Path | None) -> Synonyms:
    """The built-in groups plus those of the user's file (see `user_synonyms_file`), if any;
    cached until a file changes."""
    paths = [BUILTIN_FILE] if user is None else [BUILTIN_FILE, user]
    stamps = []
    for path in paths:
        try:
            stamps.append(path.stat().st_mtime_ns)
        except OSError as exc:
            raise KbsearchError(f"cannot read synonyms file {path}: {exc.strerror}") from None
    return _cached_map(tuple(map(str, paths)), tuple(stamps))


def with_synonyms(q: wq.Query, synonyms: Synonyms, reader: IndexReader) -> wq.Query:
    """Each text-field term that belongs to a group also searches the group's other terms
    (those the field contains: a term no page has would only cost time), in its language."""
    from whoosh import query as wq

    from .schema import SPANISH_FIELDS, TEXT_FIELDS

    if not synonyms:
        return q

    def expand(node: wq.Query) -> wq.Query:
        if type(node) is not wq.Term:
            return node
        if node.fieldname in TEXT_FIELDS:
            alternatives = synonyms.get("en", {}).get(node.text)
        elif node.fieldname in SPANISH_FIELDS:
            alternatives = synonyms.get("es", {}).get(node.text)
        else:
            return node
        if not alternatives:
            return node
        boost = node.boost * SYNONYM_WEIGHT
        extra: list[wq.Query] = [
            wq.Term(node.fieldname, alt[0], boost=boost)
            if len(alt) == 1
            else wq.Phrase(node.fieldname, list(alt), boost=boost)
            for alt in alternatives
            if all(reader.doc_frequency(node.fieldname, stem) for stem in alt)
        ]
        return wq.Or([node, *extra]) if extra else node

    return q.accept(expand)
