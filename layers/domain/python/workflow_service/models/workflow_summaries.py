"""A workflow's own fields, and the list of them (``GET /workflows/v1/workflows``).

Apart from ``models.workflows`` so that a list declares no config model: a list carries no config, and
the config's models are most of what a workflow read would otherwise import and build.
"""

from pydantic import Field

from workflow_service.models.common import ApiModel, AuditedModel, RequestModel, empty_list


class WorkflowFields(AuditedModel):
    name: str
    description: str | None = None
    category: str = "User Created"
    active_version_number: int = 0
    max_concurrent_runs: int = Field(0, description="Per-workflow concurrency cap; 0 = no cap (team limit applies)")
    version_numbers: list[int] = Field(default_factory=empty_list, description="Versions that exist")


class WorkflowSummary(WorkflowFields):
    """A workflow as a list shows it: every field but the config."""

    workflow_config: None = Field(None, description="Not in lists: read the workflow for its active version's config")


class ListWorkflowsQuery(RequestModel):
    page: int = Field(1, ge=1, le=1_000_000)
    size: int = Field(100, ge=1, le=1000)
    search: str | None = Field(None, max_length=200)


class WorkflowListResponse(ApiModel):
    workflows: list[WorkflowSummary]
    total: int | None
