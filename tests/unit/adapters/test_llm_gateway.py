"""Provider routing: which provider answers, and that providers are built lazily and only once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.fakes.secrets import FakeSecretReader
from workflow_service.adapters.llm.gateway import ProviderRoutingLlmGateway
from workflow_service.models.llm_calls import LlmMessage, LlmRequest
from workflow_service.ports import LlmError
from workflow_service.settings.llm import LlmSettings

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-key"
HELLO_AS_CONVERSE_MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]


@pytest.fixture
def chat_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A fake OpenAI-compatible server on 127.0.0.1; yields its base URL and the requests' headers."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(dict(self.headers))
            body = json.dumps(
                {"model": "m", "choices": [{"message": {"role": "assistant", "content": "from openai"}}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/v1", received
    finally:
        httpd.shutdown()
        httpd.server_close()


def _request(llm_config: dict[str, Any]) -> LlmRequest:
    return LlmRequest(llm_config=llm_config, system_prompt="s", messages=(LlmMessage("user", "hello"),))


def _failing_factory(_seconds: float) -> Any:
    raise AssertionError("the Bedrock client must not be created for this request")


@pytest.mark.parametrize("llm_config", [{}, {"provider": "default_provider"}, {"provider": None}])
def test_missing_or_default_provider_uses_the_scripted_default(llm_config: dict[str, Any]) -> None:
    gateway = ProviderRoutingLlmGateway(LlmSettings(), secrets=None, bedrock_client_factory=_failing_factory)

    response = gateway.complete(_request(llm_config))

    assert response.provider == "scripted"
    assert response.content == 'You said: "hello"'


def test_default_provider_follows_the_settings_and_the_bedrock_client_is_created_once() -> None:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    created: list[Any] = []

    def factory(_seconds: float) -> Any:
        created.append(client)
        return client

    settings = LlmSettings(default_provider="bedrock", default_model="amazon.nova-lite-v1:0")
    gateway = ProviderRoutingLlmGateway(settings, secrets=None, bedrock_client_factory=factory)
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "from bedrock"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
        "metrics": {"latencyMs": 5},
    }

    # Scripted requests never touch Bedrock, even when Bedrock is the deployment default.
    assert gateway.complete(_request({"provider": "scripted"})).provider == "scripted"
    assert created == []
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            answer,
            {"modelId": "amazon.nova-lite-v1:0", "messages": HELLO_AS_CONVERSE_MESSAGES, "system": [{"text": "s"}]},
        )
        stub.add_response("converse", answer)
        first = gateway.complete(_request({"provider": "default_provider"}))
        second = gateway.complete(_request({"provider": "bedrock", "model": "amazon.nova-pro-v1:0"}))

    assert (first.provider, first.model, first.content) == ("bedrock", "amazon.nova-lite-v1:0", "from bedrock")
    assert second.model == "amazon.nova-pro-v1:0"
    assert len(created) == 1


def test_openai_key_is_read_from_secrets_manager_once_on_first_use(
    chat_server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, received = chat_server
    secrets = FakeSecretReader({SECRET_ARN: json.dumps({"api_key": "sk-from-secret"})})
    settings = LlmSettings(openai_base_url=base_url, openai_api_key_secret_arn=SECRET_ARN, default_model="m")
    gateway = ProviderRoutingLlmGateway(settings, secrets=secrets)

    gateway.complete(_request({}))
    assert secrets.reads == []  # the scripted default needs no key

    for _ in range(2):
        assert gateway.complete(_request({"provider": "openai_compatible"})).content == "from openai"

    assert secrets.reads == [SECRET_ARN]
    assert [headers["Authorization"] for headers in received] == ["Bearer sk-from-secret"] * 2


def test_a_configured_openai_key_wins_over_the_secret(chat_server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, received = chat_server
    secrets = FakeSecretReader({})
    settings = LlmSettings(
        openai_base_url=base_url, openai_api_key="sk-plain", openai_api_key_secret_arn=SECRET_ARN, default_model="m"
    )

    ProviderRoutingLlmGateway(settings, secrets=secrets).complete(_request({"provider": "openai_compatible"}))

    assert secrets.reads == []
    assert received[0]["Authorization"] == "Bearer sk-plain"


def test_an_unreadable_key_secret_is_an_llm_error_and_is_retried_on_the_next_call(
    chat_server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, _ = chat_server
    secrets = FakeSecretReader({SECRET_ARN: "sk-plain-text-secret"})
    secrets.failing = True
    settings = LlmSettings(openai_base_url=base_url, openai_api_key_secret_arn=SECRET_ARN, default_model="m")
    gateway = ProviderRoutingLlmGateway(settings, secrets=secrets)

    with pytest.raises(LlmError, match="could not read the OpenAI API key secret"):
        gateway.complete(_request({"provider": "openai_compatible"}))
    secrets.failing = False

    assert gateway.complete(_request({"provider": "openai_compatible"})).content == "from openai"
    assert len(secrets.reads) == 2


def test_an_unknown_provider_is_an_llm_error_naming_it() -> None:
    gateway = ProviderRoutingLlmGateway(LlmSettings(), secrets=None)

    with pytest.raises(LlmError, match="unknown LLM provider 'mistral'"):
        gateway.complete(_request({"provider": "mistral"}))


def test_openai_compatible_without_a_base_url_is_an_llm_error() -> None:
    gateway = ProviderRoutingLlmGateway(LlmSettings(), secrets=None)

    with pytest.raises(LlmError, match="LLM_OPENAI_BASE_URL"):
        gateway.complete(_request({"provider": "openai_compatible", "model": "m"}))


def test_a_bedrock_client_that_cannot_be_created_is_an_llm_error() -> None:
    def broken_factory(_seconds: float) -> Any:
        raise RuntimeError("You must specify a region.")

    gateway = ProviderRoutingLlmGateway(LlmSettings(), secrets=None, bedrock_client_factory=broken_factory)

    with pytest.raises(LlmError, match=r"Bedrock client.*region"):
        gateway.complete(_request({"provider": "bedrock", "model": "m"}))


def test_a_gateway_key_is_read_from_its_secret_when_the_deployment_names_one(
    chat_server: tuple[str, list[dict[str, Any]]],
) -> None:
    # Given an Anthropic gateway whose key is in Secrets Manager, as the stack configures it
    base_url, received = chat_server
    secrets = FakeSecretReader({SECRET_ARN: json.dumps({"api_key": "gw-from-secret"})})
    settings = LlmSettings(
        gateway_anthropic_base_url=base_url, gateway_anthropic_api_key_secret_arn=SECRET_ARN, default_model="m"
    )
    assert settings.reads_secrets and settings.gateway_providers == {"anthropic"}

    # When a config naming the provider is called
    answer = ProviderRoutingLlmGateway(settings, secrets=secrets).complete(_request({"provider": "anthropic"}))

    # Then the call went to the gateway with the secret's key
    assert answer.content == "from openai"
    assert SECRET_ARN in secrets.reads
    assert received[0]["Authorization"] == "Bearer gw-from-secret"


def test_an_unreadable_gateway_key_secret_is_an_llm_error_naming_the_gateway(
    chat_server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, _ = chat_server
    secrets = FakeSecretReader({SECRET_ARN: "  "})
    settings = LlmSettings(gateway_google_base_url=base_url, gateway_google_api_key_secret_arn=SECRET_ARN)

    with pytest.raises(LlmError, match="the google gateway API key secret is empty"):
        ProviderRoutingLlmGateway(settings, secrets=secrets).complete(_request({"provider": "google", "model": "g"}))
