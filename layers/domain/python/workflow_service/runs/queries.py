"""Reading runs: what the read-only endpoints need, without the engine, LLMs or concurrency slots."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workflow_service.errors import BadRequest, NotFound
from workflow_service.models.runs import RunStatus, WorkflowRunsModel

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.runs import RunRepository

MAX_LIST_WINDOW = timedelta(days=31)


class RunQueries:
    """One run, or a page of a team's runs, newest first."""

    def __init__(self, runs: RunRepository, clock: Clock) -> None:
        self._runs = runs
        self._clock = clock

    def get(self, team_id: str, run_id: str) -> WorkflowRunsModel:
        """The caller's run (404 for a missing or another team's run), with its queue position if queued."""
        run = self._runs.get(team_id, run_id)
        if run is None:
            raise NotFound("workflow run", run_id)
        return self.with_queue_position(run)

    def with_queue_position(self, run: WorkflowRunsModel) -> WorkflowRunsModel:
        inner = run.workflow_run
        if inner.status is RunStatus.NOT_STARTED and inner.queued_at is not None:
            inner.queue_position = self._runs.queue_position(run.owner_team_id, inner.queued_at, run.stored_id)
        return run

    def list(
        self,
        team_id: str,
        *,
        workflow_id: str | None,
        status: RunStatus | None,
        start: datetime | None,
        end: datetime | None,
        search: str | None,
        page: int,
        size: int,
        source_workflow_run_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of runs. A date window may span at most 31 days (400 otherwise).

        ``source_workflow_run_id`` asks for the runs re-run from that run's turns (the SDK's "N re-runs
        from this turn"); a turn index narrows that further, so it changes nothing here.
        """
        if start or end:
            # A window open on one side is closed at now (start only) or 31 days back (end only).
            end = end or self._clock.now()
            start = start or end - MAX_LIST_WINDOW
            if end < start:
                raise BadRequest("end must not be before start")
            if end - start > MAX_LIST_WINDOW:
                raise BadRequest("Date range should be less than or equal to 31 days")
        if source_workflow_run_id is not None:
            # This service never makes a run from another run's turn (there is no checkpoint re-run), so no
            # run has a source run: the page is empty whichever run, and whichever of its turns, is named.
            return [], 0
        filters = {"workflow_id": workflow_id, "status": status, "start": start, "end": end, "search": search}
        return self._runs.list(team_id, filters, (page - 1) * size, size)
