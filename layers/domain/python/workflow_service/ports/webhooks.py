"""Outbound workflow webhooks: subscriptions, the event outbox and its delivery queue.

Stored shapes (MongoDB; every write a single-document conditional write):

- ``webhook_subscriptions``: ``_id`` ObjectId, ``team_id``, ``name``, ``url``, ``actions`` (list of
  WebhookAction values), ``enabled``, ``bearer_token`` (str | null; never returned by the API),
  ``signing_secrets`` (list of ``{"value": "whsec_...", "created_at", "expires_at"}``, newest first;
  the newest has ``expires_at`` null, an older one stays valid until its ``expires_at``, 24 h after
  the rotation that replaced it), ``timeout_seconds``, ``max_retries``, ``retry_backoff_seconds``,
  ``disabled_reason`` (str | null: why the service disabled it, e.g. a 410 answer), ``created_at``,
  ``updated_at``, ``created_by``, ``updated_by``, ``deleted_at`` (a deleted subscription is absent
  to every reader: no new events, no further attempts).
- ``webhook_events``: ``_id`` = ``event_id`` (a str, see ``event_id_for``), ``subscription_id``,
  ``team_id``, ``action``, ``workflow_id``, ``workflow_name``, ``workflow_run_id``,
  ``workflow_run_status``, ``payload``, ``dedupe_key``, ``status`` (WebhookEventStatus),
  ``attempts_count``, ``next_retry_at``, ``delivered_at``, ``last_attempt_at``,
  ``last_status_code``, ``last_error``, ``claimed_until`` (a deliverer's lease on the event),
  ``created_at``, ``updated_at``, ``created_by``, ``updated_by``. Unique on ``_id``; indexed by
  (``team_id``, ``created_at``) for the event log and by (``status``, ``next_retry_at``) for the
  due-time sweep.
- ``webhook_attempts``: ``_id`` = f"{event_id}:{attempt_number}" (an attempt is recorded once),
  ``event_id``, ``subscription_id``, ``team_id``, ``attempt_number`` (1-based), ``action``,
  ``request_url``, ``success``, ``response_status_code``, ``response_body`` (truncated),
  ``error_message``, ``latency_ms``, ``created_at``.

The outbox rule: the write that causes an event (a run's status change, a workflow's create, update
or delete) carries a marker in the same conditional write; the events are then inserted under their
deterministic id (so a retry inserts nothing twice), sent to the delivery queue, and the marker
cleared. The reaper re-emits from markers a crash left behind and re-sends events whose delivery is
due (a lost queue message, or a delay longer than the queue's 900 s maximum).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

# Re-exported: the outbox's callers name them through this port.
from workflow_service.models.webhook_actions import WebhookAction as WebhookAction
from workflow_service.models.webhook_actions import WebhookEventStatus as WebhookEventStatus

if TYPE_CHECKING:
    from workflow_service.models.runs import WorkflowRunsModel
    from workflow_service.models.workflows import Workflow, WorkflowVersion


def event_id_for(subscription_id: str, dedupe_key: str) -> str:
    """The event's id: 24 hex characters derived from its subscription and dedupe key, so that every
    writer of the same event (a retried request, the reaper re-emitting from a marker) writes the same
    document and a second insert is a no-op."""
    return hashlib.sha256(f"{subscription_id}\x00{dedupe_key}".encode()).hexdigest()[:24]


class SigningSecret(NamedTuple):
    value: str
    """``whsec_`` + base64 of 24-64 random bytes (Standard Webhooks); the HMAC key is the decoded bytes."""
    created_at: datetime
    expires_at: datetime | None = None
    """None for the current secret; for a replaced one, the end of its 24 h overlap."""


class WebhookSubscription(NamedTuple):
    """A subscription as emission and delivery see it (the API's shape lives in models/webhooks)."""

    id: str
    team_id: str
    name: str
    url: str
    actions: frozenset[WebhookAction]
    enabled: bool
    bearer_token: str | None
    signing_secrets: tuple[SigningSecret, ...]
    """Newest first."""
    timeout_seconds: int = 10
    max_retries: int = 3
    retry_backoff_seconds: int = 10
    disabled_reason: str | None = None


class WebhookEvent(NamedTuple):
    """One event for one subscription."""

    event_id: str
    subscription_id: str
    team_id: str
    action: WebhookAction
    workflow_id: str
    workflow_name: str | None
    workflow_run_id: str | None
    workflow_run_status: str | None
    payload: dict[str, Any]
    dedupe_key: str
    created_at: datetime
    status: WebhookEventStatus = WebhookEventStatus.PENDING
    attempts_count: int = 0
    next_retry_at: datetime | None = None
    delivered_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_by: str | None = None
    updated_by: str | None = None


class WebhookAttempt(NamedTuple):
    event_id: str
    subscription_id: str
    team_id: str
    attempt_number: int
    action: WebhookAction
    request_url: str
    success: bool
    created_at: datetime
    response_status_code: int | None = None
    response_body: str | None = None
    error_message: str | None = None
    latency_ms: int | None = None


class AttemptOutcome(NamedTuple):
    """How an attempt ends the event's current state: ``status`` is DELIVERED, RETRYING (with
    ``next_retry_at``) or FAILED."""

    status: WebhookEventStatus
    status_code: int | None = None
    error: str | None = None
    next_retry_at: datetime | None = None
    extra: Mapping[str, Any] = MappingProxyType({})


class WebhookSubscriptionReader(Protocol):
    """What emission and delivery read of subscriptions (collection ``webhook_subscriptions``)."""

    def subscribed(self, team_id: str, action: WebhookAction) -> list[WebhookSubscription]:
        """The team's enabled, undeleted subscriptions that include ``action``."""
        ...

    def get(self, team_id: str, subscription_id: str) -> WebhookSubscription | None:
        """The subscription unless deleted (it may be disabled)."""
        ...

    def disable_gone(self, team_id: str, subscription_id: str, *, reason: str, now: datetime) -> None:
        """Disable the subscription because its receiver answered 410 Gone, recording ``reason``."""
        ...


class WebhookEvents(Protocol):
    """The event outbox and its attempt log (collections ``webhook_events`` and ``webhook_attempts``)."""

    def insert_if_absent(self, event: WebhookEvent) -> bool:
        """Insert the event under its id; False (and nothing written) when it already exists."""
        ...

    def get(self, event_id: str) -> WebhookEvent | None: ...

    def begin_attempt(self, event_id: str, *, now: datetime, lease_until: datetime) -> WebhookEvent | None:
        """Take the event for one attempt: only when it is pending or retrying, due (``next_retry_at``
        unset or not after ``now``) and not held by another deliverer's unexpired lease. Returns the
        event as read, or None when there is nothing to attempt now."""
        ...

    def record_attempt(self, attempt: WebhookAttempt) -> bool:
        """Log the attempt unless its event id and attempt number already are; whether it was logged."""
        ...

    def replace_attempt(self, attempt: WebhookAttempt) -> None:
        """Log the attempt in place of any earlier record of the same event id and attempt number."""
        ...

    def finish_attempt(self, event_id: str, attempt_number: int, outcome: AttemptOutcome, *, now: datetime) -> bool:
        """Apply the attempt's outcome, conditional on the event still counting ``attempt_number - 1``
        attempts and being pending or retrying; sets ``attempts_count`` to ``attempt_number`` and
        releases the lease. False when another writer got there first."""
        ...

    def due(self, *, now: datetime, limit: int) -> list[WebhookEvent]:
        """Pending or retrying events whose ``next_retry_at`` (or creation) has passed and whose lease
        is free, oldest first: what the reaper re-sends to the delivery queue."""
        ...


class WebhookDeliveryQueue(Protocol):
    """The queue the delivery function consumes (SQS with a DLQ on AWS; a local queue in ``make run``)."""

    def send(self, event_id: str, *, delay_seconds: int = 0) -> None:
        """Ask for an attempt of ``event_id`` after ``delay_seconds`` (at most 900; longer delays are left
        to the reaper's due-time sweep)."""
        ...


class OutboxReemitter(Protocol):
    """Re-emits the events whose outbox markers a crash left behind (the reaper's step)."""

    def reemit(self, limit: int) -> int:
        """Emit from at most ``limit`` markers per action; returns how many were emitted."""
        ...


class RunOutboxMarks(Protocol):
    """The outbox markers on run documents (``workflow_run.webhook_outbox.<action>``; webhooks.outbox)."""

    def clear_webhook_marker(self, run_id: str, action: str) -> bool:
        """Remove the run's ``action`` marker; False when it carries none (another writer cleared it)."""
        ...

    def webhook_marked(self, action: str, limit: int) -> list[WorkflowRunsModel]:
        """Up to ``limit`` runs still carrying ``action``'s marker, oldest marker first (index-backed)."""
        ...


class WorkflowOutboxMarks(Protocol):
    """The outbox markers on workflow documents (``webhook_outbox.<action>``; webhooks.outbox)."""

    def clear_webhook_marker(self, workflow_id: str, action: str, *, revision: int | None = None) -> bool:
        """Remove the workflow's ``action`` marker (only while its ``webhook_revision`` is ``revision``,
        when given); False when nothing matched."""
        ...

    def webhook_marked(self, action: str, limit: int) -> list[Workflow]:
        """Up to ``limit`` workflows (deleted ones included) still carrying ``action``'s marker."""
        ...

    def get(self, team_id: str, workflow_id: str, *, include_deleted: bool = False) -> Workflow | None: ...

    def count_version_changes(
        self, version: WorkflowVersion, counted: int, changed_at: datetime | None
    ) -> Workflow | None:
        """Count the version's changes not yet counted on its live workflow (``version.webhook_changes``
        minus ``counted``) as that many updates with pending events, and record ``webhook_changes`` as
        counted; only if the workflow still records ``counted``, else None (another writer counted)."""
        ...


class VersionOutboxMarks(Protocol):
    """The outbox markers on version documents (a rename or config update; webhooks.outbox)."""

    def clear_webhook_marker(self, workflow_id: str, version_number: int, changes: int) -> bool:
        """Remove the version's workflow_updated marker, only while its ``webhook_changes`` is ``changes``
        (a later change keeps its marker); False when nothing matched."""
        ...

    def webhook_marked(self, limit: int) -> list[WorkflowVersion]:
        """Up to ``limit`` versions still carrying the marker (index-backed)."""
        ...
