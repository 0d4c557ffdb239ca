"""`kbsearch serve --http` as a real process, asked by a real HTTP client: the API answers as
the CLI does, bad input gets a 4xx in JSON, concurrent clients and a rebuild are served."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from http import client as http_client
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from search.app import connections
from search.app.web import REQUESTS_PER_CONNECTION, AllowedHosts

from .conftest import ROOT, SEED_DOC, make_doc
from .test_cli import kbsearch
from .web_server import HttpServer, get

FATIGUE_PATIENT = "232_6b2f4d807a0d1fa9.md"  # "Fatigue (PDQ®)–Patient Version: Treatments…"


SAME_AS_CLI = [
    ({"q": "anemia transfusion"}, ["anemia transfusion"]),
    (
        {"q": "cancer", "tag": "genetics", "facets": "tags,source", "limit": 5},
        ["cancer", "--tag", "genetics", "--facets", "tags,source", "-n", "5"],
    ),
    (
        {"q": "cancer", "filter": "cancerTypes:breast", "page": 2},
        ["cancer", "-f", "cancerTypes=breast", "--page", "2"],
    ),
    (
        {"q": "cancer", "sort": "-lastReviewed", "offset": 3},
        ["cancer", "--sort", "-lastReviewed", "--offset", "3"],
    ),
    ({"q": "luspatersept", "fix": "true"}, ["luspatersept", "--fix"]),
    ({"q": "cáncer de mama", "lang": "es"}, ["cáncer de mama", "--lang", "es"]),
    ({"q": "quimioterapia", "query_lang": "en"}, ["quimioterapia", "--query-lang", "en"]),
    (
        {"q": "chemo*", "mode": "plain", "since": "2020-01-01"},
        ["chemo*", "--plain", "--since", "2020-01-01"],
    ),
]


@pytest.mark.parametrize(("params", "args"), SAME_AS_CLI)
@pytest.mark.slow
def test_api_search_answers_as_the_cli_does(
    http: HttpServer, seed_index: Path, params: dict[str, object], args: list[str]
) -> None:
    answer = get(http, "/api/search", **params)
    assert answer.status_code == 200, answer.text
    cli = kbsearch("query", *args, "--json", "--no-server", "--index", seed_index)
    assert cli.returncode in (0, 1), cli.stderr
    assert_same_results(answer.json(), json.loads(cli.stdout))


SHARED_HIT_FIELDS = (
    "id",
    "url",
    "language",
    "title",
    "score",
    "snippet",
    "highlights",
    "metadata",
    "sections",
)


def assert_same_results(api: dict[str, Any], cli: dict[str, Any]) -> None:
    """The API's answer holds the same results as `kbsearch query --json`: ids, total, scores,
    snippets, facets, suggestion; the API's hits have the path in the knowledge base instead of
    the file's on the server."""
    for key in ("query", "total", "total_is_exact", "offset", "limit", "language", "notices"):
        assert api[key] == cli[key], key
    assert api["facets"] == cli.get("facets", {})
    assert (api["suggestion"], api["corrected"]) == (
        cli.get("suggestion"),
        cli.get("corrected", False),
    )
    assert len(api["hits"]) == len(cli["hits"])
    for ours, theirs in zip(api["hits"], cli["hits"], strict=True):
        assert {k: ours[k] for k in SHARED_HIT_FIELDS} == {k: theirs[k] for k in SHARED_HIT_FIELDS}
        assert ours["path"] == theirs["id"] and Path(theirs["path"]).is_absolute()
        assert "text" not in ours and theirs["text"]


def untimed(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "processingTimeMs"}


def test_hits_land_on_their_best_sections(http: HttpServer) -> None:
    results = get(http, "/api/search", q="anemia transfusion", lang="en").json()
    fatigue = next(hit for hit in results["hits"] if hit["id"] == FATIGUE_PATIENT)
    first = fatigue["sections"][0]
    assert (first["heading"], first["anchor"]) == ("Treatment of anemia", "treatment-of-anemia")
    assert "<mark>" in first["snippet"] and 1 <= len(fatigue["sections"]) <= 3
    for hit in results["hits"]:
        for section in hit["sections"]:
            assert re.fullmatch(r"[a-z0-9_-]+", section["anchor"]), section["anchor"]


def test_suggest_completes_the_last_word(http: HttpServer) -> None:
    answer = get(http, "/api/suggest", q="anemia luspat").json()
    assert answer["completions"][0] == "anemia luspatercept"
    assert get(http, "/api/suggest", q="a").json()["completions"] == []


