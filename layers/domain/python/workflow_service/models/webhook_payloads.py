"""The bodies outbound workflow webhooks deliver: one shape per action (README "Workflow webhooks").

Every payload carries ``action``, ``occurred_at`` (when the causing change was committed), ``team_id``
and ``workflow_id``; the rest depends on the action. A run's output is capped (``output_truncated``
says when events were left out), so a delivery stays small whatever the run produced.
"""

from typing import Literal

from pydantic import Field

from workflow_service.models.common import ApiModel, UtcDatetime
from workflow_service.models.runs import RunOutput, RunStatus, RunTrigger

# The most of a run's output a workflow_run_completed payload carries, as JSON text.
MAX_RUN_OUTPUT_BYTES = 16 * 1024


class WebhookPayloadBase(ApiModel):
    occurred_at: UtcDatetime = Field(description="When the change that caused the event was committed")
    team_id: str
    workflow_id: str


class WorkflowEventData(ApiModel):
    id: str = Field(description="The workflow's id")
    name: str | None = None
    version: int = Field(description="The workflow's active version number")
    revision: int = Field(description="Counts the workflow's changes: 0 when created, +1 per update")


class WorkflowCreatedPayload(WebhookPayloadBase):
    action: Literal["workflow_created"] = "workflow_created"
    workflow: WorkflowEventData


class WorkflowUpdatedPayload(WebhookPayloadBase):
    action: Literal["workflow_updated"] = "workflow_updated"
    workflow: WorkflowEventData


class WorkflowDeletedPayload(WebhookPayloadBase):
    action: Literal["workflow_deleted"] = "workflow_deleted"
    workflow: WorkflowEventData


class WorkflowRunStartedPayload(WebhookPayloadBase):
    action: Literal["workflow_run_started"] = "workflow_run_started"
    workflow_run_id: str
    trigger: RunTrigger
    version: int = Field(description="The workflow version the run executes")


class WorkflowRunCompletedPayload(WebhookPayloadBase):
    action: Literal["workflow_run_completed"] = "workflow_run_completed"
    workflow_run_id: str
    status: RunStatus = Field(description="completed, failed, cancelled or aborted_looping_risk")
    termination_source: str | None = None
    error: str | None = None
    trigger: RunTrigger
    version: int
    turn_number: int
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    output: RunOutput = Field(description=f"The last turn's output, at most {MAX_RUN_OUTPUT_BYTES} bytes of JSON")
    output_truncated: bool = Field(False, description="True when events (or node outputs) were left out of output")


WEBHOOK_PAYLOAD_MODELS: tuple[type[ApiModel], ...] = (
    WorkflowCreatedPayload,
    WorkflowUpdatedPayload,
    WorkflowDeletedPayload,
    WorkflowRunStartedPayload,
    WorkflowRunCompletedPayload,
)
"""The five payload shapes, one per action (documented as OpenAPI components)."""
