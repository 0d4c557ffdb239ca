"""The site generator a knowledge base is written for, and what follows from it: which files are
pages, the keys `check` requires, and each page's published URL.

Hugo, MkDocs, Jekyll, Docusaurus and Obsidian are recognised from the files at the site's root
(the folder being indexed or one above it); anything else is a plain folder. One optional file at
either, `kbsearch.toml`, overrides what was found. What is read of a site's own configuration:
its base URL, its content folder (Hugo's mounts and `contentDir`, MkDocs' `docs_dir`), Jekyll's
collections and permalinks, MkDocs' `use_directory_urls`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..budgets import Budgets
from ..errors import DocumentError, SiteConfigError
from ..text.languages import ANALYSES, detect_text_language, normalize_tag
from .choices import GENERATORS
from .documents import DEFAULT_KEYS, PageKeys, decode_text, read_bytes, split_frontmatter
from .sources import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, ScannedFiles, Skipped, scan_source

CONFIG_FILE = "kbsearch.toml"
IGNORE_FILE = ".kbsearchignore"
# How far above the indexed folder a site's root is looked for (`content/en/docs` is three).
MAX_LEVELS_UP = 3

_HUGO_CONFIGS = tuple(
    f"{name}.{ext}" for name in ("hugo", "config") for ext in ("toml", "yaml", "yml", "json")
)
_DOCUSAURUS_CONFIGS = tuple(f"docusaurus.config.{ext}" for ext in ("js", "ts", "mjs", "cjs"))
# Jekyll's folders that hold templates, data and build output, never pages.
_JEKYLL_NOT_PAGES = frozenset(
    {"_includes", "_layouts", "_data", "_sass", "_site", "_plugins", "_drafts", "vendor"}
)
# Folders of dependencies, never pages wherever they are, and the folders at a site's root that
# its generator writes its output to.
_DEPENDENCIES = "node_modules"
_OUTPUT = {
    "hugo": ("public", "resources"),
    "mkdocs": ("site",),
    "jekyll": ("_site", ".jekyll-cache"),
    "docusaurus": ("build", ".docusaurus"),
}


@dataclass(frozen=True)
class Site:
    """A knowledge base as its generator publishes it. Plain data (it goes to worker processes)."""

    generator: str = "plain"
    root: str = ""  # the site's root: where its configuration is (absolute)
    source: str = ""  # the folder being indexed (absolute)
    content: str = ""  # the folder page URLs are made from (absolute)
    base_url: str = ""  # "https://example.org/docs/", or "" when unknown
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    ignore: tuple[str, ...] = ()  # gitignore lines: `.kbsearchignore` and the config's `ignore`
    required_keys: tuple[str, ...] = ("title",)
    keys: PageKeys = DEFAULT_KEYS
    drafts: bool = False  # index drafts too
    directory_urls: bool = True  # MkDocs' `use_directory_urls`
    # Jekyll: collection name -> permalink pattern, and the site's default permalink.
    collections: tuple[tuple[str, str], ...] = ()
    permalink: str = ""
    # Hugo: content folders (relative to `root`) and the URL prefix of each (`fr/`).
    content_dirs: tuple[tuple[str, str], ...] = ()
    static_dirs: tuple[str, ...] = ()  # folders of files published as they are (absolute)
    # The knowledge base's language (`kbsearch.toml`), which every page without its own is in.
    language: str = ""
    # The language the generator's configuration gives pages without one (Hugo's
    # `defaultContentLanguage`, MkDocs' `theme.language`, Jekyll's `lang`), when it says.
    default_language: str = ""
    # Hugo: the content folders of each language (relative to `root`) and its tag.
    language_dirs: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """A digest of everything that shapes the index: a change rebuilds it."""
        data = json.dumps([getattr(self, f.name) for f in fields(self) if f.name != "keys"])
        data += json.dumps(self.keys.__dict__, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """The site in words, as the index summary says it: "hugo site (https://…)"."""
        if self.generator == "plain":
            return f"plain folder ({self.base_url})" if self.base_url else "plain folder"
        return f"{self.generator} site ({self.base_url or 'no base URL'})"


PLAIN = Site()  # a folder of Markdown files, no generator's rules, no URLs


# ---------------------------------------------------------------------------------------------
# Recognising a site


def load_site(
    source: str | os.PathLike[str],
    generator: str | None = None,
    base_url: str | None = None,
) -> Site:
    """The site `source` belongs to: its generator (recognised, or as named), its configuration,
    and `kbsearch.toml` over both; `base_url` (an option) over everything."""
    folder = Path(source).resolve()
    if generator is not None and generator not in GENERATORS:
        raise SiteConfigError(f"unknown site kind {generator!r}: one of {', '.join(GENERATORS)}")
    user = _user_config(folder)
    if generator is None and "site" in user:
        generator = str(user["site"])
        if generator not in GENERATORS:
            where = user["_path"]
            raise SiteConfigError(f"{where}: unknown site {generator!r}: one of {GENERATORS}")
    found, config_root = _recognise(folder, generator)
    root = config_root or folder
    reader = _READERS.get(found) if config_root is not None else None
    site = Site(generator=found, root=str(root), source=str(folder), content=str(root))
    if reader is not None:
        try:
            site = reader(site, root)
        except (OSError, ValueError) as exc:
            raise SiteConfigError(
                f"cannot read the {found} configuration in {root}: {exc}"
            ) from None
    if found == "plain" or found == "obsidian":
        site = replace(site, content=str(folder))
    site = _apply_user(site, user)
    if base_url is not None:
        site = replace(site, base_url=base_url)
    if site.base_url and not site.base_url.endswith("/"):
        site = replace(site, base_url=site.base_url + "/")
    return replace(site, ignore=site.ignore + _ignore_lines(folder))


def _recognise(folder: Path, named: str | None) -> tuple[str, Path | None]:
    """(generator, root): the first of `folder` and its parents that holds a site's files
    (root None: none does, and `named`, if given, is taken without a configuration)."""
    candidates = [folder, *list(folder.parents)[:MAX_LEVELS_UP]]
    for candidate in candidates:
        kind = _generator_at(candidate)
        if kind is not None and (named is None or kind == named):
            return kind, candidate
        if (candidate / ".git").exists():
            break
    return named or "plain", None


def _generator_at(folder: Path) -> str | None:
    """The generator whose configuration `folder` holds, if any."""

    def has(*names: str) -> bool:
        return any((folder / name).exists() for name in names)

    if has(*_DOCUSAURUS_CONFIGS):
        return "docusaurus"
    if has("mkdocs.yml", "mkdocs.yaml"):
        return "mkdocs"
    if has(*(f"hugo.{ext}" for ext in ("toml", "yaml", "yml", "json"))) or any(
        (folder / "config" / "_default" / name).exists() for name in _HUGO_CONFIGS
    ):
        return "hugo"
    if has("_config.yml", "_config.yaml"):
        return "jekyll"
    if has("config.toml", "config.yaml") and has("content", "archetypes"):
        return "hugo"
    if (folder / ".obsidian").is_dir():
        return "obsidian"
    return None


def _user_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SiteConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        config = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SiteConfigError(f"{path} is not valid TOML: {exc}") from None
    known = {
        "site", "base_url", "include", "exclude", "ignore", "required_keys", "drafts", "keys",
        "language",
    }  # fmt: skip
    unknown = sorted(set(config) - known)
    if unknown:
        raise SiteConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    config["_path"] = str(path)
    return config


def _apply_user(site: Site, config: Mapping[str, Any]) -> Site:
    """`kbsearch.toml` over what the site's own configuration said."""
    where = config.get("_path", CONFIG_FILE)

    def texts(name: str, value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise SiteConfigError(f"{where}: `{name}` must be text or a list of texts")
        return tuple(items)

    changes: dict[str, Any] = {}
    if "base_url" in config:
        if not isinstance(config["base_url"], str):
            raise SiteConfigError(f"{where}: `base_url` must be text (an address)")
        changes["base_url"] = config["base_url"]
    for name in ("include", "exclude", "required_keys"):
        if name in config:
            changes[name] = texts(name, config[name])
    if "ignore" in config:
        changes["ignore"] = site.ignore + texts("ignore", config["ignore"])
    if "language" in config:
        tag = normalize_tag(config["language"]) if isinstance(config["language"], str) else None
        if tag is None:
            raise SiteConfigError(f"{where}: `language` must be a language tag (en, de, pt-BR)")
        changes["language"] = tag
    if "drafts" in config:
        if not isinstance(config["drafts"], bool):
            raise SiteConfigError(f"{where}: `drafts` must be true or false")
        changes["drafts"] = config["drafts"]
    keys = config.get("keys", {})
    if not isinstance(keys, dict):
        raise SiteConfigError(f"{where}: `[keys]` must be a table of role = [key, ...]")
    roles = {f.name for f in fields(PageKeys)}
    for role in keys:
        if role not in roles:
            raise SiteConfigError(f"{where}: unknown key role {role!r}: one of {sorted(roles)}")
    if keys:
        changes["keys"] = replace(
            site.keys, **{role: texts(f"keys.{role}", v) for role, v in keys.items()}
        )
    return replace(site, **changes)


def _ignore_lines(folder: Path) -> tuple[str, ...]:
    try:
        text = (folder / IGNORE_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    return tuple(line for line in text.splitlines() if line.strip())


# ---------------------------------------------------------------------------------------------
# Reading each generator's configuration


@lru_cache(maxsize=1)
def _config_loader() -> type:
    """A YAML loader for site configurations: MkDocs' `!!python/name:` and `!ENV` tags are read
    as plain values, never run."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def plain(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("", plain)
    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", plain)
    return Loader


def _read_config(path: Path) -> dict[str, Any]:
    """A TOML, YAML or JSON configuration file as a mapping ({} when it holds something else)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".toml":
        data: Any = tomllib.loads(text)
    elif path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        try:
            data = yaml.load(text, Loader=_config_loader())
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name}: {str(exc).splitlines()[0]}") from None
    return data if isinstance(data, dict) else {}


def _hugo(site: Site, root: Path) -> Site:
    config: dict[str, Any] = {}
    files = [root / name for name in _HUGO_CONFIGS]
    files += [root / "config" / "_default" / name for name in _HUGO_CONFIGS]
    for path in files:
        if path.is_file():
            for key, value in _read_config(path).items():
                config.setdefault(key, value)
    lower = {str(k).lower(): v for k, v in config.items()}
    base = str(lower.get("baseurl") or "")
    declared = str(lower.get("defaultcontentlanguage") or "")
    default_language = declared or "en"
    in_subdir = bool(lower.get("defaultcontentlanguageinsubdir"))
    dirs: list[tuple[str, str]] = []
    language_dirs: list[tuple[str, str]] = []
    languages = lower.get("languages") if isinstance(lower.get("languages"), dict) else {}
    for code, settings in (languages or {}).items():
        if isinstance(settings, dict) and settings.get("contentDir"):
            prefix = "" if code == default_language and not in_subdir else f"{code}/"
            dirs.append((str(settings["contentDir"]).strip("/"), prefix))
            tag = normalize_tag(settings.get("languageCode") or code)
            if tag:
                language_dirs.append((str(settings["contentDir"]).strip("/"), tag))
    module = lower.get("module") if isinstance(lower.get("module"), dict) else {}
    for mount in (module or {}).get("mounts") or []:
        if not isinstance(mount, dict) or str(mount.get("target", "")).strip("/") != "content":
            continue
        src = str(mount.get("source", "")).strip("/")
        if not src or src.startswith(".."):
            continue
        sites = mount.get("sites") or {}
        langs = (sites.get("matrix") or {}).get("languages") if isinstance(sites, dict) else None
        lang = mount.get("lang") or (langs[0] if isinstance(langs, list) and langs else None)
        prefix = "" if not lang or (lang == default_language and not in_subdir) else f"{lang}/"
        dirs.append((src, prefix))
        if lang and (tag := normalize_tag(lang)):
            language_dirs.append((src, tag))
    dirs.append((str(lower.get("contentdir") or "content").strip("/"), ""))
    static = [str(root / "static"), str(root / "assets")]
    content = root / dirs[-1][0]
    return replace(
        site,
        base_url=base,
        content=str(content),
        content_dirs=tuple(dict.fromkeys(dirs)),
        static_dirs=tuple(static),
        default_language=normalize_tag(declared) or "",
        language_dirs=tuple(dict.fromkeys(language_dirs)),
    )


def _mkdocs(site: Site, root: Path) -> Site:
    name = "mkdocs.yml" if (root / "mkdocs.yml").is_file() else "mkdocs.yaml"
    config = _read_config(root / name)
    docs = root / str(config.get("docs_dir") or "docs")
    return replace(
        site,
        base_url=str(config.get("site_url") or ""),
        content=str(docs),
        directory_urls=config.get("use_directory_urls", True) is not False,
        static_dirs=(str(docs),),
        default_language=_declared_language((config.get("theme") or {}), "language"),
    )


def _jekyll(site: Site, root: Path) -> Site:
    name = "_config.yml" if (root / "_config.yml").is_file() else "_config.yaml"
    config = _read_config(root / name)
    url = str(config.get("url") or "").rstrip("/")
    path = str(config.get("baseurl") or "").strip("/")
    base = f"{url}/{path}/" if path else f"{url}/"
    base = "" if base == "/" else base  # neither: no base URL
    collections: dict[str, str] = {"posts": "/:categories/:year/:month/:day/:title:output_ext"}
    raw = config.get("collections") or {}
    items = raw.items() if isinstance(raw, dict) else ((c, {}) for c in raw)
    for collection, settings in items:
        pattern = settings.get("permalink") if isinstance(settings, dict) else None
        collections[str(collection)] = str(pattern or "/:collection/:path:output_ext")
    permalink = str(config.get("permalink") or "date")
    return replace(
        site,
        base_url=base,
        content=str(root),
        collections=tuple(collections.items()),
        permalink=permalink,
        static_dirs=(str(root),),
        default_language=_declared_language(config, "lang"),
    )


def _declared_language(config: object, key: str) -> str:
    """The language tag a configuration table declares under `key`, or ""."""
    value = config.get(key) if isinstance(config, dict) else None
    return (normalize_tag(value) or "") if isinstance(value, str) else ""


_JS_VALUE = r"""\b{key}\s*:\s*['"`]([^'"`]*)['"`]"""


def _docusaurus(site: Site, root: Path) -> Site:
    name = next(n for n in _DOCUSAURUS_CONFIGS if (root / n).is_file())
    text = (root / name).read_text(encoding="utf-8", errors="replace")
    url = re.search(_JS_VALUE.format(key="url"), text)
    base_path = re.search(_JS_VALUE.format(key="baseUrl"), text)
    base = (url.group(1).rstrip("/") if url else "") + (base_path.group(1) if base_path else "/")
    return replace(
        site,
        base_url=base if url else "",
        content=str(root),
        include=(*DEFAULT_INCLUDE, "*.mdx"),
        static_dirs=(str(root / "static"),),
    )


_READERS: dict[str, Callable[[Site, Path], Site]] = {
    "hugo": _hugo,
    "mkdocs": _mkdocs,
    "jekyll": _jekyll,
    "docusaurus": _docusaurus,
}


# ---------------------------------------------------------------------------------------------
# Which files are pages


def content_path(site: Site, doc_id: str) -> str | None:
    """A page's path under the site's content folder (`docs/x.md`), None when it lies outside."""
    full = posixpath.join(Path(site.source).as_posix(), doc_id)
    content = Path(site.content).as_posix().rstrip("/") + "/"
    return full[len(content) :] if full.startswith(content) else None


def not_a_page(site: Site, doc_id: str) -> str | None:
    """Why the file `doc_id` is not a page of `site` from its path alone (None: it may be one):
    fragments, includes, templates and generated folders."""
    rel = content_path(site, doc_id)
    if _DEPENDENCIES in doc_id.split("/")[:-1] or any(
        doc_id.startswith(folder + "/") for folder in _output_ids(site)
    ):
        return "in a folder of dependencies or build output"
    if rel is None:
        return None if site.generator in ("plain", "obsidian") else "outside the site's content"
    parts = rel.split("/")
    name, dirs = parts[-1], parts[:-1]
    if site.generator == "hugo":
        if any(d.startswith("_") for d in dirs) or (name.startswith("_") and not _is_index(name)):
            return "a fragment (a `_` folder or file): Hugo does not publish it"
    elif site.generator == "jekyll":
        collections = {f"_{c}" for c, _ in site.collections}
        if dirs and dirs[0] in _JEKYLL_NOT_PAGES:
            return f"in `{dirs[0]}`: templates and data, not pages"
        if dirs and dirs[0].startswith("_") and dirs[0] not in collections:
            return f"in `{dirs[0]}`, which is not a collection in `_config.yml`"
    elif site.generator == "docusaurus" and any(p.startswith("_") for p in parts):
        return "a partial (`_` name): Docusaurus does not publish it"
    return None


# Folders of dated posts, each generator's: Jekyll's `_posts`, MkDocs Material's and
# Docusaurus' `blog`, Hugo's usual `blog`/`posts`/`news` sections.
POST_FOLDERS = frozenset({"_posts", "blog", "posts", "news"})
# A post's words count this much of a documentation page's: a release note or announcement
# mentions what the page about it explains (measured on the documentation sets' known items).
POST_WEIGHT = 0.5


def page_weight(site: Site, doc_id: str) -> float:
    """How much a page's words count in ranking: POST_WEIGHT for a post, else 1."""
    rel = content_path(site, doc_id) or doc_id
    folders = rel.casefold().split("/")[:-1]
    return POST_WEIGHT if POST_FOLDERS.intersection(folders) else 1.0


@lru_cache(maxsize=8)
def _output_ids(site: Site) -> frozenset[str]:
    """The ids (under the indexed folder) of the folders the generator writes its site to."""
    source = Path(site.source)
    found = set()
    for name in _OUTPUT.get(site.generator, ()):
        folder = Path(site.root) / name
        if folder.is_relative_to(source) and folder != source:
            found.add(folder.relative_to(source).as_posix())
    return frozenset(found)


def _is_index(name: str) -> bool:
    return posixpath.splitext(name)[0] in ("_index", "index")


def leaf_bundle_resource(site: Site, doc_id: str, exists: Callable[[str], bool]) -> bool:
    """Whether `doc_id` is a resource of a Hugo leaf bundle (a folder with an `index.md`): a
    file its page includes, not a page. `exists(id)` tells whether a file of that id was found."""
    if site.generator != "hugo":
        return False
    folders = doc_id.split("/")[:-1]
    name = doc_id.rsplit("/", 1)[-1]
    for depth in range(len(folders), 0, -1):
        folder = "/".join(folders[:depth])
        if depth == len(folders) and _is_index(name):
            continue
        if any(exists(f"{folder}/index{ext}") for ext in (".md", ".markdown", ".html")):
            return True
    return False


def scan_site(
    site: Site,
    source: str | os.PathLike[str],
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    follow_links: bool = False,
) -> tuple[ScannedFiles, list[Skipped], int]:
    """The site's pages under `source` (its folder, named as the caller did: paths are shown so):
    `scan_source` without fragments, includes, ignored files and Hugo bundles' resources; the
    problems found, and how many files were left out."""
    ignored = _ignore_test(site)
    outputs = _output_ids(site)
    left_out = 0

    def leave_out(doc_id: str) -> bool:
        """Ignored files and folders, and the folders of dependencies or build output, are
        never walked; a fragment is a file the site holds, so it is counted."""
        nonlocal left_out
        folder = doc_id.endswith("/")
        if ignored is not None and ignored(doc_id):
            left_out += not folder
            return True
        if folder:
            name = doc_id.rstrip("/")
            return name.rsplit("/", 1)[-1] == _DEPENDENCIES or name in outputs
        if not_a_page(site, doc_id) is not None:
            left_out += 1
            return True
        return False

    files, problems = scan_source(
        Path(source),
        site.include if include is None else include,
        site.exclude if exclude is None else exclude,
        follow_links,
        leave_out,
    )
    if site.generator == "hugo":
        ids = {file.id for file in files}
        kept = [f for f in files if not leaf_bundle_resource(site, f.id, ids.__contains__)]
        left_out += len(files) - len(kept)
        if len(kept) < len(files):
            found = ((f.id, f.size, f.mtime_ns) for f in kept)
            files = ScannedFiles(Path(source), found, files.unlisted)
    return files, problems, left_out


def _ignore_test(site: Site) -> Callable[[str], bool] | None:
    """A test of an id (a folder's ends with `/`) against the ignore lines; None for none."""
    if not site.ignore:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(site.ignore).match_file


# ---------------------------------------------------------------------------------------------
# Includes

# The generators whose pages include other files (Hugo's `readfile`/`include` shortcodes,
# MkDocs' snippets, Jekyll's `include_relative`).
INCLUDING = ("hugo", "mkdocs", "jekyll")


@dataclass
class Includes:
    """Reads what one page includes, from inside the site's root only and within `budget`
    bytes in all, and remembers each file read (its size and time: a change re-reads the page)."""

    site: Site
    page: str  # the page's path
    budget: int
    used: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (size, mtime_ns)
    data: list[bytes] = field(default_factory=list)

    def __call__(self, target: str) -> str | None:
        if "://" in target or not target.strip():
            return None
        root = os.path.realpath(self.site.root)
        here = os.path.dirname(os.path.abspath(self.page))
        bases = [self.site.content, self.site.root]
        if not target.startswith("/"):
            bases.insert(0 if self.site.generator != "mkdocs" else 2, here)
        for base in bases:
            path = os.path.realpath(os.path.join(base, target.lstrip("/")))
            if not path.startswith(root + os.sep) or not os.path.isfile(path):
                continue
            return self._read(path)
        return None

    def _read(self, path: str) -> str | None:
        """The file's text as a page's (`read_bytes`: never a pipe, never past what the page's
        budget has left), its frontmatter left out; None when it cannot be one."""
        room = self.budget - sum(len(d) for d in self.data)
        try:
            info = os.stat(path)  # before the read: a later change re-reads the page
            if room <= 0:
                return None
            data = read_bytes(Path(path), Budgets(max_size_mb=room / 1_000_000))
            text = decode_text(data, path)
        except (OSError, DocumentError):
            return None
        self.used[path] = (info.st_size, info.st_mtime_ns)
        self.data.append(data)
        if text.startswith(("---\n", "+++\n")):
            with contextlib.suppress(DocumentError):  # not frontmatter after all: all of it
                text = split_frontmatter(text, path)[1]
        return text


def includes_changed(recorded: str) -> bool:
    """Whether a file a page included (`recorded` as `record` wrote it) changed or went."""
    for line in recorded.split("\n"):
        path, _, stamp = line.rpartition("\t")
        try:
            info = os.stat(path)
        except OSError:
            return True
        if stamp != f"{info.st_size}:{info.st_mtime_ns}":
            return True
    return False


def includes_of(site: Site, page: str, budget: int) -> Includes | None:
    """The reader of what `page` includes, for the generators whose pages include files."""
    return Includes(site, page, budget) if site.generator in INCLUDING else None


def record(includes: Includes | None) -> str:
    """The files a page included with their size and time, a line each ("" for none)."""
    if includes is None:
        return ""
    return "\n".join(f"{p}\t{size}:{mtime}" for p, (size, mtime) in sorted(includes.used.items()))


# ---------------------------------------------------------------------------------------------
# Published URLs


def page_url(site: Site, doc_id: str, metadata: Mapping[str, Any]) -> str:
    """Where the page is published: its frontmatter `url` when that is a whole address, else the
    generator's rule from the base URL; "" when neither says."""
    own = str(metadata.get("url") or "").strip()
    if own.startswith(("http://", "https://")):
        return own
    rel = content_path(site, doc_id)
    if rel is None:
        return ""
    path = _site_path(site, rel, metadata)
    if path is None:
        return ""
    if not site.base_url:
        return "/" + path if site.generator not in ("plain", "obsidian") else ""
    return site.base_url + path


def _site_path(site: Site, rel: str, meta: Mapping[str, Any]) -> str | None:
    """The page's path below the base URL, without a leading `/`."""
    own = str(meta.get("url") or "").strip()
    stem, _ = posixpath.splitext(rel)
    folder, name = posixpath.split(stem)
    if site.generator == "hugo":
        if own:
            return _url_path(own)
        # `rel` is under the main content folder; a mount or a language's folder maps another.
        full = posixpath.join(Path(site.content).relative_to(site.root).as_posix(), rel)
        prefix = ""
        for content_dir, lang_prefix in sorted(site.content_dirs, key=lambda d: -len(d[0])):
            if full.startswith(content_dir + "/"):
                full, prefix = full[len(content_dir) + 1 :], lang_prefix
                break
        folder, name = posixpath.split(posixpath.splitext(full)[0])
        slug = str(meta.get("slug") or "").strip()
        path = "/".join(p for p in ([folder] if _is_index(name) else [folder, slug or name]) if p)
        return _url_path(prefix + (path.lower().replace(" ", "-") + "/" if path else ""))
    if site.generator == "mkdocs":
        if name in ("index", "README"):
            return _url_path(folder + "/" if folder else "")
        if site.directory_urls:
            return _url_path(f"{stem}/")
        return _url_path(f"{stem}.html")
    if site.generator == "jekyll":
        return _jekyll_path(site, rel, meta)
    if site.generator == "docusaurus":
        return _docusaurus_path(rel, meta)
    return _url_path(rel)


def _url_path(path: str) -> str:
    return quote(path.lstrip("/"), safe="/#:@!$&'()*+,;=-._~")


_POST_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(.+)$")


def _jekyll_path(site: Site, rel: str, meta: Mapping[str, Any]) -> str:
    stem, _ = posixpath.splitext(rel)
    folder, name = posixpath.split(stem)
    first = rel.split("/", 1)[0]
    collections = dict(site.collections)
    collection = first[1:] if first.startswith("_") and first[1:] in collections else None
    date = _POST_NAME.match(name)
    values = {
        "collection": collection or "",
        "path": stem.split("/", 1)[1] if collection else stem,
        "name": name,
        "basename": name,
        "title": str(meta.get("slug") or (date.group(4) if date else name)),
        "year": date.group(1) if date else "",
        "month": date.group(2) if date else "",
        "day": date.group(3) if date else "",
        "i_month": str(int(date.group(2))) if date else "",
        "i_day": str(int(date.group(3))) if date else "",
        "categories": "/".join(_as_list(meta.get("categories"))),
        "output_ext": ".html",
    }
    own = str(meta.get("permalink") or "").strip()
    if own:
        pattern = own
    elif collection:
        pattern = collections[collection]
    elif name == "index":
        return _url_path(folder + "/" if folder else "")
    else:
        pattern = "/:path/" if site.permalink == "pretty" else "/:path:output_ext"
    if pattern == "pretty":
        pattern = "/:collection/:path/" if collection else "/:path/"
    path = re.sub(r":(\w+)", lambda m: values.get(m.group(1), m.group(0)), pattern)
    path = re.sub(r"/+", "/", path)
    if path.endswith("/index.html"):
        path = path[: -len("index.html")]
    return _url_path(path)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).lower() for v in value]
    return str(value).lower().split() if value else []


