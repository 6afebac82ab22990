"""Fields the product's SDK (``interactly_configs``) defines on nodes, edges, tools and workflow configs.

The SDK serialises every field of its config classes, defaults and nulls included
(``model_dump(mode="json")``), so a config it uploads names fields this service has no use for yet.
They are declared here, as mixins of the config models, so they are accepted, stored and returned
unchanged (a fetch/modify/upload round trip loses nothing) while an unknown field is still refused.

Where the service implements a field's meaning it acts on it: the SDK's flat ``http_request`` fields
become ``http_request_config``, a ``tool_node``'s single ``tool_config`` becomes its tool, an
``external_api`` tool's ``api_endpoint``/``api_method``/``api_headers``/``api_body`` are its
``url``/``method``/``headers``/``body``, a direct edge marked ``is_companion_thread`` starts a companion
thread, ``ignore_default_prompt_prefix``/``suffix`` drop the workflow's prompt prefix/suffix, and a
``no_op`` node writes ``<output_runtime_variable_name>`` (and fails when ``simulate_failure``).
LLM-config fields (``llms_config`` itself) are modelled in :mod:`workflow_service.models.llm`'s area;
``attachable_llm_config_id`` (a reference to a named LLM config) is stored only.
"""

import json
from typing import Any
from urllib.parse import quote_plus

from pydantic import BaseModel, Field
from pydantic_core import PydanticUndefined

from workflow_service.conditions import PLACEHOLDER_PATTERN
from workflow_service.models.common import empty_list


def drop_nulls_for_defaulted_fields(model: type[BaseModel], data: Any) -> Any:
    """``data`` without the ``null`` values of fields that have a non-null default.

    The SDK sends ``null`` for every optional field it leaves unset (``tools_config: null``,
    ``structured_output_schema: null``, ``headers: null`` ...); for a field whose default is not null,
    null means "not set", so the default applies. Fields whose default is null keep their null, and a
    null ``type`` stays an error: the SDK always names a type, so a null one is a mistake to report.
    """
    if not isinstance(data, dict) or None not in data.values():
        return data
    fields = model.model_fields
    kept = {}
    for key, value in data.items():
        field = fields.get(key)
        if value is None and key != "type" and field is not None and _has_non_null_default(field):
            continue
        kept[key] = value
    return kept


def _has_non_null_default(field: Any) -> bool:
    if field.default_factory is not None:
        return True
    return field.default is not None and field.default is not PydanticUndefined


# The mixins are plain classes, not models: pydantic collects their annotated fields into each config
# model that inherits them all the same, and a plain class costs nothing to declare (as a model, each
# mixin's fields were collected twice on every cold start that imports the config models).


class SdkEntityFields:
    """Fields of the SDK's ``BaseEntityConfig`` (nodes and edges) beyond the service's own."""

    version_number: int | None = Field(None, description="SDK bookkeeping; the version is the one holding it")


class SdkNodeFields(SdkEntityFields):
    """Fields of the SDK's node classes for the supported types (say_llm, worker_llm, say_static,
    http_request, tool_node, no_op) beyond the service's own."""

    is_guardrail_node: bool = False
    self_loop_config: dict[str, Any] | None = Field(None, description="Stored; bounded re-execution is not offered")
    attachable_llm_config_id: str | None = Field(None, description="Stored; named LLM configs are not offered")
    use_mcp_tools: bool = Field(False, description="Stored; MCP tools are not offered")
    ignore_default_prompt_prefix: bool = Field(False, description="Leave out the workflow's default_prompt_prefix")
    ignore_default_prompt_suffix: bool = Field(False, description="Leave out the workflow's default_prompt_suffix")
    ignore_content_received_during_llm_tool_call_specification: bool = False
    # http_request, as the SDK spells it (flat); used when http_request_config is absent.
    url: str | None = None
    method: str | None = None
    headers: dict[str, Any] | None = None
    query_parameters: str | None = Field(None, description="A JSON object (or query string) appended to url")
    body_parameters: str | None = Field(None, description="The body: JSON text, sent as JSON when it parses")
    body_content_type: str | None = None
    timeout: int | None = Field(None, ge=0, le=300, description="Seconds; 0 or null = the service's default")
    response_format: str | None = None
    result_runtime_variable_name: str | None = None
    # tool_node
    tool_arguments: dict[str, Any] | None = None
    preserve_argument_types: bool = False
    # no_op
    note: str | None = None
    output_runtime_variable_name: str | None = Field(None, description="no_op: where its success flag is written")
    delay_seconds: float | None = Field(None, ge=0, description="Stored; a no_op node does not sleep")
    simulate_failure: bool = Field(False, description="no_op: fail the run, as a stand-in for a failing step")

    def sdk_http_request(self) -> dict[str, Any] | None:
        """The SDK's flat http_request fields as this service's ``http_request_config``, or None."""
        if not self.url:
            return None
        url = self.url
        query = (self.query_parameters or "").strip()
        if query:
            url += ("&" if "?" in url else "?") + _query_text(query)
        config: dict[str, Any] = {"url": url, "method": self.method or "GET", "headers": _header_strings(self.headers)}
        if self.body_parameters:
            config["body"] = _json_or_text(self.body_parameters)
        if self.timeout:
            config["timeout_seconds"] = self.timeout
        if self.result_runtime_variable_name:
            config["result_runtime_variable_name"] = self.result_runtime_variable_name
        return config


