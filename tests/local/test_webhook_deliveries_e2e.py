"""Outbound workflow webhooks end to end over HTTP against ``python -m local`` (issue 12, "Done when").

A receiver on 127.0.0.1 subscribes; runs started from every source (the execute API, POST
/workflow-runs, a one-time schedule, the SQS trigger queue, a signed inbound webhook) and a
workflow's create, update and delete each reach it as deliveries whose Standard Webhooks signature
and X-Interactly-Signature verify with the subscription's secret. A receiver failing once is
retried after the backoff; with no retries a failed event stays failed until a manual retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.support.local_runtime import LocalService
from tests.support.workflows import say_then_end

V1 = "/workflows/v1"
ENDS_AT_ONCE = say_then_end("Hello {{name}}")


class Receiver:
    """A webhook receiver on 127.0.0.1: records every delivery and answers from ``statuses``
    (in order; 200 once they run out)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.append(
                    {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "at": datetime.now(UTC)}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(delivery["body"]) for delivery in self.deliveries]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def service():
    # One runtime per test: a container caches which subscriptions a team has for up to 30 s, so a
    # subscription made while a cached answer is fresh would miss the test's events (documented).
    running = LocalService()
    yield running
    running.stop()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def subscribe(service: LocalService, url: str, **fields: Any) -> dict[str, Any]:
    status, body, _ = service.request("POST", f"{V1}/workflow-webhooks", {"name": "receiver", "url": url, **fields})
    assert status == 200, body
    return body


def create_workflow(service: LocalService, name: str) -> str:
    status, body, _ = service.request("POST", f"{V1}/workflows", {"name": name, "workflow_config": ENDS_AT_ONCE})
    assert status == 200, body
    return body["workflow"]["_id"]


def inbound_webhook_call(service: LocalService, trigger: dict[str, Any], payload: dict[str, Any]) -> int:
    body = json.dumps(payload)
    message_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(trigger["secret"]).sign(message_id, now, body),
    }
    status, _, _ = service.request("POST", trigger["webhook_path"], raw=body.encode(), headers=headers, api_key=None)
    return status


def verify(delivery: dict[str, Any], secret: str) -> dict[str, Any]:
    """Both signature schemes of one delivery, checked as a receiver would; the payload."""
    headers, body = delivery["headers"], delivery["body"]
    payload = Webhook(secret).verify(body, headers)
    key = secret.encode()  # the secret's text, as the product SDK's verify_signature keys it
    assert hmac.compare_digest(headers["x-interactly-signature"], hmac.new(key, body, hashlib.sha256).hexdigest())
    assert abs(int(headers["x-interactly-timestamp"]) - int(headers["webhook-timestamp"])) <= 1
    return payload


def events_of(service: LocalService, subscription_id: str) -> list[dict[str, Any]]:
    status, body, _ = service.request("GET", f"{V1}/workflow-webhooks/events?subscription_id={subscription_id}")
    assert status == 200, body
    return body["events"]


