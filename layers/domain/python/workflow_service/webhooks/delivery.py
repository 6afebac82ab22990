"""Delivering one webhook event: one attempt per queue message, retried until delivered or out of attempts.

``WebhookDelivery.deliver(event_id)`` (the delivery function calls it once per queue message):

1. takes the event for one attempt (``WebhookEvents.begin_attempt``: pending or retrying, due, and
   not leased by another deliverer); nothing to do otherwise (already delivered or failed, not due
   yet, or another deliverer holds it: a duplicate message);
2. reads the subscription: deleted or disabled -> the event fails ("subscription deleted" /
   "subscription disabled") and no request is sent;
3. POSTs the event's ``payload`` (compact JSON, UTF-8) to the subscription's URL with the signature
   headers (``webhooks.signing``), through the SSRF-guarded ``HttpClient``: a timeout of
   ``timeout_seconds``, redirects NOT followed (a 3xx is a failure), https only outside the local
   runtime; the answer's body is read only as far as the attempt log keeps it
   (``RESPONSE_BODY_READ_BYTES``, ``body_limit_mode="truncate"``): the status decides, so a body too
   large or too slow to read after the status line and headers arrived in time fails nothing;
4. logs the attempt (status code, the first ``RESPONSE_BODY_LIMIT`` characters of the answer, error,
   latency);
5. finishes it, conditional on the attempt count it read (a late duplicate changes nothing):
   - 2xx: ``delivered`` (whatever followed the status line: the receiver has accepted the event, and
     failing the attempt would POST it again);
   - 410 Gone: the subscription is disabled (``disable_gone``, reason recorded) and the event fails;
   - anything else (3xx, 4xx, 5xx, timeout, refused address): ``retrying`` while fewer than
     ``1 + max_retries`` attempts were made, due ``retry_backoff_seconds`` later (plus up to
     ``JITTER_FRACTION`` of it, so retries of many events spread out), or after the receiver's
     ``Retry-After`` on a 429 or 503 when that is longer (capped at ``MAX_RETRY_AFTER_SECONDS``);
     otherwise ``failed``;
6. a retry due within the queue's 900 s maximum delay is sent back to the queue with that delay; a
   later one (a long Retry-After) is left to the reaper's due-time sweep (``DueDeliveries``), which
   also recovers events whose message was lost or whose deliverer died.

At least once: a deliverer that dies after the POST and before step 5 leaves the event open, its
lease expires and the event is attempted again under the same attempt number; receivers dedupe on
``webhook-id``. No ordering between events, even of one subscription.

A manual retry puts a finished event back to ``pending`` (next_retry_at and the lease cleared) and
keeps its ``attempts_count``: attempt numbers go on from there (each is logged once under
``{event_id}:{n}``), and a retried event whose attempts are spent gets one attempt per manual retry.

Metric ``WebhookDeliveries`` (dimension ``outcome``: delivered, retrying, failed) per finished attempt.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from workflow_service.ports.http import OutboundRequest, OutboundRequestFailed, OutboundRequestRefused
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.ports.webhooks import AttemptOutcome, WebhookAttempt, WebhookEventStatus
from workflow_service.webhooks.signing import delivery_headers

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.http import HttpClient, OutboundResponse
    from workflow_service.ports.metrics import Metrics
    from workflow_service.ports.webhooks import (
        WebhookDeliveryQueue,
        WebhookEvent,
        WebhookEvents,
        WebhookSubscription,
        WebhookSubscriptionReader,
    )

logger = logging.getLogger(__name__)

RESPONSE_BODY_LIMIT = 1024
# The bytes of an answer's body that are read: enough for RESPONSE_BODY_LIMIT characters of UTF-8 (at
# most 4 bytes each), the rest is never downloaded (a receiver's 1 MB HTML page costs nothing).
RESPONSE_BODY_READ_BYTES = RESPONSE_BODY_LIMIT * 4
JITTER_FRACTION = 0.1
MAX_RETRY_AFTER_SECONDS = 3600
MAX_QUEUE_DELAY_SECONDS = 900
RETRY_AFTER_STATUSES = frozenset({429, 503})


class DeliveryResult(NamedTuple):
    """What one ``deliver`` call did: the attempt's number and outcome, and where a retry went."""

    event_id: str
    attempt_number: int
    outcome: AttemptOutcome
    finished: bool
    """False when another deliverer finished this attempt first (nothing was changed)."""
    queued_delay_seconds: int | None = None
    """The delay the retry was queued with; None when no retry was queued (none due, or beyond 900 s)."""


