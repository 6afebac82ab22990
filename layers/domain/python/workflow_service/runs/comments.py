"""Comments on a run: written by the caller, who and when taken from the request, never from the body."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import uuid4

from workflow_service.errors import NotFound

if TYPE_CHECKING:
    from workflow_service.models.common import Caller
    from workflow_service.models.runs import WorkflowRunsModel
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.runs import RunRepository
    from workflow_service.runs.queries import RunQueries


class RunComments:
    """Adds and deletes comments on the caller's runs."""

    def __init__(self, runs: RunRepository, queries: RunQueries, clock: Clock) -> None:
        self._runs = runs
        self._queries = queries
        self._clock = clock

    def add(self, caller: Caller, run_id: str, content: str, logical_id: str | None) -> WorkflowRunsModel:
        """Append a comment (a generated logical id unless given); 404 for another team's run."""
        now = self._clock.now()
        comment = {
            "logical_id": logical_id or f"comment_{uuid4()}",
            "content": content,
            "createdBy": caller.user_id,
            "updatedBy": caller.user_id,
            "createdAt": now,
            "updatedAt": now,
        }
        run = self._runs.add_comment(caller.team_id, run_id, comment)
        if run is None:
            raise NotFound("workflow run", run_id)
        return run

    def delete(self, caller: Caller, run_id: str, comment_logical_id: str) -> WorkflowRunsModel:
        """Remove a comment; 404 names the run or the comment, whichever is missing."""
        run = self._runs.delete_comment(caller.team_id, run_id, comment_logical_id)
        if run is None:
            self._queries.get(caller.team_id, run_id)
            raise NotFound("comment", comment_logical_id)
        return run
