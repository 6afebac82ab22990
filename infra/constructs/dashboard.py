"""The operations dashboard: the service's own metrics, its alarms, dead letters, and every function's health.

Custom metrics are emitted by the runtime with Powertools Metrics (EMF) under the configured
namespace (``observability.metrics_namespace``, passed to every function as
POWERTOOLS_METRICS_NAMESPACE). Powertools adds the ``service`` dimension (POWERTOOLS_SERVICE_NAME)
to every metric; a metric broken down by a further dimension (a run's trigger, its final status,
the kind of repair) is graphed with a SEARCH expression, so each value seen gets its own line
without the dashboard knowing the values in advance.

Function health is grouped by capability (a route group or an event handler), as the alarms are:
one line per capability for error and throttle rates, and one graph of p95 durations per capability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import ServiceConfig
from infra.constructs.function_factory import CreatedFunction

# CloudWatch's dashboard grid is 24 units wide.
FULL_WIDTH = 24
HALF_WIDTH = 12
THIRD_WIDTH = 8
HEIGHT = 6
# The dimension Powertools Metrics adds to every metric (its value is POWERTOOLS_SERVICE_NAME).
SERVICE_DIMENSION = "service"


@dataclass(frozen=True)
class CustomMetric:
    """A metric the runtime emits: its name, the dimensions it carries beside ``service`` (CloudWatch
    identifies a metric by its exact dimension set, so these must be exactly what the runtime emits),
    and how to read it."""

    name: str
    title: str
    statistic: str
    breakdown: tuple[str, ...] = ()


# The contract with the runtime's metrics (see README "Production operability").
CUSTOM_METRICS = (
    CustomMetric("RunsStarted", "Runs started, by trigger and started/queued", "Sum", breakdown=("trigger", "status")),
    CustomMetric("RunsFinished", "Runs finished, by trigger and status", "Sum", breakdown=("trigger", "status")),
    CustomMetric("TurnDuration", "Turn duration (ms), p95", "p95"),
    CustomMetric("AdmissionRefused", "Runs refused admission, by scope at its limit", "Sum", breakdown=("scope",)),
    CustomMetric("QueueDepth", "Runs queued for a concurrency slot", "Maximum"),
    CustomMetric("QueueWait", "Queue wait before a slot (ms), p95", "p95"),
    CustomMetric("ScheduleFireLateness", "Schedule firing lateness (ms), p95", "p95"),
    CustomMetric("ReaperRepairs", "Reaper repairs, by kind", "Sum", breakdown=("kind",)),
    CustomMetric("WebhookDeliveries", "Webhook delivery attempts, by outcome", "Sum", breakdown=("outcome",)),
)


class OperationsDashboard(Construct):
    """``dashboard``: one CloudWatch dashboard for the stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServiceConfig,
        functions: Sequence[CreatedFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        alarms: Sequence[cloudwatch.IAlarm],
        rest_api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._period = Duration.minutes(config.alarms.period_minutes)
        by_capability = {
            capability: [created.function for created in members]
            for capability, members in groupby(
                sorted(functions, key=lambda created: created.spec.capability),
                key=lambda created: created.spec.capability,
            )
        }
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=config.resource_prefix,
            default_interval=Duration.hours(3),
            period_override=cloudwatch.PeriodOverride.AUTO,
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# {config.resource_prefix}\nRuns, admission, schedules and the reaper (metrics under "
                f"`{config.observability.metrics_namespace}`), alarms, dead letters, and each capability's "
                "functions.",
                width=FULL_WIDTH,
                height=2,
            )
        )
        custom = [self._custom_metric_widget(metric) for metric in CUSTOM_METRICS]
        for row in range(0, len(custom), 3):
            self.dashboard.add_widgets(*custom[row : row + 3])
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=FULL_WIDTH, height=HEIGHT)
        )
        self.dashboard.add_widgets(
            self._graph(
                "Dead letters waiting",
                [
                    queue.metric_approximate_number_of_messages_visible(
                        label=name, period=self._period, statistic="Maximum"
                    )
                    for name, queue in dead_letter_queues.items()
                ],
            ),
            self._graph(
                "API requests: 4xx, 5xx",
                [
                    rest_api.metric_client_error(label="4xx", period=self._period, statistic="Sum"),
                    rest_api.metric_server_error(label="5xx", period=self._period, statistic="Sum"),
                ],
            ),
            self._graph(
                "API latency (ms), p95",
                [rest_api.metric_latency(label="p95", period=self._period, statistic="p95")],
            ),
        )
        self.dashboard.add_widgets(
            self._graph("Lambda error rate (%), by capability", self._rates(by_capability, "Errors"), width=HALF_WIDTH),
            self._graph(
                "Lambda throttle rate (%), by capability", self._rates(by_capability, "Throttles"), width=HALF_WIDTH
            ),
        )
        durations = [
            self._graph(
                f"p95 duration (ms): {capability}",
                [
                    function.metric_duration(
                        label=function.node.id.removesuffix("Function"), period=self._period, statistic="p95"
                    )
                    for function in members
                ],
            )
            for capability, members in by_capability.items()
        ]
        for row in range(0, len(durations), 3):
            self.dashboard.add_widgets(*durations[row : row + 3])

    def _custom_metric_widget(self, metric: CustomMetric) -> cloudwatch.GraphWidget:
        namespace = self._config.observability.metrics_namespace
        service = self._config.service_name
        if metric.breakdown:
            # One line per combination of the breakdown dimensions' values, whatever the runtime emits.
            schema = ",".join((namespace, SERVICE_DIMENSION, *metric.breakdown))
            search = (
                f"SEARCH('{{{schema}}} "
                f'MetricName="{metric.name}" {SERVICE_DIMENSION}="{service}"\', '
                f"'{metric.statistic}', {int(self._period.to_seconds())})"
            )
            shown: cloudwatch.IMetric = cloudwatch.MathExpression(
                expression=search, using_metrics={}, label="", period=self._period
            )
        else:
            shown = cloudwatch.Metric(
                namespace=namespace,
                metric_name=metric.name,
                dimensions_map={SERVICE_DIMENSION: service},
                statistic=metric.statistic,
                period=self._period,
                label=metric.name,
            )
        return self._graph(metric.title, [shown], width=THIRD_WIDTH)

    def _rates(
        self, by_capability: Mapping[str, Sequence[lambda_.Function]], metric_name: str
    ) -> list[cloudwatch.IMetric]:
        """Per capability: 100 x (sum of ``metric_name``) / (sum of invocations) over its functions."""
        rates: list[cloudwatch.IMetric] = []
        for capability, members in by_capability.items():
            counted = self._sums(members, metric_name, capability)
            invoked = self._sums(members, "Invocations", capability)
            rates.append(
                cloudwatch.MathExpression(
                    expression=f"100*({_sum_of(counted)})/({_sum_of(invoked)})",
                    using_metrics={**counted, **invoked},
                    label=capability,
                    period=self._period,
                )
            )
        return rates

    def _sums(
        self, functions: Sequence[lambda_.Function], metric_name: str, capability: str
    ) -> dict[str, cloudwatch.IMetric]:
        """``metric_name`` (Sum) of each function, by a metric id unique within one graph."""
        return {
            f"{metric_name.lower()}_{capability}_{index}": function.metric(
                metric_name, period=self._period, statistic="Sum"
            )
            for index, function in enumerate(functions)
        }

    def _graph(
        self, title: str, metrics: Sequence[cloudwatch.IMetric], *, width: int = THIRD_WIDTH
    ) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, height=HEIGHT)


def _sum_of(metrics: Mapping[str, cloudwatch.IMetric]) -> str:
    # A function with no invocations in a period has no datapoint: count it as 0, not as missing.
    return "+".join(f"FILL({metric_id},0)" for metric_id in metrics)
