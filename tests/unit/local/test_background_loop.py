"""The background loop every local emulation runs on: it keeps going through failures and stops promptly."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from local.background_loop import BackgroundLoop

LONG_INTERVAL = 60.0


def test_a_step_that_raises_is_logged_and_the_loop_carries_on(caplog):
    calls: list[int] = []
    second_call = threading.Event()

    def step() -> bool:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("broken pass")
        second_call.set()
        return False

    loop = BackgroundLoop("test-loop", step, 0.01, failure_message="test loop failed; continuing")
    with caplog.at_level(logging.ERROR, logger="local.background_loop"):
        loop.start()
        try:
            assert second_call.wait(timeout=10)
        finally:
            loop.stop()

    assert [record.getMessage() for record in caplog.records] == ["test loop failed; continuing"]
    assert caplog.records[0].exc_info is not None


def test_a_step_that_reports_more_work_is_called_again_without_waiting():
    remaining = [3]
    drained = threading.Event()

    def step() -> bool:
        remaining[0] -= 1
        if remaining[0] == 0:
            drained.set()
        return remaining[0] > 0

    loop = BackgroundLoop("test-loop", step, LONG_INTERVAL)
    loop.start()
    try:
        assert drained.wait(timeout=10)
    finally:
        loop.stop()


def test_an_idle_step_waits_the_interval_and_stop_ends_the_wait_at_once():
    calls: list[float] = []
    called = threading.Event()

    def step() -> bool:
        calls.append(time.monotonic())
        called.set()
        return False

    loop = BackgroundLoop("test-loop", step, LONG_INTERVAL)
    loop.start()
    assert called.wait(timeout=10)
    stopping_started = time.monotonic()
    loop.stop()

    assert len(calls) == 1
    assert time.monotonic() - stopping_started < LONG_INTERVAL / 2
    assert loop.running is False


def test_the_first_step_can_wait_one_interval_like_a_rate_rule():
    called = threading.Event()

    def step() -> bool:
        called.set()
        return False

    loop = BackgroundLoop("test-loop", step, LONG_INTERVAL, first_step_after_interval=True)
    loop.start()
    try:
        assert not called.wait(timeout=0.2)
    finally:
        loop.stop()


def test_start_is_idempotent_and_a_stopped_loop_starts_again():
    called = threading.Event()

    def step() -> bool:
        called.set()
        return False

    loop = BackgroundLoop("test-loop", step, LONG_INTERVAL)
    loop.start()
    loop.start()
    assert loop.running
    assert [thread.name for thread in threading.enumerate()].count("test-loop") == 1
    assert called.wait(timeout=10)
    loop.stop()

    called.clear()
    loop.start()
    try:
        assert called.wait(timeout=10)
    finally:
        loop.stop()


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError):
        BackgroundLoop("test-loop", lambda: False, 0)