def _query_text(query: str) -> str:
    parsed = _json_or_text(query)
    if isinstance(parsed, dict):
        return "&".join(
            f"{_encoded_keeping_placeholders(str(key))}="
            f"{_encoded_keeping_placeholders(value if isinstance(value, str) else json.dumps(value))}"
            for key, value in parsed.items()
        )
    return query.lstrip("?")


def _encoded_keeping_placeholders(text: str) -> str:
    # The placeholders are filled when the node runs (a query value's then percent-encoded): encoded
    # now, "[[city]]" would be sent as the literal text "%5B%5Bcity%5D%5D".
    pieces, start = [], 0
    for match in PLACEHOLDER_PATTERN.finditer(text):
        pieces += [quote_plus(text[start : match.start()]), match.group(0)]
        start = match.end()
    pieces.append(quote_plus(text[start:]))
    return "".join(pieces)


def _json_or_text(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict | list) else text


def _header_strings(headers: dict[str, Any] | None) -> dict[str, str]:
    return {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in (headers or {}).items()}


class SdkToolFields:
    """Fields of the SDK's ``ExternalAPIToolConfig`` (and its ``BaseToolConfig``) beyond the service's own."""

    side_effect: str | None = None
    api_endpoint: str | None = Field(None, description="The SDK's name for url")
    api_method: str | None = Field(None, description="The SDK's name for method")
    api_headers: dict[str, Any] | None = Field(None, description="The SDK's name for headers")
    api_body: dict[str, Any] | str | None = Field(None, description="The SDK's name for body")
    integration_auth: dict[str, Any] | None = Field(None, description="Stored; integrations are not offered")
    variable_arguments: list[dict[str, Any]] = Field(default_factory=empty_list, description="Stored; not acted on")
    result_variable_mappings: list[dict[str, Any]] = Field(
        default_factory=empty_list, description="Stored; not acted on"
    )
    expand_result_into_runtime_variables: bool = False
    ignore_content_received_during_llm_tool_call_specification: bool = False


def sdk_tool_aliases(data: Any) -> Any:
    """An SDK tool's ``api_*`` fields copied onto ``url``/``method``/``headers``/``body`` where those are unset."""
    if not isinstance(data, dict) or not any(data.get(key) is not None for key in _TOOL_ALIASES):
        return data
    data = dict(data)
    for sdk_name, name in _TOOL_ALIASES.items():
        value = data.get(sdk_name)
        if value is not None and data.get(name) is None:
            data[name] = _header_strings(value) if name == "headers" else value
    return data


_TOOL_ALIASES = {"api_endpoint": "url", "api_method": "method", "api_headers": "headers", "api_body": "body"}


class SdkEdgeFields(SdkEntityFields):
    """Fields of the SDK's edge classes beyond the service's own."""

    miscellaneous: dict[str, Any] = Field(default_factory=dict)
    evaluate_while_waiting_config: dict[str, Any] | None = Field(
        None, description="Stored; edges are evaluated after each execution of their source node"
    )


class SdkConditionFields:
    """Fields of the SDK's ``ConditionConfig`` beyond the service's own."""

    static_messages_config: dict[str, Any] | None = Field(None, description="Stored; not acted on")
    dynamic_messages_config: dict[str, Any] | None = Field(None, description="Stored; not acted on")


class SdkWorkflowFields:
    """Fields of the SDK's ``WorkflowConfig`` / ``WorkflowConfigFullyHydrated`` beyond the service's own."""

    attachable_llm_config_id: str | None = Field(None, description="Stored; named LLM configs are not offered")
    ignore_content_received_during_llm_tool_call_specification: bool = False
    dynamic_variables: dict[str, Any] = Field(
        default_factory=dict, description="Defaults for '{{...}}' placeholders; a run's own values win"
    )
    runtime_variables: dict[str, Any] = Field(
        default_factory=dict, description="Initial '[[...]]' runtime variables; a run's own values win"
    )
