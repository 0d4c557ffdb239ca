"""The site generators' syntax made plain: each fixture is cut from a page of
../shared/corpus/realkb (Docsy: Apache-2.0; Material for MkDocs and Jekyll: MIT), and what a
reader of the built site sees is what the index gets."""

from __future__ import annotations

import pytest

from search.kb.dialects import plain_markdown
from search.kb.documents import render_markdown

SYNTAX = (
    "{{", "}}", "{%", "%}", "[!", "!!!", "???", '=== "', "--8<--", "```", ":material-",
    ":::", "[[", "]]", "import ", "{/*",
)  # fmt: skip

# name -> (Markdown, text a reader sees, [text that must not be there])
CASES: dict[str, tuple[str, list[str]] | tuple[str, list[str], list[str]]] = {
    # Hugo (Docsy): shortcodes, one spanning lines, a paired one around text, an alert.
    "hugo-shortcodes": (
        '{{% blocks/cover\n  title="Welcome to Docsy!"\n  height="min td-below-navbar"\n%}}\n\n'
        "{{% param description %}}\n{.display-6}\n\n"
        '{{% alert title="Note" color="info" %}}\nThe theme needs Hugo extended.\n'
        "{{% /alert %}}\n",
        ["The theme needs Hugo extended."],
    ),
    "hugo-tabpane": (
        '{{< tabpane >}}\n{{% tab header="hugo.toml" lang="toml" %}}\n'
        '```toml\n[params]\nversion_menu = "Releases"\n```\n{{% /tab %}}\n{{< /tabpane >}}\n\n'
        "Docsy adds a version selector menu.\n",
        ['version_menu = "Releases"', "Docsy adds a version selector menu."],
    ),
    "hugo-fence-with-attributes": (
        '```go {file="layouts/_markup/render-image.html"}\nfunc main() {}\n```\n\nAfter.\n',
        ["func main() {}", "After."],
        ["file=", "go func"],  # the info string is no text
    ),
    "github-alert": (
        "> [!NOTE]\n> For content in CJK languages, set hasCJKLanguage.\n",
        ["For content in CJK languages, set hasCJKLanguage."],
    ),
    # Material for MkDocs: admonitions, collapsible blocks, tabs, snippets, icons, attributes.
    "mkdocs-admonition": (
        '!!! note "Phone numbers"\n\n    Call **555-0100** for help.\n\n'
        "??? tip\n\n    Collapsed by default.\n",
        ["Phone numbers", "Call 555-0100 for help.", "Tip", "Collapsed by default."],
    ),
    "mkdocs-tabs-in-a-definition": (
        "`mode`\n\n:   How the markup is parsed:\n\n"
        '    === "View changes"\n\n        ``` yaml\n        markdown_extensions:\n'
        "          - pymdownx.critic\n        ```\n",
        ["How the markup is parsed:", "View changes", "markdown_extensions:"],
    ),
    "mkdocs-snippets-icons-buttons": (
        '--8<-- "includes/mkdocs.md"\n\n'
        "[Subscribe to our newsletter](#){ .md-button } :material-check: Done\n",
        ["Subscribe to our newsletter Done"],
    ),
    "mkdocs-icon-with-attributes": (
        "| <!-- --> | Example  |\n| -------- | -------- |\n"
        '| :material-check:{ style="color: #4DB6AC" } __Clear__ | Add translations for German\n',
        ["Clear", "Add translations for German"],
        ["style=", "#4DB6AC"],
    ),
    "code-in-a-list": (
        "1. Install it:\n\n    ```sh\n    pip install mkdocs-material\n    ```\n\n2. Run it.\n",
        ["Install it:", "pip install mkdocs-material", "Run it."],
        ["sh pip"],  # the fence's language is no text
    ),
    # Jekyll: Liquid output and tags, a tag spanning lines, highlight and comment blocks.
    "jekyll-liquid": (
        "Ruby version {{ site.data.ruby.min_version }} or higher {% include docs_version_badge.html"
        ' version="4.1.1" %}.\n\n{% comment %}\nhidden words\n{% endcomment %}\n'
        "{% highlight ruby %}\ndef hello; end\n{% endhighlight %}\n",
        ["Ruby version or higher .", "def hello; end"],
    ),
    "obsidian-callout-and-wikilinks": (
        "> [!warning]- Careful here\n> The budget is tight.\n\n"
        "See [[Project Plan|the plan]], [[Roadmap#Q3]] and ![[diagram.png]].\n",
        ["Careful here The budget is tight.", "See the plan, Roadmap > Q3 and ."],
        ["diagram"],
    ),
    "docusaurus-mdx": (
        "import Tabs from '@theme/Tabs';\nexport const meta = {};\n\n"
        ":::note[Before you start]\n\nInstall Node {/* 18 or later */} first.\n\n:::\n\n"
        ":::danger\n\nDo not delete.\n\n:::\n",
        ["Before you start Install Node first.", "Danger Do not delete."],
        ["18 or later", "Tabs"],
    ),
}


def generator_of(case: str) -> str:
    """The site a case is cut from, by its name's prefix (`hugo-…`); else a plain folder."""
    prefix = case.split("-")[0]
    return prefix if prefix in ("hugo", "jekyll", "mkdocs", "docusaurus", "obsidian") else "plain"


@pytest.mark.parametrize("name", CASES)
def test_a_generators_syntax_never_reaches_the_text(name: str) -> None:
    source, visible, *rest = CASES[name]
    absent = ["hidden words", *(rest[0] if rest else [])]
    text = render_markdown(source, generator_of(name)).text
    flat = " ".join(text.split())
    for piece in visible:
        assert piece in flat, (piece, text)
    assert [mark for mark in SYNTAX if mark in flat] == [], text
    assert [piece for piece in absent if piece in flat] == []


