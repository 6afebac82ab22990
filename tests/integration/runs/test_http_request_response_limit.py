"""An http_request node's answer is its body: one over HTTP_NODE_MAX_RESPONSE_BYTES still fails the run,
through the real client, whatever webhook deliveries do with a large body."""

from __future__ import annotations

import pytest

from tests.integration.runs.test_runs_api import event_types, execute, make_workflow
from tests.support.fake_http_server import RecordingServer
from workflow_service.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings.from_environ(
        {
            "WORKFLOWS_LOCAL_RUNTIME": "true",
            "HTTP_NODE_ALLOW_LOOPBACK": "true",
            "HTTP_NODE_REQUIRE_HTTPS": "false",
            "HTTP_NODE_MAX_RESPONSE_BYTES": "1000",
        }
    )


@pytest.fixture
def server():
    server = RecordingServer({"/small": (200, {"ok": True}), "/large": (200, {"items": ["x" * 100] * 20})})
    yield server
    server.close()


def fetch_then_end(url: str) -> dict:
    return {
        "nodes": [
            {
                "logical_id": "fetch",
                "type": "http_request",
                "is_start": True,
                "http_request_config": {"method": "GET", "url": url, "result_runtime_variable_name": "answer"},
            },
            {"logical_id": "end", "type": "no_op"},
        ],
        "edges": [
            {
                "logical_id": "e1",
                "type": "direct",
                "source_node_logical_id": "fetch",
                "destination_node_logical_id": "end",
            }
        ],
    }


def test_an_http_request_node_fails_the_run_on_a_2xx_body_over_the_response_limit(caller, server):
    # Given a workflow whose http_request node calls a server answering 200 with a body over 1000 bytes
    workflow_id = make_workflow(caller, fetch_then_end(server.url + "/large"))
    # When it runs
    reply = execute(caller, workflow_id, {})
    # Then the server was called once and the run failed on the body's size, not truncated to it
    assert reply.status == 200, reply
    assert len(server.requests) == 1
    assert reply.body["status"] == "failed", reply.body
    assert "exceeds the limit of 1000 bytes (HTTP_NODE_MAX_RESPONSE_BYTES)" in reply.body["error"]
    (event,) = [e for e in reply.body["events"] if e["type"] == "http_request"]
    assert "exceeds the limit" in event["error"] and event["status"] is None


def test_an_http_request_node_within_the_response_limit_completes_the_run(caller, server):
    workflow_id = make_workflow(caller, fetch_then_end(server.url + "/small"))
    reply = execute(caller, workflow_id, {})
    assert reply.body["status"] == "completed", reply.body
    assert "http_request" in event_types(reply)
