"""Bedrock Converse adapter, against a botocore Stubber (no network, real request validation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from tests.fakes.clock import ManualClock
from tests.fakes.http import FakeHttp, json_response
from workflow_service.adapters.llm.bedrock import (
    CONVERSATION_OPENER,
    BedrockClients,
    BedrockConverseLlm,
    _read_output,
    make_bedrock_runtime_client,
)
from workflow_service.engine import WorkflowEngine
from workflow_service.engine.nodes.tool_calls import ANSWER_WITHOUT_TOOLS
from workflow_service.engine.usage import merge_llm_usage
from workflow_service.models.llm_calls import LlmMessage, LlmRequest, LlmTool, LlmToolCall
from workflow_service.models.runs import RunStatus, WorkflowRunInput
from workflow_service.models.workflow_config import WorkflowConfig
from workflow_service.ports import LlmError

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sent(client: Any) -> dict[str, Any]:
    """The parameters of the last Converse call, as the adapter passed them to botocore."""
    captured: dict[str, Any] = {}

    def capture(params: dict[str, Any], **_: Any) -> None:
        captured.clear()
        captured.update(params)

    client.meta.events.register("provide-client-params.bedrock-runtime.Converse", capture)
    return captured


def _worker_request(schema: dict[str, Any]) -> LlmRequest:
    return LlmRequest(
        llm_config={"provider": "bedrock", "model": MODEL},
        system_prompt="Extract the date.",
        messages=(LlmMessage("user", "Next Thursday, May 1st"),),
        purpose="worker",
        structured_output_schema=schema,
    )


def _converse_answer(content: list[dict[str, Any]], *, stop_reason: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 42, "outputTokens": 7, "totalTokens": 49},
        "metrics": {"latencyMs": 321},
    }


def test_say_call_maps_prompt_messages_and_inference_options(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "converse",
        _converse_answer([{"text": "Sure, "}, {"text": "which day?"}]),
        expected_params={
            "modelId": MODEL,
            "system": [{"text": "You book tables."}],
            "messages": [
                {"role": "user", "content": [{"text": "Hi"}]},
                {"role": "assistant", "content": [{"text": "Hello!"}]},
                {"role": "user", "content": [{"text": "Book a table"}, {"text": "for two"}]},
            ],
            "inferenceConfig": {"maxTokens": 256, "temperature": 0.2, "topP": 0.9},
        },
    )
    request = LlmRequest(
        llm_config={
            "provider": "bedrock",
            "model": MODEL,
            "model_kwargs": {"temperature": 0.2, "max_tokens": 256, "top_p": 0.9},
        },
        system_prompt="You book tables.",
        messages=(
            LlmMessage("user", "Hi"),
            LlmMessage("assistant", "Hello!"),
            LlmMessage("user", "Book a table"),
            LlmMessage("user", "for two"),
        ),
    )

    response = BedrockConverseLlm(lambda _seconds: client).complete(request)

    assert response.content == "Sure, which day?"
    assert (response.provider, response.model) == ("bedrock", MODEL)
    assert (response.input_tokens, response.output_tokens) == (42, 7)
    assert response.latency_ms == 321
    assert response.structured_output is None


def test_a_conversation_without_a_user_turn_is_opened_for_converse(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "converse",
        _converse_answer([{"text": "Welcome!"}]),
        expected_params={
            "modelId": MODEL,
            "system": [{"text": "Greet the caller."}],
            "messages": [{"role": "user", "content": [{"text": CONVERSATION_OPENER}]}],
        },
    )

    response = BedrockConverseLlm(lambda _seconds: client, default_model=MODEL).complete(
        LlmRequest(llm_config={"provider": "bedrock"}, system_prompt="Greet the caller.")
    )

    assert response.content == "Welcome!"


def test_structured_output_forces_a_tool_whose_schema_is_the_requested_one(
    client: Any, stubber: Stubber, sent: dict[str, Any]
) -> None:
    schema = {"type": "object", "properties": {"date": {"type": "string"}}, "required": ["date"]}
    stubber.add_response(
        "converse",
        _converse_answer(
            [{"toolUse": {"toolUseId": "t1", "name": "structured_output", "input": {"date": "2025-05-01"}}}],
            stop_reason="tool_use",
        ),
    )

    response = BedrockConverseLlm(lambda _seconds: client).complete(_worker_request(schema))

    tool = sent["toolConfig"]["tools"][0]["toolSpec"]
    assert tool["inputSchema"] == {"json": schema}
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": tool["name"]}}
    assert response.structured_output == {"date": "2025-05-01"}
    assert response.content == '{"date": "2025-05-01"}'


def test_structured_output_answered_as_fenced_json_text_is_accepted(client: Any, stubber: Stubber) -> None:
    # Some models answer in text instead of calling the forced tool; the prompt asked for JSON too.
    stubber.add_response("converse", _converse_answer([{"text": '```json\n{"date": "tomorrow"}\n```'}]))

    response = BedrockConverseLlm(lambda _seconds: client).complete(_worker_request({"type": "object"}))

    assert response.structured_output == {"date": "tomorrow"}


def test_structured_output_that_is_not_json_is_an_llm_error(client: Any, stubber: Stubber) -> None:
    stubber.add_response("converse", _converse_answer([{"text": "I cannot do that."}]))

    with pytest.raises(LlmError, match="not JSON"):
        BedrockConverseLlm(lambda _seconds: client).complete(
            _worker_request({"type": "object", "properties": {"a": {"type": "string"}}})
        )


class _Time:
    """A monotonic clock that only sleeps move, and the pauses asked of it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.pauses: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def _throttled(stubber: Stubber, times: int) -> None:
    for _ in range(times):
        stubber.add_client_error(
            "converse",
            service_error_code="ThrottlingException",
            service_message="Too many requests",
            http_status_code=429,
        )


