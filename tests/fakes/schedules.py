"""In-memory schedule ports: a scheduler that can fail (EventBridge Scheduler's stand-in) and the schedule
reconciler.

``RecordingScheduler`` is the local runtime's ``InMemoryScheduler`` plus failure injection;
tests/contract/test_scheduler.py holds it to the same assertions as the local and the AWS adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.clock import ManualClock
from workflow_service.adapters.local.scheduler import InMemoryScheduler
from workflow_service.errors import UpstreamUnavailable
from workflow_service.ports import Clock, ScheduleDefinition
from workflow_service.ports.schedules import ListedSchedule


class RecordingScheduler(InMemoryScheduler):
    """The local runtime's in-memory scheduler, which can be made to fail: ``fail`` makes every call
    raise as an EventBridge outage does; ``deleted`` lists every name ``delete`` was called with."""

    def __init__(self, group_name: str = "workflow-schedules", clock: Clock | None = None) -> None:
        super().__init__(group_name, clock or ManualClock())
        self.deleted: list[str] = []
        self.fail = False

    def create(self, definition: ScheduleDefinition) -> str:
        self._check_up("CreateSchedule")
        return super().create(definition)

    def update(self, definition: ScheduleDefinition) -> str:
        self._check_up("UpdateSchedule")
        return super().update(definition)

    def delete(self, name: str) -> None:
        self._check_up("DeleteSchedule")
        self.deleted.append(name)
        super().delete(name)

    def list_schedules(self, next_token: str | None, limit: int) -> tuple[list[ListedSchedule], str | None]:
        self._check_up("ListSchedules")
        return super().list_schedules(next_token, limit)

    def _check_up(self, operation: str) -> None:
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


class InMemoryReconcilerState:
    """``ports.ReconcilerStateStore`` in a dict, counting its reads (``loads``) and writes (``saves``)."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.loads = 0
        self.saves = 0

    def load(self, key: str) -> dict[str, Any] | None:
        self.loads += 1
        document = self.documents.get(key)
        return None if document is None else dict(document)

    def save(self, key: str, state: dict[str, Any]) -> None:
        self.saves += 1
        self.documents.setdefault(key, {}).update(state)
