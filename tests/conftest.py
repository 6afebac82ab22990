"""Fixtures shared by every suite: a fresh database behind the real wiring, a manual clock, moto.

The database is mongomock unless ``MONGODB_URI`` names a server (tests/support/mongo.py); only the
integration and Mongo contract suites ask for it (unit tests build their own in-memory stores).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pymongo.errors import PyMongoError

from tests.fakes.clock import ManualClock
from tests.fakes.metrics import InMemoryMetrics
from tests.support.api import Caller
from tests.support.mongo import ServerDatabase, fresh_in_memory_database, server_uri
from workflow_service import wiring
from workflow_service.adapters.mongo.store import StoreDatabase
from workflow_service.observability import LOGGER_NAMESPACES
from workflow_service.settings import Settings

AWS_REGION = "us-east-1"


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


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[ServerDatabase | None]:
    """This session's database on the server ``MONGODB_URI`` names (dropped at the end), or None."""
    uri = server_uri()
    if uri is None:
        yield None
        return
    try:
        server = ServerDatabase(uri)
    except PyMongoError as error:  # one clear message instead of an error per test
        pytest.exit(f"MONGODB_URI names a MongoDB server that cannot be used: {type(error).__name__}: {error}", 2)
    yield server
    server.drop()


@pytest.fixture
def database(mongo_server: ServerDatabase | None) -> StoreDatabase:
    """An empty database with every index: mongomock, or the session's database on a real server."""
    return fresh_in_memory_database() if mongo_server is None else mongo_server.fresh()


@pytest.fixture
def services(settings: Settings, database: StoreDatabase, clock: ManualClock, metrics: InMemoryMetrics):
    """The real ``Services`` over ``database``, the manual clock and in-memory metrics, installed for handlers."""
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
