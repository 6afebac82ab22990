"""Webhook subscriptions: create, list, update, delete and rotate the signing secret.

A subscription belongs to one team; another team's id is a 404, as is a deleted one (deletion is
soft, ``deleted_at``, and every reader skips deleted subscriptions, so their deliveries stop).
The bearer token is write-only. A signing secret is shown twice at most: in the create answer and
in the rotate-secret answer that replaces it; the replaced secret keeps signing deliveries (next to
the new one) for ``PREVIOUS_SECRET_VALIDITY`` so receivers can switch without losing a delivery.
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from workflow_service.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from workflow_service.models.common import new_object_id
from workflow_service.models.webhook_actions import WebhookAction
from workflow_service.models.webhooks import (
    CreateWebhookRequest,
    DeleteWebhookResponse,
    ListWebhooksQuery,
    RotatedWebhookSecret,
    UpdateWebhookRequest,
    WorkflowWebhook,
    WorkflowWebhookList,
    WorkflowWebhookWithSecret,
)
from workflow_service.ports import webhooks as port
from workflow_service.triggers.signatures import generate_secret

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock

PREVIOUS_SECRET_VALIDITY = timedelta(hours=24)
# A subscription keeps at most this many secrets (the current one and the replaced ones still valid),
# so rotating in a loop cannot grow the document or the signature headers without bound.
MAX_SIGNING_SECRETS = 5


class ReceiverUrlCheck(Protocol):
    """Whether deliveries may be sent to a URL, judged from its text alone (no DNS at write time)."""

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not receive deliveries, or None when it may."""
        ...


class WebhookSubscriptionStore(port.WebhookSubscriptionReader, Protocol):
    """The reader emission and delivery use, plus what the subscription API writes."""

    def insert(self, subscription: port.WebhookSubscription, *, user_id: str, now: datetime) -> bool:
        """Store a new subscription under its id; False (nothing written) when that id exists."""
        ...

    def list(
        self,
        team_id: str,
        *,
        search: str | None,
        enabled: bool | None,
        action: port.WebhookAction | None,
        skip: int,
        limit: int,
    ) -> tuple[builtins.list[port.WebhookSubscription], int]:
        """One page of the team's undeleted subscriptions, newest first, and the count of all that match."""
        ...

    def update(
        self, team_id: str, subscription_id: str, fields: dict[str, Any], *, user_id: str, now: datetime
    ) -> port.WebhookSubscription | None:
        """Set stored ``fields`` on an undeleted subscription; None when there is none."""
        ...

    def soft_delete(self, team_id: str, subscription_id: str, *, user_id: str, now: datetime) -> bool:
        """Mark the subscription deleted; False when it does not exist or is already deleted."""
        ...

    def replace_signing_secrets(
        self,
        team_id: str,
        subscription_id: str,
        *,
        expected_current: str,
        secrets: tuple[port.SigningSecret, ...],
        user_id: str,
        now: datetime,
    ) -> port.WebhookSubscription | None:
        """Replace the secrets, only if the current (newest) one is still ``expected_current``."""
        ...


def public(subscription: port.WebhookSubscription) -> WorkflowWebhook:
    """The API's shape of a stored subscription (actions in their documented order, no token)."""
    return WorkflowWebhook(
        id=subscription.id,
        name=subscription.name,
        url=subscription.url,
        actions=[action for action in WebhookAction if port.WebhookAction(action.value) in subscription.actions],
        enabled=subscription.enabled,
        has_bearer_token=bool(subscription.bearer_token),
        timeout_seconds=subscription.timeout_seconds,
        max_retries=subscription.max_retries,
        retry_backoff_seconds=subscription.retry_backoff_seconds,
        disabled_reason=subscription.disabled_reason,
    )


def _with_secret(subscription: port.WebhookSubscription) -> WorkflowWebhookWithSecret:
    return WorkflowWebhookWithSecret(
        **public(subscription).model_dump(), signing_secret=subscription.signing_secrets[0].value
    )


def _port_actions(actions: list[WebhookAction]) -> frozenset[port.WebhookAction]:
    return frozenset(port.WebhookAction(action.value) for action in actions)


