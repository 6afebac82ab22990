"""``tool_node``: calls each of its ``external_api`` tools in order; see :mod:`.outbound`.

A tool without a ``url`` stands for the workflow-level tool with the same ``logical_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..failures import WorkflowFailure
from .outbound import CallTemplate, call

if TYPE_CHECKING:
    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState


def execute(context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str) -> dict[str, Any]:
    tools = node.config.tools_config.tools
    if not tools:
        raise WorkflowFailure(f"tool_node '{node.id}' has no tools")
    workflow_tools = {tool.logical_id: tool for tool in context.config.tools_config.tools}
    results: dict[str, Any] = {}
    for tool in tools:
        if not tool.url:
            shared = workflow_tools.get(tool.logical_id)
            if shared is None or not shared.url:
                raise WorkflowFailure(f"tool '{tool.logical_id}' of node '{node.id}' has no url")
            tool = shared
        template = CallTemplate.of(tool, tool=(tool.logical_id, tool.name or tool.logical_id))
        results[tool.logical_id] = call(context, thread, node, node_run_id, template)
    return {"results": results}
