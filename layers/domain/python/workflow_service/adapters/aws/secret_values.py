"""What every ``ports.SecretReader`` adapter shares: a per-container cache and the secret formats.

Secrets (the MongoDB URI, an LLM API key) are read during cold start or on first use; caching them
per container keeps a warm invocation at zero secret reads. A rotated secret is picked up by new
containers, which is what Lambda's own secret-caching guidance accepts.

This module imports nothing beyond the standard library: the secrets extension reader builds on it
without pulling in boto3 (see adapters/aws/secrets_extension.py).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from workflow_service.errors import UpstreamUnavailable

MONGODB_URI_KEYS = ("uri", "MONGODB_URI")


class SecretFormatError(UpstreamUnavailable):
    """The secret exists but does not have the expected shape (not JSON, or the key is missing)."""


class CachedSecretReader:
    """A ``ports.SecretReader`` that fetches each secret at most once per container (``_fetch``).

    Failures are not cached: a later read fetches again. Messages name the secret id, never a value.
    """

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}
        # One lock for all ids: reads are rare (cold start), and it guarantees a single fetch per id.
        self._lock = threading.Lock()

    def read(self, secret_id: str) -> str:
        """The secret's string value."""
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
        """The secret's value from its source; raises UpstreamUnavailable (or SecretFormatError)."""
        raise NotImplementedError


def secret_text(secret_id: str, secret_string: object, secret_binary: bytes | None) -> str:
    """The value of a GetSecretValue answer: ``SecretString``, else ``SecretBinary`` holding UTF-8."""
    if secret_string is not None:
        return str(secret_string)
    if secret_binary is None:
        raise SecretFormatError(f"secret {secret_id} has no value")
    try:
        return secret_binary.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFormatError(f"secret {secret_id} is binary and not UTF-8 text") from None
