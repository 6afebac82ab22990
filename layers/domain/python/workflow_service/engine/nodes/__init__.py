"""Node executors, one module per node type, and the registry the turn runs them from.

An executor runs one node for one thread: ``execute(context, thread, node, node_run_id)`` emits the
node's own events, may write runtime variables, and returns the node's output (the ``run_output`` of
its ``end_node_run`` event). It raises to fail the run; the turn reports the error. A new node type is
one module here and one line in :data:`NODE_EXECUTORS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflow_service.models.workflow_config import NodeType

from . import http_request, no_op, say_llm, say_static, tool_node, worker_llm

if TYPE_CHECKING:
    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState

NodeExecutor = Callable[["TurnContext", "ThreadState", "GraphNode", str], dict[str, Any]]

NODE_EXECUTORS: dict[str, NodeExecutor] = {
    NodeType.SAY_STATIC: say_static.execute,
    NodeType.SAY_LLM: say_llm.execute,
    NodeType.WORKER_LLM: worker_llm.execute,
    NodeType.HTTP_REQUEST: http_request.execute,
    NodeType.TOOL_NODE: tool_node.execute,
    NodeType.NO_OP: no_op.execute,
}

__all__ = ["NODE_EXECUTORS", "NodeExecutor"]
