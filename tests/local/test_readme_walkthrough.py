"""The README's local walk-through, run verbatim with bash against ``python -m local`` on a free PORT.

The blocks marked ``<!-- walkthrough -->`` are what a newcomer pastes into a second shell; they run
here in order, under ``set -euo pipefail``, so a command that fails or a field that is missing
fails the test. The Deploy section is never marked, so it never runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.support.local_runtime import REPO, LocalService

MARKED_BLOCK = re.compile(r"<!-- walkthrough -->\n```bash\n(.*?)```", re.DOTALL)


def walkthrough_blocks() -> list[str]:
    return MARKED_BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))


def readme_dev_key() -> str:
    """The key the README tells the newcomer to start ``make run`` with."""
    found = re.search(r"export KEY=(\S+)", (REPO / "README.md").read_text(encoding="utf-8"))
    assert found, "the README walk-through no longer starts make run with a chosen key"
    return found.group(1)


@pytest.fixture(scope="module")
def service():
    running = LocalService(api_key=readme_dev_key())
    yield running
    running.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_readme_walkthrough_runs_as_written(service):
    blocks = walkthrough_blocks()
    assert len(blocks) == 3, "expected the workflow, trigger-queue and team-isolation blocks"
    environment = {name: value for name, value in os.environ.items() if name not in ("KEY", "API", "LOCAL")}
    script = "set -euo pipefail\n" + "\n".join(blocks)

    finished = subprocess.run(
        ["bash", "-c", script],
        env={**environment, "PORT": str(service.port), "NO_PROXY": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 0, f"stdout:\n{finished.stdout}\nstderr:\n{finished.stderr}"
    printed = finished.stdout.splitlines()
    assert re.fullmatch(r"workflow [0-9a-f]{24}", printed[0])  # the workflow was created
    assert printed[1:4] == ["1", "1", "v1"]  # version 1 made, activated, listed
    assert printed[4:8] == ["Hi Ann! Shall we start?", "waiting_for_user_input", "completed", "completed"]
    # The SQS trigger, and the run its message started, with the name the Greeter needs.
    assert printed[8] == "True" and printed[10:12] == ["sqs", "waiting_for_user_input"]
    assert printed[-2:] == ["0", "404"]  # the second team sees nothing of the first's
