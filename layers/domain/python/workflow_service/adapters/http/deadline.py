"""A watchdog that ends an HTTP exchange at its deadline, whatever phase it is in.

A socket timeout bounds each socket operation, not the exchange: a server that drips its status
line, headers or TLS handshake a byte at a time keeps every single read within the timeout and so
could hold a request (and the turn waiting on it) until the Lambda itself times out. The watchdog
shuts the exchange's sockets down when the deadline passes, which makes any blocked or later read
or write on them end at once; the client then reports the exchange as timed out.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType


class DeadlineWatchdog:
    """Shuts down every socket it was given once ``deadline`` (a ``time.monotonic()`` value) passes.

    Use it as a context manager around one exchange and leave the block before closing the
    response: leaving disarms it, so the watchdog never touches a socket the exchange is done with.
    ``fired`` tells whether the deadline ended the exchange: a read cut short by the watchdog may
    look like an end of file, so callers check it before trusting what they read.
    """

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._armed = True
        self._fired = False
        self._timer: threading.Timer | None = None

    @property
    def fired(self) -> bool:
        """Whether the deadline passed while the exchange was still going on."""
        return self._fired

    @property
    def sockets(self) -> list[socket.socket]:
        """The sockets watched so far (a copy)."""
        with self._lock:
            return list(self._sockets)

    def watch(self, connected: socket.socket) -> None:
        """Shut ``connected`` down at the deadline (at once if the deadline already passed)."""
        with self._lock:
            self._sockets.append(connected)
            if self._fired:
                _shut_down(connected)

    def __enter__(self) -> DeadlineWatchdog:
        # A daemon timer thread: the Lambda runtime must never wait on it, and it holds nothing.
        self._timer = threading.Timer(max(0.0, self._deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._armed = False
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self._fired = True
            for connected in self._sockets:
                _shut_down(connected)


def _shut_down(connected: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter drops the TLS object that the
    # exchange's thread may be reading through; a shutdown of the descriptor ends that read as well.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(connected, socket.SHUT_RDWR)
