"""Every language a knowledge base is written in: tldr's pages in 11 languages (their language
told by the folder, `pages.<tag>/`), queries written as each language's readers search, and
small knowledge bases whose pages tell their language by frontmatter, folder, suffix or text.
tldr pages: CC BY 4.0, tldr-pages contributors (tests/realkb/tldr/LICENSE.md)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import search
from search.text.languages import normalize_tag
from search.text.schema import text_terms

from .test_cli import kbsearch
from .test_sites import write_tree

TLDR = Path(__file__).parent / "realkb" / "tldr"
QUERIES = Path(__file__).parent / "tldr_queries.tsv"


def _queries() -> list[tuple[str, str, str]]:
    with open(QUERIES, encoding="utf-8", newline="") as handle:
        return [
            (r["language"], r["query"], r["page"]) for r in csv.DictReader(handle, delimiter="\t")
        ]


def page_language(hit_id: str) -> str:
    """The language of a tldr page by its folder (`pages` is English)."""
    folder = hit_id.split("/")[0]
    return normalize_tag(folder.partition(".")[2]) or "en"


@pytest.fixture(scope="module")
def tldr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[search.KnowledgeBase]:
    index = tmp_path_factory.mktemp("tldr") / "index"
    search.update_index(TLDR, index, wait=True)
    with search.open_index(index) as kb:
        yield kb


@pytest.mark.slow
def test_each_page_has_its_folders_language(tldr: search.KnowledgeBase) -> None:
    languages = tldr.stats().values["language"]
    assert set(languages) == {"en", "ar", "de", "es", "fr", "hi", "ja", "ko", "pt-BR", "ru", "zh"}
    assert languages["pt-BR"] == len(list((TLDR / "pages.pt_BR").rglob("*.md")))
    found = tldr.search("git", filters={"language": ["pt-BR"]}, limit=100, snippets=False)
    assert found.total > 0 and {page_language(h.id) for h in found} == {"pt-BR"}
    # A language without its region takes every region's pages (BCP 47's basic filtering).
    assert tldr.search("git", filters={"language": ["pt"]}, snippets=False).total == found.total
    shown = tldr.get("pages.ja/common/grep.md")
    assert (shown.language, shown.language_from) == ("ja", "folder")


@pytest.mark.parametrize("language", sorted({lang for lang, _, _ in _queries()}))
@pytest.mark.slow
def test_queries_in_each_language_find_their_page_in_that_language(
    tldr: search.KnowledgeBase, language: str
) -> None:
    misses, foreign, shown = [], 0, 0
    for _, query, page in (q for q in _queries() if q[0] == language):
        results = tldr.search(query, limit=5, snippets=False)
        ids = [hit.id for hit in results]
        if page not in ids:
            misses.append((query, ids))
        foreign += sum(page_language(i) != language for i in ids)
        shown += len(ids)
    assert misses == [], language
    # At least 80% of the top-5 hits are in the query's language (English: at most 10% others).
    assert foreign <= shown * (0.1 if language == "en" else 0.2), (language, foreign, shown)


def search_language(tag: str) -> str:
    """The language a query in `tag` is read as (its analysis: `pt` for `pt-BR`)."""
    return tag.split("-")[0]


def test_cjk_words_are_found_inside_longer_text() -> None:
    terms = [t for t, _, _, _ in text_terms("查看 GitHub 拉取请求的详细信息", "zh")]
    assert terms == [
        "查看",
        "github",
        "拉取",
        "取请",
        "请求",
        "求的",
        "的详",
        "详细",
        "细信",
        "信息",
    ]
    # Latin words inside a CJK run are analysed as words (`git提交`).
    assert [t for t, _, _, _ in text_terms("git提交", "zh")] == ["git", "提交"]


@pytest.mark.slow
def test_a_language_with_no_spelling_words_suggests_nothing(tldr: search.KnowledgeBase) -> None:
    results = tldr.search("不可变")
    assert results.total == 0 and results.suggestion is None
    assert results.language == "zh"


GERMAN = (
    "Die Anwendung speichert alle Einstellungen in einer Datei im Benutzerverzeichnis. "
    "Wenn Sie die Einstellungen ändern möchten, öffnen Sie die Datei mit einem Texteditor "
    "und starten Sie die Anwendung danach neu."
)


def test_a_pages_language_comes_from_frontmatter_folder_suffix_or_its_text(
    tmp_path: Path,
) -> None:
    source = write_tree(
        tmp_path / "kb",
        {
            "declared.md": "---\ntitle: Einstellungen\nlang: de_DE\n---\n\nKurz.\n",
            "docs/fr/guide.md": "# Guide\n\nLes paramètres sont enregistrés.\n",
            "docs/en/guide.md": "# Guide\n\nSettings are saved.\n",
            "page.pt-br.md": "# Página\n\nAs configurações são salvas.\n",
            "detected.md": f"# Handbuch\n\n{GERMAN}\n",
            "short.md": "# Notes\n\nok\n",
            # A folder named like a language is one only where languages are kept.
            "it/servers.md": "# Servers\n\nThe IT team keeps the servers running and patched.\n",
        },
    )
    search.update_index(source, tmp_path / "index", wait=True)
    with search.open_index(tmp_path / "index") as kb:
        found = {
            doc_id: (kb.get(doc_id).language, kb.get(doc_id).language_from)
            for doc_id in (
                "declared.md", "docs/fr/guide.md", "docs/en/guide.md", "page.pt-br.md",
                "detected.md", "short.md", "it/servers.md",
            )
        }  # fmt: skip
        assert found == {
            "declared.md": ("de-DE", "frontmatter"),
            "docs/fr/guide.md": ("fr", "folder"),
            "docs/en/guide.md": ("en", "folder"),
            "page.pt-br.md": ("pt-BR", "suffix"),
            "detected.md": ("de", "detected"),
            "short.md": ("en", "default"),
            "it/servers.md": ("en", "detected"),
        }
        # German words are stemmed as German: `Einstellung` finds `Einstellungen`.
        assert [h.id for h in kb.search("Einstellung")][:2] == ["declared.md", "detected.md"]
        assert kb.search("Einstellung").language == "de"
        assert Counter(kb.stats().values["language"]) == Counter(
            {"en": 3, "de-DE": 1, "de": 1, "fr": 1, "pt-BR": 1}
        )


def test_a_hit_links_to_the_same_page_in_its_other_languages(tmp_path: Path) -> None:
    """Translations are the pages of one path but for the language's folder or suffix, or of
    one `translationKey`: each hit lists the others (not itself, not its own language)."""
    source = write_tree(
        tmp_path / "kb",
        {
            "docs/en/setup.md": "# Setup\n\nInstall the server and configure it.\n",
            "docs/fr/setup.md": "# Installation\n\nInstallez le serveur puis configurez-le.\n",
            "docs/es/setup.md": "# Instalación\n\nInstale el servidor y configúrelo.\n",
            "docs/en/other.md": "# Other\n\nInstall nothing here, the server is elsewhere.\n",
            "notes.md": "---\ntranslationKey: notes\n---\n# Notes\n\nThe server notes.\n",
            "notas.es.md": "---\ntranslationKey: notes\n---\n# Notas\n\nNotas del servidor.\n",
            "release.md": "# Release\n\nRelease the server.\n",
            "release.de.md": "# Freigabe\n\nDen Server freigeben.\n",
        },
    )
    search.update_index(source, tmp_path / "index", wait=True)
    with search.open_index(tmp_path / "index") as kb:
        hits = {hit.id: hit for hit in kb.search("install server", limit=20)}
        assert [(t.id, t.language, t.title) for t in hits["docs/en/setup.md"].translations] == [
            ("docs/es/setup.md", "es", "Instalación"),
            ("docs/fr/setup.md", "fr", "Installation"),
        ]
        assert hits["docs/en/other.md"].translations == ()
        notes = kb.search("notes server").hits[0]
        assert notes.id == "notes.md" and [t.id for t in notes.translations] == ["notas.es.md"]
        release = kb.search("release").hits[0]
        assert [t.id for t in release.translations] == ["release.de.md"]
        spanish = kb.search("instale el servidor", query_language="es").hits[0]
        assert spanish.id == "docs/es/setup.md"
        assert [t.language for t in spanish.translations] == ["en", "fr"]
        assert spanish.to_dict()["translations"][0]["id"] == "docs/en/setup.md"


def test_pages_in_other_languages_come_only_when_they_match_as_well(tmp_path: Path) -> None:
    """A Portuguese query lists Spanish pages that share one of its words (`uso`) only when
    they match at least as well as the best Portuguese page; with no Portuguese page matching,
    the Spanish ones are the answer. tldr's pages (`gdu`, `df`, `ffmpeg`), shortened."""
    source = write_tree(
        tmp_path / "kb",
        {
            "pages.pt_BR/gdu.md": "# gdu\n\n> Analisador de uso de disco.\n\n"
            "- Mostra o uso de disco do diretório atual:\n\n`gdu`\n",
            "pages.pt_BR/df.md": "# df\n\n> Mostra o espaço livre no sistema.\n",
            "pages.es/git.md": "# git\n\n> Sistema de control de versiones.\n\n"
            "- Muestra la ayuda y el uso general:\n\n`git --help`\n",
            "pages.es/gcloud.md": "# gcloud\n\n> Modo de uso de la herramienta de Google.\n",
            "pages.es/ffmpeg.md": "# ffmpeg\n\n> Convierte vídeo con ffmpeg.\n\n"
            "- Extrae el audio de un vídeo con ffmpeg:\n\n`ffmpeg -i {{video.mp4}}`\n",
        },
    )
    search.update_index(source, tmp_path / "index", wait=True)
    with search.open_index(tmp_path / "index") as kb:
        found = kb.search("uso de disco", query_language="pt-BR")
        assert [hit.id for hit in found] == ["pages.pt_BR/gdu.md"] and found.total == 1
        # Faceted and sorted searches leave out the same pages.
        faceted = kb.search("uso de disco", query_language="pt-BR", facets=["language"])
        assert faceted.total == 1 and faceted.facets["language"] == {"pt-BR": 1}
        # A page that matches better than every page in the query's language still comes.
        video = kb.search("ffmpeg uso", query_language="pt-BR")
        assert "pages.es/ffmpeg.md" in [hit.id for hit in video]
        # No page in the query's language: the others are the answer.
        spanish = kb.search("herramienta", query_language="pt-BR")
        assert [hit.id for hit in spanish] == ["pages.es/gcloud.md"]


