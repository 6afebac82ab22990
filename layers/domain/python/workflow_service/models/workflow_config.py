"""A workflow version's config: the LLM defaults, the nodes and the edges (reference 5.4, 7.3, 7.4, 7.8).

Nodes and edges are carried inline (DESIGN.md section 3), unlike the product where ``nodes``/``edges``
are lists of ids. Field names, enum values and defaults follow the reference. Fields the reference
documents but this service does not act on (``primary_category``, ``global_node_config``,
``mcp_servers`` ...) are accepted and stored so a config exported from the product round-trips;
any other unknown field is rejected, so a typo such as ``wait_for_user_mesage`` is reported instead of
silently changing behaviour.

``parse_model`` errors (unknown node type, bad enum) come from pydantic with their ``loc``;
cross-object rules (unique ids, edges pointing at existing nodes, exactly one start node, ...) are
checked by :func:`validate_workflow_config`, which returns every problem at once.

Placeholders: ``{{name}}`` is filled from dynamic variables and ``[[name]]`` from runtime variables
(``[[thread_<id>.<var>]]`` reads another thread's). The syntax, and the grammar of condition expressions,
are defined by :mod:`workflow_service.conditions`; this module validates configs against them.
"""

from collections import Counter
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, Field, field_validator, model_validator

from workflow_service.conditions import check_condition_expression
from workflow_service.errors import FieldProblem
from workflow_service.models.common import empty_list
from workflow_service.models.config_base import _ConfigModel, _lowercase, _new_id
from workflow_service.models.llm import LlmsConfig  # the SDK's LLM configs live with the LLM shapes
from workflow_service.models.sdk_fields import SdkConditionFields, SdkEdgeFields, SdkNodeFields, SdkWorkflowFields

# Re-exported: the config's parts are imported from here.
from workflow_service.models.tool_config import HTTP_METHODS as HTTP_METHODS
from workflow_service.models.tool_config import HttpRequestConfig as HttpRequestConfig
from workflow_service.models.tool_config import StaticMessagesConfig as StaticMessagesConfig
from workflow_service.models.tool_config import ToolConfig as ToolConfig
from workflow_service.models.tool_config import ToolsConfig as ToolsConfig
from workflow_service.models.tool_schema import check_llm_node_tools

# --- shared pieces --------------------------------------------------------------------------------


class ResponseConfig(_ConfigModel):
    """``main_response_config`` / ``backchannel_response_config``: the node's (or workflow's) prompt."""

    prompt: str | None = None


# --- nodes ----------------------------------------------------------------------------------------


class NodeType(StrEnum):
    SAY_STATIC = "say_static"
    SAY_LLM = "say_llm"
    WORKER_LLM = "worker_llm"
    HTTP_REQUEST = "http_request"
    TOOL_NODE = "tool_node"
    NO_OP = "no_op"


# Node types of the product (reference section 9) that this service does not run.
KNOWN_UNSUPPORTED_NODE_TYPES = frozenset(
    {
        "super_node",
        "workflow_run_fetch",
        "workflow_run_evaluator",
        "start_conversation",
        "end_conversation",
        "send_sms",
        "google_docs",
        "athena_patients_search",
        "athena_patients_create",
        "athena_patients_update",
        "athena_appointments_create",
        "deduplicate",
        "field_extractor",
    }
)
_NODE_TYPE_VALUES = frozenset(t.value for t in NodeType)
_SUPPORTED_NODE_TYPES_TEXT = ", ".join(t.value for t in NodeType)


