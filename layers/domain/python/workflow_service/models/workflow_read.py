"""A single workflow's read (``GET /workflows/v1/workflows/{workflow_id}``): its query and answer.

Apart from ``models.workflow_api`` so that a read declares none of the write endpoints' shapes.
"""

from pydantic import Field

from workflow_service.models.common import ApiModel, RequestModel
from workflow_service.models.hydrated import HydratedWorkflowConfig
from workflow_service.models.workflow_summaries import WorkflowFields
from workflow_service.models.workflows import Workflow


class HydratedWorkflow(WorkflowFields):
    """A workflow whose ``workflow_config`` is the active version's, in the SDK's hydrated shape."""

    workflow_config: HydratedWorkflowConfig | None = None


class GetWorkflowQuery(RequestModel):
    fully_hydrate: bool = Field(False, description="Answer the config in the SDK's hydrated shape")


class WorkflowReadResponse(ApiModel):
    """One workflow: its config inline, or hydrated (``?fully_hydrate=true``)."""

    workflow: Workflow | HydratedWorkflow
