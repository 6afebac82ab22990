"""Run events: the reference's ``type`` names and base fields (reference section 9, "Events").

Events travel and are stored as plain JSON-safe dicts. The engine emits thousands per second, so it
builds them with the small constructors below (:func:`base_event`, :func:`node_event`,
:func:`edge_event`) rather than through pydantic; the models document the shapes (OpenAPI, tests)
and can validate a stored event when that is worth its cost.

Every event has ``type``, ``logical_id`` (``"event_<uuid>"``), ``timestamp`` (UTC epoch seconds,
float), ``origin_thread_id`` (main thread ``"0"``), ``comments`` and ``interrupted``. Node events add
``origin_node_logical_id``, ``origin_node_name``, ``origin_node_run_id``; edge events add
``edge_name``, ``edge_logical_id``, ``edge_run_id``, ``source_node_logical_id``/``_name``,
``destination_node_logical_id``/``_name`` and ``reason``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAIN_THREAD_ID = "0"


class EventType(StrEnum):
    START_WORKFLOW = "start_workflow"
    END_WORKFLOW = "end_workflow"
    START_THREAD = "start_thread"
    END_THREAD = "end_thread"
    PAUSE_THREAD = "pause_thread"
    START_NODE_RUN = "start_node_run"
    END_NODE_RUN = "end_node_run"
    USER_MESSAGES = "user_messages"
    SAY_STATIC = "say_static"
    SAY_LLM = "say_llm"
    WORKER_LLM = "worker_llm"
    CONDITION_EVALUATOR_LLM = "condition_evaluator_llm"
    HTTP_REQUEST = "http_request"
    DIRECT_EDGE = "direct_edge"
    SELF_LOOP_EDGE = "self_loop_edge"
    CONDITIONAL_EDGE = "conditional_edge"
    COMPANION_EDGE = "companion_edge"
    BUSY_WAIT_FOR_USER_MESSAGE = "busy_wait_for_user_message"
    WORKFLOW_SHOW_STATE = "workflow_show_state"
    WORKFLOW_WARNING = "workflow_warning"
    WORKFLOW_ERROR = "workflow_error"


# --- fast constructors (the engine's hot path) ------------------------------------------------------


def fast_uuid4() -> str:
    """A random (version 4) UUID in its canonical text form, much cheaper than ``str(uuid.uuid4())``.

    The engine mints several ids per node run; ``uuid.UUID`` construction dominated its profile.
    """
    digits = os.urandom(16).hex()
    # Version nibble 4 and the RFC 4122 variant (10xx) make it a well-formed uuid4.
    return (
        f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{'89ab'[int(digits[16], 16) & 3]}{digits[17:20]}-{digits[20:]}"
    )


def new_event_id() -> str:
    return f"event_{fast_uuid4()}"


def base_event(event_type: str, timestamp: float, thread_id: str) -> dict[str, Any]:
    """A new event dict carrying the base fields; the caller adds the type-specific ones."""
    return {
        "type": event_type,
        "logical_id": f"event_{fast_uuid4()}",
        "timestamp": timestamp,
        "origin_thread_id": thread_id,
        "comments": [],
        "interrupted": False,
    }


def node_event(
    event_type: str, timestamp: float, thread_id: str, node_logical_id: str, node_name: str, node_run_id: str
) -> dict[str, Any]:
    """A new event dict with the base and node fields."""
    return {
        "type": event_type,
        "logical_id": f"event_{fast_uuid4()}",
        "timestamp": timestamp,
        "origin_thread_id": thread_id,
        "comments": [],
        "interrupted": False,
        "origin_node_logical_id": node_logical_id,
        "origin_node_name": node_name,
        "origin_node_run_id": node_run_id,
    }


def edge_event(
    event_type: str,
    timestamp: float,
    thread_id: str,
    *,
    edge_logical_id: str,
    edge_name: str,
    source_node_logical_id: str,
    source_node_name: str,
    destination_node_logical_id: str,
    destination_node_name: str,
    reason: str,
) -> dict[str, Any]:
    """A new event dict with the base and edge fields."""
    return {
        "type": event_type,
        "logical_id": f"event_{fast_uuid4()}",
        "timestamp": timestamp,
        "origin_thread_id": thread_id,
        "comments": [],
        "interrupted": False,
        "edge_name": edge_name,
        "edge_logical_id": edge_logical_id,
        "edge_run_id": fast_uuid4(),
        "source_node_logical_id": source_node_logical_id,
        "source_node_name": source_node_name,
        "destination_node_logical_id": destination_node_logical_id,
        "destination_node_name": destination_node_name,
        "reason": reason,
    }


# --- documented shapes -----------------------------------------------------------------------------


class _EventModel(BaseModel):
    # Stored events may carry fields added by later versions; reading them must not fail.
    model_config = ConfigDict(extra="allow", defer_build=True)


class BaseEvent(_EventModel):
    type: str
    logical_id: str = Field(..., examples=["event_3f1c1a52-5f7e-4a55-9a34-2b1b6f7c9e10"])
    timestamp: float = Field(..., description="UTC epoch seconds")
    origin_thread_id: str = Field(MAIN_THREAD_ID, description='Thread that emitted the event; "0" = main')
    comments: list[dict[str, Any]] = Field(default_factory=list)
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
    run_input: dict[str, Any] = Field(default_factory=dict)


class EndNodeRunEvent(NodeEventFields):
    type: Literal["end_node_run"] = "end_node_run"
    node_type: str
    run_output: dict[str, Any] = Field(default_factory=dict)


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


class WorkerLlmEvent(NodeEventFields):
    type: Literal["worker_llm"] = "worker_llm"
    content: str
    structured_output: dict[str, Any] | None = None
    llm_usage_info: LlmUsageInfo


class ConditionEvaluatorLlmEvent(NodeEventFields):
    type: Literal["condition_evaluator_llm"] = "condition_evaluator_llm"
    edge_logical_id: str
    condition_freeform: str
    content: str
    result: bool | None
    llm_usage_info: LlmUsageInfo


class HttpRequestEvent(NodeEventFields):
    type: Literal["http_request"] = "http_request"
    request: dict[str, Any] = Field(..., description="{method, url}; headers and body are not recorded")
    status: int | None = Field(None, description="HTTP status; None when no answer arrived")
    elapsed_ms: float | None = None
    result_runtime_variable_name: str
    tool_logical_id: str | None = None
    tool_name: str | None = None
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
    | WorkerLlmEvent
    | ConditionEvaluatorLlmEvent
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
