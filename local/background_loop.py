"""The one background loop of the local runtime: a step called every interval on a daemon thread.

The SQS event source pollers, the scheduler emulation and the reaper's rate rule all run on it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

_logger = logging.getLogger(__name__)


class BackgroundLoop:
    """Calls ``step`` on a daemon thread, waiting ``interval_seconds`` between calls, until stopped.

    ``step`` returns True when it did work and more may be waiting: it is called again at once, so
    a backlog drains without pauses. The loop logs nothing of its own while idle. An exception from
    ``step`` is logged (``failure_message``, on ``logger``) and the loop carries on: a bug in one
    pass must not end local delivery for the rest of the session. With
    ``first_step_after_interval`` the first call comes one interval after ``start``, as a rate
    rule's first firing does.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], bool],
        interval_seconds: float,
        *,
        first_step_after_interval: bool = False,
        logger: logging.Logger = _logger,
        failure_message: str | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.name = name
        self.interval_seconds = interval_seconds
        self._step = step
        self._first_step_after_interval = first_step_after_interval
        self._logger = logger
        self._failure_message = failure_message or f"{name} failed; continuing"
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the loop's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the loop on a daemon thread; does nothing while it is already running."""
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop the loop; waits up to ``timeout_seconds`` for a step in progress to finish."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)
            self._thread = None

    def _run(self) -> None:
        if self._first_step_after_interval and self._stopping.wait(self.interval_seconds):
            return
        while not self._stopping.is_set():
            try:
                more_waiting = self._step()
            except Exception:
                self._logger.exception(self._failure_message)
                more_waiting = False
            if not more_waiting:
                self._stopping.wait(self.interval_seconds)


__all__ = ["BackgroundLoop"]
