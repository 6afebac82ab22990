"""Listing a team's workflows: pages of summaries, newest first.

Its own use case, apart from ``WorkflowService``, so that a list imports none of the config models
the workflow's writes and single reads need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.models.workflow_summaries import WorkflowSummary
    from workflow_service.ports.workflows import WorkflowSummaries


class WorkflowListing:
    def __init__(self, summaries: WorkflowSummaries) -> None:
        self._summaries = summaries

    def page(self, team_id: str, search: str | None, page: int, size: int) -> tuple[list[WorkflowSummary], int]:
        """Page ``page`` (from 1) of ``size`` of the team's live workflows whose name contains ``search``,
        and how many match in all."""
        return self._summaries.list(team_id, search, (page - 1) * size, size)
