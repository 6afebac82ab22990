"""OpenAI-compatible adapter against a fake chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fakes.clock import ManualClock
from tests.fakes.http import FakeHttp, json_response
from workflow_service.adapters.llm.gateway import ProviderRoutingLlmGateway
from workflow_service.adapters.llm.openai_compatible import OpenAiCompatibleLlm
from workflow_service.engine import WorkflowEngine
from workflow_service.engine.usage import merge_llm_usage
from workflow_service.models.llm_calls import LlmMessage, LlmRequest, LlmTool, LlmToolCall
from workflow_service.models.runs import RunStatus, WorkflowRunInput
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.ports import LlmError
from workflow_service.settings import Settings


@dataclass
class FakeChatServer:
    """Answers every POST with ``status``/``answer`` and records what it received."""

    base_url: str = ""
    status: int = 200
    answer: Any = None
    stall: threading.Event | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    # When set, each POST is answered by the next of these (the last one repeats).
    answers: list[Any] = field(default_factory=list)


class QuietServer(ThreadingHTTPServer):
    """Test server that does not print tracebacks when a client gives up on purpose (timeouts, limits)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    fake = FakeChatServer()
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            fake.received.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
            )
            if fake.stall is not None:
                release.wait(5)
            answer = fake.answer
            if fake.answers:
                answer = fake.answers.pop(0) if len(fake.answers) > 1 else fake.answers[0]
            payload = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{httpd.server_port}/v1/"
    try:
        yield fake
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 31, "completion_tokens": 5, "total_tokens": 36},
    }


def _request(**fields: Any) -> LlmRequest:
    defaults: dict[str, Any] = {
        "llm_config": {
            "provider": "openai_compatible",
            "model": "gpt-4o-mini",
            "model_kwargs": {"temperature": 0.3, "max_tokens": 100},
        },
        "system_prompt": "You book tables.",
        "messages": (LlmMessage("user", "Hi"), LlmMessage("assistant", "Hello"), LlmMessage("user", "Table for 2")),
    }
    defaults.update(fields)
    return LlmRequest(**defaults)


def test_posts_a_chat_completion_and_reads_the_answer(server: FakeChatServer) -> None:
    server.answer = _completion("For which day?")

    response = OpenAiCompatibleLlm(server.base_url, "sk-test", timeout_seconds=5).complete(_request())

    [received] = server.received
    assert received["path"] == "/v1/chat/completions"
    assert received["headers"]["Authorization"] == "Bearer sk-test"
    assert received["body"] == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You book tables."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Table for 2"},
        ],
        "temperature": 0.3,
        "max_tokens": 100,
    }
    assert response.content == "For which day?"
    assert (response.provider, response.model) == ("openai_compatible", "gpt-4o-mini-2024-07-18")
    assert (response.input_tokens, response.output_tokens) == (31, 5)
    assert response.structured_output is None


def test_without_a_key_no_authorization_header_is_sent(server: FakeChatServer) -> None:
    server.answer = _completion("ok")

    OpenAiCompatibleLlm(server.base_url, None, timeout_seconds=5).complete(_request())

    assert "Authorization" not in server.received[0]["headers"]


def test_structured_output_asks_for_a_json_schema_and_parses_the_answer(server: FakeChatServer) -> None:
    schema = {"type": "object", "properties": {"party_size": {"type": "integer"}}, "required": ["party_size"]}
    server.answer = _completion('{"party_size": 2}')

    response = OpenAiCompatibleLlm(server.base_url, "k", timeout_seconds=5).complete(
        _request(purpose="worker", structured_output_schema=schema)
    )

    response_format = server.received[0]["body"]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"] == schema
    assert response.structured_output == {"party_size": 2}


def test_json_object_mode_puts_the_schema_in_the_system_prompt(server: FakeChatServer) -> None:
    schema = {"type": "object", "properties": {"party_size": {"type": "integer"}}}
    server.answer = _completion('{"party_size": 4}')
    config = {"model": "local-model", "model_kwargs": {"structured_output_mode": "json_object"}}

    response = OpenAiCompatibleLlm(server.base_url, None, timeout_seconds=5).complete(
        _request(llm_config=config, purpose="worker", structured_output_schema=schema)
    )

    body = server.received[0]["body"]
    assert body["response_format"] == {"type": "json_object"}
    assert json.dumps(schema) in body["messages"][0]["content"]
    assert response.structured_output == {"party_size": 4}


def test_a_server_error_is_an_llm_error_with_status_and_body_excerpt(server: FakeChatServer) -> None:
    server.status = 500
    server.answer = {"error": {"message": "upstream model overloaded"}}

    with pytest.raises(LlmError, match=r"answered 500.*upstream model overloaded"):
        OpenAiCompatibleLlm(server.base_url, "k", timeout_seconds=5).complete(_request())


