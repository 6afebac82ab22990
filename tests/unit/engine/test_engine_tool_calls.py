"""The tool-calling loop of say_llm / worker_llm nodes (issue 13, items 2, 3, 5, 6, 7), on the fake ports."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.fakes.http import json_response
from tests.fakes.llm import tool_calls_reply
from tests.support.workflow_builders import node
from tests.unit.engine.engine_support import of_type
from workflow_service.adapters.llm.scripted import ScriptedLlm
from workflow_service.engine import WorkflowEngine
from workflow_service.engine.nodes.tool_requests import MAX_TOOL_RESULT_CHARS
from workflow_service.engine.usage import merge_llm_usage
from workflow_service.models.runs import RunStatus, WorkflowRunInput
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.ports import OutboundRequestRefused

WEATHER_URL = "https://weather.example.com/v1/"
WEATHER = {
    "logical_id": "weather",
    "name": "get_weather",
    "description": "The weather in a city",
    "method": "POST",
    "url": WEATHER_URL + "[[args.city]]",
    "headers": {"X-Unit": "[[args.unit]]"},
    "body": '{"city": [[args.city]], "days": [[args.days]]}',
    "args_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city"],
    },
    "result_runtime_variable_name": "forecast",
}


def agent(node_type: str = "say_llm", *tools: dict, **fields) -> dict:
    return {
        "nodes": [node("agent", node_type, is_start=True, tools_config={"tools": list(tools or [WEATHER])}, **fields)]
    }


def weather_answer(request):
    return json_response(200, json.dumps({"sky": "sunny", "city": json.loads(request.body)["city"]}).encode())


def test_given_a_say_llm_with_a_tool_when_the_model_calls_it_then_the_answer_goes_back_and_the_text_is_said(
    run, llm, http
):
    # Given a model that asks for the weather in Paris, then answers from the tool's result
    http.route("POST", WEATHER_URL + "Paris", weather_answer)
    llm.reply(tool_calls_reply(("get_weather", {"city": "Paris", "days": 2, "unit": "c"})), "Sunny in Paris.")

    # When the turn runs
    tool = {**WEATHER, "headers": {"Authorization": "Bearer {{token}}", "X-Unit": "[[args.unit]]"}}
    result = run(agent("say_llm", tool), dynamic_variables={"token": "s3cret"}, message="weather?")

    # Then the tool was offered with its schema, and called with the model's arguments
    first, second = llm.requests
    (offered,) = first.tools
    assert (offered.name, offered.description) == ("get_weather", "The weather in a city")
    assert offered.parameters == WEATHER["args_schema"]
    assert first.tool_choice == "auto"
    sent = http.requests[0]
    assert json.loads(sent.body) == {"city": "Paris", "days": 2}
    assert sent.headers == {"Authorization": "Bearer s3cret", "X-Unit": "c", "Content-Type": "application/json"}
    # and the result went back as a tool message paired with the call
    assistant, tool = second.messages[-2:]
    assert assistant.role == "assistant" and assistant.tool_calls[0].id == "call_0"
    assert tool.role == "tool" and tool.tool_call_id == "call_0" and not tool.tool_error
    assert json.loads(tool.content) == {"status": 200, "body": {"sky": "sunny", "city": "Paris"}}
    # and the events hold each model call, the tool execution (credentials masked) and the final answer
    llm_events = of_type(result, "llm")
    assert [event["tool_calls"] for event in llm_events] == [
        [{"id": "call_0", "name": "get_weather", "arguments": {"city": "Paris", "days": 2, "unit": "c"}}],
        [],
    ]
    (call,) = of_type(result, "http_request")
    assert call["tool_call_id"] == "call_0"
    assert call["arguments"] == {"city": "Paris", "days": 2, "unit": "c"}
    assert call["request"]["headers"]["Authorization"] == "***"
    assert json.loads(call["result"])["body"]["sky"] == "sunny"
    assert of_type(result, "say_llm")[0]["message"] == "Sunny in Paris."
    assert result.state["threads"]["0"]["runtime_variables"]["forecast"]["body"]["sky"] == "sunny"
    assert result.state["history"][-1] == {"role": "assistant", "content": "Sunny in Paris."}
    assert result.status is RunStatus.WAITING_FOR_USER_INPUT


def test_given_model_arguments_with_url_syntax_then_they_are_percent_encoded_in_the_url(run, llm, http):
    llm.reply(tool_calls_reply(("get_weather", {"city": "../admin?x=1#"})), "ok")

    run(agent())

    assert http.requests[0].url == WEATHER_URL + urllib.parse.quote("../admin?x=1#", safe="")


def test_given_a_model_argument_with_a_line_break_for_a_header_then_the_call_is_refused_and_the_model_told(
    run, llm, http
):
    llm.reply(tool_calls_reply(("get_weather", {"city": "Paris", "unit": "c"})), "ok")
    tool = {**WEATHER, "args_schema": {}, "headers": {"X-City": "[[args.city]]"}}
    llm.replies[0] = tool_calls_reply(("get_weather", {"city": "Paris\r\nX-Admin: 1"}))

    result = run(agent("say_llm", tool))

    assert http.requests == []
    tool_message = llm.requests[1].messages[-1]
    assert tool_message.tool_error and "line break" in tool_message.content
    assert "line break" in of_type(result, "http_request")[0]["error"]


def test_given_a_json_body_template_then_a_string_argument_cannot_add_fields(run, llm, http):
    llm.reply(tool_calls_reply(("get_weather", {"city": 'P", "admin": true, "x": "'})), "ok")
    http.route("POST", WEATHER_URL + urllib.parse.quote('P", "admin": true, "x": "', safe=""), weather_answer)

    run(agent())

    assert json.loads(http.requests[0].body) == {"city": 'P", "admin": true, "x": "', "days": None}


def test_given_a_json_body_template_quoting_an_argument_then_it_is_escaped_in_the_string_and_adds_no_field(
    run, llm, http
):
    # Given a tool whose JSON body quotes the model's argument inside a longer string
    tool = {**WEATHER, "url": WEATHER_URL, "body": '{"q": "weather near [[args.city]]", "days": [[args.days]]}'}
    llm.reply(tool_calls_reply(("get_weather", {"city": 'P", "admin": true, "x": "\\\n', "days": 2})), "ok")
    # When the model calls it
    run(agent("say_llm", tool))
    # Then the argument stays inside the string, and the unquoted one is its JSON value
    assert json.loads(http.requests[0].body) == {"q": 'weather near P", "admin": true, "x": "\\\n', "days": 2}


def test_given_a_text_body_template_then_an_argument_is_still_json_encoded(run, llm, http):
    # Given a tool whose body is plain text
    tool = {**WEATHER, "url": WEATHER_URL, "headers": {"Content-Type": "text/plain"}, "body": "city: [[args.city]]"}
    llm.reply(tool_calls_reply(("get_weather", {"city": 'Paris "north"'})), "ok")
    # When the model calls it
    run(agent("say_llm", tool))
    # Then the argument is written as JSON, as it always was in a string body
    assert http.requests[0].body == b'city: "Paris \\"north\\""'


def test_given_an_argument_that_looks_like_a_placeholder_then_it_is_sent_as_text_never_filled(run, llm, http):
    llm.reply(tool_calls_reply(("get_weather", {"city": "{{token}}"})), "ok")

    tool = {**WEATHER, "headers": {"Authorization": "Bearer {{token}}"}}
    run(agent("say_llm", tool), dynamic_variables={"token": "s3cret"})

    assert b"s3cret" not in http.requests[0].body
    assert "s3cret" not in http.requests[0].url


@pytest.mark.parametrize(
    ("method", "where"), [("GET", "query"), ("DELETE", "query"), ("PUT", "body"), ("PATCH", "body")]
)
def test_given_a_tool_without_a_body_template_then_the_arguments_are_the_query_or_the_json_body(
    run, llm, http, method, where
):
    tool = {"logical_id": "find", "name": "find", "method": method, "url": "https://api.example.com/find"}
    llm.reply(tool_calls_reply(("find", {"q": "a b", "n": 2})), "ok")

    run(agent("say_llm", tool))

    sent = http.requests[0]
    if where == "query":
        assert sent.url == "https://api.example.com/find?q=a+b&n=2" and sent.body is None
    else:
        assert json.loads(sent.body) == {"q": "a b", "n": 2}
        assert sent.headers["Content-Type"] == "application/json"


def test_given_invalid_arguments_or_an_unknown_tool_then_each_call_gets_an_error_result_and_nothing_is_sent(
    run, llm, http
):
    # Given one answer with two calls: one without its required argument, one to a tool that does not exist
    llm.reply(tool_calls_reply(("get_weather", {"days": "two"}), ("launch", {})), "Sorry.")

    result = run(agent())

    assert http.requests == []
    results = llm.requests[1].messages[-2:]
    assert [message.tool_call_id for message in results] == ["call_0", "call_1"]
    assert all(message.tool_error for message in results)
    assert "arguments.city is required" in results[0].content
    assert "no tool named 'launch'" in results[1].content
    assert of_type(result, "say_llm")[0]["message"] == "Sorry."


def test_given_a_refused_or_failing_tool_then_the_model_reads_the_error_and_the_run_goes_on(run, llm, http):
    http.route("POST", WEATHER_URL + "Paris", OutboundRequestRefused("private address"))
    llm.reply(tool_calls_reply(("get_weather", {"city": "Paris"})), "The service is unavailable.")

    result = run(agent())

    assert "private address" in llm.requests[1].messages[-1].content
    assert "refused" in of_type(result, "http_request")[0]["error"]
    assert of_type(result, "say_llm")[0]["message"] == "The service is unavailable."


def test_given_a_tool_answer_over_the_limit_then_the_model_reads_it_cut(run, llm, http):
    http.route("POST", WEATHER_URL + "Paris", json_response(200, json.dumps({"x": "y" * 50_000}).encode()))
    llm.reply(tool_calls_reply(("get_weather", {"city": "Paris"})), "ok")

    result = run(agent())

    content = llm.requests[1].messages[-1].content
    assert len(content) < MAX_TOOL_RESULT_CHARS + 100 and "[cut:" in content
    assert len(result.state["threads"]["0"]["runtime_variables"]["forecast"]["body"]["x"]) == 50_000


def test_given_a_model_that_always_calls_tools_and_a_cap_of_2_then_2_rounds_run_and_the_node_fails(run, llm, http):
    # Given a model that asks for the weather on every call
    http.route("POST", WEATHER_URL + "Paris", weather_answer)
    llm.reply(*(tool_calls_reply(("get_weather", {"city": "Paris"})) for _ in range(5)))

    # When the node runs with max_consecutive_tool_calls 2
    result = run(agent(max_consecutive_tool_calls=2))

    # Then exactly 2 tool rounds ran, the model was called 3 times, the last time told to answer without tools
    assert len(http.requests) == 2
    assert len(llm.requests) == 3
    assert [request.tool_choice for request in llm.requests] == ["auto", "auto", "none"]
    assert all(request.tools for request in llm.requests)
    assert "cannot call any more tools" in llm.requests[2].system_prompt
    # and the node fails with the reason, every model call counted in the run's usage
    assert result.status is RunStatus.FAILED
    assert "max_consecutive_tool_calls" in result.error
    usage, _ = merge_llm_usage(None, None, result.llm_calls)
    assert usage["call_count"] == 3


def test_given_no_cap_then_the_default_is_one_round_and_a_default_error_message_is_said_instead_of_failing(
    run, llm, http
):
    llm.reply(*(tool_calls_reply(("get_weather", {"city": "Paris"})) for _ in range(3)))

    result = run(agent(default_error_message="I could not finish that."))

    assert len(llm.requests) == 2
    assert len(http.requests) == 1
    assert of_type(result, "say_llm")[0]["message"] == "I could not finish that."
    assert result.status is not RunStatus.FAILED


def test_given_a_worker_llm_with_a_schema_then_it_may_call_tools_before_its_structured_answer(run, llm, http):
    http.route("POST", WEATHER_URL + "Paris", weather_answer)
    llm.reply(tool_calls_reply(("get_weather", {"city": "Paris"})), '{"sky": "sunny"}')
    config = agent("worker_llm", structured_output_schema={"type": "object", "properties": {"sky": {}}})

    result = run(config)

    assert llm.requests[0].structured_output_schema == {"type": "object", "properties": {"sky": {}}}
    assert len(http.requests) == 1
    assert result.state["threads"]["0"]["runtime_variables"]["sky"] == "sunny"
    assert of_type(result, "worker_llm")[0]["structured_output"] == {"sky": "sunny"}


def test_given_a_reference_to_a_workflow_level_tool_then_the_node_offers_and_runs_it(run, llm, http):
    config = agent("say_llm", {"logical_id": "weather"})
    config["tools_config"] = {"tools": [WEATHER]}
    http.route("POST", WEATHER_URL + "Rome", weather_answer)
    llm.reply(tool_calls_reply(("get_weather", {"city": "Rome"})), "ok")

    run(config)

    assert llm.requests[0].tools[0].name == "get_weather"
    assert http.requests[0].url == WEATHER_URL + "Rome"


def test_given_a_tool_with_static_messages_then_they_are_said_while_it_runs(run, llm, http):
    tool = {**WEATHER, "static_messages_config": {"static_messages": ["Checking the weather..."]}}
    llm.reply(tool_calls_reply(("get_weather", {"city": "Paris"})), "ok")

    result = run(agent("say_llm", tool))

    types = [event["type"] for event in result.events]
    assert types.index("say_static") < types.index("http_request")
    assert of_type(result, "say_static")[0]["message"] == "Checking the weather..."


def test_given_a_turn_budget_that_runs_out_during_the_loop_then_no_further_call_is_made(run, llm, http):
    http.route("POST", WEATHER_URL + "Paris", weather_answer)
    llm.reply(*(tool_calls_reply(("get_weather", {"city": "Paris"})) for _ in range(3)))

    # When the budget is gone once the first tool call has been sent
    result = run(agent(max_consecutive_tool_calls=3), time_left=lambda: 0.0 if http.requests else 30.0)

    # Then the run fails with the reason and the loop makes no further model call
    assert result.status is RunStatus.FAILED
    assert "time budget" in result.error
    assert (len(llm.requests), len(http.requests)) == (1, 1)


def test_given_the_scripted_provider_then_an_agent_with_a_tool_runs_offline_end_to_end(http, clock):
    # Given the offline scripted provider scripted to call the tool, then answer from its result
    engine = WorkflowEngine(ScriptedLlm(), http, clock, max_steps_per_turn=50)
    http.route("POST", WEATHER_URL + "Oslo", weather_answer)
    script = {
        "scripted_replies": [
            {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
            "Here it is: {tool_result}",
        ]
    }
    config = agent(llms_config={"provider": "scripted", "model_kwargs": script})

    # When a turn runs
    result = engine.run_turn(WorkflowConfig.model_validate(config), WorkflowRunInput(), None)

    # Then the tool ran and its result is in the said answer; both model calls are counted
    assert len(http.requests) == 1
    assert '"sky": "sunny"' in of_type(result, "say_llm")[0]["message"]
    assert merge_llm_usage(None, None, result.llm_calls)[0]["call_count"] == 2


def test_given_a_cap_of_0_then_the_first_call_is_the_final_one_and_no_tool_runs(run, llm, http):
    llm.reply("No tools needed.")

    result = run(agent(max_consecutive_tool_calls=0))

    assert [request.tool_choice for request in llm.requests] == ["none"]
    assert http.requests == []
    assert of_type(result, "say_llm")[0]["message"] == "No tools needed."
