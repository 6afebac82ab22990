"""The interactive execute endpoint's shapes: POST /workflows/v1/workflows/{workflow_id}/execute (seed 003).

Apart from ``models.runs`` (what a run is) so that a handler that only reads or stores runs declares
none of them.
"""

from typing import Any

from pydantic import Field

from workflow_service.models.common import ApiModel, ObjectIdStr, RequestModel
from workflow_service.models.runs import RunStatus, WorkflowRunInput


class ExecuteWorkflowRequest(RequestModel):
    """Request body for POST /workflows/{workflow_id}/execute (seed 003)."""

    run_input: WorkflowRunInput
    run_id: ObjectIdStr | None = Field(None, description="Omit on the first turn; echo it back afterwards")


class ExecuteWorkflowQuery(RequestModel):
    version: int | None = Field(None, ge=0, description="Workflow version for the first turn only")


class ExecuteWorkflowResponse(ApiModel):
    run_id: str
    status: RunStatus
    turn_number: int
    events: list[dict[str, Any]]
    is_waiting_for_input: bool
    is_completed: bool
    error: str | None = None
    next_input_hint: dict[str, Any] | None = None
