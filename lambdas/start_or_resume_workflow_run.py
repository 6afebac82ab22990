"""POST /workflows/v1/workflow-runs: start (queued for a slot) or data/resume/pause/stop a run (seed 001).

An ``Idempotency-Key`` header makes a retry within 24 h answer as the first request did: a retried
``start`` starts no second run, a retried command is not applied twice, and a retried ``start`` whose
run was deleted since (its first answer never stored) answers 409 instead of starting it again.
"""

from workflow_service.http.api import ApiRequest, ApiResponse, endpoint
from workflow_service.http.idempotency import create_idempotently
from workflow_service.models.runs import WorkflowRunInput, WorkflowRunResponse
from workflow_service.wiring import services


def start_or_resume_workflow_run(request: ApiRequest) -> ApiResponse:
    caller = request.caller
    run_input = request.body(WorkflowRunInput)

    def answer(run_id: str | None, *, retried: bool = False) -> WorkflowRunResponse:
        submission = services().runs.submission
        return WorkflowRunResponse(
            workflow_run=submission.start_or_resume(caller, run_input, run_id=run_id, retried=retried)
        )

    return create_idempotently(
        request,
        services().core.idempotent_create,
        answer,
        retry=lambda run_id: answer(run_id, retried=True),
    )


handler = endpoint("start_or_resume_workflow_run", start_or_resume_workflow_run)
