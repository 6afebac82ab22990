"""What each action's event says: its payload (models.webhook_payloads), its dedupe key, and the
fields of the event log that name the workflow and run.

Dedupe keys are deterministic, so every writer of one event (the request that made the change, its
retry, the reaper re-emitting from a marker) writes the same event id: action + run id + status for
runs, action + workflow id (+ the revision for ``workflow_updated``) for workflows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from workflow_service.models.runs import RunOutput
from workflow_service.models.webhook_actions import WebhookAction
from workflow_service.models.webhook_payloads import (
    MAX_RUN_OUTPUT_BYTES,
    WorkflowCreatedPayload,
    WorkflowDeletedPayload,
    WorkflowEventData,
    WorkflowRunCompletedPayload,
    WorkflowRunStartedPayload,
    WorkflowUpdatedPayload,
)

if TYPE_CHECKING:
    from workflow_service.models.runs import WorkflowRunsModel
    from workflow_service.models.workflows import Workflow


class EventSubject(NamedTuple):
    """One causing change, as every subscription's event of it shares it."""

    team_id: str
    action: WebhookAction
    dedupe_key: str
    workflow_id: str
    payload: dict[str, Any]
    workflow_name: str | None = None
    workflow_run_id: str | None = None
    workflow_run_status: str | None = None
    created_by: str | None = None


def run_dedupe_key(action: WebhookAction, run_id: str, status: str) -> str:
    return f"{action.value}:{run_id}:{status}"


def workflow_dedupe_key(action: WebhookAction, workflow_id: str, revision: int | None = None) -> str:
    return f"{action.value}:{workflow_id}" + ("" if revision is None else f":{revision}")


def run_started(run: WorkflowRunsModel, occurred_at: datetime, *, workflow_name: str | None = None) -> EventSubject:
    """The ``workflow_run_started`` event of ``run`` (the status it was started with is ``started``);
    ``workflow_name`` is the workflow's current name, which the run document does not hold."""
    inner = run.workflow_run
    payload = WorkflowRunStartedPayload(
        occurred_at=occurred_at,
        team_id=run.owner_team_id,
        workflow_id=inner.workflow_id,
        workflow_run_id=run.stored_id,
        trigger=inner.trigger,
        version=inner.version_number,
    )
    started = payload.model_dump(mode="json")
    return _run_subject(run, WebhookAction.WORKFLOW_RUN_STARTED, "started", started, workflow_name)


def run_completed(run: WorkflowRunsModel, occurred_at: datetime, *, workflow_name: str | None = None) -> EventSubject:
    """The ``workflow_run_completed`` event of a run in a terminal status, its output capped."""
    inner = run.workflow_run
    last = inner.input_output_pairs[-1].run_output if inner.input_output_pairs else RunOutput()
    output, truncated = capped_output(last)
    payload = WorkflowRunCompletedPayload(
        occurred_at=occurred_at,
        team_id=run.owner_team_id,
        workflow_id=inner.workflow_id,
        workflow_run_id=run.stored_id,
        status=inner.status,
        termination_source=inner.termination_source,
        error=inner.error,
        trigger=inner.trigger,
        version=inner.version_number,
        turn_number=inner.turn_number,
        started_at=inner.started_at,
        finished_at=inner.finished_at,
        output=output,
        output_truncated=truncated,
    )
    status = inner.status.value
    completed = payload.model_dump(mode="json")
    return _run_subject(run, WebhookAction.WORKFLOW_RUN_COMPLETED, status, completed, workflow_name)


def capped_output(output: RunOutput, limit: int = MAX_RUN_OUTPUT_BYTES) -> tuple[RunOutput, bool]:
    """``output`` if its JSON fits in ``limit`` bytes; otherwise its leading events that fit (node outputs
    dropped), and True."""
    if _json_size(output.model_dump(mode="json")) <= limit:
        return output, False
    kept: list[dict[str, Any]] = []
    used = _json_size({"events": [], "thread_to_node_outputs": {}})
    for event in output.events:
        size = _json_size(event) + 1
        if used + size > limit:
            break
        kept.append(event)
        used += size
    return RunOutput(events=kept, thread_to_node_outputs={}), True


def _json_size(value: Any) -> int:
    return len(json.dumps(value, default=str, separators=(",", ":")).encode())


def _run_subject(
    run: WorkflowRunsModel, action: WebhookAction, status: str, payload: dict[str, Any], workflow_name: str | None
) -> EventSubject:
    inner = run.workflow_run
    return EventSubject(
        team_id=run.owner_team_id,
        action=action,
        dedupe_key=run_dedupe_key(action, run.stored_id, status),
        workflow_id=inner.workflow_id,
        payload=payload,
        workflow_name=workflow_name,
        workflow_run_id=run.stored_id,
        workflow_run_status=status,
        created_by=inner.run_by,
    )


_WORKFLOW_PAYLOADS = {
    WebhookAction.WORKFLOW_CREATED: WorkflowCreatedPayload,
    WebhookAction.WORKFLOW_UPDATED: WorkflowUpdatedPayload,
    WebhookAction.WORKFLOW_DELETED: WorkflowDeletedPayload,
}


def workflow_event(
    workflow: Workflow, action: WebhookAction, occurred_at: datetime, *, revision: int | None = None
) -> EventSubject:
    """A ``workflow_created``/``updated``/``deleted`` event; ``revision`` (updates) defaults to the workflow's."""
    number = workflow.webhook_revision if revision is None else revision
    data = WorkflowEventData(
        id=str(workflow.id), name=workflow.name, version=workflow.active_version_number, revision=number
    )
    team_id = workflow.team_id or ""
    payload = _WORKFLOW_PAYLOADS[action](
        occurred_at=occurred_at, team_id=team_id, workflow_id=str(workflow.id), workflow=data
    )
    keyed_revision = number if action is WebhookAction.WORKFLOW_UPDATED else None
    return EventSubject(
        team_id=team_id,
        action=action,
        dedupe_key=workflow_dedupe_key(action, str(workflow.id), keyed_revision),
        workflow_id=str(workflow.id),
        payload=payload.model_dump(mode="json"),
        workflow_name=workflow.name,
        created_by=workflow.updated_by or workflow.created_by,
    )
