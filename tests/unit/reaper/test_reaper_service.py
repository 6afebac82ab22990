"""StaleRunReaper over fakes: bounded batches, one bad run never blocks the rest, reconciliation rules."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from bson import ObjectId

from tests.fakes.clock import T0, ManualClock
from tests.fakes.concurrency import FixedQueuedTeams, InMemoryLeaseStore, RecordingDispatcher
from tests.fakes.metrics import InMemoryMetrics
from tests.fakes.runs import InMemoryRunRepository, RepositoryTerminator
from tests.fakes.schedules import ScriptedScheduleReconciler
from workflow_service.errors import StoreUnavailable
from workflow_service.models.concurrency import Lease, LeaseScope
from workflow_service.models.runs import RunStatus, WorkflowRun, WorkflowRunsModel
from workflow_service.reaper.service import StaleRunReaper
from workflow_service.settings.concurrency import ReaperSettings

WORKFLOW = "5eb7cf5a86d9755df3a6c593"
NOW = ManualClock(T0 + timedelta(hours=1))


def run_in(status: RunStatus) -> WorkflowRunsModel:
    """A run in ``status`` with no deadline set (so no stale rule applies to it)."""
    return WorkflowRunsModel(
        _id=str(ObjectId()), team_id="t", workflow_run=WorkflowRun(logical_id="r", workflow_id=WORKFLOW, status=status)
    )


def stale_run(status: RunStatus = RunStatus.RUNNING) -> WorkflowRunsModel:
    return WorkflowRunsModel(
        _id=str(ObjectId()),
        team_id="t",
        workflow_run=WorkflowRun(
            logical_id="r",
            workflow_id=WORKFLOW,
            status=status,
            heartbeat_at=T0,
            heartbeat_deadline_at=T0 + timedelta(seconds=60),
        ),
    )


def reaper(
    runs, terminator=None, leases=None, dispatcher=None, queued=None, schedules=None, metrics=None, **settings
) -> StaleRunReaper:
    return StaleRunReaper(
        runs,
        terminator or RepositoryTerminator(runs),
        leases or InMemoryLeaseStore(),
        dispatcher or RecordingDispatcher(),
        queued or FixedQueuedTeams(),
        NOW,
        ReaperSettings(**{"batch_size": 10, "max_batches": 10, "lease_grace_seconds": 60, **settings}),
        schedules=schedules,
        **({"metrics": metrics} if metrics is not None else {}),
    )


def stale_runs(*runs: WorkflowRunsModel) -> InMemoryRunRepository:
    return InMemoryRunRepository(runs)


def still_stale(runs: InMemoryRunRepository) -> list[WorkflowRunsModel]:
    return runs.stale(["running"], "heartbeat_deadline_at", NOW.now(), 100)


def test_batches_are_bounded_per_reason():
    runs = stale_runs(*[stale_run() for _ in range(7)])
    summary = reaper(runs, batch_size=2, max_batches=3).reap()
    assert summary["heartbeat_expired"] == 6 and summary["complete"] is False
    assert len(still_stale(runs)) == 1


def test_a_run_that_cannot_be_failed_is_counted_and_the_rest_are_still_reaped():
    bad, *good = [stale_run() for _ in range(3)]
    runs = stale_runs(bad, *good)
    summary = reaper(runs, RepositoryTerminator(runs, explode_on={bad.id}), batch_size=10).reap()
    assert summary["heartbeat_expired"] == 2 and summary["errors"] == 1
    assert [run.id for run in still_stale(runs)] == [bad.id]


def test_a_run_that_keeps_failing_is_not_retried_in_a_busy_loop():
    bad = stale_run()
    runs = stale_runs(bad)
    summary = reaper(runs, RepositoryTerminator(runs, explode_on={bad.id}), batch_size=1, max_batches=50).reap()
    assert summary["errors"] == 1
    # This reason: its batch and one re-read that finds nothing new; the three other reasons: one read each
    assert runs.reads["stale"] == 2 + 3


def test_a_paused_run_past_its_pause_deadline_is_failed_with_a_reason_naming_the_pause():
    # Given a run paused with a deadline an hour ago, one whose deadline is still ahead, and a running run
    # with a pause deadline left over (a pause rule must only look at paused runs)
    def paused(deadline_minutes: int, status: RunStatus = RunStatus.PAUSED) -> WorkflowRunsModel:
        run = run_in(status)
        run.workflow_run.pause_deadline_at = NOW.now() + timedelta(minutes=deadline_minutes)
        return run

    expired, not_yet, running = paused(-60), paused(5), paused(-60, RunStatus.RUNNING)
    runs = stale_runs(expired, not_yet, running)
    terminator = RepositoryTerminator(runs)
    # When a pass runs
    summary = reaper(runs, terminator).reap()
    # Then only the expired paused run is failed, saying it stayed paused past its deadline
    assert summary["pause_expired"] == 1
    assert terminator.failed == [
        (expired.id, "paused longer than the pause TTL without being resumed (deadline 2030-01-01T12:00:00Z)")
    ]
    assert ("pause_deadline_at", NOW.now()) in terminator.deadline_checks


def test_an_unreachable_store_aborts_the_pass():
    runs = stale_runs(stale_run())

    class Down(RepositoryTerminator):
        def fail_run(self, *args, **kwargs):
            raise StoreUnavailable("down")

    with pytest.raises(StoreUnavailable):
        reaper(runs, Down(runs)).reap()


def test_reconciliation_removes_only_old_holders_of_runs_that_hold_no_slot():
    # Given a team lease held by runs in every situation, most of them acquired long ago
    old, recent = T0, NOW.now() - timedelta(seconds=10)
    statuses = {
        "running-old": RunStatus.RUNNING,
        "done-old": RunStatus.COMPLETED,
        "paused-old": RunStatus.PAUSED,
        "queued-old": RunStatus.NOT_STARTED,
        "done-recent": RunStatus.FAILED,
        "no-since": RunStatus.CANCELLED,
    }
    runs = {name: run_in(status) for name, status in statuses.items()}
    ids = {name: run.id for name, run in runs.items()} | {"missing-old": str(ObjectId())}
    acquired = {name: old for name in ids} | {"done-recent": recent, "no-since": None}
    leases, dispatcher = InMemoryLeaseStore(), RecordingDispatcher()
    leases.seed(
        Lease(key="team:t", scope=LeaseScope.TEAM, team_id="t", holders={ids[n]: at for n, at in acquired.items()})
    )
    # When a pass reconciles leases
    summary = reaper(InMemoryRunRepository(runs.values()), leases=leases, dispatcher=dispatcher).reap()
    # Then only the running run and the recent holder keep their slots, and the team is dispatched
    assert set(leases.get(LeaseScope.TEAM, "t").holders) == {ids["running-old"], ids["done-recent"]}
    assert summary["leases_reconciled"] == 5
    assert dispatcher.teams == ["t"]


def test_teams_with_queued_runs_are_dispatched_once_each():
    dispatcher, leases = RecordingDispatcher(), InMemoryLeaseStore()
    leases.seed(Lease(key="team:a", scope=LeaseScope.TEAM, team_id="a", holders={"gone": T0}))
    queued = FixedQueuedTeams(["a", "b"])
    summary = reaper(InMemoryRunRepository(), leases=leases, dispatcher=dispatcher, queued=queued).reap()
    assert sorted(dispatcher.teams) == ["a", "b"] and summary["teams_dispatched"] == 2


def test_out_of_time_starts_nothing():
    runs = stale_runs(stale_run())
    dispatcher = RecordingDispatcher()
    summary = reaper(runs, dispatcher=dispatcher, queued=FixedQueuedTeams(["a"])).reap(time_left=lambda: 1.0)
    assert summary["complete"] is False and summary["heartbeat_expired"] == 0
    assert runs.reads["stale"] == 0 and dispatcher.teams == []


def test_schedule_reconciliation_runs_within_the_pass_budget_and_is_reported():
    # Given a reconciler that repaired three schedules, failed on one, and ran out of budget
    schedules = ScriptedScheduleReconciler(
        {
            "schedules_reconciled": 2,
            "schedules_refired": 1,
            "schedules_failed": 0,
            "history_reconciled": 0,
            "errors": 1,
            "complete": False,
        }
    )
    bad = stale_run()
    runs = stale_runs(bad)
    summary = reaper(
        runs, RepositoryTerminator(runs, explode_on={bad.id}), schedules=schedules, batch_size=7, max_batches=3
    ).reap()
    # Then it was asked for batches of the reaper's size and budget, and its counts are in the summary
    assert schedules.calls == [{"limit": 7, "max_batches": 3, "stopped": False}]
    assert (summary["schedules_reconciled"], summary["schedules_refired"], summary["history_reconciled"]) == (2, 1, 0)
    # Its errors add to the pass's, and its unfinished sweep makes the pass incomplete
    assert summary["errors"] == 2 and summary["complete"] is False


def test_a_pass_without_a_schedule_reconciler_reports_no_schedule_counts():
    summary = reaper(InMemoryRunRepository()).reap()
    assert "schedules_reconciled" not in summary and summary["complete"] is True


def test_out_of_time_tells_the_schedule_reconciler_to_stop():
    schedules = ScriptedScheduleReconciler()
    summary = reaper(InMemoryRunRepository(), schedules=schedules).reap(time_left=lambda: 1.0)
    assert schedules.calls[0]["stopped"] is True and summary["complete"] is False


def test_a_store_outage_while_reconciling_schedules_fails_the_pass():
    with pytest.raises(StoreUnavailable):
        reaper(InMemoryRunRepository(), schedules=ScriptedScheduleReconciler(error=StoreUnavailable("down"))).reap()


def test_repairs_are_counted_per_kind_and_an_idle_pass_logs_at_debug(caplog):
    metrics = InMemoryMetrics()
    reaper(stale_runs(stale_run(), stale_run()), metrics=metrics).reap()
    assert [(m.name, m.value, m.dimensions) for m in metrics.emitted] == [
        ("ReaperRepairs", 2, {"kind": "heartbeat_expired"})
    ]
    # A pass with nothing to do: no metric, and its summary only at DEBUG (an idle service is quiet)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="workflow_service.reaper.service"):
        reaper(InMemoryRunRepository(), metrics=metrics).reap()
    assert len(metrics.emitted) == 1
    assert [(r.levelno, r.getMessage()[:11]) for r in caplog.records] == [(logging.DEBUG, "reaper pass")]
