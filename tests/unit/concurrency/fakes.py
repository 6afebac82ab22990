"""In-memory stand-ins for the ports the concurrency and reaper services use (no store, no sockets)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.runs import RunStatus, WorkflowRun, WorkflowRunsModel
from workflow_service.ports import SlotDecision

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def wid(name: str) -> str:
    """A stable workflow id (24 hex) for a readable name."""
    return hashlib.sha256(name.encode()).hexdigest()[:24]


def queued_run(team_id: str, workflow: str, minute: int) -> WorkflowRunsModel:
    """A run of workflow ``wid(workflow)`` queued ``minute`` minutes after T0."""
    return WorkflowRunsModel(
        _id=str(ObjectId()),
        team_id=team_id,
        workflow_run=WorkflowRun(
            logical_id=f"run-{minute}",
            workflow_id=wid(workflow),
            status=RunStatus.NOT_STARTED,
            queued_at=T0 + timedelta(minutes=minute),
        ),
    )


class FakeRunRepository:
    """The RunRepository methods the dispatcher and reaper call, over a dict of runs."""

    def __init__(self, runs: list[WorkflowRunsModel] = ()) -> None:
        self.runs = {run.id: run for run in runs}
        self.queued_reads = 0
        self.excluded_per_read: list[set[str]] = []  # the workflow ids each ``queued`` read left out
        self.lose_start_to: dict[str, RunStatus] = {}  # run id -> status a concurrent writer sets first

    def queued(
        self, team_id: str, limit: int, *, exclude_workflow_ids: Collection[str] = ()
    ) -> list[WorkflowRunsModel]:
        self.queued_reads += 1
        self.excluded_per_read.append(set(exclude_workflow_ids))
        waiting = [
            run
            for run in self.runs.values()
            if run.team_id == team_id
            and run.workflow_run.status is RunStatus.NOT_STARTED
            and run.workflow_run.queued_at
            and run.workflow_run.workflow_id not in exclude_workflow_ids
        ]
        return sorted(waiting, key=lambda run: (run.workflow_run.queued_at, run.id))[:limit]

    def get(self, team_id: str | None, run_id: str) -> WorkflowRunsModel | None:
        return self.runs.get(run_id)

    def change_status(
        self,
        team_id: str | None,
        run_id: str,
        from_statuses: list[str],
        changes: dict[str, Any],
        *,
        unset: list[str] = (),
    ) -> WorkflowRunsModel | None:
        run = self.runs.get(run_id)
        if run_id in self.lose_start_to and run is not None:
            run.workflow_run.status = self.lose_start_to.pop(run_id)
        if run is None or run.workflow_run.status.value not in from_statuses:
            return None
        fields = {**changes, **dict.fromkeys(unset)}
        run.workflow_run = run.workflow_run.model_copy(update=fields)
        run.workflow_run.status = RunStatus(changes["status"])
        return run


class ScriptedAdmission:
    """Grants by a per-team and per-workflow count of free slots; records what it was asked."""

    def __init__(self, team_slots: int, workflow_slots: dict[str, int] | None = None) -> None:
        """``workflow_slots`` maps workflow names (see ``wid``) to their free slots; others are uncapped."""
        self.team_slots = team_slots
        self.workflow_slots = {wid(name): count for name, count in (workflow_slots or {}).items()}
        self.asked: list[str] = []
        self.released: list[str] = []

    def try_acquire(self, team_id: str, workflow_id: str, run_id: str) -> SlotDecision:
        self.asked.append(run_id)
        if self.team_slots == 0:
            return SlotDecision(granted=False, scope="team", limit=1)
        if self.workflow_slots.get(workflow_id, 1) == 0:
            return SlotDecision(granted=False, scope="workflow", limit=1)
        self.team_slots -= 1
        if workflow_id in self.workflow_slots:
            self.workflow_slots[workflow_id] -= 1
        return SlotDecision(granted=True)

    def release(self, team_id: str, workflow_id: str, run_id: str) -> None:
        self.released.append(run_id)


class RecordingWorkQueue:
    def __init__(self, *, failing: bool = False) -> None:
        self.enqueued: list[str] = []
        self.failing = failing

    def enqueue_run(self, run_id: str) -> None:
        if self.failing:
            raise UpstreamUnavailable("SQS is down")
        self.enqueued.append(run_id)


class FixedClock:
    def __init__(self, now: datetime = T0) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current