def test_kbsearch_toml_gives_every_page_its_language(tmp_path: Path) -> None:
    source = write_tree(
        tmp_path / "kb",
        {
            "kbsearch.toml": 'language = "fr"\n',
            "a.md": "# Réseau\n\nConfigurer le réseau.\n",
            "b.md": "---\nlanguage: en\n---\n# Network\n\nConfigure the network.\n",
        },
    )
    search.update_index(source, tmp_path / "index", wait=True)
    with search.open_index(tmp_path / "index") as kb:
        assert (kb.get("a.md").language, kb.get("a.md").language_from) == ("fr", "config")
        assert (kb.get("b.md").language, kb.get("b.md").language_from) == ("en", "frontmatter")


@pytest.mark.slow
def test_cjk_words_are_marked_in_snippets(tldr: search.KnowledgeBase) -> None:
    hit = tldr.search("拉取请求", limit=1)[0]
    assert hit.id.startswith("pages.zh/")
    assert "<mark>拉取请求</mark>" in hit.snippet.html()


@pytest.mark.slow
def test_the_cli_takes_any_query_language_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    source = write_tree(
        tmp_path / "kb",
        {
            "docs/de/a.md": "# Einstellungen\n\nDie Einstellungen werden gespeichert.\n",
            "docs/en/a.md": "# Settings\n\nThe settings are saved.\n",
        },
    )
    index = tmp_path / "index"
    assert kbsearch("index", source, "--index", index).returncode == 0
    said = kbsearch("query", "settings", "--query-lang", "de", "--index", index, "--json")
    assert said.returncode == 0, said.stderr
    assert json.loads(said.stdout)["language"] == "de"
    table = kbsearch("query", "Einstellungen", "--index", index, "--format", "table")
    assert "read as German" in table.stdout, table.stdout + table.stderr
    refused = kbsearch("query", "x", "--query-lang", "klingon!", "--index", index)
    assert refused.returncode == 2 and "unknown query language" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_bad_language_in_kbsearch_toml_stops_the_run(tmp_path: Path) -> None:
    source = write_tree(
        tmp_path / "kb", {"kbsearch.toml": "language = 5\n", "a.md": "# A\n\ntext\n"}
    )
    run = kbsearch("index", source, "--index", tmp_path / "index")
    assert run.returncode == 2 and "`language` must be a language tag" in run.stderr


