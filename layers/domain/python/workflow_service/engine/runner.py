"""The workflow engine: runs one turn of a workflow run over a config and a stored state.

A turn starts (or resumes) the run's threads and runs nodes until every thread waits for input or
has ended, a node fails, or the step guard trips. It is pure apart from the ports it is given (LLM,
outbound HTTP, clock): the caller loads the state, claims the turn, calls :meth:`WorkflowEngine.run_turn`
and stores :attr:`TurnResult.state` for the next turn.

Threads. The main thread is ``"0"``. A companion edge starts a parallel thread at its destination;
threads are stepped round-robin in the order they were started (main first), one node run per step,
so the interleaving is deterministic. When the main thread ends, companions started with
``stop_with_main_thread`` end too.

Routing after a node. Companion edges all fire as soon as the node has run. Then (after the user's
reply, if the node waits) conditional edges are tried in declaration order and the first that holds
is taken; else a ``self_loop`` node runs again while it has handled fewer than ``max_turns`` turns;
else the first direct edge is taken; else the thread ends. Disabled edges and edges into disabled
nodes are never followed. A companion edge whose thread is still running is not started again.

Waiting. A node with ``wait_for_user_message`` emits ``busy_wait_for_user_message`` after it runs and
its thread waits. The thread resumes, by routing from that node, when a turn brings a user message
for it (``thread_to_node_inputs[<thread id>]``) or when the command is ``data``; a ``start`` or
``resume`` without a message leaves it waiting. The last user message is the runtime variable
``last_user_message`` of the thread it was sent to.

State. :attr:`TurnResult.state` is a JSON-safe dict owned by the engine (the caller stores it as is).
The state passed in is copied once per turn, never modified. ``pause`` and ``stop`` are the caller's
business: the engine is not called for them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workflow_service.conditions import ConditionError, evaluate_condition
from workflow_service.models.event_records import MAIN_THREAD_ID, base_event, edge_event, fast_uuid4, node_event
from workflow_service.models.llm import LlmMessage, LlmRequest, LlmResponse
from workflow_service.models.runs import RunCommand, RunStatus, WorkflowRunInput
from workflow_service.models.workflow_config import (
    HTTP_METHODS,
    EdgeConfig,
    NodeConfig,
    NodeType,
    WorkflowConfig,
)
from workflow_service.ports import (
    Clock,
    HttpClient,
    LlmError,
    LlmGateway,
    OutboundRequest,
    OutboundRequestFailed,
    OutboundRequestRefused,
)

from .templating import MissingVariable, VariableScope, fill_expression, fill_text, fill_value
from .usage import empty_latency_stats, empty_token_usage, merge_llm_usage

STATE_SCHEMA_VERSION = 1
LAST_USER_MESSAGE_VARIABLE = "last_user_message"
_TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.ABORTED_LOOPING_RISK})
_FREEFORM_CONDITION_PROMPT = (
    "You decide whether a condition holds, given the conversation so far. "
    "Answer with exactly one word: true or false.\n\nCondition: {condition}"
)
_TRUE_WORDS = frozenset({"true", "yes"})
_FALSE_WORDS = frozenset({"false", "no"})


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


class WorkflowEngine:
    """Runs workflow turns through the LLM, outbound-HTTP and clock ports.

    ``max_steps_per_turn`` is the step guard: a turn that would run more nodes than this ends with
    ``aborted_looping_risk``.
    """

    def __init__(self, llm: LlmGateway, http: HttpClient, clock: Clock, *, max_steps_per_turn: int = 200) -> None:
        if max_steps_per_turn < 1:
            raise ValueError("max_steps_per_turn must be at least 1")
        self._llm = llm
        self._http = http
        self._clock = clock
        self._max_steps = max_steps_per_turn

    def run_turn(
        self,
        config: WorkflowConfig,
        run_input: WorkflowRunInput,
        state: dict[str, Any] | None,
        *,
        heartbeat: Callable[[], None] | None = None,
    ) -> TurnResult:
        """Run one turn. Workflow problems end in a ``failed`` result, never in an exception.

        ``state`` is None for a run's first turn (then ``run_input.initial_state``, when given, is
        the state to continue from). ``heartbeat`` is called between node runs; an exception it
        raises (e.g. the turn's claim was lost) propagates to the caller unchanged.
        """
        turn = _Turn(self, config, run_input, state, heartbeat)
        try:
            return turn.run()
        except _HeartbeatFailed as failure:
            raise failure.original from None
        except Exception as exc:  # an engine defect must still leave a reportable, failed turn
            return turn.crashed(exc)


# --- internals ------------------------------------------------------------------------------------


class _Failure(Exception):
    """A workflow problem that fails the run; the message is written for the workflow's author."""

    def __init__(self, message: str, stack_trace: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.stack_trace = stack_trace


class _Stop(Exception):
    """Unwinds the scheduler once the turn's outcome is decided (failed or aborted)."""


class _HeartbeatFailed(Exception):
    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class _Node:
    """A node with its outgoing edges sorted by kind, built once per turn."""

    __slots__ = (
        "companion",
        "conditional",
        "config",
        "direct",
        "disabled",
        "id",
        "llm_config",
        "max_turns",
        "name",
        "self_loop",
        "type",
        "waits",
    )

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.id = config.logical_id
        self.name = config.name or config.logical_id
        self.type = config.type.value
        self.waits = bool(config.wait_for_user_message)
        self.self_loop = config.self_loop
        self.max_turns = config.max_turns
        self.disabled = config.disabled
        self.conditional: list[EdgeConfig] = []
        self.companion: list[EdgeConfig] = []
        self.direct: list[EdgeConfig] = []
        self.llm_config: dict[str, Any] | None = None


def _index(config: WorkflowConfig) -> dict[str, _Node]:
    nodes = {node.logical_id: _Node(node) for node in config.nodes}
    for edge in config.edges:
        source = nodes.get(edge.source_node_logical_id)
        if edge.disabled or source is None:
            continue
        destination = nodes.get(edge.destination_node_logical_id)
        if destination is not None and destination.disabled:
            continue
        kind = edge.type.value
        if kind == "conditional":
            source.conditional.append(edge)
        elif kind == "companion":
            source.companion.append(edge)
        else:
            source.direct.append(edge)
    return nodes


def _new_thread(thread_id: str, start_node: str | None, parent: str | None, stop_with_main: bool) -> dict[str, Any]:
    return {
        "thread_id": thread_id,
        "status": "ready",
        "phase": "run",
        "node": start_node,
        "node_run_id": None,
        "runtime_variables": {},
        "loop_turns": {},
        "visits": {},
        "parent_thread_id": parent,
        "stop_with_main_thread": stop_with_main,
        "last_node_logical_id": None,
        "wait_event": None,
    }


def _is_engine_state(state: Any) -> bool:
    if not isinstance(state, dict) or state.get("schema_version") != STATE_SCHEMA_VERSION:
        return False
    threads, order = state.get("threads"), state.get("thread_order")
    return (
        isinstance(threads, dict)
        and isinstance(order, list)
        and MAIN_THREAD_ID in threads
        and all(isinstance(threads.get(thread_id), dict) for thread_id in order)
        and isinstance(state.get("history"), list)
        and isinstance(state.get("dynamic_variables"), dict)
        and isinstance(state.get("workflow_runtime_variables"), dict)
    )


def _parse_yes_no(response: LlmResponse) -> bool | None:
    structured = response.structured_output or {}
    for key in ("result", "answer", "value"):
        if isinstance(structured.get(key), bool):
            return structured[key]
    words = response.content.strip().split()
    first = "".join(ch for ch in words[0] if ch.isalpha()).lower() if words else ""
    if first in _TRUE_WORDS:
        return True
    if first in _FALSE_WORDS:
        return False
    return None


class _Turn:
    """One call of ``run_turn``: the mutable bookkeeping of a single turn."""

    def __init__(
        self,
        engine: WorkflowEngine,
        config: WorkflowConfig,
        run_input: WorkflowRunInput,
        state: dict[str, Any] | None,
        heartbeat: Callable[[], None] | None,
    ) -> None:
        self.llm = engine._llm
        self.http = engine._http
        self.clock = engine._clock
        self.max_steps = engine._max_steps
        self.config = config
        self.run_input = run_input
        self.given_state = state
        self.heartbeat = heartbeat
        self.nodes: dict[str, _Node] = {}
        self.state: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.outputs: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[LlmResponse] = []
        self.steps = 0
        self.status: RunStatus | None = None
        self.error: str | None = None
        self.scopes: dict[str, VariableScope] = {}
        self.thread_variables: dict[str, dict[str, Any]] = {}
        self.handlers: dict[str, Callable[[dict[str, Any], _Node, str], dict[str, Any]]] = {
            NodeType.SAY_STATIC.value: self._say_static,
            NodeType.SAY_LLM.value: self._say_llm,
            NodeType.WORKER_LLM.value: self._worker_llm,
            NodeType.HTTP_REQUEST.value: self._http_request,
            NodeType.TOOL_NODE.value: self._tool_node,
            NodeType.NO_OP.value: self._no_op,
        }

    def now(self) -> float:
        return self.clock.now().timestamp()

    # --- the turn ---------------------------------------------------------------------------------

    def run(self) -> TurnResult:
        self.nodes = _index(self.config)
        if self.given_state is not None and self.given_state.get("status") in _TERMINAL:
            return self._already_ended()
        try:
            self._prepare()
            self._merge_inputs()
            self._deliver_messages()
            self._run_threads()
        except _Stop:
            pass
        except _Failure as failure:
            self._fail(failure.message, failure.stack_trace, MAIN_THREAD_ID)
        return self._finish()

    def _already_ended(self) -> TurnResult:
        state = self.given_state or {}
        status = RunStatus(state["status"])
        message = f"the workflow run has already ended with status {status.value}; start a new run"
        event = base_event("workflow_error", self.now(), MAIN_THREAD_ID)
        event["error_message"] = message
        event["stack_trace"] = None
        return TurnResult(status=status, events=[event], state=copy.deepcopy(state), error=message)

    def crashed(self, exc: Exception) -> TurnResult:
        message = f"the workflow engine failed: {type(exc).__name__}: {exc}"
        self.status = None
        self._fail(message, traceback.format_exc(), MAIN_THREAD_ID)
        if self.state:
            self.state["status"] = RunStatus.FAILED.value
        return TurnResult(
            status=RunStatus.FAILED,
            events=self.events,
            state=self.state or copy.deepcopy(self.given_state or {}),
            error=message,
            thread_to_node_outputs=self.outputs,
            llm_calls=self.calls,
        )

    def _prepare(self) -> None:
        run_input = self.run_input
        if self.given_state is not None:
            self._adopt(self.given_state, "the stored run state")
            return
        if run_input.initial_state is not None:
            self._adopt(run_input.initial_state, "initial_state")
            if run_input.initial_state.get("status") in _TERMINAL:
                raise _Failure("initial_state is the state of a run that has ended; it cannot be continued")
            self._start_event(self._main()["node"], from_initial_state=True)
            if run_input.start_node_logical_id:
                main = self._main()
                main.update(status="ready", phase="run", node=self._start_node_id(), wait_event=None)
            return
        self.state = self._fresh_state()
        self._register_threads()
        self._start_event(None, from_initial_state=False)
        start = self._start_node_id()
        main = self._main()
        event = base_event("start_thread", self.now(), MAIN_THREAD_ID)
        event.update(thread_id=MAIN_THREAD_ID, parent_thread_id=None, start_node_logical_id=start)
        self.events.append(event)
        if start is None:
            self._end_thread(main, "the workflow has no nodes")
        else:
            main["node"] = start

    def _fresh_state(self) -> dict[str, Any]:
        return {
            "schema_version": STATE_SCHEMA_VERSION,
            "workflow_logical_id": self.config.logical_id,
            "status": RunStatus.RUNNING.value,
            "turn_index": 0,
            "dynamic_variables": {},
            "workflow_runtime_variables": {},
            "history": [],
            "thread_order": [MAIN_THREAD_ID],
            "threads": {MAIN_THREAD_ID: _new_thread(MAIN_THREAD_ID, None, None, False)},
            "llm_token_usage": empty_token_usage(),
            "llm_latency_stats": empty_latency_stats(),
        }

    def _adopt(self, state: Any, what: str) -> None:
        """Continue from a state produced by this engine (copied: the caller's dict stays as it was)."""
        if not _is_engine_state(state):
            self.state = self._fresh_state()
            self._main()["status"] = "ended"
            raise _Failure(f"{what} is not a workflow state produced by this engine (schema {STATE_SCHEMA_VERSION})")
        self.state = copy.deepcopy(state)
        self._register_threads()

    def _start_event(self, start_node: str | None, *, from_initial_state: bool) -> None:
        event = base_event("start_workflow", self.now(), MAIN_THREAD_ID)
        event.update(
            workflow_logical_id=self.config.logical_id,
            start_node_logical_id=self.run_input.start_node_logical_id or start_node,
            from_initial_state=from_initial_state,
        )
        self.events.append(event)

    def _start_node_id(self) -> str | None:
        requested = self.run_input.start_node_logical_id
        if requested:
            node = self.nodes.get(requested)
            if node is None:
                raise _Failure(f"start_node_logical_id '{requested}' is not a node of this workflow version")
            if node.disabled:
                raise _Failure(f"start_node_logical_id '{requested}' names a disabled node")
            return requested
        start = self.config.start_node()
        if start is None:
            if self.config.nodes:
                raise _Failure("the workflow has no start node: mark one node with is_start: true")
            return None
        if start.disabled:
            raise _Failure(f"the start node '{start.logical_id}' is disabled")
        return start.logical_id

    def _register_threads(self) -> None:
        self.thread_variables = {tid: thread["runtime_variables"] for tid, thread in self.state["threads"].items()}
        self.scopes = {}
        self.state["status"] = RunStatus.RUNNING.value

    def _main(self) -> dict[str, Any]:
        return self.state["threads"][MAIN_THREAD_ID]

    def _merge_inputs(self) -> None:
        state = self.state
        state["turn_index"] = int(state.get("turn_index", 0)) + 1
        state["dynamic_variables"].update(self.run_input.dynamic_variables)
        workflow_variables = state["workflow_runtime_variables"]
        for name, value in self.run_input.runtime_variables.items():
            workflow_variables[name] = value
            # The newest value wins: a thread's own copy written by a node would otherwise hide it.
            for variables in self.thread_variables.values():
                variables.pop(name, None)

    def _deliver_messages(self) -> None:
        threads = self.state["threads"]
        for thread_id, inputs in self.run_input.thread_to_node_inputs.items():
            messages: list[dict[str, str]] = []
            for node_run_input in inputs.node_run_inputs:
                for message in node_run_input.get("messages") or ():
                    if isinstance(message, dict) and isinstance(message.get("content"), str):
                        role = "assistant" if message.get("role") == "assistant" else "user"
                        messages.append({"role": role, "content": message["content"]})
            if not messages:
                continue
            event = base_event("user_messages", self.now(), thread_id)
            event["messages"] = messages
            self.events.append(event)
            self.state["history"].extend(messages)
            thread = threads.get(thread_id)
            if thread is None:
                self._warn(thread_id, f"thread '{thread_id}' does not exist; its messages only joined the conversation")
                continue
            user_texts = [message["content"] for message in messages if message["role"] == "user"]
            if user_texts:
                thread["runtime_variables"][LAST_USER_MESSAGE_VARIABLE] = user_texts[-1]
            if thread["status"] == "waiting":
                self._resume(thread)
        if self.run_input.command == RunCommand.DATA:
            for thread in threads.values():
                if thread["status"] == "waiting":
                    self._resume(thread)

    @staticmethod
    def _resume(thread: dict[str, Any]) -> None:
        thread["status"] = "ready"
        thread["wait_event"] = None

    def _run_threads(self) -> None:
        threads = self.state["threads"]
        order = self.state["thread_order"]
        while True:
            progressed = False
            for thread_id in order:  # companions started during the pass join it at the end
                thread = threads[thread_id]
                if thread["status"] != "ready":
                    continue
                if self.steps and self.heartbeat is not None:
                    try:
                        self.heartbeat()
                    except BaseException as exc:
                        raise _HeartbeatFailed(exc) from exc
                self._step(thread)
                progressed = True
            if not progressed:
                return

    def _step(self, thread: dict[str, Any]) -> None:
        try:
            if thread["phase"] == "route":
                self._route(thread)
                if thread["status"] != "ready":
                    return
            self._run_node(thread)
            if thread["status"] == "ready":
                self._route(thread)
        except (_Stop, _HeartbeatFailed):
            raise
        except Exception as exc:
            node = self.nodes.get(thread.get("node") or "")
            where = f"routing after node '{node.id}'" if node else "routing"
            message, trace = self._describe(exc, where)
            self._fail(message, trace, thread["thread_id"], node, thread.get("node_run_id"))
            raise _Stop from None

    # --- nodes --------------------------------------------------------------------------------------

    def _run_node(self, thread: dict[str, Any]) -> None:
        node_id = thread["node"]
        node = self.nodes.get(node_id)
        thread_id = thread["thread_id"]
        if node is None:
            raise _Failure(f"node '{node_id}' does not exist in this workflow version")
        self.steps += 1
        if self.steps > self.max_steps:
            message = (
                f"more than {self.max_steps} node runs in one turn (next: node '{node_id}'); "
                "the workflow is probably looping, so the run was aborted"
            )
            self._fail(message, None, thread_id, node, None)
            self.status = RunStatus.ABORTED_LOOPING_RISK
            raise _Stop
        run_id = fast_uuid4()
        thread["node_run_id"] = run_id
        event = node_event("start_node_run", self.now(), thread_id, node_id, node.name, run_id)
        event["node_type"] = node.type
        event["run_input"] = {}
        self.events.append(event)
        try:
            output = self.handlers[node.type](thread, node, run_id)
        except Exception as exc:
            message, trace = self._describe(exc, f"node '{node_id}'")
            self._fail(message, trace, thread_id, node, run_id)
            self._end_node_run(thread_id, node, run_id, {"error": message})
            raise _Stop from None
        thread["last_node_logical_id"] = node_id
        outputs = self.outputs.get(thread_id)
        if outputs is None:
            outputs = self.outputs[thread_id] = []
        outputs.append({"node_logical_id": node_id, "node_run_id": run_id, "type": node.type, "output": output})
        self._end_node_run(thread_id, node, run_id, output)
        thread["phase"] = "route"
        # Companions start as soon as their source node has run, even if it then waits for the user.
        for edge in node.companion:
            self._start_companion(thread, node, edge)
        if node.waits:
            thread["status"] = "waiting"
            wait = node_event("busy_wait_for_user_message", self.now(), thread_id, node_id, node.name, run_id)
            wait.update(
                thread_id=thread_id,
                waiting_node_logical_id=node_id,
                hint=f"waiting for the user's reply to node '{node.name}' on thread '{thread_id}'",
                expected_input={
                    "thread_to_node_inputs": {
                        thread_id: {
                            "node_run_inputs": [{"type": "llm", "messages": [{"role": "user", "content": "..."}]}]
                        }
                    }
                },
            )
            thread["wait_event"] = wait
            self.events.append(wait)

    def _end_node_run(self, thread_id: str, node: _Node, run_id: str, output: dict[str, Any]) -> None:
        event = node_event("end_node_run", self.now(), thread_id, node.id, node.name, run_id)
        event["node_type"] = node.type
        event["run_output"] = output
        self.events.append(event)

    def _scope(self, thread: dict[str, Any]) -> VariableScope:
        thread_id = thread["thread_id"]
        scope = self.scopes.get(thread_id)
        if scope is None:
            scope = VariableScope(
                self.state["dynamic_variables"],
                thread["runtime_variables"],
                self.state["workflow_runtime_variables"],
                self.thread_variables,
            )
            self.scopes[thread_id] = scope
        return scope

    def _say_static(self, thread: dict[str, Any], node: _Node, run_id: str) -> dict[str, Any]:
        settings = node.config.static_messages_config
        messages = settings.static_messages
        if not messages:
            raise _Failure(f"say_static node '{node.id}' has no static_messages")
        if len(messages) == 1:
            text = messages[0]
        else:
            visits = thread["visits"]
            visit = visits.get(node.id, 0)
            visits[node.id] = visit + 1
            if settings.static_messages_selection_mode == "sequential":
                text = messages[visit % len(messages)]
            else:
                # Seeded on node, turn and visit: a replay of the run picks the same messages.
                seed = f"{node.id}:{self.state['turn_index']}:{visit}".encode()
                digest = hashlib.blake2b(seed, digest_size=8).digest()
                text = messages[int.from_bytes(digest, "big") % len(messages)]
        content = fill_text(text, self._scope(thread)) if ("{{" in text or "[[" in text) else text
        event = node_event("say_static", self.now(), thread["thread_id"], node.id, node.name, run_id)
        event["message"] = content
        self.events.append(event)
        self.state["history"].append({"role": "assistant", "content": content})
        return {"content": content}

    def _llm_config(self, node: _Node) -> dict[str, Any]:
        if node.llm_config is None:
            chosen = node.config.llms_config or self.config.llms_config
            node.llm_config = chosen.model_dump(mode="json")
        return node.llm_config

    def _system_prompt(self, thread: dict[str, Any], node: _Node) -> str:
        scope = self._scope(thread)
        prompt = node.config.main_response_config.prompt or self.config.main_response_config.prompt
        parts = (self.config.default_prompt_prefix, prompt, self.config.default_prompt_suffix)
        return "\n\n".join(filled for part in parts if part and (filled := fill_text(part, scope)))

    def _conversation(self) -> tuple[LlmMessage, ...]:
        return tuple(LlmMessage(role=message["role"], content=message["content"]) for message in self.state["history"])

    def _complete(self, request: LlmRequest) -> LlmResponse:
        response = self.llm.complete(request)
        self.calls.append(response)
        return response

    @staticmethod
    def _usage(response: LlmResponse) -> dict[str, Any]:
        return {
            "provider": response.provider,
            "model": response.model,
            "input_tokens": response.input_tokens,
            "output_tokens": response.output_tokens,
            "latency_ms": response.latency_ms,
        }

    def _say_llm(self, thread: dict[str, Any], node: _Node, run_id: str) -> dict[str, Any]:
        request = LlmRequest(
            llm_config=self._llm_config(node),
            system_prompt=self._system_prompt(thread, node),
            messages=self._conversation(),
            purpose="say",
            node_logical_id=node.id,
        )
        response = self._complete(request)
        event = node_event("say_llm", self.now(), thread["thread_id"], node.id, node.name, run_id)
        event["message"] = response.content
        event["llm_usage_info"] = self._usage(response)
        self.events.append(event)
        self.state["history"].append({"role": "assistant", "content": response.content})
        return {"content": response.content}

    def _worker_llm(self, thread: dict[str, Any], node: _Node, run_id: str) -> dict[str, Any]:
        schema = node.config.structured_output_schema or None
        request = LlmRequest(
            llm_config=self._llm_config(node),
            system_prompt=self._system_prompt(thread, node),
            messages=self._conversation(),
            purpose="worker",
            structured_output_schema=schema,
            node_logical_id=node.id,
        )
        response = self._complete(request)
        structured = response.structured_output
        if schema and structured is None:
            try:
                structured = json.loads(response.content)
            except ValueError:
                structured = None
        if schema and not isinstance(structured, dict):
            raise _Failure(
                f"worker_llm node '{node.id}' expected a JSON object matching its structured_output_schema, "
                f"got: {response.content[:200]!r}"
            )
        if structured:
            thread["runtime_variables"].update(structured)
        event = node_event("worker_llm", self.now(), thread["thread_id"], node.id, node.name, run_id)
        event["content"] = response.content
        event["structured_output"] = structured
        event["llm_usage_info"] = self._usage(response)
        self.events.append(event)
        return {"content": response.content, "structured_output": structured}

    def _http_request(self, thread: dict[str, Any], node: _Node, run_id: str) -> dict[str, Any]:
        settings = node.config.http_request_config
        if settings is None:
            raise _Failure(f"http_request node '{node.id}' has no http_request_config")
        return self._send(
            thread,
            node,
            run_id,
            method=settings.method,
            url=settings.url,
            headers=settings.headers,
            body=settings.body,
            timeout_seconds=settings.timeout_seconds,
            result_variable=settings.result_runtime_variable_name,
            tool=None,
        )

    def _tool_node(self, thread: dict[str, Any], node: _Node, run_id: str) -> dict[str, Any]:
        tools = node.config.tools_config.tools
        if not tools:
            raise _Failure(f"tool_node '{node.id}' has no tools")
        workflow_tools = {tool.logical_id: tool for tool in self.config.tools_config.tools}
        results: dict[str, Any] = {}
        for tool in tools:
            if not tool.url:
                shared = workflow_tools.get(tool.logical_id)
                if shared is None or not shared.url:
                    raise _Failure(f"tool '{tool.logical_id}' of node '{node.id}' has no url")
                tool = shared
            results[tool.logical_id] = self._send(
                thread,
                node,
                run_id,
                method=tool.method,
                url=tool.url or "",
                headers=tool.headers,
                body=tool.body,
                timeout_seconds=tool.timeout_seconds,
                result_variable=tool.result_runtime_variable_name,
                tool=(tool.logical_id, tool.name or tool.logical_id),
            )
        return {"results": results}

    def _send(
        self,
        thread: dict[str, Any],
        node: _Node,
        run_id: str,
        *,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        timeout_seconds: float | None,
        result_variable: str,
        tool: tuple[str, str] | None,
    ) -> dict[str, Any]:
        scope = self._scope(thread)
        method = fill_text(method, scope).strip().upper()
        if method not in HTTP_METHODS:
            raise _Failure(f"node '{node.id}': '{method}' is not an HTTP method")
        url = fill_text(url, scope).strip()
        filled_headers = {name: fill_text(value, scope) for name, value in headers.items()}
        payload: bytes | None = None
        if isinstance(body, str):
            payload = fill_text(body, scope).encode()
        elif body is not None:
            payload = json.dumps(fill_value(body, scope), default=str).encode()
            if not any(name.lower() == "content-type" for name in filled_headers):
                filled_headers["Content-Type"] = "application/json"
        request = OutboundRequest(
            method=method, url=url, headers=filled_headers, body=payload, timeout_seconds=timeout_seconds
        )
        event = node_event("http_request", self.now(), thread["thread_id"], node.id, node.name, run_id)
        event.update(
            request={"method": method, "url": url},
            status=None,
            elapsed_ms=None,
            result_runtime_variable_name=result_variable,
            tool_logical_id=tool[0] if tool else None,
            tool_name=tool[1] if tool else None,
            error=None,
        )
        try:
            response = self.http.send(request)
        except (OutboundRequestRefused, OutboundRequestFailed) as exc:
            verb = "was refused" if isinstance(exc, OutboundRequestRefused) else "failed"
            event["error"] = f"request {verb}: {exc}"
            self.events.append(event)
            raise _Failure(f"node '{node.id}': {method} {url} {verb}: {exc}") from None
        result = {"status": response.status, "body": response.json_or_text(), "headers": dict(response.headers)}
        thread["runtime_variables"][result_variable] = result
        event["status"] = response.status
        event["elapsed_ms"] = response.elapsed_ms
        if not 200 <= response.status < 300:
            event["error"] = f"HTTP {response.status}"
            self.events.append(event)
            raise _Failure(f"node '{node.id}': {method} {url} answered HTTP {response.status}")
        self.events.append(event)
        return result

    @staticmethod
    def _no_op(thread: dict[str, Any], node: _Node, run_id: str) -> dict[str, Any]:
        return {}

    # --- edges --------------------------------------------------------------------------------------

    def _route(self, thread: dict[str, Any]) -> None:
        node = self.nodes.get(thread["node"])
        if node is None:
            raise _Failure(f"node '{thread['node']}' does not exist in this workflow version")
        for edge in node.conditional:
            holds, args_filled = self._condition_holds(thread, node, edge)
            if holds:
                self._take(thread, node, edge, "conditional_edge", "condition matched", args_filled)
                return
        loop_turns = thread["loop_turns"]
        if node.self_loop:
            handled = loop_turns.get(node.id, 1)
            if node.max_turns is None or handled < node.max_turns:
                loop_turns[node.id] = handled + 1
                event = edge_event(
                    "self_loop_edge",
                    self.now(),
                    thread["thread_id"],
                    edge_logical_id=f"{node.id}__self_loop",
                    edge_name="self loop",
                    source_node_logical_id=node.id,
                    source_node_name=node.name,
                    destination_node_logical_id=node.id,
                    destination_node_name=node.name,
                    reason=f"self loop: turn {handled + 1}"
                    + (f" of at most {node.max_turns}" if node.max_turns is not None else ""),
                )
                self.events.append(event)
                thread["phase"] = "run"
                return
        if node.direct:
            self._take(thread, node, node.direct[0], "direct_edge", "direct edge", None)
            return
        self._end_thread(thread, "no outgoing edge to follow")

    def _condition_holds(self, thread: dict[str, Any], node: _Node, edge: EdgeConfig) -> tuple[bool, dict[str, Any]]:
        condition = edge.condition
        expression = condition.condition_expression if condition else None
        freeform = condition.condition_freeform if condition else None
        scope = self._scope(thread)
        if expression and expression.strip():
            try:
                filled = fill_expression(expression, scope)
            except MissingVariable as exc:
                raise _Failure(f"{exc} in the condition_expression of edge '{edge.logical_id}'") from None
            try:
                holds = evaluate_condition(filled, scope.value_of)
            except ConditionError as exc:
                raise _Failure(
                    f"condition_expression {expression!r} of edge '{edge.logical_id}' could not be evaluated: {exc}"
                ) from None
            return holds, {"condition_expression": filled, "result": holds}
        if freeform and freeform.strip():
            question = fill_text(freeform, scope)
            response = self._complete(
                LlmRequest(
                    llm_config=self._llm_config(node),
                    system_prompt=_FREEFORM_CONDITION_PROMPT.format(condition=question),
                    messages=self._conversation(),
                    purpose="condition",
                    node_logical_id=node.id,
                )
            )
            holds = _parse_yes_no(response)
            event = node_event(
                "condition_evaluator_llm",
                self.now(),
                thread["thread_id"],
                node.id,
                node.name,
                thread.get("node_run_id") or "",
            )
            event.update(
                edge_logical_id=edge.logical_id,
                condition_freeform=question,
                content=response.content,
                result=holds,
                llm_usage_info=self._usage(response),
            )
            self.events.append(event)
            if holds is None:
                raise _Failure(
                    f"the LLM's answer to the condition_freeform of edge '{edge.logical_id}' is neither true "
                    f"nor false: {response.content[:200]!r}"
                )
            return holds, {"condition_freeform": question, "llm_answer": response.content, "result": holds}
        raise _Failure(f"conditional edge '{edge.logical_id}' has no condition_expression or condition_freeform")

    def _destination(self, edge: EdgeConfig) -> _Node:
        destination = self.nodes.get(edge.destination_node_logical_id)
        if destination is None:
            raise _Failure(
                f"edge '{edge.logical_id}' leads to node '{edge.destination_node_logical_id}', which does not exist"
            )
        return destination

    def _edge_event(self, event_type: str, thread_id: str, node: _Node, edge: EdgeConfig, reason: str) -> dict:
        destination = self._destination(edge)
        return edge_event(
            event_type,
            self.now(),
            thread_id,
            edge_logical_id=edge.logical_id,
            edge_name=edge.name or edge.logical_id,
            source_node_logical_id=node.id,
            source_node_name=node.name,
            destination_node_logical_id=destination.id,
            destination_node_name=destination.name,
            reason=reason,
        )

    def _take(
        self,
        thread: dict[str, Any],
        node: _Node,
        edge: EdgeConfig,
        event_type: str,
        reason: str,
        args_filled: dict[str, Any] | None,
    ) -> None:
        event = self._edge_event(event_type, thread["thread_id"], node, edge, reason)
        if args_filled is not None:
            event["args_filled"] = args_filled
        self.events.append(event)
        loop_turns = thread["loop_turns"]
        if loop_turns:  # leaving a self-loop node, or entering one afresh, restarts its turn count
            loop_turns.pop(node.id, None)
            loop_turns.pop(edge.destination_node_logical_id, None)
        thread["node"] = edge.destination_node_logical_id
        thread["phase"] = "run"

    def _start_companion(self, thread: dict[str, Any], node: _Node, edge: EdgeConfig) -> None:
        settings = edge.companion_thread_config
        thread_id = settings.thread_id if settings else None
        if not thread_id or thread_id == MAIN_THREAD_ID:
            raise _Failure(f"companion edge '{edge.logical_id}' needs a companion_thread_config.thread_id other than 0")
        threads = self.state["threads"]
        existing = threads.get(thread_id)
        if existing is not None and existing["status"] != "ended":
            self._warn(
                thread["thread_id"],
                f"companion thread '{thread_id}' is still running; edge '{edge.logical_id}' did not start it again",
            )
            return
        event = self._edge_event("companion_edge", thread["thread_id"], node, edge, "companion thread started")
        event["companion_thread_id"] = thread_id
        self.events.append(event)
        companion = _new_thread(
            thread_id,
            edge.destination_node_logical_id,
            thread["thread_id"],
            True if settings is None else settings.stop_with_main_thread,
        )
        threads[thread_id] = companion
        if thread_id not in self.state["thread_order"]:
            self.state["thread_order"].append(thread_id)
        self.thread_variables[thread_id] = companion["runtime_variables"]
        self.scopes.pop(thread_id, None)
        start = base_event("start_thread", self.now(), thread_id)
        start.update(
            thread_id=thread_id,
            parent_thread_id=thread["thread_id"],
            start_node_logical_id=edge.destination_node_logical_id,
        )
        self.events.append(start)

    def _end_thread(self, thread: dict[str, Any], reason: str) -> None:
        thread["status"] = "ended"
        thread["phase"] = "ended"
        thread["wait_event"] = None
        event = base_event("end_thread", self.now(), thread["thread_id"])
        event.update(thread_id=thread["thread_id"], last_node_logical_id=thread["last_node_logical_id"], reason=reason)
        self.events.append(event)
        if thread["thread_id"] == MAIN_THREAD_ID:
            threads = self.state["threads"]
            for thread_id in self.state["thread_order"]:
                companion = threads[thread_id]
                if companion["status"] != "ended" and companion["stop_with_main_thread"]:
                    self._end_thread(companion, "the main thread ended")

    # --- outcome ------------------------------------------------------------------------------------

    def _warn(self, thread_id: str, message: str) -> None:
        event = base_event("workflow_warning", self.now(), thread_id)
        event["message"] = message
        self.events.append(event)

    @staticmethod
    def _describe(exc: Exception, where: str) -> tuple[str, str | None]:
        if isinstance(exc, _Failure):
            return exc.message, exc.stack_trace
        if isinstance(exc, MissingVariable):
            return f"{exc} in {where}", None
        if isinstance(exc, ConditionError):
            return f"{where}: {exc}", None
        if isinstance(exc, LlmError):
            return f"the LLM call of {where} failed: {exc}", traceback.format_exc()
        return f"{where} failed: {type(exc).__name__}: {exc}", traceback.format_exc()

    def _fail(
        self,
        message: str,
        stack_trace: str | None,
        thread_id: str,
        node: _Node | None = None,
        node_run_id: str | None = None,
    ) -> None:
        event = base_event("workflow_error", self.now(), thread_id)
        event.update(
            error_message=message,
            stack_trace=stack_trace,
            origin_node_logical_id=node.id if node else None,
            origin_node_name=node.name if node else None,
            origin_node_run_id=node_run_id,
        )
        self.events.append(event)
        if self.status is None:
            self.status = RunStatus.FAILED
            self.error = message

    def _finish(self) -> TurnResult:
        state = self.state
        threads = state["threads"]
        order = state["thread_order"]
        status = self.status
        if status is None:
            waiting = any(threads[thread_id]["status"] == "waiting" for thread_id in order)
            status = RunStatus.WAITING_FOR_USER_INPUT if waiting else RunStatus.COMPLETED
        if status in _TERMINAL:
            for thread_id in order:
                if threads[thread_id]["status"] != "ended":
                    self._end_thread(threads[thread_id], f"the workflow run is {status.value}")
        for thread_id in order:
            event = base_event("workflow_show_state", self.now(), thread_id)
            event.update(
                thread_id=thread_id,
                runtime_variables=threads[thread_id]["runtime_variables"],
                workflow_runtime_variables=state["workflow_runtime_variables"],
            )
            self.events.append(event)
        state["llm_token_usage"], state["llm_latency_stats"] = merge_llm_usage(
            state.get("llm_token_usage"), state.get("llm_latency_stats"), self.calls
        )
        if status in _TERMINAL:
            event = base_event("end_workflow", self.now(), MAIN_THREAD_ID)
            event.update(
                status=status.value,
                llm_token_usage=state["llm_token_usage"],
                llm_latency_stats=state["llm_latency_stats"],
            )
            self.events.append(event)
        state["status"] = status.value
        hint = None
        if status is RunStatus.WAITING_FOR_USER_INPUT:
            main = threads[MAIN_THREAD_ID]
            hint = main["wait_event"] if main["status"] == "waiting" else None
            if hint is None:
                hint = next(threads[t]["wait_event"] for t in order if threads[t]["status"] == "waiting")
        return TurnResult(
            status=status,
            events=self.events,
            state=state,
            next_input_hint=hint,
            error=self.error,
            thread_to_node_outputs=self.outputs,
            llm_calls=self.calls,
        )
