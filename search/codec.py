"""How Whoosh serialises what it writes: pickle protocol 4 instead of Whoosh 2.7's protocol 2.

Under protocol 2 every `bytes` value (each posting's term and encoded positions) is pickled as a
call to `codecs.encode`, which unpickling must run. Posting blocks (now written by `blocks`, in
their own layout) loaded ~6x faster at protocol 4; what Whoosh's block writer still pickles
(inlined postings, the blocks `blocks` leaves to it) is written at protocol 4 too. Sort runs
(postings a writer spills to disk while it builds a segment, then merges): Whoosh pickled them
one posting per call; written in chunks at protocol 4 they take ~8x less time to write and read
back (they were a third of a build's time). Readers are unchanged (`pickle.load` reads any
protocol).
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterable, Iterator
from typing import IO, Any

from whoosh import writing
from whoosh.codec import whoosh3

from . import blocks

PROTOCOL = blocks.PROTOCOL  # fixed, so the index bytes do not vary
# Postings per pickled chunk of a sort run. A merge holds one chunk of each run it reads
# (Whoosh merges up to 128 runs at once): ~60 kB a chunk keeps that under ~8 MB however many
# runs a large build spills.
RUN_CHUNK = 256


def _dumps(obj: Any, protocol: int | None = None) -> bytes:
    """Whoosh's `dumps(obj, 2)`, at `PROTOCOL` whatever protocol Whoosh asks for."""
    return pickle.dumps(obj, PROTOCOL)


class ChunkedPostingPool(writing.PostingPool):  # type: ignore[misc]
    """Whoosh's posting pool (sorted runs spilled to disk past `limitmb`, merged at the end)
    with each run written as pickled lists of `RUN_CHUNK` postings instead of one pickle per
    posting at protocol 2."""

    def add(self, item: tuple[Any, ...]) -> None:
        """Whoosh's `add` (item: fieldname, term bytes, docnum, weight, value bytes or None)
        with the same memory estimate, without its per-posting type checks."""
        self.fieldnames.add(item[0])
        self.currentsize += 150 + len(item[0]) + 2 * len(item[1]) + len(item[4] or b"")
        if self.currentsize > self.limit:
            self.save()
        self.current.append(item)

    def _write_run(self, f: IO[bytes], items: Iterable[tuple[Any, ...]]) -> None:
        it = iter(items)
        while chunk := list(itertools.islice(it, RUN_CHUNK)):
            pickle.dump(chunk, f, PROTOCOL)
        f.close()

    def _read_run(self, path: str) -> Iterator[tuple[Any, ...]]:
        f = self._open_run(path)
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


def use_protocol_4() -> None:
    """Make Whoosh's writers (modules `whoosh.codec.whoosh3` and `whoosh.writing`, pinned to
    2.7) pickle what they pickle, and sort runs, as above. Idempotent; done when
    the indexer is imported, so Whoosh's sub-writer processes get it too."""
    whoosh3.dumps = _dumps
    writing.PostingPool = ChunkedPostingPool
