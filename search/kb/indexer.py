"""Scan a folder, detect what changed, write the index: incremental commits or a swapped rebuild."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import multiprocessing
import os
import pickle
import queue
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.writing import SegmentWriter

from ..budgets import DEFAULT_BUDGETS, Budgets
from ..engine import codec, storage
from ..engine.analyzed import Analyzed
from ..engine.blocks import PROTOCOL
from ..engine.storage import damaged, open_generation
from ..errors import (
    BuildFailed,
    DeletionRefused,
    StrictModeError,
)
from ..text.languages import analysis_of
from ..text.schema import (
    LABELS_FIELD,
    LANGUAGE_FIELD,
    LAST_DAY,
    SCHEMA_VERSION,
    SPELLING_FIELD,
    VALUE_SEPARATOR,
    analyze,
    analyze_with_spelling,
    build_schema,
    field_name,
    label_token,
)
from .documents import (
    Document,
    apart_from_references,
    content_hash,
    document_language,
    language_tag,
    read_bytes,
)
from .reading import (
    LeftOut,
    parse_page,
    read_files,
    start_child,
    start_method_kept,
    worker_context,
)
from .sites import (
    PLAIN,
    Site,
    includes_changed,
    load_site,
    page_url,
    page_weight,
    record,
    scan_site,
)
from .sources import (
    DEFAULT_SOURCE,
    UNLISTED,
    ScannedFiles,
    Skipped,
    SourceFile,
)

# Memory the writers' posting pools (`termpool`) may hold before spilling a run to disk (shared
# by the writer processes): bounded, so a build's memory stays flat as the corpus grows. Runs
# are cheap to write and merge, so a larger pool buys little: 25k pages side by side, two pairs,
# 64 MB built 2.5-10% faster than 32 MB but held 220-235 MB (PSS, all processes) against 161-168.
WRITER_LIMIT_MB = 32

# A full build of at least this many files writes with this many processes (each writes a
# segment); below it, one process writes: the start-up costs more than it saves.
WRITERS = min(int(os.environ.get("KBSEARCH_WRITERS", "2")), os.cpu_count() or 1)
PARALLEL_WRITE_MIN_FILES = 2000

# A run that would delete more than this share of the index's pages, and leave fewer than this
# share of its count, refuses unless told (`allow_mass_delete`): an unmounted share, a failed
# checkout or a wrong folder look like this. Pages moved to other paths (a reorganised folder)
# are deleted and added back, and pass.
MAX_DELETE_SHARE = 0.5
KEPT = "the pages indexed under it are kept"

ProgressCallback = Callable[[int, int], None]
Fields = dict[str, Any]  # the keyword arguments of one `add_document`
# A document as a reading task hands it over: its fields, or (for the parallel writer, which
# only passes them on) its add-document job already pickled (see `_pickled_fields`).
Entry = Fields | bytes


@dataclass(frozen=True)
class IndexReport:
    """What one indexing run did; the CLI prints it, cron mails it."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: tuple[Skipped, ...] = ()
    full: bool = False
    kept: int = 0  # pages not deleted because their folder could not be listed
    left_out: int = 0  # files that are no pages: fragments, includes, drafts, ignored ones
    site: str = ""  # the site as recognised: "hugo site (https://www.docsy.dev/)"

    @property
    def ok(self) -> bool:
        return not self.skipped

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "kept": self.kept,
            "left_out": self.left_out,
            "site": self.site,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


@dataclass
class _Counts:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    kept: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    skipped_ids: list[str] = field(default_factory=list)  # bad files, and files no pages
    left_out: int = 0  # files read and found no pages (drafts)


def fingerprint(file: SourceFile, digest: str) -> str:
    return f"{file.size}:{file.mtime_ns}:{digest}"


