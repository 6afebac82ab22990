"""The background loop every local emulation runs on: it keeps going through failures and stops promptly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from local.background_loop import BackgroundLoop

LONG_INTERVAL = 60.0


class CountingStep:
    """A step that counts its calls, raises on the calls listed in ``failing_calls``, and reports no backlog."""

    def __init__(self, failing_calls: tuple[int, ...] = ()) -> None:
        self.calls = 0
        self.called = threading.Event()
        self._failing_calls = failing_calls

    def __call__(self) -> bool:
        self.calls += 1
        if self.calls in self._failing_calls:
            raise RuntimeError("broken pass")
        self.called.set()
        return False


@contextmanager
def running(loop: BackgroundLoop) -> Iterator[BackgroundLoop]:
    loop.start()
    try:
        yield loop
    finally:
        loop.stop()


def test_a_step_that_raises_is_logged_and_the_loop_carries_on(caplog):
    step = CountingStep(failing_calls=(1,))
    loop = BackgroundLoop("test-loop", step, 0.01, failure_message="test loop failed; continuing")

    with caplog.at_level(logging.ERROR, logger="local.background_loop"), running(loop):
        assert step.called.wait(timeout=10)

    assert step.calls >= 2
    assert [record.getMessage() for record in caplog.records] == ["test loop failed; continuing"]
    assert caplog.records[0].exc_info is not None


def test_a_step_that_reports_more_work_is_called_again_without_waiting():
    remaining = [3]
    drained = threading.Event()

    def drain_one() -> bool:
        remaining[0] -= 1
        if remaining[0] == 0:
            drained.set()
        return remaining[0] > 0

    with running(BackgroundLoop("test-loop", drain_one, LONG_INTERVAL)):
        assert drained.wait(timeout=10)


def test_an_idle_step_waits_the_interval_and_stop_ends_the_wait_at_once():
    step = CountingStep()
    loop = BackgroundLoop("test-loop", step, LONG_INTERVAL)

    loop.start()
    assert step.called.wait(timeout=10)
    stopping_started = time.monotonic()
    loop.stop()

    assert step.calls == 1
    assert time.monotonic() - stopping_started < LONG_INTERVAL / 2
    assert loop.running is False


def test_the_first_step_can_wait_one_interval_like_a_rate_rule():
    step = CountingStep()

    with running(BackgroundLoop("test-loop", step, LONG_INTERVAL, first_step_after_interval=True)):
        assert not step.called.wait(timeout=0.2)


def test_start_is_idempotent_and_a_stopped_loop_starts_again():
    step = CountingStep()
    loop = BackgroundLoop("test-loop", step, LONG_INTERVAL)

    with running(loop):
        loop.start()
        assert loop.running
        assert [thread.name for thread in threading.enumerate()].count("test-loop") == 1
        assert step.called.wait(timeout=10)

    step.called.clear()
    with running(loop):
        assert step.called.wait(timeout=10)


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError):
        BackgroundLoop("test-loop", CountingStep(), 0)
