"""The run metrics (RunsStarted, RunsFinished, TurnDuration) and the one log line of every run's end.

Dimensions are the run's trigger type and status; its ids travel as EMF metadata and log keys.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow_service.models.runs import WorkflowRunsModel
    from workflow_service.ports.metrics import Metrics

logger = logging.getLogger(__name__)


def run_ids(run: WorkflowRunsModel) -> dict[str, Any]:
    """The ids that tie a metric or a log line to its run (metadata and log keys, never dimensions)."""
    return {"run_id": str(run.id), "team_id": run.team_id, "workflow_id": run.workflow_run.workflow_id}


def record_run_started(metrics: Metrics, run: WorkflowRunsModel, status: str) -> None:
    """RunsStarted for a new run: ``status`` "started" (it holds a slot) or "queued" (it waits for one)."""
    inner = run.workflow_run
    metrics.emit(
        "RunsStarted", 1, dimensions={"trigger": inner.trigger.type.value, "status": status}, metadata=run_ids(run)
    )


def record_turn_duration(metrics: Metrics, run: WorkflowRunsModel, milliseconds: float) -> None:
    """TurnDuration: claim to commit of one turn."""
    metrics.emit("TurnDuration", milliseconds, "Milliseconds", metadata=run_ids(run))


class RunMetricsListener:
    """Implements ports.RunFinishedListener: RunsFinished and one INFO line per ended run."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def on_run_finished(self, run: WorkflowRunsModel) -> None:
        inner = run.workflow_run
        trigger, status = inner.trigger.type.value, inner.status.value
        ids = run_ids(run)
        self._metrics.emit("RunsFinished", 1, dimensions={"trigger": trigger, "status": status}, metadata=ids)
        logger.info("run %s ended: %s", run.id, status, extra={**ids, "trigger": trigger, "status": status})
