"""What the product's SDK (github.com/interactly-ai/workflow-sdk, ``interactly_configs``) sends and parses.

Facts, written down from its source (not its code): tests/fixtures/sdk/*.json are the bodies its classes
serialise to (``model_dump(mode="json")``: every field, defaults and nulls included), and the shapes below
are the fields its ``WorkflowConfigFullyHydrated`` reads, with their JSON types.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sdk"


def fixture(name: str) -> dict[str, Any]:
    """A copy of ``tests/fixtures/sdk/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def without_llm_configs(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without its ``llms_config`` objects (the SDK's LLM configs are modelled apart, in models/llm.py)."""
    body = copy.deepcopy(body)
    for part in (body.get("workflow_config") or {}, *body.get("node_configs", ())):
        part.pop("llms_config", None)
    return body


# JSON types, as the SDK's pydantic classes accept them: "str", "int", "num", "bool", "dict", "list",
# a trailing "?" = null allowed. The SDK ignores fields it does not define.
STR, INT, NUM, BOOL, DICT, LIST = "str", "int", "num", "bool", "dict", "list"

HYDRATED_CONFIG = {
    "workflow_config": DICT + "?",
    "node_configs": LIST,
    "edge_configs": LIST,
    "dynamic_variables": DICT,
    "runtime_variables": DICT,
}

WORKFLOW_CONFIG = {
    "logical_id": STR + "?",
    "name": STR + "?",
    "description": STR + "?",
    "category": STR + "?",
    "attachable_llm_config_id": STR + "?",
    "llms_config": DICT + "?",
    "main_response_config": DICT + "?",
    "backchannel_response_config": DICT + "?",
    "default_prompt_prefix": STR + "?",
    "default_prompt_suffix": STR + "?",
    "ignore_content_received_during_llm_tool_call_specification": BOOL,
    "tools_config": DICT + "?",
    "mcp_servers": LIST + "?",
    "global_condition_evaluation_method": STR + "?",
    "nodes": LIST,  # of ids (strings)
    "edges": LIST,
    "miscellaneous": DICT,
    "access_config": DICT + "?",
    "evaluation_config": DICT + "?",
    "guardrail_strikes_config": DICT + "?",
}

_ENTITY = {
    "logical_id": STR + "?",
    "name": STR + "?",
    "description": STR + "?",
    "workflow_id": STR + "?",
    "version_number": INT + "?",
    "disabled": BOOL,
    "miscellaneous": DICT,
}
_NODE = {
    **_ENTITY,
    "type": STR,
    "primary_category": STR + "?",
    "secondary_category": STR + "?",
    "is_start": BOOL,
    "global_node_config": DICT + "?",
    "is_guardrail_node": BOOL,
    "self_loop_config": DICT + "?",
}
_LLM_NODE = {
    **_NODE,
    "main_response_config": DICT + "?",
    "attachable_llm_config_id": STR + "?",
    "llms_config": DICT + "?",
    "tools_config": DICT + "?",
    "self_loop": BOOL,
    "wait_for_user_message": BOOL,
    "max_consecutive_tool_calls": INT,
    "default_error_message": STR + "?",
    "use_mcp_tools": BOOL,
    "ignore_default_prompt_prefix": BOOL,
    "ignore_default_prompt_suffix": BOOL,
    "ignore_content_received_during_llm_tool_call_specification": BOOL,
    "structured_output_schema": DICT + "?",
    "backchannel_response_config": DICT + "?",
}
NODE_TYPES = {
    "say_llm": _LLM_NODE,
    "worker_llm": _LLM_NODE,
    "say_static": {**_NODE, "static_messages_config": DICT + "?"},
    "http_request": {
        **_NODE,
        "url": STR + "?",
        "method": STR + "?",
        "headers": DICT + "?",
        "query_parameters": STR + "?",
        "body_parameters": STR + "?",
        "body_content_type": STR + "?",
        "timeout": INT + "?",
        "response_format": STR + "?",
        "result_runtime_variable_name": STR + "?",
    },
    "tool_node": {
        **_NODE,
        "tool_config": DICT + "?",
        "tool_arguments": DICT + "?",
        "result_runtime_variable_name": STR + "?",
        "preserve_argument_types": BOOL,
    },
    "no_op": {
        **_NODE,
        "note": STR + "?",
        "output_runtime_variable_name": STR + "?",
        "delay_seconds": NUM + "?",
        "simulate_failure": BOOL,
    },
}
_EDGE = {**_ENTITY, "type": STR, "source_node_logical_id": STR + "?", "destination_node_logical_id": STR + "?"}
EDGE_TYPES = {
    "direct": {**_EDGE, "companion_thread_config": DICT + "?"},
    "conditional": {**_EDGE, "condition": DICT + "?", "evaluate_while_waiting_config": DICT + "?"},
    "companion": _EDGE,
}
# What the service's answer must carry for the SDK to rebuild the graph (the SDK would otherwise fill
# in defaults: a fresh random logical_id, type-less nodes, edges to nowhere).
NODE_REQUIRED = ("logical_id", "type")
EDGE_REQUIRED = ("logical_id", "type", "source_node_logical_id", "destination_node_logical_id")

_CHECKS = {
    STR: lambda v: isinstance(v, str),
    INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
    NUM: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    BOOL: lambda v: isinstance(v, bool),
    DICT: lambda v: isinstance(v, dict),
    LIST: lambda v: isinstance(v, list),
}


def type_problems(value: dict[str, Any], shape: dict[str, str], where: str) -> list[str]:
    """Fields of ``value`` whose JSON type the SDK would refuse."""
    problems = []
    for field, kind in shape.items():
        if field not in value:
            continue
        nullable = kind.endswith("?")
        item = value[field]
        if item is None and nullable:
            continue
        if not _CHECKS[kind.rstrip("?")](item):
            problems.append(f"{where}.{field}: {item!r} is not {kind}")
    return problems


def fully_hydrated_problems(payload: Any) -> list[str]:
    """Why the SDK's ``WorkflowConfigFullyHydrated`` would not rebuild ``payload`` faithfully (empty: it would)."""
    if not isinstance(payload, dict):
        return [f"payload is {type(payload).__name__}, not an object"]
    problems = [f"missing {key}" for key in ("workflow_config", "node_configs", "edge_configs") if key not in payload]
    problems += type_problems(payload, HYDRATED_CONFIG, "config")
    config = payload.get("workflow_config")
    if isinstance(config, dict):
        problems += type_problems(config, WORKFLOW_CONFIG, "workflow_config")
        for key in ("nodes", "edges"):
            if not all(isinstance(item, str) for item in config.get(key, [])):
                problems.append(f"workflow_config.{key} must list ids (strings)")
    for index, node in enumerate(payload.get("node_configs") or []):
        where = f"node_configs[{index}]"
        problems += [f"{where}: missing {field}" for field in NODE_REQUIRED if node.get(field) is None]
        shape = NODE_TYPES.get(node.get("type"))
        problems += [f"{where}: type {node.get('type')!r} unknown to the SDK"] if shape is None else []
        problems += type_problems(node, shape or {}, where)
    for index, edge in enumerate(payload.get("edge_configs") or []):
        where = f"edge_configs[{index}]"
        problems += [f"{where}: missing {field}" for field in EDGE_REQUIRED if edge.get(field) is None]
        shape = EDGE_TYPES.get(edge.get("type"))
        problems += [f"{where}: type {edge.get('type')!r} unknown to the SDK"] if shape is None else []
        problems += type_problems(edge, shape or {}, where)
    return problems


def sdk_unwrap(answer: dict[str, Any]) -> Any:
    """What the SDK's ``get_fully_hydrated`` validates: ``answer["workflow"]["workflow_config"]``."""
    return (answer.get("workflow") or {}).get("workflow_config")
