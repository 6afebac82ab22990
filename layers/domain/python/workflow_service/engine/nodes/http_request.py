"""``http_request``: one templated HTTP call (``http_request_config``); see :mod:`.outbound`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..failures import WorkflowFailure
from .outbound import CallTemplate, call

if TYPE_CHECKING:
    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState


def execute(context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str) -> dict[str, Any]:
    settings = node.config.http_request_config
    if settings is None:
        raise WorkflowFailure(f"http_request node '{node.id}' has no http_request_config")
    return call(context, thread, node, node_run_id, CallTemplate.of(settings))
