"""What a webhook subscription can receive, and the states of one event's delivery.

A module of its own, with nothing but the two enums, so that the event outbox on the run and
workflow paths (ports.webhooks) shares them with the API's models without importing those.
"""

from enum import StrEnum


class WebhookAction(StrEnum):
    WORKFLOW_CREATED = "workflow_created"
    WORKFLOW_UPDATED = "workflow_updated"
    WORKFLOW_DELETED = "workflow_deleted"
    WORKFLOW_RUN_STARTED = "workflow_run_started"
    WORKFLOW_RUN_COMPLETED = "workflow_run_completed"


class WebhookEventStatus(StrEnum):
    PENDING = "pending"
    """Written, not yet attempted (or reset by a manual retry)."""
    RETRYING = "retrying"
    """At least one attempt failed; another is due at ``next_retry_at``."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Every allowed attempt failed, or the subscription is gone."""