def _fields(doc: Document, print_: str, site: Site = PLAIN) -> Fields:
    """The Whoosh fields of one document, text fields already analysed (see `Analyzed`)."""
    schema = build_schema()
    language = document_language(doc)
    suffix = analysis_of(language).suffix
    # A page's words go to its language's fields only: a Spanish title in the English fields
    # would answer English queries with Spanish pages. Brand names are the same in both.
    texts = {
        "title" + suffix: doc.title,
        "brands": "\n".join(doc.brand_names),
        "headings" + suffix: "\n".join(doc.headings),
        "description" + suffix: doc.description,
    }
    values: Fields = {name: analyze(schema, name, text) for name, text in texts.items()}
    said, cited, spans = apart_from_references(doc)
    bodies = {"body" + suffix: said} | ({"cited" + suffix: cited} if cited else {})
    # the spelling field keeps every word: a cited name is still a known word
    analyzed, values[SPELLING_FIELD + suffix] = analyze_with_spelling(
        schema, bodies, SPELLING_FIELD + suffix
    )
    values.update(analyzed)
    weight = page_weight(site, doc.id)
    if weight != 1.0:  # every ranked field's postings weigh less; spelling keeps its words
        for name in (*texts, *bodies):
            values[name] = replace(values[name], boost=values[name].boost * weight)
    if suffix:
        values["title"] = Analyzed()  # no English words, but Whoosh stores a title only here
    values.update(
        {
            LANGUAGE_FIELD: language,
            "_stored_title": doc.title,
            "id": doc.id,
            "path": os.path.abspath(doc.path),  # absolute: hits are usable from any folder
            "page_url": page_url(site, doc.id, doc.metadata),
            "language_tag": [language_tag(doc) or "en", doc.language_from],
            "translation": doc.translation or "path:" + doc.id,
            "title_sort": doc.title.casefold().encode("utf-8"),
            "content": doc.body,
            "sections": [[s.heading, s.anchor, s.start] for s in doc.sections],
            "code": [list(block) for block in doc.code],
            "cited_spans": [list(span) for span in spans],
            "metadata": dict(doc.metadata),
            "fingerprint": print_.encode("ascii"),
        }
    )
    for key, words in doc.keywords.items():
        values[field_name(key)] = VALUE_SEPARATOR.join(words)
    labels = (label_token(key, word) for key, words in doc.keywords.items() for word in words)
    values[LABELS_FIELD] = VALUE_SEPARATOR.join(label for label in labels if label)
    if doc.last_reviewed is not None:
        values["lastReviewed"] = dt.datetime.combine(doc.last_reviewed, dt.time())
        values["review_age"] = (LAST_DAY - doc.last_reviewed).days
    return values


def _index_fields(
    file: SourceFile, source: Path, budgets: Budgets, site: Site = PLAIN
) -> tuple[Fields, str]:
    """Reading task (run in a worker): one file's index fields, text already analysed, and its
    content digest. Raises DocumentError, or NotAPage for a draft."""
    data = read_bytes(file.path, budgets)
    doc, includes = parse_page(data, file, source, budgets, site)
    digest = content_hash(b"".join([data, *(includes.data if includes else ())]))
    fields = _fields(doc, fingerprint(file, digest), site)
    fields["includes"] = record(includes).encode("utf-8", "surrogateescape")
    return fields, digest


def _pickled_fields(
    file: SourceFile, source: Path, budgets: Budgets, site: Site = PLAIN
) -> tuple[bytes, str]:
    """Reading task for the parallel writer: `_index_fields` pickled as its sub-writers read an
    add-document job, so this process passes the bytes on instead of unpickling every document
    and pickling it again (each a few hundred µs a page)."""
    fields, digest = _index_fields(file, source, budgets, site)
    return pickle.dumps((0, fields), PROTOCOL), digest


def _indexed_fingerprints(ix: whoosh_index.Index) -> dict[str, str]:
    """id -> fingerprint of every live document, read from columns (no stored-field loading)."""
    with ix.reader() as reader:
        ids = reader.column_reader("id")
        prints = reader.column_reader("fingerprint")
        return {ids[n]: prints[n].decode("ascii") for n in reader.all_doc_ids()}


def _stale_includes(ix: whoosh_index.Index) -> set[str]:
    """The ids of the pages a file they include has changed (or gone) since they were read."""
    with ix.reader() as reader:
        ids = reader.column_reader("id")
        recorded = reader.column_reader("includes")
        return {
            ids[n]
            for n in reader.all_doc_ids()
            if recorded[n] and includes_changed(recorded[n].decode("utf-8", "surrogateescape"))
        }


