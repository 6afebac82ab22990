"""Fixtures for the schedule handlers: a workflow to schedule, event helpers and store inspection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.support.api import call
from tests.support.workflows import greeting_workflow
from workflow_service.models.common import format_utc


def create_workflow(caller, name: str = "Daily Report") -> dict[str, Any]:
    reply = call("create_workflow", caller=caller, body={"name": name, "workflow_config": greeting_workflow()})
    assert reply.status == 200, reply
    return reply.body["workflow"]


@pytest.fixture
def workflow(caller) -> dict[str, Any]:
    return create_workflow(caller)


def iso(value: datetime) -> str:
    return format_utc(value)


def count(services, collection: str, selector: dict[str, Any] | None = None) -> int:
    return services.core.database.raw[collection].count_documents(selector or {})


def fire(schedule_id: str, kind: str, scheduled_time: str | None, generation: int | None = None) -> dict[str, Any]:
    """Deliver the event EventBridge Scheduler sends to the schedule-target Lambda (with the generation its
    push carried, when given; schedules pushed before generations existed deliver none)."""
    from schedule_target import handler

    event: dict[str, Any] = {"schedule_id": schedule_id, "kind": kind, "scheduled_time": scheduled_time}
    if generation is not None:
        event["generation"] = generation
    return handler(event, None)


def finish_first_turn(services, run_id: str) -> dict[str, Any]:
    """What the run worker does with the queued work message: run the first turn to its end."""
    run = services.runs.submission.run_first_turn(run_id)
    assert run is not None
    return run.workflow_run.model_dump(mode="json")
