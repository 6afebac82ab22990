"""ScheduleFiring, ScheduleRunListener and ScheduleDeletionListener with a fake runs service and scheduler
(the repositories run on the embedded mongomock store, no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.runs import FakeRunSubmitter
from tests.fakes.schedules import RecordingScheduler
from tests.unit.schedules.support import NOON, TEAM, WORKFLOW_ID, one_time
from workflow_service.errors import NotFound
from workflow_service.models.common import Caller, new_object_id
from workflow_service.models.recurring import InputItem, RecurringSchedule
from workflow_service.models.runs import RunStatus, RunTrigger, WorkflowRunInput, WorkflowRunsModel
from workflow_service.models.schedules import ScheduleKind, ScheduleTargetEvent
from workflow_service.schedules.firing import ScheduleFiring, ScheduleRunListener
from workflow_service.schedules.workflow_deletion import ScheduleDeletionListener


@pytest.fixture
def runs() -> FakeRunSubmitter:
    return FakeRunSubmitter()


@pytest.fixture
def firing(store, runs, clock) -> ScheduleFiring:
    return ScheduleFiring(store[0], store[1], runs, clock)


def recurring(store, **fields) -> RecurringSchedule:
    schedule = RecurringSchedule(
        _id=new_object_id(),
        team_id=TEAM,
        created_by="alice",
        created_at=NOON,
        updated_at=NOON,
        workflow_id=WORKFLOW_ID,
        cron_expression="0 * * * *",
        **fields,
    )
    store[1].insert(schedule)
    return schedule


def event(schedule_id: str, kind: ScheduleKind, scheduled_time: str | None) -> ScheduleTargetEvent:
    return ScheduleTargetEvent.model_validate(
        {"schedule_id": schedule_id, "kind": kind, "scheduled_time": scheduled_time}
    )


def finished(run: WorkflowRunsModel, status: RunStatus, at: datetime, error: str | None = None) -> WorkflowRunsModel:
    inner = run.workflow_run.model_copy(update={"status": status, "finished_at": at, "error": error})
    return run.model_copy(update={"workflow_run": inner})


def test_a_one_time_firing_submits_once_with_the_schedules_run_and_dedupe_key(store, firing, runs, clock):
    schedule = one_time(
        store, NOON + timedelta(minutes=5), version=2, run_input=WorkflowRunInput(dynamic_variables={"x": 1})
    )
    clock.advance(minutes=5)
    outcome = firing.fire(event(schedule.id, ScheduleKind.ONE_TIME, "2030-01-01T12:05:00Z"))
    assert outcome.outcome == "started"
    [submitted] = runs.submitted
    assert submitted["dedupe_key"] == f"schedule:{schedule.id}"
    assert (submitted["team_id"], submitted["user_id"], submitted["version_number"]) == (TEAM, "alice", 2)
    assert submitted["run_input"].dynamic_variables == {"x": 1}
    assert submitted["trigger"] == RunTrigger(
        type="schedule", schedule_id=schedule.id, scheduled_time=NOON + timedelta(minutes=5)
    )
    stored = store[0].get(None, schedule.id)
    assert stored.status == "in_progress" and stored.actual_run_id == outcome.run_id


def test_a_run_that_cannot_start_fails_the_one_time_schedule(store, firing, runs, clock):
    schedule = one_time(store, NOON)
    runs.refuse = NotFound("workflow", WORKFLOW_ID)
    outcome = firing.fire(event(schedule.id, ScheduleKind.ONE_TIME, "2030-01-01T12:00:00Z"))
    stored = store[0].get(None, schedule.id)
    assert outcome.outcome == "failed" and stored.status == "failed"
    assert stored.error_message == f"the run could not start: workflow {WORKFLOW_ID} not found"


def test_recurring_firings_are_keyed_by_scheduled_time(store, firing, runs, clock):
    schedule = recurring(
        store,
        version=1,
        input_data=[InputItem.model_validate({"json": {"a": 1}}), InputItem.model_validate({"json": {"a": 2, "b": 3}})],
    )
    clock.current = datetime(2030, 1, 1, 13, 0, 2, tzinfo=UTC)
    first = firing.fire(event(schedule.id, ScheduleKind.RECURRING, "2030-01-01T13:00:00Z"))
    again = firing.fire(event(schedule.id, ScheduleKind.RECURRING, "2030-01-01T13:00:00Z"))
    clock.current = datetime(2030, 1, 1, 14, 0, 1, tzinfo=UTC)
    later = firing.fire(event(schedule.id, ScheduleKind.RECURRING, "2030-01-01T14:00:00Z"))
    assert (first.outcome, again.outcome, later.outcome) == ("started", "duplicate", "started")
    assert [s["dedupe_key"] for s in runs.submitted] == [
        f"recurring:{schedule.id}:2030-01-01T13:00:00Z",
        f"recurring:{schedule.id}:2030-01-01T14:00:00Z",
    ]
    assert runs.submitted[0]["run_input"].dynamic_variables == {"a": 2, "b": 3}
    assert runs.submitted[0]["version_number"] == 1
    assert runs.submitted[0]["trigger"].recurring_schedule_id == schedule.id
    current = store[1].get(None, schedule.id)
    assert current.run_count == 2 and current.last_run == datetime(2030, 1, 1, 14, tzinfo=UTC)


def test_the_outcome_is_recorded_once_even_if_the_run_ends_before_the_firing_records_it(store, runs, clock):
    schedule = recurring(store)
    listener = ScheduleRunListener(store[0], store[1], clock)
    trigger = RunTrigger(
        type="schedule", recurring_schedule_id=schedule.id, scheduled_time=datetime(2030, 1, 1, 13, tzinfo=UTC)
    )
    run = runs.submit(Caller(TEAM, "alice"), WORKFLOW_ID, None, WorkflowRunInput(), trigger, dedupe_key="k")
    done = finished(run, RunStatus.ABORTED_LOOPING_RISK, NOON + timedelta(seconds=3))
    # The run's outcome arrives first (the worker was faster than the firing's own write), twice
    listener.on_run_finished(done)
    listener.on_run_finished(done)
    [row], total = store[1].history(schedule.id, 0, 10)
    assert total == 1 and row.status == "failed" and row.duration_ms == 3000
    assert row.error == "the run ended with status aborted_looping_risk"
    current = store[1].get(None, schedule.id)
    assert (current.run_count, current.success_count, current.failure_count) == (1, 0, 1)


def test_runs_not_started_by_a_schedule_are_ignored(store, runs, clock):
    listener = ScheduleRunListener(store[0], store[1], clock)
    run = runs.submit(Caller(TEAM, "alice"), WORKFLOW_ID, None, WorkflowRunInput(), RunTrigger(), dedupe_key="manual")
    listener.on_run_finished(finished(run, RunStatus.COMPLETED, NOON))
    assert store[1].list(TEAM, None, None, 0, 10) == ([], 0)


def test_deletion_listener_records_first_and_leaves_a_failed_aws_delete_owed(store, clock):
    # Given a pending one-time and a recurring schedule of the workflow, and EventBridge failing
    pending = one_time(store, NOON + timedelta(hours=1))
    cron = recurring(store)
    scheduler = RecordingScheduler()
    listener = ScheduleDeletionListener(store[0], store[1], lambda: scheduler)
    scheduler.fail = True
    # When the workflow is deleted
    listener.on_workflow_deleted(TEAM, WORKFLOW_ID)
    # Then MongoDB holds the outcome at once: cancelled, and a tombstone the API no longer shows
    cancelled = store[0].get(None, pending.id)
    assert cancelled.status == "cancelled" and cancelled.needs_push
    assert store[1].get(None, cron.id) is None
    tombstone = store[1].get_any(cron.id)
    assert tombstone is not None and tombstone.deleted_at is not None and tombstone.needs_push
    # And a retry once EventBridge is back has nothing left to do in MongoDB (the sweep pushes the deletes)
    scheduler.fail = False
    listener.on_workflow_deleted(TEAM, WORKFLOW_ID)
    assert scheduler.deleted == []


def test_deletion_listener_deletes_the_aws_schedules_and_records_it(store, clock):
    pending = one_time(store, NOON + timedelta(hours=1))
    cron = recurring(store)
    scheduler = RecordingScheduler()
    listener = ScheduleDeletionListener(store[0], store[1], lambda: scheduler)
    listener.on_workflow_deleted(TEAM, WORKFLOW_ID)
    assert scheduler.deleted == [f"once-{pending.id}", f"cron-{cron.id}"]
    cancelled = store[0].get(None, pending.id)
    assert cancelled.status == "cancelled" and not cancelled.needs_push
    assert store[1].get_any(cron.id) is None
