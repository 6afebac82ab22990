"""Shared pieces of the schedule service unit tests: constants, a fake run submitter, a one-time schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from workflow_service.models.common import new_object_id
from workflow_service.models.runs import WorkflowRun, WorkflowRunsModel
from workflow_service.models.schedules import WorkflowSchedule

WORKFLOW_ID = "65f1a2b3c4d5e6f708192a3b"
TEAM = "team-1"
NOON = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class FakeRuns:
    """runs.submission's submit with dedupe-key semantics; ``refuse`` makes it raise."""

    def __init__(self) -> None:
        self.submitted: list[dict[str, Any]] = []
        self.by_key: dict[str, WorkflowRunsModel] = {}
        self.refuse: Exception | None = None

    def submit(self, caller, workflow_id, version_number, run_input, trigger, *, dedupe_key=None):
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
            created_at=NOON,
            workflow_run=WorkflowRun(logical_id="r", workflow_id=workflow_id, trigger=trigger),
        )
        self.by_key[dedupe_key] = run
        return run


def one_time(store, at: datetime, **fields) -> WorkflowSchedule:
    schedule = WorkflowSchedule(
        _id=new_object_id(),
        team_id=TEAM,
        created_by="alice",
        created_at=NOON,
        updated_at=NOON,
        workflow_id=WORKFLOW_ID,
        scheduled_time=at,
        **fields,
    )
    store[0].insert(schedule)
    return schedule
