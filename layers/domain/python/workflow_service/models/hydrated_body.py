"""The SDK's hydrated config sent as one request field (``config``).

Apart from ``models.hydrated`` so that the read handlers, which import that module for the hydrated
answer, do not declare a request model they never parse (every model costs a cold start its fields).
"""

from pydantic import Field

from workflow_service.models.common import RequestModel
from workflow_service.models.hydrated import HydratedConfigFields
from workflow_service.models.workflow_config import WorkflowConfig


class HydratedConfigBody(RequestModel, HydratedConfigFields):
    """A whole config in the SDK's hydrated shape (``WorkflowConfigFullyHydrated``), sent as one field:
    ``versions.update_config``'s and ``workflows.create``'s ``config``."""

    workflow_config: WorkflowConfig = Field(default_factory=WorkflowConfig)

    def version_config(self) -> WorkflowConfig:
        return self.fold_into(self.workflow_config)
