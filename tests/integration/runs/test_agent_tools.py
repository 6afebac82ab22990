"""LLM nodes with tools through the runs API in-process (issue 13): the real SSRF-guarded outbound
client, the scripted provider, the run's usage, and tool calls only inside a claimed turn."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.support.api import call
from tests.support.workflows import user_message


def agent_config(base_url: str, replies: list, **node_fields) -> dict:
    return {
        "nodes": [
            {
                "logical_id": "agent",
                "type": "say_llm",
                "is_start": True,
                "llms_config": {"provider": "scripted", "model_kwargs": {"scripted_replies": replies}},
                "tools_config": {
                    "tools": [
                        {
                            "logical_id": "weather",
                            "name": "get_weather",
                            "args_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
                            "method": "POST",
                            "url": base_url + "/weather/[[args.city]]",
                            "result_runtime_variable_name": "forecast",
                        }
                    ]
                },
                **node_fields,
            }
        ]
    }


CALL_WEATHER = {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}


def make_workflow(caller, config) -> str:
    reply = call("create_workflow", caller=caller, body={"name": "agent", "workflow_config": config})
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def execute(caller, workflow_id, run_input, run_id=None):
    body = {"run_input": run_input} if run_id is None else {"run_input": run_input, "run_id": run_id}
    return call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body=body)


def test_an_agent_turn_calls_its_tool_once_and_the_run_counts_every_model_call(caller, weather_server):
    # Given a say_llm agent whose scripted model asks for the weather, then answers from the result
    weather_server.routes["/weather/Paris"] = (200, {"sky": "sunny"})
    workflow_id = make_workflow(caller, agent_config(weather_server.url, [CALL_WEATHER, "Now: {tool_result}"]))

    # When its first turn runs
    reply = execute(caller, workflow_id, {"thread_to_node_inputs": user_message("Weather in Paris?")})

    # Then the tool got the model's arguments through the outbound client, once
    assert reply.status == 200, reply
    assert [(request["method"], request["path"]) for request in weather_server.requests] == [("POST", "/weather/Paris")]
    assert json.loads(weather_server.requests[0]["body"]) == {"city": "Paris"}
    said = [event["message"] for event in reply.body["events"] if event["type"] == "say_llm"]
    assert said == ['Now: {"status": 200, "body": {"sky": "sunny"}}']
    # and the run's usage counts both model calls of the loop
    run = call("get_workflow_run", caller=caller, path={"workflow_run_id": reply.body["run_id"]}).body
    stored = run["workflow_run"]["workflow_run"]
    assert stored["llm_token_usage"]["call_count"] == 2
    assert stored["llm_token_usage"]["breakdown_by_models"][0]["call_count"] == 2
    assert stored["llm_latency_stats"]["call_count"] == 2


def test_a_request_for_a_turn_another_executor_holds_calls_no_tool(caller, services, clock, weather_server):
    # Given an agent run waiting for the user, whose next turn another executor has claimed
    replies = ["Ask me about the weather.", CALL_WEATHER, "Done."]
    workflow_id = make_workflow(caller, agent_config(weather_server.url, replies))
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    claimed = services.runs.repository.claim_turn(
        caller.team_id, run_id, ["waiting_for_user_input"], clock.now(), clock.now() + timedelta(minutes=5)
    )
    assert claimed is not None

    # When a retried request for that turn arrives
    retry = execute(caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("Paris?")}, run_id)

    # Then it is refused and no tool was called
    assert retry.status == 409
    assert weather_server.requests == []
