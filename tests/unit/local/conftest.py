"""Fixtures for the SQS emulation tests: a queue on a monotonic clock the test moves by hand."""

from __future__ import annotations

import pytest

from tests.support.local_sqs import VISIBILITY, ManualMonotonicClock
from workflow_service.adapters.local.sqs_queue import LocalSqsQueue


@pytest.fixture
def clock() -> ManualMonotonicClock:
    """Overrides the suite-wide datetime clock: SQS visibility runs on ``time.monotonic``."""
    return ManualMonotonicClock()


@pytest.fixture
def queue(clock: ManualMonotonicClock) -> LocalSqsQueue:
    """A queue that moves a message to its dead-letter queue after three receives."""
    return LocalSqsQueue("triggers", visibility_timeout_seconds=VISIBILITY, max_receive_count=3, clock=clock)
