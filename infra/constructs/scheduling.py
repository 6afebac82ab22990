"""EventBridge Scheduler: the schedule group, the target Lambda, its DLQ and the role the scheduler assumes.

Schedules themselves are created at run time by the API functions (one AWS schedule per one-time or
recurring schedule, named from its id, in this group). Those functions get the "scheduler" use:
Create/Update/Delete/GetSchedule on schedules of this group only, and iam:PassRole on the
scheduler role only.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra import runtime_env
from infra.config import ServiceConfig
from infra.constructs.common import nag_resource_form
from infra.constructs.function_factory import FunctionFactory, NagAcknowledgment, UseBinding
from infra.constructs.queues import DEAD_LETTER_RETENTION, encrypted_queue
from infra.route_table import RouteTable

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
SCHEDULE_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
)


class Scheduling(Construct):
    """``group``, ``target`` (schedule_target function), ``dead_letter_queue`` and ``scheduler_role``."""

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
        stack = Stack.of(self)
        group_name = config.schedule_group_name
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=group_name)

        # One queue for firings that never ran: EventBridge Scheduler puts a delivery it could not
        # make here (after its retry policy), and Lambda puts an asynchronous invocation whose
        # retries all failed here too. Both carry the schedule's input as the message body, so an
        # operator redrives either kind the same way: invoke the target with the body.
        self.dead_letter_queue = encrypted_queue(
            self, "TargetDeadLetterQueue", config=config, retention=DEAD_LETTER_RETENTION
        )
        self.target = factory.create(
            self,
            routes.event("schedule_target"),
            shared_role=False,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=config.schedules.target_async_retry_attempts,
        )

        # Scheduler assumes this role to deliver a schedule: invoking the target is its whole job,
        # and sending an undeliverable event to the target's DLQ is part of that delivery.
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            description="Assumed by EventBridge Scheduler to invoke the schedule target",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_PRINCIPAL,
                conditions={"StringEquals": {"aws:SourceAccount": stack.account, "aws:SourceArn": self.group.attr_arn}},
            ),
            inline_policies={
                "InvokeScheduleTarget": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.target.function_arn]),
                        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.queue_arn]),
                    ]
                )
            },
        )

        schedules_in_group = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{group_name}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        factory.provide(
            "scheduler",
            UseBinding(
                environment={
                    runtime_env.SCHEDULE_GROUP_NAME: group_name,
                    runtime_env.SCHEDULE_TARGET_ARN: self.target.function_arn,
                    runtime_env.SCHEDULER_ROLE_ARN: self.scheduler_role.role_arn,
                    runtime_env.SCHEDULE_DLQ_ARN: self.dead_letter_queue.queue_arn,
                    runtime_env.SCHEDULE_RETRY_ATTEMPTS: str(config.schedules.retry_attempts),
                    runtime_env.SCHEDULE_MAX_EVENT_AGE_SECONDS: str(config.schedules.max_event_age_seconds),
                },
                statements=[
                    iam.PolicyStatement(actions=list(SCHEDULE_ACTIONS), resources=[schedules_in_group]),
                    iam.PolicyStatement(
                        actions=["iam:PassRole"],
                        resources=[self.scheduler_role.role_arn],
                        conditions={"StringEquals": {"iam:PassedToService": SCHEDULER_PRINCIPAL}},
                    ),
                ],
                acknowledgments=[
                    NagAcknowledgment(
                        f"AwsSolutions-IAM5[Resource::{nag_resource_form(self, schedules_in_group)}]",
                        "Schedules are created at run time, one per user schedule, so their names are not "
                        "known at deploy time; the wildcard is confined to this stage's schedule group",
                    )
                ],
            ),
        )
