"""Finishing the workflow deletions a crash left half done (a reaper step).

``DELETE`` marks the workflow deleted, emits its webhook event, lets runs, schedules and triggers wind
down their objects, then removes the documents. A Lambda that dies between the mark and the last write
leaves a tombstone: the workflow answers 404 while its schedules may still fire and its triggers still
accept. A client retrying the DELETE would finish it, but one that saw the 404 has no reason to; so each
reaper pass replays the deletion of tombstones older than the grace period (every step is idempotent,
which is what makes a retried DELETE safe), and a pass with none costs one indexed read.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from typing import TYPE_CHECKING

from workflow_service.errors import NotFound

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.workflows import WorkflowRepository


class AbandonedDeletions:
    """ports.AbandonedDeletionFinisher over the workflow repository and the deleting use case.

    ``delete`` is ``WorkflowService.delete``, built only when a tombstone is found, so a pass that finds
    none does not import the workflow write path. ``grace`` keeps the pass away from a DELETE still in
    flight (it would only repeat its idempotent steps, but need not).
    """

    def __init__(
        self,
        workflows: WorkflowRepository,
        delete: Callable[[], Callable[[str, str], None]],
        clock: Clock,
        grace: timedelta,
    ) -> None:
        self._workflows = workflows
        self._delete = delete
        self._clock = clock
        self._grace = grace

    def finish(self, limit: int) -> int:
        """Replay the deletion of up to ``limit`` tombstones marked more than ``grace`` ago; returns how many."""
        found = self._workflows.abandoned_deletions(self._clock.now() - self._grace, limit)
        for workflow in found:
            if workflow.team_id is None or workflow.id is None:
                continue
            # A DELETE retried meanwhile may have removed it: nothing left to do.
            with suppress(NotFound):
                self._delete()(workflow.team_id, workflow.id)
        return len(found)
