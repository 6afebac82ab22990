"""Starts a team's queued runs, oldest first, while slots are free (DESIGN.md section 5).

Whatever frees a slot calls ``dispatch`` (the run lifecycle after a pause or a terminal status, the
reaper on its sweep), so several dispatchers may run at once for one team. That is safe because each
step is conditional: the slot is a conditional lease write and the start is a conditional status
write from ``not_started`` recording the acquisition's lease token; a dispatcher that loses the
start gives back only the acquisition it made (its token), so a slot someone took since (a resume's
re-acquisition, another dispatcher's start) stays with them.

A pass reads the team's queue per workflow, not as one list: the ids of the workflows with queued
runs (``distinct`` over the ``team_workflow_queue`` index: one key range per workflow), then the head
of each workflow's queue (its oldest run, one bounded read through the same index), and merges the
heads by (``queued_at``, id). So a run that fits is reached in the first pass however many runs of
full workflows are queued ahead of it, and a pass costs 1 + (queued workflows) + (runs admitted)
reads, whatever the length of the queue.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Set
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from workflow_service.errors import DomainError
from workflow_service.models.runs import SLOT_HOLDING_STATUSES, RunStatus, WorkflowRunsModel
from workflow_service.models.webhook_actions import WebhookAction
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.runs.transitions import Transition, sources
from workflow_service.webhooks.outbox import RunOutbox

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.concurrency import Admission, WorkQueue
    from workflow_service.ports.metrics import Metrics
    from workflow_service.ports.runs import RunRepository

logger = logging.getLogger(__name__)

# Fields of a queued run that mean nothing once it has started.
_QUEUE_FIELDS = ["queued_at", "queue_deadline_at", "queue_position"]
# A queue head in the merge: ordered as the team's queue is (queued_at, then id); ids are unique, so
# runs themselves are never compared.
_HeadEntry = tuple[datetime, str, WorkflowRunsModel]
_NEVER = datetime.min.replace(tzinfo=UTC)


def _entry(run: WorkflowRunsModel) -> _HeadEntry:
    return (run.workflow_run.queued_at or _NEVER, str(run.id), run)


class FifoDispatcher:
    """Implements ports.RunDispatcher.

    FIFO per team over the merged heads of the workflows' queues: a run refused by the TEAM limit
    stops the pass (nothing behind it may overtake it); a run refused by its WORKFLOW's cap takes that
    workflow out of the pass, because runs of other workflows may fit (a slot freed meanwhile triggers
    its own dispatch). After a head is admitted, the next run of its workflow becomes that
    workflow's head. Bounds: a pass reads the heads of at most ``max_workflows`` workflows (beyond that,
    a random subset of them, so that successive passes reach every workflow; FIFO then holds within
    the subset) and asks admission about at most ``max_runs`` runs.
    """

    def __init__(
        self,
        runs: RunRepository,
        admission: Admission,
        work_queue: WorkQueue,
        clock: Clock,
        *,
        run_timeout_seconds: int,
        max_workflows: int = 100,
        max_runs: int = 100,
        metrics: Metrics = DISCARDED_METRICS,
        webhooks: RunOutbox | None = None,
    ) -> None:
        """``webhooks``: the outbox whose ``workflow_run_started`` marker the admission write carries."""
        self._webhooks = webhooks or RunOutbox(None, None, clock)
        self._runs = runs
        self._metrics = metrics
        self._admission = admission
        self._work_queue = work_queue
        self._clock = clock
        self._run_timeout = timedelta(seconds=run_timeout_seconds)
        self._max_workflows = max_workflows
        self._max_runs = max_runs

    def dispatch_after_freeing(self, team_id: str) -> None:
        """``dispatch`` for a caller that freed a slot (or changed a limit) and whose own answer must
        stand whatever happens here: a failure is logged, and the reaper's sweep starts what this could not."""
        try:
            self.dispatch(team_id)
        except Exception:
            logger.warning("dispatching team %s after a slot was freed failed", team_id, exc_info=True)

    def dispatch(self, team_id: str, *, run_inline: str | None = None) -> list[str]:
        admitted: list[str] = []
        asked: set[str] = set()
        full: set[str] = set()
        heads = self._queue_heads(team_id)
        if self._pass(team_id, heads, asked, full, admitted, run_inline) and len(asked) < self._max_runs:
            # This pass held a team slot for a moment (the run's workflow then refused it): a concurrent
            # dispatch may have found the team full then and stopped. Read the queue once more, so that a
            # run that fits is not left beside the freed slot until the reaper's sweep.
            heads = self._queue_heads(team_id, skip=full, asked=asked)
            self._pass(team_id, heads, asked, full, admitted, run_inline)
        return self._measured(admitted, len(heads))

    def _pass(
        self,
        team_id: str,
        heads: list[_HeadEntry],
        asked: set[str],
        full: set[str],
        admitted: list[str],
        run_inline: str | None,
    ) -> bool:
        """Admit from ``heads`` in queue order while slots last; whether a team slot was given back."""
        gave_back_team_slot = False
        while heads and len(asked) < self._max_runs:
            _, _, run = heapq.heappop(heads)
            run_id, workflow_id = str(run.id), run.workflow_run.workflow_id
            asked.add(run_id)
            if _queue_ttl_passed(run, self._clock.now()):
                # The reaper's to end (queue_expired), not to start: its queue waits for that pass.
                continue
            decision = self._admission.try_acquire(team_id, workflow_id, run_id)
            if not decision.granted:
                if decision.scope == "workflow":
                    # Full for the rest of the dispatch (a slot freed meanwhile triggers its own
                    # dispatch): its queue leaves the merge, and the heads behind it move up.
                    full.add(workflow_id)
                    gave_back_team_slot = gave_back_team_slot or decision.gave_back_team_slot
                    continue
                heapq.heappush(heads, _entry(run))  # still waiting: counted in the depth
                break
            if self._start(team_id, run, run_inline, decision.token):
                admitted.append(run_id)
            # The run left the queue (started, or taken by a concurrent writer): the workflow's next
            # queued run becomes its head.
            following = self._runs.queue_head(team_id, workflow_id)
            if following is not None and str(following.id) not in asked:
                heapq.heappush(heads, _entry(following))
        return gave_back_team_slot

    def _queue_heads(
        self, team_id: str, *, skip: Set[str] = frozenset(), asked: Set[str] = frozenset()
    ) -> list[_HeadEntry]:
        """The oldest queued run of each workflow with queued runs (at most ``max_workflows``), as a heap;
        none of the workflows in ``skip``, none of the runs in ``asked``."""
        workflow_ids = [
            workflow_id for workflow_id in self._runs.queued_workflow_ids(team_id) if workflow_id not in skip
        ]
        if len(workflow_ids) > self._max_workflows:
            # More workflows wait than one pass reads: a varying subset, so successive passes reach all.
            workflow_ids = random.sample(workflow_ids, self._max_workflows)
        heads = [
            _entry(run)
            for run in map(partial(self._runs.queue_head, team_id), workflow_ids)
            if run is not None and str(run.id) not in asked
        ]
        heapq.heapify(heads)
        return heads

    def _measured(self, admitted: list[str], waiting: int) -> list[str]:
        if admitted:
            # The queued runs this pass saw and left waiting: the head of each workflow still queued,
            # a lower bound of the team's queue depth that costs no extra read.
            self._metrics.emit("QueueDepth", waiting)
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
            **self._webhooks.marker(team_id, WebhookAction.WORKFLOW_RUN_STARTED),
        }
        # Conditional on the queue TTL too: a run that expired since it was read is not started.
        started = self._runs.change_status(
            None,
            run_id,
            sources(Transition.ADMIT),
            changes,
            unset=_QUEUE_FIELDS,
            where={"queue_deadline_at": {"$not": {"$lte": now}}},
        )
        if started is None:
            # Cancelled, paused, reaped or deleted meanwhile, or started by a concurrent dispatcher. Only
            # this acquisition's token is given back: a later acquisition (a resume) wrote its own. A run
            # now holding a slot keeps the entry, under the token the run recorded: this grant may have
            # overwritten it, and the run's own release must match (else the reaper re-aligns it later).
            current = self._runs.get(None, run_id)
            if current is None or current.workflow_run.status not in SLOT_HOLDING_STATUSES:
                self._admission.release(team_id, workflow_id, run_id, lease_token)
            elif current.workflow_run.lease_token != lease_token:
                self._admission.realign(team_id, workflow_id, run_id, lease_token, current.workflow_run.lease_token)
            return False
        if run_id != run_inline:
            try:
                self._work_queue.enqueue_run(run_id)
            except DomainError as error:
                # The run is started and holds its slot; with no worker it never heartbeats, so the
                # reaper fails it at its heartbeat deadline and frees the slot.
                logger.error("run %s was admitted but could not be queued for a worker: %s", run_id, error.message)
        self._webhooks.emit(started, WebhookAction.WORKFLOW_RUN_STARTED)
        queued_at = run.workflow_run.queued_at
        if queued_at is not None:
            waited_ms = (now - queued_at).total_seconds() * 1000
            self._metrics.emit("QueueWait", waited_ms, "Milliseconds", metadata={"run_id": run_id, "team_id": team_id})
        logger.info("admitted queued run %s of team %s", run_id, team_id)
        return True


def _queue_ttl_passed(run: WorkflowRunsModel, now: datetime) -> bool:
    deadline = run.workflow_run.queue_deadline_at
    return deadline is not None and deadline <= now
