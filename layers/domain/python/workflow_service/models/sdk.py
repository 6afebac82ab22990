"""Shapes of the product SDK's workflow and run surfaces beyond CRUD: clone, export/import, schemas,
version diffs, the team's active versions, a version's config replaced in place, and the 404 of the
surfaces the service does not offer (reference section 9; interactly-ai/workflow-sdk resources)."""

from typing import Any

from pydantic import Field

from workflow_service.models.common import ApiModel, RequestModel, empty_list
from workflow_service.models.hydrated_body import HydratedConfigBody
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.models.workflows import WorkflowVersion


class UnsupportedSurfaceAnswer(ApiModel):
    """The 404 of a surface the service does not offer: which one, and the routes it does offer."""

    detail: str
    surface: str | None = None
    offered: list[str] = Field(default_factory=empty_list)


# --- clone, export, import -----------------------------------------------------------------------

BUNDLE_FORMAT = "workflow-service.bundle/1"


class CloneWorkflowRequest(RequestModel):
    """``workflows.clone``: which versions the copy gets (all by default) and its name."""

    name: str | None = Field(None, min_length=1, max_length=200, description="Default: the source's name + ' (copy)'")
    description: str | None = Field(None, max_length=2000)
    clone_all_versions: bool = True
    version_numbers_to_clone: list[int] | None = Field(None, max_length=1000)
    fallback_active_version: int | None = Field(
        None, ge=0, description="Active version of the copy when the source's active one is not cloned"
    )


class ExportQuery(RequestModel):
    """``workflows.export``: ``version_numbers`` repeated (or comma-separated), one of them active."""

    version_numbers: str = Field(
        max_length=20_000, pattern=r"^ *[0-9]{1,18}( *, *[0-9]{1,18})* *$", description="e.g. 0,1 (or repeated)"
    )
    active_version_number: int = Field(ge=0, le=2**63 - 1)

    def numbers(self) -> list[int]:
        return sorted({int(part) for part in self.version_numbers.split(",")})


class BundleWorkflow(ApiModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    category: str = Field("User Created", max_length=100)
    max_concurrent_runs: int = Field(0, ge=0, le=10_000)


class BundleVersion(ApiModel):
    version_number: int = Field(ge=0, le=2**63 - 1)
    version_name: str = Field(min_length=1, max_length=200)
    workflow_config: WorkflowConfig


class WorkflowBundle(ApiModel):
    """A portable workflow: its fields and some versions. LLM credentials are masked (not exported)."""

    bundle_format: str = BUNDLE_FORMAT
    workflow: BundleWorkflow
    active_version_number: int = Field(ge=0, le=2**63 - 1)
    versions: list[BundleVersion] = Field(min_length=1, max_length=1000)


class ImportBundleRequest(RequestModel):
    """``workflows.import_bundle``: an exported bundle and which of its versions the new workflow gets."""

    bundle: WorkflowBundle
    versions_to_import: list[int] = Field(default_factory=lambda: [0], min_length=1, max_length=1000)
    active_version_number: int = Field(0, ge=0, le=2**63 - 1)
    workflow_name: str | None = Field(None, min_length=1, max_length=200)


# --- versions: the team's active ones, diffs, config in place -----------------------------------


class ActiveVersionsQuery(RequestModel):
    """``versions.list_active``: one active version per workflow of the team, newest workflow first."""

    page: int = Field(1, ge=1, le=1_000_000)
    size: int = Field(20, ge=1, le=100)
    favorites: bool | None = Field(None, description="The service keeps no favorites: true answers an empty page")
    created_by_me: bool | None = None
    category: str | None = Field(None, max_length=100)
    categories: str | None = Field(None, max_length=2000, description="Comma-separated (or repeated) category names")
    logical_id: str | None = Field(None, max_length=200, description="The workflow config's logical_id")


class ActiveVersionList(ApiModel):
    versions: list[WorkflowVersion]
    total: int
    page: int
    size: int


class FieldDiff(ApiModel):
    path: str
    old_value: Any = None
    new_value: Any = None


class NodeDiff(ApiModel):
    logical_id: str
    name: str | None = None
    node_type: str | None = None
    status: str
    changes: list[FieldDiff] = Field(default_factory=empty_list)


class EdgeDiff(ApiModel):
    logical_id: str
    name: str | None = None
    edge_type: str | None = None
    status: str
    changes: list[FieldDiff] = Field(default_factory=empty_list)


class VersionDiff(ApiModel):
    """``versions.diff``: what changed from ``version1`` to ``version2`` (credentials compare masked)."""

    version1_number: int
    version1_name: str | None = None
    version2_number: int
    version2_name: str | None = None
    workflow_config_changes: list[FieldDiff] = Field(default_factory=empty_list)
    nodes: list[NodeDiff] = Field(default_factory=empty_list)
    edges: list[EdgeDiff] = Field(default_factory=empty_list)
    summary: dict[str, int] = Field(default_factory=dict)


class UpdateVersionConfigRequest(RequestModel):
    """``versions.update_config``: the version's new config; runs already started keep the old one.
    The SDK's hydrated shape (``node_configs`` / ``edge_configs``) is accepted too."""

    config: WorkflowConfig


class HydratedUpdateVersionConfigRequest(RequestModel):
    config: HydratedConfigBody


class RunSchemasAnswer(ApiModel):
    """``runs.schema``: the JSON Schemas of a run, its input, its output and one input/output pair."""

    run_schema: dict[str, Any]
    run_input_schema: dict[str, Any]
    run_output_schema: dict[str, Any]
    run_input_output_pair_schema: dict[str, Any]
