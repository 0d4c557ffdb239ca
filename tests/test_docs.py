"""The README and the guide as a user meets them: every shell and Python example runs as
written against seeds/, every relative link resolves, the README stays short, and
ARCHITECTURE.md names every module.

Shell examples are the ```sh blocks (```text blocks are synopses and samples, ```cron and
```ini are files). Each block runs line by line in bash from the checkout, with its own index
and runtime folder; a line ending in `&` starts a server that the block's later lines may need
to wait for, and that is stopped when the block ends. A line may exit 0 or 1 (grep's "nothing
found", kbsearch's "documents skipped"): 2 and up, or a traceback, fail. The examples' port 8080
is swapped for a free one, so a busy 8080 on the test machine cannot fail them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT
from .web_server import free_port

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "ARCHITECTURE.md"]
RETRY_SECONDS = 60  # a line after a server was started may wait this long for it to answer


def shell_blocks() -> Iterator[tuple[str, list[str]]]:
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for number, block in enumerate(re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M), 1):
            lines = [line for line in block.splitlines() if line.strip()]
            yield f"{path.relative_to(ROOT)}#{number}", lines


BLOCKS = dict(shell_blocks())


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What a user's shell has after `make install` and `kbsearch index seeds/`: kbsearch on
    the PATH; here its own index and runtime folder, so the examples touch nothing else."""
    base = tmp_path_factory.mktemp("docs")
    runtime = base / "run"
    runtime.mkdir(mode=0o700)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "KBSEARCH_INDEX": str(base / "index"),
        "XDG_RUNTIME_DIR": str(runtime),
        "NO_COLOR": "1",
    }
    subprocess.run(["kbsearch", "index", "seeds/", "-q"], cwd=ROOT, env=env, check=True)
    return env


def test_there_are_examples_to_run() -> None:
    assert len(BLOCKS) >= 6
    assert any("serve --http" in line for lines in BLOCKS.values() for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("name", BLOCKS)
def test_shell_examples_run_as_written(name: str, environment: dict[str, str]) -> None:
    background: list[subprocess.Popen[bytes]] = []
    port = str(free_port())
    try:
        for line in BLOCKS[name]:
            command = line.split(" #")[0].strip().replace("8080", port)
            if command.endswith("&"):
                background.append(
                    subprocess.Popen(
                        ["bash", "-c", command.removesuffix("&")],
                        cwd=ROOT,
                        env=environment,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
                continue
            deadline = time.monotonic() + (RETRY_SECONDS if background else 0)
            while True:
                done = subprocess.run(
                    ["bash", "-o", "pipefail", "-c", command],
                    cwd=ROOT,
                    env=environment,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                if done.returncode in (0, 1) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)  # the server it asks is still opening the index
            assert done.returncode in (0, 1), f"{command}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr, done.stderr
            assert done.stdout.strip() or done.stderr.strip(), f"{command} printed nothing"
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


PYTHON_BLOCKS = {
    f"{path.relative_to(ROOT)}#{number}": block
    for path in DOCS
    for number, block in enumerate(
        re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M), 1
    )
}


@pytest.mark.slow
@pytest.mark.parametrize("name", PYTHON_BLOCKS)
def test_python_examples_run_as_written(name: str, tmp_path: Path) -> None:
    """Each ```python block as a script, in a folder that has `seeds/` (its paths are relative)."""
    (tmp_path / "seeds").symlink_to(ROOT / "seeds", target_is_directory=True)
    (tmp_path / "example.py").write_text(PYTHON_BLOCKS[name], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_relative_links_resolve() -> None:
    for path in DOCS:
        text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            assert (path.parent / target).exists(), f"{path.name}: {target}"


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    first = "\n".join(lines[:40])
    assert "make demo" in first and "make test" in first


def test_architecture_names_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    package = ROOT / "search"
    layers = sorted(p.name for p in package.iterdir() if (p / "__init__.py").exists())
    modules = sorted(
        path.name
        for path in package.rglob("*.py")
        if "__pycache__" not in path.parts
        and not (path.name == "__init__.py" and path.parent != package)
    )
    assert len(modules) == len(set(modules))  # a module's name says which one it is
    missing = [name for name in modules if f"`{name}`" not in text]
    missing += [name + "/" for name in layers if f"`{name}/`" not in text]
    assert missing == []
    named = {name for name in re.findall(r"`([a-z_]+\.py)`", text) if not name.startswith("test_")}
    assert named <= set(modules), named - set(modules)  # and names none that is gone
