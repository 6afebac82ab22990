"""Small builders for workflow-config dicts: nodes, edges and say_static nodes."""

from __future__ import annotations

from typing import Any


def node(logical_id: str, node_type: str = "no_op", **fields: Any) -> dict[str, Any]:
    return {"logical_id": logical_id, "type": node_type, **fields}


def edge(source: str, destination: str, edge_type: str = "direct", **fields: Any) -> dict[str, Any]:
    fields.setdefault("logical_id", f"{source}->{destination}")
    return {"source_node_logical_id": source, "destination_node_logical_id": destination, "type": edge_type, **fields}


def say(logical_id: str, *messages: str, **fields: Any) -> dict[str, Any]:
    return node(logical_id, "say_static", static_messages_config={"static_messages": list(messages)}, **fields)
