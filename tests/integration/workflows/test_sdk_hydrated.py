"""The product SDK's hydrated workflow shape: create_from_config, get_fully_hydrated, dynamic_variables.

Bodies are the SDK's own serialisations (tests/fixtures/sdk, see tests/support/sdk.py). Their LLM configs
are taken out where noted: the SDK's LLM-config fields are modelled in models/llm.py, apart from these.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import call
from tests.support.sdk import fixture, fully_hydrated_problems, sdk_unwrap, without_llm_configs
from tests.support.workflows import say_then_end


def create(caller, body: dict[str, Any]) -> dict[str, Any]:
    reply = call("create_workflow", caller=caller, body=body)
    assert reply.status == 200, reply
    return reply.body["workflow"]


def hydrated_read(caller, workflow_id: str) -> dict[str, Any]:
    reply = call("get_workflow", caller=caller, path={"workflow_id": workflow_id}, query={"fully_hydrate": "true"})
    assert reply.status == 200, reply
    return reply.body


def test_sdk_hydrated_create_body_for_three_nodes_is_accepted(caller):
    # Given the body workflows.create_from_config posts for greet -> assist -> end
    body = without_llm_configs(fixture("hydrated_create_three_nodes"))
    # When it is posted
    workflow = create(caller, body)
    # Then the workflow has its name, and version 0 holds the nodes, the edges and the variables
    assert workflow["name"] == "My First Workflow" and workflow["description"] == "A greet, assist, end demo."
    config = workflow["workflow_config"]
    assert [node["logical_id"] for node in config["nodes"]] == ["greeting", "assistant", "end"]
    assert [edge["logical_id"] for edge in config["edges"]] == ["greeting_to_assistant", "assistant_to_end"]
    assert config["dynamic_variables"] == {"customer": "Ada"} and config["runtime_variables"] == {"visits": 0}


def test_the_exact_sdk_body_is_refused_for_nothing_but_its_llm_configs(caller):
    # Given the SDK's body exactly as it serialises it, LLM configs included
    body = fixture("hydrated_create_three_nodes")
    # When it is posted
    reply = call("create_workflow", caller=caller, body=body)
    # Then it is accepted, or refused only where the LLM-config model (models/llm.py) has its say
    if reply.status != 200:
        assert reply.status == 422
        locs = [problem["loc"] for problem in reply.body["detail"]]
        assert locs and all("llms_config" in loc for loc in locs), locs


def test_name_and_description_come_from_the_top_level_first(caller):
    body = without_llm_configs(fixture("hydrated_create_three_nodes"))
    body["name"], body["description"] = "Renamed", None
    workflow = create(caller, body)
    assert workflow["name"] == "Renamed"
    assert workflow["description"] == "A greet, assist, end demo."


def test_a_hydrated_body_without_any_name_is_refused_naming_name(caller):
    body = without_llm_configs(fixture("hydrated_create_three_nodes"))
    del body["name"]
    body["workflow_config"]["name"] = None
    reply = call("create_workflow", caller=caller, body=body)
    assert reply.status == 422
    assert ["body", "name"] in [problem["loc"] for problem in reply.body["detail"]]


def test_hydrated_read_answers_the_sdk_fully_hydrated_shape(caller):
    # Given a workflow created from the SDK's body
    workflow = create(caller, without_llm_configs(fixture("hydrated_create_three_nodes")))
    # When it is read with ?fully_hydrate=true
    answer = hydrated_read(caller, workflow["_id"])
    # Then the stored document carries the hydrated config, which the SDK's classes accept
    document = answer["workflow"]
    assert document["_id"] == workflow["_id"] and document["team_id"] == caller.team_id
    hydrated = sdk_unwrap(answer)
    assert fully_hydrated_problems(hydrated) == []
    assert hydrated["workflow_config"]["nodes"] == ["greeting", "assistant", "end"]
    assert hydrated["workflow_config"]["edges"] == ["greeting_to_assistant", "assistant_to_end"]
    assert [node["type"] for node in hydrated["node_configs"]] == ["say_llm", "say_llm", "say_static"]
    assert hydrated["dynamic_variables"] == {"customer": "Ada"}


def test_hydrated_read_of_an_inline_workflow_also_fits_the_sdk_shape(caller):
    # An inline-created workflow leaves max_consecutive_tool_calls unset; the SDK's field is a plain int.
    config = say_then_end("Hello")
    config["nodes"].append(
        {
            "logical_id": "chat",
            "type": "say_llm",
            "static_messages_config": {"static_messages": ["a", "b"], "static_messages_selection_mode": "sequential"},
        }
    )
    workflow = create(caller, {"name": "Inline", "workflow_config": config})
    hydrated = sdk_unwrap(hydrated_read(caller, workflow["_id"]))
    assert fully_hydrated_problems(hydrated) == []
    chat = next(node for node in hydrated["node_configs"] if node["logical_id"] == "chat")
    assert chat["max_consecutive_tool_calls"] == 1
    assert chat["static_messages_config"]["static_messages_selection_mode"] == "sequence"


def test_without_fully_hydrate_the_read_is_unchanged(caller):
    workflow = create(caller, without_llm_configs(fixture("hydrated_create_three_nodes")))
    reply = call("get_workflow", caller=caller, path={"workflow_id": workflow["_id"]})
    assert [node["logical_id"] for node in reply.body["workflow"]["workflow_config"]["nodes"]] == [
        "greeting",
        "assistant",
        "end",
    ]


def test_every_sdk_field_of_every_supported_node_type_round_trips(caller):
    # Given the SDK's serialisation of a worker_llm, http_request, tool_node and no_op with their own fields set
    body = without_llm_configs(fixture("hydrated_create_every_node_type"))
    workflow = create(caller, body)
    # When it is read back hydrated
    hydrated = sdk_unwrap(hydrated_read(caller, workflow["_id"]))
    assert fully_hydrated_problems(hydrated) == []
    # Then every value sent comes back (a null the SDK sends for "unset" may come back as the default)
    for sent, got in zip(body["node_configs"], hydrated["node_configs"], strict=True):
        assert_round_trips(sent, got, f"node {sent['logical_id']}")
    for sent, got in zip(body["edge_configs"], hydrated["edge_configs"], strict=True):
        assert_round_trips(sent, got, f"edge {sent['logical_id']}")
    sent_config = {key: value for key, value in body["workflow_config"].items() if key not in ("nodes", "edges")}
    assert_round_trips(sent_config, hydrated["workflow_config"], "workflow_config")


def assert_round_trips(sent: dict[str, Any], got: dict[str, Any], where: str) -> None:
    for key, value in sent.items():
        assert key in got, f"{where}: {key} was dropped"
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(got[key], dict):
            assert_round_trips(value, got[key], f"{where}.{key}")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for index, (item, back) in enumerate(zip(value, got[key], strict=True)):
                assert_round_trips(item, back, f"{where}.{key}[{index}]")
        else:
            assert got[key] == value, f"{where}.{key}: sent {value!r}, got {got[key]!r}"


def test_sdk_flat_http_request_and_single_tool_are_what_the_nodes_run(caller):
    workflow = create(caller, without_llm_configs(fixture("hydrated_create_every_node_type")))
    nodes = {node["logical_id"]: node for node in workflow["workflow_config"]["nodes"]}
    request = nodes["lookup"]["http_request_config"]
    assert request["url"] == "https://api.example.com/patients?page=1" and request["method"] == "POST"
    assert request["body"] == {"id": "[[patient_id]]"} and request["timeout_seconds"] == 10
    assert request["headers"] == {"X-Team": "blue"} and request["result_runtime_variable_name"] == "patient"
    (tool,) = nodes["notify"]["tools_config"]["tools"]
    assert (tool["url"], tool["method"], tool["body"]) == ("https://api.example.com/notify", "POST", {"text": "hi"})
    assert tool["headers"] == {"X-Key": "k"} and tool["result_runtime_variable_name"] == "notified"


def test_an_unknown_field_in_a_hydrated_node_is_refused_where_it_was_sent(caller):
    body = without_llm_configs(fixture("hydrated_create_three_nodes"))
    body["node_configs"][1]["wait_for_user_mesage"] = True
    reply = call("create_workflow", caller=caller, body=body)
    assert reply.status == 422
    assert [problem["loc"] for problem in reply.body["detail"]] == [["body", "node_configs", 1, "wait_for_user_mesage"]]


def test_an_unsupported_node_type_keeps_its_clear_refusal(caller):
    body = without_llm_configs(fixture("hydrated_create_three_nodes"))
    body["node_configs"][2]["type"] = "send_sms"
    reply = call("create_workflow", caller=caller, body=body)
    assert reply.status == 422
    (problem,) = [p for p in reply.body["detail"] if p["loc"][:3] == ["body", "node_configs", 2]]
    assert "not supported by this service" in problem["msg"]


def test_graph_problems_of_a_hydrated_body_name_edge_configs(caller):
    body = without_llm_configs(fixture("hydrated_create_three_nodes"))
    body["edge_configs"][0]["destination_node_logical_id"] = "nowhere"
    reply = call("create_workflow", caller=caller, body=body)
    assert reply.status == 422
    assert [problem["loc"] for problem in reply.body["detail"]] == [
        ["body", "edge_configs", 0, "destination_node_logical_id"]
    ]
    assert call("list_workflows", caller=caller).body["total"] == 0


def test_dynamic_variables_endpoint_serves_the_workflow_defaults(caller, other_caller):
    workflow = create(caller, without_llm_configs(fixture("hydrated_create_three_nodes")))
    reply = call("get_workflow_dynamic_variables", caller=caller, path={"workflow_id": workflow["_id"]})
    assert reply.status == 200
    assert reply.body == {"dynamic_variables": {"customer": "Ada"}, "global_variables_resolved": {}}
    elsewhere = call("get_workflow_dynamic_variables", caller=other_caller, path={"workflow_id": workflow["_id"]})
    assert elsewhere.status == 404


def test_creating_a_version_accepts_the_hydrated_shape(caller):
    workflow = create(caller, {"name": "Empty"})
    sdk = without_llm_configs(fixture("hydrated_create_three_nodes"))
    body = {"version_name": "From the SDK", "mark_as_active": True, **{k: sdk[k] for k in _HYDRATED_KEYS}}
    reply = call("create_workflow_version", caller=caller, path={"workflow_id": workflow["_id"]}, body=body)
    assert reply.status == 200, reply
    version = reply.body["version"]
    assert [node["logical_id"] for node in version["workflow_config"]["nodes"]] == ["greeting", "assistant", "end"]
    assert version["workflow_config"]["dynamic_variables"] == {"customer": "Ada"}
    hydrated = sdk_unwrap(hydrated_read(caller, workflow["_id"]))
    assert [node["logical_id"] for node in hydrated["node_configs"]] == ["greeting", "assistant", "end"]


_HYDRATED_KEYS = ("workflow_config", "node_configs", "edge_configs", "dynamic_variables", "runtime_variables")


def test_a_fetched_hydrated_config_uploads_again_unchanged(caller):
    # The SDK's fetch/modify/upload round trip: what get_fully_hydrated returns is a create body again.
    first = create(caller, without_llm_configs(fixture("hydrated_create_every_node_type")))
    hydrated = sdk_unwrap(hydrated_read(caller, first["_id"]))
    second = create(caller, {"name": "Copy", **hydrated})
    again = sdk_unwrap(hydrated_read(caller, second["_id"]))
    assert again["node_configs"] == hydrated["node_configs"]
    assert again["edge_configs"] == hydrated["edge_configs"]


# --- workflows.create(name=..., description=..., config={...}) ------------------------------------

HYDRATED_KEYS = ("workflow_config", "node_configs", "edge_configs", "dynamic_variables", "runtime_variables")


def sdk_config() -> dict[str, Any]:
    """The guide's config dict (WorkflowConfigFullyHydrated's fields) for greet -> assist -> end."""
    body = without_llm_configs(fixture("hydrated_create_three_nodes"))
    return {key: body[key] for key in HYDRATED_KEYS}


def stored_counts(services) -> tuple[int, int]:
    raw = services.core.database.raw
    return raw["workflows"].count_documents({}), raw["workflow_versions"].count_documents({})


def test_sdk_create_with_a_config_dict_makes_version_0_from_it(caller):
    # Given the body workflows.create(name=..., description=..., config=config) posts
    body = {"name": "My Workflow", "description": "Handles customer inquiries", "config": sdk_config()}
    # When it is posted
    workflow = create(caller, body)
    # Then the workflow has the given name and version 0 holds the config's nodes, edges and variables
    assert workflow["name"] == "My Workflow" and workflow["description"] == "Handles customer inquiries"
    stored = call("get_workflow", caller=caller, path={"workflow_id": workflow["_id"]}).body["workflow"]
    config = stored["workflow_config"]
    assert [node["logical_id"] for node in config["nodes"]] == ["greeting", "assistant", "end"]
    assert [edge["logical_id"] for edge in config["edges"]] == ["greeting_to_assistant", "assistant_to_end"]
    assert config["dynamic_variables"] == {"customer": "Ada"} and config["runtime_variables"] == {"visits": 0}


def test_sdk_create_with_a_config_dict_takes_the_description_from_it_when_not_given(caller):
    # Given a create with a name and a config, but no description
    body = {"name": "My Workflow", "config": sdk_config()}
    # When it is posted
    workflow = create(caller, body)
    # Then the description is the config's workflow_config's
    assert workflow["name"] == "My Workflow" and workflow["description"] == "A greet, assist, end demo."


def _bogus_node(config: dict[str, Any]) -> dict[str, Any]:
    config["node_configs"][0]["type"] = "send_fax"
    return config


def _edge_to_nowhere(config: dict[str, Any]) -> dict[str, Any]:
    config["edge_configs"][1]["destination_node_logical_id"] = "ghost"
    return config


def _unknown_key(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "colour": "red"}


def _ids_only(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "node_configs": "greeting"}


@pytest.mark.parametrize(
    ("spoil", "loc"),
    [
        (_bogus_node, ["body", "config", "node_configs", 0]),
        (_edge_to_nowhere, ["body", "config", "edge_configs", 1, "destination_node_logical_id"]),
        (_unknown_key, ["body", "config", "colour"]),
        (_ids_only, ["body", "config", "node_configs"]),
    ],
)
def test_a_bad_sdk_config_is_422_naming_where_in_config_and_writes_nothing(caller, services, spoil, loc):
    # Given a create whose config has a bad node, an edge to a missing node, an unknown key, or no node list
    body = {"name": "My Workflow", "config": spoil(sdk_config())}
    # When it is posted
    reply = call("create_workflow", caller=caller, body=body)
    # Then it is refused naming the place in config, and nothing is written
    assert reply.status == 422, reply
    assert loc in [problem["loc"][: len(loc)] for problem in reply.body["detail"]], reply.body["detail"]
    assert stored_counts(services) == (0, 0)


@pytest.mark.parametrize("beside", ["workflow_config", "node_configs", "dynamic_variables"])
def test_config_with_another_config_field_is_422_naming_both_and_writes_nothing(caller, services, beside):
    # Given a create that sends config and also one of the fields it replaces
    config = sdk_config()
    body = {"name": "My Workflow", "config": config, beside: config[beside]}
    # When it is posted
    reply = call("create_workflow", caller=caller, body=body)
    # Then it is refused saying the two cannot both be given, and nothing is written
    assert reply.status == 422, reply
    [problem] = reply.body["detail"]
    assert problem["loc"] == ["body"] and f"config and {beside} cannot both be given" in problem["msg"]
    assert stored_counts(services) == (0, 0)


def test_the_openapi_document_describes_config_on_create(caller):
    import jsonschema_rs

    # Given the published document's create-workflow body schema, and a minimal config in the hydrated shape
    document = call("get_openapi", caller=caller).body
    operation = document["paths"]["/workflows/v1/workflows"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
    inline = say_then_end("Hello")
    config = {"workflow_config": {}, "node_configs": inline["nodes"], "edge_configs": inline["edges"]}
    # When a create with it, one with an unknown key in config, and one with an unknown node type are checked
    accepted = validator.is_valid({"name": "My Workflow", "description": "d", "config": config})
    unknown_key = validator.is_valid({"name": "My Workflow", "config": {**config, "colour": "red"}})
    bogus_node = {**inline["nodes"][0], "type": "send_fax"}
    bad_node = validator.is_valid({"name": "My Workflow", "config": {**config, "node_configs": [bogus_node]}})
    # Then the first fits and the others do not, as the service answers them
    assert accepted and not unknown_key and not bad_node
    assert call("create_workflow", caller=caller, body={"name": "My Workflow", "config": config}).status == 200


def test_a_graph_problem_of_a_hydrated_config_update_is_named_inside_config(caller):
    # Given a workflow, and a hydrated config (the SDK's versions.update_config) with an edge to a missing node
    workflow_id = create(caller, {"name": "My Workflow", "config": sdk_config()})["_id"]
    config = _edge_to_nowhere(sdk_config())
    # When it replaces version 0's config
    reply = call(
        "update_workflow_version_config",
        caller=caller,
        path={"workflow_id": workflow_id, "version_number": 0},
        body={"config": config},
    )
    # Then the problem is named where it was sent: inside config
    assert reply.status == 422, reply
    locs = [problem["loc"] for problem in reply.body["detail"]]
    assert ["body", "config", "edge_configs", 1, "destination_node_logical_id"] in locs, locs