def test_documents_and_health(http: HttpServer) -> None:
    document = get(http, f"/api/documents/{SEED_DOC}").json()
    assert document["id"] == SEED_DOC and "luspatercept" in document["body"].lower()
    health = get(http, "/api/health").json()
    assert health["status"] == "ok" and health["documents"] > 400 and health["last_updated"]
    spec = get(http, "/openapi.json").json()
    assert {"/api/search", "/api/suggest", "/api/documents/{doc_id}", "/api/health"} <= set(
        spec["paths"]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/documents/../../etc/passwd",
        "/api/documents/..%2f..%2f..%2fetc%2fpasswd",
        "/api/documents/%2fetc%2fpasswd",
        "/doc/..%2f..%2fpyproject.toml",
        "/doc/../README.md",
        "/../../etc/passwd",
        "/static/../../../etc/passwd",
    ],
)
def test_paths_never_leave_the_index(http: HttpServer, path: str) -> None:
    with httpx.Client(base_url=http.url) as client:
        answer = client.send(client.build_request("GET", httpx.URL(http.url + path)))
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert "root:" not in answer.text and "[project]" not in answer.text


@pytest.mark.parametrize(
    ("path", "params", "status", "kind", "fragment"),
    [
        ("/api/search", {"q": "x", "limit": "many"}, 400, "BadRequest", "limit"),
        ("/api/search", {"q": "x", "limit": 100_000}, 400, "BadRequest", "limit"),
        ("/api/search", {"q": "x", "page": 0}, 400, "BadRequest", "page"),
        ("/api/search", {"q": "x", "since": "soon"}, 400, "QuerySyntaxError", "date"),
        ("/api/search", {"q": "x", "filter": "no-colon"}, 400, "BadRequest", "key:value"),
        ("/api/search", {"q": "x", "sort": "size"}, 400, "QuerySyntaxError", "cannot sort"),
        ("/api/search", {"q": "x", "mode": "regex"}, 400, "BadRequest", "mode"),
        ("/api/search", {"q": "x", "prefix": "all"}, 400, "BadRequest", "prefix"),
        ("/api/search", {"q": "x", "fields": "id,size"}, 400, "BadRequest", "unknown field"),
        (
            "/api/search",
            {"q": "x", "lang": "fr"},
            400,
            "QuerySyntaxError",
            "no page is in fr (French); the pages are in: en (English), es (Spanish)",
        ),
        (
            "/api/search",
            {"q": "x", "filter": "colour:red"},
            400,
            "QuerySyntaxError",
            "no page has the key 'colour' to filter by; keys: ",
        ),
        ("/api/search", {"q": "lastReviewed:[soon TO later]"}, 400, "QuerySyntaxError", "cannot"),
        ("/api/documents/no-such-page.md", {}, 404, "NotFound", "no document"),
        ("/api/nothing", {}, 404, "NotFound", "Not Found"),
    ],
)
@pytest.mark.slow
def test_bad_input_gets_a_4xx_in_json(
    http: HttpServer, path: str, params: dict[str, object], status: int, kind: str, fragment: str
) -> None:
    answer = get(http, path, **params)
    assert (answer.status_code, answer.json()["type"]) == (status, kind), answer.text
    assert fragment in answer.json()["error"]


def raw_get(server: HttpServer, target: str) -> tuple[int, bytes]:
    """GET with the standard library's client, which (unlike httpx) sends any URL length."""
    connection = http_client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_other_methods_and_huge_requests_are_refused(http: HttpServer) -> None:
    posted = httpx.post(http.url + "/api/search", json={"q": "x"})
    assert posted.status_code == 405 and posted.json()["type"] == "MethodNotAllowed"
    status, body = raw_get(http, "/api/search?" + urlencode({"q": "x" * 200_000}))
    assert status == 414 and "longer than" in json.loads(body)["error"]
    with pytest.raises((ConnectionError, http_client.HTTPException)):
        status, _ = raw_get(http, "/api/search?" + urlencode({"q": "x" * 2_000_000}))
        assert 400 <= status < 500  # a refusal, if the connection is not simply dropped
        raise ConnectionError
    assert get(http, "/api/health").status_code == 200  # and the server goes on


def test_a_100_kb_query_is_cut_with_a_notice(http: HttpServer) -> None:
    status, body = raw_get(http, "/api/search?" + urlencode({"q": "anemia " * 14_300}))
    assert status == 200
    results = json.loads(body)
    assert results["total"] > 0
    assert results["notices"] == ["the query was cut to its first 64 words (of 14,300)"]


