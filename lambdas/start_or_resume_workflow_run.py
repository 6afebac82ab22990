"""POST /workflows/v1/workflow-runs: start (queued for a slot) or data/resume/pause/stop a run (seed 001)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.runs import WorkflowRunInput, WorkflowRunResponse
from workflow_service.wiring import services


def start_or_resume_workflow_run(request: ApiRequest) -> WorkflowRunResponse:
    run = services().runs.submission.start_or_resume(request.caller, request.body(WorkflowRunInput))
    return WorkflowRunResponse(workflow_run=run)


handler = endpoint("start_or_resume_workflow_run", start_or_resume_workflow_run)
