"""A deleted workflow's schedules: pending one-time schedules are cancelled, recurring ones deleted."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflow_service.errors import UpstreamUnavailable
from workflow_service.schedules.aws_sync import push_one_time, push_recurring

if TYPE_CHECKING:
    from workflow_service.ports.schedules import OneTimeScheduleRepository, RecurringScheduleRepository, Scheduler

logger = logging.getLogger(__name__)


class ScheduleDeletionListener:
    """``ports.WorkflowDeletionListener``: a deleted workflow's pending one-time schedules are
    cancelled and its recurring schedules deleted, AWS schedules included.

    The same path as the API's cancel and delete: MongoDB first (cancelled, or a tombstone: AWS absent
    wanted), then DeleteSchedule, then the generation applied (or the tombstone removed). An AWS
    failure is left to the reaper's sweep, which applies what MongoDB wants; a crash likewise.
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
                cancelled = self._one_time.cancel(team_id, schedule_id, None, reason)
                if cancelled is not None:
                    self._attempt(schedule_id, push_one_time, self._one_time, cancelled)
        while ids := self._recurring.ids_for_workflow(team_id, workflow_id, self.BATCH):
            for schedule_id in ids:
                tombstone = self._recurring.tombstone(team_id, schedule_id)
                if tombstone is not None:
                    self._attempt(schedule_id, push_recurring, self._recurring, tombstone)

    def _attempt(self, schedule_id: str, push: Callable[..., None], *args: Any) -> None:
        try:
            push(self._scheduler(), *args)
        except UpstreamUnavailable as failure:
            logger.warning("schedule %s: AWS delete left to the reaper: %s", schedule_id, failure.message)
