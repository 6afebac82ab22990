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


class ReapWhileServing(dict):
    """Routes that, on the first request served, run ``while_serving`` before answering (from the
    server's thread, while the turn waits for the answer: mongomock sees one writer at a time)."""

    def __init__(self, routes: dict, while_serving) -> None:
        super().__init__(routes)
        self._while_serving = while_serving

    def get(self, key, default=None):
        action, self._while_serving = self._while_serving, None
        if action is not None:
            action()
        return super().get(key, default)


def test_a_run_reaped_while_its_tool_call_is_in_flight_makes_no_further_model_or_tool_call(
    caller, services, clock, weather_server
):
    # Given an agent whose model would call the weather tool three times in a row
    workflow_id = make_workflow(
        caller,
        agent_config(
            weather_server.url, [CALL_WEATHER, CALL_WEATHER, CALL_WEATHER, "Done."], max_consecutive_tool_calls=3
        ),
    )
    reaped: list[dict] = []

    def reaper_runs_after_the_heartbeat_timeout() -> None:
        clock.advance(seconds=services.settings.reaper.heartbeat_timeout_seconds + 60)
        reaped.append(services.reaper.service.reap())

    weather_server.routes = ReapWhileServing(
        {"/weather/Paris": (200, {"sky": "sunny"})}, reaper_runs_after_the_heartbeat_timeout
    )

    # When the reaper fails the run while the first tool call is being answered
    reply = execute(caller, workflow_id, {"thread_to_node_inputs": user_message("Weather in Paris?")})

    # Then the loop stops there: one tool call, and the turn's result is discarded
    assert reaped and reaped[0]["heartbeat_expired"] == 1, reaped
    assert len(weather_server.requests) == 1
    assert reply.status == 409, reply
    # and the run stays as the reaper left it
    (stored,) = services.core.database["workflow_runs"].find({"workflow_run.workflow_id": workflow_id})
    assert stored["workflow_run"]["status"] == "failed"
    assert stored["workflow_run"]["termination_source"] == "stale_run_reaper"


def test_a_provider_error_on_the_model_call_after_a_tool_fails_the_run_with_that_error(caller, weather_server):
    # Given an agent whose model calls the weather tool, then fails on the follow-up call
    weather_server.routes["/weather/Paris"] = (200, {"sky": "sunny"})
    malformed = {"tool_calls": []}  # the scripted provider's LlmError, as a provider's error answer would be
    workflow_id = make_workflow(caller, agent_config(weather_server.url, [CALL_WEATHER, malformed]))

    # When its first turn runs
    reply = execute(caller, workflow_id, {"thread_to_node_inputs": user_message("Weather in Paris?")})

    # Then the tool ran once, and the run failed with the provider's error, not a 5xx
    assert reply.status == 200, reply
    assert len(weather_server.requests) == 1
    run = call("get_workflow_run", caller=caller, path={"workflow_run_id": reply.body["run_id"]}).body
    stored = run["workflow_run"]["workflow_run"]
    assert stored["status"] == "failed"
    assert "scripted tool-call reply must be" in json.dumps(stored)
