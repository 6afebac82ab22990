from __future__ import annotations

import pytest

from tests.support.fake_http_server import RecordingServer
from workflow_service.settings import Settings


@pytest.fixture
def settings() -> Settings:
    # http_request nodes in these tests call a fake server on this machine.
    return Settings.from_environ(
        {"WORKFLOWS_LOCAL_RUNTIME": "true", "HTTP_NODE_ALLOW_LOOPBACK": "true", "HTTP_NODE_REQUIRE_HTTPS": "false"}
    )


@pytest.fixture
def weather_server():
    server = RecordingServer({"/weather": (200, {"forecast": "sunny"})})
    yield server
    server.close()
