"""Public shapes of workflow runs (seed 001, seed 003, reference sections 3, 8 and 9)."""

from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from workflow_service.models.common import INT64, ApiModel, AuditedModel, ObjectIdStr, RequestModel, UtcDatetime


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
    SCHEDULE_OVERLAP = "schedule_overlap"  # a later firing of a cancel_previous schedule replaced it


class TriggerType(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    SQS = "sqs"
    WEBHOOK = "webhook"


class NodeRunInputs(ApiModel):
    node_run_inputs: list[dict[str, Any]] = Field(default_factory=list)


# The product SDK sends langchain messages serialised (``{"type": "human", "content": ...}``).
_LANGCHAIN_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def message_role_and_text(message: Any) -> tuple[str, str] | None:
    """A run-input message as (role, text): ``{"role", "content"}`` or a serialised langchain message.

    Langchain content may be a list of blocks; its text blocks are joined. None for anything else.
    """
    if not isinstance(message, dict):
        return None
    role = message.get("role")
    if not isinstance(role, str):
        kind = message.get("type")
        role = _LANGCHAIN_ROLES.get(kind.lower(), kind) if isinstance(kind, str) else None
    content = message.get("content")
    if isinstance(content, list):
        texts = [
            block if isinstance(block, str) else block.get("text") for block in content if isinstance(block, dict | str)
        ]
        content = "".join(text for text in texts if isinstance(text, str)) or None
    if not isinstance(content, str):
        return None
    return role or "user", content


def _storable(value: Any, path: str = "") -> Any:
    """MongoDB stores integers in at most 64 bits: larger ones are refused here, naming where they are."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value not in INT64:
        raise ValueError(f"integer at '{path or '.'}' does not fit in 64 bits; send it as a string")
    if isinstance(value, dict):
        for key, item in value.items():
            _storable(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable(item, f"{path}[{index}]")
    return value


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
        '{"node_run_inputs": [{"type": "llm", "messages": [{"role": "user", "content": "..."}]}]}; a message '
        'may also be a serialised langchain message, {"type": "human" | "ai" | "system" | "tool", "content": ...}.',
    )
    welcome_message: str | None = Field(None, description="Accepted for SDK compatibility; not used")

    @field_validator("dynamic_variables", "runtime_variables", "miscellaneous", "initial_state")
    @classmethod
    def _fits_in_storage(cls, value: Any) -> Any:
        return _storable(value)

    @field_validator("initial_state")
    @classmethod
    def _empty_state_is_no_state(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # The seeds' examples send "initial_state": {}; no engine state is empty, so it means "none".
        return value or None


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
    breakdown_by_models: list[dict[str, Any]] = Field(default_factory=list)


class LlmLatencyStats(ApiModel):
    call_count: int = 0
    total_latency_milliseconds: float = 0
    average_latency_milliseconds: float = 0
    breakdown_by_models: list[dict[str, Any]] = Field(default_factory=list)


class WorkflowRun(ApiModel):
    """The inner ``workflow_run`` object of WorkflowRunsModel, plus this service's operational fields."""

    logical_id: str
    workflow_id: ObjectIdStr
    version_number: int = 0
    version_name: str | None = None
    config_revision: int = Field(0, description="The version's config revision the run executes (set at its start)")
    status: RunStatus = RunStatus.NOT_STARTED
    termination_source: str | None = None
    input_output_pairs: list[InputOutputPair] = Field(default_factory=list)
    run_by: str | None = None
    comments: list[RunComment] = Field(default_factory=list)
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


class WorkflowRunsModel(AuditedModel):
    workflow_run: WorkflowRun


class WorkflowRunResponse(ApiModel):
    workflow_run: WorkflowRunsModel
