"""AWS Secrets Manager behind ``ports.SecretReader``, cached for the container's lifetime.

Secrets (the MongoDB URI, an LLM API key) are read during cold start or on first use; caching them
per container keeps a warm invocation at zero Secrets Manager calls. A rotated secret is picked up
by new containers, which is what Lambda's own secret-caching guidance accepts.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from workflow_service.errors import UpstreamUnavailable

MONGODB_URI_KEYS = ("uri", "MONGODB_URI")


class SecretFormatError(UpstreamUnavailable):
    """The secret exists but does not have the expected shape (not JSON, or the key is missing)."""


class SecretsManagerReader:
    """``ports.SecretReader`` over a boto3 ``secretsmanager`` client; each secret is fetched at most once.

    Failures raise ``UpstreamUnavailable`` naming the secret id and the AWS error code, never a value.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._cache: dict[str, str] = {}
        # One lock for all ids: reads are rare (cold start), and it guarantees a single fetch per id.
        self._lock = threading.Lock()

    def read(self, secret_id: str) -> str:
        """The secret's string value (``SecretString``, or ``SecretBinary`` decoded as UTF-8)."""
        cached = self._cache.get(secret_id)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(secret_id)
            if cached is None:
                cached = self._fetch(secret_id)
                self._cache[secret_id] = cached
        return cached

    def read_json_key(self, secret_id: str, key: str) -> str:
        """The string under ``key`` in a secret whose value is a JSON object."""
        document = self._json_object(secret_id)
        value = document.get(key)
        if not isinstance(value, str) or not value:
            raise SecretFormatError(f"secret {secret_id} has no non-empty string field {key!r}")
        return value

    def read_mongodb_uri(self, secret_id: str) -> str:
        """A MongoDB URI stored either as the plain secret string or in a JSON ``uri``/``MONGODB_URI`` field."""
        value = self.read(secret_id).strip()
        if not value.startswith("{"):
            if not value:
                raise SecretFormatError(f"secret {secret_id} is empty")
            return value
        document = self._json_object(secret_id)
        for key in MONGODB_URI_KEYS:
            candidate = document.get(key)
            if isinstance(candidate, str) and candidate:
                return candidate
        raise SecretFormatError(f"secret {secret_id} is a JSON object without a {' or '.join(MONGODB_URI_KEYS)} field")

    def _json_object(self, secret_id: str) -> dict[str, Any]:
        try:
            document = json.loads(self.read(secret_id))
        except ValueError:
            raise SecretFormatError(f"secret {secret_id} is not JSON") from None
        if not isinstance(document, dict):
            raise SecretFormatError(f"secret {secret_id} is JSON but not an object")
        return document

    def _fetch(self, secret_id: str) -> str:
        try:
            answer = self._client.get_secret_value(SecretId=secret_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise UpstreamUnavailable(f"could not read secret {secret_id} from Secrets Manager ({code})") from error
        except BotoCoreError as error:
            raise UpstreamUnavailable(
                f"could not read secret {secret_id} from Secrets Manager ({type(error).__name__})"
            ) from error
        if answer.get("SecretString") is not None:
            return str(answer["SecretString"])
        binary = answer.get("SecretBinary")
        if binary is not None:
            try:
                return bytes(binary).decode("utf-8")
            except UnicodeDecodeError:
                raise SecretFormatError(f"secret {secret_id} is binary and not UTF-8 text") from None
        raise SecretFormatError(f"secret {secret_id} has no value")
