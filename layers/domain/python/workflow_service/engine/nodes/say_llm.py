"""``say_llm``: the LLM answers the conversation under the node's prompt; the answer is said."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow_service.models.event_records import assistant_response, node_event
from workflow_service.models.llm_calls import LlmRequest

from ..llm_calls import conversation, llm_config, system_prompt, usage_info
from . import tool_calls

if TYPE_CHECKING:
    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState


def execute(context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str) -> dict[str, Any]:
    request = LlmRequest(
        llm_config=llm_config(context, node),
        system_prompt=system_prompt(context, thread, node),
        messages=conversation(context),
        purpose="say",
        node_logical_id=node.id,
    )
    response = tool_calls.complete(context, thread, node, node_run_id, request)
    event = node_event("say_llm", context.now(), thread.thread_id, node.id, node.name, node_run_id)
    event["message"] = response.content
    event["llm_usage_info"] = usage_info(response)
    context.events.append(event)
    context.events.append(assistant_response(event, response.content, event["llm_usage_info"]))
    context.state.history.append({"role": "assistant", "content": response.content})
    return {"content": response.content}
