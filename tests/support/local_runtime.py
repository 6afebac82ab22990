"""Starts ``python -m local`` as a subprocess and talks to it over HTTP, as a new user would."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_runtime_environment(**overrides: str) -> dict[str, str]:
    """This process's environment plus what ``python -m local`` needs from the repository (no MONGODB_URI)."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO / p) for p in ("layers/domain/python", "lambdas", ".")),
        **overrides,
    }
    environment.pop("MONGODB_URI", None)
    return environment


class LocalService:
    """A running local runtime; ``request`` sends JSON with the development key.

    With ``api_key=None`` the runtime chooses the key (as ``make run`` without WORKFLOWS_DEV_API_KEY)
    and ``api_key`` is read from its banner. ``module`` is what ``python -m`` runs (a launcher that
    wraps ``local``, e.g. the fuzz run's offline one).
    """

    def __init__(
        self,
        env: dict[str, str] | None = None,
        api_key: str | None = "wfk_test_dev_key_0123456789",
        port: int | None = None,
        module: str = "local",
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        environment = local_runtime_environment(WORKFLOWS_DEV_API_KEY=api_key or "", **(env or {}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "--port", str(self.port)],
            cwd=REPO,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.banner = self._wait_until_serving()
        self.api_key = api_key or re.search(r"API key\s+(\S+)", self.banner).group(1)

    def _wait_until_serving(self, timeout: float = 60.0) -> str:
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError("local runtime exited:\n" + "".join(lines))
            lines.append(line)
            if "Press Ctrl-C" in line:
                return "".join(lines)
        self.stop()
        raise RuntimeError("local runtime did not start in time:\n" + "".join(lines))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        api_key: str | None = "",
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        key = self.api_key if api_key == "" else api_key
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text, reply_headers = response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, text, reply_headers = error.code, error.read().decode(), dict(error.headers)
        try:
            return status, json.loads(text) if text else None, reply_headers
        except ValueError:
            return status, text, reply_headers

    def wait_for(self, predicate, timeout: float = 20.0, interval: float = 0.2):
        """Poll ``predicate()`` until it returns something truthy; that value, or AssertionError."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"condition not met within {timeout} s")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.stdout.read() if self.process.stdout else ""
