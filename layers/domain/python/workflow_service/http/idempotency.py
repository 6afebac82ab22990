"""The ``Idempotency-Key`` header on create routes (see workflow_service.idempotency for the semantics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflow_service.http.api import ApiRequest, ApiResponse, serialize

if TYPE_CHECKING:
    from workflow_service.idempotency import IdempotentCreate

REPLAYED_HEADER = "Idempotent-Replayed"


def create_idempotently(
    request: ApiRequest,
    creates: IdempotentCreate,
    create: Callable[[str | None], Any],
    retry: Callable[[str], Any] | None = None,
) -> ApiResponse:
    """Answer a create route: ``create(object_id)`` makes the object with that id (None: its own), or,
    for a retried Idempotency-Key, the first answer again (marked ``Idempotent-Replayed: true``);
    ``retry(object_id)``, when given, continues a retried create whose first answer was never stored.

    Call it after the body is validated, so an invalid request never takes a key.
    """
    key = request.idempotency_key()
    answer = creates.create(
        team_id=request.caller.team_id,
        route=request.route.name,
        key=key,
        request={"path": request.path_parameters, "body": request.json_body() if key is not None else None},
        status=request.route.status,
        create=lambda object_id: serialize(create(object_id)),
        retry=None if retry is None else lambda object_id: serialize(retry(object_id)),
    )
    return ApiResponse(answer.status, answer.body, {REPLAYED_HEADER: "true"} if answer.replayed else {})
