"""The databases the Mongo-backed suites (integration, Mongo contract) run on.

By default each test gets a fresh embedded mongomock database. When ``MONGODB_URI`` is set, the session
instead creates one uniquely named database on that server, with every declared index, empties it
before each test (indexes stay) and drops it at the end. Nothing else in the server is touched.
"""

from __future__ import annotations

import os
import uuid

from workflow_service.adapters.mongo.indexes import create_indexes, declared_indexes
from workflow_service.adapters.mongo.store import StoreDatabase, connect, in_memory

MONGODB_URI_VARIABLE = "MONGODB_URI"
SERVER_SELECTION_TIMEOUT_MS = 10_000


def server_uri() -> str | None:
    """The MongoDB server the suites should run on, if any."""
    return os.environ.get(MONGODB_URI_VARIABLE) or None


def fresh_in_memory_database() -> StoreDatabase:
    database = in_memory()
    create_indexes(database)
    return database


class ServerDatabase:
    """One test session's database on a real MongoDB server."""

    def __init__(self, uri: str) -> None:
        self.name = f"workflows_test_{uuid.uuid4().hex[:16]}"
        self._session = connect(
            uri, self.name, server_selection_timeout_ms=SERVER_SELECTION_TIMEOUT_MS, app_name="workflow-service-tests"
        )
        self._raw = self._session.raw
        # Fail the session at once, with pymongo's reason, rather than every test after a timeout.
        self._raw.client.admin.command("ping")
        create_indexes(self._session)

    def fresh(self) -> StoreDatabase:
        """The session's database, emptied, behind a new handle (so round-trip counts start at zero)."""
        names = set(self._raw.list_collection_names())
        for name in names:
            self._raw[name].delete_many({})
        database = StoreDatabase(self._raw)
        if not set(declared_indexes()) <= names:  # a collection was dropped: its indexes went with it
            create_indexes(database)
        return database

    def drop(self) -> None:
        client = self._raw.client
        try:
            client.drop_database(self.name)
        finally:
            client.close()
