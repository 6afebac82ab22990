"""The product SDK's workflow and run surfaces beyond CRUD, and the explanatory 404 of those not offered."""

from __future__ import annotations

import importlib
import json

import export_workflow
import pytest

from tests.support import sdk_llm_configs as sdk
from tests.support.api import Reply, call, proxy_event
from tests.support.workflows import say_then_end, user_message
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


# --- the surfaces the SDK's docs use -------------------------------------------------------------


def two_step(goodbye: str) -> dict:
    """Asks, waits for the user, then says ``goodbye`` and ends."""
    return {
        "nodes": [
            {
                "logical_id": "ask",
                "type": "say_static",
                "is_start": True,
                "wait_for_user_message": True,
                "static_messages_config": {"static_messages": ["Ready?"]},
            },
            {"logical_id": "bye", "type": "say_static", "static_messages_config": {"static_messages": [goodbye]}},
        ],
        "edges": [
            {
                "logical_id": "go",
                "type": "direct",
                "source_node_logical_id": "ask",
                "destination_node_logical_id": "bye",
            }
        ],
    }


def new_workflow(caller, config, name="SDK") -> str:
    reply = call("create_workflow", caller=caller, body={"name": name, "workflow_config": config})
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def turn(caller, workflow_id, run_id=None, text=None):
    body: dict = {"run_input": {} if text is None else {"command": "data", "thread_to_node_inputs": user_message(text)}}
    if run_id:
        body["run_id"] = run_id
    reply = call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body=body)
    assert reply.status == 200, reply
    return reply.body


def said(answer) -> list[str]:
    return [event["message"] for event in answer["events"] if event["type"] == "say_static"]


def update_config(caller, workflow_id, number, config):
    return call(
        "update_workflow_version_config",
        caller=caller,
        path={"workflow_id": workflow_id, "version_number": number},
        body={"config": config},
    )


def test_update_config_changes_the_version_and_a_run_started_before_keeps_its_config(caller, services):
    # Given a run of version 0 waiting for the user
    workflow_id = new_workflow(caller, two_step("Old bye"))
    first = turn(caller, workflow_id)
    # When version 0's config is replaced (the SDK's versions.update_config), and a new run starts on it
    updated = update_config(caller, workflow_id, 0, two_step("New bye"))
    assert updated.status == 200, updated
    assert updated.body["version"]["config_revision"] == 1
    assert updated.body["version"]["workflow_config"]["nodes"][1]["static_messages_config"]["static_messages"] == [
        "New bye"
    ]
    second = turn(caller, workflow_id)
    # Then the earlier run finishes on the config it started with, the new run on the new one
    assert said(turn(caller, workflow_id, first["run_id"], "yes")) == ["Old bye"]
    assert said(turn(caller, workflow_id, second["run_id"], "yes")) == ["New bye"]


def test_a_run_keeps_its_config_revision_in_a_fresh_container(caller, services):
    # Given a run started on revision 0 and the config updated twice since
    workflow_id = new_workflow(caller, two_step("Bye 0"))
    first = turn(caller, workflow_id)
    assert update_config(caller, workflow_id, 0, two_step("Bye 1")).status == 200
    assert update_config(caller, workflow_id, 0, two_step("Bye 2")).status == 200
    # When its next turn runs where no version is cached (another Lambda container)
    services.runs.versions._cache._entries.clear()
    # Then it still executes revision 0
    assert said(turn(caller, workflow_id, first["run_id"], "yes")) == ["Bye 0"]


def test_update_config_refuses_an_invalid_config_naming_the_field_and_keeps_the_old(caller):
    workflow_id = new_workflow(caller, two_step("Bye"))
    reply = update_config(
        caller, workflow_id, 0, {"nodes": [{"logical_id": "x", "type": "say_static"}], "edges": [], "bogus": 1}
    )
    assert reply.status == 422 and reply.body["detail"][0]["loc"][:2] == ["body", "config"]
    version = call("get_workflow_version", caller=caller, path={"workflow_id": workflow_id, "version_number": 0})
    assert version.body["version"]["config_revision"] == 0
    missing = update_config(caller, workflow_id, 7, two_step("Bye"))
    assert missing.status == 404


def test_update_config_keeps_a_masked_key_sent_back_as_read(caller, services):
    config = {**two_step("Bye"), "llms_config": sdk.openai(api_key=sdk.KEY)}
    workflow_id = new_workflow(caller, config)
    read = call("get_workflow", caller=caller, path={"workflow_id": workflow_id}).body["workflow"]["workflow_config"]
    reply = update_config(caller, workflow_id, 0, read)
    assert reply.status == 200 and sdk.KEY not in reply.raw
    stored = services.core.database.raw["workflow_versions"].find_one({"workflow_id": workflow_id})
    assert stored["workflow_config"]["llms_config"]["api_key"] == sdk.KEY


