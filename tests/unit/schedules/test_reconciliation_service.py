"""ScheduleReconciliation with fake runs (the schedule repositories on the embedded mongomock store):
one broken repair never keeps the others stuck, and failures are left for the next pass."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes.runs import FakeRunSubmitter, InMemoryRunRepository
from tests.fakes.schedules import InMemoryReconcilerState
from tests.unit.schedules.support import NOON, TEAM, WORKFLOW_ID, one_time
from workflow_service.errors import StoreUnavailable, UpstreamUnavailable
from workflow_service.models.common import new_object_id
from workflow_service.models.runs import RunStatus, RunTrigger, TriggerType, WorkflowRun, WorkflowRunsModel
from workflow_service.models.schedules import ScheduleStatus
from workflow_service.reaper.cursors import SweepCursors
from workflow_service.schedules.firing import ScheduleFiring, ScheduleRunListener
from workflow_service.schedules.reconciliation import ScheduleReconciliation

GRACE = timedelta(seconds=900)


def ended_run(runs: InMemoryRunRepository, schedule_id: str, status: RunStatus) -> WorkflowRunsModel:
    """A run a firing of ``schedule_id`` started, ended with ``status`` a minute after noon."""
    run = WorkflowRunsModel(
        _id=new_object_id(),
        team_id=TEAM,
        created_at=NOON,
        workflow_run=WorkflowRun(
            logical_id="r",
            workflow_id=WORKFLOW_ID,
            status=status,
            finished_at=NOON + timedelta(minutes=1),
            trigger=RunTrigger(type=TriggerType.SCHEDULE, schedule_id=schedule_id),
        ),
    )
    runs.insert(run)
    return run


@pytest.fixture
def submitter() -> FakeRunSubmitter:
    return FakeRunSubmitter()


@pytest.fixture
def listener(store, clock) -> ScheduleRunListener:
    return ScheduleRunListener(store[0], store[1], clock)


@pytest.fixture
def reconciliation(store, submitter, listener, clock) -> tuple[ScheduleReconciliation, InMemoryRunRepository]:
    return reconciler_over(store, submitter, listener, clock)


def reconciler_over(
    store, submitter, listener, clock, cursors: SweepCursors | None = None
) -> tuple[ScheduleReconciliation, InMemoryRunRepository]:
    runs = InMemoryRunRepository()
    firing = ScheduleFiring(store[0], store[1], submitter, clock)
    reconciler = ScheduleReconciliation(
        store[0],
        store[1],
        runs,
        listener,
        firing,
        clock,
        firing_grace_seconds=int(GRACE.total_seconds()),
        cursors=cursors,
    )
    return reconciler, runs


def in_progress_with_ended_run(store, runs: InMemoryRunRepository, status: RunStatus = RunStatus.COMPLETED):
    schedule = one_time(store, NOON, status=ScheduleStatus.IN_PROGRESS)
    store[0].record_run(schedule.id, ended_run(runs, schedule.id, status).id)
    return schedule.id


def test_one_broken_repair_is_counted_and_the_others_still_happen(store, listener, reconciliation, monkeypatch):
    reconciler, runs = reconciliation
    broken, healthy = in_progress_with_ended_run(store, runs), in_progress_with_ended_run(store, runs, RunStatus.FAILED)
    real_record = listener.record_one_time_outcome

    def record(schedule_id, run):
        if schedule_id == broken:
            raise RuntimeError("a bug in one schedule's document")
        return real_record(schedule_id, run)

    monkeypatch.setattr(listener, "record_one_time_outcome", record)
    report = reconciler.reconcile(10)
    assert (report["schedules_reconciled"], report["errors"], report["complete"]) == (1, 1, True)
    assert store[0].get(None, healthy).status is ScheduleStatus.FAILED
    assert store[0].get(None, broken).status is ScheduleStatus.IN_PROGRESS
    # Once the cause is gone, the next pass repairs the one left behind
    monkeypatch.undo()
    assert reconciler.reconcile(10)["schedules_reconciled"] == 1
    assert store[0].get(None, broken).status is ScheduleStatus.COMPLETED


def test_a_refire_failing_upstream_is_an_error_left_for_a_later_pass(store, submitter, reconciliation, clock):
    reconciler, _ = reconciliation
    claimed = one_time(store, NOON, status=ScheduleStatus.IN_PROGRESS)
    clock.current = NOON + GRACE + timedelta(seconds=1)
    submitter.refuse = UpstreamUnavailable("the work queue did not accept the run")
    report = reconciler.reconcile(10)
    assert (report["schedules_refired"], report["errors"]) == (0, 1)
    assert store[0].get(None, claimed.id).actual_run_id is None
    # The attempt re-claimed it: the next attempt waits a grace period, then succeeds
    submitter.refuse = None
    assert reconciler.reconcile(10)["schedules_refired"] == 0
    clock.advance(seconds=GRACE.total_seconds() + 1)
    assert reconciler.reconcile(10)["schedules_refired"] == 1
    assert store[0].get(None, claimed.id).actual_run_id == submitter.by_key[f"schedule:{claimed.id}"].id


def test_a_store_outage_fails_the_whole_sweep(store, submitter, reconciliation, clock):
    reconciler, _ = reconciliation
    one_time(store, NOON, status=ScheduleStatus.IN_PROGRESS)
    clock.current = NOON + GRACE + timedelta(seconds=1)
    submitter.refuse = StoreUnavailable("the database is unreachable")
    with pytest.raises(StoreUnavailable):
        reconciler.reconcile(10)


def test_pending_and_finished_schedules_are_not_candidates(store, reconciliation, clock):
    reconciler, runs = reconciliation
    one_time(store, NOON - timedelta(hours=1))  # pending, overdue: EventBridge's business, not the reaper's
    done = in_progress_with_ended_run(store, runs)
    assert reconciler.reconcile(10)["schedules_reconciled"] == 1
    clock.advance(hours=2)
    report = reconciler.reconcile(10)
    assert report["schedules_reconciled"] == report["schedules_refired"] == report["errors"] == 0
    assert store[0].get(None, done).status is ScheduleStatus.COMPLETED


def test_resume_points_cost_one_read_a_pass_and_a_write_only_when_they_move(store, submitter, listener, clock):
    state = InMemoryReconcilerState()
    cursors = SweepCursors(state)
    reconciler, runs = reconciler_over(store, submitter, listener, clock, cursors)

    def a_pass() -> tuple[bool, int, int]:
        loads, saves = state.loads, state.saves
        cursors.begin_pass()
        complete = reconciler.reconcile(2, max_batches=2)["complete"]
        return complete, state.loads - loads, state.saves - saves

    def live_firings(count: int) -> None:
        for _ in range(count):
            schedule = one_time(store, NOON, status=ScheduleStatus.IN_PROGRESS)
            store[0].record_run(schedule.id, ended_run(runs, schedule.id, RunStatus.RUNNING).id)

    # A quiet pass (nothing in any sweep): one read of every resume point, no write
    assert a_pass() == (True, 1, 0)
    # Three firings whose runs are still live: the sweep reaches its end from the beginning on every
    # pass (two batches of two), its resume point never moves, nothing is written
    live_firings(3)
    assert a_pass() == a_pass() == (True, 1, 0)
    # Six: more than a pass reads; it stops after the fourth (one write), then reaches the end (one)
    live_firings(3)
    assert a_pass() == (False, 1, 1)
    assert a_pass() == (True, 1, 1)
    assert state.documents["sweep_cursors"]["one_time_in_progress"] is None
