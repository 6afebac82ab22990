"""``worker_llm``: the LLM works silently; a structured answer becomes the thread's runtime variables.

With a ``structured_output_schema`` the answer must be a JSON object (the provider's structured output,
else the reply text parsed as JSON); anything else fails the run.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from workflow_service.models.event_records import node_event
from workflow_service.models.llm_calls import LlmRequest

from ..failures import WorkflowFailure
from ..llm_calls import conversation, llm_config, system_prompt, usage_info
from . import tool_calls

if TYPE_CHECKING:
    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState


def execute(context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str) -> dict[str, Any]:
    schema = node.config.structured_output_schema or None
    request = LlmRequest(
        llm_config=llm_config(context, node),
        system_prompt=system_prompt(context, thread, node),
        messages=conversation(context),
        purpose="worker",
        structured_output_schema=schema,
        node_logical_id=node.id,
    )
    response = tool_calls.complete(context, thread, node, node_run_id, request)
    structured = response.structured_output
    if schema and structured is None:
        try:
            structured = json.loads(response.content)
        except ValueError:
            structured = None
    if schema and not isinstance(structured, dict):
        raise WorkflowFailure(
            f"worker_llm node '{node.id}' expected a JSON object matching its structured_output_schema, "
            f"got: {response.content[:200]!r}"
        )
    if structured:
        thread.runtime_variables.update(structured)
    event = node_event("worker_llm", context.now(), thread.thread_id, node.id, node.name, node_run_id)
    event["content"] = response.content
    event["message"] = response.content  # the SDK's LLM node events read ``message``
    event["structured_output"] = structured
    event["llm_usage_info"] = usage_info(response)
    context.events.append(event)
    return {"content": response.content, "structured_output": structured}
