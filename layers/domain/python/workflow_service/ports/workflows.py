"""Workflows, their versions, and who is told when a workflow is deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from workflow_service.models.workflow_summaries import WorkflowSummary
    from workflow_service.models.workflows import Workflow, WorkflowVersion


class WorkflowSummaries(Protocol):
    """The team's live workflows as lists show them (no config)."""

    def list(
        self, team_id: str, search: str | None, skip: int, limit: int, *, filters: dict[str, Any] | None = None
    ) -> tuple[list[WorkflowSummary], int]:
        """Newest first, with the count of all that match; ``search`` is a case-insensitive substring of
        the name; ``filters`` are equality / ``$in`` conditions on workflow fields (created_by, category)."""
        ...


class WorkflowRepository(Protocol):
    """Workflow documents. ``version_numbers`` on the workflow is the authority on which versions
    exist, so activation and deletion rules are single-document conditional updates."""

    def insert(self, workflow: Workflow) -> None: ...

    def get(self, team_id: str, workflow_id: str, *, include_deleted: bool = False) -> Workflow | None: ...

    def update_fields(
        self, team_id: str, workflow_id: str, fields: dict[str, Any], user_id: str, *, webhook_marker: bool = False
    ) -> Workflow | None:
        """Every update, add_version, activate_version and remove_version counts one ``webhook_revision``;
        with ``webhook_marker`` it also counts one more pending ``workflow_updated`` (webhooks.outbox)."""
        ...

    def reserve_version_number(self, team_id: str, workflow_id: str) -> int | None: ...

    def add_version(
        self,
        team_id: str,
        workflow_id: str,
        version_number: int,
        activate: bool,
        user_id: str,
        *,
        webhook_marker: bool = False,
    ) -> Workflow | None: ...

    def activate_version(
        self, team_id: str, workflow_id: str, version_number: int, user_id: str, *, webhook_marker: bool = False
    ) -> Workflow | None:
        """Sets the active version only if ``version_number`` exists; None otherwise."""
        ...

    def remove_version(
        self,
        team_id: str,
        workflow_id: str,
        version_number: int,
        user_id: str | None = None,
        *,
        webhook_marker: bool = False,
    ) -> Workflow | None:
        """Removes ``version_number`` only if it exists, is not active and is not the last one (the
        workflow as it is then); None otherwise. Counted like ``update_fields``."""
        ...

    def abandoned_deletions(self, marked_before: datetime, limit: int) -> list[Workflow]:
        """Up to ``limit`` workflows marked deleted before ``marked_before`` whose documents are still
        there: a DELETE died between its mark and its last write (the reaper finishes it)."""
        ...

    def mark_deleted(self, team_id: str, workflow_id: str, *, webhook_marker: bool = False) -> Workflow | None:
        """Mark the workflow deleted (with the ``workflow_deleted`` marker when asked, in the same write);
        an already deleted one is returned as it is."""
        ...

    def delete(self, team_id: str, workflow_id: str) -> None: ...


class VersionRepository(Protocol):
    def insert(self, version: WorkflowVersion) -> None: ...

    def get(self, workflow_id: str, version_number: int) -> WorkflowVersion | None: ...

    def list(self, workflow_id: str, version_numbers: list[int]) -> list[WorkflowVersion]: ...

    def rename(
        self, workflow_id: str, version_number: int, version_name: str, user_id: str, *, webhook_marker: bool = False
    ) -> WorkflowVersion | None:
        """With ``webhook_marker`` the write also carries the version's workflow_updated marker and counts
        one more ``webhook_changes`` (webhooks.outbox counts them as updates of the workflow)."""
        ...

    def delete_all(self, workflow_id: str) -> None: ...

    def archive_revision(self, version: WorkflowVersion) -> None:
        """Keep ``version``'s current config under its revision for the runs started on it (idempotent)."""
        ...

    def get_revision(self, workflow_id: str, version_number: int, revision: int) -> WorkflowVersion | None:
        """The version as it was at config ``revision`` (archived, or the version itself if still current)."""
        ...

    def replace_config(
        self,
        workflow_id: str,
        version_number: int,
        expected_revision: int,
        config: Any,
        user_id: str,
        *,
        webhook_marker: bool = False,
    ) -> WorkflowVersion | None:
        """Set the config and bump the revision, only if it is still ``expected_revision``; None otherwise.
        ``webhook_marker`` as for ``rename``."""
        ...


class WorkflowDeletionListener(Protocol):
    """Capabilities that own objects of a workflow (runs, schedules, triggers) wind them down here.

    Called after the workflow is marked deleted and before its documents are removed; must be
    idempotent, because a retried DELETE calls it again.
    """

    def on_workflow_deleted(self, team_id: str, workflow_id: str) -> None: ...


class AbandonedDeletionFinisher(Protocol):
    """What the reaper calls to finish the workflow deletions a crash left half done."""

    def finish(self, limit: int) -> int:
        """Finish up to ``limit`` of them; returns how many."""
        ...
