"""The turn loop: prepare the state, step the threads until none can go on, finish with the outcome.

Threads are stepped round-robin in the order they were started (main first), one node run per step,
so the interleaving is deterministic; companions started during a pass join it at the end. A step
routes the thread on from a node it waited at, runs its next node, and routes on from that node unless
it now waits. The turn ends when no thread is ready, when a node fails (the run fails) or when the
step guard trips (``aborted_looping_risk``).
"""

from __future__ import annotations

import copy
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflow_service.models.event_records import MAIN_THREAD_ID, base_event, fast_uuid4, node_event
from workflow_service.models.runs import RunStatus

from .context import TurnContext
from .failures import HeartbeatFailed, TurnStopped, WorkflowFailure, describe
from .nodes import NODE_EXECUTORS
from .preparation import TERMINAL_STATUSES, deliver_messages, merge_inputs, prepare
from .routing import end_thread, route, start_companions
from .state import ThreadPhase, ThreadStatus
from .usage import merge_llm_usage

if TYPE_CHECKING:
    from collections.abc import Callable

    from workflow_service.models.llm_calls import LlmResponse
    from workflow_service.models.runs import WorkflowRunInput
    from workflow_service.models.workflow_config import WorkflowConfig
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.http import HttpClient
    from workflow_service.ports.llm import LlmGateway

    from .graph import GraphNode
    from .state import ThreadState

# Enum members read through their class are slow on Python 3.11, and the loop reads them per node run.
_READY = ThreadStatus.READY
_WAITING = ThreadStatus.WAITING
_ENDED = ThreadStatus.ENDED
_ROUTE = ThreadPhase.ROUTE
# The ``type`` of a node's ``run_input`` in the SDK's run-input union: LLM nodes share "llm".
_RUN_INPUT_TYPES = {
    "say_llm": "llm",
    "worker_llm": "llm",
    "say_static": "say_static",
    "http_request": "http_request",
    "tool_node": "tool_node",
    "no_op": "no_op",
}


@dataclass
class TurnResult:
    """What one turn produced.

    ``status`` is ``waiting_for_user_input``, ``completed``, ``failed`` or ``aborted_looping_risk``.
    ``state`` is what the caller stores and passes back next turn. ``next_input_hint`` is the
    ``busy_wait_for_user_message`` event while waiting. ``error`` says why a run failed or aborted.
    ``llm_calls`` are this turn's LLM answers (see :func:`merge_llm_usage` for the run's totals).
    """

    status: RunStatus
    events: list[dict[str, Any]]
    state: dict[str, Any]
    next_input_hint: dict[str, Any] | None = None
    error: str | None = None
    thread_to_node_outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    llm_calls: list[LlmResponse] = field(default_factory=list)


