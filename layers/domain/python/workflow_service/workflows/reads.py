"""Reading a team's workflows and versions: what runs, schedules and triggers need of a workflow.

Apart from ``WorkflowService`` (the writes, which validate configs and answer in the SDK's hydrated
shape) so that what starts or schedules a run declares none of the write path's models.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from workflow_service.errors import NotFound

if TYPE_CHECKING:
    from workflow_service.models.workflow_read import HydratedWorkflow
    from workflow_service.models.workflows import Workflow, WorkflowVersion
    from workflow_service.ports.workflows import VersionRepository, WorkflowRepository


class WorkflowReads:
    """One team's workflows and versions, read (404 for what is missing, deleted or another team's)."""

    def __init__(self, workflows: WorkflowRepository, versions: VersionRepository) -> None:
        self._workflows = workflows
        self._versions = versions

    def get(self, team_id: str, workflow_id: str) -> Workflow:
        """The workflow (404 for a missing, deleted or other team's workflow)."""
        workflow = self._workflows.get(team_id, workflow_id)
        if workflow is None:
            raise NotFound("workflow", workflow_id)
        return workflow

    def get_with_config(self, team_id: str, workflow_id: str) -> Workflow:
        workflow = self.get(team_id, workflow_id)
        active = self._versions.get(workflow_id, workflow.active_version_number)
        return workflow.model_copy(update={"workflow_config": active.workflow_config if active else None})

    def get_hydrated(self, team_id: str, workflow_id: str) -> HydratedWorkflow:
        """The workflow with its active version's config in the SDK's hydrated shape."""
        # Imported here: runs, schedules and triggers read workflows too, and never answer this shape.
        from workflow_service.models.hydrated import hydrate
        from workflow_service.models.workflow_read import HydratedWorkflow

        workflow = self.get_with_config(team_id, workflow_id)
        config = workflow.workflow_config
        fields = workflow.model_dump(by_alias=True, exclude={"workflow_config"})
        return HydratedWorkflow.model_validate({**fields, "workflow_config": hydrate(config) if config else None})

    def dynamic_variables(self, team_id: str, workflow_id: str) -> dict[str, Any]:
        """The active version's default dynamic variables."""
        config = self.get_with_config(team_id, workflow_id).workflow_config
        return dict(config.dynamic_variables) if config else {}

    def get_version(self, team_id: str, workflow_id: str, version_number: int | None = None) -> WorkflowVersion:
        """A version of the caller's workflow; the active one when ``version_number`` is None."""
        return self.get_workflow_and_version(team_id, workflow_id, version_number)[1]

    def get_workflow_and_version(
        self, team_id: str, workflow_id: str, version_number: int | None = None
    ) -> tuple[Workflow, WorkflowVersion]:
        """The caller's workflow and one of its versions (the active one when ``version_number`` is None),
        for callers that need the workflow's own fields too (its concurrency cap) without a second read."""
        workflow = self.get(team_id, workflow_id)
        number = workflow.active_version_number if version_number is None else version_number
        version = self._versions.get(workflow_id, number) if number in workflow.version_numbers else None
        if version is None:
            raise NotFound("workflow version", f"{workflow_id}/{number}")
        return workflow, version

    def version_of_run(
        self, team_id: str, workflow_id: str, version_number: int, config_revision: int = 0
    ) -> WorkflowVersion:
        """The version a run started with, at the config revision it started on, even if it was deleted
        or its config updated since: a run keeps its version and its config."""
        self.get(team_id, workflow_id)
        version = self._versions.get_revision(workflow_id, version_number, config_revision)
        if version is None:
            raise NotFound("workflow version", f"{workflow_id}/{version_number}")
        return version

    def list_versions(self, team_id: str, workflow_id: str) -> builtins.list[WorkflowVersion]:
        workflow = self.get(team_id, workflow_id)
        return self._versions.list(workflow_id, workflow.version_numbers)
