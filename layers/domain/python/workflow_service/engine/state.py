"""A run's engine state, typed: what one turn leaves for the next.

The caller stores :meth:`RunState.to_document` as is and passes it back next turn; the document is
JSON-safe and its shape is schema :data:`STATE_SCHEMA_VERSION` (1), unchanged since the engine kept it
as a plain dict, so a state stored by any earlier engine of schema 1 resumes as it would have then.
Fields this engine does not know are kept as they were (``other_fields``), so a document written by a
newer engine survives a turn run by this one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypedDict

from workflow_service.models.event_records import MAIN_THREAD_ID
from workflow_service.models.runs import RunStatus

from .usage import empty_latency_stats, empty_token_usage

STATE_SCHEMA_VERSION = 1


class ThreadStatus(StrEnum):
    READY = "ready"  # has a node to run, or to route from, this turn
    WAITING = "waiting"  # waits for a user message (or a ``data`` command)
    ENDED = "ended"


class ThreadPhase(StrEnum):
    RUN = "run"  # next: run ``node``
    ROUTE = "route"  # next: follow the edges out of ``node``, which has run
    ENDED = "ended"


class ConversationMessage(TypedDict):
    """One message of the run's conversation (``history``), as the LLM nodes see it."""

    role: Literal["user", "assistant"]
    content: str


class UnreadableState(ValueError):
    """A document is not a run state of this engine's schema."""


_THREAD_FIELDS = (
    "thread_id",
    "status",
    "phase",
    "node",
    "node_run_id",
    "runtime_variables",
    "loop_turns",
    "visits",
    "parent_thread_id",
    "stop_with_main_thread",
    "last_node_logical_id",
    "wait_event",
)
_RUN_FIELDS = (
    "schema_version",
    "workflow_logical_id",
    "status",
    "turn_index",
    "dynamic_variables",
    "workflow_runtime_variables",
    "history",
    "thread_order",
    "threads",
    "llm_token_usage",
    "llm_latency_stats",
)


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise UnreadableState(problem)


@dataclass(slots=True, eq=False)
class ThreadState:
    """One thread of a run: where it is in the graph and what it has seen.

    ``node`` is the node it runs next (phase ``run``) or routes from (phase ``route``);
    ``loop_turns`` counts the turns a ``self_loop`` node has handled, ``visits`` the visits of each
    ``say_static`` node (message selection); ``wait_event`` is the ``busy_wait_for_user_message``
    event while the thread waits.
    """

    thread_id: str
    node: str | None
    parent_thread_id: str | None
    stop_with_main_thread: bool
    status: ThreadStatus = ThreadStatus.READY
    phase: ThreadPhase = ThreadPhase.RUN
    node_run_id: str | None = None
    runtime_variables: dict[str, Any] = field(default_factory=dict)
    loop_turns: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    last_node_logical_id: str | None = None
    wait_event: dict[str, Any] | None = None
    other_fields: dict[str, Any] = field(default_factory=dict)

    def resume(self) -> None:
        """A waiting thread goes on (it routes from the node it waited at)."""
        self.status = ThreadStatus.READY
        self.wait_event = None

    def mark_ended(self) -> None:
        self.status = ThreadStatus.ENDED
        self.phase = ThreadPhase.ENDED
        self.wait_event = None

    def to_document(self) -> dict[str, Any]:
        document = {
            "thread_id": self.thread_id,
            "status": self.status.value,
            "phase": self.phase.value,
            "node": self.node,
            "node_run_id": self.node_run_id,
            "runtime_variables": self.runtime_variables,
            "loop_turns": self.loop_turns,
            "visits": self.visits,
            "parent_thread_id": self.parent_thread_id,
            "stop_with_main_thread": self.stop_with_main_thread,
            "last_node_logical_id": self.last_node_logical_id,
            "wait_event": self.wait_event,
        }
        if self.other_fields:
            document.update(self.other_fields)
        return document

    @classmethod
    def from_document(cls, document: Any) -> ThreadState:
        """The thread a stored document describes (used as is: the caller copies). Raises UnreadableState."""
        _require(isinstance(document, dict) and all(key in document for key in _THREAD_FIELDS), "incomplete thread")
        variables, loop_turns, visits = document["runtime_variables"], document["loop_turns"], document["visits"]
        _require(
            isinstance(variables, dict) and isinstance(loop_turns, dict) and isinstance(visits, dict),
            "thread variables and counters must be objects",
        )
        return cls(
            thread_id=document["thread_id"],
            node=document["node"],
            parent_thread_id=document["parent_thread_id"],
            stop_with_main_thread=document["stop_with_main_thread"],
            status=ThreadStatus(document["status"]),
            phase=ThreadPhase(document["phase"]),
            node_run_id=document["node_run_id"],
            runtime_variables=variables,
            loop_turns=loop_turns,
            visits=visits,
            last_node_logical_id=document["last_node_logical_id"],
            wait_event=document["wait_event"],
            other_fields={key: value for key, value in document.items() if key not in _THREAD_FIELDS},
        )


