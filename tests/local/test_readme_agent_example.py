"""The README's agent example (issue 13, item 8), run verbatim with bash against ``python -m local``.

The block marked ``<!-- agent-example -->`` runs after the walk-through's shell set-up (API, AUTH,
``field``); its weather server's port is swapped for a free one so parallel runs do not collide.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.local.test_readme_walkthrough import readme_dev_key, walkthrough_blocks
from tests.support.local_runtime import REPO, LocalService, free_port

AGENT_BLOCK = re.compile(r"<!-- agent-example -->\n```bash\n(.*?)```", re.DOTALL)


@pytest.fixture(scope="module")
def service():
    running = LocalService(api_key=readme_dev_key())
    yield running
    running.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the example uses curl")
def test_the_readme_agent_example_calls_its_tool_and_answers_from_the_result(service):
    (example,) = AGENT_BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))
    setup = walkthrough_blocks()[0].split("# A workflow:")[0]
    script = "set -euo pipefail\n" + setup + example.replace("8765", str(free_port()))
    environment = {name: value for name, value in os.environ.items() if name not in ("KEY", "API", "LOCAL")}

    finished = subprocess.run(
        ["bash", "-c", script],
        env={**environment, "PORT": str(service.port), "NO_PROXY": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 0, f"stdout:\n{finished.stdout}\nstderr:\n{finished.stderr}"
    assert finished.stdout.splitlines() == [
        "llm [{'id': 'scripted_0_0', 'name': 'get_weather', 'arguments': {'city': 'Paris'}}]",
        "http_request {'city': 'Paris'}",
        "llm []",
        'say_llm The forecast: {"status": 200, "body": {"city": "Paris", "sky": "sunny", "celsius": 21}}',
        "2",
    ]
