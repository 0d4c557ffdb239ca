"""Knowledge bases written for site generators: recognised from their files, their pages (not
fragments, includes or drafts), their keys, their published URLs, and `check` resolving links
as the generator does. Fixtures are cut from the pages and configurations of
../shared/corpus/realkb (Docsy: Apache-2.0; Material for MkDocs, Jekyll: MIT)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import search
from search.app.cli import main
from search.errors import SiteConfigError
from search.kb.documents import parse_document
from search.kb.sites import load_site, scan_site


@pytest.fixture
def opened() -> Iterator[Callable[[Path], search.KnowledgeBase]]:
    """Open indexes that the test leaves open, closed after it."""
    kbs: list[search.KnowledgeBase] = []

    def open_(index_dir: Path) -> search.KnowledgeBase:
        kbs.append(search.open_index(index_dir))
        return kbs[-1]

    yield open_
    for kb in kbs:
        kb.close()


Opener = Callable[[Path], search.KnowledgeBase]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


HUGO = {
    "hugo.yaml": "params:\n  productionURL: &url https://www.docsy.dev\nbaseURL: *url\n"
    "module:\n  mounts:\n    - source: content/en\n      target: content\n",
    "content/en/docs/_index.md": "---\ntitle: Documentation\n---\n",
    "content/en/docs/formatting.md": (
        "+++\ntitle = 'FormatNumber'\n"
        "description = 'Returns a currency representation of a number.'\n+++\n\n"
        "## Examples\n\nThe function formats numbers for the page's locale.\n\n"
        'See [the guide]({{< ref "guide.md" >}}) and [tags](/tags/howto/).\n\n'
        '```html\n<a href="nowhere.html">in code, not a link</a>\n```\n'
    ),
    "content/en/docs/guide.md": "---\ntitle: Guide\ntags: [howto]\n---\n\nRead me.\n",
    "content/en/docs/draft.md": "---\ntitle: Unfinished\ndraft: true\n---\n\nPenguin notes.\n",
    "content/en/_common/snippet.md": "---\ntitle: Snippet\n---\n\nIncluded zebra text.\n",
    "content/en/docs/bundle/index.md": "---\ntitle: Bundle\n---\n\nThe page.\n",
    "content/en/docs/bundle/part.md": "Part of the bundle, giraffe.\n",
}


@pytest.fixture
def hugo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "site", HUGO)


def test_a_hugo_site_indexes_its_pages_with_their_published_urls(
    hugo: Path, tmp_path: Path, opened: Opener
) -> None:
    content = hugo / "content" / "en"
    report = search.update_index(content, tmp_path / "ix")
    assert report.ok and report.added == 4  # not the draft, the fragment, the bundle's part
    kb = opened(tmp_path / "ix")
    ids = {hit.id for hit in kb.search("*", limit=20)}
    assert ids == {"docs/_index.md", "docs/formatting.md", "docs/guide.md", "docs/bundle/index.md"}
    for hidden in ("penguin", "zebra", "giraffe"):
        assert kb.search(hidden).total == 0, hidden
    hit = kb.search("currency")[0]  # only the description says it
    assert hit.id == "docs/formatting.md"
    assert hit.url == "https://www.docsy.dev/docs/formatting/"
    assert kb.get("docs/_index.md").url == "https://www.docsy.dev/docs/"
    section = kb.search("locale")[0]
    assert section.sections and section.section_url(section.sections[0]).endswith(
        "/docs/formatting/#examples"
    )


def test_a_draft_that_is_published_joins_the_index(
    hugo: Path, tmp_path: Path, opened: Opener
) -> None:
    content = hugo / "content" / "en"
    search.update_index(content, tmp_path / "ix")
    page = content / "docs" / "draft.md"
    page.write_text(page.read_text().replace("draft: true", "draft: false"))
    report = search.update_index(content, tmp_path / "ix")
    assert report.added == 1
    assert opened(tmp_path / "ix").search("penguin").total == 1


def test_check_resolves_hugo_links_and_requires_only_a_title(hugo: Path) -> None:
    report = search.check(hugo / "content" / "en")
    assert report.problems == ()  # ref, taxonomy term page, the link inside code not a link
    (hugo / "content/en/docs/guide.md").write_text("---\ntags: [howto]\n---\n\n[gone](../nope/)\n")
    kinds = {(Path(p.path).name, p.kind) for p in search.check(hugo / "content" / "en").problems}
    assert kinds == {("guide.md", "missing_key"), ("guide.md", "broken_link")}


def test_mkdocs_site_urls_and_its_python_tags_read_as_text(tmp_path: Path, opened: Opener) -> None:
    site = write_tree(
        tmp_path / "mk",
        {
            "mkdocs.yml": (
                "site_url: https://squidfunk.github.io/mkdocs-material/\n"
                "markdown_extensions:\n  - pymdownx.emoji:\n"
                "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
            ),
            "docs/index.md": "# Material for MkDocs\n\nWelcome.\n",
            "docs/setup/setting-up-a-blog.md": "# Setting up a blog\n\nThe blog plugin.\n",
        },
    )
    loaded = load_site(site / "docs")
    assert loaded.generator == "mkdocs"
    search.update_index(site / "docs", tmp_path / "ix")
    hit = opened(tmp_path / "ix").search("blog plugin")[0]
    assert hit.url == "https://squidfunk.github.io/mkdocs-material/setup/setting-up-a-blog/"


def test_jekyll_collections_posts_permalinks_and_includes(tmp_path: Path, opened: Opener) -> None:
    site = write_tree(
        tmp_path / "docs",
        {
            "_config.yml": (
                "url: https://jekyllrb.com\ncollections:\n  docs:\n"
                '    permalink: "/:collection/:path/"\n    output: true\n  posts:\n'
                '    permalink: "/news/:year/:month/:day/:title/"\n    output: true\n'
            ),
            "_docs/installation/macos.md": "---\ntitle: Jekyll on macOS\n---\n\nHomebrew.\n",
            "_posts/2016-01-28-jekyll-3-1-1-released.markdown": "---\ntitle: 3.1.1\n---\n\nFix.\n",
            "pages/team.md": "---\ntitle: Team\npermalink: /team/\n---\n\nMaintainers.\n",
            "_includes/docs_option.md": "Included option text.\n",
        },
    )
    search.update_index(site, tmp_path / "ix")
    kb = opened(tmp_path / "ix")
    urls = {hit.id: hit.url for hit in kb.search("*", limit=10)}
    assert urls == {
        "_docs/installation/macos.md": "https://jekyllrb.com/docs/installation/macos/",
        "_posts/2016-01-28-jekyll-3-1-1-released.markdown": (
            "https://jekyllrb.com/news/2016/01/28/jekyll-3-1-1-released/"
        ),
        "pages/team.md": "https://jekyllrb.com/team/",
    }


def test_docusaurus_partials_mdx_and_admonitions(tmp_path: Path, opened: Opener) -> None:
    site = write_tree(
        tmp_path / "web",
        {
            "docusaurus.config.js": "module.exports = {\n  url: 'https://example.org',\n"
            "  baseUrl: '/kb/',\n};\n",
            "docs/01-intro.mdx": (
                "---\ntitle: Intro\n---\n\nimport Tabs from '@theme/Tabs';\n\n"
                ":::tip[Before you start]\n\nInstall Node first.\n\n:::\n"
            ),
            "docs/_shared.mdx": "Partial walrus text.\n",
        },
    )
    search.update_index(site, tmp_path / "ix")
    kb = opened(tmp_path / "ix")
    assert kb.search("walrus").total == 0
    doc = kb.get("docs/01-intro.mdx")
    assert doc.url == "https://example.org/kb/docs/intro"
    assert doc.body == "Before you start\n\nInstall Node first."


def test_obsidian_wikilinks_are_links_and_check_resolves_them(tmp_path: Path) -> None:
    vault = write_tree(
        tmp_path / "vault",
        {
            ".obsidian/app.json": "{}",
            "Daily/2026-12-01.md": "Met about [[Project Plan|the plan]] and [[Missing Note]].\n\n"
            "![[diagram.png]]\n\n> [!warning] Careful\n> Budget is tight.\n",
            "Projects/Project Plan.md": "# Project Plan\n\nShip it.\n",
        },
    )
    doc = parse_document((vault / "Daily/2026-12-01.md").read_bytes(), vault / "x.md", vault)
    assert doc.body == "Met about the plan and Missing Note.\n\nCareful\nBudget is tight."
    broken = [p.message for p in search.check(vault).problems if p.kind == "broken_link"]
    assert broken == ["links to 'Missing Note': no such file"]


def test_kbsearch_toml_and_ignore_file(tmp_path: Path, opened: Opener) -> None:
    kb_folder = write_tree(
        tmp_path / "kb",
        {
            "kbsearch.toml": 'base_url = "https://wiki.example/"\n'
            'required_keys = ["title", "owner"]\n[keys]\ntitle = ["name"]\n',
            ".kbsearchignore": "private/\n*.tmp.md\n",
            "a.md": "---\nname: Onboarding\n---\n\nBadge and laptop.\n",
            "private/secret.md": "Salaries.\n",
            "notes.tmp.md": "Scratch.\n",
        },
    )
    search.update_index(kb_folder, tmp_path / "ix")
    kb = opened(tmp_path / "ix")
    assert [hit.id for hit in kb.search("*", limit=10)] == ["a.md"]
    hit = kb.search("laptop")[0]
    assert hit.title == "Onboarding" and hit.url == "https://wiki.example/a.md"
    messages = [p.message for p in search.check(kb_folder).problems]
    assert messages == ["no `owner` in the frontmatter"]


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    kb_folder = write_tree(tmp_path / "kb", {"kbsearch.toml": "base_url = [\n", "a.md": "A.\n"})
    with pytest.raises(SiteConfigError, match="not valid TOML"):
        load_site(kb_folder)
    result = CliRunner().invoke(main, ["index", str(kb_folder), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 2 and "kbsearch.toml" in result.output
    (kb_folder / "kbsearch.toml").write_text("colour = 'blue'\n")
    with pytest.raises(SiteConfigError, match="unknown setting"):
        load_site(kb_folder)


def test_site_can_be_named_and_the_base_url_given(hugo: Path, tmp_path: Path) -> None:
    content = hugo / "content" / "en"
    runner = CliRunner()
    ix = str(tmp_path / "ix")
    args = ["index", str(content), "--index", ix, "--site", "plain", "--base-url", "https://x.org"]
    assert runner.invoke(main, args).exit_code == 0
    found = runner.invoke(main, ["query", "zebra", "--index", ix, "--json", "--no-server"])
    data = json.loads(found.output)
    assert data["hits"][0]["url"] == "https://x.org/_common/snippet.md"  # plain: no fragments


def test_a_real_word_is_not_rewritten_when_other_words_find_pages(
    tmp_path: Path, opened: Opener
) -> None:
    # Hugo's docs: `refuses` is in no page, `ref` in three titles; "build" finds the answer.
    kb_folder = write_tree(
        tmp_path / "kb",
        {
            f"ref{n}.md": f"---\ntitle: Refs\n---\n\nThe refs of a page {n}, known at build.\n"
            for n in range(3)
        }
        | {
            "build.md": "---\ntitle: Build troubleshooting\n---\n\nWhen Hugo stops, its log names "
            "the template, the page and the line of the error. Fix it and run it again.\n"
        },
    )
    search.update_index(kb_folder, tmp_path / "ix")
    kb = opened(tmp_path / "ix")
    assert kb.search("refuses build")[0].id == "build.md"


def test_a_named_site_without_its_configuration_takes_the_defaults(tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "content", {"docs/a.md": "---\ntitle: A\n---\n\nText.\n"})
    site = load_site(folder, "hugo")
    assert site.generator == "hugo" and site.base_url == "" and site.content == str(folder)
    report = search.update_index(folder, tmp_path / "ix", site="mkdocs")
    assert report.ok and report.added == 1


def test_included_files_are_the_pages_text_and_a_change_re_reads_the_page(
    tmp_path: Path, opened: Opener
) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "hugo.toml": "baseURL = 'https://gohugo.io/'\n",
            # Hugo's docs: a page whose body is an include of a headless `_common` fragment.
            "content/functions/format.md": '---\ntitle: Format\n---\n\n{{% include "/_common/'
            'format.md" %}}\n\n{{< readfile file="example.toml" code="true" lang="toml" >}}\n',
            "content/_common/format.md": "The layout string uses Go's reference time.\n",
            "content/functions/example.toml": "[params]\nlocale = 'en-GB'\n",
            "content/functions/escape.md": '---\ntitle: Escape\n---\n\n{{% include "../../../'
            'secret.md" %}}\n',
        },
    )
    (tmp_path / "secret.md").write_text("Outside words never get in.\n")
    content = site / "content"
    search.update_index(content, tmp_path / "ix")
    kb = opened(tmp_path / "ix")
    assert [hit.id for hit in kb.search("reference time")] == ["functions/format.md"]
    assert kb.search("locale").total == 1  # the code file came in as code
    assert kb.search("outside").total == 0  # nothing from outside the site's root
    (content / "_common" / "format.md").write_text("The layout uses a sample date.\n")
    report = search.update_index(content, tmp_path / "ix")
    assert report.updated == 1 and report.unchanged == 1  # escape.md: not touched
    kb = opened(tmp_path / "ix")
    assert kb.search("reference time").total == 0 and kb.search("sample date").total == 1


def test_mkdocs_snippets_and_jekyll_include_relative(tmp_path: Path, opened: Opener) -> None:
    mkdocs = write_tree(
        tmp_path / "mk",
        {
            "mkdocs.yml": "site_name: x\n",
            "includes/abbreviations.md": "The glossary lives in one file.\n",
            "docs/page.md": '# Page\n\n!!! note\n\n    --8<-- "includes/abbreviations.md"\n',
        },
    )
    search.update_index(mkdocs / "docs", tmp_path / "ix1")
    assert opened(tmp_path / "ix1").get("page.md").body == (
        "Page\n\nNote\n\nThe glossary lives in one file."
    )
    jekyll = write_tree(
        tmp_path / "jk",
        {
            "_config.yml": "url: https://x.org\n",
            "guide/intro.md": "# Intro\n\n{% include_relative parts/setup.md %}\n",
            "guide/parts/setup.md": "Install Ruby first.\n",
        },
    )
    search.update_index(jekyll, tmp_path / "ix2")
    assert opened(tmp_path / "ix2").get("guide/intro.md").body == "Intro\n\nInstall Ruby first."


def test_the_index_summary_says_what_was_recognised_and_left_out(
    hugo: Path, tmp_path: Path
) -> None:
    content = str(hugo / "content" / "en")
    result = CliRunner().invoke(main, ["index", content, "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0
    assert "3 file(s) no pages" in result.output  # the fragment, the bundle's part, the draft
    assert "read as a hugo site (https://www.docsy.dev/)" in result.output
    as_json = CliRunner().invoke(
        main, ["index", content, "--index", str(tmp_path / "ix"), "--json"]
    )
    report = json.loads(as_json.output)
    assert report["site"] == "hugo site (https://www.docsy.dev/)" and report["left_out"] == 3


def test_only_the_generators_output_folder_is_left_out(tmp_path: Path) -> None:
    site = write_tree(
        tmp_path / "mk",
        {
            "mkdocs.yml": "site_name: x\n",
            "docs/index.md": "# Home\n",
            "docs/site/about-the-site.md": "# About the site\n",  # a section named `site`
            "site/index.md": "# Built copy\n",  # MkDocs' output, at the root
            "node_modules/pkg/readme-notes.md": "# A dependency\n",
        },
    )
    files, _, _ = scan_site(load_site(site), site)
    assert [f.id for f in files] == ["docs/index.md", "docs/site/about-the-site.md"]
    (site / "kbsearch.toml").write_text("site = 'mkdcos'\n")
    with pytest.raises(SiteConfigError, match="unknown site 'mkdcos'"):
        load_site(site)
