"""Crash injection and EventBridge emulation for the schedule convergence suites.

A crash is a ``SimulatedCrash`` (a BaseException, as a Lambda killed mid-call is: no ``except
Exception`` in the code under test can swallow it) raised right before, or right after, one call of
an adapter. Firings are taken from the local runtime's in-memory scheduler (the same instance the
services push to) and delivered to the schedule-target handler as EventBridge would, with the
target input the schedule holds, generation included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from local.scheduler_emulation import target_event


class SimulatedCrash(BaseException):
    """The process died here."""


@contextmanager
def crash_before(target: Any, method: str) -> Iterator[list[Any]]:
    """Calls of ``target.method`` die before they run; yields the arguments of each attempted call."""
    attempted: list[Any] = []

    def die(*args: Any, **kwargs: Any) -> Any:
        attempted.append(args)
        raise SimulatedCrash(f"crashed before {method}")

    setattr(target, method, die)
    try:
        yield attempted
    finally:
        delattr(target, method)


@contextmanager
def crash_after(target: Any, method: str) -> Iterator[list[Any]]:
    """Calls of ``target.method`` take effect, then the process dies before their answer is used."""
    attempted: list[Any] = []
    real = getattr(target, method)

    def die(*args: Any, **kwargs: Any) -> Any:
        attempted.append(args)
        real(*args, **kwargs)
        raise SimulatedCrash(f"crashed after {method}")

    setattr(target, method, die)
    try:
        yield attempted
    finally:
        delattr(target, method)


def deliver_due(services, clock) -> list[dict[str, Any]]:
    """EventBridge at ``clock.now()``: every due firing delivered once to the schedule-target handler."""
    from schedule_target import handler

    return [handler(target_event(firing), None) for firing in services.schedules.scheduler.take_due(clock.now())]


def reap_after_grace(services, clock, seconds: int = 121) -> dict[str, Any]:
    """A reaper pass once the push grace period (120 s by default) has passed."""
    clock.advance(seconds=seconds)
    return services.reaper.service.reap()
