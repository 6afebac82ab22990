"""A deleted workflow's schedules: pending one-time schedules are cancelled, recurring ones deleted."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from workflow_service.models.schedules import ScheduleKind, schedule_name

if TYPE_CHECKING:
    from workflow_service.ports.schedules import OneTimeScheduleRepository, RecurringScheduleRepository, Scheduler


class ScheduleDeletionListener:
    """``ports.WorkflowDeletionListener``: a deleted workflow's pending one-time schedules are
    cancelled and its recurring schedules deleted, AWS schedules included.

    AWS deletes come first, so a failure (raised, making the workflow DELETE answer 503) leaves the
    records as they were and a retried DELETE redoes the remaining work.
    """

    BATCH = 100

    def __init__(
        self,
        one_time: OneTimeScheduleRepository,
        recurring: RecurringScheduleRepository,
        scheduler: Callable[[], Scheduler],
    ) -> None:
        self._one_time = one_time
        self._recurring = recurring
        self._scheduler = scheduler

    def on_workflow_deleted(self, team_id: str, workflow_id: str) -> None:
        reason = "cancelled because the workflow was deleted"
        while ids := self._one_time.pending_ids_for_workflow(team_id, workflow_id, self.BATCH):
            for schedule_id in ids:
                self._scheduler().delete(schedule_name(ScheduleKind.ONE_TIME, schedule_id))
                self._one_time.cancel(team_id, schedule_id, None, reason)
        while ids := self._recurring.ids_for_workflow(team_id, workflow_id, self.BATCH):
            for schedule_id in ids:
                self._scheduler().delete(schedule_name(ScheduleKind.RECURRING, schedule_id))
                self._recurring.remove(schedule_id)
