from __future__ import annotations

import pytest

from tests.fakes.clock import ManualClock
from tests.unit.schedules.support import NOON
from workflow_service.adapters.mongo.indexes import create_indexes
from workflow_service.adapters.mongo.schedules import MongoOneTimeScheduleRepository, MongoRecurringScheduleRepository
from workflow_service.adapters.mongo.store import in_memory


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def store(clock):
    """The one-time and recurring schedule repositories over a fresh in-memory database."""
    database = in_memory()
    create_indexes(database)
    return MongoOneTimeScheduleRepository(database, clock), MongoRecurringScheduleRepository(database, clock)
