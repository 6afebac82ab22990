"""The workflow graph as the engine walks it: each node with its followable edges sorted by kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow_service.models.workflow_config import EdgeType

if TYPE_CHECKING:
    from workflow_service.models.workflow_config import EdgeConfig, NodeConfig, WorkflowConfig


class GraphNode:
    """A node with its outgoing edges by kind, built once per turn.

    Only followable edges are listed: disabled edges and edges into disabled nodes are left out.
    """

    __slots__ = (
        "companion",
        "conditional",
        "config",
        "direct",
        "disabled",
        "id",
        "llm_config",
        "max_turns",
        "name",
        "self_loop",
        "type",
        "waits",
    )

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.id = config.logical_id
        self.name = config.name or config.logical_id
        self.type = config.type.value
        self.waits = bool(config.wait_for_user_message)
        self.self_loop = config.self_loop
        self.max_turns = config.max_turns
        self.disabled = config.disabled
        self.conditional: list[EdgeConfig] = []
        self.companion: list[EdgeConfig] = []
        self.direct: list[EdgeConfig] = []
        # The effective llms_config as JSON, computed on the node's first LLM call of the turn.
        self.llm_config: dict[str, Any] | None = None


def index_graph(config: WorkflowConfig) -> dict[str, GraphNode]:
    """Every node of ``config`` by logical id, with its followable outgoing edges attached."""
    nodes = {node.logical_id: GraphNode(node) for node in config.nodes}
    for edge in config.edges:
        source = nodes.get(edge.source_node_logical_id)
        if edge.disabled or source is None:
            continue
        destination = nodes.get(edge.destination_node_logical_id)
        if destination is not None and destination.disabled:
            continue
        if edge.type is EdgeType.CONDITIONAL:
            source.conditional.append(edge)
        elif edge.starts_companion_thread:
            source.companion.append(edge)
        else:
            source.direct.append(edge)
    for node in nodes.values():
        if not node.direct and node.companion and node.companion[0].type is EdgeType.DIRECT:
            # As in the SDK, a node's only direct edge continues the main thread whatever its companion flag.
            node.direct.append(node.companion.pop(0))
    return nodes
