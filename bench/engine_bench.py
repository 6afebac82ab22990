"""Engine throughput: node runs per second on a 1,000-node chain of simple nodes, events included."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from workflow_service.engine import WorkflowEngine
from workflow_service.models.runs import WorkflowRunInput
from workflow_service.models.workflow_config import WorkflowConfig

BUDGET_NODE_RUNS_PER_SECOND = 20_000


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class _Unused:
    def complete(self, request):  # pragma: no cover - the chain has no LLM node
        raise AssertionError("no LLM call expected")

    def send(self, request):  # pragma: no cover - the chain has no HTTP node
        raise AssertionError("no HTTP call expected")


def chain(length: int) -> WorkflowConfig:
    nodes = [
        {
            "logical_id": f"n{i}",
            "type": "no_op" if i % 2 else "say_static",
            "is_start": i == 0,
            "static_messages_config": {"static_messages": [f"step {i}"]},
        }
        for i in range(length)
    ]
    edges = [
        {
            "logical_id": f"e{i}",
            "type": "direct",
            "source_node_logical_id": f"n{i}",
            "destination_node_logical_id": f"n{i + 1}",
        }
        for i in range(length - 1)
    ]
    return WorkflowConfig.model_validate({"nodes": nodes, "edges": edges})


def rows(length: int = 1000, repeats: int = 20) -> list[dict]:
    engine = WorkflowEngine(_Unused(), _Unused(), _Clock(), max_steps_per_turn=length + 10)
    config = chain(length)
    best = float("inf")
    events = 0
    for _ in range(repeats):
        # Free the previous turn's result before the clock starts: a turn is timed for its own work, not
        # for releasing the last one's thousands of events (which an engine holding them in a reference
        # cycle would leave to a garbage collection that best-of-N never sees).
        result = None
        started = time.perf_counter()
        result = engine.run_turn(config, WorkflowRunInput(), None)
        best = min(best, time.perf_counter() - started)
        events = len(result.events)
        assert result.status.value == "completed", result.error
    rate = length / best
    return [
        {
            "benchmark": f"engine, {length}-node chain (best of {repeats})",
            "node_runs_per_second": round(rate),
            "events_per_turn": events,
            "budget": f">= {BUDGET_NODE_RUNS_PER_SECOND}",
            "ok": rate >= BUDGET_NODE_RUNS_PER_SECOND,
        }
    ]
