"""The start of a turn: the state it continues, the turn's inputs, and the user messages it delivers.

A run's first turn starts the main thread at the start node (or ``start_node_logical_id``), or
continues ``initial_state``. A later turn continues the stored state. Then the run input's variables
are merged (the newest value wins) and its messages delivered: each joins the conversation, and a
message for a waiting thread resumes it; a ``data`` command resumes every waiting thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from workflow_service.models.event_records import MAIN_THREAD_ID, base_event
from workflow_service.models.runs import RunCommand, RunStatus, message_role_and_text

from .failures import WorkflowFailure
from .routing import end_thread
from .state import STATE_SCHEMA_VERSION, RunState, ThreadPhase, ThreadStatus, UnreadableState

if TYPE_CHECKING:
    from workflow_service.models.runs import WorkflowRunInput

    from .context import TurnContext
    from .state import ConversationMessage

LAST_USER_MESSAGE_VARIABLE = "last_user_message"
TERMINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.ABORTED_LOOPING_RISK})


def prepare(context: TurnContext, run_input: WorkflowRunInput, stored: dict[str, Any] | None) -> None:
    """Set up the state the turn runs on: the stored state, ``initial_state``, or a new run."""
    if stored is not None:
        _continue_from(context, stored, "the stored run state")
        return
    initial_state = run_input.initial_state
    if initial_state is not None:
        _continue_from(context, initial_state, "initial_state")
        if initial_state.get("status") in TERMINAL_STATUSES:
            raise WorkflowFailure("initial_state is the state of a run that has ended; it cannot be continued")
        main = context.state.main
        _start_event(context, run_input, main.node, from_initial_state=True)
        if run_input.start_node_logical_id:
            start = _start_node_id(context, run_input)
            main.status, main.phase, main.node, main.wait_event = ThreadStatus.READY, ThreadPhase.RUN, start, None
        return
    _start_event(context, run_input, None, from_initial_state=False)
    # The workflow's own variables are a new run's defaults; the turn's run input, merged next, wins.
    context.state.dynamic_variables.update(context.config.dynamic_variables)
    context.state.workflow_runtime_variables.update(context.config.runtime_variables)
    start = _start_node_id(context, run_input)
    event = base_event("start_thread", context.now(), MAIN_THREAD_ID)
    event.update(thread_id=MAIN_THREAD_ID, parent_thread_id=None, start_node_logical_id=start)
    context.events.append(event)
    if start is None:
        end_thread(context, context.state.main, "the workflow has no nodes")
    else:
        context.state.main.node = start


def merge_inputs(context: TurnContext, run_input: WorkflowRunInput) -> None:
    """Count the turn and take in its dynamic and runtime variables."""
    state = context.state
    state.turn_index += 1
    state.dynamic_variables.update(run_input.dynamic_variables)
    workflow_variables = state.workflow_runtime_variables
    for name, value in run_input.runtime_variables.items():
        workflow_variables[name] = value
        # The newest value wins: a thread's own copy written by a node would otherwise hide it.
        for variables in context.thread_variables.values():
            variables.pop(name, None)


def deliver_messages(context: TurnContext, run_input: WorkflowRunInput) -> None:
    """Add the turn's messages to the conversation and resume the threads they are for."""
    state = context.state
    threads = state.threads
    for thread_id, inputs in run_input.thread_to_node_inputs.items():
        messages: list[ConversationMessage] = []
        for node_run_input in inputs.node_run_inputs:
            for message in node_run_input.get("messages") or ():
                parsed = message_role_and_text(message)
                if parsed is not None:
                    role: Literal["user", "assistant"] = "assistant" if parsed[0] == "assistant" else "user"
                    messages.append({"role": role, "content": parsed[1]})
        if not messages:
            continue
        event = base_event("user_messages", context.now(), thread_id)
        event["messages"] = messages
        context.events.append(event)
        state.history.extend(messages)
        thread = threads.get(thread_id)
        if thread is None:
            context.warn(thread_id, f"thread '{thread_id}' does not exist; its messages only joined the conversation")
            continue
        user_texts = [message["content"] for message in messages if message["role"] == "user"]
        if user_texts:
            thread.runtime_variables[LAST_USER_MESSAGE_VARIABLE] = user_texts[-1]
        if thread.status is ThreadStatus.WAITING:
            thread.resume()
    if run_input.command == RunCommand.DATA:
        for thread in threads.values():
            if thread.status is ThreadStatus.WAITING:
                thread.resume()


def _continue_from(context: TurnContext, document: Any, what: str) -> None:
    try:
        state = RunState.from_document(document)
    except UnreadableState:
        # The turn reports the failure on a new run's state, whose main thread never started.
        context.state.main.status = ThreadStatus.ENDED
        raise WorkflowFailure(
            f"{what} is not a workflow state produced by this engine (schema {STATE_SCHEMA_VERSION})"
        ) from None
    context.use_state(state)


def _start_event(
    context: TurnContext, run_input: WorkflowRunInput, start_node: str | None, *, from_initial_state: bool
) -> None:
    event = base_event("start_workflow", context.now(), MAIN_THREAD_ID)
    event.update(
        workflow_logical_id=context.config.logical_id,
        start_node_logical_id=run_input.start_node_logical_id or start_node,
        from_initial_state=from_initial_state,
    )
    context.events.append(event)


def _start_node_id(context: TurnContext, run_input: WorkflowRunInput) -> str | None:
    requested = run_input.start_node_logical_id
    if requested:
        node = context.nodes.get(requested)
        if node is None:
            raise WorkflowFailure(f"start_node_logical_id '{requested}' is not a node of this workflow version")
        if node.disabled:
            raise WorkflowFailure(f"start_node_logical_id '{requested}' names a disabled node")
        return requested
    config = context.config
    start = config.start_node()
    if start is None:
        if config.nodes:
            raise WorkflowFailure("the workflow has no start node: mark one node with is_start: true")
        return None
    if start.disabled:
        raise WorkflowFailure(f"the start node '{start.logical_id}' is disabled")
    return start.logical_id
