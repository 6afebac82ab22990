"""The run list, comment and delete endpoints' shapes (reference section 5).

Apart from ``models.runs`` (what a run is, and a single run's read) so that the handlers that start,
execute or read one run declare none of them.
"""

from typing import Any

from pydantic import Field

from workflow_service.models.common import ApiModel, AuditedModel, ObjectIdStr, RequestModel, UtcDatetime
from workflow_service.models.runs import RunStatus


class WorkflowRunProjection(AuditedModel):
    workflow_run: dict[str, Any]


class WorkflowRunListResponse(ApiModel):
    workflow_runs: list[WorkflowRunProjection]
    total: int | None


class ListWorkflowRunsQuery(RequestModel):
    workflow_id: ObjectIdStr | None = None
    status: RunStatus | None = None
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    search: str | None = Field(None, max_length=200)
    page: int = Field(1, ge=1, le=1_000_000)
    size: int = Field(100, ge=1, le=1000)
    source_workflow_run_id: ObjectIdStr | None = Field(
        None,
        description="Only runs re-run from this run's turns. This service makes none, so the page is then empty",
    )
    source_turn_index: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="Narrows source_workflow_run_id to one turn (0-based); ignored without it, as in the SDK",
    )


class AddCommentRequest(RequestModel):
    """The documented body is a whole comment; the audit fields in it are set by the server, not taken."""

    content: str = Field(min_length=1, max_length=10_000)
    logical_id: str | None = None
    createdBy: str | None = Field(None, description="Ignored: the caller from the API key")
    updatedBy: str | None = Field(None, description="Ignored: the caller from the API key")
    createdAt: str | None = Field(None, description="Ignored: the server's time")
    updatedAt: str | None = Field(None, description="Ignored: the server's time")


class DeleteWorkflowRunResponse(ApiModel):
    workflow_run_id: str
    message: str
