"""A bounded pool serving the local HTTP server's connections, and the 503 it answers beyond them.

A burst of connections waits first in the listen backlog, then in the pool's queue for one of a
fixed number of workers. A connection that finds the queue full is answered
``503 Service Unavailable`` with ``Retry-After`` (and a ``{"detail": ...}`` body, as the API's own
503s) by one turn-away thread, instead of waiting without bound or being reset: a client can tell
"busy, retry" from "down". The pool's threads wait on queues while idle, so it logs nothing then.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("local.gateway")

ConnectionServer = Callable[[socket.socket, Any], None]

# How long the turn-away thread spends on one connection: reading its request (so closing the
# socket with unread bytes does not reset it before the client reads the 503), then waiting for
# the client to close after the answer.
_TURN_AWAY_SECONDS = 1.0
_MAX_REQUEST_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class PoolSizes:
    """How many connections are served at once, how many wait for a worker, how many wait to be accepted.

    The defaults let a burst of a few hundred simultaneous connections all be answered: the store
    serializes every operation anyway, so more workers would add threads, not throughput.
    """

    workers: int = 16
    queued_connections: int = 256
    listen_backlog: int = 1024
    retry_after_seconds: int = 1

    def __post_init__(self) -> None:
        if min(self.workers, self.queued_connections, self.listen_backlog, self.retry_after_seconds) < 1:
            raise ValueError("every pool size must be at least 1")


class ConnectionPool:
    """``submit`` hands an accepted connection to ``serve`` on a worker, or turns it away with a 503."""

    def __init__(self, sizes: PoolSizes, serve: ConnectionServer) -> None:
        self.sizes = sizes
        self._serve = serve
        self._waiting: queue.Queue[tuple[socket.socket, Any] | None] = queue.Queue(sizes.queued_connections)
        # Turning away is quick, but it must not happen on the accepting thread: a slow client would stall it.
        self._turning_away: queue.Queue[socket.socket | None] = queue.Queue(sizes.listen_backlog)
        self._busy_answer = busy_answer(sizes.retry_after_seconds)
        self._threads = [
            threading.Thread(target=self._work, name=f"local-gateway-worker-{number}", daemon=True)
            for number in range(sizes.workers)
        ]
        self._threads.append(threading.Thread(target=self._turn_away_loop, name="local-gateway-busy", daemon=True))
        for thread in self._threads:
            thread.start()

    def submit(self, connection: socket.socket, client_address: Any) -> None:
        """Queue ``connection`` for a worker; when the queue is full, answer it 503 instead."""
        try:
            self._waiting.put_nowait((connection, client_address))
            return
        except queue.Full:
            pass
        try:
            self._turning_away.put_nowait(connection)
        except queue.Full:
            # Even the 503s are backed up: closing is all that is left.
            logger.warning("overloaded: closing a connection from %s unanswered", client_address)
            _close(connection)

    def has_waiting_connections(self) -> bool:
        """Whether a connection is queued for a worker (a kept-alive one should then give its worker up)."""
        return not self._waiting.empty()

    def stop(self, timeout_seconds: float = 5.0) -> None:
        """Let the threads finish what they are serving, then end them; queued connections are closed."""
        for _ in range(self.sizes.workers):
            self._waiting.put(None)
        self._turning_away.put(None)
        deadline = time.monotonic() + timeout_seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while (item := self._waiting.get()) is not None:
            connection, client_address = item
            self._serve(connection, client_address)

    def _turn_away_loop(self) -> None:
        while (connection := self._turning_away.get()) is not None:
            try:
                _answer_and_close(connection, self._busy_answer)
            except OSError:
                pass  # the client went away first; there is nobody left to tell
            finally:
                _close(connection)
            logger.info("503 busy: every worker and queue place taken")


def busy_answer(retry_after_seconds: int) -> bytes:
    """The complete HTTP response for a connection the pool cannot take."""
    body = json.dumps(
        {
            "detail": f"the local service is busy; retry after {retry_after_seconds} s",
            "retry_after_seconds": retry_after_seconds,
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Retry-After: {retry_after_seconds}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _answer_and_close(connection: socket.socket, answer: bytes) -> None:
    deadline = time.monotonic() + _TURN_AWAY_SECONDS
    received = b""
    connection.settimeout(_TURN_AWAY_SECONDS)
    try:
        while b"\r\n\r\n" not in received and len(received) < _MAX_REQUEST_HEAD_BYTES:
            chunk = connection.recv(4096)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        pass  # a client that says nothing in time is still told to come back
    connection.sendall(answer)
    connection.shutdown(socket.SHUT_WR)
    # Read until the client closes: closing with its request body unread would reset the connection.
    while (remaining := deadline - time.monotonic()) > 0:
        connection.settimeout(remaining)
        if not connection.recv(65536):
            break


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.close()


__all__ = ["ConnectionPool", "PoolSizes", "busy_answer"]
