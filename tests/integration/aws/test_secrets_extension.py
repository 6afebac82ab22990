"""Secrets through the Parameters and Secrets Lambda Extension (emulated on 127.0.0.1), and the boto3
fallback (under moto) where the extension is absent."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from local.secrets_extension_emulation import EmulatedSecretsExtension
from tests.support.api import Caller, proxy_event
from workflow_service.adapters.aws.secrets import SecretFormatError, SecretsManagerReader
from workflow_service.adapters.aws.secrets_extension import SecretsExtensionAbsent, SecretsExtensionReader
from workflow_service.errors import UpstreamUnavailable
from workflow_service.settings import Settings
from workflow_service.wiring.core import CoreContainer

REPO = Path(__file__).resolve().parents[3]
TOKEN = "session-token-of-this-container"
ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:workflow-service/prod/mongodb-AbCdEf"
MONGODB_URI = "mongodb+srv://svc:p%40ss@cluster0.example.mongodb.net/workflows?retryWrites=true"


@pytest.fixture
def extension() -> Iterator[EmulatedSecretsExtension]:
    emulator = EmulatedSecretsExtension({ARN: json.dumps({"uri": MONGODB_URI})}, session_token=TOKEN, port=0)
    yield emulator
    emulator.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reader(port: int, *, token: str | None = TOKEN, fallback=None, ready_wait: float = 1.0) -> SecretsExtensionReader:
    return SecretsExtensionReader(
        port, token, timeout_seconds=2.0, ready_wait_seconds=ready_wait, sdk_fallback=fallback, host="127.0.0.1"
    )


def test_reads_the_secret_with_the_session_token_once_per_container(extension):
    subject = reader(extension.port)

    assert subject.read_mongodb_uri(ARN) == MONGODB_URI
    assert subject.read_mongodb_uri(ARN) == MONGODB_URI

    # The ARN travels URL-encoded and arrives intact; the token authenticates the call.
    assert extension.requests == [{"path": "/secretsmanager/get", "secret_id": ARN, "token": TOKEN}]
    assert not subject.uses_sdk


@pytest.mark.parametrize("secret_string", [MONGODB_URI, json.dumps({"MONGODB_URI": MONGODB_URI, "engine": "mongo"})])
def test_a_plain_or_json_secret_gives_the_uri(extension, secret_string):
    extension.secrets[ARN] = secret_string
    assert reader(extension.port).read_mongodb_uri(ARN) == MONGODB_URI


def test_a_binary_secret_arrives_base64_encoded_and_is_read_as_text(extension, monkeypatch):
    def binary_answer(path, token):
        return 200, json.dumps({"ARN": ARN, "SecretBinary": base64.b64encode(MONGODB_URI.encode()).decode()})

    monkeypatch.setattr(extension, "answer", binary_answer)
    assert reader(extension.port).read_mongodb_uri(ARN) == MONGODB_URI


def test_not_ready_answers_at_init_are_retried(extension):
    extension.not_ready_answers = 2

    assert reader(extension.port).read(ARN) == json.dumps({"uri": MONGODB_URI})
    assert len(extension.requests) == 3


def test_an_extension_that_stays_not_ready_is_upstream_unavailable(extension):
    extension.not_ready_answers = 1000

    with pytest.raises(UpstreamUnavailable, match="HTTP 400"):
        reader(extension.port, ready_wait=0.2).read(ARN)


def test_an_unknown_secret_names_the_aws_error_and_is_not_cached(extension):
    subject = reader(extension.port)
    with pytest.raises(UpstreamUnavailable, match=r"missing.*ResourceNotFoundException"):
        subject.read("missing")

    extension.secrets["missing"] = "now it exists"
    assert subject.read("missing") == "now it exists"


def test_a_wrong_token_is_refused_and_not_retried_through_the_sdk(extension):
    fallbacks: list[str] = []
    subject = reader(extension.port, token="someone-else", fallback=lambda: fallbacks.append("built"))

    with pytest.raises(UpstreamUnavailable, match="HTTP 401"):
        subject.read(ARN)
    assert fallbacks == []  # a present extension that refuses is reported, not bypassed


def test_a_json_secret_without_the_key_is_a_format_error_without_the_value(extension):
    extension.secrets[ARN] = json.dumps({"password": "hunter2"})

    with pytest.raises(SecretFormatError, match="uri or MONGODB_URI") as raised:
        reader(extension.port).read_mongodb_uri(ARN)
    assert "hunter2" not in str(raised.value)


def test_without_the_extension_and_without_a_fallback_the_absence_is_reported():
    with pytest.raises(SecretsExtensionAbsent, match="no secrets extension listens"):
        reader(closed_port()).read(ARN)


# -- the boto3 fallback, under moto --------------------------------------------------------------


@pytest.fixture
def secretsmanager(mocked_aws: str):
    client = boto3.client("secretsmanager", region_name=mocked_aws)
    client.create_secret(Name="db", SecretString=MONGODB_URI)
    return client


def test_a_refused_connection_falls_back_to_secrets_manager_for_the_container(secretsmanager):
    built: list[SecretsManagerReader] = []

    def sdk() -> SecretsManagerReader:
        built.append(SecretsManagerReader(secretsmanager))
        return built[-1]

    subject = reader(closed_port(), fallback=sdk)

    assert subject.read_mongodb_uri("db") == MONGODB_URI
    secretsmanager.create_secret(Name="llm", SecretString="sk-123")
    assert subject.read("llm") == "sk-123"
    assert subject.uses_sdk and len(built) == 1  # decided once, not per secret


def test_without_a_session_token_the_extension_is_not_tried(secretsmanager, extension):
    subject = reader(extension.port, token=None, fallback=lambda: SecretsManagerReader(secretsmanager))

    assert subject.read_mongodb_uri("db") == MONGODB_URI
    assert extension.requests == []


# -- wiring in the production configuration ------------------------------------------------------


def production_environment(port: int) -> dict[str, str]:
    return {
        "MONGODB_SECRET_ARN": ARN,
        "AWS_SESSION_TOKEN": TOKEN,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
        "MONGODB_SERVER_SELECTION_TIMEOUT_MS": "100",
        "STAGE": "prod",
    }


def test_the_database_uri_is_read_through_the_extension(extension):
    extension.secrets[ARN] = "mongodb://127.0.0.1:1/"
    core = CoreContainer(Settings.from_environ(production_environment(extension.port)))

    core.database  # noqa: B018 - building it reads the secret (pymongo connects lazily)

    assert [request["secret_id"] for request in extension.requests] == [ARN]
    assert not core.secrets.uses_sdk


_READ_HANDLER_IN_PRODUCTION = r"""
import json, sys
event = json.loads(sys.stdin.read())
import list_workflows
response = list_workflows.handler(event, None)
print(json.dumps({
    "status": response["statusCode"],
    # Not even the bare ``botocore`` package, which aws_lambda_powertools' package init imports for its
    # user-agent hook unless observability.load_powertools hides it.
    "aws_sdk_modules": sorted(name for name in sys.modules if name.split(".")[0] in ("boto3", "botocore")),
    "powertools_logged": "aws_lambda_powertools.logging" in sys.modules,
}))
"""


def test_a_read_handler_in_production_loads_no_aws_sdk(extension):
    # Given the production configuration: the URI in Secrets Manager, the extension beside the function
    extension.secrets[ARN] = "mongodb://127.0.0.1:1/"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{REPO}/layers/domain/python:{REPO}/lambdas:{REPO}",
        **production_environment(extension.port),
    }
    event = proxy_event("list_workflows", caller=Caller("a" * 24, "alice"))
    # When a fresh interpreter imports the handler, wires it and serves its first request
    result = subprocess.run(
        [sys.executable, "-c", _READ_HANDLER_IN_PRODUCTION],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    # Then the secret came from the extension, the unreachable database made it a 503, and no AWS SDK loaded
    assert [request["secret_id"] for request in extension.requests] == [ARN]
    assert outcome == {"status": 503, "aws_sdk_modules": [], "powertools_logged": True}


# -- an extension that answers badly -------------------------------------------------------------


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A port that accepts connections and never answers (an extension that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    yield listener
    listener.close()


def test_an_extension_that_never_answers_is_upstream_unavailable_after_the_timeout(silent_listener):
    subject = SecretsExtensionReader(
        silent_listener.getsockname()[1], TOKEN, timeout_seconds=0.2, ready_wait_seconds=0.0, host="127.0.0.1"
    )

    with pytest.raises(UpstreamUnavailable, match="TimeoutError"):
        subject.read(ARN)


def test_an_answer_without_an_http_status_line_is_upstream_unavailable():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_garbage() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"garbage\r\n\r\n{}")

    server = threading.Thread(target=answer_garbage, daemon=True)
    server.start()
    try:
        with pytest.raises(UpstreamUnavailable, match="no HTTP status line"):
            reader(listener.getsockname()[1]).read(ARN)
    finally:
        server.join(timeout=5)
        listener.close()
