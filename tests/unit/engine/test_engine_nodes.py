"""One behaviour per node type: what it emits, what it writes, what it asks the ports."""

from __future__ import annotations

import json

import pytest

from tests.fakes.http import json_response
from tests.support.workflow_builders import edge, node, say
from tests.unit.engine.engine_support import of_type, types_of
from workflow_service.models.llm_calls import LlmResponse
from workflow_service.models.runs import RunStatus
from workflow_service.ports import OutboundRequestFailed, OutboundRequestRefused


def test_say_static_emits_its_filled_message_inside_a_node_run_and_completes(run):
    # Given a one-node workflow that greets the user by name
    config = {"nodes": [say("greet", "Hello {{name}}, order [[order_id]]", is_start=True)]}

    # When the run starts
    result = run(config, dynamic_variables={"name": "Ann"}, runtime_variables={"order_id": 42})

    # Then the greeting is said with both placeholders filled (an assistant_response tells the SDK what was
    # said), and the workflow ends
    assert result.status is RunStatus.COMPLETED
    assert of_type(result, "say_static")[0]["message"] == "Hello Ann, order 42"
    assert types_of(result) == [
        "start_workflow",
        "start_thread",
        "start_node_run",
        "say_static",
        "assistant_response",
        "end_node_run",
        "end_thread",
        "workflow_show_state",
        "end_workflow",
    ]
    assert result.thread_to_node_outputs["0"][0]["output"] == {"content": "Hello Ann, order 42"}
    assert result.state["history"] == [{"role": "assistant", "content": "Hello Ann, order 42"}]


def test_node_events_carry_the_reference_base_and_node_fields(run, clock):
    result = run({"nodes": [say("greet", "Hi", name="Greeting", is_start=True)]})

    said = of_type(result, "say_static")[0]
    start = of_type(result, "start_node_run")[0]
    assert said["logical_id"].startswith("event_")
    assert said["timestamp"] == clock.now().timestamp()
    assert said["origin_thread_id"] == "0"
    assert said["comments"] == []
    assert said["interrupted"] is False
    assert said["origin_node_logical_id"] == "greet"
    assert said["origin_node_name"] == "Greeting"
    assert said["origin_node_run_id"] == start["origin_node_run_id"]
    assert len({event["logical_id"] for event in result.events}) == len(result.events)
    assert json.loads(json.dumps(result.events)) == result.events  # plain JSON-safe data


def test_say_static_sequential_mode_walks_the_messages_in_order(run):
    config = {
        "nodes": [
            node(
                "ask",
                "say_static",
                is_start=True,
                self_loop=True,
                max_turns=3,
                static_messages_config={
                    "static_messages": ["first", "second"],
                    "static_messages_selection_mode": "sequential",
                },
            )
        ]
    }

    result = run(config)

    assert [event["message"] for event in of_type(result, "say_static")] == ["first", "second", "first"]


def test_say_static_random_mode_is_repeatable_for_the_same_node_and_turn(run):
    messages = [f"message {index}" for index in range(10)]
    config = {
        "nodes": [
            node(
                "pick",
                "say_static",
                is_start=True,
                self_loop=True,
                max_turns=5,
                static_messages_config={"static_messages": messages},
            )
        ]
    }

    first = [event["message"] for event in of_type(run(config), "say_static")]
    second = [event["message"] for event in of_type(run(config), "say_static")]

    assert first == second
    assert len(set(first)) > 1  # it does vary between visits


