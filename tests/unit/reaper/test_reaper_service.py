"""StaleRunReaper over fakes: bounded batches, one bad run never blocks the rest, reconciliation rules."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from bson import ObjectId

from tests.fakes.metrics import InMemoryMetrics
from tests.unit.concurrency.fakes import T0, FixedClock
from workflow_service.errors import StoreUnavailable
from workflow_service.models.concurrency import Lease, LeaseScope
from workflow_service.models.runs import RunStatus, WorkflowRun, WorkflowRunsModel
from workflow_service.reaper.service import StaleRunReaper
from workflow_service.settings import ReaperSettings

WORKFLOW = "5eb7cf5a86d9755df3a6c593"


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


class Runs:
    """stale() answers from a list per deadline field; statuses_of from a dict."""

    def __init__(
        self, stale: dict[str, list[WorkflowRunsModel]] | None = None, statuses: dict[str, str] | None = None
    ) -> None:
        self.stale_runs = stale or {}
        self.statuses = statuses or {}
        self.stale_calls = 0

    def stale(self, statuses, deadline_field, now, limit):
        self.stale_calls += 1
        return self.stale_runs.get(deadline_field, [])[:limit]

    def statuses_of(self, run_ids):
        return {run_id: self.statuses[run_id] for run_id in run_ids if run_id in self.statuses}


class Terminator:
    def __init__(self, runs: Runs, explode_on: set[str] = frozenset()) -> None:
        self.runs = runs
        self.explode_on = explode_on
        self.failed: list[tuple[str, str]] = []
        self.deadline_checks: list[tuple[str | None, object]] = []

    def fail_run(self, run_id, reason, source, from_statuses, *, deadline_field=None, deadline_before=None):
        self.deadline_checks.append((deadline_field, deadline_before))
        if run_id in self.explode_on:
            raise RuntimeError("listener down")
        for runs in self.runs.stale_runs.values():
            for run in runs:
                if run.id == run_id:
                    runs.remove(run)
                    self.failed.append((run_id, reason))
                    return run
        return None


class Leases:
    def __init__(self, leases: list[Lease] = ()) -> None:
        self.leases = list(leases)
        self.dropped: list[tuple[str, str]] = []

    def held(self, after_key, limit):
        return [lease for lease in self.leases if after_key is None or lease.key > after_key][:limit]

    def drop_holder(self, key, run_id, since):
        self.dropped.append((key, run_id))
        return True


class Dispatcher:
    def __init__(self) -> None:
        self.teams: list[str] = []

    def dispatch(self, team_id, *, run_inline=None):
        self.teams.append(team_id)
        return []


class QueuedTeams:
    def __init__(self, teams=()) -> None:
        self.teams = list(teams)

    def queued_team_ids(self, limit):
        return self.teams[:limit]


class Schedules:
    """A ScheduleReconciler answering ``report`` (or raising ``error``), recording how it was called."""

    def __init__(self, report: dict | None = None, error: Exception | None = None) -> None:
        self.report = report or {"schedules_reconciled": 0, "history_reconciled": 0, "errors": 0, "complete": True}
        self.error = error
        self.calls: list[dict] = []

    def reconcile(self, limit, *, max_batches=1, should_stop=None):
        self.calls.append({"limit": limit, "max_batches": max_batches, "stopped": should_stop()})
        if self.error is not None:
            raise self.error
        return dict(self.report)


def reaper(
    runs, terminator=None, leases=None, dispatcher=None, queued=None, schedules=None, metrics=None, **settings
) -> StaleRunReaper:
    return StaleRunReaper(
        runs,
        terminator or Terminator(runs),
        leases or Leases(),
        dispatcher or Dispatcher(),
        queued or QueuedTeams(),
        FixedClock(T0 + timedelta(hours=1)),
        ReaperSettings(**{"batch_size": 10, "max_batches": 10, "lease_grace_seconds": 60, **settings}),
        schedules=schedules,
        **({"metrics": metrics} if metrics is not None else {}),
    )


def test_batches_are_bounded_per_reason():
    runs = Runs({"heartbeat_deadline_at": [stale_run() for _ in range(7)]})
    summary = reaper(runs, batch_size=2, max_batches=3).reap()
    assert summary["heartbeat_expired"] == 6 and summary["complete"] is False
    assert len(runs.stale_runs["heartbeat_deadline_at"]) == 1


def test_a_run_that_cannot_be_failed_is_counted_and_the_rest_are_still_reaped():
    bad, *good = [stale_run() for _ in range(3)]
    runs = Runs({"heartbeat_deadline_at": [bad, *good]})
    summary = reaper(runs, Terminator(runs, explode_on={bad.id}), batch_size=10).reap()
    assert summary["heartbeat_expired"] == 2 and summary["errors"] == 1


def test_a_run_that_keeps_failing_is_not_retried_in_a_busy_loop():
    bad = stale_run()
    runs = Runs({"heartbeat_deadline_at": [bad]})
    summary = reaper(runs, Terminator(runs, explode_on={bad.id}), batch_size=1, max_batches=50).reap()
    assert summary["errors"] == 1
    # This reason: its batch and one re-read that finds nothing new; the two other reasons: one read each
    assert runs.stale_calls == 2 + 2


def test_an_unreachable_store_aborts_the_pass():
    runs = Runs({"heartbeat_deadline_at": [stale_run()]})

    class Down(Terminator):
        def fail_run(self, *args, **kwargs):
            raise StoreUnavailable("down")

    with pytest.raises(StoreUnavailable):
        reaper(runs, Down(runs)).reap()


def test_reconciliation_removes_only_old_holders_of_runs_that_hold_no_slot():
    old, recent = T0, T0 + timedelta(hours=1) - timedelta(seconds=10)
    lease = Lease(
        key="team:t",
        scope=LeaseScope.TEAM,
        team_id="t",
        holders={
            "running-old": old,
            "done-old": old,
            "paused-old": old,
            "queued-old": old,
            "missing-old": old,
            "done-recent": recent,
            "no-since": None,
        },
    )
    runs = Runs(
        statuses={
            "running-old": "running",
            "done-old": "completed",
            "paused-old": "paused",
            "queued-old": "not_started",
            "done-recent": "failed",
            "no-since": "cancelled",
        }
    )
    leases, dispatcher = Leases([lease]), Dispatcher()
    summary = reaper(runs, leases=leases, dispatcher=dispatcher).reap()
    assert sorted(run_id for _, run_id in leases.dropped) == [
        "done-old",
        "missing-old",
        "no-since",
        "paused-old",
        "queued-old",
    ]
    assert summary["leases_reconciled"] == 5
    assert dispatcher.teams == ["t"]


def test_teams_with_queued_runs_are_dispatched_once_each():
    dispatcher = Dispatcher()
    lease = Lease(key="team:a", scope=LeaseScope.TEAM, team_id="a", holders={"gone": T0})
    summary = reaper(Runs(), leases=Leases([lease]), dispatcher=dispatcher, queued=QueuedTeams(["a", "b"])).reap()
    assert sorted(dispatcher.teams) == ["a", "b"] and summary["teams_dispatched"] == 2


def test_out_of_time_starts_nothing():
    runs = Runs({"heartbeat_deadline_at": [stale_run()]})
    dispatcher = Dispatcher()
    summary = reaper(runs, dispatcher=dispatcher, queued=QueuedTeams(["a"])).reap(time_left=lambda: 1.0)
    assert summary["complete"] is False and summary["heartbeat_expired"] == 0
    assert runs.stale_calls == 0 and dispatcher.teams == []


def test_schedule_reconciliation_runs_within_the_pass_budget_and_is_reported():
    # Given a reconciler that repaired three schedules, failed on one, and ran out of budget
    schedules = Schedules(
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
    runs = Runs({"heartbeat_deadline_at": [bad]})
    summary = reaper(
        runs, Terminator(runs, explode_on={bad.id}), schedules=schedules, batch_size=7, max_batches=3
    ).reap()
    # Then it was asked for batches of the reaper's size and budget, and its counts are in the summary
    assert schedules.calls == [{"limit": 7, "max_batches": 3, "stopped": False}]
    assert (summary["schedules_reconciled"], summary["schedules_refired"], summary["history_reconciled"]) == (2, 1, 0)
    # Its errors add to the pass's, and its unfinished sweep makes the pass incomplete
    assert summary["errors"] == 2 and summary["complete"] is False


def test_a_pass_without_a_schedule_reconciler_reports_no_schedule_counts():
    summary = reaper(Runs()).reap()
    assert "schedules_reconciled" not in summary and summary["complete"] is True


def test_out_of_time_tells_the_schedule_reconciler_to_stop():
    schedules = Schedules()
    summary = reaper(Runs(), schedules=schedules).reap(time_left=lambda: 1.0)
    assert schedules.calls[0]["stopped"] is True and summary["complete"] is False


def test_a_store_outage_while_reconciling_schedules_fails_the_pass():
    with pytest.raises(StoreUnavailable):
        reaper(Runs(), schedules=Schedules(error=StoreUnavailable("down"))).reap()


def test_repairs_are_counted_per_kind_and_an_idle_pass_logs_at_debug(caplog):
    metrics = InMemoryMetrics()
    runs = Runs({"heartbeat_deadline_at": [stale_run() for _ in range(2)]})
    reaper(runs, metrics=metrics).reap()
    assert [(m.name, m.value, m.dimensions) for m in metrics.emitted] == [
        ("ReaperRepairs", 2, {"kind": "heartbeat_expired"})
    ]
    # A pass with nothing to do: no metric, and its summary only at DEBUG (an idle service is quiet)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="workflow_service.reaper.service"):
        reaper(Runs({}), metrics=metrics).reap()
    assert len(metrics.emitted) == 1
    assert [(r.levelno, r.getMessage()[:11]) for r in caplog.records] == [(logging.DEBUG, "reaper pass")]
