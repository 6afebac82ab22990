"""The webhook event outbox and its attempt log in MongoDB, ``ports.webhooks.WebhookEvents``.

Collections ``webhook_events`` (``_id`` = the event id) and ``webhook_attempts`` (``_id`` =
``f"{event_id}:{attempt_number}"``); shapes in ``ports.webhooks``. Every write is one conditional
single-document write: inserting an event or an attempt relies on the ``_id`` index, taking an event
for an attempt is one ``find_one_and_update`` on status, due time and lease, and finishing it is one
update conditional on the attempt count the deliverer read, so a late or duplicate deliverer changes
nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.ports.webhooks import (
    AttemptOutcome,
    WebhookAction,
    WebhookAttempt,
    WebhookEvent,
    WebhookEventStatus,
)

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

WEBHOOK_EVENTS = "webhook_events"
WEBHOOK_ATTEMPTS = "webhook_attempts"
_OPEN = [WebhookEventStatus.PENDING.value, WebhookEventStatus.RETRYING.value]

INDEXES: dict[str, list[dict[str, Any]]] = {
    WEBHOOK_EVENTS: [
        {"keys": [("team_id", ASCENDING), ("created_at", DESCENDING)], "name": "team_created"},
        # The due-time sweep: open events by when they are due (next_retry_at, else created_at).
        {"keys": [("status", ASCENDING), ("next_retry_at", ASCENDING)], "name": "status_next_retry_at"},
        {"keys": [("status", ASCENDING), ("created_at", ASCENDING)], "name": "status_created_at"},
    ],
    WEBHOOK_ATTEMPTS: [
        {"keys": [("event_id", ASCENDING), ("attempt_number", ASCENDING)], "name": "event_attempt_number"},
    ],
}


def attempt_id(event_id: str, attempt_number: int) -> str:
    return f"{event_id}:{attempt_number}"


def _event_document(event: WebhookEvent) -> dict[str, Any]:
    return {
        "_id": event.event_id,
        "event_id": event.event_id,
        "subscription_id": event.subscription_id,
        "team_id": event.team_id,
        "action": event.action.value,
        "workflow_id": event.workflow_id,
        "workflow_name": event.workflow_name,
        "workflow_run_id": event.workflow_run_id,
        "workflow_run_status": event.workflow_run_status,
        "payload": event.payload,
        "dedupe_key": event.dedupe_key,
        "status": event.status.value,
        "attempts_count": event.attempts_count,
        "next_retry_at": event.next_retry_at,
        "delivered_at": event.delivered_at,
        "last_attempt_at": event.last_attempt_at,
        "last_status_code": event.last_status_code,
        "last_error": event.last_error,
        "claimed_until": None,
        "created_at": event.created_at,
        "updated_at": event.created_at,
        "created_by": event.created_by,
        "updated_by": event.updated_by,
    }


def _event(document: dict[str, Any]) -> WebhookEvent:
    return WebhookEvent(
        event_id=document["_id"],
        subscription_id=document["subscription_id"],
        team_id=document["team_id"],
        action=WebhookAction(document["action"]),
        workflow_id=document["workflow_id"],
        workflow_name=document.get("workflow_name"),
        workflow_run_id=document.get("workflow_run_id"),
        workflow_run_status=document.get("workflow_run_status"),
        payload=document.get("payload") or {},
        dedupe_key=document["dedupe_key"],
        created_at=document["created_at"],
        status=WebhookEventStatus(document["status"]),
        attempts_count=document.get("attempts_count", 0),
        next_retry_at=document.get("next_retry_at"),
        delivered_at=document.get("delivered_at"),
        last_attempt_at=document.get("last_attempt_at"),
        last_status_code=document.get("last_status_code"),
        last_error=document.get("last_error"),
        created_by=document.get("created_by"),
        updated_by=document.get("updated_by"),
    )


def lease_free(now: datetime) -> dict[str, Any]:
    """The filter of an event no deliverer holds now (no attempt in flight)."""
    return {"$or": [{"claimed_until": None}, {"claimed_until": {"$lte": now}}]}


def _attempt_document(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "_id": attempt_id(attempt.event_id, attempt.attempt_number),
        "event_id": attempt.event_id,
        "subscription_id": attempt.subscription_id,
        "team_id": attempt.team_id,
        "attempt_number": attempt.attempt_number,
        "action": attempt.action.value,
        "request_url": attempt.request_url,
        "success": attempt.success,
        "response_status_code": attempt.response_status_code,
        "response_body": attempt.response_body,
        "error_message": attempt.error_message,
        "latency_ms": attempt.latency_ms,
        "created_at": attempt.created_at,
    }


class MongoWebhookEvents:
    """``WebhookEvents`` over ``webhook_events`` and ``webhook_attempts``."""

    def __init__(self, database: StoreDatabase) -> None:
        self._events = database[WEBHOOK_EVENTS]
        self._attempts = database[WEBHOOK_ATTEMPTS]

    def insert_if_absent(self, event: WebhookEvent) -> bool:
        try:
            self._events.insert_one(_event_document(event))
        except DuplicateKeyError:
            return False
        return True

    def get(self, event_id: str) -> WebhookEvent | None:
        document = self._events.find_one({"_id": event_id})
        return _event(document) if document is not None else None

    def begin_attempt(self, event_id: str, *, now: datetime, lease_until: datetime) -> WebhookEvent | None:
        document = self._events.find_one_and_update(
            {
                "_id": event_id,
                "status": {"$in": _OPEN},
                "$and": [
                    {"$or": [{"next_retry_at": None}, {"next_retry_at": {"$lte": now}}]},
                    lease_free(now),
                ],
            },
            {"$set": {"claimed_until": lease_until}},
            return_document=ReturnDocument.BEFORE,
        )
        return _event(document) if document is not None else None

    def record_attempt(self, attempt: WebhookAttempt) -> bool:
        try:
            self._attempts.insert_one(_attempt_document(attempt))
        except DuplicateKeyError:
            return False
        return True

    def replace_attempt(self, attempt: WebhookAttempt) -> None:
        document = _attempt_document(attempt)
        self._attempts.replace_one({"_id": document["_id"]}, document, upsert=True)

    def finish_attempt(self, event_id: str, attempt_number: int, outcome: AttemptOutcome, *, now: datetime) -> bool:
        fields: dict[str, Any] = {
            "status": outcome.status.value,
            "attempts_count": attempt_number,
            "next_retry_at": outcome.next_retry_at if outcome.status is WebhookEventStatus.RETRYING else None,
            "last_attempt_at": now,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "claimed_until": None,
            "updated_at": now,
        }
        if outcome.status is WebhookEventStatus.DELIVERED:
            fields["delivered_at"] = now
        result = self._events.update_one(
            {"_id": event_id, "status": {"$in": _OPEN}, "attempts_count": attempt_number - 1},
            {"$set": fields},
        )
        return result.modified_count == 1

    def due(self, *, now: datetime, limit: int) -> list[WebhookEvent]:
        # Two index-backed reads (retries by next_retry_at, never-attempted by created_at), merged:
        # one query with "next_retry_at or created_at" could not use either index's order.
        lease = lease_free(now)
        retries = self._events.find(
            {"status": {"$in": _OPEN}, "next_retry_at": {"$ne": None, "$lte": now}, **lease},
            sort=[("next_retry_at", ASCENDING)],
            limit=limit,
        )
        fresh = self._events.find(
            {"status": {"$in": _OPEN}, "next_retry_at": None, "created_at": {"$lte": now}, **lease},
            sort=[("created_at", ASCENDING)],
            limit=limit,
        )
        events = [_event(document) for document in [*retries, *fresh]]
        events.sort(key=lambda event: event.next_retry_at or event.created_at)
        return events[:limit]


__all__ = ["WEBHOOK_ATTEMPTS", "WEBHOOK_EVENTS", "MongoWebhookEvents", "attempt_id"]
