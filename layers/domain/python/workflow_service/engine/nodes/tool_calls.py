"""The tool-calling loop of ``say_llm`` and ``worker_llm`` nodes that carry tools.

Model call → zero or more tool calls (several per answer allowed; each executed by
:mod:`.tool_requests` and answered with a result message) → again, until the model answers with text
or ``max_consecutive_tool_calls`` rounds (consecutive answers that were tool calls; unset = 1, and 0
makes the first call the final one) have run. Then the model is called once more with
``tool_choice="none"`` and told to answer without tools (the tools stay declared: Bedrock refuses a
history with tool blocks and no tool configuration); a tool call in that answer fails the node, or
yields ``default_error_message`` when the node sets one.

Every model call goes through ``context.complete`` and every tool call through the HTTP port, so the
turn's time budget, the usage accounting and the no-side-effect-after-stop guard apply to each. The
rounds stay inside the node: only the final answer joins the run's conversation, and since a turn is
claimed before it runs, a retried request never repeats a tool call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow_service.models.event_records import node_event
from workflow_service.models.llm_calls import LlmMessage, LlmTool
from workflow_service.models.tool_schema import parameters_schema, tool_description, tool_name

from ..failures import WorkflowFailure
from ..llm_calls import usage_info
from .tool_requests import error_result, run_tool_call

if TYPE_CHECKING:
    from workflow_service.models.llm_calls import LlmRequest, LlmResponse, LlmToolCall
    from workflow_service.models.workflow_config import ToolConfig

    from ..context import TurnContext
    from ..graph import GraphNode
    from ..state import ThreadState

DEFAULT_MAX_CONSECUTIVE_TOOL_CALLS = 1
"""The reference's default for ``max_consecutive_tool_calls``."""

ANSWER_WITHOUT_TOOLS = "You cannot call any more tools now. Answer with what you have."


def complete(
    context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str, request: LlmRequest
) -> LlmResponse:
    """The node's answer: one model call, or, when the node has tools, the whole loop."""
    if not node.config.tools_config.tools:
        return context.complete(request)
    tools = node_tools(context, node)
    offered = tuple(
        LlmTool(name=name, description=tool_description(tool), parameters=parameters_schema(tool.args_schema))
        for name, tool in tools.items()
    )
    cap = node.config.max_consecutive_tool_calls
    if cap is None:
        cap = DEFAULT_MAX_CONSECUTIVE_TOOL_CALLS
    messages = list(request.messages)
    rounds = 0
    while True:
        final = rounds >= cap
        call = request._replace(messages=tuple(messages), tools=offered, tool_choice="none" if final else "auto")
        if final:
            call = call._replace(system_prompt=f"{request.system_prompt}\n\n{ANSWER_WITHOUT_TOOLS}".strip())
        response = context.complete(call)
        _llm_event(context, thread, node, node_run_id, response, rounds)
        if not response.tool_calls:
            return response
        if final:
            asked = ", ".join(sorted({tool_call.name for tool_call in response.tool_calls}))
            if node.config.default_error_message:
                return response._replace(content=node.config.default_error_message, tool_calls=())
            raise WorkflowFailure(
                f"node '{node.id}': the model asked for tools ({asked}) again after {cap} round(s) of tool calls "
                f"(max_consecutive_tool_calls) instead of answering"
            )
        messages.append(LlmMessage(role="assistant", content=response.content, tool_calls=response.tool_calls))
        for tool_call in response.tool_calls:
            text, failed = _answer(context, thread, node, node_run_id, tools, tool_call)
            messages.append(LlmMessage(role="tool", content=text, tool_call_id=tool_call.id, tool_error=failed))
        rounds += 1


def node_tools(context: TurnContext, node: GraphNode) -> dict[str, ToolConfig]:
    """The node's tools by the name the model calls them, references to workflow-level tools resolved."""
    workflow_tools = {tool.logical_id: tool for tool in context.config.tools_config.tools}
    tools: dict[str, ToolConfig] = {}
    for tool in node.config.tools_config.tools:
        if not tool.url:
            shared = workflow_tools.get(tool.logical_id)
            if shared is None or not shared.url:
                raise WorkflowFailure(f"tool '{tool.logical_id}' of node '{node.id}' has no url")
            tool = shared
        tools[tool_name(tool)] = tool
    return tools


def _answer(
    context: TurnContext,
    thread: ThreadState,
    node: GraphNode,
    node_run_id: str,
    tools: dict[str, ToolConfig],
    tool_call: LlmToolCall,
) -> tuple[str, bool]:
    tool = tools.get(tool_call.name)
    if tool is None:
        return error_result(f"there is no tool named '{tool_call.name}'; the tools are: {', '.join(tools)}"), True
    return run_tool_call(context, thread, node, node_run_id, tool, tool_call.name, tool_call)


def _llm_event(
    context: TurnContext, thread: ThreadState, node: GraphNode, node_run_id: str, response: LlmResponse, round_: int
) -> None:
    event = node_event("llm", context.now(), thread.thread_id, node.id, node.name, node_run_id)
    event["round"] = round_
    event["content"] = response.content
    event["tool_calls"] = [
        {"id": tool_call.id, "name": tool_call.name, "arguments": tool_call.arguments}
        for tool_call in response.tool_calls
    ]
    event["llm_usage_info"] = usage_info(response)
    context.events.append(event)
