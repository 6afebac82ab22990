from __future__ import annotations

import pytest

from tests.fakes.clock import ManualClock
from tests.support.mongo import fresh_in_memory_database
from tests.unit.schedules.support import NOON
from workflow_service.adapters.mongo.schedules import MongoOneTimeScheduleRepository, MongoRecurringScheduleRepository


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def store(clock):
    """The one-time and recurring schedule repositories over a fresh in-memory database."""
    database = fresh_in_memory_database()
    return MongoOneTimeScheduleRepository(database, clock), MongoRecurringScheduleRepository(database, clock)
