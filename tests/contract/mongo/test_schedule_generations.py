"""The generation fields of both schedule repositories over Mongo: what the writers, the firing and the
reaper's sweep rely on (``adapters.mongo.schedule_generations``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from tests.contract.mongo.test_schedule_repositories import WORKFLOW, a_one_time
from tests.fakes.clock import T0
from workflow_service.adapters.mongo.schedules import MongoOneTimeScheduleRepository, MongoRecurringScheduleRepository
from workflow_service.models.common import audit_fields, new_object_id
from workflow_service.models.recurring import RecurringSchedule


@pytest.fixture
def one_time(database, clock) -> MongoOneTimeScheduleRepository:
    return MongoOneTimeScheduleRepository(database, clock)


@pytest.fixture
def recurring(database, clock) -> MongoRecurringScheduleRepository:
    return MongoRecurringScheduleRepository(database, clock)


def a_recurring(repository, expression: str = "0 * * * *", **fields) -> RecurringSchedule:
    schedule = RecurringSchedule(
        **audit_fields("team-a", "alice", T0, new_object_id()),
        workflow_id=WORKFLOW,
        cron_expression=expression,
        **fields,
    )
    repository.insert(schedule)
    return schedule


def test_a_new_record_owes_its_first_push_until_it_is_recorded(one_time):
    schedule = a_one_time(one_time, desired_generation=1)
    assert one_time.get(None, schedule.id).needs_push
    assert one_time.record_applied(schedule.id, 1)
    stored = one_time.get(None, schedule.id)
    assert (stored.desired_generation, stored.applied_generation, stored.needs_push) == (1, 1, False)


def test_recording_an_older_generation_never_moves_applied_back(one_time, clock):
    schedule = a_one_time(one_time, desired_generation=1)
    one_time.update_pending("team-a", schedule.id, {"scheduled_time": T0 + timedelta(hours=2)}, "bob", bump=True)
    assert one_time.record_applied(schedule.id, 2)
    assert not one_time.record_applied(schedule.id, 1)  # a slower writer's older push
    assert one_time.get(None, schedule.id).applied_generation == 2


def test_recording_a_push_overtaken_by_a_newer_change_keeps_the_push_owed(one_time):
    schedule = a_one_time(one_time, desired_generation=1)
    one_time.update_pending("team-a", schedule.id, {"scheduled_time": T0 + timedelta(hours=2)}, "bob", bump=True)
    assert one_time.record_applied(schedule.id, 1)
    stored = one_time.get(None, schedule.id)
    assert (stored.desired_generation, stored.applied_generation, stored.needs_push) == (2, 1, True)


def test_a_stale_delivery_makes_an_up_to_date_record_owe_a_push(recurring, clock):
    schedule = a_recurring(recurring, desired_generation=1)
    recurring.update("team-a", schedule.id, {"enabled": False}, "bob", bump=True)
    recurring.record_applied(schedule.id, 2)
    # AWS delivered generation 1: a late push of it overwrote generation 2
    assert recurring.mark_stale(schedule.id, 1)
    stored = recurring.get(None, schedule.id)
    assert (stored.applied_generation, stored.needs_push) == (1, True)
    assert not recurring.mark_stale(schedule.id, 2)  # the current generation is never stale


def test_the_sweep_query_holds_only_owed_pushes_past_the_grace(one_time, recurring, clock):
    owed = a_one_time(one_time, desired_generation=1)
    done = a_one_time(one_time, desired_generation=1)
    one_time.record_applied(done.id, 1)
    assert [s.id for s in one_time.needing_push(clock.now() - timedelta(seconds=1), None, 10)] == []
    clock.advance(minutes=5)
    assert [s.id for s in one_time.needing_push(clock.now(), None, 10)] == [owed.id]
    assert one_time.needing_push(clock.now(), owed.id, 10) == []  # paged past it
    tombstone = a_recurring(recurring, desired_generation=1, applied_generation=1)
    recurring.tombstone("team-a", tombstone.id)
    clock.advance(minutes=5)
    [swept] = recurring.needing_push(clock.now(), None, 10)
    assert swept.id == tombstone.id and swept.deleted_at is not None


def test_a_tombstone_is_invisible_and_revived_only_at_its_generation(recurring):
    schedule = a_recurring(recurring, desired_generation=1, applied_generation=1)
    tombstone = recurring.tombstone("team-a", schedule.id)
    assert tombstone.desired_generation == 2
    assert recurring.get("team-a", schedule.id) is None and recurring.list("team-a", None, None, 0, 10) == ([], 0)
    assert recurring.tombstone("team-a", schedule.id) is None  # once
    assert recurring.tombstone_in_the_way("team-a", WORKFLOW, "0 * * * *", "UTC") == schedule.id
    assert not recurring.revive(schedule.id, 1)
    assert recurring.revive(schedule.id, 2)
    revived = recurring.get("team-a", schedule.id)
    assert revived is not None and revived.desired_generation == 3 and revived.needs_push


@pytest.mark.parametrize("delivered", [None, 1, 2])
def test_a_claim_refuses_only_a_delivery_older_than_the_record(one_time, clock, delivered):
    schedule = a_one_time(one_time, hours=0, desired_generation=1)
    one_time.update_pending("team-a", schedule.id, {"version": 1}, "bob", bump=True)  # now generation 2
    claimed = one_time.claim_for_firing(schedule.id, clock.now(), clock.now(), delivered)
    assert (claimed is None) == (delivered == 1)
    if claimed is not None:
        # The at() schedule deletes itself: both generations move on, the lag (here 2 vs 0) kept
        assert (claimed.desired_generation, claimed.applied_generation) == (3, 1)


def test_records_written_before_generations_converge_like_new_ones(one_time, database, clock):
    schedule = a_one_time(one_time)
    database.raw["workflow_schedules"].update_one(
        {"_id": ObjectId(schedule.id)},
        {"$unset": {"desired_generation": "", "applied_generation": "", "needs_push": "", "generation_at": ""}},
    )
    assert not one_time.get(None, schedule.id).needs_push
    assert one_time.claim_for_firing(schedule.id, clock.now(), clock.now() + timedelta(hours=2), 0) is not None
    cancelled_id = a_one_time(one_time).id
    database.raw["workflow_schedules"].update_one(
        {"_id": ObjectId(cancelled_id)}, {"$unset": {"desired_generation": "", "applied_generation": ""}}
    )
    cancelled = one_time.cancel("team-a", cancelled_id, "bob")
    assert cancelled.desired_generation == 1 and cancelled.needs_push
    assert one_time.record_applied(cancelled_id, 1) and not one_time.get(None, cancelled_id).needs_push


def test_every_repair_sweep_pages_by_id_after_a_resume_point_that_left_the_set(one_time, recurring, clock):
    """The reaper's repair sweeps resume after the id the last pass stopped at (``reaper.cursors``):
    each read answers the candidates after it, in id order, also when that one was repaired since."""
    later = clock.now() + timedelta(minutes=5)  # past every candidate's push grace
    # Owed pushes (one-time): a resume point whose push was recorded since
    owed = [a_one_time(one_time, 3, desired_generation=1) for _ in range(3)]
    first = one_time.needing_push(later, None, 2)
    assert [s.id for s in first] == [s.id for s in owed[:2]]
    one_time.record_applied(owed[1].id, 1)
    assert [s.id for s in one_time.needing_push(later, owed[1].id, 2)] == [owed[2].id]
    assert one_time.needing_push(later, owed[2].id, 2) == []
    # Overdue pending schedules: a resume point claimed by a late delivery since
    overdue = [a_one_time(one_time, -1) for _ in range(3)]
    assert [s.id for s in one_time.overdue_pending(T0, None, 2)] == [s.id for s in overdue[:2]]
    assert one_time.claim_for_firing(overdue[1].id, T0, T0) is not None
    assert [s.id for s in one_time.overdue_pending(T0, overdue[1].id, 2)] == [overdue[2].id]
    # Owed pushes (recurring, tombstones included): a resume point removed since
    cron = [a_recurring(recurring, f"{minute} * * * *", desired_generation=1) for minute in range(3)]
    recurring.tombstone("team-a", cron[2].id)
    assert [s.id for s in recurring.needing_push(later, None, 2)] == [s.id for s in cron[:2]]
    recurring.remove(cron[1].id)
    [tombstone] = recurring.needing_push(later, cron[1].id, 2)
    assert tombstone.id == cron[2].id and tombstone.deleted_at is not None
    # DST plans due: a resume point planned again since
    due = [a_recurring(recurring, f"{minute} 1 * * *", dst_review_at=T0) for minute in range(3)]
    assert [s.id for s in recurring.dst_review_due(T0, None, 2)] == [s.id for s in due[:2]]
    recurring.set_dst_plan(due[1].id, 0, {"dst_review_at": T0 + timedelta(days=30)}, bump=False)
    assert [s.id for s in recurring.dst_review_due(T0, due[1].id, 2)] == [due[2].id]