@pytest.mark.slow
def test_eight_concurrent_clients_get_what_one_gets(http: HttpServer) -> None:
    queries = ["anemia", "fatigue", "breast cancer", "quimioterapia", "radiation", "vitamin D"]
    expected = {q: untimed(get(http, "/api/search", q=q).json()) for q in queries}
    failures: list[str] = []

    def client(number: int) -> None:
        with httpx.Client(base_url=http.url, timeout=60) as session:
            for round_ in range(5):
                q = queries[(number + round_) % len(queries)]
                answer = session.get("/api/search", params={"q": q})
                if answer.status_code != 200 or untimed(answer.json()) != expected[q]:
                    failures.append(f"{number}: {q}: {answer.status_code}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_the_page_is_rendered_by_the_server_and_escaped(http: HttpServer) -> None:
    page = get(http, "/", q="anemia transfusion", tag="supportive_care")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'class="hit"' in page.text and "<mark>" in page.text
    assert 'aria-checked="true"' in page.text  # the tag filter is shown as on
    assert 'class="chip"' in page.text  # and as a chip that removes it
    assert "treatment-of-anemia" in page.text  # a section's link
    hostile = get(http, "/", q='<script>alert("x")</script>"><img src=x>')
    assert "<script>alert" not in hostile.text and "<img src=x>" not in hostile.text
    assert "&lt;script&gt;" in hostile.text
    assert "http" not in re.sub(r'(href|src)="[^"]*"', "", get(http, "/").text).split("<script>")[0]


def test_the_page_pages_and_suggests(http: HttpServer) -> None:
    first = get(http, "/", q="cancer", lang="en")
    assert "1–10" in first.text and 'rel="next"' in first.text
    following = re.search(r'<a href="([^"]+)" rel="next"', first.text)
    assert following is not None
    second = httpx.get(http.url + following.group(1).replace("&amp;", "&"))
    assert "11–20" in second.text and 'rel="prev"' in second.text
    typo = get(http, "/", q="luspatersept")  # found through its closest spelling: said so
    assert (
        'Showing results for <a href="/?q=luspatercept" data-nav><strong>luspatercept</strong>'
        '</a>. Search instead for <a href="/?q=luspatersept&amp;fix=0" data-nav>luspatersept</a>'
    ) in typo.text
    as_typed = get(http, "/", q="luspatersept", fix="0")
    assert "No results for" in as_typed.text and 'class="hit"' not in as_typed.text
    assert 'Did you mean: <a href="/?q=luspatercept" data-nav>luspatercept</a>' in as_typed.text
    junk = get(http, "/", q="quantum blockchain zebra")  # no close spellings: no suggestion
    assert "Did you mean" not in junk.text and "Showing results for" not in junk.text


def test_a_document_page_marks_the_query(http: HttpServer) -> None:
    page = get(http, f"/doc/{FATIGUE_PATIENT}", q="anemia")
    assert page.status_code == 200
    assert '<h2 id="treatment-of-anemia">Treatment of <mark>anemia</mark></h2>' in page.text


@pytest.mark.slow
def test_sigterm_ends_the_server_gracefully(seed_index: Path, tmp_path: Path) -> None:
    server = HttpServer(seed_index, tmp_path / "run")
    assert get(server, "/api/health").status_code == 200
    code, log = server.stop()
    assert code == 0, log
    assert "Traceback" not in log
    assert re.search(r"127\.0\.0\.1 GET /api/health 200 \d+ ms", log)


@pytest.mark.slow
def test_a_rebuild_is_served_without_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "a.md").write_text(make_doc("First page", "quokka"))
    index = tmp_path / "index"
    subprocess.run(
        [sys.executable, "-m", "search", "index", str(folder), "--index", str(index)],
        cwd=ROOT,
        check=True,
    )
    server = HttpServer(index, tmp_path / "run")
    try:
        assert get(server, "/api/search", q="wombat").json()["total"] == 0
        (folder / "b.md").write_text(make_doc("Second page", "wombat"))
        rebuilt = kbsearch("index", folder, "--index", index, "--full")
        assert rebuilt.returncode == 0, rebuilt.stderr
        results = get(server, "/api/search", q="wombat").json()
        assert [hit["id"] for hit in results["hits"]] == ["b.md"]
        assert get(server, "/api/health").json()["documents"] == 2
    finally:
        server.stop()


