"""kbsearch's on-disk format as a Whoosh codec, and the segment writer that writes with it.

Whoosh keeps the codec that wrote a segment in the segment (pickled in the index's table of
contents) and hands it back to every reader of that segment, so an index kbsearch writes reads
with these classes, and any other Whoosh index in the same process with Whoosh's own: nothing
of Whoosh is changed. The format is Whoosh 3's, with posting blocks in `blocks`' split layout,
the postings gathered by term (`termpool`), and what Whoosh pickles (inlined postings) pickled at
protocol 4: under Whoosh's protocol 2 every `bytes` value is a call to `codecs.encode`, which
loading must run.
"""

from __future__ import annotations

import pickle
from typing import Any

from whoosh import writing
from whoosh.codec import whoosh3
from whoosh.util.numeric import length_to_byte

from .blocks import PROTOCOL, SplitFieldWriter, SplitLeafMatcher, SplitPostingsWriter
from .termpool import TermPostingPool

_NO_ID = 0xFFFFFFFF  # Whoosh's out-of-band docnum of a term info with no postings
POOL: type = TermPostingPool  # the writers' posting pool
BLOCK_POSTINGS = 128  # postings a block (Whoosh's own size; tests write smaller blocks)


class TermInfo(whoosh3.W3TermInfo):  # type: ignore[misc]
    """Whoosh 3's term statistics, with the postings of a term inlined in them pickled at
    `PROTOCOL` (any protocol reads back through Whoosh's `from_bytes`)."""

    def to_bytes(self) -> bytes:
        if not self.is_inlined():
            return whoosh3.W3TermInfo.to_bytes(self)  # type: ignore[no-any-return]
        head: bytes = self._struct.pack(
            True,
            self._weight,
            self._df,
            0 if self._minlength is None else length_to_byte(self._minlength),
            length_to_byte(self._maxlength),
            self._maxweight,
            _NO_ID if self._minid is None else self._minid,
            _NO_ID if self._maxid is None else self._maxid,
        )
        return head + pickle.dumps(self._inlined, PROTOCOL)


class FieldWriter(SplitFieldWriter):
    """The split layout's field writer, with term infos that pickle at `PROTOCOL`."""

    def start_term(self, btext: bytes) -> None:
        if self._postwriter is None:
            raise RuntimeError("a term started before its field")
        self._btext = btext
        self._postwriter.start_postings(self._fieldobj.format, TermInfo())


class KbsearchCodec(whoosh3.W3Codec):  # type: ignore[misc]
    """Whoosh 3's codec with kbsearch's block layout, `BLOCK_POSTINGS` postings a block."""

    def __init__(self, blocklimit: int | None = None, compression: int = 3) -> None:
        super().__init__(blocklimit or BLOCK_POSTINGS, compression)

    def field_writer(self, storage: Any, segment: Any) -> FieldWriter:
        return FieldWriter(self, storage, segment)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> SplitPostingsWriter:
        return SplitPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )

    def postings_reader(
        self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None
    ) -> Any:
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return SplitLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class SegmentWriter(writing.SegmentWriter):  # type: ignore[misc]
    """Whoosh's segment writer, writing with `codec` (kbsearch's by default) and gathering
    postings in kbsearch's term pool (Whoosh's writer ignores its `poolclass` argument)."""

    def __init__(
        self, ix: Any, codec: whoosh3.W3Codec | None = None, limitmb: float = 128, **kwargs: Any
    ) -> None:
        super().__init__(ix, codec=codec or KbsearchCodec(), limitmb=limitmb, **kwargs)
        use_pool(self, limitmb)


def use_pool(writer: writing.SegmentWriter, limitmb: float) -> None:
    """Give a new segment writer a `POOL` in place of the (empty) Whoosh pool it made."""
    writer.pool = POOL(writer._tempstorage, writer.newsegment, limitmb=limitmb)
