"""The internal work queue: admitted queued runs wait here for ``run_worker`` to execute their first turn."""

from __future__ import annotations

from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.constructs.function_factory import FunctionFactory, UseBinding
from infra.constructs.queues import DeadLetteredQueue, send_statement
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
        factory.provide(
            "work_queue",
            UseBinding(
                environment={runtime_env.RUN_WORK_QUEUE_URL: self.queues.queue.queue_url},
                statements=[send_statement(self.queues.queue)],
            ),
        )
        self.worker = factory.create(self, routes.event("run_worker"), shared_role=False)
        self.queues.consume_with(self.worker)