@pytest.mark.slow
def test_every_worker_answers_as_a_fresh_reader_after_nightly_runs(tmp_path: Path) -> None:
    folder, index = tmp_path / "kb", tmp_path / "index"
    folder.mkdir()
    fruit = ["apricot", "banana", "cherry", "damson", "elderberry", "feijoa", "guava"]
    for n in range(8):
        (folder / f"{n}.md").write_text(make_doc(f"Page {n}", f"Common words, plum{n}."))
    (folder / "0.md").write_text(make_doc("Page 0", f"Common words, {fruit[0]}."))
    assert kbsearch("index", folder, "--index", index).returncode == 0
    server = HttpServer(index, tmp_path / "run", "--workers", "2")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as session:
            for _ in range(6):  # both workers open their searcher
                assert session.get("/api/search", params={"q": "common"}).status_code == 200
            for night in range(1, 7):
                (folder / f"{night}.md").unlink()
                (folder / "0.md").write_text(make_doc("Page 0", f"Common words, {fruit[night]}."))
                ran = kbsearch("index", folder, "--index", index, "--quiet")
                assert ran.returncode == 0, ran.stderr
                for _ in range(4):  # only health probes come first, to either worker
                    assert session.get("/api/health").json()["documents"] == 8 - night
                for _ in range(6):
                    # (a word no page has any more may be read as a near one: plum5 as plum6)
                    gone = session.get("/api/search", params={"q": f"plum{night}"}).json()
                    assert f"{night}.md" not in {hit["id"] for hit in gone["hits"]}, night
                    old = session.get("/api/search", params={"q": fruit[night - 1]}).json()
                    assert "0.md" not in {hit["id"] for hit in old["hits"]}, night
                    new = session.get("/api/search", params={"q": fruit[night]}).json()
                    assert [hit["id"] for hit in new["hits"]] == ["0.md"], night
                    assert session.get("/api/search", params={"q": "common"}).json()["total"] == (
                        8 - night
                    )
                    assert session.get(f"/doc/{night}.md").status_code == 404
    finally:
        code, log = server.stop()
    assert code == 0 and "internal error" not in log and "Traceback" not in log, log


