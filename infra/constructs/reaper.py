"""The stale-run reaper: a Lambda on an EventBridge rate rule."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.constructs.common import acknowledge
from infra.constructs.function_factory import FunctionFactory
from infra.route_table import RouteTable


class Reaper(Construct):
    """``function`` and its ``rule`` (rate from ``reaper.rate_minutes``)."""

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
        settings = config.reaper
        self.function = factory.create(
            self,
            routes.event("reaper"),
            shared_role=False,
            # Lambda's own retries of a failed asynchronous invocation, on top of the rule's (none):
            # the next tick is the retry.
            retry_attempts=0,
            # The run deadlines' thresholds come with the "store" use, as every writer of runs gets them.
            environment={
                runtime_env.REAPER_LEASE_GRACE_SECONDS: str(settings.lease_grace_seconds),
                runtime_env.REAPER_SCHEDULE_FIRING_GRACE_SECONDS: str(settings.schedule_firing_grace_seconds),
                runtime_env.REAPER_BATCH_SIZE: str(settings.batch_size),
                runtime_env.REAPER_MAX_BATCHES: str(settings.max_batches),
                runtime_env.REAPER_SCHEDULE_PUSH_GRACE_SECONDS: str(settings.schedule_push_grace_seconds),
                runtime_env.REAPER_SCHEDULE_LISTING_INTERVAL_SECONDS: str(settings.schedule_listing_interval_seconds),
            },
        )
        # The reconciliation's slow sweep lists the schedule group to delete AWS schedules that have no
        # record. ListSchedules names no resource (IAM allows only "*"); the call filters by group itself.
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["scheduler:ListSchedules"], resources=["*"]))
        acknowledge(
            self.function.role or self.function,
            "AwsSolutions-IAM5[Resource::*]",
            "scheduler:ListSchedules supports no resource-level permission; the reaper lists only its own "
            "schedule group, and the action reads nothing but schedule names and states",
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Runs the {config.resource_prefix} stale-run reaper",
            schedule=events.Schedule.rate(Duration.minutes(settings.rate_minutes)),
            # The next tick is the retry: a pass is idempotent, and a delayed duplicate would only
            # overlap with it.
            targets=[
                targets.LambdaFunction(
                    self.function,
                    retry_attempts=0,
                    max_event_age=Duration.minutes(settings.rate_minutes),
                )
            ],
        )
