"""What starts or resumes a run (``WorkflowRunInput``, reference section 3): the one run shape that
schedules and triggers store.

Apart from ``models.runs`` so that what creates a schedule or a trigger declares none of a run's own
shapes.
"""

from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from workflow_service.models.common import INT64, ApiModel, ObjectIdStr, RequestModel, empty_list


class RunCommand(StrEnum):
    START = "start"
    DATA = "data"
    RESUME = "resume"
    PAUSE = "pause"
    STOP = "stop"


class NodeRunInputs(ApiModel):
    node_run_inputs: list[dict[str, Any]] = Field(default_factory=empty_list)


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