def _hello() -> LlmRequest:
    return LlmRequest(llm_config={"model": MODEL}, system_prompt="s", messages=(LlmMessage("user", "x"),))


def test_throttling_is_retried_with_backoff_and_then_an_llm_error_that_says_so(client: Any, stubber: Stubber) -> None:
    # Given Bedrock throttling every attempt
    _throttled(stubber, 3)
    clock = _Time()

    # When a call has its whole default timeout
    with pytest.raises(LlmError, match=r"throttled.*ThrottlingException.*Too many requests"):
        BedrockConverseLlm(lambda _seconds: client, monotonic=clock.monotonic, sleep=clock.sleep).complete(_hello())

    # Then it made three attempts, with a growing, jittered pause between them
    assert len(clock.pauses) == 2
    assert 0.5 <= clock.pauses[0] <= 1.0 and 1.0 <= clock.pauses[1] <= 2.0


def test_a_throttled_attempt_is_followed_by_one_that_answers(client: Any, stubber: Stubber) -> None:
    _throttled(stubber, 1)
    stubber.add_response("converse", _converse_answer([{"text": "at last"}]))
    clock = _Time()

    response = BedrockConverseLlm(lambda _seconds: client, monotonic=clock.monotonic, sleep=clock.sleep).complete(
        _hello()
    )

    assert response.content == "at last" and len(clock.pauses) == 1


def test_no_attempt_is_made_that_would_not_fit_in_the_time_left(client: Any, stubber: Stubber) -> None:
    # Given a call with 1.5 s left of its turn, throttled once
    _throttled(stubber, 1)
    clock = _Time()
    asked: list[float] = []

    def clients(seconds: float) -> Any:
        asked.append(seconds)
        return client

    # When it runs: a pause and another attempt of at least a second do not fit in 1.5 s
    with pytest.raises(LlmError, match="throttled"):
        BedrockConverseLlm(clients, monotonic=clock.monotonic, sleep=clock.sleep).complete(
            _hello()._replace(time_left_seconds=1.5)
        )

    # Then its one attempt was bounded by the time left, and it gave up rather than overrun
    assert asked == [1.5] and clock.pauses == []


def test_a_call_is_bounded_by_the_config_timeout_and_by_the_turn(client: Any, stubber: Stubber) -> None:
    asked: list[float] = []

    def clients(seconds: float) -> Any:
        asked.append(seconds)
        return client

    llm = BedrockConverseLlm(clients, default_timeout_seconds=30.0)
    for _ in range(3):
        stubber.add_response("converse", _converse_answer([{"text": "ok"}]))

    llm.complete(_hello())
    llm.complete(_hello()._replace(llm_config={"model": MODEL, "request_timeout_ms": 12_000}))
    llm.complete(_hello()._replace(llm_config={"model": MODEL, "request_timeout_ms": 12_000}, time_left_seconds=4.0))

    assert asked == [30.0, 12.0, 4.0]