def test_say_llm_sends_the_filled_system_prompt_and_the_conversation_then_waits(run, llm):
    # Given a say_llm node (which waits for the reply by default) with a workflow prefix and suffix
    config = {
        "default_prompt_prefix": "You work for {{clinic}}.",
        "default_prompt_suffix": "Be brief.",
        "llms_config": {"provider": "scripted", "model": "m1", "model_kwargs": {"temperature": 0.2}},
        "nodes": [node("chat", "say_llm", is_start=True, main_response_config={"prompt": "Greet [[patient]]."})],
    }
    llm.reply("Hello Bob!")

    # When the run starts with an opening user message
    result = run(config, message="hi", dynamic_variables={"clinic": "Acme"}, runtime_variables={"patient": "Bob"})

    # Then the LLM saw the prompt and the message, the reply is said, and the run waits for the user
    request = llm.requests[0]
    assert request.purpose == "say"
    assert request.system_prompt == "You work for Acme.\n\nGreet Bob.\n\nBe brief."
    assert [(message.role, message.content) for message in request.messages] == [("user", "hi")]
    assert request.llm_config["provider"] == "scripted"
    assert request.llm_config["model_kwargs"] == {"temperature": 0.2}
    assert of_type(result, "say_llm")[0]["message"] == "Hello Bob!"
    assert of_type(result, "say_llm")[0]["llm_usage_info"]["model"] == "fake-model"
    assert result.status is RunStatus.WAITING_FOR_USER_INPUT
    assert result.next_input_hint is not None
    assert result.next_input_hint["type"] == "busy_wait_for_user_message"
    assert result.next_input_hint["waiting_node_logical_id"] == "chat"
    assert result.state["history"][-1] == {"role": "assistant", "content": "Hello Bob!"}
    assert result.llm_calls[0].content == "Hello Bob!"


def test_a_node_llms_config_overrides_the_workflow_default(run, llm):
    config = {
        "llms_config": {"provider": "scripted", "model": "default-model"},
        "nodes": [
            node("chat", "say_llm", is_start=True, wait_for_user_message=False, llms_config={"provider": "bedrock"})
        ],
    }
    llm.reply("ok")

    run(config)

    assert llm.requests[0].llm_config["provider"] == "bedrock"
    assert llm.requests[0].llm_config["model"] is None


def test_worker_llm_structured_output_becomes_runtime_variables_without_speaking(run, llm):
    schema = {"type": "object", "properties": {"intent": {"type": "string"}}}
    config = {
        "nodes": [
            node("extract", "worker_llm", is_start=True, structured_output_schema=schema),
            say("answer", "intent=[[intent]]"),
        ],
        "edges": [edge("extract", "answer")],
    }
    llm.reply(LlmResponse(content='{"intent": "book"}', provider="p", model="m", structured_output={"intent": "book"}))

    result = run(config)

    assert llm.requests[0].purpose == "worker"
    assert llm.requests[0].structured_output_schema == schema
    assert of_type(result, "worker_llm")[0]["structured_output"] == {"intent": "book"}
    assert of_type(result, "say_static")[0]["message"] == "intent=book"
    assert result.state["threads"]["0"]["runtime_variables"]["intent"] == "book"
    assert result.state["history"] == [{"role": "assistant", "content": "intent=book"}]  # the worker was silent


def test_worker_llm_reads_json_content_when_the_provider_gives_no_structured_output(run, llm):
    config = {"nodes": [node("extract", "worker_llm", is_start=True, structured_output_schema={"type": "object"})]}
    llm.reply('{"score": 7}')

    result = run(config)

    assert result.status is RunStatus.COMPLETED
    assert result.state["threads"]["0"]["runtime_variables"]["score"] == 7


def test_worker_llm_without_an_object_for_its_schema_fails_the_run(run, llm):
    config = {"nodes": [node("extract", "worker_llm", is_start=True, structured_output_schema={"type": "object"})]}
    llm.reply("I could not decide")

    result = run(config)

    assert result.status is RunStatus.FAILED
    assert "expected a JSON object" in result.error


