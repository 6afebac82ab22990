"""Routing: where a thread goes after a node, which companion threads a node starts, and thread ends.

After a node has run, its companion edges start their threads (:func:`start_companions`). Routing from
the node (:func:`route`, after the user's reply if the node waits) then tries the conditional edges in
declaration order and takes the first that holds; else a ``self_loop`` node runs again while it has
handled fewer than ``max_turns`` turns; else the first direct edge is taken; else the thread ends.
A ``condition_expression`` is evaluated by :mod:`workflow_service.conditions`; a ``condition_freeform``
is put to the LLM, whose answer must read as true or false.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow_service.conditions import ConditionError, evaluate_condition
from workflow_service.models.event_records import MAIN_THREAD_ID, base_event, edge_event, node_event
from workflow_service.models.llm_calls import LlmRequest

from .failures import WorkflowFailure
from .llm_calls import conversation, llm_config, usage_info
from .state import ThreadPhase, ThreadState, ThreadStatus
from .templating import MissingVariable, fill_expression, fill_text

if TYPE_CHECKING:
    from workflow_service.models.llm_calls import LlmResponse
    from workflow_service.models.workflow_config import EdgeConfig

    from .context import TurnContext
    from .graph import GraphNode

_FREEFORM_CONDITION_PROMPT = (
    "You decide whether a condition holds, given the conversation so far. "
    "Answer with exactly one word: true or false.\n\nCondition: {condition}"
)
_TRUE_WORDS = frozenset({"true", "yes"})
_FALSE_WORDS = frozenset({"false", "no"})
# Enum members read through their class are slow on Python 3.11; routing runs once per node run.
_RUN = ThreadPhase.RUN
_ENDED = ThreadStatus.ENDED


def route(context: TurnContext, thread: ThreadState) -> None:
    """Move ``thread`` along the first edge out of its node that applies, or end it."""
    node = context.nodes.get(thread.node or "")
    if node is None:
        raise WorkflowFailure(f"node '{thread.node}' does not exist in this workflow version")
    for edge in node.conditional:
        holds, args_filled = _condition_holds(context, thread, node, edge)
        if holds:
            _take(context, thread, node, edge, "conditional_edge", "condition matched", args_filled)
            return
    if node.self_loop:
        loop_turns = thread.loop_turns
        handled = loop_turns.get(node.id, 1)
        if node.max_turns is None or handled < node.max_turns:
            loop_turns[node.id] = handled + 1
            event = edge_event(
                "self_loop_edge",
                context.now(),
                thread.thread_id,
                edge_logical_id=f"{node.id}__self_loop",
                edge_name="self loop",
                source_node_logical_id=node.id,
                source_node_name=node.name,
                destination_node_logical_id=node.id,
                destination_node_name=node.name,
                reason=f"self loop: turn {handled + 1}"
                + (f" of at most {node.max_turns}" if node.max_turns is not None else ""),
            )
            context.events.append(event)
            thread.phase = _RUN
            return
    if node.direct:
        _take(context, thread, node, node.direct[0], "direct_edge", "direct edge", None)
        return
    end_thread(context, thread, "no outgoing edge to follow")


def start_companions(context: TurnContext, thread: ThreadState, node: GraphNode) -> None:
    """Start the thread of each companion edge out of ``node`` that is not running already."""
    for edge in node.companion:
        settings = edge.companion_thread_config
        thread_id = settings.thread_id if settings else None
        if not settings or not thread_id or thread_id == MAIN_THREAD_ID:
            raise WorkflowFailure(
                f"companion edge '{edge.logical_id}' needs a companion_thread_config.thread_id other than 0"
            )
        existing = context.state.threads.get(thread_id)
        if existing is not None and existing.status is not _ENDED:
            context.warn(
                thread.thread_id,
                f"companion thread '{thread_id}' is still running; edge '{edge.logical_id}' did not start it again",
            )
            continue
        event = _edge_event(context, "companion_edge", thread.thread_id, node, edge, "companion thread started")
        event["companion_thread_id"] = thread_id
        context.events.append(event)
        start = edge.destination_node_logical_id
        companion = ThreadState(
            thread_id=thread_id,
            node=start,
            parent_thread_id=thread.thread_id,
            stop_with_main_thread=settings.stop_with_main_thread,
        )
        context.add_thread(companion)
        started = base_event("start_thread", context.now(), thread_id)
        started.update(thread_id=thread_id, parent_thread_id=thread.thread_id, start_node_logical_id=start)
        context.events.append(started)


def end_thread(context: TurnContext, thread: ThreadState, reason: str) -> None:
    """End ``thread``; ending the main thread also ends the companions that stop with it."""
    thread.mark_ended()
    event = base_event("end_thread", context.now(), thread.thread_id)
    event.update(thread_id=thread.thread_id, last_node_logical_id=thread.last_node_logical_id, reason=reason)
    context.events.append(event)
    if thread.thread_id == MAIN_THREAD_ID:
        threads = context.state.threads
        for thread_id in context.state.thread_order:
            companion = threads[thread_id]
            if companion.status is not _ENDED and companion.stop_with_main_thread:
                end_thread(context, companion, "the main thread ended")


def _take(
    context: TurnContext,
    thread: ThreadState,
    node: GraphNode,
    edge: EdgeConfig,
    event_type: str,
    reason: str,
    args_filled: dict[str, Any] | None,
) -> None:
    event = _edge_event(context, event_type, thread.thread_id, node, edge, reason)
    if args_filled is not None:
        event["args_filled"] = args_filled
    context.events.append(event)
    loop_turns = thread.loop_turns
    if loop_turns:  # leaving a self-loop node, or entering one afresh, restarts its turn count
        loop_turns.pop(node.id, None)
        loop_turns.pop(edge.destination_node_logical_id, None)
    thread.node = edge.destination_node_logical_id
    thread.phase = _RUN


def _edge_event(
    context: TurnContext, event_type: str, thread_id: str, node: GraphNode, edge: EdgeConfig, reason: str
) -> dict[str, Any]:
    destination = context.nodes.get(edge.destination_node_logical_id)
    if destination is None:
        raise WorkflowFailure(
            f"edge '{edge.logical_id}' leads to node '{edge.destination_node_logical_id}', which does not exist"
        )
    return edge_event(
        event_type,
        context.now(),
        thread_id,
        edge_logical_id=edge.logical_id,
        edge_name=edge.name or edge.logical_id,
        source_node_logical_id=node.id,
        source_node_name=node.name,
        destination_node_logical_id=destination.id,
        destination_node_name=destination.name,
        reason=reason,
    )


def _condition_holds(
    context: TurnContext, thread: ThreadState, node: GraphNode, edge: EdgeConfig
) -> tuple[bool, dict[str, Any]]:
    """Whether the edge's condition holds, and the ``args_filled`` its edge event reports."""
    condition = edge.condition
    expression = condition.condition_expression if condition else None
    freeform = condition.condition_freeform if condition else None
    scope = context.scope(thread)
    if expression and expression.strip():
        try:
            # Only what the edge event reports: the values are evaluated as data, never as pasted text.
            filled = fill_expression(expression, scope)
        except MissingVariable as exc:
            raise WorkflowFailure(f"{exc} in the condition_expression of edge '{edge.logical_id}'") from None
        try:
            holds = evaluate_condition(expression, scope.value_of, scope.resolve_placeholder)
        except ConditionError as exc:
            raise WorkflowFailure(
                f"condition_expression {expression!r} of edge '{edge.logical_id}' could not be evaluated: {exc}"
            ) from None
        return holds, {"condition_expression": filled, "result": holds}
    if freeform and freeform.strip():
        question = fill_text(freeform, scope)
        return _ask_llm(context, thread, node, edge, question)
    raise WorkflowFailure(f"conditional edge '{edge.logical_id}' has no condition_expression or condition_freeform")


