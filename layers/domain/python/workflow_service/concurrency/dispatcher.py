"""Starts a team's queued runs, oldest first, while slots are free (DESIGN.md section 5).

Whatever frees a slot calls ``dispatch`` (the run lifecycle after a pause or a terminal status, the
reaper on its sweep), so several dispatchers may run at once for one team. That is safe because each
step is conditional: the slot is a conditional lease write and the start is a conditional status
write from ``not_started`` recording the acquisition's lease token; a dispatcher that loses the
start gives back only the acquisition it made (its token), so a slot someone took since (a resume's
re-acquisition, another dispatcher's start) stays with them.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from workflow_service.errors import DomainError
from workflow_service.models.runs import SLOT_HOLDING_STATUSES, RunStatus, WorkflowRunsModel
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.runs.transitions import Transition, sources

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.concurrency import Admission, WorkQueue
    from workflow_service.ports.metrics import Metrics
    from workflow_service.ports.runs import RunRepository

logger = logging.getLogger(__name__)

# Fields of a queued run that mean nothing once it has started.
_QUEUE_FIELDS = ["queued_at", "queue_deadline_at", "queue_position"]


class FifoDispatcher:
    """Implements ports.RunDispatcher.

    FIFO per team: a run refused by the TEAM limit stops the pass (nothing behind it may overtake
    it); a run refused by its WORKFLOW's cap is skipped, because later runs of other workflows may
    fit. A workflow found full stays full for the rest of the pass (a slot freed meanwhile triggers
    its own dispatch), so later page reads leave its runs out and reach the runs queued behind them,
    which are then admitted oldest first. Each call reads at most ``max_pages`` pages of
    ``page_size`` queued runs, so its cost is bounded however long the queue is.
    """

    def __init__(
        self,
        runs: RunRepository,
        admission: Admission,
        work_queue: WorkQueue,
        clock: Clock,
        *,
        run_timeout_seconds: int,
        page_size: int = 25,
        max_pages: int = 4,
        metrics: Metrics = DISCARDED_METRICS,
    ) -> None:
        self._runs = runs
        self._metrics = metrics
        self._admission = admission
        self._work_queue = work_queue
        self._clock = clock
        self._run_timeout = timedelta(seconds=run_timeout_seconds)
        self._page_size = page_size
        self._max_pages = max_pages

    def dispatch(self, team_id: str, *, run_inline: str | None = None) -> list[str]:
        admitted: list[str] = []
        full_workflows: set[str] = set()
        seen = 0
        for _ in range(self._max_pages):
            # Every run a page returns leaves the next read: it is started (or was taken by a
            # concurrent writer), or its workflow joins the excluded ones. So each read reaches further.
            page = self._runs.queued(team_id, self._page_size, exclude_workflow_ids=frozenset(full_workflows))
            seen += len(page)
            for run in page:
                run_id, workflow_id = str(run.id), run.workflow_run.workflow_id
                if workflow_id in full_workflows:
                    continue
                decision = self._admission.try_acquire(team_id, workflow_id, run_id)
                if not decision.granted:
                    if decision.scope == "workflow":
                        full_workflows.add(workflow_id)
                        continue
                    return self._measured(admitted, seen)
                if self._start(team_id, run, run_inline, decision.token):
                    admitted.append(run_id)
            if len(page) < self._page_size:
                break
        return self._measured(admitted, seen)

    def _measured(self, admitted: list[str], seen: int) -> list[str]:
        if admitted:
            # The runs this pass read and left waiting: the team's queue depth, as far as it looked.
            self._metrics.emit("QueueDepth", max(seen - len(admitted), 0))
        return admitted

    def _start(self, team_id: str, run: WorkflowRunsModel, run_inline: str | None, lease_token: str) -> bool:
        run_id, workflow_id = str(run.id), run.workflow_run.workflow_id
        now = self._clock.now()
        changes = {
            "status": RunStatus.STARTED.value,
            "started_at": now,
            "heartbeat_at": now,
            "heartbeat_deadline_at": now + self._run_timeout,
            "lease_token": lease_token,
        }
        started = self._runs.change_status(None, run_id, sources(Transition.ADMIT), changes, unset=_QUEUE_FIELDS)
        if started is None:
            # Cancelled, paused, reaped or deleted meanwhile, or started by a concurrent dispatcher. Only
            # this acquisition's token is given back: a later acquisition (a resume) wrote its own. A run
            # now holding a slot keeps the entry (its token, if another grant overwrote it, is re-aligned
            # with the run's by the reaper).
            current = self._runs.get(None, run_id)
            if current is None or current.workflow_run.status not in SLOT_HOLDING_STATUSES:
                self._admission.release(team_id, workflow_id, run_id, lease_token)
            return False
        if run_id != run_inline:
            try:
                self._work_queue.enqueue_run(run_id)
            except DomainError as error:
                # The run is started and holds its slot; with no worker it never heartbeats, so the
                # reaper fails it at its heartbeat deadline and frees the slot.
                logger.error("run %s was admitted but could not be queued for a worker: %s", run_id, error.message)
        queued_at = run.workflow_run.queued_at
        if queued_at is not None:
            waited_ms = (now - queued_at).total_seconds() * 1000
            self._metrics.emit("QueueWait", waited_ms, "Milliseconds", metadata={"run_id": run_id, "team_id": team_id})
        logger.info("admitted queued run %s of team %s", run_id, team_id)
        return True
