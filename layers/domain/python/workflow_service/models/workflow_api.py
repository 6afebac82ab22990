"""The workflow and version endpoints' request and response shapes (reference sections 5 and 9).

A single workflow's read is in ``models.workflow_read``.
"""

from typing import Any

from pydantic import Field, field_validator, model_validator

from workflow_service.models.common import ApiModel, ObjectIdStr, RequestModel, refuse_null
from workflow_service.models.hydrated import HydratedConfigFields, name_from_config
from workflow_service.models.hydrated_body import HydratedConfigBody
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.models.workflows import Workflow, WorkflowVersion

# The fields that say what version 0 holds, besides ``config``: one or the other, never both.
_INLINE_CONFIG_FIELDS = ("workflow_config", "node_configs", "edge_configs", "dynamic_variables", "runtime_variables")


class CreateWorkflowRequest(RequestModel, HydratedConfigFields):
    """The inline body (nodes and edges in ``workflow_config``) or the SDK's hydrated one, either at the
    top level (``workflows.create_from_config``) or as ``config`` (``workflows.create(config=...)``).

    Hydrated: ``node_configs`` / ``edge_configs`` hold the nodes and edges, ``dynamic_variables`` /
    ``runtime_variables`` the workflow's defaults, and name/description default to
    ``workflow_config``'s.
    """

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    category: str = Field("User Created", max_length=100)
    max_concurrent_runs: int = Field(0, ge=0, le=10_000)
    workflow_config: WorkflowConfig = Field(
        default_factory=WorkflowConfig, description="Nodes, edges and LLM settings of version 0"
    )
    config: HydratedConfigBody | None = Field(
        None,
        description="SDK workflows.create(config=...): version 0's config in the hydrated shape; not with "
        + ", ".join(_INLINE_CONFIG_FIELDS),
    )

    @model_validator(mode="before")
    @classmethod
    def _sdk_name(cls, data: Any) -> Any:
        return name_from_config(data)

    @model_validator(mode="after")
    def _one_config(self) -> "CreateWorkflowRequest":
        if self.config is not None:
            given = [name for name in _INLINE_CONFIG_FIELDS if name in self.model_fields_set]
            if given:
                raise ValueError(f"config and {', '.join(given)} cannot both be given: config holds the whole config")
        return self

    def version_config(self) -> WorkflowConfig:
        """Version 0's config, the hydrated parts folded in."""
        if self.config is not None:
            return self.config.version_config()
        return self.fold_into(self.workflow_config)

    def config_location(self) -> tuple[tuple[str, ...], bool]:
        """Where the body holds version 0's workflow config (its problems are reported there), and whether
        its nodes and edges were sent apart (``node_configs`` / ``edge_configs``, beside it)."""
        if self.config is not None:
            return ("body", "config", "workflow_config"), self.config.hydrated
        return ("body", "workflow_config"), self.hydrated


class UpdateWorkflowRequest(RequestModel):
    """Rename or re-describe a workflow; absent fields are left unchanged, a null description clears it."""

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class WorkflowResponse(ApiModel):
    workflow: Workflow


class DynamicVariablesResponse(ApiModel):
    dynamic_variables: dict[str, Any]
    global_variables_resolved: dict[str, Any] = Field(
        default_factory=dict, description="Always empty: global variables are not offered"
    )


class DeleteWorkflowResponse(ApiModel):
    workflow_id: ObjectIdStr
    message: str


class SetConcurrencyRequest(RequestModel):
    max_concurrent_runs: int = Field(ge=0, le=10_000, description="0 removes the per-workflow cap")


class SetConcurrencyResponse(ApiModel):
    workflow_id: ObjectIdStr
    max_concurrent_runs: int
    message: str


class CreateVersionRequest(RequestModel, HydratedConfigFields):
    version_name: str | None = Field(
        None, min_length=1, max_length=200, description='Absent or null: "Version <version_number>"'
    )
    mark_as_active: bool = False
    source_version_number: int | None = Field(None, ge=0, description="Version to clone (default: active)")
    workflow_config: WorkflowConfig | None = Field(
        None, description="The new version's config; when absent it is cloned from the source version"
    )

    def version_config(self) -> WorkflowConfig | None:
        """The config given (inline or hydrated), or None to clone the source version."""
        if self.workflow_config is None and not self.hydrated:
            return None
        return self.fold_into(self.workflow_config or WorkflowConfig())


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
