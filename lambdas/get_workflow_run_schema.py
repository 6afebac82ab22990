"""GET /workflows/v1/workflow-runs/schema: the JSON Schemas of runs (the SDK's runs.schema)."""

from functools import cache

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.runs import InputOutputPair, RunOutput, WorkflowRunInput, WorkflowRunsModel
from workflow_service.models.sdk import RunSchemasAnswer


@cache
def _schemas() -> RunSchemasAnswer:
    # Static within a deployment: built once per container.
    return RunSchemasAnswer(
        run_schema=WorkflowRunsModel.model_json_schema(),
        run_input_schema=WorkflowRunInput.model_json_schema(),
        run_output_schema=RunOutput.model_json_schema(),
        run_input_output_pair_schema=InputOutputPair.model_json_schema(),
    )


def get_workflow_run_schema(request: ApiRequest) -> RunSchemasAnswer:
    return _schemas()


handler = endpoint("get_workflow_run_schema", get_workflow_run_schema)
