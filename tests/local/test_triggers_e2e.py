"""End to end over HTTP against ``python -m local``: signed webhooks, a team limit of 1, FIFO start.

Team limit 1, a workflow whose first turn waits for the user, a webhook trigger. Two signed calls:
the first run takes the slot (its first turn runs on the local worker and then waits for input),
the second is queued at position 1. When the first run completes through the execute API, the
second starts. Everything goes through the real gateway, handlers, worker queue and MongoDB stand-in.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.support.workflows import say_then_end

ROOT = Path(__file__).resolve().parents[2]
API_KEY = f"wfk_e2e_{uuid.uuid4().hex}"
STARTUP_SECONDS = 60
WAIT_SECONDS = 30
# No proxy from the environment may sit between the test and 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

WAITS_FOR_THE_USER = say_then_end(
    "Hello {{customer}}, how can we help?", wait_for_user=True, ids=("greet", "done", "e1")
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: str | None = None,
        authorized: bool = True,
    ) -> tuple[int, Any]:
        data = raw.encode() if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if authorized:
            all_headers["Authorization"] = f"Bearer {API_KEY}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=all_headers)
        try:
            with _OPENER.open(request, timeout=30) as response:
                payload = response.read()
                return response.status, json.loads(payload) if payload else None
        except urllib.error.HTTPError as error:
            payload = error.read()
            return error.code, json.loads(payload) if payload else None


def wait_until(what: str, probe: Callable[[], Any], seconds: float = WAIT_SECONDS) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(ROOT / part) for part in ("layers/domain/python", "lambdas", ".")),
        "WORKFLOWS_DEV_API_KEY": API_KEY,
        "DEFAULT_TEAM_MAX_CONCURRENT_RUNS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    environment.pop("MONGODB_URI", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    client = Api(f"http://127.0.0.1:{port}")
    try:

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"the local runtime exited with {process.returncode}:\n{process.stdout.read()}")
            try:
                return client.request("GET", "/workflows/v1/workflows")[0] == 200
            except OSError:
                return False

        wait_until("the local runtime to answer", ready, STARTUP_SECONDS)
        yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def signed_call(api: Api, trigger: dict[str, Any], payload: dict[str, Any]) -> tuple[int, Any]:
    body = json.dumps(payload)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(trigger["secret"]).sign(webhook_id, now, body),
    }
    return api.request("POST", trigger["webhook_path"], raw=body, headers=headers, authorized=False)


def run_of(api: Api, run_id: str) -> dict[str, Any]:
    status, body = api.request("GET", f"/workflows/v1/workflow-runs/{run_id}")
    assert status == 200, body
    return body["workflow_run"]["workflow_run"]


def test_two_webhook_calls_with_a_team_limit_of_one_run_one_after_the_other(api):
    # Given a workflow that waits for the user after greeting, and a webhook trigger on it
    status, created = api.request(
        "POST", "/workflows/v1/workflows", {"name": "Ticket intake", "workflow_config": WAITS_FOR_THE_USER}
    )
    assert status == 200, created
    workflow_id = created["workflow"]["_id"]
    status, trigger = api.request(
        "POST", f"/workflows/v1/workflows/{workflow_id}/triggers", {"type": "webhook", "name": "Helpdesk"}
    )
    assert status == 200, trigger

    # When two signed calls arrive
    first_status, first = signed_call(api, trigger, {"customer": "Ada"})
    second_status, second = signed_call(api, trigger, {"customer": "Grace"})

    # Then the first run holds the team's only slot and the second waits first in line
    assert (first_status, second_status) == (202, 202), (first, second)
    # (the local worker may already have run its first turn by the time the 202 is written)
    assert first["status"] in ("started", "running", "waiting_for_user_input") and first["queue_position"] is None
    assert second["status"] == "not_started" and second["queue_position"] == 1
    waiting = wait_until(
        "the first run to wait for the user",
        lambda: (run := run_of(api, first["run_id"]))["status"] == "waiting_for_user_input" and run,
    )
    assert waiting["trigger"]["type"] == "webhook"
    queued = run_of(api, second["run_id"])
    assert queued["status"] == "not_started" and queued["queue_position"] == 1

    # When the first run gets its reply and completes
    reply = {"node_run_inputs": [{"type": "llm", "messages": [{"role": "user", "content": "My order is late"}]}]}
    status, turn = api.request(
        "POST",
        f"/workflows/v1/workflows/{workflow_id}/execute",
        {
            "run_id": first["run_id"],
            "run_input": {"command": "data", "thread_to_node_inputs": {"0": reply}},
        },
    )
    assert status == 200, turn
    assert turn["status"] == "completed" and turn["is_completed"] is True

    # Then the second run is started from the queue and runs its first turn with its own input
    started = wait_until(
        "the queued run to start", lambda: (run := run_of(api, second["run_id"]))["status"] != "not_started" and run
    )
    assert started["status"] in ("started", "running", "waiting_for_user_input")
    greeted = wait_until(
        "the second run's greeting", lambda: (run := run_of(api, second["run_id"]))["input_output_pairs"] and run
    )
    assert "Hello Grace" in json.dumps(greeted["input_output_pairs"][0]["run_output"])


def test_a_message_sent_to_the_local_trigger_queue_starts_a_run_and_a_poison_one_stays_for_redelivery(api):
    # Given a workflow with an SQS trigger
    status, created = api.request(
        "POST", "/workflows/v1/workflows", {"name": "Lead intake", "workflow_config": WAITS_FOR_THE_USER}
    )
    assert status == 200, created
    workflow_id = created["workflow"]["_id"]
    status, trigger = api.request(
        "POST", f"/workflows/v1/workflows/{workflow_id}/triggers", {"type": "sqs", "name": "CRM events"}
    )
    assert status == 200, trigger

    # When a valid and an invalid message are sent through the local-only endpoint
    body = json.dumps(
        {
            "workflow_id": workflow_id,
            "run_input": {"dynamic_variables": {"customer": "Lin"}},
            "idempotency_key": "lead-1",
        }
    )
    status, sent = api.request("POST", "/local/trigger-queue/messages", raw=body)
    assert status == 202, sent
    status, poison = api.request("POST", "/local/trigger-queue/messages", raw="not json")
    assert status == 202, poison

    # Then the consumer makes one run for the workflow's team, linked to the message
    def the_run() -> dict[str, Any] | None:
        status, listed = api.request("GET", f"/workflows/v1/workflow-runs?workflow_id={workflow_id}")
        assert status == 200, listed
        return listed["workflow_runs"][0] if listed["workflow_runs"] else None

    run = wait_until("the queued message's run", the_run)
    details = run_of(api, run["_id"])
    assert details["trigger"] == {
        **details["trigger"],
        "type": "sqs",
        "trigger_id": trigger["_id"],
        "message_id": sent["message_id"],
        "idempotency_key": "lead-1",
    }

    # And the invalid message was reported as failed: kept in flight for redelivery, not deleted
    def poison_in_flight() -> bool:
        status, counts = api.request("GET", "/local/trigger-queue")
        assert status == 200, counts
        return counts["in_flight"] == 1 and counts["dead_letter_queue"]["messages"] == 0

    wait_until("the invalid message to be failed and kept for redelivery", poison_in_flight)
