"""A field's postings analysed ahead of the writer (`Analyzed`), and the field types that take
them as they are (`TakesAnalyzed`): the writer's pool (`termpool`) and block writer (`blocks`)
read them without a Python object a posting."""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from whoosh import formats

Posting = tuple[bytes, int, float, bytes]  # term, frequency, weight, encoded positions
_POSITIONS_FORMAT = formats.Positions()


@dataclass(frozen=True)
class Analyzed:
    """A field's postings computed ahead of `add_document` (in a parsing worker, so both cores
    analyse): exactly what the field would compute from the text itself, held flat. Each term
    (in order of first appearance), its frequency, and for a positional field its positions,
    all terms' one after another: no object a posting, so the writers' pool holds them as they
    come and the block writer reads them without decoding (`termpool`, `blocks`)."""

    terms: tuple[bytes, ...] = ()
    frequencies: array[int] = field(default_factory=lambda: array("I"))
    positions: array[int] | None = field(default_factory=lambda: array("I"))  # None: kept none
    boost: float = 1.0  # the field format's: a posting's weight is its frequency times it

    @property
    def postings(self) -> tuple[Posting, ...]:
        """The postings as Whoosh's field would give them (term, frequency, weight, value)."""
        boost, positions = self.boost, self.positions
        if positions is None:
            return tuple(
                (term, count, count * boost, b"")
                for term, count in zip(self.terms, self.frequencies, strict=True)
            )
        starts = itertools.accumulate(self.frequencies, initial=0)
        ends = itertools.accumulate(self.frequencies)
        return tuple(
            (term, count, count * boost, _POSITIONS_FORMAT.encode(positions[start:end]))
            for term, count, start, end in zip(
                self.terms, self.frequencies, starts, ends, strict=False
            )
        )


class TakesAnalyzed:
    """Mixin for a field type that also takes an `Analyzed` value as is.

    The value goes to the writer's posting pool as one item (only kbsearch's indexer makes
    such values, and its writers' pool, `termpool`, takes them): Whoosh's writer loops over a
    field's postings in Python, one call and one tuple each, and only adds their frequencies
    (the field's length, given here) and multiplies their weights by the field's boost (which
    the pool does)."""

    def index(self, value: Any, **kwargs: Any) -> Iterator[Posting]:
        if isinstance(value, Analyzed):
            return iter([(value, sum(value.frequencies), 1.0, None)])  # type: ignore[list-item]
        return super().index(value, **kwargs)  # type: ignore[misc, no-any-return]
