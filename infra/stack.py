"""The service stack: a thin composition of one construct per capability."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.config import ServiceConfig
from infra.connection_budget import ConcurrencyPlan
from infra.constructs.alarms import Alarms
from infra.constructs.api import Api
from infra.constructs.dashboard import OperationsDashboard
from infra.constructs.domain_layer import DomainLayer
from infra.constructs.function_factory import FunctionFactory
from infra.constructs.llm_access import LlmAccess
from infra.constructs.reaper import Reaper
from infra.constructs.run_work import RunWork
from infra.constructs.scheduling import Scheduling
from infra.constructs.secrets_extension import SecretsExtension
from infra.constructs.store_secret import StoreSecret
from infra.constructs.triggers import Triggers
from infra.constructs.webhook_delivery import WebhookDelivery
from infra.route_table import RouteTable


class WorkflowServiceStack(Stack):
    """Every resource of one stage. Construct order follows the "uses" each construct provides."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: ServiceConfig, routes: RouteTable, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("service", config.service_name)
        Tags.of(self).add("stage", config.stage)

        layer = DomainLayer(self, "DomainLayer", config=config)
        self.concurrency = ConcurrencyPlan.of(config, routes)
        self.factory = FunctionFactory(
            self,
            "Functions",
            config=config,
            layer=layer.layer,
            secrets_extension=SecretsExtension(self, "SecretsExtension", config=config),
            concurrency=self.concurrency,
        )
        self.store = StoreSecret(self, "Store", config=config)
        self.factory.provide("store", self.store.binding)
        self.factory.provide("llm", LlmAccess(self, "Llm", config=config).binding)
        # Each of these provides a "uses" entry that the next ones' functions need.
        self.webhook_delivery = WebhookDelivery(
            self, "WebhookDelivery", config=config, factory=self.factory, routes=routes
        )
        self.run_work = RunWork(self, "RunWork", config=config, factory=self.factory, routes=routes)
        self.triggers = Triggers(self, "Triggers", config=config, factory=self.factory, routes=routes)
        self.scheduling = Scheduling(self, "Scheduling", config=config, factory=self.factory, routes=routes)
        self.reaper = Reaper(self, "Reaper", config=config, factory=self.factory, routes=routes)
        self.api = Api(self, "Api", config=config, factory=self.factory, routes=routes)
        _check_every_row_deployed(routes, self.factory)

        # What the alarms and the dashboard both watch.
        watched = {
            "config": config,
            "functions": self.factory.functions,
            "dead_letter_queues": {
                "work-queue": self.run_work.queues.dead_letter_queue,
                "trigger-queue": self.triggers.queues.dead_letter_queue,
                "schedule-target": self.scheduling.dead_letter_queue,
                "webhook-delivery-queue": self.webhook_delivery.queues.dead_letter_queue,
            },
            "rest_api": self.api.rest_api,
        }
        self.alarms = Alarms(self, "Alarms", **watched)
        self.dashboard = OperationsDashboard(self, "Dashboard", alarms=list(self.alarms.alarms.values()), **watched)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the API stage")
        CfnOutput(self, "TriggerQueueUrl", value=self.triggers.queues.queue.queue_url)
        CfnOutput(self, "TriggerQueueArn", value=self.triggers.queues.queue.queue_arn)
        CfnOutput(self, "ScheduleGroupName", value=config.schedule_group_name)
        CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.dashboard.dashboard.dashboard_name)


def _check_every_row_deployed(routes: RouteTable, factory: FunctionFactory) -> None:
    created = [created.spec.name for created in factory.functions]
    expected = [spec.name for spec in routes.functions]
    if sorted(created) != sorted(expected):
        raise RuntimeError(
            f"functions and route table disagree: missing {sorted(set(expected) - set(created))}, "
            f"extra {sorted(set(created) - set(expected))}"
        )
