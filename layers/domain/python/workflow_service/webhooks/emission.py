"""Emission: one outbox event per subscribed subscription of a causing change, then a delivery request.

``WebhookEmitter`` answers "does this team want this action?" from a per-container cache (at most
``cache_seconds`` old, 30 s by default), so the causing write carries an outbox marker only when
someone listens, and a team without subscriptions pays no round trip for emission once its answer is
cached. ``emit`` writes each event under its deterministic id (``event_id_for``: a retry or the
reaper's re-emission inserts nothing twice) and asks the delivery queue for an attempt of each event
it inserted. A queue that refuses the send loses nothing: the event is stored ``pending`` and the
reaper's due sweep re-sends it.

The cache is the price of "nothing for teams without subscriptions": a subscription created less than
``cache_seconds`` ago may miss the events of containers that read the team's subscriptions just
before it was created (documented in the README).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from workflow_service.ports.webhooks import WebhookAction, WebhookEvent, event_id_for
from workflow_service.webhooks.fresh import FreshCache

if TYPE_CHECKING:
    from datetime import datetime

    from workflow_service.ports.clock import Clock
    from workflow_service.ports.webhooks import (
        WebhookDeliveryQueue,
        WebhookEvents,
        WebhookSubscription,
        WebhookSubscriptionReader,
    )
    from workflow_service.webhooks.payloads import EventSubject

logger = logging.getLogger(__name__)

SUBSCRIPTION_CACHE_SECONDS = 30.0


class TeamSubscriptionReader(Protocol):
    """An optional read a subscription store may offer: all of a team's enabled, undeleted subscriptions
    in one read, so one cached answer serves every action."""

    def team_subscriptions(self, team_id: str) -> list[WebhookSubscription]: ...


class WebhookEmitter:
    """Writes the outbox events of causing changes and requests their delivery (see the module docstring)."""

    def __init__(
        self,
        subscriptions: WebhookSubscriptionReader,
        events: WebhookEvents,
        queue: WebhookDeliveryQueue,
        clock: Clock,
        *,
        cache_seconds: float = SUBSCRIPTION_CACHE_SECONDS,
    ) -> None:
        self._subscriptions = subscriptions
        self._events = events
        self._queue = queue
        self._clock = clock
        # (team id, action or None for "every action") -> subscriptions
        self._cache: FreshCache[tuple[str, WebhookAction | None], list[WebhookSubscription]] = FreshCache(
            clock, cache_seconds
        )

    def subscribed(self, team_id: str, action: WebhookAction) -> list[WebhookSubscription]:
        """The team's enabled subscriptions to ``action``, from this container's cache when fresh."""
        per_team = getattr(self._subscriptions, "team_subscriptions", None)
        key: tuple[str, WebhookAction | None] = (team_id, None if per_team else action)
        found = self._cache.get_or_read(
            key, lambda: list(per_team(team_id) if per_team else self._subscriptions.subscribed(team_id, action))
        )
        return [s for s in found if s.enabled and action in s.actions]

    def wants(self, team_id: str, action: WebhookAction) -> bool:
        """Whether a change of ``team_id`` causing ``action`` must carry an outbox marker."""
        return bool(self.subscribed(team_id, action))

    def emit(self, subject: EventSubject) -> list[str]:
        """Write the subject's event for each subscription (an existing one is left as it is) and send each
        one written to the delivery queue; returns the ids written. Raises when an insert fails, so the
        caller keeps its marker for the reaper."""
        written: list[str] = []
        now = self._clock.now()
        for subscription in self.subscribed(subject.team_id, subject.action):
            event = WebhookEvent(
                event_id=event_id_for(subscription.id, subject.dedupe_key),
                subscription_id=subscription.id,
                team_id=subject.team_id,
                action=subject.action,
                workflow_id=subject.workflow_id,
                workflow_name=subject.workflow_name,
                workflow_run_id=subject.workflow_run_id,
                workflow_run_status=subject.workflow_run_status,
                payload=subject.payload,
                dedupe_key=subject.dedupe_key,
                created_at=now,
                created_by=subject.created_by,
                updated_by=subject.created_by,
            )
            if self._events.insert_if_absent(event):
                written.append(event.event_id)
        for event_id in written:
            try:
                self._queue.send(event_id)
            except Exception:
                # Stored as pending: the reaper's due sweep sends it again.
                logger.exception("webhook event %s is stored but its delivery request failed", event_id)
        return written


class NoSubscriptions:
    """The subscription reader of a service built without the subscription store: nobody listens."""

    def subscribed(self, team_id: str, action: WebhookAction) -> list[WebhookSubscription]:
        return []

    def team_subscriptions(self, team_id: str) -> list[WebhookSubscription]:
        return []

    def get(self, team_id: str, subscription_id: str) -> WebhookSubscription | None:
        return None

    def disable_gone(self, team_id: str, subscription_id: str, *, reason: str, now: datetime) -> None:
        return None