def test_words_keep_their_combining_marks_and_one_unicode_form() -> None:
    # Devanagari vowel signs and Arabic harakat are inside words, not word breaks.
    assert [t for t, _, _, _ in text_terms("सुरक्षित प्रति", "hi")] == ["सुरक्षित", "प्रत"]
    assert [t for t, _, _, _ in text_terms("مُجَلَّد", "ar")] == [
        t for t, _, _, _ in text_terms("مجلد", "ar")
    ]
    # `फ़` as one code point (U+095E) or as फ + nukta is one letter.
    assert text_terms("साफ़", "hi") and [t for t, _, _, _ in text_terms("सा\u095e", "hi")] == [
        t for t, _, _, _ in text_terms("साफ\u093c", "hi")
    ]


def test_thai_is_found_inside_a_sentence(tmp_path: Path) -> None:
    source = write_tree(
        tmp_path / "kb",
        {
            "th.md": "---\nlang: th\n---\n# คู่มือ\n\nค้นหาไฟล์ในไดเรกทอรีปัจจุบัน\n",
            "en.md": "# Guide\n\nFind files in the current directory.\n",
        },
    )
    search.update_index(source, tmp_path / "index", wait=True)
    with search.open_index(tmp_path / "index") as kb:
        found = kb.search("ไฟล์")  # "file", inside a sentence without spaces
        assert [h.id for h in found] == ["th.md"] and found.language == "th"
        assert "<mark>ไฟล์</mark>" in found.hits[0].snippet.html()