_NUMBER_PREFIX = re.compile(r"^\d+[-_.]")


def _docusaurus_path(rel: str, meta: Mapping[str, Any]) -> str:
    stem, _ = posixpath.splitext(rel)
    parts = [_NUMBER_PREFIX.sub("", p) for p in stem.split("/")]
    section, rest = parts[0], parts[1:]
    slug = str(meta.get("slug") or "").strip()
    if section == "blog":
        name = _POST_NAME.match(rest[-1]) if rest else None
        rest = [*rest[:-1], name.group(4)] if name else rest
    elif section == "src" and rest[:1] == ["pages"]:
        section, rest = "", rest[1:]
    if slug.startswith("/"):
        return _url_path(f"{section}{slug}")  # an absolute slug is under its section's route
    if slug:
        rest = [*rest[:-1], slug]
    if rest and (rest[-1] in ("index", "README") or (len(rest) > 1 and rest[-1] == rest[-2])):
        rest = rest[:-1]
    return _url_path("/".join(p for p in (section, *rest) if p))


# ---------------------------------------------------------------------------------------------
# A page's language

# Folders whose child folders may be named after a language (`content/fr/`, `docs/de/`,
# `i18n/ja/`); a language folder at the knowledge base's top counts too, and `pages.<tag>` (tldr)
# anywhere.
_LANGUAGE_PARENTS = frozenset({"content", "docs", "i18n"})
_PAGES_FOLDER = re.compile(r"pages\.([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)")