def _writer(ix: whoosh_index.Index) -> SegmentWriter:
    """A one-process writer. Segments are written as separate files, not one compound file:
    Whoosh copies each part of a compound file into memory when a searcher opens it, which made
    a cold query read the whole index."""
    return codec.SegmentWriter(ix, limitmb=WRITER_LIMIT_MB, compound=False)


class _SubWriter(SubWriterTask):  # type: ignore[misc]
    """Whoosh's sub-writer process (one segment, no run handed back), writing with kbsearch's
    codec and pool, started the writer's way (`start_method`), and ended when the indexing
    process dies (even by SIGKILL)."""

    parent = 0
    start_method = "fork"

    def _Popen(self, process: Any) -> Any:  # multiprocessing's name
        context: Any = multiprocessing.get_context(self.start_method)
        return context.Process._Popen(process)

    def run(self) -> None:
        start_child(self.parent)
        ix = self.storage.open_index(self.indexname)
        writer = self.writer = codec.SegmentWriter(ix, _lk=False, **self.kwargs)
        for job in iter(self.jobqueue.get, None):  # (job file, count of documents in it)
            self._process_file(*job)
        segment = writer._finalize_segment()
        self.resultqueue.put((None, writer.pool.fieldnames, segment), timeout=5)


class _ParallelWriter(MpWriter):  # type: ignore[misc]
    """Whoosh's multi-process writer (one segment per process, no final merge) with sub-writers
    that cannot outlive this process, and a cancel that stops them. Its queues and processes
    come from `worker_context`, not from `multiprocessing`'s default context, whose first use
    would fix the start method of the whole process."""

    def __init__(self, ix: whoosh_index.Index, procs: int) -> None:
        limitmb = WRITER_LIMIT_MB // procs
        args = {"limitmb": limitmb, "compound": False, "codec": codec.KbsearchCodec()}
        SegmentWriter.__init__(self, ix, **args)
        codec.use_pool(self, limitmb)
        # What `MpWriter.__init__` sets, with queues of this writer's context.
        self.context = worker_context()
        self.procs, self.batchsize, self.subargs, self.multisegment = procs, 100, args, True
        self.tasks: list[_SubWriter] = []
        self.jobs = self.context.Queue(procs * 4)
        self.jobqueue = self  # jobs go through `put`, which notices a dead sub-writer
        self.resultqueue = self.context.Queue()
        self.docbuffer: list[tuple[int, Fields] | bytes] = []
        self._grouping = 0
        self._added_sub = False

    def put(self, job: Any) -> None:
        """Queue a job file for the sub-writers; fail instead of blocking if one has died."""
        while True:
            try:
                self.jobs.put(job, timeout=1)
                return
            except queue.Full:
                if not all(task.is_alive() for task in self.tasks):  # type: ignore[has-type]
                    raise BuildFailed(
                        "a writer process ended early; the index is unchanged"
                    ) from None

    def add_pickled(self, job: bytes) -> None:
        """Queue a document pickled by `_pickled_fields`: `add_document` without unpickling."""
        self.docbuffer.append(job)
        if len(self.docbuffer) >= self.batchsize:
            self._enqueue()
        self._added_sub = True

    def _enqueue(self) -> None:
        """Whoosh's: write the buffered documents to a job file (one pickle each, as the
        sub-writer reads them) and queue its name; pickled at `PROTOCOL`, not 2, since the
        documents carry their postings as bytes."""
        name = f"{random_name()}.doclist"
        with self.temp_storage().create_file(name).raw_file() as f:
            for item in self.docbuffer:
                if type(item) is bytes:
                    f.write(item)
                else:
                    pickle.dump(item, f, PROTOCOL)
        if len(self.tasks) < self.procs:  # type: ignore[has-type]
            self._new_task()
        self.jobqueue.put((name, len(self.docbuffer)))
        self.docbuffer = []

    def _new_task(self) -> _SubWriter:
        task = _SubWriter(
            self.storage,
            self.indexname,
            self.jobs,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        task.parent, task.start_method = os.getpid(), self.context.get_start_method()
        self.tasks.append(task)  # type: ignore[has-type]
        with start_method_kept():
            task.start()
        return task

    def cancel(self) -> None:
        tasks: list[_SubWriter] = self.tasks  # type: ignore[has-type]
        for task in tasks:
            task.terminate()
            task.join()
        self.tasks = []
        SegmentWriter.cancel(self)


def update_index(
    source: str | os.PathLike[str] = DEFAULT_SOURCE,
    index_dir: str | os.PathLike[str] | None = None,
    *,
    full: bool = False,
    strict: bool = False,
    wait: bool | float = False,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    budgets: Budgets = DEFAULT_BUDGETS,
    follow_links: bool = False,
    allow_mass_delete: bool = False,
    site: Site | str | None = None,
    base_url: str | None = None,
) -> IndexReport:
    """Bring the index at `index_dir` up to date with the documents under `source`.

    Incremental by default (only new, changed and deleted files are touched, in one commit);
    `full=True` rebuilds aside and swaps. `strict=True` leaves the index unchanged if any document
    is bad. A document over one of `budgets` is skipped with the reason; so is a symlink out of
    `source` unless `follow_links`. Raises IndexLocked when another writer holds the index and
    `wait` runs out.

    No run deletes what it could not see: the pages under a folder that cannot be listed are
    kept (a rebuild refuses), and a run that would delete more than `MAX_DELETE_SHARE` of the
    pages and leave fewer than that share (an empty source folder, say) raises DeletionRefused
    unless `allow_mass_delete`.

    `site` is the site generator the pages are written for (recognised when None; a name such
    as "hugo", or a `Site`); it decides which files are pages, their keys and their URLs, and
    `include`/`exclude` (file name patterns) replace its own when given.
    """
    source_path = Path(source)
    target = Path(index_dir) if index_dir is not None else storage.default_index_dir()
    if not isinstance(site, Site):
        site = load_site(source_path, site, base_url)
    files, scan_problems, left_out = scan_site(site, source_path, include, exclude, follow_links)
    reading = _Reading(source_path, budgets, follow_links, progress, allow_mass_delete, site)
    try:
        counts, full = _update_locked(target, files, full, strict, wait, reading)
    except OSError as exc:  # no space, no permission: each step removed what it wrote
        raise storage.write_error(target, exc) from None
    skipped = tuple(
        Skipped(s.path, f"{s.reason}; {KEPT}") if s.reason.startswith(UNLISTED) else s
        for s in scan_problems
    ) + tuple(counts.skipped)
    return IndexReport(
        counts.added,
        counts.updated,
        counts.deleted,
        counts.unchanged,
        skipped,
        full,
        counts.kept,
        left_out + counts.left_out,
        site.describe(),
    )


def _update_locked(
    target: Path,
    files: ScannedFiles,
    full: bool,
    strict: bool,
    wait: bool | float,
    reading: _Reading,
) -> tuple[_Counts, bool]:
    """The run under the writer lock: incremental, or a rebuild; whether it was one."""
    with storage.writer_lock(target, wait):
        current = storage.current_generation(target)
        previous = storage.previous_generations(target, current)[:1]
        storage.remove_stale(target, {g for g in [current, *previous] if g is not None})
        if (
            not full
            and current is not None
            and storage.read_meta(current).get("schema_version") == SCHEMA_VERSION
            and storage.read_meta(current).get("site") == reading.site.key
        ):
            counts = _update_incrementally(current, files, strict, reading)
        else:
            if current is not None:
                _guard_rebuild(current, files, reading)
            counts = _rebuild(target, files, strict, reading)
            full = True
    return counts, full


def _guard_deletions(gone: int, indexed: int, files: ScannedFiles, reading: _Reading) -> None:
    """Refuse a run that would delete most of the index and not replace it, unless told to."""
    limit = indexed * MAX_DELETE_SHARE
    if reading.allow_mass_delete or gone <= limit or len(files) >= limit:
        return
    where = reading.source
    why = (
        f"{where} holds no documents"
        if not len(files)
        else f"{gone} of the index's {indexed} pages are no longer under {where}, which holds "
        f"{len(files)} document(s)"
    )
    raise DeletionRefused(
        f"{why} (an unmounted share, a failed checkout, a wrong folder?); the index is "
        "unchanged. Pass --allow-mass-delete to delete them."
    )


def _guard_rebuild(current: Path, files: ScannedFiles, reading: _Reading) -> None:
    """Refuse a rebuild that would drop pages it could not see or most of the index."""
    try:
        ix = open_generation(current)
        try:
            indexed = set(_indexed_fingerprints(ix))
        finally:
            ix.close()
    except Exception:  # an index that cannot be read is what a rebuild repairs
        return
    gone = indexed.difference(file.id for file in files)
    unseen = sorted(doc_id for doc_id in gone if files.unseen(doc_id))
    if unseen and not reading.allow_mass_delete:
        folders = ", ".join(files.unlisted)
        raise DeletionRefused(
            f"cannot list {folders} under {reading.source}: a rebuild would drop the "
            f"{len(unseen)} page(s) indexed there; the index is unchanged. Make it readable, "
            "or run without --full to keep them."
        )
    _guard_deletions(len(gone), len(indexed), files, reading)


@dataclass(frozen=True)
class _Reading:
    """How one run reads its files: from where, within which budgets, reporting progress."""

    source: Path
    budgets: Budgets
    follow_links: bool
    progress: ProgressCallback | None
    allow_mass_delete: bool = False
    site: Site = PLAIN


def _parsed(
    files: Sequence[SourceFile],
    reading: _Reading,
    counts: _Counts,
    task: Callable[..., tuple[Entry, str]] = _index_fields,
) -> Iterator[tuple[SourceFile, Any, str]]:
    """Parse files in order into index fields (or what `task` makes of them), reporting bad ones
    into `counts.skipped`.

    Parsing (Markdown rendering) and text analysis run in worker processes while this one
    writes the index, each file within its budgets (see `reading`).
    """
    total = len(files)
    outcomes = read_files(
        files,
        reading.source,
        functools.partial(task, site=reading.site),
        reading.budgets,
        follow_links=reading.follow_links,
    )
    for done, (file, outcome) in enumerate(outcomes, 1):
        if isinstance(outcome, LeftOut):
            counts.skipped_ids.append(file.id)
            counts.left_out += 1
        elif isinstance(outcome, Skipped):
            counts.skipped.append(outcome)
            counts.skipped_ids.append(file.id)
        else:
            fields, digest = outcome
            yield file, fields, digest
        if reading.progress is not None:
            reading.progress(done, total)


def _cancel(writer: SegmentWriter, ix: whoosh_index.Index) -> None:
    """Abandon a writer, even one that failed half-way (a full disk), and delete the files its
    unfinished segment left behind; what cannot be undone is left to the next run's clean-up."""
    with contextlib.suppress(Exception):
        if not writer.is_closed:
            writer.cancel()
    if not writer.is_closed and writer.writelock is not None:  # cancel failed: unlock anyway
        with contextlib.suppress(Exception):
            writer.writelock.release()
        writer.is_closed = True
    with contextlib.suppress(Exception):
        storage.remove_litter(ix)


def _check_strict(
    strict: bool, counts: _Counts, writer: SegmentWriter, ix: whoosh_index.Index
) -> None:
    if strict and counts.skipped:
        _cancel(writer, ix)
        details = "; ".join(f"{s.path}: {s.reason}" for s in counts.skipped)
        raise StrictModeError(
            f"{len(counts.skipped)} bad document(s), index left unchanged: {details}"
        )


def _rebuild(
    index_dir: Path, files: Sequence[SourceFile], strict: bool, reading: _Reading
) -> _Counts:
    """Build a new generation from the source folder and publish it."""
    counts = _Counts()
    procs = WRITERS if len(files) >= PARALLEL_WRITE_MIN_FILES else 1
    task = _pickled_fields if procs > 1 else _index_fields
    entries = (entry for _, entry, _ in _parsed(files, reading, counts, task))
    meta = {"source": str(reading.source.resolve()), "site": reading.site.key}
    _build_generation(index_dir, entries, meta, counts, strict, procs)
    return counts


def _build_generation(
    index_dir: Path,
    entries: Iterable[Entry],
    meta: dict[str, str],
    counts: _Counts,
    strict: bool = False,
    procs: int = 1,
) -> None:
    """Write documents into a new generation aside and publish it; a crash before that changes
    nothing readers see. `procs` > 1 writes with that many processes (and takes entries of
    either kind; one process, fields only)."""
    building = storage.new_generation(index_dir)
    ix: whoosh_index.Index | None = None
    writer: SegmentWriter | None = None
    try:
        ix = whoosh_index.create_in(str(building), build_schema())
        writer = _ParallelWriter(ix, procs) if procs > 1 else _writer(ix)
        for entry in entries:
            if isinstance(entry, bytes):
                writer.add_pickled(entry)
            else:
                writer.add_document(**entry)
            counts.added += 1
        _check_strict(strict, counts, writer, ix)
        writer.commit()
        written = ix.doc_count_all()
        if written != counts.added:  # a sub-writer died: never publish a partial index
            raise BuildFailed(
                f"only {written} of {counts.added} documents were written; the index is unchanged"
            )
        ix.close()
        storage.write_meta(building, {"schema_version": SCHEMA_VERSION, **meta})
    except BaseException:
        if writer is not None and ix is not None and not writer.is_closed:
            _cancel(writer, ix)
        if ix is not None:
            with contextlib.suppress(Exception):
                ix.close()
        shutil.rmtree(building, ignore_errors=True)
        raise
    old = storage.current_generation(index_dir)
    new = storage.publish_generation(index_dir, building)
    storage.remove_stale(index_dir, {g for g in (old, new) if g is not None})


def index_documents(
    documents: Iterable[Document], index_dir: str | os.PathLike[str], source: str = ""
) -> int:
    """Replace the index at `index_dir` with already-read documents (for collections that are
    not Markdown folders, such as evaluation corpora); returns how many were written."""
    target = Path(index_dir)
    counts = _Counts()
    with storage.writer_lock(target, wait=True):
        entries = (_fields(doc, f"0:0:{content_hash(doc.body.encode())}") for doc in documents)
        _build_generation(target, entries, {"source": source}, counts)
    return counts.added


def _update_incrementally(
    generation: Path, files: ScannedFiles, strict: bool, reading: _Reading
) -> _Counts:
    """Apply new, changed and deleted files to the live generation in one Whoosh commit."""
    counts = _Counts()
    ix = open_generation(generation)
    try:
        storage.remove_litter(ix)  # what a killed or failed run left, so this one has the space
        try:
            indexed = _indexed_fingerprints(ix)
        except Exception as exc:
            raise damaged(generation.parent, exc) from None
        on_disk = {file.id for file in files}
        missing = [doc_id for doc_id in indexed if doc_id not in on_disk]
        deleted = [doc_id for doc_id in missing if not files.unseen(doc_id)]
        counts.kept = len(missing) - len(deleted)
        _guard_deletions(len(deleted), len(indexed), files, reading)
        candidates = []
        stale = _stale_includes(ix)
        for file in files:
            old = indexed.get(file.id)
            same = old is not None and old.rsplit(":", 1)[0] == f"{file.size}:{file.mtime_ns}"
            if same and file.id not in stale:
                counts.unchanged += 1
            else:
                candidates.append(file)
        if not deleted and not candidates:
            return counts
        writer = _writer(ix)
        try:
            _apply_changes(writer, ix, indexed, deleted, candidates, strict, reading, counts)
        except BaseException:
            _cancel(writer, ix)
            raise
        return counts
    finally:
        ix.close()


def _apply_changes(
    writer: SegmentWriter,
    ix: whoosh_index.Index,
    indexed: dict[str, str],
    deleted: list[str],
    candidates: list[SourceFile],
    strict: bool,
    reading: _Reading,
    counts: _Counts,
) -> None:
    """Delete, add and update in one commit (or none, if nothing changed)."""
    for doc_id in deleted:
        writer.delete_by_term("id", doc_id)
        counts.deleted += 1
    changed = False
    for file, fields, digest in _parsed(candidates, reading, counts):
        old = indexed.get(file.id)
        if old is None:
            counts.added += 1
        elif old.rsplit(":", 1)[1] == digest:
            counts.unchanged += 1  # touched, same content: refresh its fingerprint only
        else:
            counts.updated += 1
        writer.update_document(**fields)
        changed = True
    # A file that turned bad leaves the index: the index holds exactly the good documents.
    for doc_id in counts.skipped_ids:
        if doc_id in indexed:
            writer.delete_by_term("id", doc_id)
            changed = True
    _check_strict(strict, counts, writer, ix)
    if changed or deleted:
        writer.commit()
    else:
        _cancel(writer, ix)
