"""Outbound webhook delivery: the delivery queue, its DLQ and the delivery function.

Every attempt of an event is one message ``{"event_id": ...}``; the consumer posts it to the
subscriber and, for a retry due within SQS's 900 s maximum delay, sends the message back with that
delay. A function that "uses" webhook_queue gets the queue URL and SendMessage (the producers: the
run and workflow paths that emit events, the reaper's due sweep, the manual-retry route, and the
delivery function itself for its retries); nothing else may send to it.
"""

from __future__ import annotations

from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.constructs.function_factory import FunctionFactory
from infra.constructs.queues import DeadLetteredQueue, provide_queue_and_consumer
from infra.route_table import RouteTable


class WebhookDelivery(Construct):
    """Provides the "webhook_queue" use and creates the ``deliverer``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServiceConfig,
        factory: FunctionFactory,
        routes: RouteTable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.queues = DeadLetteredQueue(
            self, "DeliveryQueue", config=config, queue_config=config.webhook_delivery_queue
        )
        self.deliverer = provide_queue_and_consumer(
            self,
            self.queues,
            factory=factory,
            routes=routes,
            use="webhook_queue",
            url_variable=runtime_env.WEBHOOK_DELIVERY_QUEUE_URL,
            consumer_event="deliver_webhook_events",
        )
