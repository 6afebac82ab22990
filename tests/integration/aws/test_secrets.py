"""SecretsManagerReader against Secrets Manager under moto, beyond the port's contract
(tests/contract/test_secret_reader.py): call counts, JSON keys, MongoDB URIs, binary secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from workflow_service.adapters.aws.secrets import SecretFormatError, SecretsManagerReader
from workflow_service.errors import UpstreamUnavailable

REGION = "us-east-1"
MONGODB_URI = "mongodb+srv://svc:p%40ss@cluster0.example.mongodb.net/workflows?retryWrites=true"


class CountingClient:
    """Wraps a boto3 client and counts GetSecretValue calls."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.get_secret_value_calls = 0

    def get_secret_value(self, **kwargs: Any) -> dict[str, Any]:
        self.get_secret_value_calls += 1
        return self._client.get_secret_value(**kwargs)


@pytest.fixture
def secretsmanager(mocked_aws: str) -> Iterator[Any]:
    yield boto3.client("secretsmanager", region_name=REGION)


def test_reads_a_string_secret_once_per_container(secretsmanager: Any) -> None:
    arn = secretsmanager.create_secret(Name="llm/openai-key", SecretString="sk-live-123")["ARN"]
    client = CountingClient(secretsmanager)
    reader = SecretsManagerReader(client)

    assert reader.read(arn) == "sk-live-123"
    assert reader.read(arn) == "sk-live-123"

    assert client.get_secret_value_calls == 1


def test_reads_a_key_of_a_json_secret(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="db", SecretString=json.dumps({"uri": MONGODB_URI, "username": "svc"}))
    client = CountingClient(secretsmanager)
    reader = SecretsManagerReader(client)

    assert reader.read_json_key("db", "uri") == MONGODB_URI
    assert reader.read_json_key("db", "username") == "svc"
    assert client.get_secret_value_calls == 1


@pytest.mark.parametrize(
    "secret_string",
    [MONGODB_URI, json.dumps({"uri": MONGODB_URI}), json.dumps({"MONGODB_URI": MONGODB_URI, "engine": "mongo"})],
)
def test_mongodb_uri_from_a_plain_or_json_secret(secretsmanager: Any, secret_string: str) -> None:
    secretsmanager.create_secret(Name="db", SecretString=secret_string)

    assert SecretsManagerReader(secretsmanager).read_mongodb_uri("db") == MONGODB_URI


def test_a_missing_json_key_is_reported_without_the_secret_value(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="db", SecretString=json.dumps({"password": "hunter2"}))
    reader = SecretsManagerReader(secretsmanager)

    with pytest.raises(SecretFormatError, match="'uri'") as raised:
        reader.read_json_key("db", "uri")
    with pytest.raises(SecretFormatError, match="uri or MONGODB_URI"):
        reader.read_mongodb_uri("db")

    assert "hunter2" not in str(raised.value)


def test_a_secret_that_is_not_json_cannot_be_read_by_key(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="plain", SecretString="not-json-value")

    with pytest.raises(SecretFormatError, match="not JSON") as raised:
        SecretsManagerReader(secretsmanager).read_json_key("plain", "uri")

    assert "not-json-value" not in str(raised.value)


def test_binary_secrets_are_read_as_text(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="bin", SecretBinary=b"binary-but-text")

    assert SecretsManagerReader(secretsmanager).read("bin") == "binary-but-text"


def test_a_missing_secret_is_upstream_unavailable_and_is_not_cached(secretsmanager: Any) -> None:
    client = CountingClient(secretsmanager)
    reader = SecretsManagerReader(client)

    with pytest.raises(UpstreamUnavailable, match=r"does-not-exist.*ResourceNotFoundException"):
        reader.read("does-not-exist")
    secretsmanager.create_secret(Name="does-not-exist", SecretString="now it does")

    assert reader.read("does-not-exist") == "now it does"
    assert client.get_secret_value_calls == 2