def test_bedrock_clients_are_built_once_per_timeout_step_that_fits() -> None:
    built: list[float] = []
    clients = BedrockClients(lambda seconds: built.append(seconds) or f"client-{seconds}")

    # A bound gets the largest step within it; less than the smallest step gets the smallest
    assert clients(7.5) == "client-5.0"
    assert clients(5.0) == "client-5.0"
    assert clients(30.0) == "client-30.0"
    assert clients(0.2) == "client-1.0"
    assert built == [5.0, 30.0, 1.0]


def test_a_bedrock_client_that_cannot_be_built_is_an_llm_error_worded_by_the_caller() -> None:
    def build(_seconds: float) -> Any:
        raise RuntimeError("secret AKIA... in the message")

    clients = BedrockClients(build, lambda error: type(error).__name__)

    with pytest.raises(LlmError) as raised:
        clients(10.0)
    assert str(raised.value) == "could not create the Bedrock client: RuntimeError"


def test_a_built_client_never_retries_and_its_timeouts_add_up_to_its_step() -> None:
    client = make_bedrock_runtime_client("us-east-1", 20.0, ("testing", "testing"))

    config = client.meta.config
    assert config.connect_timeout + config.read_timeout == pytest.approx(20.0)
    assert config.connect_timeout <= 2.0
    assert config.retries["total_max_attempts"] == 1


def test_other_service_errors_name_the_model_and_code(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "converse", service_error_code="ValidationException", service_message="bad model", http_status_code=400
    )

    with pytest.raises(LlmError, match=f"{MODEL}.*ValidationException.*bad model"):
        BedrockConverseLlm(lambda _seconds: client).complete(
            LlmRequest(llm_config={"model": MODEL}, system_prompt="s", messages=(LlmMessage("user", "x"),))
        )


def test_no_model_anywhere_is_an_llm_error_before_any_call(client: Any, stubber: Stubber) -> None:
    with pytest.raises(LlmError, match="no model configured"):
        BedrockConverseLlm(lambda _seconds: client).complete(LlmRequest(llm_config={}, system_prompt="s"))


# --- tools (issue 13): the engine's loop over Converse, exact request and answer shapes ---------------

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
AGENT_TOOLS = [
    {
        "logical_id": "weather",
        "name": "get_weather",
        "description": "The weather in a city",
        "method": "POST",
        "url": "https://weather.example.com/v1/[[args.city]]",
        "args_schema": WEATHER_SCHEMA,
        "result_runtime_variable_name": "forecast",
    },
    {
        "logical_id": "clock",
        "name": "get_time",
        "signature": "get_time(city) -> local time",
        "method": "GET",
        "url": "https://time.example.com/now",
        "args_schema": WEATHER_SCHEMA,
        "result_runtime_variable_name": "time",
    },
]
TOOL_SPECS = [
    {
        "toolSpec": {
            "name": "get_weather",
            "description": "The weather in a city",
            "inputSchema": {"json": WEATHER_SCHEMA},
        }
    },
    {
        "toolSpec": {
            "name": "get_time",
            "description": "get_time(city) -> local time",
            "inputSchema": {"json": WEATHER_SCHEMA},
        }
    },
]
QUESTION = {"role": "user", "content": [{"text": "Weather and time in Paris?"}]}
TWO_TOOL_USES = [
    {"text": "Let me check."},
    {"toolUse": {"toolUseId": "tu_1", "name": "get_weather", "input": {"city": "Paris"}}},
    {"toolUse": {"toolUseId": "tu_2", "name": "get_time", "input": {"city": "Paris"}}},
]


def _agent_turn(client: Any, http: FakeHttp, **node_fields: Any) -> Any:
    config = WorkflowConfig.model_validate(
        {
            "nodes": [
                {
                    "logical_id": "agent",
                    "type": "say_llm",
                    "is_start": True,
                    "llms_config": {"provider": "bedrock", "model": MODEL},
                    "tools_config": {"tools": AGENT_TOOLS},
                    **node_fields,
                }
            ]
        }
    )
    engine = WorkflowEngine(BedrockConverseLlm(lambda _seconds: client), http, ManualClock(), max_steps_per_turn=20)
    run_input = {
        "thread_to_node_inputs": {
            "0": {
                "node_run_inputs": [
                    {"type": "llm", "messages": [{"role": "user", "content": "Weather and time in Paris?"}]}
                ]
            }
        }
    }
    return engine.run_turn(config, WorkflowRunInput.model_validate(run_input), None)


