"""In-memory schedule ports: the scheduler (EventBridge Scheduler's stand-in) and the schedule reconciler.

``RecordingScheduler`` implements ``ports.Scheduler``; tests/contract/test_scheduler.py holds it to the
same assertions as the local and the AWS adapters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from workflow_service.errors import UpstreamUnavailable
from workflow_service.ports import ScheduleDefinition


class RecordingScheduler:
    """Schedules by name; ``calls`` counts calls by EventBridge operation, ``deleted`` lists every name
    ``delete`` was called with; ``fail`` makes every call raise as an EventBridge outage does."""

    def __init__(self, group_name: str = "workflow-schedules") -> None:
        self.group_name = group_name
        self.definitions: dict[str, ScheduleDefinition] = {}
        self.deleted: list[str] = []
        self.fail = False
        self.calls: Counter[str] = Counter()

    def arn_for(self, name: str) -> str:
        return f"arn:aws:scheduler:local:000000000000:schedule/{self.group_name}/{name}"

    def create(self, definition: ScheduleDefinition) -> str:
        self._check("CreateSchedule")
        if definition.name in self.definitions:
            raise UpstreamUnavailable(
                f"EventBridge Scheduler CreateSchedule failed (ConflictException: {definition.name})"
            )
        self.definitions[definition.name] = definition
        return self.arn_for(definition.name)

    def update(self, definition: ScheduleDefinition) -> str:
        self._check("UpdateSchedule")
        self.definitions[definition.name] = definition
        return self.arn_for(definition.name)

    def delete(self, name: str) -> None:
        self._check("DeleteSchedule")
        self.deleted.append(name)
        self.definitions.pop(name, None)

    def _check(self, operation: str) -> None:
        self.calls[operation] += 1
        if self.fail:
            raise UpstreamUnavailable(f"EventBridge Scheduler {operation} failed (ThrottlingException)")


class ScriptedScheduleReconciler:
    """``ports.ScheduleReconciler`` answering ``report`` (or raising ``error``), recording each call's
    limit, batch budget and whether it was told to stop."""

    def __init__(self, report: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.report = report or {"schedules_reconciled": 0, "history_reconciled": 0, "errors": 0, "complete": True}
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def reconcile(
        self, limit: int, *, max_batches: int = 1, should_stop: Callable[[], bool] | None = None
    ) -> dict[str, Any]:
        stopped = should_stop() if should_stop is not None else False
        self.calls.append({"limit": limit, "max_batches": max_batches, "stopped": stopped})
        if self.error is not None:
            raise self.error
        return dict(self.report)
