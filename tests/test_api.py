"""The HTTP API's shape, against a real `kbsearch serve --http` process: what a hit carries,
paging and timing, chosen fields, one error schema, gzip, CORS, and the OpenAPI document checked
against real answers with openapi-core."""

from __future__ import annotations

import html
import math
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from .conftest import SEED_DOC
from .web_server import HttpServer, get


def test_a_page_of_hits_says_where_it_is_and_how_long_it_took(http: HttpServer) -> None:
    answer = get(http, "/api/search", q="anemia", limit=7, page=2).json()
    assert answer["page"] == 2 and answer["limit"] == 7 and answer["offset"] == 7
    assert answer["totalPages"] == math.ceil(answer["total"] / 7) > 2
    assert isinstance(answer["processingTimeMs"], int) and answer["processingTimeMs"] >= 0
    assert (answer["facets"], answer["suggestion"], answer["corrected"]) == ({}, None, False)


def test_a_hit_has_its_path_in_the_knowledge_base_and_a_marked_title(
    http: HttpServer, seed_index: Path
) -> None:
    answer = get(http, "/api/search", q="luspatercept anemia").json()
    assert answer["hits"]
    for hit in answer["hits"]:
        assert hit["path"] == hit["id"] and not hit["path"].startswith("/")
        assert "text" not in hit
    assert str(Path.cwd()) not in str(answer) and "/seeds/" not in str(answer)
    marked = [hit["title_html"] for hit in answer["hits"] if "<mark>" in hit["title_html"]]
    assert "<mark>Luspatercept</mark>-aamt - NCI" in marked, marked
    assert {hit["language"] for hit in answer["hits"]} <= {"en", "es"}
    document = get(http, f"/api/documents/{SEED_DOC}").json()
    assert document["path"] == SEED_DOC
    assert set(get(http, "/api/health").json()) == {"status", "documents", "last_updated"}


def test_fields_choose_what_a_hit_carries(http: HttpServer) -> None:
    few = get(http, "/api/search", q="anemia", fields="id,title_html").json()
    assert few["hits"] and all(list(hit) == ["id", "title_html"] for hit in few["hits"])
    whole = get(http, "/api/search", q="anemia", fields="id,snippet,text").json()
    for hit in whole["hits"]:
        unmarked = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
        assert hit["text"] == html.unescape(unmarked)
    assert list(get(http, "/api/search", q="anemia", fields="*").json()["hits"][0]) == list(
        get(http, "/api/search", q="anemia").json()["hits"][0]
    )


def test_typing_the_last_word_matches_it_as_a_prefix(http: HttpServer) -> None:
    typed = get(http, "/api/search", q="chemot", prefix="last").json()
    assert typed["total"] > 10 and typed["suggestion"] is None
    assert any("chemotherapy" in hit["highlights"] for hit in typed["hits"])
    whole = get(http, "/api/search", q="chemot").json()
    assert whole["total"] < typed["total"]


def test_answers_are_gzipped_for_clients_that_accept_it(http: HttpServer) -> None:
    with httpx.Client() as client:
        request = client.build_request(
            "GET", http.url + "/api/search", params={"q": "anemia"}, headers={}
        )
        request.headers["Accept-Encoding"] = "gzip"
        zipped = client.send(request, stream=True)
        raw = zipped.read()  # httpx decodes; the header says what came over the wire
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.num_bytes_downloaded < len(raw) / 2
    plain = httpx.get(
        http.url + "/api/search", params={"q": "anemia"}, headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers


def test_one_worker_keeps_a_connection_open(http: HttpServer) -> None:
    """Only several workers hand connections back (to balance them); one keeps them."""
    with httpx.Client(base_url=http.url) as session:
        said = {session.get("/api/health").headers.get("connection") for _ in range(40)}
    assert "close" not in said


def test_cors_is_off_unless_origins_are_allowed(
    http: HttpServer, seed_index: Path, tmp_path: Path
) -> None:
    origin = {"Origin": "https://docs.example.org"}
    assert "access-control-allow-origin" not in get_with(http, origin).headers
    server = HttpServer(seed_index, tmp_path / "run", "--cors-origin", "https://docs.example.org")
    try:
        allowed = get_with(server, origin)
        assert allowed.headers["access-control-allow-origin"] == "https://docs.example.org"
        other = get_with(server, {"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
        preflight = httpx.options(
            server.url + "/api/search",
            headers={
                **origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    finally:
        server.stop()


def get_with(server: HttpServer, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(server.url + "/api/search", params={"q": "anemia"}, headers=headers)


# Real requests whose answers must match what /openapi.json says of them.
DESCRIBED = [
    ("/api/search", {"q": "anemia transfusion", "facets": "tags,language", "fix": "true"}),
    ("/api/search", {"q": "luspatersept"}),
    ("/api/search", {"q": "cancer", "sort": "title", "fields": "id,title,text"}),
    ("/api/search", {"q": "x", "lang": "fr"}),
    ("/api/search", {"q": "x", "limit": "many"}),
    ("/api/suggest", {"q": "anemia lusp"}),
    (f"/api/documents/{SEED_DOC}", {}),
    ("/api/documents/nothing.md", {}),
    ("/api/health", {}),
]


def validate(spec: OpenAPI, server: HttpServer, answer: httpx.Response) -> None:
    url = urlsplit(str(answer.request.url))
    request = MockRequest(
        server.url,
        "get",
        url.path,
        args=dict(answer.request.url.params.multi_items()),
        headers=dict(answer.request.headers),
    )
    response = MockResponse(
        answer.content,
        status_code=answer.status_code,
        content_type=answer.headers["content-type"].split(";")[0],
    )
    spec.validate_response(request, response)


def test_the_openapi_document_describes_real_answers(http: HttpServer) -> None:
    document = get(http, "/openapi.json").json()
    spec = OpenAPI.from_dict({**document, "servers": [{"url": http.url}]})
    statuses = set()
    for path, params in DESCRIBED:
        answer = get(http, path, **params)
        validate(spec, http, answer)
        statuses.add(answer.status_code)
    assert statuses == {200, 400, 404}
    search = document["paths"]["/api/search"]["get"]["responses"]
    assert "422" not in search and {"200", "400", "401", "414", "503"} <= set(search)
    error = document["components"]["schemas"]["Error"]["properties"]["type"]
    assert "QuerySyntaxError" in error["enum"] and "HTTPError" not in error["enum"]


@pytest.mark.slow
def test_the_openapi_document_describes_the_token(seed_index: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("t0ken\n")
    server = HttpServer(seed_index, tmp_path / "run", "--token-file", token_file)
    try:
        bearer = {"Authorization": "Bearer t0ken"}
        document = httpx.get(server.url + "/openapi.json", headers=bearer).json()
        assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert document["paths"]["/api/search"]["get"]["security"] == [{"bearer": []}]
        spec = OpenAPI.from_dict({**document, "servers": [{"url": server.url}]})
        refused = httpx.get(server.url + "/api/search", params={"q": "anemia"})
        assert refused.status_code == 401
        validate(spec, server, refused)
        answered = httpx.get(server.url + "/api/search", params={"q": "anemia"}, headers=bearer)
        validate(spec, server, answered)
    finally:
        server.stop()