def encode_body(event: WebhookEvent) -> bytes:
    """The request body: the event's payload as compact UTF-8 JSON (these exact bytes are signed)."""
    return json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """The receiver's ``Retry-After`` (delay seconds or an HTTP date) as seconds from ``now``; None if absent
    or unreadable."""
    value = (headers.get("retry-after") or headers.get("Retry-After") or "").strip()
    if not value:
        return None
    # isdigit() alone accepts superscripts and other Unicode digits that float() refuses.
    if value.isascii() and value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime  # rare (a dated Retry-After): not on every cold start

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


class DueDeliveries:
    """The reaper's due-time sweep: re-sends open events whose attempt is overdue (a lost message, a dead
    deliverer, a retry beyond the queue's maximum delay) to the delivery queue."""

    def __init__(self, events: WebhookEvents, queue: WebhookDeliveryQueue, clock: Clock, *, grace_seconds: int = 60):
        """``grace_seconds``: an event is re-sent only this long after it became due, so one whose queue
        message is on its way is not sent twice."""
        self._events = events
        self._queue = queue
        self._clock = clock
        self._grace = timedelta(seconds=grace_seconds)

    def redispatch(self, limit: int) -> int:
        """Send up to ``limit`` overdue events to the queue, oldest first; returns how many were sent."""
        due = self._events.due(now=self._clock.now() - self._grace, limit=limit)
        for event in due:
            self._queue.send(event.event_id)
        return len(due)


