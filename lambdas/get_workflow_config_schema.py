"""GET /workflows/v1/workflows/schema: the JSON Schema of a workflow config (the SDK's workflows.schema)."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.workflow_config import WorkflowConfig


def get_workflow_config_schema(request: ApiRequest) -> dict:
    return WorkflowConfig.model_json_schema()


handler = endpoint("get_workflow_config_schema", get_workflow_config_schema)
