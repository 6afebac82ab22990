"""API Gateway TOKEN authorizer: ``Authorization: Bearer <api key>`` -> the key's team and user.

The policy allows every method of the API so API Gateway can cache it per token (results are
cached for the TTL set in infra); the context carries ``team_id`` and ``user_id``, the only source
handlers take the team from.
"""

import logging

from workflow_service.errors import Unauthorized
from workflow_service.observability import append_keys, observed
from workflow_service.wiring import services

logger = logging.getLogger("workflow_service.handlers.authorizer")


def authorize(event: dict, context: object) -> dict:
    # Never log the event: its authorizationToken is the caller's API key.
    try:
        identity = services().auth.service.authenticate(event.get("authorizationToken"))
    except Unauthorized as rejected:
        logger.info("rejected API key: %s", rejected.message)
        # This exact message makes API Gateway answer 401.
        raise Exception("Unauthorized") from None
    append_keys(team_id=identity.team_id, user_id=identity.user_id)
    api_arn = event["methodArn"].split("/", 2)
    resource = f"{api_arn[0]}/{api_arn[1]}/*/*"
    return {
        "principalId": identity.user_id or identity.key_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
        },
        "context": {"team_id": identity.team_id, "user_id": identity.user_id, "key_id": identity.key_id},
    }


# Reads MongoDB only: not traced (no Tracer import on the authorizer's cold start).
handler = observed(authorize)