def test_a_loopback_subscriber_gets_signed_deliveries_for_every_run_source_and_workflow_change(service, receiver):
    # Given a subscription to every action, and a workflow with an SQS and a webhook trigger
    subscription = subscribe(service, receiver.url)
    workflow_id = create_workflow(service, "Greeter")
    assert service.request("PATCH", f"{V1}/workflows/{workflow_id}", {"description": "greets"})[0] == 200
    status, _, _ = service.request("POST", f"{V1}/workflows/{workflow_id}/triggers", {"type": "sqs", "name": "q"})
    assert status == 200
    status, hook, _ = service.request(
        "POST", f"{V1}/workflows/{workflow_id}/triggers", {"type": "webhook", "name": "h"}
    )
    assert status == 200, hook
    run_input = {"dynamic_variables": {"name": "Ann"}}

    # When runs start from each source
    status, executed, _ = service.request("POST", f"{V1}/workflows/{workflow_id}/execute", {"run_input": run_input})
    assert status == 200, executed
    status, started, _ = service.request(
        "POST", f"{V1}/workflow-runs", {"workflow_id": workflow_id, "command": "start", **run_input}
    )
    assert status in (200, 201, 202), started
    when = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    status, _, _ = service.request(
        "POST",
        f"{V1}/workflows/{workflow_id}/schedules",
        {"scheduled_time": when.isoformat().replace("+00:00", "Z"), "run_input": run_input},
    )
    assert status == 200
    status, _, _ = service.request(
        "POST", "/local/trigger-queue/messages", {"workflow_id": workflow_id, "run_input": run_input}
    )
    assert status in (200, 202)
    assert inbound_webhook_call(service, hook, {"name": "Ann"}) in (200, 202)

    # Then each source's run reaches the receiver as started, then completed
    sources = {"manual", "schedule", "sqs", "webhook"}

    def completed_runs() -> list[dict[str, Any]] | None:
        done = [p for p in receiver.payloads() if p["action"] == "workflow_run_completed"]
        return done if len(done) >= 5 and sources <= {p["trigger"]["type"] for p in done} else None

    completed = service.wait_for(completed_runs, timeout=60, interval=0.5)
    assert {p["status"] for p in completed} == {"completed"}
    started_events = [p for p in receiver.payloads() if p["action"] == "workflow_run_started"]
    assert {p["workflow_run_id"] for p in started_events} == {p["workflow_run_id"] for p in completed}

    # And deleting the workflow is delivered too
    assert service.request("DELETE", f"{V1}/workflows/{workflow_id}")[0] in (200, 204)
    service.wait_for(lambda: any(p["action"] == "workflow_deleted" for p in receiver.payloads()), timeout=30)

    # And every delivery verifies under both schemes, once per event
    payloads = [verify(delivery, subscription["signing_secret"]) for delivery in receiver.deliveries]
    actions = [payload["action"] for payload in payloads]
    assert actions.count("workflow_created") == 1 and actions.count("workflow_deleted") == 1
    assert actions.count("workflow_updated") >= 1
    event_ids = [delivery["headers"]["webhook-id"] for delivery in receiver.deliveries]
    assert len(event_ids) == len(set(event_ids))
    assert {event["status"] for event in events_of(service, subscription["id"])} == {"delivered"}


def test_a_receiver_that_fails_once_is_retried_after_the_backoff_and_both_attempts_are_logged(service):
    # Given a receiver that answers 500, then 200, and a subscription waiting 2 s between attempts
    receiver = Receiver(statuses=[500])
    try:
        subscription = subscribe(
            service, receiver.url, actions=["workflow_created"], retry_backoff_seconds=2, max_retries=3
        )
        # When a workflow is created
        create_workflow(service, "Retried")

        # Then the event ends delivered after two attempts, the second after the backoff
        def delivered() -> dict[str, Any] | None:
            events = events_of(service, subscription["id"])
            return events[0] if events and events[0]["status"] == "delivered" else None

        event = service.wait_for(delivered, timeout=60, interval=0.5)
        assert event["attempts_count"] == 2
        first, second = receiver.deliveries
        assert (second["at"] - first["at"]).total_seconds() >= 2
        assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == event["event_id"]
        status, attempts, _ = service.request("GET", f"{V1}/workflow-webhooks/events/{event['event_id']}/attempts")
        assert status == 200, attempts
        logged = sorted(attempts["attempts"], key=lambda attempt: attempt["attempt_number"])
        assert [(a["attempt_number"], a["success"], a["response_status_code"]) for a in logged] == [
            (1, False, 500),
            (2, True, 200),
        ]
    finally:
        receiver.close()


def test_with_no_retries_a_failing_receiver_leaves_the_event_failed_until_a_manual_retry(service):
    # Given a receiver that fails once and a subscription without retries
    receiver = Receiver(statuses=[503])
    try:
        subscription = subscribe(service, receiver.url, actions=["workflow_created"], max_retries=0)
        create_workflow(service, "Failed once")

        def settled(status: str):
            def probe() -> dict[str, Any] | None:
                events = events_of(service, subscription["id"])
                return events[0] if events and events[0]["status"] == status else None

            return probe

        # When its only attempt fails, Then the event is failed with what the receiver answered
        failed = service.wait_for(settled("failed"), timeout=60, interval=0.5)
        assert failed["attempts_count"] == 1 and failed["last_status_code"] == 503

        # When the user retries it, Then a second attempt delivers it
        status, retried, _ = service.request("POST", f"{V1}/workflow-webhooks/events/{failed['event_id']}/retry")
        assert status == 200, retried
        assert retried["event_id"] == failed["event_id"]
        delivered = service.wait_for(settled("delivered"), timeout=60, interval=0.5)
        assert delivered["attempts_count"] == 2
        assert len(receiver.deliveries) == 2
    finally:
        receiver.close()