def test_diff_lists_node_edge_and_workflow_changes_with_a_summary(caller):
    # Given two versions: a message changed, a node and an edge added, the prompt prefix set
    workflow_id = new_workflow(caller, say_then_end("Hi"))
    changed = say_then_end("Hello")
    changed["nodes"].append({"logical_id": "extra", "type": "no_op"})
    changed["edges"].append(
        {"logical_id": "e2", "type": "direct", "source_node_logical_id": "done", "destination_node_logical_id": "extra"}
    )
    changed["default_prompt_prefix"] = "Be brief."
    changed["llms_config"] = sdk.openai(api_key=sdk.KEY)
    created = call(
        "create_workflow_version",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"version_name": "v1", "workflow_config": changed},
    )
    assert created.status == 200, created
    # When they are compared (the SDK's versions.diff)
    reply = call(
        "diff_workflow_versions", caller=caller, path={"workflow_id": workflow_id, "version1": 0, "version2": 1}
    )
    # Then the answer has the SDK's VersionDiff shape and names each change
    assert reply.status == 200, reply
    diff = reply.body
    assert (diff["version1_number"], diff["version2_number"], diff["version2_name"]) == (0, 1, "v1")
    hello = next(node for node in diff["nodes"] if node["logical_id"] == "hello")
    assert hello["status"] == "modified" and hello["node_type"] == "say_static"
    assert {"path": "static_messages_config.static_messages", "old_value": ["Hi"], "new_value": ["Hello"]} in hello[
        "changes"
    ]
    assert [n["status"] for n in diff["nodes"] if n["logical_id"] == "extra"] == ["added"]
    assert [e["status"] for e in diff["edges"]] == ["added"]
    assert any(change["path"] == "default_prompt_prefix" for change in diff["workflow_config_changes"])
    assert diff["summary"]["nodes_added"] == 1 and diff["summary"]["nodes_modified"] == 1
    assert diff["summary"]["edges_added"] == 1 and diff["summary"]["nodes_removed"] == 0
    assert sdk.KEY not in reply.raw


def test_list_active_returns_one_active_version_per_workflow_paginated(caller, other_caller, clock):
    first = new_workflow(caller, say_then_end("A"), name="first")
    clock.advance(seconds=1)
    second = new_workflow(caller, say_then_end("B"), name="second")
    call(
        "create_workflow_version",
        caller=caller,
        path={"workflow_id": second},
        body={"version_name": "v1", "mark_as_active": True},
    )
    new_workflow(other_caller, say_then_end("C"))
    reply = call("list_active_workflow_versions", caller=caller, query={"page": 1, "size": 1})
    assert reply.status == 200, reply
    assert reply.body["total"] == 2 and (reply.body["page"], reply.body["size"]) == (1, 1)
    assert [(v["workflow_id"], v["version_number"]) for v in reply.body["versions"]] == [(second, 1)]
    page_two = call("list_active_workflow_versions", caller=caller, query={"page": 2, "size": 1}).body
    assert [(v["workflow_id"], v["version_number"]) for v in page_two["versions"]] == [(first, 0)]
    assert call("list_active_workflow_versions", caller=caller, query={"favorites": True}).body["versions"] == []
    assert call("list_active_workflow_versions", caller=caller, query={"category": "Other"}).body["total"] == 0


def test_clone_copies_the_chosen_versions_and_refuses_an_uncloned_active_without_fallback(caller):
    workflow_id = new_workflow(caller, say_then_end("Zero"))
    call(
        "create_workflow_version",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"version_name": "v1", "workflow_config": say_then_end("One")},
    )
    path = {"workflow_id": workflow_id}
    # When everything is cloned, then only version 1
    everything = call("clone_workflow", caller=caller, path=path, body={})
    only_one = call(
        "clone_workflow",
        caller=caller,
        path=path,
        body={
            "name": "Copy",
            "version_numbers_to_clone": [1],
            "clone_all_versions": False,
            "fallback_active_version": 1,
        },
    )
    refused = call(
        "clone_workflow", caller=caller, path=path, body={"version_numbers_to_clone": [1], "clone_all_versions": False}
    )
    # Then each copy is a new workflow with those versions, and a missing active version is a 422 naming the field
    assert everything.status == 200, everything
    copy = everything.body["workflow"]
    assert copy["_id"] != workflow_id and copy["name"] == "SDK (copy)" and copy["version_numbers"] == [0, 1]
    assert only_one.status == 200 and only_one.body["workflow"]["version_numbers"] == [1]
    assert only_one.body["workflow"]["active_version_number"] == 1 and only_one.body["workflow"]["name"] == "Copy"
    assert only_one.body["workflow"]["workflow_config"]["nodes"][0]["static_messages_config"]["static_messages"] == [
        "One"
    ]
    assert refused.status == 422 and refused.body["detail"][0]["loc"] == ["body", "fallback_active_version"]
    assert turn(caller, copy["_id"])["status"] == "completed"


