"""Public shapes of workflow runs (seed 001, seed 003, reference sections 3, 8 and 9)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from workflow_service.models.common import ApiModel, AuditedModel, ObjectIdStr, RequestModel, UtcDatetime


class RunStatus(StrEnum):
    NOT_STARTED = "not_started"
    STARTED = "started"
    RUNNING = "running"
    WAITING_FOR_USER_INPUT = "waiting_for_user_input"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABORTED_LOOPING_RISK = "aborted_looping_risk"


TERMINAL_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.ABORTED_LOOPING_RISK}
)
# A run holds a concurrency slot only in these statuses (DESIGN.md section 5).
SLOT_HOLDING_STATUSES = frozenset({RunStatus.STARTED, RunStatus.RUNNING, RunStatus.WAITING_FOR_USER_INPUT})


class RunCommand(StrEnum):
    START = "start"
    DATA = "data"
    RESUME = "resume"
    PAUSE = "pause"
    STOP = "stop"


class TerminationSource(StrEnum):
    EXECUTION_ERROR = "execution_error"
    STALE_RUN_REAPER = "stale_run_reaper"
    USER_STOP = "user_stop"
    FINALLY_SAFETY_NET = "finally_safety_net"


class TriggerType(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    SQS = "sqs"
    WEBHOOK = "webhook"


class NodeRunInputs(ApiModel):
    node_run_inputs: list[dict[str, Any]] = Field(default_factory=list)


class WorkflowRunInput(RequestModel):
    """Input to the workflow, used to kick off or resume a workflow run."""

    dynamic_variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Values that replace the '{{...}}' placeholders in prompts, conditions, tool fields.",
    )
    runtime_variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Values that replace the '[[...]]' placeholders in prompts, conditions, tool fields.",
    )
    miscellaneous: dict[str, Any] = Field(default_factory=dict, description="Miscellaneous run-input data")
    command: RunCommand = Field(RunCommand.START, description="Command to execute on the workflow or run")
    workflow_id: ObjectIdStr | None = Field(None, description="ID of the workflow to run")
    version_number: int | None = Field(None, ge=0, description="Version this run uses (default: active)")
    run_by: str | None = None
    workflow_run_id: ObjectIdStr | None = Field(None, description="ID of the workflow run to resume")
    team_id: str | None = None
    start_node_logical_id: str | None = Field(None, description="Start from this node instead of the start node")
    initial_state: dict[str, Any] | None = Field(None, description="Serialized workflow state to start from")
    thread_to_node_inputs: dict[str, NodeRunInputs] = Field(
        default_factory=dict,
        description='Thread id -> node inputs; "0" is the main thread. A user message is '
        '{"node_run_inputs": [{"type": "llm", "messages": [{"role": "user", "content": "..."}]}]}.',
    )


class RunOutput(ApiModel):
    events: list[dict[str, Any]] = Field(default_factory=list)
    thread_to_node_outputs: dict[str, Any] = Field(default_factory=dict)


class InputOutputPair(ApiModel):
    run_input: dict[str, Any]
    run_output: RunOutput
    evaluation: dict[str, Any] = Field(default_factory=dict)
    iteration_end_state_miscellaneous: dict[str, Any] = Field(default_factory=dict)


class RunComment(ApiModel):
    logical_id: str
    content: str
    createdBy: str | None = None
    updatedBy: str | None = None
    createdAt: UtcDatetime | None = None
    updatedAt: UtcDatetime | None = None
