"""The event log's queries on ``webhook_events`` and ``webhook_attempts`` (stored shapes in
``ports.webhooks``): filtered, paginated lists within a team, and the manual retry's reset.

The outbox itself (inserts, leases, attempt outcomes, the due sweep) is ``MongoWebhookEvents``.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING

from workflow_service.adapters.mongo.documents import search_regex
from workflow_service.adapters.mongo.webhook_events import lease_free
from workflow_service.models.webhooks import WebhookAttemptRecord, WebhookEventRecord

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase
    from workflow_service.webhooks.event_log import EventFilters

EVENTS = "webhook_events"
ATTEMPTS = "webhook_attempts"

# The event log's newest-first index on (team_id, created_at) and the attempts' (event_id,
# attempt_number) are the event store's (adapters/mongo/webhook_events.py); only the subscription
# filter needs one of its own.
INDEXES: dict[str, list[dict[str, Any]]] = {
    EVENTS: [
        {
            "keys": [("team_id", ASCENDING), ("subscription_id", ASCENDING), ("created_at", DESCENDING)],
            "name": "webhook_event_log_by_subscription",
        },
    ],
}

# Internal bookkeeping that is not part of the public event.
_EVENT_FIELDS = {"claimed_until": 0}


def _event(document: dict[str, Any]) -> WebhookEventRecord:
    document = {**document, "_id": str(document["_id"])}
    document.setdefault("event_id", document["_id"])
    return WebhookEventRecord.model_validate(document)


class MongoWebhookEventQueries:
    def __init__(self, database: StoreDatabase) -> None:
        self._events = database[EVENTS]
        self._attempts = database[ATTEMPTS]

    def list_events(
        self, team_id: str, filters: EventFilters, *, skip: int, limit: int
    ) -> tuple[builtins.list[WebhookEventRecord], int]:
        selector: dict[str, Any] = {"team_id": team_id}
        for name in ("subscription_id", "workflow_id", "action", "status"):
            if (value := getattr(filters, name)) is not None:
                selector[name] = value
        if filters.search:
            selector["workflow_name"] = search_regex(filters.search)
        created: dict[str, datetime] = {}
        if filters.start is not None:
            created["$gte"] = filters.start
        if filters.end is not None:
            created["$lte"] = filters.end
        if created:
            selector["created_at"] = created
        documents = self._events.find(
            selector,
            projection=_EVENT_FIELDS,
            sort=[("created_at", DESCENDING), ("_id", DESCENDING)],
            skip=skip,
            limit=limit,
        )
        return [_event(document) for document in documents], self._events.count_documents(selector)

    def find_event(self, team_id: str, event_id: str) -> WebhookEventRecord | None:
        document = self._events.find_one({"_id": event_id, "team_id": team_id}, projection=_EVENT_FIELDS)
        return None if document is None else _event(document)

    def list_attempts(
        self, team_id: str, event_id: str, *, skip: int, limit: int
    ) -> tuple[builtins.list[WebhookAttemptRecord], int]:
        selector = {"event_id": event_id, "team_id": team_id}
        documents = self._attempts.find(selector, sort=[("attempt_number", ASCENDING)], skip=skip, limit=limit)
        attempts = [WebhookAttemptRecord.model_validate({**d, "_id": str(d["_id"])}) for d in documents]
        return attempts, self._attempts.count_documents(selector)

    def reset_for_retry(
        self, team_id: str, event_id: str, *, from_statuses: tuple[str, ...], user_id: str, now: datetime
    ) -> bool:
        # attempts_count is left alone: the deliverer's finish_attempt is conditional on it, and the
        # next attempt's number must follow the last logged one. An attempt in flight keeps its lease:
        # clearing it would let a second deliverer POST the same attempt at the same time.
        result = self._events.update_one(
            {"_id": event_id, "team_id": team_id, "status": {"$in": list(from_statuses)}, **lease_free(now)},
            {
                "$set": {
                    "status": "pending",
                    "next_retry_at": None,
                    "claimed_until": None,
                    "updated_at": now,
                    "updated_by": user_id,
                }
            },
        )
        return result.modified_count == 1
