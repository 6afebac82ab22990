"""Public shapes of workflow runs (seed 001, seed 003, reference sections 3, 8 and 9)."""

from enum import StrEnum
from typing import Any

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from workflow_service.models.common import ApiModel, AuditedModel, ObjectIdStr, UtcDatetime, empty_list

# Re-exported: a run's input is imported from here too.
from workflow_service.models.run_input import NodeRunInputs as NodeRunInputs
from workflow_service.models.run_input import RunCommand as RunCommand
from workflow_service.models.run_input import WorkflowRunInput as WorkflowRunInput
from workflow_service.models.run_input import message_role_and_text as message_role_and_text


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


class TerminationSource(StrEnum):
    EXECUTION_ERROR = "execution_error"
    STALE_RUN_REAPER = "stale_run_reaper"
    USER_STOP = "user_stop"
    FINALLY_SAFETY_NET = "finally_safety_net"
    SCHEDULE_OVERLAP = "schedule_overlap"  # a later firing of a cancel_previous schedule replaced it


class TriggerType(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    SQS = "sqs"
    WEBHOOK = "webhook"


class RunOutput(ApiModel):
    events: list[dict[str, Any]] = Field(default_factory=empty_list)
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


class RunTrigger(ApiModel):
    """What started a run, with the ids that link it back to its source."""

    type: TriggerType = TriggerType.MANUAL
    schedule_id: str | None = None
    recurring_schedule_id: str | None = None
    scheduled_time: UtcDatetime | None = None
    trigger_id: str | None = None
    message_id: str | None = None
    idempotency_key: str | None = None
    # A recurring firing's: the overlap policy it ran under (null: allow), and whether a backfill made it.
    overlap_policy: str | None = None
    backfill: bool = False


class LlmTokenUsage(ApiModel):
    total_input_tokens: int = 0
    total_output_tokens: int = 0
    total_tokens: int = 0
    call_count_with_user_keys: int = 0
    call_count_with_fallback_keys: int = 0
    call_count: int = 0
    breakdown_by_models: list[dict[str, Any]] = Field(default_factory=empty_list)


class LlmLatencyStats(ApiModel):
    call_count: int = 0
    total_latency_milliseconds: float = 0
    average_latency_milliseconds: float = 0
    breakdown_by_models: list[dict[str, Any]] = Field(default_factory=empty_list)


class WorkflowRun(ApiModel):
    """The inner ``workflow_run`` object of WorkflowRunsModel, plus this service's operational fields."""

    logical_id: str
    workflow_id: ObjectIdStr
    version_number: int = 0
    version_name: str | None = None
    config_revision: int = Field(0, description="The version's config revision the run executes (set at its start)")
    status: RunStatus = RunStatus.NOT_STARTED
    termination_source: str | None = None
    input_output_pairs: list[InputOutputPair] = Field(default_factory=empty_list)
    run_by: str | None = None
    comments: list[RunComment] = Field(default_factory=empty_list)
    llm_token_usage: LlmTokenUsage = Field(default_factory=LlmTokenUsage)
    llm_latency_stats: LlmLatencyStats = Field(default_factory=LlmLatencyStats)
    miscellaneous: dict[str, Any] = Field(default_factory=dict)
    trigger: RunTrigger = Field(default_factory=RunTrigger)
    turn_number: int = Field(0, description="Turns completed so far")
    error: str | None = None
    next_input_hint: dict[str, Any] | None = None
    heartbeat_at: UtcDatetime | None = Field(None, description="Touched while a turn executes")
    queued_at: UtcDatetime | None = Field(None, description="Set while the run waits for a concurrency slot")
    queue_position: int | None = Field(None, description="1-based position in the team's queue (queued runs)")
    heartbeat_deadline_at: UtcDatetime | None = Field(
        None, description="When a started or running run without a newer heartbeat is reaped"
    )
    queue_deadline_at: UtcDatetime | None = Field(None, description="When a still-queued run is reaped")
    input_deadline_at: UtcDatetime | None = Field(None, description="When a run waiting for input is reaped")
    pause_deadline_at: UtcDatetime | None = Field(None, description="When a paused run not resumed is reaped")
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    # Operational, never returned by the API (excluded from dumps and from the schema): the token of the
    # lease acquisition that made the run slot-holding; releases name it (DESIGN.md section 5).
    lease_token: SkipJsonSchema[str | None] = Field(None, exclude=True)
    # Operational, never returned: the webhook outbox markers (action -> when its causing write was made)
    # that the write changing the status carried; cleared once the events are written (ports.webhooks).
    webhook_outbox: SkipJsonSchema[dict[str, Any]] = Field(default_factory=dict, exclude=True)
    # Operational, never returned: the reserved id of the last command sent with an Idempotency-Key whose
    # turn committed, so its retry after a crash (before the answer was stored) is not applied again.
    last_command_id: SkipJsonSchema[str | None] = Field(None, exclude=True)
    # Operational, never returned: ``<source>:<key>`` of the delivery that made the run (a schedule
    # firing, an SQS message, a webhook id, an Idempotency-Key); one run per key (runs.submission).
    dedupe_key: SkipJsonSchema[str | None] = Field(None, exclude=True)


class WorkflowRunsModel(AuditedModel):
    workflow_run: WorkflowRun


class WorkflowRunResponse(ApiModel):
    workflow_run: WorkflowRunsModel
