"""SQS queues as this service uses them: encrypted, TLS-only, with a dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import QueueConfig, ServiceConfig
from infra.constructs.common import removal_policy
from infra.constructs.function_factory import FunctionFactory, UseBinding
from infra.route_table import RouteTable

# A dead letter keeps for SQS's maximum: standard queues count retention from the ORIGINAL enqueue
# time, so a DLQ must keep messages longer than its source queue or they expire on arrival.
DEAD_LETTER_RETENTION = Duration.days(14)


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    config: ServiceConfig,
    retention: Duration,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """A queue with SQS-managed encryption at rest and a policy denying non-TLS access."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
        removal_policy=removal_policy(config),
    )


def send_statement(queue: sqs.IQueue) -> iam.PolicyStatement:
    """Permission to enqueue into ``queue`` (SendMessage also authorizes SendMessageBatch)."""
    return iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])


class DeadLetteredQueue(Construct):
    """``queue`` and its ``dead_letter_queue``; ``consume_with`` attaches a Lambda consumer."""

    def __init__(self, scope: Construct, construct_id: str, *, config: ServiceConfig, queue_config: QueueConfig):
        super().__init__(scope, construct_id)
        self._queue_config = queue_config
        self.dead_letter_queue = encrypted_queue(
            self, "DeadLetterQueue", config=config, retention=DEAD_LETTER_RETENTION
        )
        self.queue = encrypted_queue(
            self,
            "Queue",
            config=config,
            retention=Duration.days(queue_config.retention_days),
            visibility_timeout=Duration.seconds(queue_config.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=queue_config.max_receive_count, queue=self.dead_letter_queue
            ),
        )

    def consume_with(self, function: lambda_.Function, *, max_concurrency: int) -> None:
        """Feed the queue to ``function`` in batches; failed records are reported one by one.

        With ReportBatchItemFailures only the records the handler lists are retried, so one bad
        message neither blocks nor replays the rest of its batch.
        """
        settings = self._queue_config
        function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=settings.batch_size,
                max_batching_window=(
                    Duration.seconds(settings.max_batching_window_seconds)
                    if settings.max_batching_window_seconds
                    else None
                ),
                # Bounds the consumers' containers, hence their MongoDB connections (ConcurrencyPlan).
                max_concurrency=max_concurrency,
                report_batch_item_failures=True,
            )
        )


def provide_queue_and_consumer(
    scope: Construct,
    queues: DeadLetteredQueue,
    *,
    factory: FunctionFactory,
    routes: RouteTable,
    use: str,
    url_variable: str,
    consumer_event: str,
) -> lambda_.Function:
    """Give functions that "use" ``use`` the queue URL and SendMessage, and create the queue's consumer
    (the events row ``consumer_event``, with its own role) behind an event source mapping."""
    factory.provide(
        use,
        UseBinding(environment={url_variable: queues.queue.queue_url}, statements=[send_statement(queues.queue)]),
    )
    consumer = factory.create(scope, routes.event(consumer_event), shared_role=False)
    queues.consume_with(consumer, max_concurrency=factory.concurrency.event_source_maximum[consumer_event])
    return consumer
