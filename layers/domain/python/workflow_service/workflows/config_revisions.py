"""A version's config replaced in place (the SDK's ``versions.update_config``), runs keeping theirs.

A version carries a ``config_revision``; a run records the revision it started on and executes that
one to the end. An update first archives the current config under its revision (idempotent), then
swaps the config and bumps the revision in one conditional write on the revision it read: a crash in
between leaves an unused archive, a retry finishes, and two racing updates cannot both win.

The swap carries the version's ``workflow_updated`` outbox marker when the team listens; the change is
then counted as an update of the workflow and its event written (webhooks.outbox). An update to the
config the version already has writes nothing and makes no event, so a retried update makes one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow_service.errors import Conflict, NotFound
from workflow_service.models.llm import REVEAL_SECRETS
from workflow_service.models.webhook_actions import WebhookAction
from workflow_service.workflows.service import check_config, keep_masked_secrets

if TYPE_CHECKING:
    from workflow_service.models.workflow_config import WorkflowConfig
    from workflow_service.models.workflows import WorkflowVersion
    from workflow_service.ports.workflows import VersionRepository
    from workflow_service.workflows.service import WorkflowService


class VersionConfigs:
    """Replace the config of one of a team's versions (see the module docstring)."""

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
        workflow, current = self._service.get_workflow_and_version(team_id, workflow_id, number)
        # A hydrated body holds the workflow's own fields in config.workflow_config, its nodes and edges
        # beside it (config.node_configs): located from there, problems name where they were sent.
        location = ("body", "config", "workflow_config") if hydrated else ("body", "config")
        check_config(config, location, self._service.gateway_providers, hydrated=hydrated)
        config = keep_masked_secrets(config, current.workflow_config)
        if _stored(config) == _stored(current.workflow_config):
            # Already this config (a retry of an update that took effect): no new revision, no second event;
            # a first attempt that died before its event left the marker, counted now.
            self._service.emit_version_changes(current, workflow)
            return current
        self._versions.archive_revision(current)
        marker = self._service.listens(team_id, WebhookAction.WORKFLOW_UPDATED)
        updated = self._versions.replace_config(
            workflow_id, number, current.config_revision, config, user_id, webhook_marker=marker
        )
        if updated is None:
            if self._versions.get(workflow_id, number) is None:
                raise NotFound("workflow version", f"{workflow_id}/{number}")
            raise Conflict(f"version {number}'s config was updated meanwhile; read it again and retry")
        self._service.emit_version_changes(updated, workflow)
        return updated


def _stored(config: WorkflowConfig) -> object:
    """The config as the store keeps it (credentials included), to tell an unchanged config."""
    return config.model_dump(by_alias=True, mode="json", context=REVEAL_SECRETS)
