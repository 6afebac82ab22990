"""Finishing the workflow deletions a crash left half done (a reaper step).

``DELETE`` marks the workflow deleted, emits its webhook event, lets runs, schedules and triggers wind
down their objects, then removes the documents. A Lambda that dies between the mark and the last write
leaves a tombstone: the workflow answers 404 while its schedules may still fire and its triggers still
accept. A client retrying the DELETE would finish it, but one that saw the 404 has no reason to; so each
reaper pass replays the deletion of tombstones older than the grace period (every step is idempotent,
which is what makes a retried DELETE safe), and a pass with none costs one indexed read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from workflow_service.errors import NotFound, StoreUnavailable

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.workflows import WorkflowRepository

logger = logging.getLogger(__name__)


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
        """Replay the deletion of up to ``limit`` tombstones marked more than ``grace`` ago; returns how many
        are done. One whose deletion fails for a reason of its own (e.g. a webhook event that cannot be
        written, which keeps the tombstone) is logged and left to the next pass: tombstones come oldest
        first, so raising would hold back every later one for good. The store being down ends the pass."""
        found = self._workflows.abandoned_deletions(self._clock.now() - self._grace, limit)
        done = 0
        for workflow in found:
            if workflow.team_id is None or workflow.id is None:
                continue
            try:
                self._delete()(workflow.team_id, workflow.id)
            except NotFound:
                pass  # a DELETE retried meanwhile removed it: nothing left to do
            except StoreUnavailable:
                raise
            except Exception:
                logger.exception("reaper: the deletion of workflow %s could not be finished; next pass", workflow.id)
                continue
            done += 1
        return done