def test_code_examples_keep_their_template_syntax() -> None:
    source = "```liquid\n<h1>{{ page.title }}</h1>\n{% for post in site.posts %}\n```\n"
    text = render_markdown(source).text
    assert "{{ page.title }}" in text and "{% for post in site.posts %}" in text


def test_plain_markdown_is_left_as_it_is() -> None:
    source = "# Anemia\n\nRed blood cells carry oxygen.\n\n- a list\n    - nested\n\n    code\n"
    assert plain_markdown(source) == source


def test_page_tags_become_links() -> None:
    hugo = 'A [ref]({{< ref "docs/guide.md" >}}), a [relref]({{% relref "/about" %}}).'
    assert render_markdown(hugo, "hugo").links == ["docs/guide.md", "/about"]
    jekyll = "[Jekyll link]({% link _docs/install.md %}), [post]({% post_url 2016-01-01-hi %})"
    assert render_markdown(jekyll, "jekyll").links == ["/_docs/install.md", "/_posts/2016-01-01-hi"]
    assert render_markdown("And [[Some Note|a wikilink]].", "obsidian").links == ["Some Note"]


def test_templates_are_text_where_no_generator_runs_them() -> None:
    # tldr's placeholders, and a plain folder's notes about templates, are what readers see.
    source = "- Compress a file:\n\n`gzip {{path/to/file}}`\n\nWrite {% raw %} in Liquid.\n"
    text = render_markdown(source, "plain").text
    assert "gzip {{path/to/file}}" in text and "Write {% raw %} in Liquid." in text


def test_a_prose_line_that_starts_with_import_stays() -> None:
    text = render_markdown("import the data from the files every day.\n").text
    assert text == "import the data from the files every day."


def test_shortcodes_whose_text_is_code_keep_it_as_code() -> None:
    # Docsy's tabs with `lang=`: TOML's `[[module.imports]]` is code, no wikilink; a link to a
    # template's value goes nowhere `check` follows.
    source = (
        '{{< tabpane >}}\n{{< tab header="hugo.toml" lang="toml" >}}\n[[module.imports]]\n'
        'path = "github.com/google/docsy"\n{{< /tab >}}\n{{< /tabpane >}}\n\n'
        "See the [repository]({{< param github_repo >}}/blob/main/package.json).\n"
    )
    rendered = render_markdown(source, "hugo")
    assert rendered.text == (
        '[[module.imports]]\npath = "github.com/google/docsy"\n\nSee the repository.'
    )
    assert rendered.links == ["#"]


def test_a_link_whose_text_has_brackets_is_no_wikilink() -> None:
    # cancer.gov's references: `[[PUBMED Abstract]](https://…)`.
    rendered = render_markdown(
        "Med Hist, 1988. [[PUBMED Abstract]](http://www.ncbi.nlm.nih.gov/pubmed/1)"
    )
    assert rendered.links == ["http://www.ncbi.nlm.nih.gov/pubmed/1"]
    assert rendered.text == "Med Hist, 1988. [PUBMED Abstract]"


def test_hugo_and_jekyll_run_their_templates_inside_code_too() -> None:
    # Hugo expands shortcodes in code blocks; `{{</* x */>}}` is how a page shows one.
    hugo = (
        "Use `{{</* alert */>}}` for notes.\n\n"
        "```sh\nhugo mod get github.com/google/docsy@{{% param version %}}\n```\n"
    )
    assert render_markdown(hugo, "hugo").text == (
        "Use {{< alert >}} for notes.\n\nhugo mod get github.com/google/docsy@"
    )
    # Jekyll runs Liquid everywhere but inside `{% raw %}`.
    jekyll = (
        "```liquid\n{% raw %}\n<h1>{{ page.title }}</h1>\n{% endraw %}\n```\n\n"
        "```ruby\nputs {{ site.time }}\n```\n\nInline {% raw %}{{ x }}{% endraw %} stays.\n"
    )
    assert render_markdown(jekyll, "jekyll").text == (
        "<h1>{{ page.title }}</h1>\n\nputs\n\nInline {{ x }} stays."
    )
    # Elsewhere a code block is shown as written.
    assert "{{ site.time }}" in render_markdown(jekyll, "mkdocs").text


def test_markdown_inside_html_containers_is_rendered() -> None:
    # Docsy's release notes: a checklist inside <details>, as Hugo renders it.
    source = (
        '<details>\n<summary class="h4"><span class="fa"></span> Checks</summary>\n\n'
        '<section class="td-checkbox-list-wrapper">\n\n### Sanity checks\n\n'
        "- [ ] **Build output**: see [the log](#log)\n\n</section>\n</details>\n"
    )
    rendered = render_markdown(source)
    assert rendered.text == "Checks\n\nSanity checks\n\n[ ] Build output: see the log"
    assert rendered.headings == ["Sanity checks"]


def test_a_liquid_output_across_lines_is_one_template() -> None:
    # Jekyll's 2013 release notes: `{{ site.repository` closed on the next line.
    source = "- Fix the server ([#1338]({{ site.repository\n}}/issues/1338))\n- Next\n"
    rendered = render_markdown(source, "jekyll")
    assert rendered.text == "Fix the server (#1338)\n\nNext"
    assert rendered.links == ["#"]


def test_a_reference_definition_whose_templated_target_is_on_the_next_line() -> None:
    # Docsy's release notes define their links to the repository so.
    source = (
        "See [base.js][].\n\n[base.js]:\n"
        "  <{{% param github_repo %}}/blob/main/theme/assets/js/base.js?plain=1>\n"
    )
    rendered = render_markdown(source, "hugo")
    assert rendered.text == "See base.js." and rendered.links == ["#"]
