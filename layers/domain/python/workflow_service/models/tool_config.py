"""The tool and HTTP-request parts of a workflow config (reference 7.3, 8): what a node sends out."""

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from workflow_service.conditions import PLACEHOLDER_PATTERN
from workflow_service.models.common import empty_list
from workflow_service.models.config_base import _ConfigModel, _lowercase, _new_id
from workflow_service.models.sdk_fields import SdkToolFields, sdk_tool_aliases


class StaticMessagesConfig(_ConfigModel):
    """The messages a ``say_static`` node chooses from.

    ``random`` is deterministic per node and turn (seeded on both) so a run replays identically;
    ``sequential`` walks the list in order, one message per visit, wrapping around; ``sequence`` (the
    product SDK's spelling) means the same and is stored as sent, so the SDK reads its own value back.
    """

    static_messages: list[str] = Field(default_factory=empty_list)
    static_messages_selection_mode: Literal["random", "sequential", "sequence"] = "random"

    @property
    def sequential(self) -> bool:
        """Walk the messages in order (rather than pick one at random)."""
        return self.static_messages_selection_mode != "random"

    @field_validator("static_messages_selection_mode", mode="before")
    @classmethod
    def _normalise_mode(cls, value: Any) -> Any:
        return _lowercase(value)


EXECUTABLE_TOOL_TYPES = frozenset({"external_api"})
KNOWN_UNSUPPORTED_TOOL_TYPES = frozenset({"inbuilt_function", "inline_python", "knowledge_base"})
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


_BODY_DESCRIPTION = (
    "A JSON object or array (sent as JSON), or text. Text is JSON when the Content-Type header is "
    "application/json or */*+json, or when there is none and the text opens with { or [ (then sent as "
    "application/json): a placeholder inside a JSON string is filled with its text JSON-escaped, one "
    'outside quotes with its value as JSON (text that is one whole JSON value, such as "5", is that '
    "value). Other text, and a body that is exactly one placeholder, is filled as it is."
)


def _check_method(value: str) -> str:
    method = value.strip()
    if PLACEHOLDER_PATTERN.search(method):
        return method  # filled and checked at run time
    method = method.upper()
    if method not in HTTP_METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(HTTP_METHODS))}")
    return method


class ToolConfig(_ConfigModel, SdkToolFields):
    """An ``external_api`` tool: one templated HTTP call whose answer lands in a runtime variable.

    ``url``, ``method``, ``headers`` and ``body`` may contain ``{{dynamic}}`` and ``[[runtime]]``
    placeholders. A tool in a ``tool_node`` without a ``url`` refers to the workflow-level tool with
    the same ``logical_id`` (``workflow_config.tools_config``).
    """

    type: str = Field("external_api", description='Only "external_api" tools can run in this service')
    logical_id: str = Field(default_factory=lambda: _new_id("tool"))
    tool_id: str | None = Field(None, description="Accepted for compatibility; saved-tool references are not used")
    name: str | None = None
    description: str | None = None
    category: str | None = None
    signature: str | None = None
    args_schema: dict[str, Any] = Field(default_factory=dict)
    static_messages_config: StaticMessagesConfig | None = None
    url: str | None = None
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] | None = Field(None, description=_BODY_DESCRIPTION)
    timeout_seconds: float | None = Field(None, gt=0, le=900)
    result_runtime_variable_name: str = Field("tool_result", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _sdk_names(cls, data: Any) -> Any:
        return sdk_tool_aliases(data)

    @field_validator("type", mode="before")
    @classmethod
    def _only_executable_types(cls, value: Any) -> Any:
        value = _lowercase(value)
        if not isinstance(value, str):
            return value  # the field's own str validation names the problem (an object or array is unhashable)
        if value in KNOWN_UNSUPPORTED_TOOL_TYPES:
            raise ValueError(f"tool type '{value}' cannot run in this service; only 'external_api' tools are supported")
        if value not in EXECUTABLE_TOOL_TYPES:
            raise ValueError(f"unknown tool type '{value}'; the supported type is 'external_api'")
        return value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return _check_method(value)


class ToolsConfig(_ConfigModel):
    tools: list[ToolConfig] = Field(default_factory=empty_list)


class HttpRequestConfig(_ConfigModel):
    """What an ``http_request`` node sends; every string field may contain placeholders.

    The answer is stored as ``{"status": int, "body": <parsed JSON or text>}`` in the runtime
    variable ``result_runtime_variable_name``. A dict/list body is sent as JSON; a string field whose
    whole value is one placeholder keeps the variable's type (``{"id": "[[patient_id]]"}`` sends an int
    when ``patient_id`` is an int). A string body is JSON text when its Content-Type is
    ``application/json`` or ``*/*+json``, or when it has none and opens with ``{`` or ``[`` (it is then
    sent as ``application/json``): a placeholder inside a string literal is filled with its text
    JSON-escaped, one outside quotes with the value as JSON (``{"n": [[count]], "q": "[[text]]"}``),
    so no value can add fields. Any other string body, and one that is exactly one placeholder, is
    filled as plain text.
    """

    method: str = "GET"
    url: str = Field(..., min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] | None = Field(None, description=_BODY_DESCRIPTION)
    timeout_seconds: float | None = Field(None, gt=0, le=900)
    result_runtime_variable_name: str = Field("http_result", min_length=1)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return _check_method(value)
