"""A real `kbsearch serve --http` process for the web and browser tests, and its address."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import ROOT

START_TIMEOUT = 120  # seconds a server may take to open its index on a slow CI machine


def get(server: HttpServer, path: str, **params: object) -> httpx.Response:
    """GET `path` of the server with these query parameters."""
    return httpx.get(server.url + path, params=params, timeout=30)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HttpServer:
    """`kbsearch serve --http 127.0.0.1:PORT` on `index`; `stop()` sends SIGTERM and returns
    the exit code and the log."""

    def __init__(self, index: Path, runtime: Path, *extra: str | Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = runtime / f"serve-{self.port}.log"
        runtime.mkdir(mode=0o700, exist_ok=True)
        with open(self.log_file, "w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "search",
                    "serve",
                    "--index",
                    str(index),
                    "--http",
                    f"127.0.0.1:{self.port}",
                    *map(str, extra),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=ROOT,
                env={**os.environ, "XDG_RUNTIME_DIR": str(runtime), "NO_COLOR": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server ended: {self.log_file.read_text()}")
            try:
                answer = httpx.get(self.url + "/api/health", timeout=2)
                if answer.status_code in (200, 401):
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("the server did not answer in time")

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        return code, self.log_file.read_text()
