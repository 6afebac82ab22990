"""The stale-run reaper (DESIGN.md section 6): one pass per EventBridge rate-rule invocation.

A pass
1. fails runs past a deadline stored on the run, each with ``termination_source=stale_run_reaper``
   and a reason naming what expired:
   - queued (``not_started``) past ``queue_deadline_at``,
   - ``started``/``running`` past ``heartbeat_deadline_at`` (the executor died or hangs),
   - ``waiting_for_user_input`` past ``input_deadline_at``,
   - ``paused`` past ``pause_deadline_at`` (set by the pause, ``REAPER_PAUSE_TTL_SECONDS`` later, and
     cleared when a resumed turn commits; a resume refused for lack of a slot leaves it in force);
   failing goes through ``runs.lifecycle``, which releases the slot, notifies listeners (schedules
   record the outcome) and dispatches the team's queue;
2. reconciles leases both ways (reaper.leases): a holder whose run holds no slot any more (terminal,
   paused, still queued, or missing) and acquired it longer ago than the grace period is removed
   (``leases_reconciled``, which also counts entries re-aligned with their run's token), and a
   slot-holding run without its entries gets them back under the limits (``leases_restored``), or is
   failed when the limit is taken (``slotless_runs_failed``) — the grace period keeps the pass away
   from a dispatcher or a resume that is between its lease write and its status write; an admitted
   run still ``started`` past the grace period never reached a worker and is queued for one again
   (``runs_handed_to_worker``);
3. reconciles schedules (``ports.ScheduleReconciler``, when wired): one-time schedules and recurring
   history rows whose run ended without the outcome being recorded (a lost notification) are
   finished as the run listener would have, and one-time schedules a failed delivery left claimed
   without a run are fired again, and history rows a crash left owing their schedule's counters
   settle them (counted as ``schedules_reconciled``, ``history_reconciled``, ``schedules_refired``,
   ``schedules_failed`` and ``history_counts_settled``);
4. finishes the workflow deletions a crash left half done (``workflow_deletions_finished``;
   workflows.deletion: the tombstone's runs, schedules and triggers wound down, its documents removed);
5. re-emits webhook events from the outbox markers a crash left on runs, workflows and versions
   (``webhook_markers_reemitted``; webhooks.outbox, through one sparse index per action);
6. dispatches the teams touched by reconciliation and the teams with queued runs (a sweep, in case
   whatever freed a slot died before dispatching);
7. re-sends overdue webhook events to the delivery queue (``webhook_events_redispatched``, one batch
   of ``batch_size``, when wired): a lost message, a deliverer that died, a retry due later than the
   queue's 900 s maximum delay.

Every step reads in batches of ``batch_size`` through index-backed queries and stops after
``max_batches`` batches, so a pass costs in proportion to the stale runs and live leases it finds,
never to the number of runs stored. Each write is conditional, so repeating a pass (or two passes
overlapping) changes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from workflow_service.errors import StoreUnavailable
from workflow_service.models.common import format_utc
from workflow_service.models.runs import RunStatus, TerminationSource, WorkflowRun
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.reaper.leases import LeaseReconciler

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.concurrency import (
        LeaseStore,
        QueuedTeamFinder,
        RunDispatcher,
        RunTerminator,
        SlotRestorer,
        WorkQueue,
    )
    from workflow_service.ports.metrics import Metrics
    from workflow_service.ports.runs import RunRepository
    from workflow_service.ports.schedules import ScheduleReconciler
    from workflow_service.ports.webhooks import OutboxReemitter
    from workflow_service.ports.workflows import AbandonedDeletionFinisher
    from workflow_service.reaper.cursors import SweepCursors
    from workflow_service.settings.concurrency import ReaperSettings
    from workflow_service.webhooks.delivery import DueDeliveries as DueWebhookDeliveries

logger = logging.getLogger(__name__)

# Summary entries that say how a pass went rather than what it did.
_PASS_BOOKKEEPING = frozenset({"complete", "round_trips"})
# Summary counts of the lease reconciliation (reaper.leases).
_LEASE_REPAIRS = ("leases_reconciled", "leases_restored", "slotless_runs_failed", "runs_handed_to_worker")
# Stop starting batches when the invocation has less time than this left.
SAFETY_MARGIN_SECONDS = 10.0


def _at(value: datetime | None) -> str:
    return format_utc(value) if value is not None else "an unknown time"


def heartbeat_reason(run: WorkflowRun) -> str:
    last_sign_of_life = run.heartbeat_at or run.started_at
    return (
        f"no heartbeat since {_at(last_sign_of_life)}: exceeded the run timeout "
        f"(deadline {_at(run.heartbeat_deadline_at)})"
    )


def input_reason(run: WorkflowRun) -> str:
    return f"waited for user input longer than the input timeout (deadline {_at(run.input_deadline_at)})"


def pause_reason(run: WorkflowRun) -> str:
    return f"paused longer than the pause TTL without being resumed (deadline {_at(run.pause_deadline_at)})"


def queue_reason(run: WorkflowRun) -> str:
    return (
        f"queued longer than the queue TTL: waiting for a concurrency slot since {_at(run.queued_at)} "
        f"(deadline {_at(run.queue_deadline_at)})"
    )


class StaleRule(NamedTuple):
    """Which runs are stale for one reason, and how the reason is worded."""

    name: str
    statuses: tuple[RunStatus, ...]
    deadline_field: str
    reason: Callable[[WorkflowRun], str]


# Expired queued runs go first: the slots the other rules free are dispatched at once, and must not
# start a run whose queue TTL has already passed.
STALE_RULES = (
    StaleRule("queue_expired", (RunStatus.NOT_STARTED,), "queue_deadline_at", queue_reason),
    StaleRule("heartbeat_expired", (RunStatus.STARTED, RunStatus.RUNNING), "heartbeat_deadline_at", heartbeat_reason),
    StaleRule("input_expired", (RunStatus.WAITING_FOR_USER_INPUT,), "input_deadline_at", input_reason),
    StaleRule("pause_expired", (RunStatus.PAUSED,), "pause_deadline_at", pause_reason),
)


class StaleRunReaper:
    """One reaper pass; see the module docstring."""

    def __init__(
        self,
        runs: RunRepository,
        terminator: RunTerminator,
        leases: LeaseStore,
        dispatcher: RunDispatcher,
        queued_teams: QueuedTeamFinder,
        clock: Clock,
        settings: ReaperSettings,
        *,
        schedules: ScheduleReconciler | None = None,
        round_trips: Callable[[], int] | None = None,
        metrics: Metrics = DISCARDED_METRICS,
        restorer: SlotRestorer | None = None,
        webhook_deliveries: DueWebhookDeliveries | None = None,
        webhook_outboxes: tuple[OutboxReemitter, ...] = (),
        workflow_deletions: AbandonedDeletionFinisher | None = None,
        cursors: SweepCursors | None = None,
        work_queue: WorkQueue | None = None,
    ) -> None:
        """``restorer`` gives slot-holding runs their missing lease entries back (without it, leases are
        only reconciled one way). ``webhook_outboxes`` re-emit webhook events from leftover markers.
        ``workflow_deletions`` finishes deletions a crash left half done. ``cursors`` keeps where the
        lease sweeps stopped, so passes take turns over more leases than one pass reads."""
        self._cursors = cursors
        # Admitted runs that never reached a worker are queued again (without it, they fail at their deadline).
        self._work_queue = work_queue
        self._workflow_deletions = workflow_deletions
        self._webhook_outboxes = webhook_outboxes
        self._metrics = metrics
        self._restorer = restorer
        self._runs = runs
        self._terminator = terminator
        self._leases = leases
        self._dispatcher = dispatcher
        self._queued_teams = queued_teams
        self._clock = clock
        self._settings = settings
        self._schedules = schedules
        self._round_trips = round_trips
        self._webhook_deliveries = webhook_deliveries

    def reap(self, *, time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        """Run one pass; returns what it did (counts per reason, leases and schedules reconciled, dispatches,
        round trips).

        ``time_left`` (seconds left in this invocation) lets a Lambda stop starting batches before it
        times out; what is left is picked up by the next pass (``complete`` is then False).
        """
        started_round_trips = self._round_trips() if self._round_trips else 0
        if self._cursors is not None:
            self._cursors.begin_pass()
        summary: dict[str, Any] = {rule.name: 0 for rule in STALE_RULES}
        summary.update(
            already_handled=0,
            errors=0,
            leases_reconciled=0,
            leases_restored=0,
            slotless_runs_failed=0,
            runs_handed_to_worker=0,
            teams_dispatched=0,
            runs_dispatched=0,
            complete=True,
        )

        def out_of_time() -> bool:
            return time_left is not None and time_left() < SAFETY_MARGIN_SECONDS

        for rule in STALE_RULES:
            if not self._fail_stale(rule, summary, out_of_time):
                summary["complete"] = False
        teams, finished = self._reconcile_leases(summary, out_of_time)
        if not finished:
            summary["complete"] = False
        # Before the schedules' reconciliation: what winding down a deleted workflow's schedules owes
        # AWS is pushed in the same pass.
        repairs = self._finish_workflow_deletions(summary, out_of_time)
        repairs += self._reconcile_schedules(summary, out_of_time)
        summary["webhook_markers_reemitted"] = self._reemit_webhook_events(summary, out_of_time)
        if not out_of_time():
            teams.update(self._queued_teams.queued_team_ids(self._settings.batch_size))
        for team_id in sorted(teams):
            if out_of_time():
                summary["complete"] = False
                break
            try:
                summary["runs_dispatched"] += len(self._dispatcher.dispatch(team_id))
                summary["teams_dispatched"] += 1
            except StoreUnavailable:
                raise
            except Exception:
                summary["errors"] += 1
                logger.exception("reaper: dispatching the queue of team %s failed", team_id)
        # -- webhook deliveries overdue (a lost queue message, a dead deliverer, a delay beyond 900 s) --
        if self._webhook_deliveries is not None:
            self._redispatch_webhook_deliveries(summary, out_of_time)
        if self._round_trips:
            summary["round_trips"] = self._round_trips() - started_round_trips
        repaired = {name: summary[name] for name in [rule.name for rule in STALE_RULES] + repairs}
        for name in _LEASE_REPAIRS:
            repaired[name] = summary[name]
        for kind, count in repaired.items():
            if count:
                self._metrics.emit("ReaperRepairs", count, dimensions={"kind": kind})
        # An idle pass (every few seconds, deployed and locally) is DEBUG, so an idle service is quiet.
        did_something = any(value for name, value in summary.items() if name not in _PASS_BOOKKEEPING)
        anomalies = [summary[rule.name] for rule in STALE_RULES] + [summary[name] for name in repairs]
        anomalies += [summary["leases_restored"], summary["slotless_runs_failed"]]
        log = logger.warning if any(anomalies) else logger.info if did_something else logger.debug
        log("reaper pass: %s", summary)
        return summary

    def _fail_stale(self, rule: StaleRule, summary: dict[str, Any], out_of_time: Callable[[], bool]) -> bool:
        """Fail the runs ``rule`` finds stale; False if the batch budget or the time ran out first."""
        statuses = [status.value for status in rule.statuses]
        attempted: set[str] = set()
        for _ in range(self._settings.max_batches):
            if out_of_time():
                return False
            now = self._clock.now()
            batch = self._runs.stale(statuses, rule.deadline_field, now, self._settings.batch_size)
            # A run whose failing raised stays stale; never retry it within the pass (no busy loop).
            fresh = [run for run in batch if str(run.id) not in attempted]
            for run in fresh:
                run_id = str(run.id)
                attempted.add(run_id)
                try:
                    failed = self._terminator.fail_run(
                        run_id,
                        rule.reason(run.workflow_run),
                        TerminationSource.STALE_RUN_REAPER,
                        statuses,
                        deadline_field=rule.deadline_field,
                        deadline_before=now,
                        team_id=run.owner_team_id,
                    )
                except StoreUnavailable:
                    raise
                except Exception:
                    # One run whose finalization fails (e.g. a listener) must not keep the others hung.
                    summary["errors"] += 1
                    logger.exception("reaper: failing stale run %s (%s) failed", run_id, rule.name)
                    continue
                if failed is None:
                    summary["already_handled"] += 1  # it moved on (finished, admitted, resumed) meanwhile
                else:
                    summary[rule.name] += 1
            if len(batch) < self._settings.batch_size or not fresh:
                return True
        return False

    def _redispatch_webhook_deliveries(self, summary: dict[str, Any], out_of_time: Callable[[], bool]) -> None:
        """Re-send one bounded batch of overdue webhook events to the delivery queue."""
        assert self._webhook_deliveries is not None
        summary["webhook_events_redispatched"] = 0
        if out_of_time():
            summary["complete"] = False
            return
        try:
            sent = self._webhook_deliveries.redispatch(self._settings.batch_size)
        except StoreUnavailable:
            raise
        except Exception:
            summary["errors"] += 1
            logger.exception("reaper: re-sending overdue webhook deliveries failed")
            return
        summary["webhook_events_redispatched"] = sent
        if sent == self._settings.batch_size:
            summary["complete"] = False

    def _reemit_webhook_events(self, summary: dict[str, Any], out_of_time: Callable[[], bool]) -> int:
        """Events whose causing write's marker is still there (a crash before the events or the clearing)."""
        reemitted = 0
        for outbox in self._webhook_outboxes:
            if out_of_time():
                summary["complete"] = False
                break
            try:
                reemitted += outbox.reemit(self._settings.batch_size)
            except StoreUnavailable:
                raise
            except Exception:
                summary["errors"] += 1
                logger.exception("reaper: re-emitting webhook events failed")
        return reemitted

    def _finish_workflow_deletions(self, summary: dict[str, Any], out_of_time: Callable[[], bool]) -> list[str]:
        """One batch of half-done workflow deletions; returns the name of its repair count."""
        if self._workflow_deletions is None:
            return []
        summary["workflow_deletions_finished"] = 0
        if out_of_time():
            summary["complete"] = False
            return ["workflow_deletions_finished"]
        try:
            summary["workflow_deletions_finished"] = self._workflow_deletions.finish(self._settings.batch_size)
        except StoreUnavailable:
            raise
        except Exception:
            summary["errors"] += 1
            logger.exception("reaper: finishing workflow deletions failed")
        return ["workflow_deletions_finished"]

    def _reconcile_schedules(self, summary: dict[str, Any], out_of_time: Callable[[], bool]) -> list[str]:
        """Merge the schedule reconciler's report into ``summary``; returns the names of its repair counts."""
        if self._schedules is None:
            return []
        report = dict(
            self._schedules.reconcile(
                self._settings.batch_size, max_batches=self._settings.max_batches, should_stop=out_of_time
            )
        )
        summary["errors"] += report.pop("errors", 0)
        if not report.pop("complete", True):
            summary["complete"] = False
        summary.update(report)
        return list(report)

    def _reconcile_leases(self, summary: dict[str, Any], out_of_time: Callable[[], bool]) -> tuple[set[str], bool]:
        """Reconcile leases and slot-holding runs both ways; returns the teams touched and whether all were seen."""
        cutoff = self._clock.now() - timedelta(seconds=self._settings.lease_grace_seconds)
        reconciler = LeaseReconciler(
            self._runs,
            self._leases,
            self._terminator,
            self._restorer,
            batch_size=self._settings.batch_size,
            max_batches=self._settings.max_batches,
            cursors=self._cursors,
            work_queue=self._work_queue,
        )
        return reconciler.reconcile(cutoff, summary, out_of_time)