class NodeConfig(_ConfigModel, SdkNodeFields):
    """One node of the graph (reference 7.3).

    ``wait_for_user_message`` defaults to True for ``say_llm`` (it speaks, then waits for the reply,
    as the product's Node Types page describes) and to False for every other type. After a waiting
    node, the next turn's user message resumes the run by following the node's outgoing edges.
    ``max_turns`` caps how many turns a ``self_loop`` node handles before it moves on along its
    direct edge (None = no cap; the per-turn step guard still applies).
    """

    logical_id: str = Field(..., min_length=1)
    name: str | None = None
    description: str | None = None
    type: NodeType
    is_start: bool = False
    disabled: bool = False
    llms_config: LlmsConfig | None = Field(None, description="Overrides the workflow's llms_config")
    main_response_config: ResponseConfig = Field(default_factory=ResponseConfig)
    static_messages_config: StaticMessagesConfig = Field(default_factory=StaticMessagesConfig)
    tools_config: ToolsConfig = Field(default_factory=ToolsConfig)
    wait_for_user_message: bool | None = None
    max_turns: int | None = Field(None, ge=1)
    self_loop: bool = False
    structured_output_schema: dict[str, Any] = Field(default_factory=dict)
    http_request_config: HttpRequestConfig | None = Field(
        None, validation_alias=AliasChoices("http_request_config", "http_request")
    )
    miscellaneous: dict[str, Any] = Field(default_factory=dict)
    # Accepted for compatibility with product exports; not used by this service.
    primary_category: str | None = None
    secondary_category: str | None = None
    global_node_config: dict[str, Any] | None = None
    workflow_id: str | None = None
    backchannel_response_config: ResponseConfig | None = None
    max_consecutive_tool_calls: int | None = Field(
        None, ge=0, description="Tool-calling rounds before the model must answer; unset = 1, 0 = none"
    )
    default_error_message: str | None = None
    tool_config: ToolConfig | None = Field(None, description="The SDK's single tool of a tool_node")

    @field_validator("type", mode="before")
    @classmethod
    def _supported_type(cls, value: Any) -> Any:
        value = _lowercase(value)
        if isinstance(value, str) and value not in _NODE_TYPE_VALUES:
            if value in KNOWN_UNSUPPORTED_NODE_TYPES:
                raise ValueError(
                    f"node type '{value}' is not supported by this service; "
                    f"supported types: {_SUPPORTED_NODE_TYPES_TEXT}"
                )
            raise ValueError(f"unknown node type '{value}'; supported types: {_SUPPORTED_NODE_TYPES_TEXT}")
        return value

    @model_validator(mode="after")
    def _default_wait(self) -> "NodeConfig":
        if self.wait_for_user_message is None:
            self.wait_for_user_message = self.type is NodeType.SAY_LLM
        return self

    @model_validator(mode="after")
    def _sdk_spellings(self) -> "NodeConfig":
        # The SDK spells an http_request node's request flat and a tool_node's tool singular.
        if self.type is NodeType.HTTP_REQUEST and self.http_request_config is None:
            request = self.sdk_http_request()
            if request is not None:
                self.http_request_config = HttpRequestConfig.model_validate(request)
        if self.type is NodeType.TOOL_NODE and self.tool_config is not None and not self.tools_config.tools:
            self.tools_config = ToolsConfig(tools=[self.tool_config])
        return self


# --- edges ----------------------------------------------------------------------------------------


class EdgeType(StrEnum):
    DIRECT = "direct"
    CONDITIONAL = "conditional"
    COMPANION = "companion"


class EdgeCondition(_ConfigModel, SdkConditionFields):
    """A conditional edge's test: a deterministic expression, or a freeform question for the LLM.

    ``condition_expression`` uses the grammar of :mod:`workflow_service.conditions`; names resolve to
    runtime variables, then dynamic variables. ``condition_freeform`` is asked to the LLM (purpose
    "condition") and its answer is read as true/false.
    """

    condition_expression: str | None = None
    condition_freeform: str | None = None
    args_schema: dict[str, Any] = Field(default_factory=dict)


class CompanionThreadConfig(_ConfigModel):
    """Where a companion edge runs its destination: a parallel thread (the main thread is "0")."""

    is_companion_thread: bool = True
    thread_id: str | None = None
    stop_with_main_thread: bool = True


