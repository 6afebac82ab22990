"""``no_op``: does nothing; a junction in the graph (or, as the SDK describes it, a placeholder step).

A node that names ``output_runtime_variable_name`` records its success there; ``simulate_failure``
fails the run as a failing step would, so error paths can be tried without a real one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..failures import WorkflowFailure

if TYPE_CHECKING:
    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState


def execute(context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str) -> dict[str, Any]:
    config = node.config
    if config.simulate_failure:
        raise WorkflowFailure(f"no_op node '{node.id}' simulates a failure (simulate_failure is true)")
    if config.output_runtime_variable_name:
        thread.runtime_variables[config.output_runtime_variable_name] = True
    return {}
