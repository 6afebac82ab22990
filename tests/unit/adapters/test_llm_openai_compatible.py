"""OpenAI-compatible adapter against a fake chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from workflow_service.adapters.llm.openai_compatible import OpenAiCompatibleLlm
from workflow_service.models.llm import LlmMessage, LlmRequest
from workflow_service.ports import LlmError


@dataclass
class FakeChatServer:
    """Answers every POST with ``status``/``answer`` and records what it received."""

    base_url: str = ""
    status: int = 200
    answer: Any = None
    stall: threading.Event | None = None
    received: list[dict[str, Any]] = field(default_factory=list)


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
            payload = json.dumps(fake.answer).encode() if not isinstance(fake.answer, bytes) else fake.answer
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