class EdgeConfig(_ConfigModel, SdkEdgeFields):
    """One edge (reference 7.4). Disabled edges, and edges into disabled nodes, are never followed."""

    logical_id: str = Field(default_factory=lambda: _new_id("edge"), min_length=1)
    name: str | None = None
    description: str | None = None
    source_node_logical_id: str = Field(..., min_length=1)
    destination_node_logical_id: str = Field(..., min_length=1)
    disabled: bool = False
    type: EdgeType = EdgeType.DIRECT
    condition: EdgeCondition | None = None
    companion_thread_config: CompanionThreadConfig | None = None
    workflow_id: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _normalise_type(cls, value: Any) -> Any:
        return _lowercase(value)

    @model_validator(mode="after")
    def _sdk_companion_thread_id(self) -> "EdgeConfig":
        # The SDK lets a companion direct edge omit its thread id; the edge's own id is a stable one.
        thread = self.companion_thread_config
        if self.type is EdgeType.DIRECT and thread is not None and thread.is_companion_thread and not thread.thread_id:
            thread.thread_id = self.logical_id
        return self

    @property
    def starts_companion_thread(self) -> bool:
        """A companion edge, or (as the SDK spells it) a direct edge marked ``is_companion_thread``."""
        if self.type is EdgeType.COMPANION:
            return True
        thread = self.companion_thread_config
        return self.type is EdgeType.DIRECT and thread is not None and thread.is_companion_thread


# --- the workflow config --------------------------------------------------------------------------


MAX_NODES = 2000
MAX_EDGES = 10000


class WorkflowConfig(_ConfigModel, SdkWorkflowFields):
    """A workflow version's config (reference 5.4) with its nodes and edges inline.

    An empty config (no nodes, no edges) is valid: it is what version 0 starts with.
    """

    logical_id: str = Field(default_factory=lambda: _new_id("workflow"))
    name: str | None = None
    description: str | None = None
    category: str = "User Created"
    llms_config: LlmsConfig = Field(default_factory=LlmsConfig)
    main_response_config: ResponseConfig = Field(default_factory=ResponseConfig)
    default_prompt_prefix: str | None = None
    default_prompt_suffix: str | None = None
    tools_config: ToolsConfig = Field(default_factory=ToolsConfig)
    # Bounds on what one version may hold, so loading and indexing a graph stays cheap on every turn.
    nodes: list[NodeConfig] = Field(default_factory=empty_list, max_length=MAX_NODES)
    edges: list[EdgeConfig] = Field(default_factory=empty_list, max_length=MAX_EDGES)
    miscellaneous: dict[str, Any] = Field(default_factory=dict)
    run_timeout_seconds: int | None = Field(
        None, ge=1, description="How long a run may go without a heartbeat before the reaper fails it"
    )
    input_timeout_seconds: int | None = Field(
        None, ge=1, description="How long a run may wait for user input before the reaper fails it"
    )
    # Accepted for compatibility with product exports; not used by this service.
    backchannel_response_config: ResponseConfig | None = None
    mcp_servers: list[dict[str, Any]] = Field(default_factory=empty_list)
    global_condition_evaluation_method: str | None = None
    evaluation_config: dict[str, Any] | None = None
    guardrail_strikes_config: dict[str, Any] | None = None
    access_config: dict[str, Any] | None = None

    def start_node(self) -> NodeConfig | None:
        """The node marked ``is_start`` (the first one if the config is invalid), or None."""
        return next((node for node in self.nodes if node.is_start), None)


# --- cross-object rules ---------------------------------------------------------------------------


