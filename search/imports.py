"""Import Whoosh without two standard-library trees it loads at import time and a search never uses.

`whoosh.compat` imports `urllib.request` (for a `urlretrieve` nothing in Whoosh calls), and
`whoosh.reading` imports the `cached_property` package, which imports `asyncio`. Together they
pull in `http.client`, `email`, `ssl` and `asyncio`: ~40 of the ~170 ms of a cold `kbsearch query`.
While Whoosh's modules are first imported, stand-ins take those two names in `sys.modules`; they
are removed right after, so any later `import urllib.request` or `import cached_property` gets the
real module. Only done while one thread runs, so no other thread can import a stand-in.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The Whoosh modules that import the two trees, directly or through their own imports, and the
# modules stood in for while they are imported.
IMPORTERS = ("whoosh.compat", "whoosh.reading")
STANDS_IN_FOR = ("urllib.request", "cached_property")


def _urlretrieve(*args: Any, **kwargs: Any) -> Any:
    """`whoosh.compat.urlretrieve`, if anything ever calls it: the real one, imported then."""
    import urllib.request

    return urllib.request.urlretrieve(*args, **kwargs)


def _stand_ins() -> dict[str, types.ModuleType]:
    """Module name -> a stand-in offering just what Whoosh imports from it."""
    request = types.ModuleType("urllib.request", "kbsearch's stand-in while Whoosh is imported")
    request.urlretrieve = _urlretrieve  # type: ignore[attr-defined]
    # `cached_property.cached_property` only differs from functools' in also wrapping coroutine
    # functions, and Whoosh's one use (`SegmentReader.deleted_docs_set`) is a plain method.
    cached = types.ModuleType("cached_property", "kbsearch's stand-in while Whoosh is imported")
    cached.cached_property = functools.cached_property  # type: ignore[attr-defined]
    return dict(zip(STANDS_IN_FOR, (request, cached), strict=True))


@contextmanager
def _standing_in(stand_ins: dict[str, types.ModuleType]) -> Iterator[None]:
    """Put each stand-in whose real module is not loaded yet into `sys.modules`, then remove it."""
    placed = {name: module for name, module in stand_ins.items() if name not in sys.modules}
    sys.modules.update(placed)
    try:
        yield
    finally:
        for name, module in placed.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


def import_whoosh() -> None:
    """Import Whoosh's modules lean, unless Whoosh is loaded already or another thread runs
    (which could import a stand-in meanwhile): then the caller's own import does it plainly."""
    if "whoosh.reading" in sys.modules or threading.active_count() > 1:
        return
    with _standing_in(_stand_ins()):
        for name in IMPORTERS:
            importlib.import_module(name)
