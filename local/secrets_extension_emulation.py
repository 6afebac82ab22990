"""The AWS Parameters and Secrets Lambda Extension, emulated on 127.0.0.1 (for benches and tests).

It serves ``GET /secretsmanager/get?secretId=<id>`` from a dict, the way the extension does: the
``X-Aws-Parameters-Secrets-Token`` header must carry the session token, an unknown id answers 400
with Secrets Manager's error code, and the first ``not_ready_answers`` requests answer 400 "not
ready to serve traffic" as the real extension does while it starts up.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
DEFAULT_PORT = 2773


class EmulatedSecretsExtension:
    """Started on construction; ``close()`` stops it. ``port=0`` picks a free port (see ``self.port``)."""

    def __init__(
        self,
        secrets: dict[str, str],
        *,
        session_token: str,
        port: int = DEFAULT_PORT,
        not_ready_answers: int = 0,
    ) -> None:
        self.secrets = secrets
        self.session_token = session_token
        self.not_ready_answers = not_ready_answers
        self.requests: list[dict[str, Any]] = []
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, payload = emulator.answer(self.path, self.headers.get(TOKEN_HEADER))
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port: int = self._server.server_address[1]
        # A short poll interval: close() returns promptly.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def answer(self, path: str, token: str | None) -> tuple[int, str]:
        """The status and body the extension gives ``GET path`` with ``token``."""
        parsed = urllib.parse.urlsplit(path)
        secret_id = (urllib.parse.parse_qs(parsed.query).get("secretId") or [""])[0]
        self.requests.append({"path": parsed.path, "secret_id": secret_id, "token": token})
        if self.not_ready_answers > 0:
            self.not_ready_answers -= 1
            return 400, "not ready to serve traffic, please wait"
        if token != self.session_token:
            return 401, json.dumps({"message": "unauthorized"})
        if parsed.path != "/secretsmanager/get":
            return 404, json.dumps({"message": "not found"})
        if secret_id not in self.secrets:
            return 400, json.dumps(
                {"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."}
            )
        return 200, json.dumps({"ARN": secret_id, "Name": secret_id, "SecretString": self.secrets[secret_id]})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
