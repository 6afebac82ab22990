"""The MongoDB handle every repository uses.

``StoreDatabase`` wraps a pymongo (or mongomock) database so that:
- a connection failure surfaces as ``StoreUnavailable`` (503) instead of a pymongo exception;
- every collection operation is counted (benchmarks report round trips);
- with mongomock, every operation runs under one lock, because mongomock is not thread-safe.

Repositories call collection methods with keyword arguments only (``find(filter, sort=..., limit=...)``)
and never chain cursors: ``find`` returns a list, so the lock is not held by a lazy cursor.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from bson.errors import InvalidDocument
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DocumentTooLarge,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)

from workflow_service.errors import StoreUnavailable, Unstorable

# Operations that read lazily in pymongo and must be materialized under the lock.
_CURSOR_METHODS = frozenset({"find", "aggregate", "list_indexes"})
# Every other operation may change data: counted in ``StoreDatabase.writes`` (the local data file saves on them).
_READ_METHODS = _CURSOR_METHODS | {"find_one", "count_documents", "estimated_document_count", "distinct"}
_DUPLICATE_KEY = 11000
# The server's answers to a write whose document would pass 16 MiB (BSONObjectTooLarge, and an update's
# "Resulting document after update is larger than ..."): the data, not the server, is the problem.
_TOO_LARGE_CODES = frozenset({10334, 17419, 17420})


class RoundTripCounter:
    """Counts store operations by collection and method (thread-safe enough for benchmarks)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def record(self, collection: str, method: str) -> None:
        self.calls[f"{collection}.{method}"] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()


class WriteCounter:
    """How many operations that may change data have completed (exact for the serialized embedded store)."""

    def __init__(self) -> None:
        self.count = 0


class StoreCollection:
    """A collection whose operations are guarded, counted and (for mongomock) serialized."""

    def __init__(
        self,
        collection: Any,
        lock: AbstractContextManager[Any],
        counter: RoundTripCounter,
        writes: WriteCounter,
        *,
        emulate_bulk_writes: bool = False,
    ) -> None:
        self._collection = collection
        self._lock = lock
        self._counter = counter
        self._writes = writes
        self._emulate_bulk_writes = emulate_bulk_writes
        self.name: str = collection.name

    def upsert_each_until_duplicate(self, updates: list[tuple[dict[str, Any], dict[str, Any]]]) -> int:
        """Apply conditional upserts ``(filter, update)`` in order, in ONE round trip (an ordered bulk
        write: one ``update`` command carrying every statement), stopping at the first whose upsert
        collides with an existing ``_id`` (its filter matched nothing). Returns how many were applied
        (``len(updates)`` when all were). Each statement stays a single-document atomic update.
        """
        from pymongo import UpdateOne

        def apply() -> int:
            if self._emulate_bulk_writes:
                # mongomock's bulk_write does not accept the operations of the pymongo installed beside it:
                # apply the statements one by one under the store's lock, as the server applies an ordered batch.
                for index, (selector, update) in enumerate(updates):
                    try:
                        self._collection.update_one(selector, update, upsert=True)
                    except DuplicateKeyError:
                        return index
                return len(updates)
            try:
                self._collection.bulk_write(
                    [UpdateOne(selector, update, upsert=True) for selector, update in updates], ordered=True
                )
            except BulkWriteError as error:
                (first, *_) = error.details.get("writeErrors") or [{}]
                if first.get("code") != _DUPLICATE_KEY:
                    raise
                return int(first["index"])
            return len(updates)

        self._counter.record(self.name, "bulk_write")
        try:
            with self._lock:
                applied = apply()
                self._writes.count += 1
                return applied
        except ConnectionFailure as exc:
            raise StoreUnavailable("the database is unreachable; nothing was written, retry later") from exc

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._collection, method)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter.record(self.name, method)
            try:
                with self._lock:
                    result = target(*args, **kwargs)
                    if method not in _READ_METHODS:
                        self._writes.count += 1
                    return list(result) if method in _CURSOR_METHODS else result
            except ConnectionFailure as exc:
                raise StoreUnavailable("the database is unreachable; nothing was written, retry later") from exc
            except (InvalidDocument, DocumentTooLarge, OverflowError) as exc:
                raise Unstorable(f"the data cannot be stored: {str(exc)[:200]}") from exc
            except OperationFailure as exc:
                if exc.code in _TOO_LARGE_CODES:
                    raise Unstorable(f"the data cannot be stored: {str(exc)[:200]}") from exc
                raise

        return call


class StoreDatabase:
    """The database handle handed to repositories."""

    def __init__(self, database: Any, *, serialize: bool = False) -> None:
        self._database = database
        # Only mongomock is serialized, and only mongomock lacks a bulk_write compatible with pymongo's.
        self._emulate_bulk_writes = serialize
        self._lock: AbstractContextManager[Any] = threading.RLock() if serialize else nullcontext()
        self.counter = RoundTripCounter()
        self.writes = WriteCounter()
        self._collections: dict[str, StoreCollection] = {}

    def __getitem__(self, name: str) -> StoreCollection:
        collection = self._collections.get(name)
        if collection is None:
            collection = StoreCollection(
                self._database[name],
                self._lock,
                self.counter,
                self.writes,
                emulate_bulk_writes=self._emulate_bulk_writes,
            )
            self._collections[name] = collection
        return collection

    def exclusive(self) -> AbstractContextManager[Any]:
        """Holds every other operation off while ``raw`` is used directly (a consistent snapshot)."""
        return self._lock

    @property
    def raw(self) -> Any:
        """The wrapped pymongo/mongomock database (index creation, test set-up)."""
        return self._database


def connect(
    uri: str, database_name: str, *, server_selection_timeout_ms: int, app_name: str, max_pool_size: int = 100
) -> StoreDatabase:
    """A pymongo client for this container. pymongo connects lazily, so this makes no round trip.

    ``max_pool_size`` bounds this container's connections (pymongo's default is 100); in Lambda it
    comes from the stack's connection budget (MONGODB_MAX_POOL_SIZE).
    """
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(
        uri,
        serverSelectionTimeoutMS=server_selection_timeout_ms,
        connectTimeoutMS=server_selection_timeout_ms,
        tz_aware=True,
        appname=app_name,
        maxPoolSize=max_pool_size,
        # retryWrites is left to the URI: Atlas URIs enable it, DocumentDB (which lacks it) must say false.
    )
    return StoreDatabase(client[database_name])


def in_memory(database_name: str = "workflows") -> StoreDatabase:
    """An embedded mongomock database with every operation serialized (local runtime and tests)."""
    import mongomock

    return StoreDatabase(mongomock.MongoClient(tz_aware=True)[database_name], serialize=True)


__all__ = [
    "PyMongoError",
    "RoundTripCounter",
    "StoreCollection",
    "StoreDatabase",
    "WriteCounter",
    "connect",
    "in_memory",
]
