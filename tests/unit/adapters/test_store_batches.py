"""StoreCollection.upsert_each_until_duplicate over pymongo's bulk_write: how the server's answer is read.

(mongomock's own bulk_write does not accept pymongo's operations, so the in-memory store applies the
statements one by one; these tests pin the path a real MongoDB or DocumentDB takes.)
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
from pymongo import UpdateOne
from pymongo.errors import AutoReconnect, BulkWriteError

from workflow_service.adapters.mongo.store import RoundTripCounter, StoreCollection, WriteCounter
from workflow_service.errors import StoreUnavailable

UPDATES = [
    ({"_id": "team:t"}, {"$addToSet": {"holders": "r"}}),
    ({"_id": "workflow:w"}, {"$addToSet": {"holders": "r"}}),
]


class ServerCollection:
    """Answers bulk_write like a server: ``error`` is raised when set, else every statement applied."""

    name = "concurrency_leases"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.batches: list[tuple[list[Any], bool]] = []

    def bulk_write(self, requests: list[Any], ordered: bool) -> None:
        self.batches.append((requests, ordered))
        if self.error is not None:
            raise self.error


def collection(server: ServerCollection) -> tuple[StoreCollection, RoundTripCounter]:
    counter = RoundTripCounter()
    return StoreCollection(server, nullcontext(), counter, WriteCounter()), counter


def duplicate_at(index: int) -> BulkWriteError:
    return BulkWriteError(
        {"writeErrors": [{"index": index, "code": 11000, "errmsg": "E11000 duplicate key error"}], "nUpserted": index}
    )


def test_all_applied_is_one_ordered_batch_of_upserts_and_one_round_trip():
    server = ServerCollection()
    subject, counter = collection(server)

    assert subject.upsert_each_until_duplicate(UPDATES) == 2

    ((requests, ordered),) = server.batches
    assert ordered and requests == [UpdateOne(f, u, upsert=True) for f, u in UPDATES]
    assert dict(counter.calls) == {"concurrency_leases.bulk_write": 1}


@pytest.mark.parametrize("index", [0, 1])
def test_a_duplicate_key_reports_how_many_statements_were_applied_before_it(index):
    subject, _ = collection(ServerCollection(duplicate_at(index)))
    assert subject.upsert_each_until_duplicate(UPDATES) == index


def test_other_write_errors_are_raised():
    error = BulkWriteError({"writeErrors": [{"index": 0, "code": 2, "errmsg": "bad value"}]})
    subject, _ = collection(ServerCollection(error))
    with pytest.raises(BulkWriteError):
        subject.upsert_each_until_duplicate(UPDATES)


def test_an_unreachable_server_is_store_unavailable():
    subject, _ = collection(ServerCollection(AutoReconnect("connection closed")))
    with pytest.raises(StoreUnavailable):
        subject.upsert_each_until_duplicate(UPDATES)


class RefusingServerCollection(ServerCollection):
    """Answers update_one as a server does when the updated document would pass 16 MiB."""

    def update_one(self, *args: Any, **kwargs: Any) -> None:
        raise self.error  # type: ignore[misc]


def test_a_write_the_server_refuses_as_too_large_is_unstorable_not_a_store_outage():
    from pymongo.errors import WriteError

    from workflow_service.errors import Unstorable

    # Given a server answering "Resulting document after update is larger than 16777216" (code 17419)
    too_large = WriteError("Resulting document after update is larger than 16777216", code=17419)
    store, _ = collection(RefusingServerCollection(too_large))

    # When a repository writes through the store, Then it is told the data cannot be stored
    with pytest.raises(Unstorable, match="cannot be stored"):
        store.update_one({"_id": 1}, {"$push": {"x": 1}})


def test_other_operation_failures_pass_through_unchanged():
    from pymongo.errors import OperationFailure

    failure = OperationFailure("not authorized", code=13)
    store, _ = collection(RefusingServerCollection(failure))
    with pytest.raises(OperationFailure, match="not authorized"):
        store.update_one({"_id": 1}, {"$push": {"x": 1}})
