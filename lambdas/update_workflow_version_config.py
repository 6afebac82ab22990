"""PATCH /workflows/v1/workflows/{workflow_id}/versions/{version_number}/config: replace a version's config;
runs already started keep the config they started with."""

from workflow_service.http.api import ApiRequest, endpoint
from workflow_service.models.hydrated import is_hydrated
from workflow_service.models.sdk import HydratedUpdateVersionConfigRequest, UpdateVersionConfigRequest
from workflow_service.models.workflow_api import VersionResponse
from workflow_service.wiring import services


def update_workflow_version_config(request: ApiRequest) -> VersionResponse:
    caller = request.caller
    workflow_id, number = request.object_id("workflow_id"), request.path_int("version_number")
    document = request.json_body()
    hydrated = isinstance(document, dict) and is_hydrated(document.get("config"))
    if hydrated:
        config = request.body(HydratedUpdateVersionConfigRequest).config.version_config()
    else:
        config = request.body(UpdateVersionConfigRequest).config
    version = services().workflows.version_configs.update(
        caller.team_id, caller.user_id, workflow_id, number, config, hydrated=hydrated
    )
    return VersionResponse(version=version)


handler = endpoint("update_workflow_version_config", update_workflow_version_config)