def _language_name(name: str) -> str | None:
    """`name` as a language tag, if it is one of a language kbsearch analyses (`fr`, `pt-BR`,
    `pt_BR`, `zh-Hans`): a folder or suffix named otherwise is not taken for a language."""
    tag = normalize_tag(name) if 2 <= len(name) <= 16 else None
    if tag is None or not name[:2].isalpha():
        return None
    primary = tag.split("-")[0]
    return tag if primary in ANALYSES and primary != "und" and len(primary) == 2 else None


@lru_cache(maxsize=256)
def _language_folders(folder: str) -> int:
    """How many of a folder's subfolders are named after a language."""
    try:
        with os.scandir(folder) as entries:
            return sum(1 for e in entries if e.is_dir() and _language_name(e.name) is not None)
    except OSError:
        return 0


def language_by_convention(site: Site, path: str, source: str) -> tuple[str, str] | None:
    """(tag, how) of a page's language as the site's layout says it: a Hugo language's content
    folder ("config"), a language folder ("folder"), or a suffix (`page.fr.md`: "suffix")."""
    found = _convention(site, path, source)
    return None if found is None else found[:2]


def translation_key(site: Site, path: str, source: str, metadata: Mapping[str, Any]) -> str:
    """What a page's translations share: the key its frontmatter gives them (Hugo's
    `translationKey`, `translation_key`, Jekyll's `lang_ref`), else its path with the
    language's folder or suffix left out (`content/fr/docs/x.md` and `content/en/docs/x.md`:
    `docs/x.md`; `pages.es/common/tar.md`: `pages/common/tar.md`)."""
    for key in ("translationKey", "translation_key", "lang_ref"):
        value = metadata.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return "key:" + str(value).strip()
    found = _convention(site, path, source)
    rest = found[2] if found else _parts(site, path, source)
    return "path:" + "/".join(rest)


