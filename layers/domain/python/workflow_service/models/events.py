"""Run events: the reference's ``type`` names and base fields (reference section 9, "Events").

Events travel and are stored as plain JSON-safe dicts, built by ``models.event_records`` (the engine
emits thousands per second, so not through pydantic). The models here document the shapes (OpenAPI,
tests) and can validate a stored event when that is worth its cost.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workflow_service.models.common import empty_list
from workflow_service.models.event_records import MAIN_THREAD_ID

# --- documented shapes -----------------------------------------------------------------------------


class _EventModel(BaseModel):
    # Stored events may carry fields added by later versions; reading them must not fail.
    model_config = ConfigDict(extra="allow", defer_build=True)


class BaseEvent(_EventModel):
    type: str
    logical_id: str = Field(..., examples=["event_3f1c1a52-5f7e-4a55-9a34-2b1b6f7c9e10"])
    timestamp: float = Field(..., description="UTC epoch seconds")
    origin_thread_id: str = Field(MAIN_THREAD_ID, description='Thread that emitted the event; "0" = main')
    comments: list[dict[str, Any]] = Field(default_factory=empty_list)
    interrupted: bool = False


class NodeEventFields(BaseEvent):
    origin_node_logical_id: str
    origin_node_name: str
    origin_node_run_id: str


class EdgeEventFields(BaseEvent):
    edge_name: str
    edge_logical_id: str
    edge_run_id: str
    source_node_logical_id: str
    source_node_name: str
    destination_node_logical_id: str
    destination_node_name: str
    reason: str


class LlmUsageInfo(_EventModel):
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0


class StartWorkflowEvent(BaseEvent):
    type: Literal["start_workflow"] = "start_workflow"
    workflow_logical_id: str | None = None
    start_node_logical_id: str | None = None
    from_initial_state: bool = Field(False, description="The run continues from run_input.initial_state")


class EndWorkflowEvent(BaseEvent):
    type: Literal["end_workflow"] = "end_workflow"
    status: str = Field(..., description="completed, failed or aborted_looping_risk")
    llm_token_usage: dict[str, Any] = Field(default_factory=dict)
    llm_latency_stats: dict[str, Any] = Field(default_factory=dict)


class StartThreadEvent(BaseEvent):
    type: Literal["start_thread"] = "start_thread"
    thread_id: str
    parent_thread_id: str | None = None
    start_node_logical_id: str | None = None


class EndThreadEvent(BaseEvent):
    type: Literal["end_thread"] = "end_thread"
    thread_id: str
    last_node_logical_id: str | None = None
    reason: str


class PauseThreadEvent(BaseEvent):
    type: Literal["pause_thread"] = "pause_thread"
    thread_id: str


class StartNodeRunEvent(NodeEventFields):
    type: Literal["start_node_run"] = "start_node_run"
    node_type: str
    run_input: dict[str, Any] = Field(
        default_factory=dict,
        description='{"type", "node_logical_id"}: "type" is the SDK\'s run-input kind ("llm" for LLM nodes, '
        'else the node type; "base_node" for the rest)',
    )


class EndNodeRunEvent(NodeEventFields):
    type: Literal["end_node_run"] = "end_node_run"
    node_type: str
    run_output: dict[str, Any] = Field(
        default_factory=dict,
        description='What the node produced, with "type" (the node type) and "node_logical_id"; '
        '"error" when the node failed',
    )


class UserMessagesEvent(BaseEvent):
    type: Literal["user_messages"] = "user_messages"
    messages: list[dict[str, Any]]


class SayStaticEvent(NodeEventFields):
    type: Literal["say_static"] = "say_static"
    message: str = Field(..., description="What was said to the user, placeholders filled")


class SayLlmEvent(NodeEventFields):
    type: Literal["say_llm"] = "say_llm"
    message: str = Field(..., description="The LLM's reply, said to the user")
    llm_usage_info: LlmUsageInfo


class AssistantResponseEvent(NodeEventFields):
    """Follows every ``say_static`` and ``say_llm`` event: what the user was told (what the SDK's run loop reads)."""

    type: Literal["assistant_response"] = "assistant_response"
    content: str
    response_metadata: dict[str, Any] = Field(default_factory=dict)
    llm_usage_info: LlmUsageInfo | dict[str, Any] = Field(
        default_factory=dict, description="The LLM call's usage when an LLM wrote it; {} for a static message"
    )


class WorkerLlmEvent(NodeEventFields):
    type: Literal["worker_llm"] = "worker_llm"
    content: str
    message: str | None = Field(None, description="The same as content (the SDK's name)")
    structured_output: dict[str, Any] | None = None
    llm_usage_info: LlmUsageInfo


class ConditionEvaluatorLlmEvent(NodeEventFields):
    type: Literal["condition_evaluator_llm"] = "condition_evaluator_llm"
    edge_logical_id: str
    condition_freeform: str
    content: str
    result: bool | None
    llm_usage_info: LlmUsageInfo
    # The SDK's names for the same facts (absent from events stored before they were added).
    message: str | None = None
    is_condition_met: bool | None = None
    destination_node_logical_id: str | None = None


class LlmCallEvent(NodeEventFields):
    type: Literal["llm"] = "llm"
    round: int = Field(..., description="How many tool-calling rounds of the node came before this call")
    content: str
    tool_calls: list[dict[str, Any]] = Field(
        default_factory=empty_list, description="[{id, name, arguments}] asked for"
    )
    llm_usage_info: LlmUsageInfo


class HttpRequestEvent(NodeEventFields):
    type: Literal["http_request"] = "http_request"
    request: dict[str, Any] | None = Field(
        ..., description="{method, url}, and for an LLM's tool call its headers, credentials masked"
    )
    status: int | None = Field(None, description="HTTP status; None when no answer arrived")
    elapsed_ms: float | None = None
    result_runtime_variable_name: str
    tool_logical_id: str | None = None
    tool_name: str | None = None
    tool_call_id: str | None = Field(None, description="For an LLM's tool call: the call it answers")
    arguments: dict[str, Any] | None = Field(None, description="For an LLM's tool call: the model's arguments")
    result: str | None = Field(None, description="For an LLM's tool call: what the model was given back")
    error: str | None = None


class DirectEdgeEvent(EdgeEventFields):
    type: Literal["direct_edge"] = "direct_edge"


class SelfLoopEdgeEvent(EdgeEventFields):
    type: Literal["self_loop_edge"] = "self_loop_edge"


class ConditionalEdgeEvent(EdgeEventFields):
    type: Literal["conditional_edge"] = "conditional_edge"
    args_filled: dict[str, Any] = Field(default_factory=dict, description="The condition as evaluated")


class CompanionEdgeEvent(EdgeEventFields):
    type: Literal["companion_edge"] = "companion_edge"
    companion_thread_id: str


class BusyWaitForUserMessageEvent(NodeEventFields):
    type: Literal["busy_wait_for_user_message"] = "busy_wait_for_user_message"
    thread_id: str
    waiting_node_logical_id: str
    hint: str
    expected_input: dict[str, Any] = Field(default_factory=dict, description="An example run_input to continue")


class WorkflowShowStateEvent(BaseEvent):
    type: Literal["workflow_show_state"] = "workflow_show_state"
    thread_id: str
    runtime_variables: dict[str, Any] = Field(default_factory=dict)
    workflow_runtime_variables: dict[str, Any] = Field(default_factory=dict)


class WorkflowWarningEvent(BaseEvent):
    type: Literal["workflow_warning"] = "workflow_warning"
    message: str


class WorkflowErrorEvent(BaseEvent):
    type: Literal["workflow_error"] = "workflow_error"
    error_message: str
    stack_trace: str | None = None
    origin_node_logical_id: str | None = None
    origin_node_name: str | None = None
    origin_node_run_id: str | None = None


WorkflowEvent = Annotated[
    StartWorkflowEvent
    | EndWorkflowEvent
    | StartThreadEvent
    | EndThreadEvent
    | PauseThreadEvent
    | StartNodeRunEvent
    | EndNodeRunEvent
    | UserMessagesEvent
    | SayStaticEvent
    | SayLlmEvent
    | AssistantResponseEvent
    | WorkerLlmEvent
    | ConditionEvaluatorLlmEvent
    | LlmCallEvent
    | HttpRequestEvent
    | DirectEdgeEvent
    | SelfLoopEdgeEvent
    | ConditionalEdgeEvent
    | CompanionEdgeEvent
    | BusyWaitForUserMessageEvent
    | WorkflowShowStateEvent
    | WorkflowWarningEvent
    | WorkflowErrorEvent,
    Field(discriminator="type"),
]
"""Any event the engine emits, discriminated by ``type`` (parse with a ``TypeAdapter``)."""