def validate_workflow_config(
    config: WorkflowConfig, loc_prefix: tuple[str | int, ...] = ("body", "workflow_config")
) -> list[FieldProblem]:
    """Every rule a parsed config breaks, each located like a FastAPI validation error.

    Checks: unique node and edge ids; edges between existing nodes; exactly one enabled start node
    (unless the config is empty); conditional edges with exactly one valid condition; companion
    edges with a thread id other than the main thread's; node-type requirements (messages for
    ``say_static``, a request for ``http_request``, runnable tools for ``tool_node``). An empty list
    means the config can run.
    """
    problems: list[FieldProblem] = []

    def problem(loc: tuple[str | int, ...], msg: str, value: Any = None) -> None:
        problems.append(FieldProblem(loc=(*loc_prefix, *loc), msg=msg, input=value))

    node_ids = Counter(node.logical_id for node in config.nodes)
    edge_ids = Counter(edge.logical_id for edge in config.edges)
    workflow_tools = {tool.logical_id: tool for tool in config.tools_config.tools}

    for index, node in enumerate(config.nodes):
        if node_ids[node.logical_id] > 1:
            problem(("nodes", index, "logical_id"), f"duplicate node logical_id '{node.logical_id}'", node.logical_id)
        _check_node(node, index, workflow_tools, problem)

    starts = [index for index, node in enumerate(config.nodes) if node.is_start]
    if config.nodes and not starts:
        problem(("nodes",), "no start node: mark exactly one node with is_start: true")
    for index in starts[1:]:
        problem(
            ("nodes", index, "is_start"),
            f"more than one start node: '{config.nodes[starts[0]].logical_id}' is already the start node",
            True,
        )
    if starts and config.nodes[starts[0]].disabled:
        problem(("nodes", starts[0], "disabled"), "the start node cannot be disabled", True)

    seen_threads: dict[str, int] = {}
    for index, edge in enumerate(config.edges):
        if edge_ids[edge.logical_id] > 1:
            problem(("edges", index, "logical_id"), f"duplicate edge logical_id '{edge.logical_id}'", edge.logical_id)
        for end in ("source_node_logical_id", "destination_node_logical_id"):
            node_id = getattr(edge, end)
            if node_id not in node_ids:
                problem(("edges", index, end), f"no node with logical_id '{node_id}'", node_id)
        if edge.type is EdgeType.CONDITIONAL:
            _check_condition(edge, index, problem)
        elif edge.starts_companion_thread:
            thread = edge.companion_thread_config
            if thread is None or not thread.thread_id:
                problem(
                    ("edges", index, "companion_thread_config"),
                    "a companion edge needs companion_thread_config with a thread_id",
                    None if thread is None else thread.model_dump(),
                )
            elif thread.thread_id == "0":
                problem(
                    ("edges", index, "companion_thread_config", "thread_id"),
                    'thread_id "0" is the main thread; choose another id for a companion thread',
                    "0",
                )
            elif thread.thread_id in seen_threads:
                problem(
                    ("edges", index, "companion_thread_config", "thread_id"),
                    f"thread_id '{thread.thread_id}' is already used by edges[{seen_threads[thread.thread_id]}]",
                    thread.thread_id,
                )
            else:
                seen_threads[thread.thread_id] = index
    return problems


def _check_node(node: NodeConfig, index: int, workflow_tools: dict[str, ToolConfig], problem: Any) -> None:
    if node.type is NodeType.SAY_STATIC and not node.static_messages_config.static_messages:
        problem(
            ("nodes", index, "static_messages_config", "static_messages"),
            "a say_static node needs at least one static message",
            [],
        )
    if node.type is NodeType.HTTP_REQUEST and node.http_request_config is None:
        problem(("nodes", index, "http_request_config"), "an http_request node needs http_request_config", None)
    if node.type is NodeType.TOOL_NODE:
        if not node.tools_config.tools:
            problem(("nodes", index, "tools_config", "tools"), "a tool_node needs at least one tool", [])
        for tool_index, tool in enumerate(node.tools_config.tools):
            if not tool.url and tool.logical_id not in workflow_tools:
                problem(
                    ("nodes", index, "tools_config", "tools", tool_index, "url"),
                    f"tool '{tool.logical_id}' has no url and no workflow-level tool has that logical_id",
                    None,
                )
    elif node.type in (NodeType.SAY_LLM, NodeType.WORKER_LLM):
        check_llm_node_tools(node, index, workflow_tools, problem)
    elif node.tools_config.tools:
        problem(
            ("nodes", index, "tools_config", "tools"),
            f"tools can only be attached to tool_node, say_llm and worker_llm nodes, not to {node.type.value}",
            [tool.logical_id for tool in node.tools_config.tools],
        )


def _check_condition(edge: EdgeConfig, index: int, problem: Any) -> None:
    condition = edge.condition
    expression = condition.condition_expression if condition else None
    freeform = condition.condition_freeform if condition else None
    has_expression = bool(expression and expression.strip())
    has_freeform = bool(freeform and freeform.strip())
    if not has_expression and not has_freeform:
        problem(
            ("edges", index, "condition"),
            "a conditional edge needs condition.condition_expression or condition.condition_freeform",
            None if condition is None else condition.model_dump(),
        )
    elif has_expression and has_freeform:
        problem(
            ("edges", index, "condition"),
            "set either condition_expression or condition_freeform, not both",
            condition.model_dump() if condition else None,
        )
    elif has_expression:
        error = check_condition_expression(expression or "")
        if error:
            problem(("edges", index, "condition", "condition_expression"), error, expression)
