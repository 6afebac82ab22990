"""The product SDK's LLM configs: accepted or refused per provider, acted on, and the key never echoed."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support import sdk_llm_configs as sdk
from tests.support.api import call
from tests.support.fake_http_server import RecordingServer
from workflow_service.settings import Settings

COMPLETION = {
    "id": "cmpl-1",
    "model": "gpt-5.4-mini",
    "choices": [{"message": {"role": "assistant", "content": "Hi from your endpoint"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 5},
}


def talking(llm: dict, node_llm: dict | None = None) -> dict:
    node = {"logical_id": "talk", "type": "say_llm", "is_start": True, "main_response_config": {"prompt": "Greet"}}
    if node_llm is not None:
        node["llms_config"] = node_llm
    return {"llms_config": llm, "nodes": [node]}


def create(caller, config):
    return call("create_workflow", caller=caller, body={"name": "SDK", "workflow_config": config})


def execute(caller, workflow_id):
    return call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"run_input": {}})


@pytest.fixture
def llm_server():
    server = RecordingServer({"/v1/chat/completions": (200, COMPLETION)})
    yield server
    server.close()


@pytest.mark.parametrize("provider", sorted(sdk.ACCEPTED))
def test_an_sdk_llm_config_of_each_callable_provider_is_accepted_and_round_trips(caller, provider):
    # Given the SDK's LLM config of a provider the service can call, on the workflow and on a node
    config = sdk.ACCEPTED[provider]
    # When a workflow is created with it
    reply = create(caller, talking(config, node_llm=config))
    # Then it is accepted and every field comes back as sent, credentials masked
    assert reply.status == 200, reply
    stored = reply.body["workflow"]["workflow_config"]["llms_config"]
    for name, value in config.items():
        if name in ("api_key", "aws_secret_access_key") and value:
            assert stored[name] == "**********"
        elif name == "default_headers" and value:
            assert stored[name] == {"X-Api-Key": "**********"}
        else:
            assert stored[name] == value, name
    assert reply.body["workflow"]["workflow_config"]["nodes"][0]["llms_config"]["type"] == config["type"]


@pytest.mark.parametrize("provider", sorted(sdk.GATEWAY_ONLY))
def test_a_provider_without_a_configured_gateway_is_refused_at_write_time_naming_it(caller, services, provider):
    # Given no LLM gateway is configured for azure_openai, google or anthropic
    # When a workflow names one on a node
    reply = create(caller, talking(sdk.default_provider(), node_llm=sdk.GATEWAY_ONLY[provider]))
    # Then it is a 422 at the node's provider saying why, and nothing is written
    assert reply.status == 422, reply
    [problem] = reply.body["detail"]
    assert problem["loc"] == ["body", "workflow_config", "nodes", 0, "llms_config", "provider"]
    assert "gateway" in problem["msg"] and f"LLM_GATEWAY_{provider.upper()}_BASE_URL" in problem["msg"]
    assert services.core.database.raw["workflows"].count_documents({}) == 0
    assert sdk.KEY not in reply.raw


def test_a_bedrock_bearer_token_is_refused_with_the_alternative(caller):
    reply = create(caller, talking(sdk.bedrock(api_key=sdk.KEY)))
    assert reply.status == 422
    assert reply.body["detail"][0]["loc"][-1] == "api_key" and "aws_access_key_id" in reply.body["detail"][0]["msg"]
    assert sdk.KEY not in reply.raw


def test_the_key_is_never_echoed_by_any_workflow_or_version_answer_but_stays_usable(caller, services):
    # Given a workflow whose LLM configs carry their own credentials
    config = talking(sdk.ACCEPTED["custom"], node_llm=sdk.ACCEPTED["bedrock"])
    created = create(caller, config)
    workflow_id = created.body["workflow"]["_id"]
    ids = {"workflow_id": workflow_id}
    # When every answer that can carry the config is read
    answers = [
        created,
        call("get_workflow", caller=caller, path=ids),
        call("update_workflow", caller=caller, path=ids, body={"description": "d"}),
        call("list_workflows", caller=caller),
        call("create_workflow_version", caller=caller, path=ids, body={"version_name": "v1"}),
        call(
            "create_workflow_version", caller=caller, path=ids, body={"version_name": "v2", "workflow_config": config}
        ),
        call("list_workflow_versions", caller=caller, path=ids),
        call("get_workflow_version", caller=caller, path={**ids, "version_number": 1}),
        call("rename_workflow_version", caller=caller, path={**ids, "version_number": 1}, body={"version_name": "r"}),
        call("activate_workflow_version", caller=caller, path={**ids, "version_number": 1}),
    ]
    # Then none holds a credential, while the store keeps them for the runs
    for reply in answers:
        assert reply.status == 200, reply
        assert sdk.KEY not in reply.raw and sdk.AWS_SECRET not in reply.raw
    stored = json.dumps(list(services.core.database.raw["workflow_versions"].find({}, {"_id": 0})), default=str)
    assert sdk.KEY in stored and sdk.AWS_SECRET in stored


def test_a_config_sent_back_as_read_keeps_its_masked_key(caller, services, llm_server):
    # Given a workflow whose LLM config has its own key, read back (masked) by a client
    created = create(caller, talking(sdk.openai(api_key=sdk.KEY, base_url=f"{llm_server.url}/v1")))
    workflow_id = created.body["workflow"]["_id"]
    read = call("get_workflow", caller=caller, path={"workflow_id": workflow_id}).body["workflow"]["workflow_config"]
    # When the client creates a version from what it read and runs it
    version = call(
        "create_workflow_version",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"version_name": "edited", "mark_as_active": True, "workflow_config": read},
    )
    assert version.status == 200, version
    assert execute(caller, workflow_id).body["status"] == "waiting_for_user_input"
    # Then the call carried the original key, not the mask
    assert llm_server.requests[-1]["headers"]["Authorization"] == f"Bearer {sdk.KEY}"


def test_an_openai_config_calls_its_own_base_url_with_its_fields_and_counts_as_a_user_key_call(caller, llm_server):
    # Given the SDK's openai config pointing at its own endpoint with its key and options
    llm = sdk.openai(
        api_key=sdk.KEY,
        base_url=f"{llm_server.url}/v1",
        max_tokens=64,
        temperature=0.3,
        reasoning_effort="medium",
        request_timeout_ms=5000,
        seed=7,
    )
    workflow_id = create(caller, talking(llm)).body["workflow"]["_id"]
    # When the workflow runs
    reply = execute(caller, workflow_id)
    # Then the endpoint got the config's key and options, the model's answer is spoken
    assert reply.status == 200 and reply.body["status"] == "waiting_for_user_input", reply
    assert [e["message"] for e in reply.body["events"] if e["type"] == "say_llm"] == ["Hi from your endpoint"]
    [request] = llm_server.requests
    assert request["headers"]["Authorization"] == f"Bearer {sdk.KEY}"
    sent = json.loads(request["body"])
    assert (sent["model"], sent["max_tokens"], sent["temperature"]) == ("gpt-5.4-mini", 64, 0.3)
    assert (sent["reasoning_effort"], sent["seed"]) == ("medium", 7)
    # And the call counts as made with the user's key
    run = call("get_workflow_run", caller=caller, path={"workflow_run_id": reply.body["run_id"]}).body
    usage = run["workflow_run"]["workflow_run"]["llm_token_usage"]
    assert usage["call_count_with_user_keys"] == 1 and usage["call_count_with_fallback_keys"] == 0
    assert sdk.KEY not in json.dumps(run) and sdk.KEY not in reply.raw


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [("http://169.254.169.254/latest", "metadata"), ("http://127.0.0.1:9/v1", "unreachable")],
    ids=["metadata-address", "nothing-listening"],
)
def test_without_a_reachable_endpoint_the_run_fails_with_the_provider_error_never_a_500(
    caller, caplog, base_url, reason
):
    # Given an openai config whose base_url is refused by the SSRF guard, or has nothing listening
    workflow_id = create(caller, talking(sdk.custom(api_key=sdk.KEY, base_url=base_url, model="m"))).body["workflow"][
        "_id"
    ]
    # When it runs
    with caplog.at_level(logging.DEBUG):
        reply = execute(caller, workflow_id)
    # Then the run fails with the provider's error, and the key shows nowhere
    assert reply.status == 200 and reply.body["status"] == "failed", reply
    run = call("get_workflow_run", caller=caller, path={"workflow_run_id": reply.body["run_id"]}).body
    assert reason in json.dumps(run)
    assert sdk.KEY not in reply.raw and sdk.KEY not in json.dumps(run) and sdk.KEY not in caplog.text


def test_a_gateway_provider_is_accepted_and_called_through_the_configured_gateway(services, caller, llm_server):
    # Given a deployment with an OpenAI-compatible gateway for google
    gated = Settings.from_environ(
        {"WORKFLOWS_LOCAL_RUNTIME": "true", "LLM_GATEWAY_GOOGLE_BASE_URL": f"{llm_server.url}/v1"}
    )
    services.workflows.service.gateway_providers = gated.llm.gateway_providers
    services.runs.llm._settings = gated.llm
    # When a workflow with the SDK's google config is created and run
    created = create(caller, talking(sdk.google(api_key=sdk.KEY)))
    assert created.status == 200, created
    reply = execute(caller, created.body["workflow"]["_id"])
    # Then the gateway got the call with the config's key and model
    assert reply.body["status"] == "waiting_for_user_input", reply
    [request] = llm_server.requests
    assert request["headers"]["Authorization"] == f"Bearer {sdk.KEY}"
    assert json.loads(request["body"])["model"] == "gemini-3-flash-preview"


def test_a_custom_gateway_with_an_exact_url_and_a_wrapped_answer_is_called_as_configured(caller):
    # Given a custom gateway that takes requests at its exact URL and wraps the OpenAI answer
    server = RecordingServer({"/gateway/invoke": (200, {"result": COMPLETION})})
    try:
        llm = sdk.custom(
            base_url=f"{server.url}/gateway/invoke",
            rewrite_base_url=True,
            response_unwrap_key="result",
            model="house-model",
            default_headers={"X-Team": "blue", "X-Api-Key": sdk.KEY},
        )
        workflow_id = create(caller, talking(llm)).body["workflow"]["_id"]
        # When the workflow runs
        reply = execute(caller, workflow_id)
    finally:
        server.close()
    # Then the call went to that URL with the config's headers, and the unwrapped answer is spoken
    assert [e["message"] for e in reply.body["events"] if e["type"] == "say_llm"] == ["Hi from your endpoint"]
    [request] = server.requests
    assert request["path"] == "/gateway/invoke"
    assert request["headers"]["X-Team"] == "blue" and request["headers"]["X-Api-Key"] == sdk.KEY
    assert "Authorization" not in request["headers"]  # no key of its own, and never the deployment's