@dataclass(slots=True, eq=False)
class RunState:
    """The whole run: its threads (main thread ``"0"`` first in ``thread_order``) and shared data.

    ``history`` is the conversation (``{"role", "content"}`` messages) every LLM node sees;
    ``workflow_runtime_variables`` are the run input's runtime variables, visible to every thread.
    """

    workflow_logical_id: str | None
    status: RunStatus
    turn_index: int
    dynamic_variables: dict[str, Any]
    workflow_runtime_variables: dict[str, Any]
    history: list[ConversationMessage]
    thread_order: list[str]
    threads: dict[str, ThreadState]
    llm_token_usage: dict[str, Any] | None
    llm_latency_stats: dict[str, Any] | None
    other_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> ThreadState:
        return self.threads[MAIN_THREAD_ID]

    @classmethod
    def fresh(cls, workflow_logical_id: str) -> RunState:
        """The state before a run's first node: a main thread with no node yet."""
        return cls(
            workflow_logical_id=workflow_logical_id,
            status=RunStatus.RUNNING,
            turn_index=0,
            dynamic_variables={},
            workflow_runtime_variables={},
            history=[],
            thread_order=[MAIN_THREAD_ID],
            threads={
                MAIN_THREAD_ID: ThreadState(
                    thread_id=MAIN_THREAD_ID, node=None, parent_thread_id=None, stop_with_main_thread=False
                )
            },
            llm_token_usage=empty_token_usage(),
            llm_latency_stats=empty_latency_stats(),
        )

    def to_document(self) -> dict[str, Any]:
        """The JSON-safe document to store (it shares its nested values with this state)."""
        document = {
            "schema_version": STATE_SCHEMA_VERSION,
            "workflow_logical_id": self.workflow_logical_id,
            "status": self.status.value,
            "turn_index": self.turn_index,
            "dynamic_variables": self.dynamic_variables,
            "workflow_runtime_variables": self.workflow_runtime_variables,
            "history": self.history,
            "thread_order": self.thread_order,
            "threads": {thread_id: thread.to_document() for thread_id, thread in self.threads.items()},
            "llm_token_usage": self.llm_token_usage,
            "llm_latency_stats": self.llm_latency_stats,
        }
        if self.other_fields:
            document.update(self.other_fields)
        return document

    @classmethod
    def from_document(cls, document: Any) -> RunState:
        """A copy of the state a stored document describes; the document is left untouched.

        Raises :class:`UnreadableState` for anything that is not a schema-1 engine state.
        """
        _require(isinstance(document, dict), "not an object")
        _require(document.get("schema_version") == STATE_SCHEMA_VERSION, "another schema version")
        threads, order = document.get("threads"), document.get("thread_order")
        _require(
            isinstance(threads, dict)
            and isinstance(order, list)
            and MAIN_THREAD_ID in threads
            and all(isinstance(threads.get(thread_id), dict) for thread_id in order)
            and isinstance(document.get("history"), list)
            and isinstance(document.get("dynamic_variables"), dict)
            and isinstance(document.get("workflow_runtime_variables"), dict),
            "threads, history or variables missing",
        )
        try:
            document = copy.deepcopy(document)
            threads = document["threads"]
            return cls(
                workflow_logical_id=document.get("workflow_logical_id"),
                status=RunStatus(document.get("status", RunStatus.RUNNING.value)),
                turn_index=int(document.get("turn_index", 0)),
                dynamic_variables=document["dynamic_variables"],
                workflow_runtime_variables=document["workflow_runtime_variables"],
                history=document["history"],
                thread_order=document["thread_order"],
                threads={thread_id: ThreadState.from_document(thread) for thread_id, thread in threads.items()},
                llm_token_usage=document.get("llm_token_usage"),
                llm_latency_stats=document.get("llm_latency_stats"),
                other_fields={key: value for key, value in document.items() if key not in _RUN_FIELDS},
            )
        except (TypeError, ValueError) as exc:
            raise UnreadableState(str(exc)) from None
        except RecursionError:  # a value nested too deep to copy: reported, never an engine crash
            raise UnreadableState("a value is nested too deep") from None
