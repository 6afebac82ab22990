"""Teams and API keys in the running local runtime, over HTTP (a local-only endpoint, never deployed).

The admin CLI writes to the database MONGODB_URI names; the embedded store lives inside the
``make run`` process, where no other process can reach it. These endpoints let a developer make a
second team and key there, to try team isolation::

    POST /local/teams                    {"name": "Team B", "max_concurrent_runs": 5}  -> team_id
    POST /local/teams/{team_id}/keys     {"user_id": "bob", "name": "laptop"}          -> api_key (shown once)

The answers are the CLI's (``create-team``, ``create-key``). ``LocalEndpointRouter`` checks the dev key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from local.local_endpoints import json_object_body
from workflow_service.cli import created_key_document, team_document
from workflow_service.errors import FieldProblem, NotFound, ValidationFailed
from workflow_service.http.api import problems_from
from workflow_service.http.errors import error_body

if TYPE_CHECKING:
    from workflow_service.auth.service import AuthService

TEAMS_PATH = "/local/teams"
_TEAM_KEYS_PATH = re.compile(r"/local/teams/(?P<team_id>[^/]+)/keys")
# Errors answer in the style of /workflows/v1, the surface a developer trying isolation is using.
_ERROR_SURFACE = "workflows_v1"

ModelT = TypeVar("ModelT", bound=BaseModel)


class NewTeam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    max_concurrent_runs: int | None = Field(None, ge=1)


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1)
    name: str = Field("local key", min_length=1)


class LocalTeamAdmin:
    """The handler for ``/local/teams...``; teams get ``default_max_concurrent_runs`` unless the body says."""

    def __init__(self, auth: AuthService, default_max_concurrent_runs: int) -> None:
        self._auth = auth
        self._default_max_concurrent_runs = default_max_concurrent_runs

    def __call__(self, method: str, path: str, body: bytes) -> tuple[int, Any] | None:
        keys_path = _TEAM_KEYS_PATH.fullmatch(path)
        if path != TEAMS_PATH and keys_path is None:
            return None
        if method != "POST":
            return 405, {"detail": f"Method Not Allowed; use POST {path}"}
        try:
            if keys_path is None:
                team = _parse(NewTeam, body)
                limit = team.max_concurrent_runs or self._default_max_concurrent_runs
                return 200, team_document(self._auth.create_team(team.name, limit))
            key = _parse(NewKey, body)
            created = self._auth.create_key(keys_path["team_id"], key.user_id, key.name)
            return 200, created_key_document(created)
        except ValidationFailed as invalid:
            return 422, error_body(invalid, _ERROR_SURFACE)
        except NotFound as missing:
            return 404, error_body(missing, _ERROR_SURFACE)


def _parse(model: type[ModelT], body: bytes) -> ModelT:
    document = json_object_body(body)
    if document is None:
        raise ValidationFailed(FieldProblem(loc=("body",), msg="the body must be a JSON object", type="model_type"))
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise ValidationFailed(problems_from(error, "body")) from None


__all__ = ["TEAMS_PATH", "LocalTeamAdmin"]
