"""``ports.OneTimeScheduleRepository`` and ``RecurringScheduleRepository`` over Mongo.

Times are in 2030, so the history's 90-day TTL index (which mongomock applies at once) never hides a row.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.clock import T0
from workflow_service.adapters.mongo.schedules import MongoOneTimeScheduleRepository, MongoRecurringScheduleRepository
from workflow_service.models.common import audit_fields
from workflow_service.models.recurring import ExecutionStatus, HistoryEntry, RecurringSchedule
from workflow_service.models.schedules import ScheduleStatus, WorkflowSchedule
from workflow_service.ports import DuplicateKey

TEAM, OTHER_TEAM = "team-a", "team-b"
WORKFLOW, OTHER_WORKFLOW = "65f1a2b3c4d5e6f708192a3b", "65f1a2b3c4d5e6f708192a3c"
RUN, OTHER_RUN = "5eb7cf5a86d9755df3a6c593", "5eb7cf5a86d9755df3a6c594"
PENDING, IN_PROGRESS = ScheduleStatus.PENDING, ScheduleStatus.IN_PROGRESS


@pytest.fixture
def one_time(database, clock) -> MongoOneTimeScheduleRepository:
    return MongoOneTimeScheduleRepository(database, clock)


@pytest.fixture
def recurring(database, clock) -> MongoRecurringScheduleRepository:
    return MongoRecurringScheduleRepository(database, clock)


def a_one_time(repository, hours: float = 1, *, team: str = TEAM, **fields: Any) -> WorkflowSchedule:
    schedule = WorkflowSchedule(
        **audit_fields(team, "alice", T0),
        workflow_id=fields.pop("workflow_id", WORKFLOW),
        scheduled_time=T0 + timedelta(hours=hours),
        **fields,
    )
    repository.insert(schedule)
    return schedule


# -- one-time schedules -------------------------------------------------------------------------------


def test_a_one_time_schedule_is_read_within_its_team_and_removed(one_time):
    schedule = a_one_time(one_time)
    assert one_time.get(TEAM, schedule.id) == schedule and one_time.get(None, schedule.id) == schedule
    assert one_time.get(OTHER_TEAM, schedule.id) is None and one_time.get(TEAM, "not-an-id") is None
    one_time.remove(schedule.id)
    assert one_time.get(None, schedule.id) is None


def test_one_time_schedules_are_listed_soonest_first_with_filters(one_time):
    later, sooner = a_one_time(one_time, 3), a_one_time(one_time, 1)
    other_workflow = a_one_time(one_time, 2, workflow_id=OTHER_WORKFLOW, status=ScheduleStatus.CANCELLED)
    a_one_time(one_time, 0.5, team=OTHER_TEAM)
    assert [s.id for s in one_time.list(TEAM, None, None, 0, 10)] == [sooner.id, other_workflow.id, later.id]
    assert [s.id for s in one_time.list(TEAM, WORKFLOW, None, 0, 10)] == [sooner.id, later.id]
    assert [s.id for s in one_time.list(TEAM, None, ScheduleStatus.CANCELLED, 0, 10)] == [other_workflow.id]
    assert [s.id for s in one_time.list(TEAM, None, None, 1, 1)] == [other_workflow.id]


def test_update_pending_returns_the_schedule_as_it_was_and_refuses_once_it_is_not_pending(one_time, clock):
    schedule = a_one_time(one_time)
    moved = T0 + timedelta(hours=5)
    before = one_time.update_pending(TEAM, schedule.id, {"scheduled_time": moved}, "bob")
    assert before == schedule
    assert one_time.get(TEAM, schedule.id).scheduled_time == moved
    assert one_time.update_pending(OTHER_TEAM, schedule.id, {"scheduled_time": T0}, "eve") is None
    one_time.cancel(TEAM, schedule.id, "bob")
    assert one_time.update_pending(TEAM, schedule.id, {"scheduled_time": T0}, "bob") is None


def test_update_pending_bumps_unless_the_schedule_already_holds_the_values_aws_sees(one_time, database):
    schedule = a_one_time(one_time)
    same, moved = schedule.scheduled_time, T0 + timedelta(hours=5)

    def desired() -> int:
        return database.raw["workflow_schedules"].find_one({})["desired_generation"]

    first = desired()
    # The stored time sent again: the other fields are written, the generation stays
    before = one_time.update_pending(
        TEAM,
        schedule.id,
        {"scheduled_time": same, "version": 2},
        "bob",
        bump=True,
        bump_unless={"scheduled_time": same},
    )
    assert before is not None and before.scheduled_time == same
    assert one_time.get(TEAM, schedule.id).version == 2 and desired() == first
    # Another time: a new generation, in the same single write
    before = one_time.update_pending(
        TEAM, schedule.id, {"scheduled_time": moved}, "bob", bump=True, bump_unless={"scheduled_time": moved}
    )
    assert before is not None and before.scheduled_time == same
    assert one_time.get(TEAM, schedule.id).scheduled_time == moved and desired() == first + 1
    # Still only while pending
    one_time.cancel(TEAM, schedule.id, "bob")
    assert (
        one_time.update_pending(TEAM, schedule.id, {}, "bob", bump=True, bump_unless={"scheduled_time": moved}) is None
    )


def test_restore_pending_puts_back_previous_values_only_if_nothing_changed_meanwhile(one_time):
    schedule = a_one_time(one_time)
    original, moved, again = schedule.scheduled_time, T0 + timedelta(hours=5), T0 + timedelta(hours=9)
    one_time.update_pending(TEAM, schedule.id, {"scheduled_time": moved}, "bob")
    # Someone else moved it again: restoring the first change must not undo theirs
    one_time.update_pending(TEAM, schedule.id, {"scheduled_time": again}, "carol")
    assert one_time.restore_pending(schedule.id, {"scheduled_time": moved}, {"scheduled_time": original}) is False
    assert one_time.restore_pending(schedule.id, {"scheduled_time": again}, {"scheduled_time": original}) is True
    assert one_time.get(None, schedule.id).scheduled_time == original


def test_cancel_moves_a_pending_schedule_once(one_time):
    schedule = a_one_time(one_time)
    cancelled = one_time.cancel(None, schedule.id, None, reason="workflow deleted")
    assert (cancelled.status, cancelled.error_message) == (ScheduleStatus.CANCELLED, "workflow deleted")
    assert one_time.cancel(TEAM, schedule.id, "bob") is None


def test_a_due_schedule_is_claimed_for_firing_once_unless_its_run_was_never_recorded(one_time, clock):
    schedule = a_one_time(one_time, 1)
    due = schedule.scheduled_time
    # Not claimable before it is due, nor once cancelled
    assert one_time.claim_for_firing(schedule.id, T0, due - timedelta(seconds=1)) is None
    claimed = one_time.claim_for_firing(schedule.id, due, due)
    assert claimed.status is IN_PROGRESS
    # A retried delivery can claim it again while no run is recorded; once one is, it cannot
    assert one_time.claim_for_firing(schedule.id, due, due) is not None
    one_time.record_run(schedule.id, RUN)
    one_time.record_run(schedule.id, OTHER_RUN)  # the first recorded run stays
    assert one_time.claim_for_firing(schedule.id, due, due) is None
    assert one_time.get(None, schedule.id).actual_run_id == RUN
    cancelled = a_one_time(one_time, 1)
    one_time.cancel(None, cancelled.id, None)
    assert one_time.claim_for_firing(cancelled.id, due, due) is None


def test_finish_records_the_outcome_once_and_only_for_the_recorded_run(one_time):
    schedule = a_one_time(one_time, 0)
    one_time.claim_for_firing(schedule.id, T0, T0)
    one_time.record_run(schedule.id, RUN)
    assert one_time.finish(schedule.id, ScheduleStatus.COMPLETED, None, OTHER_RUN) is None
    finished = one_time.finish(schedule.id, ScheduleStatus.FAILED, "run failed", RUN)
    assert (finished.status, finished.error_message, finished.actual_run_id) == (
        ScheduleStatus.FAILED,
        "run failed",
        RUN,
    )
    assert one_time.finish(schedule.id, ScheduleStatus.COMPLETED, None, RUN) is None


def test_a_run_ending_before_its_firing_recorded_it_links_itself(one_time):
    schedule = a_one_time(one_time, 0)
    one_time.claim_for_firing(schedule.id, T0, T0)
    assert one_time.finish(schedule.id, ScheduleStatus.COMPLETED, None, RUN).actual_run_id == RUN


def test_in_progress_pages_by_id_and_pending_ids_name_a_workflow_pending_schedules(one_time):
    schedules = [a_one_time(one_time, 0) for _ in range(3)]
    for schedule in schedules:
        one_time.claim_for_firing(schedule.id, T0, T0)
    pending = a_one_time(one_time, 2)
    first = one_time.in_progress(None, 2)
    second = one_time.in_progress(first[-1].id, 2)
    assert [s.id for s in first + second] == sorted(s.id for s in schedules)
    assert one_time.pending_ids_for_workflow(TEAM, WORKFLOW, 10) == [pending.id]
    assert one_time.pending_ids_for_workflow(OTHER_TEAM, WORKFLOW, 10) == []


# -- recurring schedules --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["one_time", "recurring"])
def test_a_create_undo_removes_only_a_record_no_retry_adopted_and_no_push_recorded(one_time, recurring, kind):
    # Given three fresh records, never pushed: one a retry adopts, one whose push is recorded
    if kind == "one_time":
        repository, records = one_time, [a_one_time(one_time, hours) for hours in (1, 2, 3)]
    else:
        repository, records = recurring, [a_recurring(recurring, f"0 {hour} * * *") for hour in (1, 2, 3)]
    fresh, adopted, pushed = records
    assert repository.adopt(adopted.id) is True
    assert repository.record_applied(pushed.id, 1) is True
    # When each one's create is undone
    removed = [repository.remove_unless_adopted(record.id) for record in (fresh, adopted, pushed)]
    # Then only the record nobody took on is gone, and a retry can no longer adopt it
    assert removed == [True, False, False]
    assert [repository.get(None, record.id) is not None for record in (fresh, adopted, pushed)] == [False, True, True]
    assert repository.adopt(fresh.id) is False


def a_recurring(repository, expression: str = "0 9 * * *", *, team: str = TEAM, at=T0, **fields) -> RecurringSchedule:
    schedule = RecurringSchedule(
        **audit_fields(team, "alice", at), workflow_id=WORKFLOW, cron_expression=expression, **fields
    )
    repository.insert(schedule)
    return schedule


def entry(hour: int, status: ExecutionStatus = ExecutionStatus.RUNNING, run: str | None = RUN) -> HistoryEntry:
    scheduled = T0 + timedelta(hours=hour)
    finished = scheduled + timedelta(seconds=5) if status is not ExecutionStatus.RUNNING else None
    return HistoryEntry(
        execution_id=run, scheduled_time=scheduled, started_at=scheduled, finished_at=finished, status=status
    )


def test_a_workflow_has_one_recurring_schedule_per_expression_and_zone(recurring):
    a_recurring(recurring, "0 9 * * *")
    with pytest.raises(DuplicateKey):
        a_recurring(recurring, "0 9 * * *")
    a_recurring(recurring, "0 9 * * *", timezone="Europe/Paris")
    other = a_recurring(recurring, "0 10 * * *")
    # An update that would duplicate another schedule is refused the same way
    with pytest.raises(DuplicateKey):
        recurring.update(TEAM, other.id, {"cron_expression": "0 9 * * *"}, "bob")


def test_recurring_schedules_are_listed_oldest_first_with_filters_and_a_total(recurring):
    older = a_recurring(recurring, "0 1 * * *", at=T0)
    newer = a_recurring(recurring, "0 2 * * *", at=T0 + timedelta(minutes=1), enabled=False)
    a_recurring(recurring, "0 3 * * *", team=OTHER_TEAM)
    page, total = recurring.list(TEAM, None, None, 0, 10)
    assert [s.id for s in page] == [older.id, newer.id] and total == 2
    assert [s.id for s in recurring.list(TEAM, WORKFLOW, False, 0, 10)[0]] == [newer.id]
    assert recurring.list(TEAM, None, None, 1, 10) == ([newer], 2)
    assert recurring.ids_for_workflow(TEAM, WORKFLOW, 10) == [older.id, newer.id]
    assert recurring.get(OTHER_TEAM, older.id) is None


def test_update_returns_the_schedule_as_it_was_and_restore_undoes_it_only_if_unchanged(recurring):
    schedule = a_recurring(recurring)
    assert recurring.update(TEAM, schedule.id, {"enabled": False}, "bob") == schedule
    assert recurring.update(OTHER_TEAM, schedule.id, {"enabled": True}, "eve") is None
    assert recurring.restore(schedule.id, {"enabled": True}, {"enabled": True}) is False
    assert recurring.restore(schedule.id, {"enabled": False}, {"enabled": True}) is True
    assert recurring.get(TEAM, schedule.id).enabled is True


def test_a_firing_is_recorded_once_per_scheduled_time_and_counts_a_run(recurring):
    schedule = a_recurring(recurring)
    assert recurring.start_execution(schedule.id, entry(1)) is True
    assert recurring.start_execution(schedule.id, entry(1, run=OTHER_RUN)) is False  # a duplicate delivery
    stored = recurring.get(TEAM, schedule.id)
    assert (stored.run_count, stored.last_run, stored.last_status) == (
        1,
        T0 + timedelta(hours=1),
        ExecutionStatus.RUNNING,
    )
    assert recurring.history(schedule.id, 0, 10) == ([entry(1)], 1)


def test_a_decided_occurrence_reads_its_row_and_applies_counts_its_crashed_writer_owed(recurring, monkeypatch):
    # Given a schedule whose 01:00 firing added its row, then died before applying its counts
    schedule = a_recurring(recurring)
    assert recurring.decided_execution(schedule.id, entry(1).scheduled_time) is None
    with monkeypatch.context() as patched:
        patched.setattr(recurring._counts, "settle", lambda row: False)
        assert recurring.start_execution(schedule.id, entry(1)) is True
    assert recurring.get(TEAM, schedule.id).run_count == 0
    # When a redelivery reads the occurrence's row
    found = recurring.decided_execution(schedule.id, entry(1).scheduled_time)
    # Then it is the row, and the run it made is counted once however often it is read
    assert found == entry(1)
    assert recurring.decided_execution(schedule.id, entry(1).scheduled_time) == entry(1)
    assert recurring.get(TEAM, schedule.id).run_count == 1
    assert recurring.decided_execution(schedule.id, entry(2).scheduled_time) is None


def test_an_outcome_is_recorded_once_and_bumps_its_counter(recurring):
    schedule = a_recurring(recurring)
    recurring.start_execution(schedule.id, entry(1))
    assert recurring.finish_execution(schedule.id, entry(1, ExecutionStatus.SUCCESS)) is True
    assert recurring.finish_execution(schedule.id, entry(1, ExecutionStatus.FAILED)) is False
    stored = recurring.get(TEAM, schedule.id)
    assert (stored.run_count, stored.success_count, stored.failure_count) == (1, 1, 0)
    assert stored.last_status is ExecutionStatus.SUCCESS
    assert recurring.history(schedule.id, 0, 10)[0][0].status is ExecutionStatus.SUCCESS


def test_an_outcome_arriving_before_its_firing_write_adds_the_row_and_the_firing_then_adds_nothing(recurring):
    schedule = a_recurring(recurring)
    assert recurring.finish_execution(schedule.id, entry(2, ExecutionStatus.FAILED)) is True
    assert recurring.start_execution(schedule.id, entry(2)) is False
    stored = recurring.get(TEAM, schedule.id)
    assert (stored.run_count, stored.failure_count) == (1, 1)


def test_an_older_firing_moves_the_counters_but_not_the_latest_run(recurring):
    schedule = a_recurring(recurring)
    recurring.start_execution(schedule.id, entry(5))
    recurring.start_execution(schedule.id, entry(3))
    stored = recurring.get(TEAM, schedule.id)
    assert (stored.run_count, stored.last_run) == (2, T0 + timedelta(hours=5))


def test_history_is_newest_first_and_running_rows_page_by_row_id(recurring):
    schedule = a_recurring(recurring)
    for hour in (1, 3, 2):
        recurring.start_execution(schedule.id, entry(hour))
    recurring.finish_execution(schedule.id, entry(2, ExecutionStatus.SUCCESS))
    rows, total = recurring.history(schedule.id, 0, 2)
    assert [row.scheduled_time.hour for row in rows] == [15, 14] and total == 3
    first = recurring.running_executions(None, 1)
    second = recurring.running_executions(first[0].row_id, 5)
    running = [row.entry.scheduled_time.hour for row in first + second]
    assert sorted(running) == [13, 15] and {row.schedule_id for row in first + second} == {schedule.id}


def test_an_update_expecting_values_writes_only_while_the_schedule_holds_them(recurring):
    schedule = a_recurring(recurring)
    generation = {"desired_generation": schedule.desired_generation}
    assert recurring.update(TEAM, schedule.id, {"enabled": False}, "bob", expected=generation) == schedule
    recurring.update(TEAM, schedule.id, {"enabled": True}, "bob", bump=True)
    assert recurring.update(TEAM, schedule.id, {"enabled": False}, "eve", expected=generation) is None
    assert recurring.get(TEAM, schedule.id).enabled is True


def test_removing_a_recurring_schedule_removes_its_history(recurring):
    schedule = a_recurring(recurring)
    recurring.start_execution(schedule.id, entry(1))
    recurring.remove(schedule.id)
    assert recurring.get(None, schedule.id) is None and recurring.history(schedule.id, 0, 10) == ([], 0)


def test_a_removed_recurring_schedule_is_remembered_for_the_window_and_an_undone_create_is_not(
    recurring, database, clock
):
    removed, undone = a_recurring(recurring, "0 1 * * *"), a_recurring(recurring, "0 2 * * *")
    assert recurring.was_removed(removed.id) is False
    recurring.remove(removed.id)
    assert recurring.remove_unless_adopted(undone.id) is True
    # The removal is remembered apart from the schedule; undoing a create is not a removal
    assert recurring.was_removed(removed.id) is True and recurring.was_removed(undone.id) is False
    # For the dedupe window (24 h by default), as long as the create's Idempotency-Key is
    clock.advance(hours=24, seconds=1)
    assert recurring.was_removed(removed.id) is False
    shorter = MongoRecurringScheduleRepository(database, clock, removal_window_seconds=60)
    again = a_recurring(shorter, "0 3 * * *")
    shorter.remove(again.id)
    assert shorter.was_removed(again.id) is True
    clock.advance(seconds=61)
    assert shorter.was_removed(again.id) is False
