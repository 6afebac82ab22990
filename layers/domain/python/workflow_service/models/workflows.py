"""Public shapes of workflows and their versions (reference sections 5 and 9)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from workflow_service.models.common import ApiModel, AuditedModel, ObjectIdStr, RequestModel, refuse_null
from workflow_service.models.workflow_config import WorkflowConfig

INITIAL_VERSION_NAME = "Initial Version"


class Workflow(AuditedModel):
    name: str
    description: str | None = None
    category: str = "User Created"
    active_version_number: int = 0
    max_concurrent_runs: int = Field(0, description="Per-workflow concurrency cap; 0 = no cap (team limit applies)")
    version_numbers: list[int] = Field(default_factory=list, description="Versions that exist")
    workflow_config: WorkflowConfig | None = Field(
        None, description="The active version's config (on single-workflow responses)"
    )


class WorkflowVersion(AuditedModel):
    workflow_id: ObjectIdStr
    version_number: int
    version_name: str = INITIAL_VERSION_NAME
    workflow_config: WorkflowConfig
    config_revision: int = Field(0, description="Bumped by every config update; a run keeps the revision it started on")

    def unknown_start_node(self, logical_id: str | None) -> str | None:
        """Why a run of this version cannot start at ``logical_id`` (no such node), or None."""
        if logical_id and logical_id not in {node.logical_id for node in self.workflow_config.nodes}:
            return f"version {self.version_number} has no node '{logical_id}'"
        return None


class CreateWorkflowRequest(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    category: str = Field("User Created", max_length=100)
    max_concurrent_runs: int = Field(0, ge=0, le=10_000)
    workflow_config: WorkflowConfig = Field(
        default_factory=WorkflowConfig, description="Nodes, edges and LLM settings of version 0"
    )


class UpdateWorkflowRequest(RequestModel):
    """Rename or re-describe a workflow; absent fields are left unchanged, a null description clears it."""

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ListWorkflowsQuery(RequestModel):
    page: int = Field(1, ge=1, le=1_000_000)
    size: int = Field(100, ge=1, le=1000)
    search: str | None = Field(None, max_length=200)


class WorkflowResponse(ApiModel):
    workflow: Workflow


class WorkflowListResponse(ApiModel):
    workflows: list[Workflow]
    total: int | None


class DeleteWorkflowResponse(ApiModel):
    workflow_id: ObjectIdStr
    message: str


class SetConcurrencyRequest(RequestModel):
    max_concurrent_runs: int = Field(ge=0, le=10_000, description="0 removes the per-workflow cap")


class SetConcurrencyResponse(ApiModel):
    workflow_id: ObjectIdStr
    max_concurrent_runs: int
    message: str


class CreateVersionRequest(RequestModel):
    version_name: str = Field(min_length=1, max_length=200)
    mark_as_active: bool = False
    source_version_number: int | None = Field(None, ge=0, description="Version to clone (default: active)")
    workflow_config: WorkflowConfig | None = Field(
        None, description="The new version's config; when absent it is cloned from the source version"
    )


class CreateVersionResponse(ApiModel):
    version: WorkflowVersion
    parent_active_version: int


class VersionResponse(ApiModel):
    version: WorkflowVersion


class VersionListResponse(ApiModel):
    versions: list[WorkflowVersion]


class RenameVersionRequest(RequestModel):
    version_name: str = Field(min_length=1, max_length=200)


class DeleteVersionResponse(ApiModel):
    workflow_id: ObjectIdStr
    version_number: int
    message: str
