"""What a workflow and a version are (reference sections 5 and 9); the endpoints' request and response
shapes are in ``models.workflow_api``, so that what runs or schedules a workflow declares none of them."""

from typing import Any

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from workflow_service.models.common import AuditedModel, ObjectIdStr
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.models.workflow_summaries import WorkflowFields

INITIAL_VERSION_NAME = "Initial Version"


def default_version_name(version_number: int) -> str:
    """The name a version created without one gets (version 0 is the ``INITIAL_VERSION_NAME``)."""
    return f"Version {version_number}"


class Workflow(WorkflowFields):
    workflow_config: WorkflowConfig | None = Field(
        None, description="The active version's config (on single-workflow responses)"
    )
    # Operational, never returned: counts the workflow's updates (the workflow_updated events' dedupe key),
    # and the webhook outbox markers its last write left (ports.webhooks): action -> when, or for
    # workflow_updated how many updates' events are still to be written.
    webhook_revision: SkipJsonSchema[int] = Field(0, exclude=True)
    webhook_outbox: SkipJsonSchema[dict[str, Any]] = Field(default_factory=dict, exclude=True)
    # Per version number (as text): how many of that version's marked changes (renames, config updates)
    # have been counted as updates of the workflow (compared with the version's ``webhook_changes``).
    webhook_versions: SkipJsonSchema[dict[str, int]] = Field(default_factory=dict, exclude=True)


class WorkflowVersion(AuditedModel):
    workflow_id: ObjectIdStr
    version_number: int
    version_name: str = INITIAL_VERSION_NAME
    workflow_config: WorkflowConfig
    config_revision: int = Field(0, description="Bumped by every config update; a run keeps the revision it started on")
    # Operational, never returned: a rename or config update is a write of the version document, which
    # carries its workflow_updated outbox marker (``webhook_outbox``) and counts itself in
    # ``webhook_changes`` (only when the team listens); webhooks.outbox counts those as workflow updates.
    webhook_changes: SkipJsonSchema[int] = Field(0, exclude=True)
    webhook_outbox: SkipJsonSchema[dict[str, Any]] = Field(default_factory=dict, exclude=True)

    def unknown_start_node(self, logical_id: str | None) -> str | None:
        """Why a run of this version cannot start at ``logical_id`` (no such node), or None."""
        if logical_id and logical_id not in {node.logical_id for node in self.workflow_config.nodes}:
            return f"version {self.version_number} has no node '{logical_id}'"
        return None
