"""The product SDK's workflow and run surfaces beyond CRUD, and the explanatory 404 of those not offered."""

from __future__ import annotations

import importlib
import json

import pytest

from tests.support.api import Reply, proxy_event
from workflow_service.http.routes import find_route

# (method, path) the SDK's resources send for surfaces the service does not offer, with the surface named.
NOT_OFFERED = [
    ("GET", "/workflows/v1/templates", "templates"),
    ("POST", "/workflows/v1/templates/t1/instantiate", "templates"),
    ("GET", "/workflows/v1/nodes/types", "node CRUD"),
    ("DELETE", "/workflows/v1/edges/e1", "edge CRUD"),
    ("POST", "/workflows/v1/tools/execute", "tool CRUD"),
    ("GET", "/workflows/v1/super-nodes", "super nodes"),
    ("GET", "/workflows/v1/workflows/0123456789abcdef01234567/super-node-interface", "super nodes"),
    ("POST", "/workflows/v1/simulations/s1/run", "simulations"),
    ("GET", "/workflows/v1/simulation-runs/r1", "simulations"),
    ("GET", "/workflows/v1/node-libraries", "node libraries"),
    ("POST", "/workflows/v1/llm-configs/c1/test", "named LLM configs"),
    ("GET", "/workflows/v1/schemas/llm-config", "named LLM configs"),
    ("PUT", "/workflows/v1/global-variables/bulk", "global variables"),
    ("GET", "/workflows/v1/workflow-categories", "workflow categories"),
    ("POST", "/workflows/v1/workflow-runs/0123456789abcdef01234567/turns/0/ratings", "ratings"),
    ("POST", "/workflows/v1/workflow-runs/0123456789abcdef01234567/turns/0/rerun", "reruns"),
    ("GET", "/workflows/v1/workflow-runs/0123456789abcdef01234567/rerunnable-turns", "reruns"),
    ("POST", "/workflows/v1/workflows/0123456789abcdef01234567/runs/0123456789abcdef01234567/checkpoint-run", "reruns"),
    ("GET", "/workflows/v1/workflow-runs/ws", "WebSocket run streaming"),
]


def routed_call(method: str, path: str, caller) -> Reply:
    """What the local router (API Gateway's rules) does with ``method path``, through the real handler."""
    found = find_route(method, path)
    assert found is not None, f"{method} {path} reaches no route"
    route, parameters = found
    event = proxy_event(route.name, caller=caller)
    event.update(httpMethod=method, path=path, pathParameters=parameters or None)
    response = importlib.import_module(route.name).handler(event, None)
    return Reply(response["statusCode"], json.loads(response["body"]), response["headers"], response["body"])


@pytest.mark.parametrize(("method", "path", "surface"), NOT_OFFERED, ids=[f"{m} {p}" for m, p, _ in NOT_OFFERED])
def test_an_sdk_surface_the_service_does_not_offer_answers_an_explanatory_404(caller, method, path, surface):
    # Given a surface of the SDK the service does not offer
    # When the SDK calls it
    reply = routed_call(method, path, caller)
    # Then it is a 404 whose detail names the surface and says it is not offered, listing what is
    assert reply.status == 404, reply
    assert "does not offer" in reply.body["detail"] and surface in reply.body["detail"]
    assert "GET /workflows/v1/workflows" in reply.body["offered"]
    assert "POST /workflows/v1/workflows/{workflow_id}/execute" in reply.body["offered"]


def test_an_unknown_path_under_the_api_is_a_404_saying_so_not_a_bare_not_found(caller):
    reply = routed_call("GET", "/workflows/v1/no-such-thing", caller)
    assert reply.status == 404 and "no such endpoint" in reply.body["detail"] and reply.body["offered"]
