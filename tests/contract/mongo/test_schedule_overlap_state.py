"""The overlap-policy state over Mongo (``adapters.mongo.schedule_overlap``): every change is one
conditional write, so racing firings and run ends have exactly one winner."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.contract.mongo.test_schedule_generations import a_recurring
from tests.fakes.clock import T0
from workflow_service.adapters.mongo.schedule_overlap import MongoOverlapState
from workflow_service.adapters.mongo.schedules import MongoRecurringScheduleRepository

T1, T2, T3 = (T0 + timedelta(hours=hours) for hours in (1, 2, 3))


@pytest.fixture
def recurring(database, clock) -> MongoRecurringScheduleRepository:
    return MongoRecurringScheduleRepository(database, clock)


@pytest.fixture
def state(database) -> MongoOverlapState:
    return MongoOverlapState(database)


def test_only_one_of_two_firings_claims_and_the_run_is_noted_on_the_claim(recurring, state):
    schedule_id = a_recurring(recurring).stored_id
    assert state.claim(schedule_id, T1, T0) is True
    assert state.claim(schedule_id, T2, T0) is False
    assert state.record_run(schedule_id, T2, "run-2") is False  # not the active firing
    assert state.record_run(schedule_id, T1, "run-1") is True
    active = recurring.get(None, schedule_id).active_firing
    assert (active.scheduled_time, active.run_id, active.claimed_at) == (T1, "run-1", T0)
    assert [s.stored_id for s in state.with_active(None, 10)] == [schedule_id]


def test_one_firing_waits_and_the_release_promotes_it_in_one_write(recurring, state):
    schedule_id = a_recurring(recurring).stored_id
    state.claim(schedule_id, T1, T0)
    assert state.buffer(schedule_id, T1, T2) is True
    assert state.buffer(schedule_id, T1, T3) is False  # one waits already
    # A release that read no buffered firing loses to the buffering firing
    assert state.release(schedule_id, T1, None, T2) is False
    assert state.release(schedule_id, T1, T2, T2) is True
    schedule = recurring.get(None, schedule_id)
    assert schedule.buffered_firing is None
    assert (schedule.active_firing.scheduled_time, schedule.active_firing.run_id) == (T2, None)
    assert state.release(schedule_id, T2, None, T3) is True
    assert recurring.get(None, schedule_id).active_firing is None and state.with_active(None, 10) == []


def test_a_deleted_schedule_is_never_claimed(recurring, state):
    schedule_id = a_recurring(recurring).stored_id
    recurring.tombstone(None, schedule_id)
    assert state.claim(schedule_id, T1, T0) is False
