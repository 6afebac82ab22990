"""The event log and attempt log of outbound webhooks, and the manual retry of an event.

Events and attempts are read within the caller's team: another team's event is a 404. A manual
retry puts the event back to ``pending`` (from ``failed``, ``delivered`` or ``retrying``) with no
due time and no lease, then asks the delivery queue for an attempt. ``attempts_count`` is kept, so
the next attempt's number follows the last one and the attempt log never reuses a number. A queue
send lost after the reset is not lost work: a pending event is what the reaper's due sweep re-sends.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from workflow_service.errors import Conflict, NotFound
from workflow_service.models.webhook_actions import WebhookEventStatus
from workflow_service.models.webhooks import (
    ListWebhookAttemptsQuery,
    ListWebhookEventsQuery,
    RetryWebhookEventResponse,
    WebhookAttemptList,
    WebhookAttemptRecord,
    WebhookEventList,
    WebhookEventRecord,
)

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.webhooks import WebhookDeliveryQueue, WebhookSubscriptionReader

# Where a manual retry may start; a pending event only needs its queue message again.
RETRYABLE = (WebhookEventStatus.FAILED, WebhookEventStatus.DELIVERED, WebhookEventStatus.RETRYING)


class EventFilters(NamedTuple):
    subscription_id: str | None = None
    workflow_id: str | None = None
    action: str | None = None
    status: str | None = None
    search: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class WebhookEventQueries(Protocol):
    """What the event log reads and the manual retry writes (collections webhook_events, webhook_attempts)."""

    def list_events(
        self, team_id: str, filters: EventFilters, *, skip: int, limit: int
    ) -> tuple[builtins.list[WebhookEventRecord], int]:
        """One page of the team's events matching ``filters``, newest first, and the count of all that match."""
        ...

    def find_event(self, team_id: str, event_id: str) -> WebhookEventRecord | None: ...

    def list_attempts(
        self, team_id: str, event_id: str, *, skip: int, limit: int
    ) -> tuple[builtins.list[WebhookAttemptRecord], int]:
        """One page of the event's attempts, by attempt number, and their count."""
        ...

    def reset_for_retry(
        self, team_id: str, event_id: str, *, from_statuses: tuple[str, ...], user_id: str, now: datetime
    ) -> bool:
        """Set the event ``pending`` with no due time and no lease, keeping ``attempts_count``, only if
        its status is one of ``from_statuses`` and no attempt is in flight (its lease has passed); False
        (nothing written) otherwise."""
        ...


class WebhookEventLog:
    """The routes under /workflows/v1/workflow-webhooks/events."""

    def __init__(
        self,
        queries: WebhookEventQueries,
        subscriptions: WebhookSubscriptionReader,
        delivery_queue: Callable[[], WebhookDeliveryQueue],
        clock: Clock,
    ) -> None:
        self._queries = queries
        self._subscriptions = subscriptions
        # Built on first retry only: listing events never pays for the queue client.
        self._delivery_queue = delivery_queue
        self._clock = clock

    def list_events(self, team_id: str, query: ListWebhookEventsQuery) -> WebhookEventList:
        filters = EventFilters(
            subscription_id=query.subscription_id,
            workflow_id=query.workflow_id,
            action=query.action.value if query.action is not None else None,
            status=query.status.value if query.status is not None else None,
            search=query.search,
            start=query.start,
            end=query.end,
        )
        events, total = self._queries.list_events(
            team_id, filters, skip=(query.page - 1) * query.size, limit=query.size
        )
        return WebhookEventList(events=events, total=total)

    def list_attempts(self, team_id: str, event_id: str, query: ListWebhookAttemptsQuery) -> WebhookAttemptList:
        if self._queries.find_event(team_id, event_id) is None:
            raise NotFound("webhook event", event_id)
        attempts, total = self._queries.list_attempts(
            team_id, event_id, skip=(query.page - 1) * query.size, limit=query.size
        )
        return WebhookAttemptList(attempts=attempts, total=total)

    def retry(self, team_id: str, user_id: str, event_id: str) -> RetryWebhookEventResponse:
        """Deliver the event again (whatever its status), counting on from its last attempt number.

        Raises NotFound for an unknown or other team's event, Conflict when its subscription was deleted
        or is disabled (the deliverer would fail the event at once, sending nothing).
        """
        event = self._queries.find_event(team_id, event_id)
        if event is None:
            raise NotFound("webhook event", event_id)
        subscription = self._subscriptions.get(team_id, event.subscription_id)
        if subscription is None:
            raise Conflict(f"the subscription of webhook event {event_id} was deleted; its events are not delivered")
        if not subscription.enabled:
            raise Conflict(
                f"the subscription of webhook event {event_id} is disabled; enable it (PATCH enabled=true) to retry"
            )
        statuses = tuple(status.value for status in RETRYABLE)
        # Two tries: the status may change between the read and the write (an attempt finishing). An
        # attempt in flight keeps its lease and is left to finish: it is the redelivery asked for.
        for _ in range(2):
            if event.status == WebhookEventStatus.PENDING:
                break
            if self._queries.reset_for_retry(
                team_id, event_id, from_statuses=statuses, user_id=user_id, now=self._clock.now()
            ):
                break
            event = self._queries.find_event(team_id, event_id)
            if event is None:
                raise NotFound("webhook event", event_id)
        self._delivery_queue().send(event_id)
        return RetryWebhookEventResponse(message="Webhook event queued for redelivery", event_id=event_id)
