"""The internal work queue: admitted queued runs wait here for ``run_worker`` to execute their first turn."""

from __future__ import annotations

from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.constructs.function_factory import FunctionFactory
from infra.constructs.queues import DeadLetteredQueue, provide_queue_and_consumer
from infra.route_table import RouteTable


class RunWork(Construct):
    """Provides the "work_queue" use (queue URL + SendMessage) and creates its consumer ``worker``."""

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
        self.queues = DeadLetteredQueue(self, "WorkQueue", config=config, queue_config=config.work_queue)
        self.worker = provide_queue_and_consumer(
            self,
            self.queues,
            factory=factory,
            routes=routes,
            use="work_queue",
            url_variable=runtime_env.RUN_WORK_QUEUE_URL,
            consumer_event="run_worker",
        )
