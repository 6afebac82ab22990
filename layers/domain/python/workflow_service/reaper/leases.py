"""The reaper's lease reconciliation, both ways (DESIGN.md section 5).

1. Lease holders whose entry is older than the grace period are checked against their runs (one read
   per batch of leases): a holder whose run holds no slot (terminal, paused, queued, missing) is
   dropped, conditional on the token the pass saw, so a run that acquired again meanwhile keeps its
   slot. A holder whose run holds a slot but recorded another token (two grants raced, one of them
   overwrote the token) keeps its slot: its entry's token is set to the run's, so the run's own
   release matches it. Dropping it instead would free a slot a live run uses and let admission go
   over the limit before it is given back.
2. Slot-holding runs (``started``/``running``/``waiting_for_user_input``, index-backed, paged by id)
   whose last write is older than the grace period and whose team or workflow lease does not list
   them get their entries back with their recorded token, through the same conditional limit filter
   as an acquisition. If a lease is full (the slot was taken by another run meanwhile) the run is
   failed with a reason instead: it runs without a slot, and leaving it would keep the team above its
   limit; failing frees what it holds and restores the promise that admission never exceeds a limit.

3. Slot-holding runs still ``started`` past the grace period (admitted, but no worker took their
   first turn: the admitting process died before queueing them, or the queue refused the message) are
   queued for a worker again, rather than left to fail at their heartbeat deadline.

The grace period keeps the pass away from writers between their two writes (a dispatcher between
its lease and its status write, a resume between its claim and its acquire). Both directions read in
batches and stop after ``max_batches``: a pass costs in proportion to live leases and slot-holding runs,
and resumes where the last pass stopped (``reaper.cursors``), so every lease and run is seen in turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow_service.errors import DomainError
from workflow_service.models.concurrency import LeaseScope, lease_key
from workflow_service.models.runs import SLOT_HOLDING_STATUSES, RunStatus, TerminationSource
from workflow_service.reaper.cursors import SweepCursors

if TYPE_CHECKING:
    from workflow_service.models.concurrency import Lease
    from workflow_service.ports.concurrency import LeaseStore, RunTerminator, SlotRestorer, WorkQueue
    from workflow_service.ports.runs import RunRepository, RunSlotState

logger = logging.getLogger(__name__)

LOST_SLOT_REASON = (
    "the run lost its concurrency slot and the limit is now taken by other runs: "
    "failed so that the team's limit is not exceeded"
)


class LeaseReconciler:
    """One reconciliation of leases and slot-holding runs; counts go into the reaper's summary."""

    def __init__(
        self,
        runs: RunRepository,
        leases: LeaseStore,
        terminator: RunTerminator,
        restorer: SlotRestorer | None,
        *,
        batch_size: int,
        max_batches: int,
        cursors: SweepCursors | None = None,
        work_queue: WorkQueue | None = None,
    ) -> None:
        self._work_queue = work_queue
        self._runs = runs
        self._cursors = cursors or SweepCursors()
        self._leases = leases
        self._terminator = terminator
        self._restorer = restorer
        self._batch_size = batch_size
        self._max_batches = max_batches

    def reconcile(
        self, cutoff: datetime, summary: dict[str, Any], out_of_time: Callable[[], bool]
    ) -> tuple[set[str], bool]:
        """Both directions for entries and runs older than ``cutoff``; returns the teams whose slots it
        changed (to dispatch) and whether it saw everything."""
        teams: set[str] = set()
        dropped_all = self._drop_orphans(cutoff, summary, teams, out_of_time)
        restored_all = self._restore_missing(cutoff, summary, teams, out_of_time)
        return teams, dropped_all and restored_all

    def _drop_orphans(
        self, cutoff: datetime, summary: dict[str, Any], teams: set[str], out_of_time: Callable[[], bool]
    ) -> bool:
        after = self._cursors.resume("leases")
        finished = False
        for _ in range(self._max_batches):
            if out_of_time():
                break
            leases = self._leases.held(after, self._batch_size)
            if not leases:
                finished = True
                break
            after = leases[-1].key
            states = self._runs.slot_states_of(sorted({run_id for lease in leases for run_id in lease.holders}))
            for lease in leases:
                for run_id, since in lease.holders.items():
                    if since is not None and since > cutoff:
                        continue  # too recent: its owner may be between the lease and the status write
                    if self._reconcile_holder(lease, run_id, states.get(run_id)):
                        summary["leases_reconciled"] += 1
                        teams.add(lease.team_id)
            if len(leases) < self._batch_size:
                finished = True
                break
        self._cursors.stopped("leases", after, finished=finished)
        return finished

    def _reconcile_holder(self, lease: Lease, run_id: str, state: RunSlotState | None) -> bool:
        seen = lease.tokens.get(run_id)
        if state is not None and state.status in SLOT_HOLDING_STATUSES:
            if state.lease_token == seen or not self._leases.retoken(lease.key, run_id, seen, state.lease_token):
                return False
            logger.warning("reaper: %s's entry in %s now carries the token its run recorded", run_id, lease.key)
            return True
        if not self._leases.drop_holder(lease.key, run_id, seen):
            return False
        status = state.status if state is not None else "missing"
        logger.warning("reaper: removed %s's slot in %s (run status %s)", run_id, lease.key, status)
        return True

    def _restore_missing(
        self, cutoff: datetime, summary: dict[str, Any], teams: set[str], out_of_time: Callable[[], bool]
    ) -> bool:
        if self._restorer is None:
            return True
        after = self._cursors.resume("slot_holding_runs")
        finished = False
        for _ in range(self._max_batches):
            if out_of_time():
                break
            batch = self._runs.slot_holding(after, self._batch_size)
            if not batch:
                finished = True
                break
            after = batch[-1].run_id
            settled = [run for run in batch if run.updated_at is None or run.updated_at <= cutoff]
            keys = {lease_key(LeaseScope.TEAM, run.team_id) for run in settled}
            keys |= {lease_key(LeaseScope.WORKFLOW, run.workflow_id) for run in settled}
            leases = self._leases.get_many(sorted(keys))
            for run in settled:
                if run.status == RunStatus.STARTED.value:
                    self._hand_to_worker(run, summary)
                if self._holds_both(run, leases):
                    continue
                self._restore(run, summary, teams)
            if len(batch) < self._batch_size:
                finished = True
                break
        self._cursors.stopped("slot_holding_runs", after, finished=finished)
        return finished

    def _hand_to_worker(self, run: RunSlotState, summary: dict[str, Any]) -> None:
        # Admitted (``started``) past the grace period and no worker took its first turn: the process
        # that admitted it died before queueing it, or the queue refused the message. A message that is
        # merely late makes a duplicate, which the worker's conditional take turns into a no-op.
        if self._work_queue is None:
            return
        try:
            self._work_queue.enqueue_run(run.run_id)
        except DomainError as error:
            summary["errors"] += 1
            logger.warning("reaper: run %s could not be queued for a worker: %s", run.run_id, error.message)
            return
        summary["runs_handed_to_worker"] += 1
        logger.warning("reaper: admitted run %s had not reached a worker; queued it again", run.run_id)

    @staticmethod
    def _holds_both(run: RunSlotState, leases: dict[str, Lease]) -> bool:
        team = leases.get(lease_key(LeaseScope.TEAM, run.team_id))
        workflow = leases.get(lease_key(LeaseScope.WORKFLOW, run.workflow_id))
        return all(lease is not None and run.run_id in lease.holders for lease in (team, workflow))

    def _restore(self, run: RunSlotState, summary: dict[str, Any], teams: set[str]) -> None:
        assert self._restorer is not None
        decision = self._restorer.restore(run.team_id, run.workflow_id, run.run_id, run.lease_token)
        if decision.granted:
            summary["leases_restored"] += 1
            logger.warning("reaper: gave %s run %s its missing slot back", run.status, run.run_id)
            return
        if not (decision.limit > 0 and len(decision.holders) >= decision.limit):
            # Refused with room left: the lease was contended past the store's retries, not full. The run
            # could have its slot, so it is not failed; the next pass tries again.
            logger.info("reaper: %s lease of run %s was contended; restoring next pass", decision.scope, run.run_id)
            return
        failed = self._terminator.fail_run(
            run.run_id, LOST_SLOT_REASON, TerminationSource.STALE_RUN_REAPER, [run.status], team_id=run.team_id
        )
        if failed is not None:
            summary["slotless_runs_failed"] += 1
            teams.add(run.team_id)
            logger.warning(
                "reaper: failed %s run %s: it held no slot and the %s lease is full",
                run.status,
                run.run_id,
                decision.scope,
            )
