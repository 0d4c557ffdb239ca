"""The HTTP server's connections, bounded so idle and slow clients cannot starve real ones.

uvicorn waits for a request's head without a deadline, and its `limit_concurrency` counts open
connections: 65 sockets that never send a byte made every other request a 503. This protocol
(uvicorn's own, passed as `Config(http=...)`) closes a connection whose request head has not
arrived within `HEAD_SECONDS` of connecting or of its last answer (nginx's
`client_header_timeout`), and past `MAX_CONNECTIONS` closes the connection that has waited
longest without a request in flight, so a real client always gets in.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# A client has this long to send a whole request head (a browser sends it at once).
HEAD_SECONDS = 10.0
# Connections kept open at once; past it the one idle longest is closed. Each costs a file
# descriptor and a few kB.
MAX_CONNECTIONS = 256


class GuardedH11Protocol(H11Protocol):  # type: ignore[misc]
    """uvicorn's HTTP/1.1 protocol with a deadline for each request head and a bound on the
    number of connections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._waiting_since = time.monotonic()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > MAX_CONNECTIONS:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_deadline is not None and self.conn.their_state is not h11.IDLE:
            self._stop_deadline()  # the head is in: the request's own time limit applies now

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()

    def _waiting(self) -> bool:
        """Whether this connection has no request in flight (idle, or its head incomplete)."""
        return self._head_deadline is not None

    def _await_head(self) -> None:
        self._stop_deadline()
        self._waiting_since = time.monotonic()
        self._head_deadline = self.loop.call_later(HEAD_SECONDS, self._close)

    def _stop_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _close(self) -> None:
        self._stop_deadline()
        if not self.transport.is_closing():
            self.transport.close()

    def _make_room(self) -> None:
        """Close the connection that has waited longest without a request; this new one if
        every other is serving a request."""
        waiting = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedH11Protocol) and c._waiting()
        ]
        oldest = min(waiting, key=lambda c: c._waiting_since, default=self)
        oldest._close()