def test_export_then_import_makes_a_new_workflow_without_the_keys(caller, services):
    # Given a workflow with two versions, one carrying its own LLM key
    workflow_id = new_workflow(caller, {**say_then_end("Zero"), "llms_config": sdk.openai(api_key=sdk.KEY)})
    call(
        "create_workflow_version",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"version_name": "v1", "workflow_config": say_then_end("One")},
    )
    # When it is exported as the SDK asks (version_numbers repeated) and the bundle imported back
    event_query = {"version_numbers": "0", "active_version_number": 1}
    exported = call("export_workflow", caller=caller, path={"workflow_id": workflow_id}, query=event_query)
    assert exported.status == 422  # active 1 is not among version_numbers 0
    event = proxy_event(
        "export_workflow", caller=caller, path={"workflow_id": workflow_id}, query={"active_version_number": 1}
    )
    event["multiValueQueryStringParameters"] = {"version_numbers": ["0", "1"], "active_version_number": ["1"]}
    response = export_workflow.handler(event, None)
    assert response["statusCode"] == 200, response
    bundle = json.loads(response["body"])
    assert [v["version_number"] for v in bundle["versions"]] == [0, 1] and sdk.KEY not in response["body"]
    imported = call(
        "import_workflow_bundle",
        caller=caller,
        body={"bundle": bundle, "versions_to_import": [0, 1], "active_version_number": 1, "workflow_name": "Imported"},
    )
    # Then the new workflow has both versions, version 1 active, and no key at all (not even the mask)
    assert imported.status == 200, imported
    workflow = imported.body["workflow"]
    assert (
        workflow["name"] == "Imported"
        and workflow["version_numbers"] == [0, 1]
        and workflow["active_version_number"] == 1
    )
    stored = services.core.database.raw["workflow_versions"].find_one(
        {"workflow_id": workflow["_id"], "version_number": 0}
    )
    assert stored["workflow_config"]["llms_config"]["api_key"] is None
    bad = call("import_workflow_bundle", caller=caller, body={"bundle": bundle, "versions_to_import": [5]})
    assert bad.status == 422 and bad.body["detail"][0]["loc"] == ["body", "versions_to_import"]


def test_the_schemas_the_sdk_reads(caller):
    workflow = call("get_workflow_config_schema", caller=caller)
    assert workflow.status == 200 and "nodes" in workflow.body["properties"]
    runs = call("get_workflow_run_schema", caller=caller)
    assert runs.status == 200
    assert set(runs.body) == {"run_schema", "run_input_schema", "run_output_schema", "run_input_output_pair_schema"}
    assert find_route("GET", "/workflows/v1/workflow-runs/schema")[0].name == "get_workflow_run_schema"
    assert find_route("GET", "/workflows/v1/workflows/schema")[0].name == "get_workflow_config_schema"
    assert find_route("GET", "/workflows/v1/workflows/versions/active")[0].name == "list_active_workflow_versions"
    assert find_route("POST", "/workflows/v1/workflows/import/bundle")[0].name == "import_workflow_bundle"


def test_delete_comment_answers_the_sdk_path(caller):
    workflow_id = new_workflow(caller, two_step("Bye"))
    run_id = turn(caller, workflow_id)["run_id"]
    added = call("add_workflow_run_comment", caller=caller, path={"workflow_run_id": run_id}, body={"content": "note"})
    logical_id = added.body["workflow_run"]["workflow_run"]["comments"][0]["logical_id"]
    # The SDK sends DELETE /v1/workflow-runs/{run_id}/comments/{comment_logical_id} and ignores the body
    path = f"/workflows/v1/workflow-runs/{run_id}/comments/{logical_id}"
    assert find_route("DELETE", path)[0].name == "delete_workflow_run_comment"
    deleted = call(
        "delete_workflow_run_comment", caller=caller, path={"workflow_run_id": run_id, "comment_logical_id": logical_id}
    )
    assert deleted.status == 200 and deleted.body["workflow_run"]["workflow_run"]["comments"] == []


def test_update_config_takes_the_sdks_hydrated_shape(caller):
    # Given a workflow, and the SDK's hydrated config (node/edge objects beside id lists)
    workflow_id = new_workflow(caller, two_step("Old bye"))
    inline = two_step("Hydrated bye")
    hydrated = {
        "workflow_config": {"nodes": ["ask", "bye"], "edges": ["go"]},
        "node_configs": inline["nodes"],
        "edge_configs": inline["edges"],
    }
    # When it is sent as versions.update_config sends it
    reply = update_config(caller, workflow_id, 0, hydrated)
    # Then the version holds those nodes, and a bad node is named where the caller put it
    assert reply.status == 200, reply
    nodes = reply.body["version"]["workflow_config"]["nodes"]
    assert nodes[1]["static_messages_config"]["static_messages"] == ["Hydrated bye"]
    broken = {**hydrated, "node_configs": [{**inline["nodes"][0], "type": "bogus"}, inline["nodes"][1]]}
    refused = update_config(caller, workflow_id, 0, broken)
    assert refused.status == 422 and refused.body["detail"][0]["loc"][:4] == ["body", "config", "node_configs", 0]