def test_http_request_sends_the_templated_request_and_stores_the_answer(run, http):
    # Given an http_request node whose url, header and JSON body use variables
    config = {
        "nodes": [
            node(
                "lookup",
                "http_request",
                is_start=True,
                http_request_config={
                    "method": "post",
                    "url": "https://api.example.com/patients/[[patient_id]]",
                    "headers": {"Authorization": "Bearer {{token}}"},
                    "body": {"id": "[[patient_id]]", "note": "for {{clinic}}"},
                    "timeout_seconds": 5,
                    "result_runtime_variable_name": "patient",
                },
            ),
            say("done", "Found [[patient.body.name]] (HTTP [[patient.status]])"),
        ],
        "edges": [edge("lookup", "done")],
    }
    http.route("POST", "https://api.example.com/patients/7", json_response(200, b'{"name": "Ann"}'))

    # When the run starts
    result = run(config, dynamic_variables={"token": "t0k", "clinic": "Acme"}, runtime_variables={"patient_id": 7})

    # Then the request was filled (the lone placeholder keeps its int type) and the answer is usable
    sent = http.requests[0]
    assert sent.headers["Authorization"] == "Bearer t0k"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {"id": 7, "note": "for Acme"}
    assert sent.timeout_seconds == 5
    event = of_type(result, "http_request")[0]
    assert event["request"] == {"method": "POST", "url": "https://api.example.com/patients/7"}
    assert event["status"] == 200
    assert event["elapsed_ms"] == 12.5
    assert event["error"] is None
    assert of_type(result, "say_static")[0]["message"] == "Found Ann (HTTP 200)"
    assert result.status is RunStatus.COMPLETED


def test_http_request_non_2xx_answer_fails_the_run_with_an_error_event(run, http):
    config = {
        "nodes": [
            node("call", "http_request", is_start=True, http_request_config={"url": "https://api.example.com/x"}),
            say("after", "never said"),
        ],
        "edges": [edge("call", "after")],
    }
    http.route("GET", "https://api.example.com/x", json_response(503, b'{"error": "down"}'))

    result = run(config)

    assert result.status is RunStatus.FAILED
    assert of_type(result, "http_request")[0]["error"] == "HTTP 503"
    assert "HTTP 503" in of_type(result, "workflow_error")[0]["error_message"]
    assert "503" in result.error
    assert not of_type(result, "say_static")
    assert result.state["threads"]["0"]["runtime_variables"]["http_result"]["body"] == {"error": "down"}
    assert types_of(result)[-1] == "end_workflow"


TREE_URL = "https://api.example.com/tree"
TREE_CONFIG = {
    "nodes": [
        node("fetch", "http_request", is_start=True, http_request_config={"method": "GET", "url": TREE_URL}),
        say("ask", "Got it. Anything else?", wait_for_user_message=True),
        say("bye", "Bye."),
    ],
    "edges": [edge("fetch", "ask"), edge("ask", "bye")],
}


@pytest.mark.parametrize("depth", [33, 600])
def test_an_http_answer_nested_too_deep_is_kept_as_text_and_the_next_turn_reads_the_state(run, http, depth):
    # Given an API whose answer nests arrays deeper than a run's state may (33: one level past the
    # bound that keeps a stored run inside MongoDB's 100 levels; 600: past what copying the state
    # back can recurse through)
    text = "[" * depth + "]" * depth
    http.route("GET", TREE_URL, json_response(200, text.encode()))
    # When the run calls it and waits for the user
    first = run(TREE_CONFIG)
    # Then the answer is stored as its text, like a body that is not JSON
    assert first.status is RunStatus.WAITING_FOR_USER_INPUT
    assert first.state["threads"]["0"]["runtime_variables"]["http_result"]["body"] == text
    # And the user's reply continues the run from that state
    second = run(TREE_CONFIG, state=first.state, message="no thanks")
    assert second.status is RunStatus.COMPLETED, second.error


def test_an_http_answer_nested_up_to_the_limit_is_stored_parsed(run, http):
    # Given an API whose answer nests arrays exactly as deep as a run's state may hold
    http.route("GET", TREE_URL, json_response(200, ("[" * 32 + "]" * 32).encode()))
    # When the run calls it
    result = run(TREE_CONFIG)
    # Then the answer is stored as parsed JSON
    body = result.state["threads"]["0"]["runtime_variables"]["http_result"]["body"]
    for _ in range(31):
        assert isinstance(body, list) and len(body) == 1
        body = body[0]
    assert body == []