def test_a_slow_server_is_an_llm_timeout(server: FakeChatServer) -> None:
    server.stall = threading.Event()
    server.answer = _completion("too late")

    with pytest.raises(LlmError, match=r"timed out after 0\.2 s"):
        OpenAiCompatibleLlm(server.base_url, "k", timeout_seconds=0.2).complete(_request())


def test_a_call_never_waits_past_the_time_left_of_the_turn(server: FakeChatServer) -> None:
    # Given a 30 s request timeout but only 0.2 s left of the turn's budget, and a stalled server
    server.stall = threading.Event()
    server.answer = _completion("too late")

    # When the call is made, Then it gives up at the turn's budget
    with pytest.raises(LlmError, match=r"timed out after 0\.2 s"):
        OpenAiCompatibleLlm(server.base_url, "k", timeout_seconds=30).complete(_request(time_left_seconds=0.2))


def test_an_answer_without_choices_is_an_llm_error(server: FakeChatServer) -> None:
    server.answer = {"object": "error"}

    with pytest.raises(LlmError, match="no choices"):
        OpenAiCompatibleLlm(server.base_url, "k", timeout_seconds=5).complete(_request())


def test_structured_output_that_is_not_json_is_an_llm_error(server: FakeChatServer) -> None:
    server.answer = _completion("Sorry, I can't.")

    with pytest.raises(LlmError, match="not JSON"):
        OpenAiCompatibleLlm(server.base_url, "k", timeout_seconds=5).complete(
            _request(purpose="worker", structured_output_schema={"type": "object"})
        )


def test_no_model_anywhere_is_an_llm_error_without_a_request(server: FakeChatServer) -> None:
    with pytest.raises(LlmError, match="no model configured"):
        OpenAiCompatibleLlm(server.base_url, "k", timeout_seconds=5).complete(_request(llm_config={}))

    assert server.received == []


# --- tools (issue 13) -------------------------------------------------------------------------------

WEATHER_TOOL = LlmTool(
    name="get_weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _tool_call_completion(*calls: tuple[str, str, str], content: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-2",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "tool_calls": [
                        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
                        for call_id, name, arguments in calls
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12},
    }


def test_tools_and_tool_choice_are_sent_and_tool_calls_are_read(server: FakeChatServer) -> None:
    # Given a server whose model asks for two tools in one answer, one with arguments that are not JSON
    server.answer = _tool_call_completion(
        ("call_a", "get_weather", '{"city": "Paris"}'), ("call_b", "get_weather", "{")
    )

    # When the adapter is asked with tools
    response = OpenAiCompatibleLlm(server.base_url, None, timeout_seconds=5).complete(
        _request(tools=(WEATHER_TOOL,), tool_choice="auto")
    )

    # Then the tools went out as functions with tool_choice, and both calls came back, the bad one flagged
    body = server.received[0]["body"]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": WEATHER_TOOL.parameters,
            },
        }
    ]
    assert body["tool_choice"] == "auto"
    first, second = response.tool_calls
    assert (first.id, first.name, first.arguments, first.arguments_error) == (
        "call_a",
        "get_weather",
        {"city": "Paris"},
        None,
    )
    assert second.id == "call_b" and second.arguments == {} and "not JSON" in second.arguments_error
    assert response.content == ""
    assert (response.input_tokens, response.output_tokens) == (40, 12)


def test_a_tool_round_goes_back_as_an_assistant_tool_calls_message_and_tool_messages(server: FakeChatServer) -> None:
    server.answer = _completion("Sunny.")
    call = LlmToolCall(id="call_a", name="get_weather", arguments={"city": "Paris"})
    messages = (
        LlmMessage("user", "Weather?"),
        LlmMessage("assistant", "", tool_calls=(call,)),
        LlmMessage("tool", '{"status": 200, "body": "sunny"}', tool_call_id="call_a"),
    )

    OpenAiCompatibleLlm(server.base_url, None, timeout_seconds=5).complete(
        _request(messages=messages, tools=(WEATHER_TOOL,), tool_choice="none")
    )

    body = server.received[0]["body"]
    assert body["messages"][1:] == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": '{"status": 200, "body": "sunny"}'},
    ]
    assert body["tool_choice"] == "none"


def test_a_request_without_tools_sends_no_tools_field(server: FakeChatServer) -> None:
    server.answer = _completion("Hi")

    OpenAiCompatibleLlm(server.base_url, None, timeout_seconds=5).complete(_request())

    assert "tools" not in server.received[0]["body"]
    assert "tool_choice" not in server.received[0]["body"]


@pytest.mark.parametrize("tool_calls", [[{"type": "function", "function": {"name": "x"}}], [{"id": "c"}], "x"])
def test_a_malformed_tool_call_is_an_llm_error_with_the_providers_text(server: FakeChatServer, tool_calls) -> None:
    answer = _completion("")
    answer["choices"][0]["message"]["tool_calls"] = tool_calls
    server.answer = answer

    with pytest.raises(LlmError, match="tool_calls"):
        OpenAiCompatibleLlm(server.base_url, None, timeout_seconds=5).complete(_request(tools=(WEATHER_TOOL,)))


