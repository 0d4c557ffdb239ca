"""The cheapest honest reading of a folder of Markdown pages, as a user's own script does it.

Frontmatter split off by a pattern, the title from its `title` line (else the first `#`
heading, else the file name), the raw Markdown as the body, every `.md`/`.markdown` file a page.
The baselines beside kbsearch index this: `kbsearch eval --compare` and `benchmarks/realspeed.py`
(which runs this file's source in a bare interpreter, so it imports nothing but the stdlib).
"""

import os
import re
from collections.abc import Iterator

FRONTMATTER = re.compile(r"\A(?:---|\+\+\+)\s*\n(.*?)\n(?:---|\+\+\+)\s*\n", re.S)
TITLE = re.compile(r"^title\s*[:=]\s*[\"']?(.*?)[\"']?\s*$", re.M)
HEADING = re.compile(r"^#\s+(.+)$", re.M)


def raw_pages(folder: str) -> Iterator[tuple[str, str, str]]:
    """(path relative to `folder`, title, raw Markdown body) of each Markdown file, sorted."""
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith((".md", ".markdown")):
                continue
            path = os.path.join(top, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            found = FRONTMATTER.match(text)
            meta, body = (found.group(1), text[found.end() :]) if found else ("", text)
            title = TITLE.search(meta) or HEADING.search(body)
            yield (os.path.relpath(path, folder), title.group(1) if title else name, body)
