"""Benchmarks: kbsearch beside SQLite FTS5 on the same generated corpus, as ratios in one run.

    python benchmarks/run.py [--size N] [--quick]

Prints a table: full build, incremental runs (nothing changed, 1% changed), warm query latency
p50/p95 by query kind (with highlighting; five queries per kind, cycled), cold CLI query (alone,
then with `kbsearch serve` running), `/api/search` of `kbsearch serve --http` under 8
concurrent clients (requests/s, p50/p95), index size, and the build's peak memory (PSS of all
its processes: pages shared after fork counted once) over the 1st and over the 2nd half of the
build: flat memory means the two are equal. FTS5 gets the same parsed text (title + visible
body) with the porter tokenizer, bm25 and snippet(). The ratio column is kbsearch's cost over
FTS5's (time, bytes, or FTS5's rate over kbsearch's for docs/s): 2x = twice the cost.
No thresholds: the figures are for people, and CI only checks the script runs (--quick).
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import search  # noqa: E402

MEDICAL = (
    "anemia transfusion chemotherapy radiation tumor metastasis biopsy lymphoma leukemia "
    "carcinoma melanoma immunotherapy pruritus fatigue nausea oncology prognosis remission "
    "mammogram screening genetics mutation brca prostate breast lung liver stomach colon "
    "luspatercept bevacizumab blinatumomab erythropoiesis platelet hemoglobin neutropenia"
).split()
# Multi-word terms, written whole now and then, so phrase queries have something to find.
PHRASES = (
    "red blood cells",
    "bone marrow",
    "side effects",
    "clinical trial",
    "stem cell transplant",
    "blood transfusion",
)
TAGS = ("treatment", "screening", "prevention", "supportive_care", "genetics")
TYPES = ("general", "breast", "lung", "liver", "prostate", "skin")


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(size)]


def write_corpus(folder: Path, count: int, seed: int = 42) -> None:
    """N documents in the seed format: frontmatter with the same keys, Markdown with headings,
    lists and links, Zipf-distributed words mixed with medical terms, 200-2,000 words each."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        length = rng.randint(200, 2000)
        body_words = rng.choices(words, weights=weights, k=length)
        for _ in range(length // 20):
            body_words[rng.randrange(length)] = rng.choice(MEDICAL)
        for _ in range(length // 200):
            at = rng.randrange(length - 3)
            phrase = rng.choice(PHRASES).split()
            body_words[at : at + len(phrase)] = phrase
        paragraphs = [" ".join(body_words[i : i + 80]) for i in range(0, length, 80)]
        title = " ".join(rng.choices(MEDICAL, k=3)).title()
        parts = [f"# {title}"]
        for i, para in enumerate(paragraphs):
            if i % 3 == 0:
                parts.append(f"## Section {i}")
            if i % 4 == 1:
                parts.append("\n".join(f"- {w}" for w in para.split()[:5]))
            parts.append(para + f" [more](/Common/PopUps/def.aspx?id={n}-{i}).")
        meta = (
            f"---\naudienceLevel: patient\ncancerTypes:\n- {rng.choice(TYPES)}\n"
            f"language: en\nlastReviewed: '{2015 + n % 11}-{1 + n % 12:02d}-{1 + n % 28:02d}'\n"
            f"source: NCI\nsourceType: 01_pdq_summary\nstatus: active\n"
            f"tags:\n- {rng.choice(TAGS)}\ntitle: {title}\nurl: https://kb.example/{n}\n"
            "version: v1\n---\n\n"
        )
        (folder / f"{n:06d}.md").write_text(meta + "\n\n".join(parts) + "\n", encoding="utf-8")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# Each kind cycles through five queries (a repeated query would measure caches, not search):
# (kbsearch query, filters, the same query in FTS5 syntax).
Query = tuple[str, dict[str, str] | None, str]
QUERIES: dict[str, list[Query]] = {
    "1-word": [(w, None, f'"{w}"') for w in ("anemia", "leukemia", "biopsy", "nausea", "melanoma")],
    "3-word": [
        (text, None, " OR ".join(f'"{w}"' for w in text.split()))
        for text in (
            "anemia transfusion fatigue",
            "breast cancer screening",
            "lung tumor biopsy",
            "nausea chemotherapy remission",
            "liver metastasis prognosis",
        )
    ],
    "phrase": [(f'"{p}"', None, f'"{p}"') for p in PHRASES[:5]],
    "prefix": [(p, None, p) for p in ("transf*", "chemo*", "leuk*", "metast*", "immuno*")],
    # FTS5 has no fuzzy matching: it gets the corrected word.
    "fuzzy": [
        (f"{typo}~", None, f'"{word}"')
        for typo, word in (
            ("transfusoin", "transfusion"),
            ("leukemai", "leukemia"),
            ("biospy", "biopsy"),
            ("nasuea", "nausea"),
            ("melanomma", "melanoma"),
        )
    ],
    # FTS5 has no metadata: it gets the words alone (kbsearch does more work here).
    "filtered": [
        (word, {"tags": tag}, f'"{word}"')
        for word, tag in (
            ("chemotherapy", "genetics"),
            ("anemia", "treatment"),
            ("screening", "prevention"),
            ("biopsy", "screening"),
            ("fatigue", "supportive_care"),
        )
    ],
}


def latencies(
    ours: list[Callable[[], object]], theirs: list[Callable[[], object]], repeat: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """p50 and p95 of `repeat` calls of each side, cycling through its queries, the two sides'
    calls in turns: a slow minute of the machine falls on both, not on one side's p95."""
    samples: tuple[list[float], list[float]] = ([], [])
    for n in range(repeat):
        samples[0].append(timed(ours[n % len(ours)]))
        samples[1].append(timed(theirs[n % len(theirs)]))
    return percentiles(samples[0]), percentiles(samples[1])


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 of `samples`."""
    found = sorted(samples)
    return statistics.median(found), found[min(len(found) - 1, int(len(found) * 0.95))]


def _tree_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process and all its descendants, from /proc (Linux). RSS counts a page
    shared after fork once per process; PSS splits it between them, so PSS sums to what the
    processes take together."""
    rss = pss = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        proc = Path("/proc") / str(current)
        try:
            rollup = dict(
                line.split()[:2] for line in (proc / "smaps_rollup").read_text().splitlines()[1:]
            )
            rss, pss = rss + int(rollup["Rss:"]), pss + int(rollup["Pss:"])
            for task in (proc / "task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, KeyError, ValueError):
            continue  # it ended meanwhile
    return rss, pss


@dataclass
class Run:
    """A finished process: wall time, peak memory of its whole tree (PSS, and RSS summed) over
    the first and the second half of the run (memory that grows with the work done shows as a
    larger second half; flat memory, as two close figures), and what it printed."""

    seconds: float
    early_peak_mb: float
    late_peak_mb: float
    early_rss_mb: float
    late_rss_mb: float
    stdout: str


def sampled_run(command: list[str]) -> Run:
    """Run `command` to the end, sampling its process tree's memory every 10 ms (0 where /proc
    is missing)."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)
        samples: list[tuple[float, tuple[int, int]]] = []
        while child.poll() is None:
            samples.append((time.perf_counter() - started, _tree_memory_kb(child.pid)))
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        if child.returncode:
            raise SystemExit(f"{' '.join(command)} failed with exit {child.returncode}")
        out.seek(0)
        stdout = out.read()
    early = [kb for at, kb in samples if at < seconds / 2]
    late = [kb for at, kb in samples if at >= seconds / 2]

    def peak(kbs: list[tuple[int, int]], which: int) -> float:
        return max((kb[which] for kb in kbs), default=0) / 1024

    return Run(seconds, peak(early, 1), peak(late, 1), peak(early, 0), peak(late, 0), stdout)


def cold_runs(commands: list[list[str]], repeat: int) -> list[float]:
    """Median wall time of a fresh process running each command, the commands taking turns (so
    a machine that slows down for a while slows all of them). Python's bytecode cache is on, as
    in users' installs, and filled by one untimed run of each first: a shell that sets
    PYTHONDONTWRITEBYTECODE would otherwise charge every start with compiling kbsearch's source
    (~0.1 s), which no installed copy pays and FTS5's side never does."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

    def once(command: list[str]) -> float:
        return timed(
            lambda: subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)
        )

    for command in commands:
        once(command)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for command, runs in zip(commands, times, strict=True):
            runs.append(once(command))
    return [statistics.median(runs) for runs in times]


def kbsearch_command() -> list[str]:
    """The installed `kbsearch` script, as users run it, when this checkout's own virtualenv
    runs the benchmark; else `python -m search`, run in this checkout (which also pays for
    runpy: ~15 ms more a start). Another checkout's script would import that checkout's code
    (its editable install), so comparing two checkouts with one virtualenv measured one."""
    script = Path(sys.executable).parent / "kbsearch"
    own = Path(sys.executable).absolute().is_relative_to(ROOT)
    return [str(script)] if own and script.exists() else [sys.executable, "-m", "search"]


def typed_letter_by_letter() -> list[dict[str, object]]:
    """The requests a search page sends while each query of QUERIES is typed: every prefix of
    two letters or more, the last word read as a prefix, a hit's fields as the page shows them."""
    texts = [text for queries in QUERIES.values() for text, _, _ in queries]
    fields = "id,title_html,url,snippet,sections,language"
    return [
        {"q": text[:end], "prefix": "last", "fields": fields}
        for text in texts
        for end in range(2, len(text) + 1)
        if not text[:end].endswith(" ")
    ]


def http_load(
    index_dir: Path,
    clients: int,
    per_client: int,
    workers: int = 1,
    requests: list[dict[str, object]] | None = None,
) -> tuple[float, float, float, float]:
    """(requests/s, p50 s, p95 s, CPU cores the clients themselves used) of `/api/search` on
    `kbsearch serve --http --workers N`, asked by `clients` concurrent HTTP clients, each
    cycling through `requests` (default: every query of QUERIES with its filters). The clients
    run in this process: on a 2-core machine their own CPU is part of the story."""
    import socket
    import threading

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    runtime = Path(tempfile.mkdtemp(prefix="kbsearch-run-"))
    server = subprocess.Popen(
        [
            *kbsearch_command(),
            *("serve", "--index", str(index_dir), "-q", "--http", str(port)),
            *("--workers", str(workers)),
        ],
        cwd=ROOT,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    params = requests or [
        {"q": text, "filter": [f"{k}:{v}" for k, v in (filters or {}).items()]}
        for queries in QUERIES.values()
        for text, filters, _ in queries
    ]
    timings: list[float] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("kbsearch serve --http did not start")
            time.sleep(0.1)

        def client(number: int, asks: int, timed: list[float]) -> None:
            with httpx.Client(base_url=url, timeout=60) as session:
                for n in range(asks):
                    started = time.perf_counter()
                    answer = session.get("/api/search", params=params[(number + n) % len(params)])
                    answer.raise_for_status()
                    timed.append(time.perf_counter() - started)

        def load(asks: int, timed: list[float]) -> None:
            threads = [
                threading.Thread(target=client, args=(n, asks, timed)) for n in range(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        # Untimed first: each worker's first searches load what it loads lazily (the language
        # detector's model takes ~0.7 s), which a short run would count once per worker.
        load(4 * workers, [])
        started, cpu = time.perf_counter(), time.process_time()
        load(per_client, timings)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(runtime, ignore_errors=True)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    return len(timings) / wall, p50, p95, cpu / wall


def start_server(index_dir: Path) -> subprocess.Popen[bytes]:
    """`kbsearch serve` of the index, once it answers."""
    server = subprocess.Popen(
        [*kbsearch_command(), "serve", "--index", str(index_dir), "-q"], cwd=ROOT
    )
    deadline = time.monotonic() + 120
    while search.query_server("anemia", index_dir) is None:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("kbsearch serve did not start")
        time.sleep(0.1)
    return server


# The FTS5 build: parse the same files with the same parser into an FTS5 table; prints the
# seconds spent parsing.
FTS5_BUILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from search.app.evaluate import fts5_database, markdown_rows
parsing = 0.0
def rows():
    global parsing
    it = markdown_rows(Path(sys.argv[2]))
    while True:
        started = time.perf_counter()
        row = next(it, None)
        parsing += time.perf_counter() - started
        if row is None:
            return
        yield row
fts5_database(sys.argv[3], rows()).close()
print(parsing)
"""


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="documents to generate")
    parser.add_argument("--quick", action="store_true", help="small corpus, few repeats (CI)")
    parser.add_argument("--markdown", action="store_true", help="print the table in Markdown")
    args = parser.parse_args()
    size = 200 if args.quick else args.size
    repeat = 5 if args.quick else 30
    work = Path(tempfile.mkdtemp(prefix="kbsearch-bench-"))
    try:
        run(work, size, repeat, args.markdown)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, size: int, repeat: int, markdown: bool = False) -> None:
    corpus, index_dir, db_path = work / "docs", work / "index", work / "fts.db"
    write_corpus(corpus, size)
    rows_out: list[tuple[str, float, float, str]] = []

    def row(name: str, ours: float, theirs: float, unit: str) -> None:
        rows_out.append((name, ours, theirs, unit))

    # Both builds run as fresh processes (files -> searchable), sampled for memory.
    ours = sampled_run(
        [sys.executable, "-m", "search", "index", str(corpus), "--index", str(index_dir), "-q"]
    )
    theirs = sampled_run([sys.executable, "-c", FTS5_BUILD, str(ROOT), str(corpus), str(db_path)])
    build = ours.seconds
    row("full build (files -> searchable), docs/s", size / build, size / theirs.seconds, "docs/s")
    row("  of which FTS5 parsing (same parser), s", 0.0, float(theirs.stdout), "s")
    unchanged = timed(lambda: search.update_index(corpus, index_dir))
    row(
        "incremental, nothing changed (s; % of the build)",
        unchanged,
        unchanged / build * 100,
        "s | % of build",
    )
    changed = sorted(corpus.glob("*.md"))[: max(1, size // 100)]
    for path in changed:
        path.write_text(path.read_text() + "\nappended words anemia\n")
    one_percent = timed(lambda: search.update_index(corpus, index_dir))
    row(
        "incremental, 1% changed (s; % of the build)",
        one_percent,
        one_percent / build * 100,
        "s | % of build",
    )

    db = sqlite3.connect(db_path)
    with search.open_index(index_dir) as kb:
        sql = (
            "SELECT id, snippet(docs, 2, '[', ']', '…', 20) FROM docs "
            "WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 10"
        )
        for kind, queries in QUERIES.items():
            (ours50, ours95), (fts50, fts95) = latencies(
                [lambda t=text, f=filters: kb.search(t, filters=f) for text, filters, _ in queries],
                [lambda q=fts_q: db.execute(sql, (q,)).fetchall() for _, _, fts_q in queries],
                2 * repeat,
            )
            row(f"warm query {kind} p50 (ms)", ours50 * 1000, fts50 * 1000, "ms")
            row(f"warm query {kind} p95 (ms)", ours95 * 1000, fts95 * 1000, "ms")

    # Bytecode compiled first, as `pip install` does: with PYTHONDONTWRITEBYTECODE set, a source
    # checkout would otherwise compile every module on every start and measure the compiler.
    compileall.compile_dir(ROOT / "search", quiet=1)
    cli = [*kbsearch_command(), "query", "anemia", "--index", str(index_dir)]
    fts_cli = [
        sys.executable,
        "-c",
        "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); print(db.execute("
        "\"SELECT id, snippet(docs,2,'[',']','…',20) FROM docs WHERE docs MATCH 'anemia' "
        'ORDER BY bm25(docs) LIMIT 10").fetchall())',
        str(db_path),
    ]
    cold_repeat = max(5, repeat // 2)
    alone, fts_cold = cold_runs([cli, fts_cli], cold_repeat)  # no server runs yet
    row("cold CLI query (process start to output), s", alone, fts_cold, "s")
    server = start_server(index_dir)
    try:
        served, fts_cold = cold_runs([cli, fts_cli], cold_repeat)
    finally:
        server.terminate()
        server.wait()
    row("  the same with `kbsearch serve` running, s", served, fts_cold, "s")
    # The HTTP API under load (no FTS5 counterpart: its column is empty).
    for workers in (1, 2):
        rate, http50, http95, client_cpu = http_load(index_dir, 8, max(5, repeat), workers)
        row(f"HTTP /api/search, 8 clients, --workers {workers}, req/s", rate, 0.0, "req/s")
        row("  latency p50 (ms)", http50 * 1000, 0.0, "ms")
        row("  latency p95 (ms)", http95 * 1000, 0.0, "ms")
        row("  CPU cores the 8 clients used themselves", client_cpu, 0.0, "cores")
    typing = typed_letter_by_letter()
    rate, http50, http95, _ = http_load(index_dir, 1, len(typing), 1, typing)
    row(
        f"type-ahead (prefix=last), 1 typist, {len(typing)} requests, p50 ms",
        http50 * 1000,
        0,
        "ms",
    )
    row("  type-ahead p95 (ms)", http95 * 1000, 0.0, "ms")
    row("index size, MB", folder_size(index_dir) / 1e6, db_path.stat().st_size / 1e6, "MB")
    # All processes of each build; a build whose memory grows as it goes has a larger 2nd half.
    row("peak build memory (PSS), 1st half, MB", ours.early_peak_mb, theirs.early_peak_mb, "MB")
    row("peak build memory (PSS), 2nd half, MB", ours.late_peak_mb, theirs.late_peak_mb, "MB")
    row("  RSS summed over processes, 2nd half, MB", ours.late_rss_mb, theirs.late_rss_mb, "MB")

    print(
        f"kbsearch vs SQLite FTS5 {sqlite3.sqlite_version}, {size} documents, "
        f"{os.cpu_count()} cores"
    )
    # The ratio is always kbsearch's cost over FTS5's: for a rate (docs/s) that is FTS5/kbsearch.
    table = []
    for name, ours, theirs, unit in rows_out:
        ratio = ""
        if ours and theirs and "%" not in unit:
            ratio = f"{(theirs / ours if unit == 'docs/s' else ours / theirs):.2f}x"
        table.append((name, f"{ours:.3f}", f"{theirs:.3f}" if theirs else "", ratio))
    if markdown:
        from search.app.output import markdown_table

        print(markdown_table(("measure", "kbsearch", "FTS5", "ratio"), table))
        return
    print(f"{'measure':<44} {'kbsearch':>10} {'FTS5':>10} {'ratio':>8}")
    for name, ours_text, theirs_text, ratio in table:
        print(f"{name:<44} {ours_text:>10} {theirs_text:>10} {ratio:>8}")


if __name__ == "__main__":
    main()
