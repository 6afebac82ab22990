"""Run events as the engine emits them: plain JSON-safe dicts, built fast (no pydantic).

Every event has ``type``, ``logical_id`` (``"event_<uuid>"``), ``timestamp`` (UTC epoch seconds,
float), ``origin_thread_id`` (main thread ``"0"``), ``comments`` and ``interrupted``. Node events add
``origin_node_logical_id``, ``origin_node_name``, ``origin_node_run_id``; edge events add
``edge_name``, ``edge_logical_id``, ``edge_run_id``, ``source_node_logical_id``/``_name``,
``destination_node_logical_id``/``_name`` and ``reason``. ``models.events`` documents each shape
with a pydantic model (OpenAPI, tests).
"""

import os
from enum import StrEnum
from typing import Any

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
    ASSISTANT_RESPONSE = "assistant_response"
    WORKER_LLM = "worker_llm"
    CONDITION_EVALUATOR_LLM = "condition_evaluator_llm"
    LLM = "llm"
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
        "logical_id": new_event_id(),
        "timestamp": timestamp,
        "origin_thread_id": thread_id,
        "comments": [],
        "interrupted": False,
    }


def node_event(
    event_type: str, timestamp: float, thread_id: str, node_logical_id: str, node_name: str, node_run_id: str
) -> dict[str, Any]:
    """A new event dict with the base and node fields."""
    event = base_event(event_type, timestamp, thread_id)
    event.update(origin_node_logical_id=node_logical_id, origin_node_name=node_name, origin_node_run_id=node_run_id)
    return event


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
        **base_event(event_type, timestamp, thread_id),
        "edge_name": edge_name,
        "edge_logical_id": edge_logical_id,
        "edge_run_id": fast_uuid4(),
        "source_node_logical_id": source_node_logical_id,
        "source_node_name": source_node_name,
        "destination_node_logical_id": destination_node_logical_id,
        "destination_node_name": destination_node_name,
        "reason": reason,
    }


def assistant_response(
    said: dict[str, Any], content: str, llm_usage_info: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``assistant_response`` event of what a ``say_*`` event (``said``) told the user.

    The product emits one for every message said, whatever node said it; it is the event the SDK's
    run loop reads (``AssistantResponseEvent.content``).
    """
    event = base_event(EventType.ASSISTANT_RESPONSE.value, said["timestamp"], said["origin_thread_id"])
    event.update(
        origin_node_logical_id=said["origin_node_logical_id"],
        origin_node_name=said["origin_node_name"],
        origin_node_run_id=said["origin_node_run_id"],
        content=content,
        response_metadata={},
        llm_usage_info=llm_usage_info if llm_usage_info is not None else {},
    )
    return event