class Turn:
    """One call of ``WorkflowEngine.run_turn``: the loop and the turn's outcome."""

    def __init__(
        self,
        ports: tuple[LlmGateway, HttpClient, Clock],
        max_steps: int,
        config: WorkflowConfig,
        run_input: WorkflowRunInput,
        stored: dict[str, Any] | None,
        heartbeat: Callable[[], None] | None,
    ) -> None:
        self.context = TurnContext(config, *ports)
        self.max_steps = max_steps
        self.run_input = run_input
        self.stored = stored
        self.heartbeat = heartbeat
        self.steps = 0
        self.status: RunStatus | None = None
        self.error: str | None = None
        # Until the turn starts preparing, a crash has no state of its own to report: the stored one stands.
        self.preparing = False

    def run(self) -> TurnResult:
        if self.stored is not None and self.stored.get("status") in TERMINAL_STATUSES:
            return self._already_ended(self.stored)
        context, run_input = self.context, self.run_input
        try:
            self.preparing = True
            prepare(context, run_input, self.stored)
            merge_inputs(context, run_input)
            deliver_messages(context, run_input)
            self._run_threads()
        except TurnStopped:
            pass
        except WorkflowFailure as failure:
            self._fail(failure.message, failure.stack_trace, MAIN_THREAD_ID)
        return self._finish()

    def crashed(self, exc: Exception) -> TurnResult:
        """The failed result of a turn the engine itself broke (call it in ``except``)."""
        message = f"the workflow engine failed: {type(exc).__name__}: {exc}"
        self.status = None
        self._fail(message, traceback.format_exc(), MAIN_THREAD_ID)
        context = self.context
        if self.preparing:
            context.state.status = RunStatus.FAILED
            state = context.state.to_document()
        else:
            state = copy.deepcopy(self.stored or {})
        return TurnResult(
            status=RunStatus.FAILED,
            events=context.events,
            state=state,
            error=message,
            thread_to_node_outputs=context.outputs,
            llm_calls=context.calls,
        )

    def _already_ended(self, stored: dict[str, Any]) -> TurnResult:
        status = RunStatus(stored["status"])
        message = f"the workflow run has already ended with status {status.value}; start a new run"
        event = base_event("workflow_error", self.context.now(), MAIN_THREAD_ID)
        event["error_message"] = message
        event["stack_trace"] = None
        return TurnResult(status=status, events=[event], state=copy.deepcopy(stored), error=message)

    # --- stepping ---------------------------------------------------------------------------------

    def _run_threads(self) -> None:
        state = self.context.state
        threads, order = state.threads, state.thread_order
        heartbeat = self.heartbeat
        while True:
            progressed = False
            for thread_id in order:  # companions started during the pass join it at the end
                thread = threads[thread_id]
                if thread.status is not _READY:
                    continue
                if self.steps and heartbeat is not None:
                    try:
                        heartbeat()
                    except BaseException as exc:
                        raise HeartbeatFailed(exc) from exc
                self._step(thread)
                progressed = True
            if not progressed:
                return

    def _step(self, thread: ThreadState) -> None:
        context = self.context
        try:
            if thread.phase is _ROUTE:
                route(context, thread)
                if thread.status is not _READY:
                    return
            self._run_node(thread)
            if thread.status is _READY:
                route(context, thread)
        except (TurnStopped, HeartbeatFailed):
            raise
        except Exception as exc:
            node = context.nodes.get(thread.node or "")
            where = f"routing after node '{node.id}'" if node else "routing"
            message, trace = describe(exc, where)
            self._fail(message, trace, thread.thread_id, node, thread.node_run_id)
            raise TurnStopped from None

    def _run_node(self, thread: ThreadState) -> None:
        context = self.context
        node_id = thread.node
        node = context.nodes.get(node_id or "")
        thread_id = thread.thread_id
        if node is None:
            raise WorkflowFailure(f"node '{node_id}' does not exist in this workflow version")
        time_left = context.time_left
        if time_left is not None and time_left() <= 0:
            message = (
                f"the turn ran out of its time budget before node '{node_id}'; the run was stopped "
                "rather than let the function time out mid-turn"
            )
            self._fail(message, None, thread_id, node, None)
            raise TurnStopped
        self.steps += 1
        if self.steps > self.max_steps:
            message = (
                f"more than {self.max_steps} node runs in one turn (next: node '{node_id}'); "
                "the workflow is probably looping, so the run was aborted"
            )
            self._fail(message, None, thread_id, node, None)
            self.status = RunStatus.ABORTED_LOOPING_RISK
            raise TurnStopped
        run_id = fast_uuid4()
        thread.node_run_id = run_id
        event = node_event("start_node_run", context.now(), thread_id, node.id, node.name, run_id)
        event["node_type"] = node.type
        event["run_input"] = {"type": _RUN_INPUT_TYPES.get(node.type, "base_node"), "node_logical_id": node.id}
        context.events.append(event)
        try:
            output = NODE_EXECUTORS[node.type](context, thread, node, run_id)
        except Exception as exc:
            message, trace = describe(exc, f"node '{node.id}'")
            self._fail(message, trace, thread_id, node, run_id)
            self._end_node_run(thread_id, node, run_id, {"error": message})
            raise TurnStopped from None
        thread.last_node_logical_id = node.id
        outputs = context.outputs.get(thread_id)
        if outputs is None:
            outputs = context.outputs[thread_id] = []
        outputs.append({"node_logical_id": node.id, "node_run_id": run_id, "type": node.type, "output": output})
        self._end_node_run(thread_id, node, run_id, output)
        thread.phase = _ROUTE
        # Companions start as soon as their source node has run, even if it then waits for the user.
        if node.companion:
            start_companions(context, thread, node)
        if node.waits:
            self._wait(thread, node, run_id)

    def _end_node_run(self, thread_id: str, node: GraphNode, run_id: str, output: dict[str, Any]) -> None:
        event = node_event("end_node_run", self.context.now(), thread_id, node.id, node.name, run_id)
        event["node_type"] = node.type
        # Tagged with the node type, as the SDK's run-output union is (``say_llm``, ``http_request``, ...).
        event["run_output"] = {**output, "type": node.type, "node_logical_id": node.id}
        self.context.events.append(event)

    def _wait(self, thread: ThreadState, node: GraphNode, run_id: str) -> None:
        thread_id = thread.thread_id
        thread.status = _WAITING
        wait = node_event("busy_wait_for_user_message", self.context.now(), thread_id, node.id, node.name, run_id)
        wait.update(
            thread_id=thread_id,
            waiting_node_logical_id=node.id,
            hint=f"waiting for the user's reply to node '{node.name}' on thread '{thread_id}'",
            expected_input={
                "thread_to_node_inputs": {
                    thread_id: {"node_run_inputs": [{"type": "llm", "messages": [{"role": "user", "content": "..."}]}]}
                }
            },
        )
        thread.wait_event = wait
        self.context.events.append(wait)

    # --- outcome ----------------------------------------------------------------------------------

    def _fail(
        self,
        message: str,
        stack_trace: str | None,
        thread_id: str,
        node: GraphNode | None = None,
        node_run_id: str | None = None,
    ) -> None:
        event = base_event("workflow_error", self.context.now(), thread_id)
        event.update(
            error_message=message,
            stack_trace=stack_trace,
            origin_node_logical_id=node.id if node else None,
            origin_node_name=node.name if node else None,
            origin_node_run_id=node_run_id,
        )
        self.context.events.append(event)
        if self.status is None:
            self.status = RunStatus.FAILED
            self.error = message

    def _finish(self) -> TurnResult:
        context = self.context
        state = context.state
        threads, order = state.threads, state.thread_order
        status = self.status
        if status is None:
            waiting = any(threads[thread_id].status is _WAITING for thread_id in order)
            status = RunStatus.WAITING_FOR_USER_INPUT if waiting else RunStatus.COMPLETED
        ended = status in TERMINAL_STATUSES
        if ended:
            for thread_id in order:
                if threads[thread_id].status is not _ENDED:
                    end_thread(context, threads[thread_id], f"the workflow run is {status.value}")
        for thread_id in order:
            event = base_event("workflow_show_state", context.now(), thread_id)
            event.update(
                thread_id=thread_id,
                runtime_variables=threads[thread_id].runtime_variables,
                workflow_runtime_variables=state.workflow_runtime_variables,
            )
            context.events.append(event)
        state.llm_token_usage, state.llm_latency_stats = merge_llm_usage(
            state.llm_token_usage, state.llm_latency_stats, context.calls
        )
        if ended:
            event = base_event("end_workflow", context.now(), MAIN_THREAD_ID)
            event.update(
                status=status.value,
                llm_token_usage=state.llm_token_usage,
                llm_latency_stats=state.llm_latency_stats,
            )
            context.events.append(event)
        state.status = status
        return TurnResult(
            status=status,
            events=context.events,
            state=state.to_document(),
            next_input_hint=self._input_hint() if status is RunStatus.WAITING_FOR_USER_INPUT else None,
            error=self.error,
            thread_to_node_outputs=context.outputs,
            llm_calls=context.calls,
        )

    def _input_hint(self) -> dict[str, Any] | None:
        """The main thread's wait event if it waits, else the first waiting companion's."""
        state = self.context.state
        main = state.main
        if main.status is _WAITING and main.wait_event is not None:
            return main.wait_event
        return next(state.threads[t].wait_event for t in state.thread_order if state.threads[t].status is _WAITING)