# Asks the detector in a fresh process; with `shipped_fails`, loading the model shipped with
# py3langid fails, so an answer can only come from the user's copy of it.
_ASK_DETECTOR = """
import sys
from py3langid import modelio
if sys.argv[1] == "shipped_fails":
    def refuse(*args, **kwargs):
        raise RuntimeError("the shipped model was read")
    modelio.load_model = refuse
from search.text.languages import detect_text_language, text_language_odds
odds = text_language_odds("die Einstellungen der Anwendung speichern", ("en", "de", "fr"))
page = detect_text_language(sys.argv[2])
print(max(odds, key=odds.get), page)
"""


def test_the_language_detector_loads_from_the_users_cache_after_its_first_use(
    tmp_path: Path,
) -> None:
    """The first process keeps the detector's model in `$XDG_CACHE_HOME/kbsearch` as arrays
    (a cold query on tldr took 1.05 s with the shipped LZMA file, 0.56 s with a pickle of it);
    the next ones load it from there, a query's mapped, a page's copied, with the same answers;
    what an earlier version kept there goes, a damaged copy is written anew; a folder others
    can write to is never read."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    kept_by = tmp_path / "cache" / "kbsearch"
    kept_by.mkdir(parents=True, mode=0o700)
    (kept_by / "py3langid-0.4.0-4586720-1.pickle").write_bytes(b"an earlier version's")

    def ask(mode: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", _ASK_DETECTOR, mode, GERMAN]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    first = ask("normal")
    assert first.returncode == 0 and first.stdout.split() == ["de", "de"], first.stderr
    [kept] = kept_by.glob("py3langid-*")
    assert kept.is_dir() and not kept.stat().st_mode & 0o077
    assert {p.suffix for p in kept.iterdir()} == {".npy", ".txt"}  # arrays, never a pickle
    again = ask("shipped_fails")
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
    # A damaged copy (cut short: a disk that filled) is read from the shipped file and replaced.
    table = kept / "tk_nextmove.npy"
    table.write_bytes(table.read_bytes()[:4096])
    repaired = ask("normal")
    assert repaired.returncode == 0 and repaired.stdout == first.stdout, repaired.stderr
    assert ask("shipped_fails").stdout == first.stdout
    kept_by.chmod(0o777)  # others could have written it
    refused = ask("shipped_fails")
    assert refused.returncode != 0 and "the shipped model was read" in refused.stderr


def test_the_detectors_mapped_model_answers_as_the_copied_one() -> None:
    """A query's detector maps the state table, a page's copies it: the same answers."""
    from search.text.languages import _identifier

    texts = [GERMAN, "git commit", "déploiement canari", "不可变的基础设施", "नाम बदलें", ""]
    for text in texts:
        assert _identifier(mapped=True).rank(text) == _identifier().rank(text), text


def test_a_word_another_language_borrowed_does_not_make_a_query_that_language(
    tmp_path: Path,
) -> None:
    """tldr's French pages are 16% about git, its English ones 6%: `git commit` was read as
    French and answered with five French pages. Words the main language's pages write, and
    another's borrowed, say nothing of the query's language; that language's own words still do."""
    topics = ["tar", "grep", "ssh", "curl", "rsync", "find", "sort", "chmod", "kill", "ping"]
    english = {
        f"docs/en/{name}.md": f"# {name}\n\nUse {name} to work with files and the network.\n"
        for name in topics * 3
    } | {
        f"docs/en/git-{verb}.md": f"# git {verb}\n\nRecord and share changes: git {verb} "
        "a commit to the repository.\n"
        for verb in ("commit", "push", "log")
    }
    french = {
        f"docs/fr/git-{verb}.md": f"# git {verb}\n\nEnregistrer les modifications du dépôt : "
        f"git {verb} un commit dans le dépôt.\n"
        for verb in ("commit", "push", "log", "pull", "merge", "rebase")
    } | {
        f"docs/fr/{name}.md": f"# {name}\n\nUtiliser {name} pour les fichiers du dépôt.\n"
        for name in topics[:6]
    }
    source = write_tree(tmp_path / "kb", english | french)
    search.update_index(source, tmp_path / "index", wait=True)
    with search.open_index(tmp_path / "index") as kb:
        assert Counter(kb.stats().values["language"]) == Counter({"en": 13, "fr": 12})
        results = kb.search("git commit", limit=3, snippets=False)
        assert results.language != "fr"
        assert [hit.id.split("/")[1] for hit in results] == ["en", "en", "en"]
        # French words still tell French.
        french_query = kb.search("enregistrer les modifications", limit=3, snippets=False)
        assert french_query.language == "fr"
        assert {hit.id.split("/")[1] for hit in french_query} == {"fr"}
