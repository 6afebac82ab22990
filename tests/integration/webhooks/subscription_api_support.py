"""Helpers for the subscription and event-log suites: subscriptions made over the API, stored events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.api import Caller, call
from workflow_service.ports.webhooks import event_id_for

RECEIVER = "https://hooks.example.com/interactly"


def create_webhook(caller: Caller, **fields: Any) -> dict[str, Any]:
    reply = call("create_workflow_webhook", caller=caller, body={"name": "CRM sync", "url": RECEIVER, **fields})
    assert reply.status == 200, reply
    return reply.body


def listed_webhooks(caller: Caller, **query: Any) -> dict[str, Any]:
    reply = call("list_workflow_webhooks", caller=caller, query=query)
    assert reply.status == 200, reply
    return reply.body


def stored_subscriptions(services) -> list[dict[str, Any]]:
    return list(services.core.database.raw["webhook_subscriptions"].find())


def store_event(
    services,
    subscription: dict[str, Any],
    team_id: str,
    *,
    at: datetime,
    dedupe_key: str = "workflow_created:65f1a2b3c4d5e6f708192a3b",
    status: str = "pending",
    attempts_count: int = 0,
    **fields: Any,
) -> str:
    """An event as the outbox writes it (ports.webhooks's stored shape)."""
    event_id = event_id_for(subscription["id"], dedupe_key)
    document = {
        "_id": event_id,
        "event_id": event_id,
        "subscription_id": subscription["id"],
        "team_id": team_id,
        "action": "workflow_created",
        "workflow_id": "65f1a2b3c4d5e6f708192a3b",
        "workflow_name": "Intake",
        "workflow_run_id": None,
        "workflow_run_status": None,
        "payload": {"workflow": {"name": "Intake"}},
        "dedupe_key": dedupe_key,
        "status": status,
        "attempts_count": attempts_count,
        "next_retry_at": None,
        "delivered_at": None,
        "last_attempt_at": None,
        "last_status_code": None,
        "last_error": None,
        "claimed_until": None,
        "created_at": at,
        "updated_at": at,
        "created_by": "system",
        "updated_by": "system",
        **fields,
    }
    services.core.database.raw["webhook_events"].insert_one(document)
    return event_id


def store_attempt(services, event_id: str, subscription_id: str, team_id: str, number: int, at: datetime, **fields):
    services.core.database.raw["webhook_attempts"].insert_one(
        {
            "_id": f"{event_id}:{number}",
            "event_id": event_id,
            "subscription_id": subscription_id,
            "team_id": team_id,
            "attempt_number": number,
            "action": "workflow_created",
            "request_url": RECEIVER,
            "success": False,
            "response_status_code": 500,
            "response_body": "oops",
            "error_message": "HTTP 500",
            "latency_ms": 12,
            "created_at": at,
            **fields,
        }
    )
