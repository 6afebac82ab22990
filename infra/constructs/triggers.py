"""The SQS trigger: one run per message on the trigger queue, consumed with partial batch responses."""

from __future__ import annotations

from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.constructs.function_factory import FunctionFactory
from infra.constructs.queues import DeadLetteredQueue, provide_queue_and_consumer
from infra.route_table import RouteTable


class Triggers(Construct):
    """Provides the "trigger_queue" use and creates the ``consumer``.

    Producers outside the stack are given the queue URL/ARN (stack outputs) and their own
    sqs:SendMessage grant; a function of this stack that "uses" trigger_queue gets the URL and
    SendMessage, since a queue URL is only useful to it for enqueueing (consuming is the event
    source mapping's job).
    """

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
        self.queues = DeadLetteredQueue(self, "TriggerQueue", config=config, queue_config=config.trigger_queue)
        self.consumer = provide_queue_and_consumer(
            self,
            self.queues,
            factory=factory,
            routes=routes,
            use="trigger_queue",
            url_variable=runtime_env.TRIGGER_QUEUE_URL,
            consumer_event="trigger_queue_consumer",
        )
