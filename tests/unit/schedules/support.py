"""Shared pieces of the schedule service unit tests: constants and a one-time schedule."""

from __future__ import annotations

from datetime import datetime

from tests.fakes.clock import T0
from workflow_service.models.common import new_object_id
from workflow_service.models.schedules import WorkflowSchedule

WORKFLOW_ID = "65f1a2b3c4d5e6f708192a3b"
TEAM = "team-1"
NOON = T0


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