class WebhookDelivery:
    """Attempts events, one per ``deliver`` call; see the module docstring."""

    def __init__(
        self,
        events: WebhookEvents,
        subscriptions: WebhookSubscriptionReader,
        http: HttpClient,
        queue: WebhookDeliveryQueue,
        clock: Clock,
        *,
        metrics: Metrics = DISCARDED_METRICS,
        lease_seconds: int = 120,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """``jitter`` returns a number in [0, 1): the share of ``JITTER_FRACTION`` added to a backoff."""
        self._events = events
        self._subscriptions = subscriptions
        self._http = http
        self._queue = queue
        self._clock = clock
        self._metrics = metrics
        self._lease = timedelta(seconds=lease_seconds)
        self._jitter = jitter

    def deliver(self, event_id: str) -> DeliveryResult | None:
        """Make the next attempt of ``event_id`` if one is due; None when there is nothing to attempt now.

        Raises StoreUnavailable when the store cannot be reached (the queue message is then retried).
        """
        now = self._clock.now()
        event = self._events.begin_attempt(event_id, now=now, lease_until=now + self._lease)
        if event is None:
            logger.info("webhook event %s: nothing to attempt now (finished, not due, or being attempted)", event_id)
            return None
        attempt_number = event.attempts_count + 1
        subscription = self._subscriptions.get(event.team_id, event.subscription_id)
        if subscription is None or not subscription.enabled:
            reason = "subscription deleted" if subscription is None else "subscription disabled"
            logged = self._record(event, attempt_number, subscription, error=reason, latency_ms=None)
            failed = AttemptOutcome(WebhookEventStatus.FAILED, error=reason)
            return self._finish(event, attempt_number, failed, None, logged)
        response, error, latency_ms = self._post(event, subscription)
        logged = self._record(
            event, attempt_number, subscription, error=error, latency_ms=latency_ms, response=response
        )
        outcome = self._outcome(event, attempt_number, subscription, response, error)
        return self._finish(event, attempt_number, outcome, subscription, logged)

    def _post(
        self, event: WebhookEvent, subscription: WebhookSubscription
    ) -> tuple[OutboundResponse | None, str | None, int | None]:
        body = encode_body(event)
        started = time.perf_counter()
        try:
            headers = delivery_headers(subscription, event.event_id, body, now=self._clock.now())
            response = self._http.send(
                OutboundRequest(
                    "POST",
                    subscription.url,
                    headers=headers,
                    body=body,
                    timeout_seconds=subscription.timeout_seconds,
                    follow_redirects=False,
                    body_limit_mode="truncate",
                    max_body_bytes=RESPONSE_BODY_READ_BYTES,
                )
            )
        except (OutboundRequestRefused, OutboundRequestFailed, ValueError) as problem:
            return None, str(problem)[:RESPONSE_BODY_LIMIT], round((time.perf_counter() - started) * 1000)
        latency_ms = round(response.elapsed_ms)
        if 200 <= response.status < 300:
            return response, None, latency_ms
        if 300 <= response.status < 400:
            return response, f"HTTP {response.status}: redirects are not followed", latency_ms
        return response, f"HTTP {response.status}", latency_ms

    def _outcome(
        self,
        event: WebhookEvent,
        attempt_number: int,
        subscription: WebhookSubscription,
        response: OutboundResponse | None,
        error: str | None,
    ) -> AttemptOutcome:
        status_code = response.status if response is not None else None
        if error is None:
            return AttemptOutcome(WebhookEventStatus.DELIVERED, status_code=status_code)
        now = self._clock.now()
        if status_code == 410:
            reason = f"the receiver answered 410 Gone to event {event.event_id}"
            self._subscriptions.disable_gone(subscription.team_id, subscription.id, reason=reason, now=now)
            logger.warning("webhook subscription %s disabled: %s", subscription.id, reason)
            return AttemptOutcome(
                WebhookEventStatus.FAILED, status_code=410, error="HTTP 410 Gone: the subscription was disabled"
            )
        if attempt_number >= 1 + subscription.max_retries:
            return AttemptOutcome(WebhookEventStatus.FAILED, status_code=status_code, error=error)
        delay = subscription.retry_backoff_seconds * (1 + JITTER_FRACTION * self._jitter())
        if response is not None and status_code in RETRY_AFTER_STATUSES:
            asked = retry_after_seconds(response.headers, now)
            if asked is not None:
                delay = max(delay, min(asked, MAX_RETRY_AFTER_SECONDS))
        return AttemptOutcome(
            WebhookEventStatus.RETRYING,
            status_code=status_code,
            error=error,
            next_retry_at=now + timedelta(seconds=delay),
        )

    def _record(
        self,
        event: WebhookEvent,
        attempt_number: int,
        subscription: WebhookSubscription | None,
        *,
        error: str | None,
        latency_ms: int | None,
        response: OutboundResponse | None = None,
    ) -> tuple[WebhookAttempt, bool]:
        """The attempt's record, logged unless this attempt number already is; and whether it was."""
        attempt = WebhookAttempt(
            event_id=event.event_id,
            subscription_id=event.subscription_id,
            team_id=event.team_id,
            attempt_number=attempt_number,
            action=event.action,
            request_url=subscription.url if subscription is not None else "",
            success=error is None,
            created_at=self._clock.now(),
            response_status_code=response.status if response is not None else None,
            response_body=(
                response.body[:RESPONSE_BODY_READ_BYTES].decode("utf-8", errors="replace")[:RESPONSE_BODY_LIMIT]
                if response is not None
                else None
            ),
            error_message=error,
            latency_ms=latency_ms,
        )
        return attempt, self._events.record_attempt(attempt)

    def _finish(
        self,
        event: WebhookEvent,
        attempt_number: int,
        outcome: AttemptOutcome,
        subscription: WebhookSubscription | None,
        logged: tuple[WebhookAttempt, bool],
    ) -> DeliveryResult:
        now = self._clock.now()
        finished = self._events.finish_attempt(event.event_id, attempt_number, outcome, now=now)
        if not finished:
            logger.info("webhook event %s attempt %d: finished by another deliverer", event.event_id, attempt_number)
            return DeliveryResult(event.event_id, attempt_number, outcome, finished=False)
        attempt, recorded = logged
        if not recorded:
            # This attempt number was logged by a deliverer that never finished it (it died, or its lease
            # ran out): the record of the attempt that did finish the event replaces it.
            self._events.replace_attempt(attempt)
        # The metric name is a literal: the infra tests read emit() calls to check the dashboard's queries.
        self._metrics.emit(
            "WebhookDeliveries",
            1,
            dimensions={"outcome": outcome.status.value},
            metadata={"event_id": event.event_id, "subscription_id": event.subscription_id, "team_id": event.team_id},
        )
        log = logger.info if outcome.status is WebhookEventStatus.DELIVERED else logger.warning
        log(
            "webhook event %s attempt %d: %s%s",
            event.event_id,
            attempt_number,
            outcome.status.value,
            f" ({outcome.error})" if outcome.error else "",
        )
        queued = None
        if outcome.status is WebhookEventStatus.RETRYING and outcome.next_retry_at is not None:
            delay = max(0, math.ceil((outcome.next_retry_at - now).total_seconds()))
            if delay <= MAX_QUEUE_DELAY_SECONDS:
                queued = self._send_retry(event.event_id, delay)
        return DeliveryResult(event.event_id, attempt_number, outcome, finished=True, queued_delay_seconds=queued)

    def _send_retry(self, event_id: str, delay: int) -> int | None:
        try:
            self._queue.send(event_id, delay_seconds=delay)
        except Exception:
            # The retry is already recorded with its due time: the reaper's due sweep sends it instead.
            logger.exception("webhook event %s: queueing the retry failed; the reaper will re-send it", event_id)
            return None
        return delay


__all__ = [
    "MAX_QUEUE_DELAY_SECONDS",
    "MAX_RETRY_AFTER_SECONDS",
    "RESPONSE_BODY_LIMIT",
    "RESPONSE_BODY_READ_BYTES",
    "DeliveryResult",
    "DueDeliveries",
    "WebhookDelivery",
    "encode_body",
    "retry_after_seconds",
]
