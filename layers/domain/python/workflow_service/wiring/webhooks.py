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
        """The subscription API; receiver URLs are checked under the outbound-call (HTTP_NODE_*) rules and
        the deliveries' together, so a URL the deliverer would always refuse (a private network's, even
        where HTTP_NODE_ALLOW_PRIVATE_NETWORKS lets workflows call one) is refused when it is given."""
        from workflow_service.adapters.http.receiver_urls import ReceiverUrlPolicy
        from workflow_service.webhooks.subscriptions import WebhookSubscriptionService

        outbound, delivery = self._services.settings.http_node, self._delivery_address_rules
        both = outbound.model_copy(
            update={
                "require_https": outbound.require_https or delivery.require_https,
                "allow_loopback": outbound.allow_loopback and delivery.allow_loopback,
                "allow_private_networks": outbound.allow_private_networks and delivery.allow_private_networks,
            }
        )
        return WebhookSubscriptionService(self.subscriptions, ReceiverUrlPolicy(both), self._core.clock)

    @cached_property
    def _delivery_address_rules(self):
        """https only and no loopback except in the local runtime (where receivers on 127.0.0.1 over
        plain http are the point), never private networks, whatever HTTP_NODE_* allows workflows."""
        from workflow_service.settings.engine import HttpNodeSettings

        local = self._services.settings.runtime.local_runtime
        return HttpNodeSettings(require_https=not local, allow_loopback=local, allow_private_networks=False)

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
        """The outbox writer (webhooks.emission): reads ``subscriptions``, writes ``events``, sends to
        ``delivery_queue``."""
        from workflow_service.webhooks.emission import WebhookEmitter

        return WebhookEmitter(self.subscriptions, self.events, self.delivery_queue, self._core.clock)

    @cached_property
    def run_outbox(self) -> Any:
        """The run paths' markers and emission (workflow_run_started / workflow_run_completed)."""
        from workflow_service.adapters.mongo.runs import MongoRunOutboxMarks
        from workflow_service.webhooks.outbox import RunOutbox

        marks = MongoRunOutboxMarks(self._core.database)
        return RunOutbox(self.emitter, marks, self._core.clock, self.workflow_names)

    @cached_property
    def workflow_outbox(self) -> Any:
        """The workflow paths' markers and emission (workflow_created / updated / deleted)."""
        from workflow_service.adapters.mongo.workflows import MongoVersionRepository, MongoWorkflowRepository
        from workflow_service.webhooks.outbox import WorkflowOutbox

        workflows = MongoWorkflowRepository(self._core.database, self._core.clock)
        versions = MongoVersionRepository(self._core.database, self._core.clock)
        return WorkflowOutbox(self.emitter, workflows, self._core.clock, self.workflow_names, versions)

    @cached_property
    def workflow_names(self) -> Any:
        """The names run events carry, cached per container; the workflow outbox refreshes them."""
        from workflow_service.adapters.mongo.workflow_summaries import MongoWorkflowNames
        from workflow_service.webhooks.workflow_names import WorkflowNameCache

        return WorkflowNameCache(MongoWorkflowNames(self._core.database), self._core.clock)

    # -- delivery: the event store, the delivery queue and the delivery service --------------------

    @cached_property
    def events(self):
        """The event outbox and its attempt log (collections webhook_events, webhook_attempts)."""
        from workflow_service.adapters.mongo.webhook_events import MongoWebhookEvents

        return MongoWebhookEvents(self._core.database)

    @cached_property
    def delivery_queue(self):
        """SQS when WEBHOOK_DELIVERY_QUEUE_URL is set; in the local runtime otherwise, the in-process queue
        the local delivery emulation polls (this very instance)."""
        url = self._services.settings.webhook_delivery.delivery_queue_url
        if url is None and self._services.settings.runtime.local_runtime:
            from workflow_service.adapters.local.webhook_delivery_queue import (
                LocalWebhookDeliveryQueue,
                create_local_webhook_delivery_queue,
            )

            return LocalWebhookDeliveryQueue(create_local_webhook_delivery_queue())
        from workflow_service.adapters.aws.webhook_delivery_queue import SqsWebhookDeliveryQueue

        # Without a URL outside the local runtime, sending fails with a clear 503-class error.
        return SqsWebhookDeliveryQueue(url)

    @cached_property
    def delivery_http(self):
        """The deliveries' HTTP client: the SSRF guard under the delivery address rules. Each delivery
        reads only the start of an answer's body (its request's ``max_body_bytes``), so the settings'
        ``max_response_bytes`` never decides a delivery."""
        from workflow_service.adapters.http.outbound import UrllibHttpClient

        return UrllibHttpClient(self._delivery_address_rules)

    @cached_property
    def delivery(self):
        """One attempt per queue message, retries, and the reaper's due-time sweep (webhooks/delivery.py)."""
        from workflow_service.webhooks.delivery import WebhookDelivery

        settings = self._services.settings.webhook_delivery
        return WebhookDelivery(
            self.events,
            self.subscriptions,
            self.delivery_http,
            self.delivery_queue,
            self._core.clock,
            metrics=self._core.metrics,
            lease_seconds=settings.lease_seconds,
        )

    @cached_property
    def due_deliveries(self):
        """The reaper's due-time sweep over the event outbox (no subscriptions or HTTP needed)."""
        from workflow_service.webhooks.delivery import DueDeliveries

        settings = self._services.settings.webhook_delivery
        return DueDeliveries(
            self.events, self.delivery_queue, self._core.clock, grace_seconds=settings.due_grace_seconds
        )
