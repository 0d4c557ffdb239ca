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
from whoosh.reading import TermNotFound
from whoosh.util.numeric import length_to_byte

from .blocks import PROTOCOL, SplitFieldWriter, SplitLeafMatcher, SplitPostingsWriter
from .termpool import TermPostingPool

_NO_ID = 0xFFFFFFFF  # Whoosh's out-of-band docnum of a term info with no postings
POOL: type = TermPostingPool  # the writers' posting pool
BLOCK_POSTINGS = 128  # postings a block (Whoosh's own size; tests write smaller blocks)
# Term infos a segment's reader keeps, found or not; past it the memory starts anew (a few MB).
REMEMBERED_TERMS = 16_384


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


class TermsReader(whoosh3.W3TermsReader):  # type: ignore[misc]
    """Whoosh 3's term table of a segment, each term's info remembered once looked up, and
    that it is missing too: a query asks for a word in every field of every language, several
    times over (is it there, how common, its statistics, its postings), and each ask was a hash
    table probe of seeks and reads. A segment's terms never change, so nothing goes stale."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._infos: dict[tuple[str, bytes], whoosh3.W3TermInfo | None] = {}

    def _info(self, fieldname: str, tbytes: bytes) -> whoosh3.W3TermInfo | None:
        key = (fieldname, tbytes)
        infos = self._infos
        if key in infos:
            return infos[key]
        try:
            info = whoosh3.W3TermsReader.term_info(self, fieldname, tbytes)
        except TermNotFound:
            info = None
        if len(infos) >= REMEMBERED_TERMS:
            infos.clear()
        infos[key] = info
        return info

    def __contains__(self, term: tuple[str, bytes]) -> bool:
        return self._info(*term) is not None

    def term_info(self, fieldname: str, tbytes: bytes) -> whoosh3.W3TermInfo:
        info = self._info(fieldname, tbytes)
        if info is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        return info

    def frequency(self, fieldname: str, tbytes: bytes) -> float:
        info = self._info(fieldname, tbytes)
        if info is None:
            raise KeyError((fieldname, tbytes))  # as Whoosh's table answers a missing key
        return info.weight()  # type: ignore[no-any-return]

    def doc_frequency(self, fieldname: str, tbytes: bytes) -> int:
        info = self._info(fieldname, tbytes)
        if info is None:
            raise KeyError((fieldname, tbytes))
        return info.doc_frequency()  # type: ignore[no-any-return]


class KbsearchCodec(whoosh3.W3Codec):  # type: ignore[misc]
    """Whoosh 3's codec with kbsearch's block layout, `BLOCK_POSTINGS` postings a block."""

    def __init__(self, blocklimit: int | None = None, compression: int = 3) -> None:
        super().__init__(blocklimit or BLOCK_POSTINGS, compression)

    def terms_reader(self, storage: Any, segment: Any) -> TermsReader:
        name = segment.make_filename(self.TERMS_EXT)
        return TermsReader(
            self,
            storage.open_file(name),
            storage.file_length(name),
            segment.open_file(storage, self.POSTS_EXT),
        )

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