class WebhookSubscriptionService:
    """The routes under /workflows/v1/workflow-webhooks that manage subscriptions."""

    def __init__(self, store: WebhookSubscriptionStore, url_check: ReceiverUrlCheck, clock: Clock) -> None:
        self._store = store
        self._url_check = url_check
        self._clock = clock

    def create(
        self, team_id: str, user_id: str, request: CreateWebhookRequest, *, subscription_id: str | None = None
    ) -> WorkflowWebhookWithSecret:
        """A new subscription with a new signing secret, shown in this answer only.

        ``subscription_id`` (from an Idempotency-Key's reservation) makes a retried create return the
        subscription the first attempt stored instead of a second one.
        """
        self._check_url(request.url)
        now = self._clock.now()
        subscription = port.WebhookSubscription(
            id=subscription_id or new_object_id(),
            team_id=team_id,
            name=request.name,
            url=request.url,
            actions=_port_actions(request.chosen_actions()),
            enabled=request.enabled,
            bearer_token=request.bearer_token or None,
            signing_secrets=(port.SigningSecret(value=generate_secret(), created_at=now),),
            timeout_seconds=request.timeout_seconds,
            max_retries=request.max_retries,
            retry_backoff_seconds=request.retry_backoff_seconds,
        )
        if self._store.insert(subscription, user_id=user_id, now=now):
            return _with_secret(subscription)
        stored = self._store.get(team_id, subscription.id)
        if stored is None:
            raise Conflict(f"webhook subscription {subscription.id} was deleted while it was being created")
        return _with_secret(stored)

    def list(self, team_id: str, query: ListWebhooksQuery) -> WorkflowWebhookList:
        action = port.WebhookAction(query.action.value) if query.action is not None else None
        subscriptions, total = self._store.list(
            team_id,
            search=query.search,
            enabled=query.enabled,
            action=action,
            skip=(query.page - 1) * query.size,
            limit=query.size,
        )
        return WorkflowWebhookList(webhooks=[public(s) for s in subscriptions], total=total)

    def update(
        self, team_id: str, user_id: str, subscription_id: str, request: UpdateWebhookRequest
    ) -> WorkflowWebhook:
        """Change the given fields; enabling a subscription the service disabled clears its reason."""
        fields = request.changes()
        if "url" in fields:
            self._check_url(fields["url"])
        if "actions" in fields:
            fields["actions"] = _port_actions(fields["actions"])
        if fields.get("enabled") is True:
            fields["disabled_reason"] = None
        if not fields:
            current = self._store.get(team_id, subscription_id)
        else:
            current = self._store.update(team_id, subscription_id, fields, user_id=user_id, now=self._clock.now())
        if current is None:
            raise NotFound("webhook subscription", subscription_id)
        return public(current)

    def delete(self, team_id: str, user_id: str, subscription_id: str) -> DeleteWebhookResponse:
        """Soft delete: the subscription receives no new events and its pending ones are not retried."""
        if not self._store.soft_delete(team_id, subscription_id, user_id=user_id, now=self._clock.now()):
            raise NotFound("webhook subscription", subscription_id)
        return DeleteWebhookResponse(id=subscription_id, message="Webhook subscription deleted")

    def rotate_secret(self, team_id: str, user_id: str, subscription_id: str) -> RotatedWebhookSecret:
        """A new signing secret, shown once; deliveries carry signatures by both for 24 h."""
        current = self._store.get(team_id, subscription_id)
        if current is None:
            raise NotFound("webhook subscription", subscription_id)
        now = self._clock.now()
        expires_at = now + PREVIOUS_SECRET_VALIDITY
        newest, *older = current.signing_secrets
        still_valid = [secret for secret in older if secret.expires_at is not None and secret.expires_at > now]
        secrets = (
            port.SigningSecret(value=generate_secret(), created_at=now),
            newest._replace(expires_at=expires_at),
            *still_valid,
        )[:MAX_SIGNING_SECRETS]
        rotated = self._store.replace_signing_secrets(
            team_id, subscription_id, expected_current=newest.value, secrets=secrets, user_id=user_id, now=now
        )
        if rotated is None:
            if self._store.get(team_id, subscription_id) is None:
                raise NotFound("webhook subscription", subscription_id)
            raise Conflict(f"the secret of webhook subscription {subscription_id} was rotated concurrently; retry")
        return RotatedWebhookSecret(**_with_secret(rotated).model_dump(), previous_secret_expires_at=expires_at)

    def _check_url(self, url: str) -> None:
        reason = self._url_check.refusal(url)
        if reason is not None:
            raise ValidationFailed(FieldProblem(("body", "url"), reason, "url_refused", url[:200]))
