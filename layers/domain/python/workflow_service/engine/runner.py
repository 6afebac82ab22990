"""The workflow engine: runs one turn of a workflow run over a config and a stored state.

A turn starts (or resumes) the run's threads and runs nodes until every thread waits for input or
has ended, a node fails, or the step guard trips. It is pure apart from the ports it is given (LLM,
outbound HTTP, clock): the caller loads the state, claims the turn, calls :meth:`WorkflowEngine.run_turn`
and stores :attr:`TurnResult.state` for the next turn.

Threads. The main thread is ``"0"``. A companion edge starts a parallel thread at its destination;
threads are stepped round-robin in the order they were started (main first), one node run per step,
so the interleaving is deterministic. When the main thread ends, companions started with
``stop_with_main_thread`` end too.

Routing after a node (:mod:`.routing`). Companion edges all fire as soon as the node has run. Then
(after the user's reply, if the node waits) conditional edges are tried in declaration order and the
first that holds is taken; else a ``self_loop`` node runs again while it has handled fewer than
``max_turns`` turns; else the first direct edge is taken; else the thread ends. Disabled edges and
edges into disabled nodes are never followed. A companion edge whose thread is still running is not
started again.

Waiting. A node with ``wait_for_user_message`` emits ``busy_wait_for_user_message`` after it runs and
its thread waits. The thread resumes, by routing from that node, when a turn brings a user message
for it (``thread_to_node_inputs[<thread id>]``) or when the command is ``data``; a ``start`` or
``resume`` without a message leaves it waiting. The last user message is the runtime variable
``last_user_message`` of the thread it was sent to.

State. :attr:`TurnResult.state` is a JSON-safe dict owned by the engine (the caller stores it as is);
inside a turn it is the typed :class:`.state.RunState`. The state passed in is copied once per turn,
never modified. ``pause`` and ``stop`` are the caller's business: the engine is not called for them.

Layout: :mod:`.turn` is the loop (prepare, step, finish) and :mod:`.preparation` its start;
:mod:`.routing` moves threads along edges; :mod:`.nodes` holds one executor per node type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .failures import HeartbeatFailed
from .state import STATE_SCHEMA_VERSION
from .turn import Turn, TurnResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from workflow_service.models.runs import WorkflowRunInput
    from workflow_service.models.workflow_config import WorkflowConfig
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.http import HttpClient
    from workflow_service.ports.llm import LlmGateway

__all__ = ["STATE_SCHEMA_VERSION", "TurnResult", "WorkflowEngine"]


class WorkflowEngine:
    """Runs workflow turns through the LLM, outbound-HTTP and clock ports.

    ``max_steps_per_turn`` is the step guard: a turn that would run more nodes than this ends with
    ``aborted_looping_risk``.
    """

    def __init__(self, llm: LlmGateway, http: HttpClient, clock: Clock, *, max_steps_per_turn: int = 200) -> None:
        if max_steps_per_turn < 1:
            raise ValueError("max_steps_per_turn must be at least 1")
        self._ports = (llm, http, clock)
        self._max_steps = max_steps_per_turn

    def run_turn(
        self,
        config: WorkflowConfig,
        run_input: WorkflowRunInput,
        state: dict[str, Any] | None,
        *,
        heartbeat: Callable[[], None] | None = None,
        time_left: Callable[[], float] | None = None,
    ) -> TurnResult:
        """Run one turn. Workflow problems end in a ``failed`` result, never in an exception.

        ``state`` is None for a run's first turn (then ``run_input.initial_state``, when given, is
        the state to continue from). ``heartbeat`` is called between node runs; an exception it
        raises (e.g. the turn's claim was lost) propagates to the caller unchanged. ``time_left`` gives
        the seconds left of the turn's time budget: no node starts, and no LLM or HTTP call waits, past
        it; a turn that runs out fails with the reason (the caller's function never hits its timeout).
        """
        turn = Turn(self._ports, self._max_steps, config, run_input, state, heartbeat)
        turn.context.time_left = time_left
        try:
            return turn.run()
        except HeartbeatFailed as failure:
            raise failure.original from None
        except Exception as exc:  # an engine defect must still leave a reportable, failed turn
            return turn.crashed(exc)