@pytest.mark.slow
def test_a_token_guards_every_request(seed_index: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    server = HttpServer(seed_index, tmp_path / "run", "--token-file", token_file)
    try:
        refused = get(server, "/api/search", q="anemia")
        assert refused.status_code == 401 and "token" in refused.json()["error"]
        assert get(server, "/").status_code == 401
        wrong = httpx.get(server.url + "/api/health", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        for scheme in ("Bearer", "bearer", "BEARER"):  # RFC 9110: the scheme in any case
            bearer = {"Authorization": f"{scheme} s3cret-token"}
            assert httpx.get(server.url + "/api/health", headers=bearer).status_code == 200
        basic = {"Authorization": "Basic s3cret-token"}
        assert httpx.get(server.url + "/api/health", headers=basic).status_code == 401
        with httpx.Client(base_url=server.url, follow_redirects=True) as browser:
            page = browser.get("/", params={"token": "s3cret-token", "q": "anemia"})
            assert page.status_code == 200 and 'class="hit"' in page.text
            assert "token" not in str(page.url)  # kept in a cookie, not in the address
            assert browser.get("/api/health").status_code == 200
    finally:
        server.stop()
    assert "s3cret-token" not in server.log_file.read_text()


def _children(parent: int, marker: str) -> list[str]:
    """The processes whose parent is `parent` and whose command line holds `marker`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and marker.encode() in command:
            found.append(stat.parent.name)
    return found


@pytest.mark.slow
def test_several_processes_answer_alike_and_stop_together(seed_index: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("t0ken\n")
    server = HttpServer(seed_index, tmp_path / "run", "--workers", "2", "--token-file", token_file)
    headers = {"Authorization": "Bearer t0ken"}
    try:
        children = _children(server.process.pid, "spawn_main")
        assert len(children) == 2
        assert httpx.get(server.url + "/api/health").status_code == 401  # the token holds
        expected = httpx.get(server.url + "/api/search", params={"q": "anemia"}, headers=headers)
        answers: list[object] = []

        def client() -> None:
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as session:
                answers.extend(
                    untimed(session.get("/api/search", params={"q": "anemia"}).json())
                    for _ in range(5)
                )

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [untimed(expected.json())] * 40
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as session:
            said = [
                session.get("/api/health").headers.get("connection")
                for _ in range(REQUESTS_PER_CONNECTION * 2)
            ]
        # Each connection is handed back after so many answers (and the client reconnects).
        closing = [n for n, value in enumerate(said, 1) if value == "close"]
        assert closing == [REQUESTS_PER_CONNECTION, 2 * REQUESTS_PER_CONNECTION]
    finally:
        code, log = server.stop()
    assert code == 0 and "Traceback" not in log and "with 2 processes" in log
    for pid in children:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


def test_a_token_is_never_a_command_line_value() -> None:
    result = kbsearch("serve", "--http", "8080", "--token", "s3cret")
    assert result.returncode == 2 and "No such option" in result.stderr


def test_a_bug_answers_a_json_500_and_is_logged() -> None:
    import asyncio

    from search.app.web import create_app

    class Broken:
        def search(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("a bug")

    lines: list[str] = []
    app = create_app(Broken(), trouble=lines.append)  # type: ignore[arg-type]

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get("/api/search", params={"q": "x"})

    answer = asyncio.run(ask())
    assert answer.status_code == 500 and answer.json()["type"] == "InternalError"
    assert any("RuntimeError: a bug" in line for line in lines)


# ------------------------------------------------------------- hosts and hostile connections


@pytest.mark.slow
def test_a_request_for_another_host_name_is_refused(http: HttpServer) -> None:
    port = http.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
        answer = httpx.get(http.url + "/api/search", params={"q": "anemia"}, headers={"Host": host})
        assert answer.status_code == 200, host
    for host in ("attacker.example", f"attacker.example:{port}", "192.168.1.7", "localhost.evil"):
        answer = httpx.get(http.url + "/api/search", params={"q": "anemia"}, headers={"Host": host})
        assert answer.status_code == 400 and "--allowed-host" in answer.json()["error"], host
        assert "hits" not in answer.json()


@pytest.mark.slow
def test_allowed_host_names_are_answered(seed_index: Path, tmp_path: Path) -> None:
    server = HttpServer(
        seed_index, tmp_path / "run", "--allowed-host", "kb.example", "--allowed-host", "*.corp"
    )
    try:
        for host, status in [
            ("kb.example", 200),
            ("KB.example:8080", 200),
            ("search.corp", 200),
            ("a.b.corp", 200),
            ("corp", 400),
            ("kb.example.evil", 400),
        ]:
            answer = httpx.get(server.url + "/api/health", headers={"Host": host})
            assert answer.status_code == status, host
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("bound", "host", "allowed"),
    [
        ("0.0.0.0", "10.1.2.3:8080", True),  # any address when serving on all of them
        ("0.0.0.0", "attacker.example", False),
        ("0.0.0.0", f"{socket.gethostname()}:8080", True),  # the machine's own name
        ("10.1.2.3", "10.1.2.3", True),
        ("10.1.2.3", "10.9.9.9", False),
        ("127.0.0.1", socket.gethostname(), False),  # loopback only: no names beyond it
        ("localhost", "10.1.2.3", False),
        ("::1", "[::1]:80", True),
        ("127.0.0.1", "", True),  # HTTP/1.0 without a Host: no browser sends it
    ],
)
def test_which_hosts_a_server_answers_for(bound: str, host: str, allowed: bool) -> None:
    if socket.gethostname().lower().endswith("localhost") and socket.gethostname() in host:
        pytest.skip("this machine is named localhost: its name is always answered")
    assert AllowedHosts(bound).allows(host) is allowed


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.slow
def test_idle_and_slow_connections_do_not_starve_real_clients(
    seed_index: Path, tmp_path: Path
) -> None:
    server = HttpServer(seed_index, tmp_path / "run")
    idle: list[socket.socket] = []
    slow: list[socket.socket] = []
    stop = threading.Event()

    def trickle() -> None:  # slowloris: a header byte a second, never a whole request head
        head = b"GET /api/search?q=anemia HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-a: b\r\n" * 100
        for n in range(60):
            if stop.wait(1):
                return
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(head[n : n + 1])

    trickler = threading.Thread(target=trickle)
    try:
        for _ in range(70):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=30))
        for _ in range(200):
            slow.append(socket.create_connection(("127.0.0.1", server.port), timeout=30))
        trickler.start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(20):
                answer = client.get("/api/search", params={"q": "anemia"})
                assert answer.status_code == 200, answer.text
                time.sleep(0.25)
        # Past the deadline for a request head, the server has closed them all.
        for sock in idle[:5] + slow[-5:]:
            sock.settimeout(connections.HEAD_SECONDS * 3)
            assert _closed_by_server(sock)
        assert httpx.get(server.url + "/api/health", timeout=30).status_code == 200
    finally:
        stop.set()
        if trickler.is_alive():
            trickler.join()
        for sock in idle + slow:
            sock.close()
        code, log = server.stop()
    assert code == 0 and "Traceback" not in log
