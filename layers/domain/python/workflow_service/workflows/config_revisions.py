"""A version's config replaced in place (the SDK's ``versions.update_config``), runs keeping theirs.

A version carries a ``config_revision``; a run records the revision it started on and executes that
one to the end. An update first archives the current config under its revision (idempotent), then
swaps the config and bumps the revision in one conditional write on the revision it read: a crash in
between leaves an unused archive, a retry finishes, and two racing updates cannot both win.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow_service.errors import Conflict, NotFound
from workflow_service.workflows.service import check_config, keep_masked_secrets

if TYPE_CHECKING:
    from workflow_service.models.workflow_config import WorkflowConfig
    from workflow_service.models.workflows import WorkflowVersion
    from workflow_service.ports.workflows import VersionRepository
    from workflow_service.workflows.service import WorkflowService


class VersionConfigs:
    def __init__(self, service: WorkflowService, versions: VersionRepository) -> None:
        self._service = service
        self._versions = versions

    def update(
        self,
        team_id: str,
        user_id: str,
        workflow_id: str,
        number: int,
        config: WorkflowConfig,
        *,
        hydrated: bool = False,
    ) -> WorkflowVersion:
        """The version with ``config`` as its new revision; 422 for an invalid config (located where the caller
        put it: ``node_configs[i]`` when ``hydrated``), 409 if it changed meanwhile."""
        current = self._service.get_version(team_id, workflow_id, number)
        # A hydrated body holds the workflow's own fields in config.workflow_config, its nodes and edges
        # beside it (config.node_configs): located from there, problems name where they were sent.
        location = ("body", "config", "workflow_config") if hydrated else ("body", "config")
        check_config(config, location, self._service.gateway_providers, hydrated=hydrated)
        config = keep_masked_secrets(config, current.workflow_config)
        self._versions.archive_revision(current)
        updated = self._versions.replace_config(workflow_id, number, current.config_revision, config, user_id)
        if updated is None:
            if self._versions.get(workflow_id, number) is None:
                raise NotFound("workflow version", f"{workflow_id}/{number}")
            raise Conflict(f"version {number}'s config was updated meanwhile; read it again and retry")
        return updated
