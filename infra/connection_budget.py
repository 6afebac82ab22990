"""How many containers may hold MongoDB connections at once: the cluster's connection budget, shared out.

Every warm Lambda container keeps its own pymongo client, and nothing else bounds how many
containers a burst starts, so a burst could open more connections than the cluster accepts (Atlas
refuses connections past the tier's limit, and every function then fails at once). The budget in
``store.connection_budget`` is turned into limits Lambda enforces:

    connections per container = store.max_pool_size (2: one invocation at a time, plus a heartbeat
                                write overlapping it) + 1 monitoring connection (pymongo >= 4.7 polls
                                the server from Lambda, serverMonitoringMode=auto: one per server,
                                and the primary is the node whose limit counts)       = 3
    containers                = connection_budget // connections per container   = 1500 // 3 = 500
    reaper                    = 1 reserved (one pass at a time)                   = 1
    API functions             = floor((500 - 1) * store.api_share) = 299, shared as reserved
                                concurrency by the functions that use the store (the routes that do
                                and the authorizer), in proportion to store.api_weights (1 unless
                                named), each share rounded down: cdk.json weighs the routes a turn
                                or a poll keeps busy (execute_workflow 12: 36 of 299; most routes 3)
    event consumers           = the rest (200), evenly: schedule_target as reserved concurrency, the
                                three SQS consumers (trigger queue, run work, webhook deliveries) as
                                their event source's MaximumConcurrency (50 each)

so the sum over functions of (reserved concurrency or event-source maximum) x connections per
container stays within the budget. Functions that do not use the store hold no connections and are
not limited. Reserved concurrency is also taken from the account's pool, and Lambda refuses a
reservation that leaves fewer than 100 unreserved executions: the plan checks that too, against
``lambda.account_concurrent_executions``.

Plain Python (no CDK): the plan is computed from config and route table, and tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import ConfigError, ServiceConfig
from infra.config.sections import UNRESERVED_CONCURRENCY_FLOOR
from infra.route_table import RouteTable

# pymongo's monitoring connections per container on the primary (polling mode on FaaS, pymongo >= 4.7).
MONITORING_CONNECTIONS_PER_CONTAINER = 1
# The bounds of an SQS event source's ScalingConfig.MaximumConcurrency.
SQS_MIN_MAXIMUM_CONCURRENCY = 2
SQS_MAX_MAXIMUM_CONCURRENCY = 1000
# The reaper's passes must not overlap: one container at a time.
REAPER_CONCURRENCY = 1
STORE_USE = "store"
# The events rows that hold connections, by how their concurrency is bounded.
REAPER = "reaper"
AUTHORIZER = "authorizer"
RESERVED_EVENT_CONSUMERS = ("schedule_target",)
# SQS consumer -> the cdk.json queue section whose event source it is.
QUEUE_CONSUMERS = {
    "trigger_queue_consumer": "trigger_queue",
    "run_worker": "work_queue",
    "deliver_webhook_events": "webhook_delivery_queue",
}


@dataclass(frozen=True)
class ConcurrencyPlan:
    """Reserved concurrency per function name, and MaximumConcurrency per SQS consumer."""

    connections_per_container: int
    reserved: dict[str, int]
    event_source_maximum: dict[str, int]

    @property
    def connections(self) -> int:
        """The most connections the functions can hold at once."""
        containers = sum(self.reserved.values()) + sum(self.event_source_maximum.values())
        return containers * self.connections_per_container

    @classmethod
    def of(cls, config: ServiceConfig, routes: RouteTable) -> ConcurrencyPlan:
        store = config.store
        per_container = store.max_pool_size + MONITORING_CONNECTIONS_PER_CONTAINER
        containers = store.connection_budget // per_container - REAPER_CONCURRENCY
        api_functions = [spec.name for spec in (*routes.routes, routes.event(AUTHORIZER)) if STORE_USE in spec.uses]
        consumers = [*RESERVED_EVENT_CONSUMERS, *QUEUE_CONSUMERS]
        unknown = sorted(set(store.api_weights) - set(api_functions))
        if unknown:
            raise ConfigError(
                f"workflow_service.store.api_weights names {unknown}, which are not API functions that use the "
                f"store (one of: {', '.join(sorted(api_functions))})"
            )
        api_containers = int(containers * store.api_share)
        weights = {name: store.api_weights.get(name, 1) for name in api_functions}
        # Each function gets its weight's share, rounded down, so the shares never add up past the API part.
        per_api_function = {name: api_containers * weight // sum(weights.values()) for name, weight in weights.items()}
        per_consumer = (containers - api_containers) // len(consumers)
        key = "workflow_service.store.connection_budget"
        if min(per_api_function.values()) < 1 or per_consumer < SQS_MIN_MAXIMUM_CONCURRENCY:
            raise ConfigError(
                f"{key} ({store.connection_budget}) is too small: at {per_container} connections per container "
                f"it gives {min(per_api_function.values())} concurrent executions to the least weighted of "
                f"{len(api_functions)} API functions and {per_consumer} to each of {len(consumers)} event "
                f"consumers (at least 1 and {SQS_MIN_MAXIMUM_CONCURRENCY} are needed); raise it or "
                "store.api_share accordingly, or lower store.api_weights"
            )
        reserved = dict(per_api_function)
        reserved |= dict.fromkeys(RESERVED_EVENT_CONSUMERS, per_consumer)
        reserved[REAPER] = REAPER_CONCURRENCY
        maximum = {}
        for consumer, queue_key in QUEUE_CONSUMERS.items():
            explicit = getattr(config, queue_key).max_concurrency
            maximum[consumer] = explicit or min(per_consumer, SQS_MAX_MAXIMUM_CONCURRENCY)
        plan = cls(connections_per_container=per_container, reserved=reserved, event_source_maximum=maximum)
        plan._check(config)
        return plan

    def _check(self, config: ServiceConfig) -> None:
        if self.connections > config.store.connection_budget:
            raise ConfigError(
                f"the functions could hold {self.connections} MongoDB connections, over "
                f"workflow_service.store.connection_budget ({config.store.connection_budget}): lower the queues' "
                f"explicit max_concurrency ({self.event_source_maximum})"
            )
        total_reserved = sum(self.reserved.values())
        account = config.lambda_.account_concurrent_executions
        if total_reserved > account - UNRESERVED_CONCURRENCY_FLOOR:
            raise ConfigError(
                f"the plan reserves {total_reserved} concurrent executions, but Lambda keeps "
                f"{UNRESERVED_CONCURRENCY_FLOOR} of the account's {account} "
                "(workflow_service.lambda.account_concurrent_executions) unreserved: lower "
                "store.connection_budget or store.api_share, or ask AWS for a higher quota and set it"
            )
