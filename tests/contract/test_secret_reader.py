"""``ports.SecretReader``: the same assertions over Secrets Manager (moto) and the tests' in-memory fake.

There is no local adapter: the local runtime wires ``SecretsManagerReader`` too, and only uses it when a
``*_SECRET_ARN`` setting is given (otherwise ``MONGODB_URI`` and the LLM key are plain settings). The
fake is what unit tests hand to services, so it is held to the adapter's contract here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import boto3
import pytest

from tests.fakes.secrets import FakeSecretReader
from workflow_service.adapters.aws.secrets import SecretsManagerReader
from workflow_service.errors import UpstreamUnavailable
from workflow_service.ports import SecretReader

SECRET_ID = "workflows/llm-api-key"


@dataclass
class SecretsUnderTest:
    reader: SecretReader
    store: Callable[[str, str], None]  # create or replace a secret's value at the source


def secrets_manager(request: pytest.FixtureRequest) -> SecretsUnderTest:
    client = boto3.client("secretsmanager", region_name=request.getfixturevalue("mocked_aws"))

    def store(secret_id: str, value: str) -> None:
        try:
            client.put_secret_value(SecretId=secret_id, SecretString=value)
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=secret_id, SecretString=value)

    return SecretsUnderTest(SecretsManagerReader(client), store)


def fake(request: pytest.FixtureRequest) -> SecretsUnderTest:
    reader = FakeSecretReader({})
    return SecretsUnderTest(reader, reader.values.__setitem__)


@pytest.fixture(params=[secrets_manager, fake], ids=["secretsmanager", "fake"])
def subject(request: pytest.FixtureRequest) -> SecretsUnderTest:
    return request.param(request)


def test_a_secret_reads_as_its_string_value(subject):
    subject.store(SECRET_ID, "sk-live-123")
    subject.store("workflows/other", "other-value")
    assert subject.reader.read(SECRET_ID) == "sk-live-123"
    assert subject.reader.read("workflows/other") == "other-value"


def test_a_value_is_cached_for_the_container_lifetime(subject):
    # Given a secret read once
    subject.store(SECRET_ID, "first")
    assert subject.reader.read(SECRET_ID) == "first"
    # When it is rotated at the source
    subject.store(SECRET_ID, "second")
    # Then this container keeps the value it read
    assert subject.reader.read(SECRET_ID) == "first"


def test_a_missing_secret_is_upstream_unavailable_naming_it_and_is_not_cached(subject):
    # When a secret that does not exist is read
    with pytest.raises(UpstreamUnavailable, match=SECRET_ID):
        subject.reader.read(SECRET_ID)
    # Then once it is created, the next read finds it
    subject.store(SECRET_ID, "now it exists")
    assert subject.reader.read(SECRET_ID) == "now it exists"