# --- the Done-when scenario: the engine's loop against this server, configured by LLM_OPENAI_BASE_URL ---


def _agent_engine(server: FakeChatServer, http: FakeHttp) -> WorkflowEngine:
    environ = {
        "LLM_OPENAI_BASE_URL": server.base_url,
        "LLM_DEFAULT_PROVIDER": "openai_compatible",
        "LLM_DEFAULT_MODEL": "gpt-4o-mini",
    }
    gateway = ProviderRoutingLlmGateway(Settings.from_environ(environ).llm, secrets=None)
    return WorkflowEngine(gateway, http, ManualClock(), max_steps_per_turn=20)


POST_WEATHER = {
    "logical_id": "weather",
    "name": "get_weather",
    "method": "POST",
    "url": "https://weather.example.com/v1/[[args.city]]",
    "args_schema": WEATHER_TOOL.parameters,
    "result_runtime_variable_name": "forecast",
}


def _agent(node_type: str, **fields: Any) -> WorkflowConfig:
    agent = {
        "logical_id": "agent",
        "type": node_type,
        "is_start": True,
        "tools_config": {"tools": [POST_WEATHER]},
        **fields,
    }
    return WorkflowConfig.model_validate({"nodes": [agent]})


@pytest.mark.parametrize(("node_type", "final_event"), [("say_llm", "say_llm"), ("worker_llm", "worker_llm")])
def test_done_when_an_llm_node_calls_a_post_tool_with_the_models_arguments_and_answers_from_its_result(
    server: FakeChatServer, node_type: str, final_event: str
) -> None:
    # Given an OpenAI-compatible model that asks for the weather in Paris, then answers
    server.answers = [_tool_call_completion(("call_1", "get_weather", '{"city": "Paris"}')), _completion("Sunny.")]
    http = FakeHttp().route(
        "POST", "https://weather.example.com/v1/Paris", json_response(200, b'{"sky": "sunny", "c": 21}')
    )

    # When a turn of the node runs
    result = _agent_engine(server, http).run_turn(_agent(node_type), WorkflowRunInput(), None)

    # Then the tool got the model's arguments, the result went back as a tool message, the answer is an event
    (sent,) = http.requests
    assert json.loads(sent.body) == {"city": "Paris"}
    second = server.received[1]["body"]["messages"]
    assert second[-2]["tool_calls"][0]["id"] == "call_1"
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == "call_1"
    assert json.loads(second[-1]["content"]) == {"status": 200, "body": {"sky": "sunny", "c": 21}}
    final = [event for event in result.events if event["type"] == final_event]
    assert final[0]["message" if node_type == "say_llm" else "content"] == "Sunny."
    assert merge_llm_usage(None, None, result.llm_calls)[0]["call_count"] == 2


def test_done_when_a_model_that_always_asks_for_tools_with_a_cap_of_2_gets_3_calls_and_the_node_fails(
    server: FakeChatServer,
) -> None:
    # Given a model that answers every call with a tool call
    server.answers = [_tool_call_completion(("call_1", "get_weather", '{"city": "Paris"}'))]
    http = FakeHttp().route("POST", "https://weather.example.com/v1/Paris", json_response(200, b"{}"))

    # When a say_llm with max_consecutive_tool_calls 2 runs
    config = _agent("say_llm", max_consecutive_tool_calls=2)
    result = _agent_engine(server, http).run_turn(config, WorkflowRunInput(), None)

    # Then exactly 2 tool rounds ran, the model was called 3 times (the last with tool_choice none)
    assert len(http.requests) == 2
    assert [received["body"]["tool_choice"] for received in server.received] == ["auto", "auto", "none"]
    # and the run failed with the reason; the run's usage counts the 3 calls
    assert result.status is RunStatus.FAILED
    assert "max_consecutive_tool_calls" in result.error
    assert merge_llm_usage(None, None, result.llm_calls)[0]["call_count"] == 3


def test_a_worker_with_a_schema_may_first_answer_with_tool_calls_and_then_with_its_object(
    server: FakeChatServer,
) -> None:
    schema = {"type": "object", "properties": {"sky": {"type": "string"}}}
    server.answers = [
        _tool_call_completion(("call_1", "get_weather", '{"city": "Oslo"}')),
        _completion('{"sky": "grey"}'),
    ]
    adapter = OpenAiCompatibleLlm(server.base_url, None, timeout_seconds=5)

    asked = adapter.complete(_request(purpose="worker", structured_output_schema=schema, tools=(WEATHER_TOOL,)))
    answered = adapter.complete(
        _request(purpose="worker", structured_output_schema=schema, tools=(WEATHER_TOOL,), tool_choice="none")
    )

    assert [call.name for call in asked.tool_calls] == ["get_weather"] and asked.structured_output is None
    assert server.received[0]["body"]["response_format"]["type"] == "json_schema"
    assert answered.structured_output == {"sky": "grey"}
