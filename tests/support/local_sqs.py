"""A local SQS queue on a clock tests move by hand, for the queue's and its event source's tests."""

from __future__ import annotations

from workflow_service.adapters.local.sqs_queue import LocalSqsQueue

VISIBILITY = 30


class ManualMonotonicClock:
    """A ``time.monotonic`` stand-in: seconds as a float, moved by ``advance``."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def triggers_queue(clock: ManualMonotonicClock) -> LocalSqsQueue:
    """A queue that moves a message to its dead-letter queue after three receives."""
    return LocalSqsQueue("triggers", visibility_timeout_seconds=VISIBILITY, max_receive_count=3, clock=clock)
