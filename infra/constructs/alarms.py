"""Alarms to an SNS topic: any message in a DLQ, function errors and throttles, API 5xx.

Function alarms are per capability (a route group or an event handler), summing the functions'
metrics with metric math. One alarm per function would add two resources per function (~110) for
no extra signal: the alarm description lists the functions, and their own metrics tell which one.
CloudWatch allows at most 10 metrics in one alarm, so a larger capability gets numbered alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import ServiceConfig
from infra.constructs.common import construct_id
from infra.constructs.function_factory import CreatedFunction

# CloudWatch's limit on metrics referenced by one metric-math alarm.
MAX_METRICS_PER_ALARM = 10


class Alarms(Construct):
    """``topic`` (alarm notifications) and ``alarms`` (name -> Alarm)."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        config: ServiceConfig,
        functions: Sequence[CreatedFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        rest_api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id_)
        self._config = config
        self._period = Duration.minutes(config.alarms.period_minutes)
        self.topic = sns.Topic(self, "Topic", display_name=f"{config.resource_prefix} alarms", enforce_ssl=True)
        if config.alarms.email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarms.email))
        self._action = cloudwatch_actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}-dead-letters",
                metric=queue.metric_approximate_number_of_messages_visible(period=self._period, statistic="Maximum"),
                threshold=0,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"Messages are waiting in the {name} dead-letter queue: inspect and redrive them",
            )

        by_capability = groupby(
            sorted(functions, key=lambda created: created.spec.capability), key=lambda created: created.spec.capability
        )
        for capability, members in by_capability:
            group = [created.function for created in members]
            for index in range(0, len(group), MAX_METRICS_PER_ALARM):
                chunk = group[index : index + MAX_METRICS_PER_ALARM]
                suffix = f"-{index // MAX_METRICS_PER_ALARM + 1}" if len(group) > MAX_METRICS_PER_ALARM else ""
                name = f"{capability}{suffix}"
                self._function_alarm(f"{name}-errors", chunk, "Errors", config.alarms.errors_threshold, "errors")
                self._function_alarm(
                    f"{name}-throttles", chunk, "Throttles", config.alarms.throttles_threshold, "throttled invocations"
                )

        self._alarm(
            "api-5xx",
            metric=rest_api.metric_server_error(period=self._period, statistic="Sum"),
            threshold=config.alarms.api_5xx_threshold,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="The API answered 5xx responses",
        )

    def _function_alarm(
        self,
        name: str,
        functions: Sequence[lambda_.Function],
        metric_name: str,
        threshold: int,
        what: str,
    ) -> None:
        using = {
            f"m{index}": function.metric(metric_name, period=self._period, statistic="Sum")
            for index, function in enumerate(functions)
        }
        # A function with no invocations has no datapoints: count it as 0, not as missing.
        expression = "+".join(f"FILL({metric_id},0)" for metric_id in using)
        names = ", ".join(function.node.id.removesuffix("Function") for function in functions)
        self._alarm(
            name,
            metric=cloudwatch.MathExpression(
                expression=expression, using_metrics=using, period=self._period, label=what
            ),
            threshold=threshold,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description=f"{what.capitalize()} in: {names}"[:1024],
        )

    def _alarm(
        self,
        name: str,
        *,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        description: str,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id(name.replace("-", "_")) + "Alarm",
            alarm_name=f"{self._config.resource_prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=self._config.alarms.evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms[name] = alarm
