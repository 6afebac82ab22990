"""In-memory ``ports.webhooks``: subscriptions (as emission and delivery read them), the event outbox
with its attempt log, and the delivery queue. The Mongo adapters are held to the same contract."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflow_service.ports.webhooks import (
    AttemptOutcome,
    WebhookAction,
    WebhookAttempt,
    WebhookEvent,
    WebhookEventStatus,
    WebhookSubscription,
)

_OPEN = (WebhookEventStatus.PENDING, WebhookEventStatus.RETRYING)


class InMemoryWebhookSubscriptions:
    """Subscriptions by id; ``deleted`` holds the ids of deleted ones."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, WebhookSubscription] = {}
        self.deleted: set[str] = set()
        self.reads = 0

    def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.subscriptions[subscription.id] = subscription
        return subscription

    def subscribed(self, team_id: str, action: WebhookAction) -> list[WebhookSubscription]:
        self.reads += 1
        return [
            subscription
            for subscription in self.subscriptions.values()
            if subscription.team_id == team_id
            and subscription.enabled
            and action in subscription.actions
            and subscription.id not in self.deleted
        ]

    def team_subscriptions(self, team_id: str) -> list[WebhookSubscription]:
        """Every enabled, undeleted subscription of the team, whatever its actions (one read serves all)."""
        self.reads += 1
        return [
            subscription
            for subscription in self.subscriptions.values()
            if subscription.team_id == team_id and subscription.enabled and subscription.id not in self.deleted
        ]

    def get(self, team_id: str, subscription_id: str) -> WebhookSubscription | None:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None or subscription.team_id != team_id or subscription_id in self.deleted:
            return None
        return subscription

    def disable_gone(self, team_id: str, subscription_id: str, *, reason: str, now: datetime) -> None:
        subscription = self.get(team_id, subscription_id)
        if subscription is not None:
            self.subscriptions[subscription_id] = subscription._replace(enabled=False, disabled_reason=reason)


class InMemoryWebhookEvents:
    """Events by id, their leases, and the attempt log by (event id, attempt number)."""

    def __init__(self) -> None:
        self.events: dict[str, WebhookEvent] = {}
        self.leases: dict[str, datetime] = {}
        self.attempts: dict[tuple[str, int], WebhookAttempt] = {}

    def insert_if_absent(self, event: WebhookEvent) -> bool:
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = event
        return True

    def get(self, event_id: str) -> WebhookEvent | None:
        return self.events.get(event_id)

    def begin_attempt(self, event_id: str, *, now: datetime, lease_until: datetime) -> WebhookEvent | None:
        event = self.events.get(event_id)
        if event is None or event.status not in _OPEN:
            return None
        if event.next_retry_at is not None and event.next_retry_at > now:
            return None
        held_until = self.leases.get(event_id)
        if held_until is not None and held_until > now:
            return None
        self.leases[event_id] = lease_until
        return event

    def record_attempt(self, attempt: WebhookAttempt) -> bool:
        key = (attempt.event_id, attempt.attempt_number)
        if key in self.attempts:
            return False
        self.attempts[key] = attempt
        return True

    def replace_attempt(self, attempt: WebhookAttempt) -> None:
        self.attempts[(attempt.event_id, attempt.attempt_number)] = attempt

    def finish_attempt(self, event_id: str, attempt_number: int, outcome: AttemptOutcome, *, now: datetime) -> bool:
        event = self.events.get(event_id)
        if event is None or event.status not in _OPEN or event.attempts_count != attempt_number - 1:
            return False
        self.events[event_id] = event._replace(
            status=outcome.status,
            attempts_count=attempt_number,
            next_retry_at=outcome.next_retry_at if outcome.status is WebhookEventStatus.RETRYING else None,
            delivered_at=now if outcome.status is WebhookEventStatus.DELIVERED else event.delivered_at,
            last_attempt_at=now,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
        )
        self.leases.pop(event_id, None)
        return True

    def due(self, *, now: datetime, limit: int) -> list[WebhookEvent]:
        def is_due(event: WebhookEvent) -> bool:
            held_until = self.leases.get(event.event_id)
            return (
                event.status in _OPEN
                and (event.next_retry_at or event.created_at) <= now
                and (held_until is None or held_until <= now)
            )

        ready = sorted((e for e in self.events.values() if is_due(e)), key=lambda e: e.next_retry_at or e.created_at)
        return ready[:limit]


class InMemoryWebhookDeliveryQueue:
    """What was sent, in order, as (event id, delay seconds)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send(self, event_id: str, *, delay_seconds: int = 0) -> None:
        if not 0 <= delay_seconds <= 900:
            raise ValueError(f"delay_seconds {delay_seconds} is outside SQS's 0..900")
        self.sent.append((event_id, delay_seconds))

    def drain(self) -> list[str]:
        event_ids = [event_id for event_id, _ in self.sent]
        self.sent.clear()
        return event_ids


def lease_for(now: datetime, seconds: int = 120) -> datetime:
    return now + timedelta(seconds=seconds)
