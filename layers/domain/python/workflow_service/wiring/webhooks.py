"""Outbound workflow webhooks: subscriptions and their API, the event outbox (emission), and delivery.

Three parts, each in its own block below, so that each grows without touching the others:
subscriptions (storage, the subscription API, the event and attempt log), emission (the outbox
writer the workflow and run paths call), delivery (the event store, the delivery queue, the
delivery function's service).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow_service.wiring import Services


class WebhooksContainer:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._core = services.core

    # -- subscriptions: storage, the subscription API, the event and attempt log -------------------

    @cached_property
    def subscriptions(self):
        """Subscriptions in MongoDB: the reader emission and delivery use, and the API's writes."""
        from workflow_service.adapters.mongo.webhook_subscriptions import MongoWebhookSubscriptions

        return MongoWebhookSubscriptions(self._core.database)

    @cached_property
    def subscription_service(self):
        """The subscription API; receiver URLs are checked under the outbound-call (HTTP_NODE_*) rules."""
        from workflow_service.adapters.http.receiver_urls import ReceiverUrlPolicy
        from workflow_service.webhooks.subscriptions import WebhookSubscriptionService

        url_check = ReceiverUrlPolicy(self._services.settings.http_node)
        return WebhookSubscriptionService(self.subscriptions, url_check, self._core.clock)

    @cached_property
    def event_log(self):
        """The event and attempt log and the manual retry (the delivery queue is built on first retry)."""
        from workflow_service.adapters.mongo.webhook_event_queries import MongoWebhookEventQueries
        from workflow_service.webhooks.event_log import WebhookEventLog

        queries = MongoWebhookEventQueries(self._core.database)
        return WebhookEventLog(queries, self.subscriptions, lambda: self.delivery_queue, self._core.clock)

    # -- emission: the outbox writer ---------------------------------------------------------------

    @cached_property
    def emitter(self) -> Any:
        """The outbox writer (webhooks.emission). It reads ``subscriptions`` and writes ``events`` and
        ``delivery_queue`` (the other two blocks, looked up by name so that each block stands alone); a
        container without all three has no listener, and then emission writes nothing at all."""
        from workflow_service.webhooks.emission import NoSubscriptions, WebhookEmitter

        parts: list[Any] = [getattr(self, name, None) for name in ("subscriptions", "events", "delivery_queue")]
        if any(part is None for part in parts):
            return WebhookEmitter(NoSubscriptions(), _Unwired(), _Unwired(), self._core.clock)
        subscriptions, events, delivery_queue = parts
        return WebhookEmitter(subscriptions, events, delivery_queue, self._core.clock)

    @cached_property
    def run_outbox(self) -> Any:
        """The run paths' markers and emission (workflow_run_started / workflow_run_completed)."""
        from workflow_service.adapters.mongo.runs import MongoRunOutboxMarks
        from workflow_service.webhooks.outbox import RunOutbox

        return RunOutbox(self.emitter, MongoRunOutboxMarks(self._core.database), self._core.clock)

    @cached_property
    def workflow_outbox(self) -> Any:
        """The workflow paths' markers and emission (workflow_created / updated / deleted)."""
        from workflow_service.adapters.mongo.workflows import MongoWorkflowRepository
        from workflow_service.webhooks.outbox import WorkflowOutbox

        workflows = MongoWorkflowRepository(self._core.database, self._core.clock)
        return WorkflowOutbox(self.emitter, workflows, self._core.clock)

    # -- delivery: the event store, the delivery queue and the delivery service --------------------


class _Unwired:
    """Stands for the event store and queue where no subscription store is wired (never called: nobody listens)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"webhook emission is not wired: {name} called without a subscription store")
