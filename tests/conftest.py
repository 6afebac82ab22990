"""Fixtures shared by every suite: an in-memory store behind the real wiring, a manual clock, moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.clock import ManualClock
from tests.support.api import Caller
from workflow_service import wiring
from workflow_service.adapters.mongo.indexes import create_indexes
from workflow_service.adapters.mongo.store import in_memory
from workflow_service.settings import Settings

AWS_REGION = "us-east-1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings() -> Settings:
    return Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true", "STAGE": "test"})


@pytest.fixture
def services(settings: Settings, clock: ManualClock):
    """The real ``Services`` with mongomock (indexes created) and the manual clock, installed for handlers."""
    database = in_memory()
    create_indexes(database)
    instance = wiring.Services(settings, database=database, clock=clock)
    wiring.install(instance)
    yield instance
    wiring.install(None)


@pytest.fixture
def caller(services) -> Caller:
    """A team (limit 5) with one API key."""
    team = services.auth.create_team("Team A", max_concurrent_runs=5)
    created = services.auth.create_key(team.id, "alice", "test key")
    return Caller(team_id=team.id, user_id="alice", api_key=created.plaintext)


@pytest.fixture
def other_caller(services) -> Caller:
    team = services.auth.create_team("Team B", max_concurrent_runs=5)
    created = services.auth.create_key(team.id, "bob", "test key")
    return Caller(team_id=team.id, user_id="bob", api_key=created.plaintext)


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's mock of every AWS service, with fake credentials; yields the region to create clients in."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": AWS_REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield AWS_REGION
