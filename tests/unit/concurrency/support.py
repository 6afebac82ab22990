"""Queued runs for the dispatcher tests, named by readable workflow names."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from bson import ObjectId

from tests.fakes.clock import T0
from workflow_service.models.runs import RunStatus, WorkflowRun, WorkflowRunsModel


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