def _parts(site: Site, path: str, source: str) -> tuple[str, ...]:
    """The parts of a page's path inside the site's root, else inside the source folder."""
    full, source = Path(os.path.abspath(path)), os.path.abspath(source)
    base = site.root if site.root and full.is_relative_to(site.root) else Path(source)
    return full.relative_to(base).parts if full.is_relative_to(base) else full.parts[-1:]


def _convention(site: Site, path: str, source: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(tag, how, the path's parts without the language) as the site's layout tells them."""
    full = Path(os.path.abspath(path))
    if site.root and site.language_dirs:
        with contextlib.suppress(ValueError):
            rel = full.relative_to(site.root).as_posix()
            for folder, declared in sorted(site.language_dirs, key=lambda d: -len(d[0])):
                if rel.startswith(folder + "/"):
                    return declared, "config", tuple(rel[len(folder) + 1 :].split("/"))
    parts = _parts(site, path, source)
    base = site.root if site.root and full.is_relative_to(site.root) else os.path.abspath(source)
    for depth, part in enumerate(parts[:-1]):
        named = _PAGES_FOLDER.fullmatch(part)
        tag = _language_name(named.group(1)) if named else None
        if tag is not None:
            return tag, "folder", (*parts[:depth], "pages", *parts[depth + 1 :])
        tag = _language_name(part)
        if tag is None:
            continue
        # At the top, `it/` or `no/` may be no language: there it takes two language folders.
        if (depth > 0 and parts[depth - 1].lower() in _LANGUAGE_PARENTS) or (
            depth == 0 and _language_folders(str(base)) >= 2
        ):
            return tag, "folder", parts[:depth] + parts[depth + 1 :]
    stem, extension = posixpath.splitext(parts[-1]) if parts else ("", "")
    name, dot, suffix = stem.rpartition(".")
    tag = _language_name(suffix) if dot else None
    if tag is None:
        return None
    return tag, "suffix", (*parts[:-1], name + extension)


def page_language(
    site: Site, path: str, source: str, declared: str | None, text: str
) -> tuple[str, str]:
    """(tag, how) of a page's language, the first found: its frontmatter (`declared`), the
    knowledge base's `kbsearch.toml`, the site's layout (`language_by_convention`), the
    generator's default language (English, as each generator's own default, when its
    configuration says none: a site declares its pages' languages), else, in a plain folder or
    an Obsidian vault, detected from `text` ("detected"); English ("default") when nothing
    tells."""
    tag = normalize_tag(declared) if declared else None
    if tag:
        return tag, "frontmatter"
    if site.language:
        return site.language, "config"
    found = language_by_convention(site, path, source)
    if found:
        return found
    if site.default_language:
        return site.default_language, "config"
    if site.generator not in ("plain", "obsidian"):
        return "en", "default"  # a generator's own default: a page's language is declared
    detected = detect_text_language(text)
    if detected:
        return detected, "detected"
    return "en", "default"