def _all_sent(client: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse", lambda params, **_: calls.append(dict(params))
    )
    return calls


def test_a_multi_tool_answer_is_executed_and_every_tool_use_is_answered_by_a_tool_result(
    client: Any, stubber: Stubber
) -> None:
    # Given a model whose first answer asks for two tools at once, and whose second answers in text
    http = FakeHttp()
    http.route("POST", "https://weather.example.com/v1/Paris", json_response(200, b'{"sky": "sunny"}'))
    http.route("GET", "https://time.example.com/now?city=Paris", json_response(200, b'{"time": "14:00"}'))
    stubber.add_response(
        "converse",
        _converse_answer(TWO_TOOL_USES, stop_reason="tool_use"),
        expected_params={
            "modelId": MODEL,
            "messages": [QUESTION],
            "toolConfig": {"tools": TOOL_SPECS, "toolChoice": {"auto": {}}},
        },
    )
    stubber.add_response(
        "converse",
        _converse_answer([{"text": "Sunny, and it is 14:00."}]),
        expected_params={
            "modelId": MODEL,
            "system": [{"text": ANSWER_WITHOUT_TOOLS}],
            "messages": [
                QUESTION,
                {"role": "assistant", "content": TWO_TOOL_USES},
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": "tu_1",
                                "content": [{"text": '{"status": 200, "body": {"sky": "sunny"}}'}],
                            }
                        },
                        {
                            "toolResult": {
                                "toolUseId": "tu_2",
                                "content": [{"text": '{"status": 200, "body": {"time": "14:00"}}'}],
                            }
                        },
                    ],
                },
            ],
            "toolConfig": {"tools": TOOL_SPECS, "toolChoice": {"auto": {}}},
        },
    )
    sent_calls = _all_sent(client)

    # When the say_llm node runs (default cap: one tool round)
    result = _agent_turn(client, http)

    # Then both tools ran, the answer was said, and the rules held on every call
    assert [request.url for request in http.requests] == [
        "https://weather.example.com/v1/Paris",
        "https://time.example.com/now?city=Paris",
    ]
    assert [event["message"] for event in result.events if event["type"] == "say_llm"] == ["Sunny, and it is 14:00."]
    assert len(sent_calls) == 2
    assert all("toolConfig" in call for call in sent_calls)
    for call in sent_calls:
        uses = [b["toolUse"]["toolUseId"] for m in call["messages"] for b in m["content"] if "toolUse" in b]
        results = [b["toolResult"]["toolUseId"] for m in call["messages"] for b in m["content"] if "toolResult" in b]
        assert uses == results
    assert merge_llm_usage(None, None, result.llm_calls)[0]["call_count"] == 2


def test_a_model_that_keeps_asking_for_tools_is_told_to_answer_with_the_tools_still_configured(
    client: Any, stubber: Stubber
) -> None:
    # Given a model that asks for a tool on every call
    http = FakeHttp().route("POST", "https://weather.example.com/v1/Paris", json_response(200, b"{}"))
    one_use = [{"toolUse": {"toolUseId": "tu_1", "name": "get_weather", "input": {"city": "Paris"}}}]
    for _ in range(2):
        stubber.add_response("converse", _converse_answer(one_use, stop_reason="tool_use"))
    sent_calls = _all_sent(client)

    # When the node runs with its default cap of one round and a default error message
    result = _agent_turn(client, http, default_error_message="Sorry, I could not finish.")

    # Then one round ran, the second call still declared the tools, and the fallback was said
    assert len(http.requests) == 1
    assert [("toolConfig" in call) for call in sent_calls] == [True, True]
    assert sent_calls[1]["system"] == [{"text": ANSWER_WITHOUT_TOOLS}]
    assert [event["message"] for event in result.events if event["type"] == "say_llm"] == ["Sorry, I could not finish."]


