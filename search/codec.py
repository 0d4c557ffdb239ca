"""How Whoosh serialises what it writes: pickle protocol 4 instead of Whoosh 2.7's protocol 2.

Under protocol 2 every `bytes` value (each posting's term and encoded positions) is pickled as a
call to `codecs.encode`, which unpickling must run. Posting blocks (now written by `blocks`, in
their own layout) loaded ~6x faster at protocol 4; what Whoosh's block writer still pickles
(inlined postings, the blocks `blocks` leaves to it) is written at protocol 4 too, and so are
the writers' sort runs (`termpool`). Readers are unchanged (`pickle.load` reads any protocol).
"""

from __future__ import annotations

import pickle
from typing import Any

from whoosh.codec import whoosh3

from . import blocks

PROTOCOL = blocks.PROTOCOL  # fixed, so the index bytes do not vary


def _dumps(obj: Any, protocol: int | None = None) -> bytes:
    """Whoosh's `dumps(obj, 2)`, at `PROTOCOL` whatever protocol Whoosh asks for."""
    return pickle.dumps(obj, PROTOCOL)


def use_protocol_4() -> None:
    """Make Whoosh's writers (module `whoosh.codec.whoosh3`, pinned to 2.7) pickle what they
    pickle as above. Idempotent; done when the indexer is imported, so Whoosh's sub-writer
    processes get it too."""
    whoosh3.dumps = _dumps
