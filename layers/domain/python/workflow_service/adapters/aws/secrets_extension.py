"""Secrets through the AWS Parameters and Secrets Lambda Extension: one local HTTP call, no SDK.

The extension runs beside the function (a Lambda layer) and serves
``GET http://localhost:<port>/secretsmanager/get?secretId=<id>``, authenticated by the function's
``AWS_SESSION_TOKEN`` in ``X-Aws-Parameters-Secrets-Token``; the JSON answer is Secrets Manager's
GetSecretValue response. Reading the MongoDB URI this way keeps boto3 and botocore (about 550 ms of
CPU) off the cold path of every handler that does not call AWS itself.

When the extension is absent, the reader falls back to the SDK reader it is given, built on first
need (so boto3 is imported only then). Absent means either:
- there is no ``AWS_SESSION_TOKEN`` (not in Lambda, or long-term credentials): the extension could
  not authenticate the call, so it is not tried; or
- nothing listens on the port (the connection is refused): the layer is not attached. Lambda
  finishes every extension's init before the function's own init starts, so a refused connection
  is not an extension still starting up; that state answers HTTP 400 "not ready", which is retried
  for a short while.
The fallback is decided once per container; a failure of a present extension (a timeout, an access
error) is reported, never silently retried through the SDK.

The call is one HTTP/1.0 GET over a plain socket rather than through ``urllib.request``: that module
and ``http.client`` are about 5 ms of CPU to import, a fifth of a handler's whole cold-start budget
(DESIGN.md section 10), for a request to a fixed local endpoint. HTTP/1.0 rules out chunked
answers and keep-alive, so the answer is the status line, headers and a body that ends at close.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import time
import urllib.parse
from collections.abc import Callable

from workflow_service.adapters.aws.secret_values import CachedSecretReader, SecretFormatError, secret_text
from workflow_service.errors import UpstreamUnavailable
from workflow_service.ports.secrets import SecretReader

logger = logging.getLogger(__name__)

EXTENSION_HOST = "localhost"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
# Pause between two "not ready" answers during the extension's own start-up.
_NOT_READY_PAUSE_SECONDS = 0.05
# A secret is at most 64 KiB; an answer far larger than that is not the extension's.
_MAX_ANSWER_BYTES = 1024 * 1024
_AWS_ERROR_CODE = re.compile(r"\b([A-Z][A-Za-z]+(?:Exception|Error))\b")


class SecretsExtensionAbsent(UpstreamUnavailable):
    """Nothing listens on the extension's port: the layer is not attached to this function."""


class SecretsExtensionReader(CachedSecretReader):
    """``ports.SecretReader`` over the Parameters and Secrets Lambda Extension, with an SDK fallback.

    ``session_token`` None means the extension cannot be used (see the module docstring);
    ``sdk_fallback`` builds the reader used then (None: report the extension as absent).
    """

    def __init__(
        self,
        port: int,
        session_token: str | None,
        *,
        timeout_seconds: float,
        ready_wait_seconds: float,
        sdk_fallback: Callable[[], SecretReader] | None = None,
        host: str = EXTENSION_HOST,
    ) -> None:
        super().__init__()
        self._host, self._port = host, port
        self._base_url = f"http://{host}:{port}/secretsmanager/get"
        self._session_token = session_token
        self._timeout_seconds = timeout_seconds
        self._ready_wait_seconds = ready_wait_seconds
        self._sdk_fallback = sdk_fallback
        self._sdk: SecretReader | None = None

    @property
    def uses_sdk(self) -> bool:
        """Whether this container reads secrets through the SDK fallback (decided on the first read)."""
        return self._sdk is not None

    def _fetch(self, secret_id: str) -> str:
        if self._sdk is None:
            try:
                return self._fetch_from_extension(secret_id)
            except SecretsExtensionAbsent as absent:
                if self._sdk_fallback is None:
                    raise
                logger.warning("%s; reading secrets through the AWS SDK instead", absent.message)
                self._sdk = self._sdk_fallback()
        return self._sdk.read(secret_id)

    def _fetch_from_extension(self, secret_id: str) -> str:
        if not self._session_token:
            raise SecretsExtensionAbsent("no AWS_SESSION_TOKEN to authenticate to the secrets extension")
        target = f"/secretsmanager/get?{urllib.parse.urlencode({'secretId': secret_id})}"
        give_up_at = time.monotonic() + self._ready_wait_seconds
        while True:
            status, body = self._get(target, secret_id)
            if status == 200:
                return _secret_value(secret_id, body)
            if status == 400 and b"not ready" in body.lower() and time.monotonic() < give_up_at:
                time.sleep(_NOT_READY_PAUSE_SECONDS)
                continue
            code = _AWS_ERROR_CODE.search(body.decode("utf-8", "replace"))
            detail = f"HTTP {status}" + (f", {code.group(1)}" if code else "")
            raise UpstreamUnavailable(f"could not read secret {secret_id} through the secrets extension ({detail})")

    def _get(self, target: str, secret_id: str) -> tuple[int, bytes]:
        """One GET to the extension: its status and body. Never proxied: the extension is on this machine."""
        request = (
            f"GET {target} HTTP/1.0\r\nHost: {self._host}:{self._port}\r\n"
            f"{TOKEN_HEADER}: {self._session_token or ''}\r\nAccept: application/json\r\n\r\n"
        ).encode("latin-1")
        try:
            with socket.create_connection((self._host, self._port), timeout=self._timeout_seconds) as connection:
                connection.sendall(request)
                answer = _read_to_close(connection)
        except ConnectionRefusedError as error:
            raise SecretsExtensionAbsent(f"no secrets extension listens on {self._base_url}") from error
        except OSError as error:  # a timeout, a reset, an unresolvable host
            raise UpstreamUnavailable(
                f"could not read secret {secret_id} through the secrets extension ({type(error).__name__})"
            ) from error
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") or not status_line[1].isdigit():
            raise UpstreamUnavailable(f"the secrets extension answered secret {secret_id} with no HTTP status line")
        return int(status_line[1]), body


def _read_to_close(connection: socket.socket) -> bytes:
    chunks: list[bytes] = []
    received = 0
    while chunk := connection.recv(65536):
        chunks.append(chunk)
        received += len(chunk)
        if received > _MAX_ANSWER_BYTES:
            raise OSError("answer too large")
    return b"".join(chunks)


def _secret_value(secret_id: str, body: bytes) -> str:
    """``SecretString`` of the extension's answer, or ``SecretBinary`` (base64 in JSON) as UTF-8 text."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise UpstreamUnavailable(f"the secrets extension answered secret {secret_id} with invalid JSON") from None
    if not isinstance(answer, dict):
        raise UpstreamUnavailable(f"the secrets extension answered secret {secret_id} with an unexpected shape")
    binary = answer.get("SecretBinary")
    try:
        decoded = None if binary is None else base64.b64decode(binary, validate=True)
    except (ValueError, TypeError):
        raise SecretFormatError(f"secret {secret_id} has a SecretBinary that is not base64") from None
    return secret_text(secret_id, answer.get("SecretString"), decoded)