def test_a_tool_use_without_an_id_is_an_llm_error_and_non_object_input_is_flagged_for_the_model() -> None:
    # The Stubber refuses such answers itself, so the reader is checked directly.
    with pytest.raises(LlmError, match="toolUse block without toolUseId"):
        _read_output(_converse_answer([{"toolUse": {"name": "x", "input": {}}}]), structured_tool=False)

    _, _, (call,) = _read_output(
        _converse_answer([{"toolUse": {"toolUseId": "tu", "name": "x", "input": [1]}}]), structured_tool=False
    )
    assert call.arguments == {} and "not a JSON object" in call.arguments_error


def test_a_tool_without_description_or_signature_is_offered_without_a_description(
    client: Any, stubber: Stubber, sent: dict[str, Any]
) -> None:
    # Given an agent whose only tool has neither description nor signature
    bare_tool = {key: value for key, value in AGENT_TOOLS[0].items() if key != "description"}
    stubber.add_response("converse", _converse_answer([{"text": "Sunny."}]))
    # When its turn calls the model (the Stubber validates the request as Converse would)
    result = _agent_turn(client, FakeHttp(), tools_config={"tools": [bare_tool]})
    # Then the call was accepted, the tool offered by name and schema only, and the answer said
    assert result.status is RunStatus.WAITING_FOR_USER_INPUT, result.error
    assert sent["toolConfig"]["tools"] == [
        {"toolSpec": {"name": "get_weather", "inputSchema": {"json": WEATHER_SCHEMA}}}
    ]


def test_a_worker_with_a_schema_and_tools_gets_the_structured_tool_beside_them_and_forced_at_the_end(
    client: Any, stubber: Stubber, sent: dict[str, Any]
) -> None:
    tool = LlmTool("get_weather", "The weather in a city", WEATHER_SCHEMA)
    schema = {"type": "object", "properties": {"sky": {"type": "string"}}}
    stubber.add_response(
        "converse",
        _converse_answer(
            [{"toolUse": {"toolUseId": "tu_1", "name": "get_weather", "input": {"city": "Oslo"}}}],
            stop_reason="tool_use",
        ),
    )
    asked = BedrockConverseLlm(lambda _seconds: client).complete(_worker_request(schema)._replace(tools=(tool,)))
    names = [spec["toolSpec"]["name"] for spec in sent["toolConfig"]["tools"]]
    assert names == ["get_weather", "structured_output"]
    assert sent["toolConfig"]["toolChoice"] == {"auto": {}}
    assert [call.name for call in asked.tool_calls] == ["get_weather"]
    assert asked.structured_output is None

    stubber.add_response(
        "converse",
        _converse_answer([{"toolUse": {"toolUseId": "tu_2", "name": "structured_output", "input": {"sky": "grey"}}}]),
    )
    final = BedrockConverseLlm(lambda _seconds: client).complete(
        _worker_request(schema)._replace(tools=(tool,), tool_choice="none")
    )
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": "structured_output"}}
    assert final.structured_output == {"sky": "grey"} and final.tool_calls == ()


@pytest.mark.parametrize(
    ("model", "status"),
    [
        (MODEL, "error"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "error"),
        ("amazon.nova-pro-v1:0", "error"),
        ("meta.llama3-70b-instruct-v1:0", None),
    ],
)
def test_a_failed_tool_call_is_reported_as_an_error_to_the_models_that_take_it(
    client: Any, stubber: Stubber, sent: dict[str, Any], model: str, status: str | None
) -> None:
    # Given a conversation in which one tool call succeeded and one failed
    stubber.add_response("converse", _converse_answer([{"text": "The time service is down."}]))
    calls = (
        LlmToolCall(id="tu_1", name="get_weather", arguments={}),
        LlmToolCall(id="tu_2", name="get_time", arguments={}),
    )
    messages = (
        LlmMessage("user", "Weather and time in Paris?"),
        LlmMessage("assistant", "", tool_calls=calls),
        LlmMessage("tool", '{"status": 200}', tool_call_id="tu_1"),
        LlmMessage("tool", '{"error": "HTTP 503"}', tool_call_id="tu_2", tool_error=True),
    )
    # When it is sent to the model
    BedrockConverseLlm(lambda _seconds: client).complete(
        LlmRequest(llm_config={"provider": "bedrock", "model": model}, system_prompt="s", messages=messages)
    )
    # Then the failed call's result says so where Converse lets the model family take it (else nothing)
    results = [
        block["toolResult"] for message in sent["messages"] for block in message["content"] if "toolResult" in block
    ]
    assert [result.get("status") for result in results] == [None, status]
