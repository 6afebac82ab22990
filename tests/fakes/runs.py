"""In-memory run ports: part of the run repository, the run submitter and the run terminator.

``InMemoryRunRepository`` keeps run documents shaped as ``MongoRunRepository`` stores them and implements
the ``ports.RunRepository`` methods the dispatcher, the reaper and the schedule reconciliation call;
tests/contract/mongo/test_run_repository.py holds both to the same assertions.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection
from datetime import datetime
from typing import Any

from tests.fakes.clock import T0
from workflow_service.models.common import Caller, new_object_id
from workflow_service.models.runs import (
    SLOT_HOLDING_STATUSES,
    RunStatus,
    RunTrigger,
    TerminationSource,
    WorkflowRun,
    WorkflowRunInput,
    WorkflowRunsModel,
)
from workflow_service.ports import Clock, DuplicateKey
from workflow_service.ports.runs import RunSlotState

_OPERATORS = {
    "$lt": lambda value, bound: value is not None and value < bound,
    "$lte": lambda value, bound: value is not None and value <= bound,
    "$gt": lambda value, bound: value is not None and value > bound,
    "$gte": lambda value, bound: value is not None and value >= bound,
    "$in": lambda value, options: value in options,
    "$nin": lambda value, options: value not in options,
    "$ne": lambda value, other: value != other,
    # MongoDB's $not over one operator: a missing or null field matches (the operator does not).
    "$not": lambda value, inner: not all(_OPERATORS[op](value, bound) for op, bound in inner.items()),
}


def _path(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _matches(document: dict[str, Any], conditions: dict[str, Any]) -> bool:
    """The equality and comparison conditions ``where`` may hold, on ``workflow_run.<field>`` paths."""
    for dotted, condition in conditions.items():
        value = _path(document, dotted)
        if isinstance(condition, dict) and condition and all(key in _OPERATORS for key in condition):
            if not all(_OPERATORS[op](value, bound) for op, bound in condition.items()):
                return False
        elif value != condition:
            return False
    return True


class InMemoryRunRepository:
    """Runs by id. ``reads`` counts calls per method; ``heads_read`` lists the workflow id of each
    ``queue_head`` read; ``lose_start_to`` maps a run id to the status a concurrent writer gives it
    just before the next ``change_status`` on it (a lost race)."""

    def __init__(self, runs: Collection[WorkflowRunsModel] = (), clock: Clock | None = None) -> None:
        self._documents: dict[str, dict[str, Any]] = {}
        self._clock = clock
        self.reads: Counter[str] = Counter()
        self.heads_read: list[str] = []
        self.lose_start_to: dict[str, RunStatus] = {}
        for run in runs:
            self.insert(run)

    def insert(
        self,
        run: WorkflowRunsModel,
        *,
        state: dict[str, Any] | None = None,
        pending_input: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        taken = dedupe_key is not None and self.find_by_dedupe_key(dedupe_key) is not None
        if run.id in self._documents or taken:
            raise DuplicateKey(dedupe_key)
        document = run.model_dump(by_alias=True, exclude={"workflow_run": {"queue_position"}})
        document["workflow_run"].update(
            claim=None,
            state=state,
            pending_input=pending_input,
            dedupe_key=dedupe_key,
            lease_token=run.workflow_run.lease_token,
        )
        self._documents[run.id] = document

    def get(self, team_id: str | None, run_id: str) -> WorkflowRunsModel | None:
        self.reads["get"] += 1
        document = self._documents.get(run_id)
        if document is None or team_id not in (None, document["team_id"]):
            return None
        return _run(document)

    def find_by_dedupe_key(self, dedupe_key: str) -> WorkflowRunsModel | None:
        for document in self._documents.values():
            if document["workflow_run"].get("dedupe_key") == dedupe_key:
                return _run(document)
        return None

    def change_status(
        self,
        team_id: str | None,
        run_id: str,
        from_statuses: list[str],
        changes: dict[str, Any],
        *,
        unset: list[str] = (),
        where: dict[str, Any] | None = None,
    ) -> WorkflowRunsModel | None:
        document = self._documents.get(run_id)
        if document is not None and run_id in self.lose_start_to:
            document["workflow_run"]["status"] = self.lose_start_to.pop(run_id).value
        if document is None or team_id not in (None, document["team_id"]):
            return None
        conditions = {f"workflow_run.{key}": value for key, value in (where or {}).items()}
        if str(document["workflow_run"]["status"]) not in from_statuses or not _matches(document, conditions):
            return None
        document["workflow_run"].update({**changes, **dict.fromkeys(unset)})
        if self._clock is not None:
            document["updated_at"] = self._clock.now()
        return _run(document)

    def _queued(self, team_id: str) -> list[dict[str, Any]]:
        waiting = [
            document
            for document in self._documents.values()
            if document["team_id"] == team_id
            and document["workflow_run"]["status"] == RunStatus.NOT_STARTED
            and document["workflow_run"]["queued_at"] is not None
        ]
        return sorted(waiting, key=lambda document: (document["workflow_run"]["queued_at"], document["_id"]))

    def queued_workflow_ids(self, team_id: str) -> list[str]:
        self.reads["queued_workflow_ids"] += 1
        return sorted(
            {
                document["workflow_run"]["workflow_id"]
                for document in self._documents.values()
                if document["team_id"] == team_id and document["workflow_run"]["status"] == RunStatus.NOT_STARTED
            }
        )

    def queue_head(self, team_id: str, workflow_id: str) -> WorkflowRunsModel | None:
        self.reads["queue_head"] += 1
        self.heads_read.append(workflow_id)
        queue = [
            document for document in self._queued(team_id) if document["workflow_run"]["workflow_id"] == workflow_id
        ]
        return _run(queue[0]) if queue else None

    def stale(self, statuses: list[str], deadline_field: str, now: datetime, limit: int) -> list[WorkflowRunsModel]:
        self.reads["stale"] += 1
        overdue = [
            document
            for document in self._documents.values()
            if document["workflow_run"]["status"] in statuses
            and _matches(document, {f"workflow_run.{deadline_field}": {"$lt": now}})
        ]
        overdue.sort(key=lambda document: document["workflow_run"][deadline_field])
        return [_run(document) for document in overdue[:limit]]

    def statuses_of(self, run_ids: list[str]) -> dict[str, str]:
        self.reads["statuses_of"] += 1
        return {
            run_id: str(self._documents[run_id]["workflow_run"]["status"])
            for run_id in run_ids
            if run_id in self._documents
        }

    def slot_states_of(self, run_ids: list[str]) -> dict[str, RunSlotState]:
        self.reads["slot_states_of"] += 1
        return {run_id: _slot_state(self._documents[run_id]) for run_id in run_ids if run_id in self._documents}

    def slot_holding(self, after_id: str | None, limit: int) -> list[RunSlotState]:
        self.reads["slot_holding"] += 1
        holding = sorted(
            run_id
            for run_id, document in self._documents.items()
            if document["workflow_run"]["status"] in SLOT_HOLDING_STATUSES and (after_id or "") < run_id
        )
        return [_slot_state(self._documents[run_id]) for run_id in holding[:limit]]


def _slot_state(document: dict[str, Any]) -> RunSlotState:
    inner = document["workflow_run"]
    return RunSlotState(
        run_id=str(document["_id"]),
        team_id=document["team_id"],
        workflow_id=inner["workflow_id"],
        status=str(inner["status"]),
        lease_token=inner.get("lease_token"),
        updated_at=document.get("updated_at"),
    )


def _run(document: dict[str, Any]) -> WorkflowRunsModel:
    return WorkflowRunsModel.model_validate(copy.deepcopy(document))


class RepositoryTerminator:
    """``ports.RunTerminator`` failing runs of an ``InMemoryRunRepository`` with the conditional write
    RunService.fail_run makes (without its release, notifications and dispatch). Runs in ``explode_on``
    make it raise, as a broken listener would; ``failed`` lists ``(run_id, reason)`` of the runs it failed."""

    def __init__(self, runs: InMemoryRunRepository, explode_on: Collection[str] = ()) -> None:
        self.runs = runs
        self.explode_on = set(explode_on)
        self.failed: list[tuple[str, str]] = []
        self.deadline_checks: list[tuple[str | None, datetime | None]] = []

    def fail_run(
        self,
        run_id: str,
        reason: str,
        source: TerminationSource,
        from_statuses: list[str],
        *,
        team_id: str,
        deadline_field: str | None = None,
        deadline_before: datetime | None = None,
    ) -> WorkflowRunsModel | None:
        self.deadline_checks.append((deadline_field, deadline_before))
        if run_id in self.explode_on:
            raise RuntimeError("listener down")
        where = {deadline_field: {"$lt": deadline_before}} if deadline_field and deadline_before else None
        changes = {"status": RunStatus.FAILED.value, "termination_source": source.value, "error": reason}
        run = self.runs.change_status(None, run_id, from_statuses, changes, where=where)
        if run is not None:
            self.failed.append((run_id, reason))
        return run


class FakeRunSubmitter:
    """``ports.RunSubmitter`` with dedupe-key semantics; ``refuse`` makes it raise that error."""

    def __init__(self) -> None:
        self.submitted: list[dict[str, Any]] = []
        self.by_key: dict[str | None, WorkflowRunsModel] = {}
        self.refuse: Exception | None = None

    def submit(
        self,
        caller: Caller,
        workflow_id: str,
        version_number: int | None,
        run_input: WorkflowRunInput,
        trigger: RunTrigger,
        *,
        dedupe_key: str | None = None,
    ) -> WorkflowRunsModel:
        if self.refuse is not None:
            raise self.refuse
        if dedupe_key in self.by_key:
            return self.by_key[dedupe_key]
        self.submitted.append(
            {
                "team_id": caller.team_id,
                "user_id": caller.user_id,
                "workflow_id": workflow_id,
                "version_number": version_number,
                "run_input": run_input,
                "trigger": trigger,
                "dedupe_key": dedupe_key,
            }
        )
        run = WorkflowRunsModel(
            _id=new_object_id(),
            team_id=caller.team_id,
            created_at=T0,
            workflow_run=WorkflowRun(logical_id="r", workflow_id=workflow_id, trigger=trigger),
        )
        self.by_key[dedupe_key] = run
        return run
