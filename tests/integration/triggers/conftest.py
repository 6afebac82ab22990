"""Helpers for the trigger suites: workflows and triggers made over the API, signed webhook calls, SQS events."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.support.api import Caller, Reply, call
from workflow_service.settings import Settings

MAX_WEBHOOK_BODY_BYTES = 2048
TOLERANCE_SECONDS = 300


@pytest.fixture
def settings() -> Settings:
    """The shared test settings with a small webhook body limit, so the 413 test stays cheap."""
    return Settings.from_environ(
        {
            "WORKFLOWS_LOCAL_RUNTIME": "true",
            "STAGE": "test",
            "WEBHOOK_MAX_BODY_BYTES": str(MAX_WEBHOOK_BODY_BYTES),
            "WEBHOOK_TOLERANCE_SECONDS": str(TOLERANCE_SECONDS),
        }
    )


def create_workflow(caller: Caller, **fields: Any) -> str:
    reply = call("create_workflow", caller=caller, body={"name": "Intake", **fields})
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def create_trigger(caller: Caller, workflow_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    reply = call(
        "create_trigger",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"type": kind, "name": f"{kind} trigger", **fields},
    )
    assert reply.status == 200, reply
    return reply.body


def signed_headers(secret: str, webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    """Standard Webhooks headers as the reference library signs them."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


def post_webhook(trigger_id: str, body: str, headers: dict[str, str] | None = None) -> Reply:
    return call("receive_webhook", path={"trigger_id": trigger_id}, raw_body=body, headers=headers or {})


def send_signed(trigger: dict[str, Any], payload: Any, at: datetime, webhook_id: str | None = None) -> Reply:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    return post_webhook(trigger["_id"], body, signed_headers(trigger["secret"], webhook_id, at, body))


def sqs_record(body: str, message_id: str | None = None, receive_count: int = 1) -> dict[str, Any]:
    """One record of an SQS event source mapping's event."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1893499200000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1893499200001",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:workflow-trigger-queue",
        "awsRegion": "us-east-1",
    }


def consume(*records: dict[str, Any]) -> dict[str, Any]:
    """Invoke the trigger-queue consumer like the event source mapping does; returns its batch response."""
    from trigger_queue_consumer import handler

    return handler({"Records": list(records)}, None)


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def runs_in_store(services: Any, **selector: Any) -> list[dict[str, Any]]:
    return list(services.core.database.raw["workflow_runs"].find(selector))
