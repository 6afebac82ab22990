"""What the parts of a turn share: the graph, the run state, the ports and the events emitted so far."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow_service.models.event_records import base_event
from workflow_service.models.runs import RunStatus

from .failures import WorkflowFailure
from .graph import index_graph
from .state import RunState
from .templating import VariableScope

# A call with less than this left would time out before it could answer: fail the turn instead.
MIN_SECONDS_FOR_A_CALL = 1.0

if TYPE_CHECKING:
    from collections.abc import Callable

    from workflow_service.models.llm_calls import LlmRequest, LlmResponse
    from workflow_service.models.workflow_config import WorkflowConfig
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.http import HttpClient
    from workflow_service.ports.llm import LlmGateway

    from .graph import GraphNode
    from .state import ThreadState


class TurnContext:
    """One turn's working set, handed to node executors and routing.

    ``events`` is the turn's event log in emission order; ``outputs`` are node outputs by thread;
    ``calls`` are the LLM answers of the turn. ``state`` starts as a fresh run's state and is replaced
    by :meth:`use_state` when the turn continues a stored one.
    """

    __slots__ = (
        "calls",
        "clock",
        "config",
        "events",
        "http",
        "llm",
        "nodes",
        "outputs",
        "scopes",
        "state",
        "thread_variables",
        "time_left",
    )

    def __init__(self, config: WorkflowConfig, llm: LlmGateway, http: HttpClient, clock: Clock) -> None:
        self.config = config
        self.llm = llm
        self.http = http
        self.clock = clock
        self.nodes: dict[str, GraphNode] = index_graph(config)
        self.events: list[dict[str, Any]] = []
        self.outputs: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[LlmResponse] = []
        self.scopes: dict[str, VariableScope] = {}
        # Seconds left of the turn's time budget (None: no budget), read before every call out.
        self.time_left: Callable[[], float] | None = None
        self.use_state(RunState.fresh(config.logical_id))

    def use_state(self, state: RunState) -> None:
        """Continue from ``state``; the run is running again until the turn decides otherwise."""
        self.state = state
        self.thread_variables: dict[str, dict[str, Any]] = {
            thread_id: thread.runtime_variables for thread_id, thread in state.threads.items()
        }
        self.scopes = {}
        state.status = RunStatus.RUNNING

    def now(self) -> float:
        return self.clock.now().timestamp()

    def scope(self, thread: ThreadState) -> VariableScope:
        """The variables ``thread`` sees (cached for the turn)."""
        scope = self.scopes.get(thread.thread_id)
        if scope is None:
            state = self.state
            scope = VariableScope(
                state.dynamic_variables,
                thread.runtime_variables,
                state.workflow_runtime_variables,
                self.thread_variables,
            )
            self.scopes[thread.thread_id] = scope
        return scope

    def add_thread(self, thread: ThreadState) -> None:
        """Start ``thread`` (a companion), replacing an ended thread of the same id."""
        state = self.state
        state.threads[thread.thread_id] = thread
        if thread.thread_id not in state.thread_order:
            state.thread_order.append(thread.thread_id)
        self.thread_variables[thread.thread_id] = thread.runtime_variables
        self.scopes.pop(thread.thread_id, None)

    def seconds_for_call(self, what: str) -> float | None:
        """What is left of the turn's time budget for one call out (None: no budget); a WorkflowFailure
        when too little is left to make it at all (the run fails with the reason, not the function)."""
        if self.time_left is None:
            return None
        left = self.time_left()
        if left < MIN_SECONDS_FOR_A_CALL:
            raise WorkflowFailure(f"the turn's time budget ran out before {what}")
        return left

    def complete(self, request: LlmRequest) -> LlmResponse:
        """One LLM call through the port (never waiting past the turn's budget), counted in the run's usage."""
        left = self.seconds_for_call(f"the LLM call of node '{request.node_logical_id}'")
        if left is not None:
            request = request._replace(time_left_seconds=left)
        response = self.llm.complete(request)
        self.calls.append(response)
        return response

    def warn(self, thread_id: str, message: str) -> None:
        event = base_event("workflow_warning", self.now(), thread_id)
        event["message"] = message
        self.events.append(event)
