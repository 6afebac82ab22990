"""A clock tests move by hand for the local SQS queue, and the visibility timeout its tests use."""

from __future__ import annotations

VISIBILITY = 30


class ManualMonotonicClock:
    """A ``time.monotonic`` stand-in: seconds as a float, moved by ``advance``."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
