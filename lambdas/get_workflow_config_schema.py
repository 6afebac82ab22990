"""GET /workflows/v1/workflows/schema: the JSON Schema of a workflow config (the SDK's workflows.schema)."""

from functools import cache

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_config import WorkflowConfig


@cache
def _schema() -> dict:
    # Building it takes a few hundred milliseconds and it never changes within a deployment.
    return WorkflowConfig.model_json_schema()


def get_workflow_config_schema(request: ApiRequest) -> dict:
    return _schema()


handler = endpoint("get_workflow_config_schema", get_workflow_config_schema)