def _ask_llm(
    context: TurnContext, thread: ThreadState, node: GraphNode, edge: EdgeConfig, question: str
) -> tuple[bool, dict[str, Any]]:
    response = context.complete(
        LlmRequest(
            llm_config=llm_config(context, node),
            system_prompt=_FREEFORM_CONDITION_PROMPT.format(condition=question),
            messages=conversation(context),
            purpose="condition",
            node_logical_id=node.id,
        )
    )
    holds = _parse_yes_no(response)
    event = node_event(
        "condition_evaluator_llm", context.now(), thread.thread_id, node.id, node.name, thread.node_run_id or ""
    )
    event.update(
        edge_logical_id=edge.logical_id,
        condition_freeform=question,
        content=response.content,
        result=holds,
        llm_usage_info=usage_info(response),
        # The SDK's names for the same facts.
        message=response.content,
        is_condition_met=holds,
        destination_node_logical_id=edge.destination_node_logical_id,
    )
    context.events.append(event)
    if holds is None:
        raise WorkflowFailure(
            f"the LLM's answer to the condition_freeform of edge '{edge.logical_id}' is neither true "
            f"nor false: {response.content[:200]!r}"
        )
    return holds, {"condition_freeform": question, "llm_answer": response.content, "result": holds}


def _parse_yes_no(response: LlmResponse) -> bool | None:
    structured = response.structured_output or {}
    for key in ("result", "answer", "value"):
        value = structured.get(key)
        if isinstance(value, bool):
            return value
    words = response.content.strip().split()
    first = "".join(ch for ch in words[0] if ch.isalpha()).lower() if words else ""
    if first in _TRUE_WORDS:
        return True
    if first in _FALSE_WORDS:
        return False
    return None
