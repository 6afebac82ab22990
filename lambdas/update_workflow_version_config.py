"""PATCH /workflows/v1/workflows/{workflow_id}/versions/{version_number}/config: replace a version's config;
runs already started keep the config they started with."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.sdk import UpdateVersionConfigRequest
from workflow_service.models.workflows import VersionResponse
from workflow_service.wiring import services


def update_workflow_version_config(request: ApiRequest) -> VersionResponse:
    caller = request.caller
    workflow_id, number = request.object_id("workflow_id"), request.path_int("version_number")
    body = request.body(UpdateVersionConfigRequest)
    version = services().workflows.version_configs.update(
        caller.team_id, caller.user_id, workflow_id, number, body.config
    )
    return VersionResponse(version=version)


handler = endpoint("update_workflow_version_config", update_workflow_version_config)
