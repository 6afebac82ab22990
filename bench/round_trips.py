"""MongoDB round trips per run operation, counted (not timed) against the design's minimum."""

from __future__ import annotations

from collections import Counter

from tests.support.workflows import endless_conversation_workflow
from workflow_service import wiring
from workflow_service.adapters.mongo.indexes import create_indexes
from workflow_service.adapters.mongo.store import in_memory
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.settings import Settings

# DESIGN.md section 10 (locked by tests/integration/runs/test_runs_api.py).
FIRST_TURN_BUDGET = 6
LATER_TURN_BUDGET = 2


def _services() -> wiring.Services:
    database = in_memory()
    create_indexes(database)
    container = wiring.Services(
        Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true"}), database=database, metrics=DISCARDED_METRICS
    )
    wiring.install(container)
    return container


def _measure(container: wiring.Services, action) -> Counter:
    container.core.database.counter.reset()
    action()
    return Counter(container.core.database.counter.calls)


def rows() -> list[dict]:
    from workflow_service.models.common import Caller
    from workflow_service.models.runs import RunCommand, WorkflowRunInput
    from workflow_service.models.workflow_api import CreateWorkflowRequest

    container = _services()
    team = container.auth.service.create_team("bench", 100)
    request = {"name": "bench", "workflow_config": endless_conversation_workflow()}
    workflow = container.workflows.service.create(team.id, "u", CreateWorkflowRequest.model_validate(request))
    turns = container.runs.turns
    caller = Caller(team.id, "u")
    first = {}

    def start() -> None:
        first["run"] = turns.execute(caller, workflow.id, WorkflowRunInput(), None, None)

    def data_turn() -> None:
        turns.execute(caller, workflow.id, WorkflowRunInput(command=RunCommand.DATA), first["run"].run_id, None)

    measured = [
        (
            "execute: first turn (new run)",
            _measure(container, start),
            "workflow + version read, team limit read, both lease holds (one batch), insert claimed, commit",
            FIRST_TURN_BUDGET,
        ),
        (
            "execute: later turn",
            _measure(container, data_turn),
            "claim (ownership in its filter), commit; version cached",
            LATER_TURN_BUDGET,
        ),
    ]
    wiring.install(None)
    return [
        {
            "operation": name,
            "mongo_round_trips": sum(calls.values()),
            "budget": f"<= {budget}",
            "ok": sum(calls.values()) <= budget,
            "minimum": minimum,
            "breakdown": dict(sorted(calls.items())),
        }
        for name, calls, minimum, budget in measured
    ]
