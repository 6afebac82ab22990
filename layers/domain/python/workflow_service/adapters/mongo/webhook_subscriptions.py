"""Outbound webhook subscriptions in MongoDB (collection ``webhook_subscriptions``; the stored shape
is documented in ``ports.webhooks``).

Every read filters on the team and ``deleted_at: null``, so a deleted subscription is absent to
every reader (the API, emission, delivery) from the moment it is deleted. Every write is one
conditional single-document update.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.adapters.mongo.documents import id_selector, search_regex, stored_id
from workflow_service.models.common import as_utc
from workflow_service.ports.webhooks import SigningSecret, WebhookAction, WebhookSubscription

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

SUBSCRIPTIONS = "webhook_subscriptions"

INDEXES: dict[str, list[dict[str, Any]]] = {
    SUBSCRIPTIONS: [
        # The API's list, newest first.
        {
            "keys": [("team_id", ASCENDING), ("deleted_at", ASCENDING), ("created_at", DESCENDING)],
            "name": "webhook_subscriptions_of_team",
        },
        # Emission's lookup: the team's subscriptions to one action (a multikey index on actions).
        {
            "keys": [("team_id", ASCENDING), ("actions", ASCENDING), ("enabled", ASCENDING)],
            "name": "webhook_subscriptions_by_action",
        },
    ],
}


def _secret_document(secret: SigningSecret) -> dict[str, Any]:
    return {"value": secret.value, "created_at": secret.created_at, "expires_at": secret.expires_at}


def _secret(document: dict[str, Any]) -> SigningSecret:
    expires_at = document.get("expires_at")
    return SigningSecret(
        value=document["value"],
        created_at=as_utc(document["created_at"]),
        expires_at=as_utc(expires_at) if expires_at is not None else None,
    )


def _subscription(document: dict[str, Any] | None) -> WebhookSubscription | None:
    if document is None:
        return None
    return WebhookSubscription(
        id=str(document["_id"]),
        team_id=document["team_id"],
        name=document["name"],
        url=document["url"],
        actions=frozenset(WebhookAction(action) for action in document.get("actions", ())),
        enabled=bool(document.get("enabled", True)),
        bearer_token=document.get("bearer_token"),
        signing_secrets=tuple(_secret(secret) for secret in document.get("signing_secrets", ())),
        timeout_seconds=int(document.get("timeout_seconds", 10)),
        max_retries=int(document.get("max_retries", 3)),
        retry_backoff_seconds=int(document.get("retry_backoff_seconds", 10)),
        disabled_reason=document.get("disabled_reason"),
    )


def _stored_value(name: str, value: Any) -> Any:
    if name == "actions":
        return sorted(str(action) for action in value)
    return value


class MongoWebhookSubscriptions:
    """``ports.webhooks.WebhookSubscriptionReader`` plus the writes of the subscription API."""

    def __init__(self, database: StoreDatabase) -> None:
        self._subscriptions = database[SUBSCRIPTIONS]

    @staticmethod
    def _live(team_id: str, subscription_id: str) -> dict[str, Any] | None:
        selector = id_selector(team_id, subscription_id)
        return None if selector is None else {**selector, "deleted_at": None}

    # -- WebhookSubscriptionReader ------------------------------------------------------------------

    def subscribed(self, team_id: str, action: WebhookAction) -> list[WebhookSubscription]:
        documents = self._subscriptions.find(
            {"team_id": team_id, "actions": action.value, "enabled": True, "deleted_at": None},
            sort=[("_id", ASCENDING)],
        )
        return [subscription for document in documents if (subscription := _subscription(document))]

    def get(self, team_id: str, subscription_id: str) -> WebhookSubscription | None:
        selector = self._live(team_id, subscription_id)
        return None if selector is None else _subscription(self._subscriptions.find_one(selector))

    def disable_gone(self, team_id: str, subscription_id: str, *, reason: str, now: datetime) -> None:
        selector = self._live(team_id, subscription_id)
        if selector is not None:
            self._subscriptions.update_one(
                selector, {"$set": {"enabled": False, "disabled_reason": reason, "updated_at": now}}
            )

    # -- the subscription API -----------------------------------------------------------------------

    def insert(self, subscription: WebhookSubscription, *, user_id: str, now: datetime) -> bool:
        document = {
            "_id": stored_id(subscription.id),
            "team_id": subscription.team_id,
            "name": subscription.name,
            "url": subscription.url,
            "actions": _stored_value("actions", subscription.actions),
            "enabled": subscription.enabled,
            "bearer_token": subscription.bearer_token,
            "signing_secrets": [_secret_document(secret) for secret in subscription.signing_secrets],
            "timeout_seconds": subscription.timeout_seconds,
            "max_retries": subscription.max_retries,
            "retry_backoff_seconds": subscription.retry_backoff_seconds,
            "disabled_reason": subscription.disabled_reason,
            "created_at": now,
            "updated_at": now,
            "created_by": user_id,
            "updated_by": user_id,
            "deleted_at": None,
        }
        try:
            self._subscriptions.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    def list(
        self,
        team_id: str,
        *,
        search: str | None,
        enabled: bool | None,
        action: WebhookAction | None,
        skip: int,
        limit: int,
    ) -> tuple[builtins.list[WebhookSubscription], int]:
        selector: dict[str, Any] = {"team_id": team_id, "deleted_at": None}
        if search:
            selector["$or"] = [{"name": search_regex(search)}, {"url": search_regex(search)}]
        if enabled is not None:
            selector["enabled"] = enabled
        if action is not None:
            selector["actions"] = action.value
        documents = self._subscriptions.find(
            selector, sort=[("created_at", DESCENDING), ("_id", DESCENDING)], skip=skip, limit=limit
        )
        subscriptions = [subscription for document in documents if (subscription := _subscription(document))]
        return subscriptions, self._subscriptions.count_documents(selector)

    def update(
        self, team_id: str, subscription_id: str, fields: dict[str, Any], *, user_id: str, now: datetime
    ) -> WebhookSubscription | None:
        selector = self._live(team_id, subscription_id)
        if selector is None:
            return None
        changes = {name: _stored_value(name, value) for name, value in fields.items()}
        document = self._subscriptions.find_one_and_update(
            selector,
            {"$set": {**changes, "updated_at": now, "updated_by": user_id}},
            return_document=ReturnDocument.AFTER,
        )
        return _subscription(document)

    def soft_delete(self, team_id: str, subscription_id: str, *, user_id: str, now: datetime) -> bool:
        selector = self._live(team_id, subscription_id)
        if selector is None:
            return False
        result = self._subscriptions.update_one(
            selector, {"$set": {"deleted_at": now, "enabled": False, "updated_at": now, "updated_by": user_id}}
        )
        return result.modified_count == 1

    def replace_signing_secrets(
        self,
        team_id: str,
        subscription_id: str,
        *,
        expected_current: str,
        secrets: tuple[SigningSecret, ...],
        user_id: str,
        now: datetime,
    ) -> WebhookSubscription | None:
        selector = self._live(team_id, subscription_id)
        if selector is None:
            return None
        document = self._subscriptions.find_one_and_update(
            {**selector, "signing_secrets.0.value": expected_current},
            {
                "$set": {
                    "signing_secrets": [_secret_document(secret) for secret in secrets],
                    "updated_at": now,
                    "updated_by": user_id,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _subscription(document)
