"""``ports.DedupeRecords`` over ``MongoDedupeRecords`` and the in-memory fake the unit tests use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes.clock import T0, ManualClock
from tests.fakes.dedupe import InMemoryDedupeRecords
from workflow_service.adapters.mongo.dedupe import DEDUPE_RECORDS, MongoDedupeRecords
from workflow_service.ports.dedupe import DedupeState, Removals

DAY = timedelta(hours=24)


@pytest.fixture(params=["mongo", "fake"])
def records(request: pytest.FixtureRequest):
    if request.param == "mongo":
        return MongoDedupeRecords(request.getfixturevalue("database"))
    return InMemoryDedupeRecords()


def reserve(records, target_id: str, *, key: str = "k", now=T0, fingerprint: str | None = None):
    return records.reserve("webhook", key, target_id, now=now, expires_at=now + DAY, fingerprint=fingerprint)


def test_the_first_reservation_takes_the_key_and_later_ones_get_its_holder(records):
    # Given a key reserved for run-1
    first = reserve(records, "run-1", fingerprint="f1")
    assert (first.target_id, first.state, first.fingerprint) == ("run-1", DedupeState.RESERVED, "f1")
    # When another delivery of the same key tries to reserve it for run-2
    second = reserve(records, "run-2", now=T0 + timedelta(hours=1))
    # Then it is told the key belongs to run-1, reserved as before
    assert (second.target_id, second.state, second.fingerprint) == ("run-1", DedupeState.RESERVED, "f1")
    assert second.expires_at == T0 + DAY


def test_keys_are_independent_per_source_and_key(records):
    reserve(records, "run-1")
    assert reserve(records, "run-2", key="other").target_id == "run-2"
    assert records.reserve("sqs-message", "k", "run-3", now=T0, expires_at=T0 + DAY).target_id == "run-3"


def test_an_expired_record_counts_as_absent_and_can_be_taken_again(records):
    reserve(records, "run-1")
    after_expiry = T0 + DAY + timedelta(seconds=1)
    assert records.get("webhook", "k", now=T0 + DAY - timedelta(seconds=1)) is not None
    assert records.get("webhook", "k", now=after_expiry) is None
    again = reserve(records, "run-2", now=after_expiry)
    assert (again.target_id, again.state) == ("run-2", DedupeState.RESERVED)
    assert records.get("webhook", "k", now=after_expiry).target_id == "run-2"


def test_mark_created_stores_the_first_answer_for_the_holder_only(records):
    # Given a key held by schedule-1
    reserve(records, "schedule-1")
    # When a stale writer marks it for another target, then the holder marks it with its answer
    records.mark_created("webhook", "k", "schedule-2", answer_status=500, answer_body={"wrong": True})
    records.mark_created("webhook", "k", "schedule-1", answer_status=201, answer_body={"id": "schedule-1", "a.b": [1]})
    # Then the record says created, with the holder's answer exactly
    record = records.get("webhook", "k", now=T0)
    assert (record.target_id, record.state, record.created) == ("schedule-1", DedupeState.CREATED, True)
    assert (record.answer_status, record.answer_body) == (201, {"id": "schedule-1", "a.b": [1]})


def test_release_gives_up_only_a_reservation_still_held_for_that_target(records):
    reserve(records, "run-1")
    records.release("webhook", "k", "run-2")
    assert records.get("webhook", "k", now=T0).target_id == "run-1"
    records.release("webhook", "k", "run-1")
    assert records.get("webhook", "k", now=T0) is None
    # A created record is never released: its object exists (or existed)
    reserve(records, "run-3")
    records.mark_created("webhook", "k", "run-3")
    records.release("webhook", "k", "run-3")
    assert records.get("webhook", "k", now=T0).state is DedupeState.CREATED


def test_removals_are_remembered_per_source_for_their_window_only(records):
    # Given deleted runs remembered for a day, and schedules for a minute, in the same records
    clock = ManualClock()
    runs = Removals(records, clock, "removed_workflow_run")
    schedules = Removals(records, clock, "removed_recurring_schedule", window_seconds=60)
    assert runs.was_removed("object-1") is False
    # When object-1 is removed as a run, and remembered again (a delete retried after a crash)
    runs.remember("object-1")
    clock.advance(hours=1)
    runs.remember("object-1")
    # Then it is a removed run, not a removed schedule, and no other id is
    assert runs.was_removed("object-1") is True
    assert schedules.was_removed("object-1") is False and runs.was_removed("object-2") is False
    # And it is forgotten a day after its first removal (a retried delete does not stretch the window)
    clock.advance(hours=23, seconds=1)
    assert runs.was_removed("object-1") is False
    schedules.remember("object-3")
    assert schedules.was_removed("object-3") is True
    clock.advance(seconds=61)
    assert schedules.was_removed("object-3") is False


def test_the_collection_has_a_ttl_index_on_expires_at(database):
    indexes = {index["name"]: index for index in database[DEDUPE_RECORDS].list_indexes()}
    ttl = indexes["expire_at_expires_at"]
    assert (list(ttl["key"].items()), ttl["expireAfterSeconds"]) == ([("expires_at", 1)], 0)