def test_http_request_refused_or_failed_by_the_port_fails_the_run(run, http):
    config = {"nodes": [node("call", "http_request", is_start=True, http_request_config={"url": "http://10.0.0.1/"})]}
    http.route("GET", "http://10.0.0.1/", OutboundRequestRefused("private address"))

    refused = run(config)

    assert refused.status is RunStatus.FAILED
    assert "refused" in of_type(refused, "http_request")[0]["error"]
    assert "private address" in refused.error

    http.route("GET", "http://10.0.0.1/", OutboundRequestFailed("timed out"))
    failed = run(config)
    assert failed.status is RunStatus.FAILED
    assert "timed out" in failed.error


@pytest.mark.parametrize(
    "answer",
    [OutboundRequestRefused("private address"), OutboundRequestFailed("timed out"), json_response(503, b"{}")],
    ids=["refused", "failed", "non-2xx"],
)
def test_http_request_failure_messages_leave_out_the_query_string(run, http, answer):
    # Given an http_request node with a key templated into its URL's query
    secret = "sk-live-0123456789abcdef"
    url = "https://api.partner.example/v1/items?api_key={{api_key}}#top"
    config = {"nodes": [node("call", "http_request", is_start=True, http_request_config={"url": url})]}
    http.route("GET", f"https://api.partner.example/v1/items?api_key={secret}#top", answer)
    # When the call is refused, fails or answers non-2xx
    result = run(config, dynamic_variables={"api_key": secret})
    # Then the run's error and the workflow_error event name the URL without its query
    assert result.status is RunStatus.FAILED
    messages = [result.error] + [event["error_message"] for event in of_type(result, "workflow_error")]
    assert all("GET https://api.partner.example/v1/items " in message for message in messages), messages
    assert not [message for message in messages if secret in message or "api_key" in message], messages


def test_tool_node_calls_its_external_api_tool_and_stores_the_result(run, http):
    tool = {
        "type": "external_api",
        "logical_id": "weather",
        "name": "Weather",
        "url": "https://weather.example.com/{{city}}",
        "method": "GET",
        "result_runtime_variable_name": "forecast",
    }
    config = {
        "nodes": [
            node("tool", "tool_node", is_start=True, tools_config={"tools": [tool]}),
            say("tell", "It is [[forecast.body]]"),
        ],
        "edges": [edge("tool", "tell")],
    }
    http.route("GET", "https://weather.example.com/Paris", json_response(200, b"sunny"))

    result = run(config, dynamic_variables={"city": "Paris"})

    event = of_type(result, "http_request")[0]
    assert event["tool_logical_id"] == "weather"
    assert event["result_runtime_variable_name"] == "forecast"
    assert of_type(result, "say_static")[0]["message"] == "It is sunny"


def test_tool_node_may_use_a_workflow_level_tool_by_its_logical_id(run, http):
    config = {
        "tools_config": {"tools": [{"logical_id": "ping", "url": "https://svc.example.com/ping"}]},
        "nodes": [node("tool", "tool_node", is_start=True, tools_config={"tools": [{"logical_id": "ping"}]})],
    }
    http.route("GET", "https://svc.example.com/ping", json_response(200, b'{"ok": true}'))

    result = run(config)

    assert result.status is RunStatus.COMPLETED
    assert result.state["threads"]["0"]["runtime_variables"]["tool_result"]["body"] == {"ok": True}


def test_no_op_does_nothing_but_pass_control_on(run, llm, http):
    config = {"nodes": [node("nothing", is_start=True), say("next", "after no_op")], "edges": [edge("nothing", "next")]}

    result = run(config)

    assert of_type(result, "end_node_run")[0]["run_output"] == {"type": "no_op", "node_logical_id": "nothing"}
    assert of_type(result, "say_static")[0]["message"] == "after no_op"
    assert llm.requests == [] and http.requests == []
