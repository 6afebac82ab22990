"""Fixtures shared by every suite: an in-memory store behind the real wiring, and a manual clock."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.metrics import InMemoryMetrics
from tests.support.api import Caller
from tests.support.clock import ManualClock
from workflow_service import wiring
from workflow_service.adapters.mongo.indexes import create_indexes
from workflow_service.adapters.mongo.store import in_memory
from workflow_service.observability import LOGGER_NAMESPACES
from workflow_service.settings import Settings


@pytest.fixture(autouse=True)
def service_logs_reach_caplog():
    """Once a handler has run, observability stops the service's loggers propagating (Lambda's root
    handler would print each line twice); caplog listens on the root logger, so let them propagate."""
    for name in LOGGER_NAMESPACES:
        logging.getLogger(name).propagate = True


@pytest.fixture
def metrics() -> InMemoryMetrics:
    """What the ``services`` fixture's services emitted."""
    return InMemoryMetrics()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings() -> Settings:
    return Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true", "STAGE": "test"})


@pytest.fixture
def services(settings: Settings, clock: ManualClock, metrics: InMemoryMetrics):
    """The real ``Services`` with mongomock (indexes created), the manual clock and in-memory metrics,
    installed for handlers."""
    database = in_memory()
    create_indexes(database)
    instance = wiring.Services(settings, database=database, clock=clock, metrics=metrics)
    wiring.install(instance)
    yield instance
    wiring.install(None)


@pytest.fixture
def caller(services) -> Caller:
    """A team (limit 5) with one API key."""
    team = services.auth.service.create_team("Team A", max_concurrent_runs=5)
    created = services.auth.service.create_key(team.id, "alice", "test key")
    return Caller(team_id=team.id, user_id="alice", api_key=created.plaintext)


@pytest.fixture
def other_caller(services) -> Caller:
    team = services.auth.service.create_team("Team B", max_concurrent_runs=5)
    created = services.auth.service.create_key(team.id, "bob", "test key")
    return Caller(team_id=team.id, user_id="bob", api_key=created.plaintext)
