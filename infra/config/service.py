"""The whole deployment description of one stage: its sections, and the rules that span them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from infra.config.base import ContextModel, whole_match
from infra.config.errors import ConfigError
from infra.config.sections import (
    AlarmConfig,
    ApiConfig,
    AssetsConfig,
    ConcurrencyConfig,
    DedupeConfig,
    LambdaConfig,
    LlmConfig,
    ObservabilityConfig,
    QueueConfig,
    ReaperConfig,
    ScheduleConfig,
    SecretsExtensionConfig,
    StoreConfig,
    VpcConfig,
)

# Stage names end up in every physical name (functions, schedule group, stack), hence short and lowercase.
StageName = Annotated[str, Field(pattern=whole_match(r"[a-z][a-z0-9-]{0,19}"))]
# The account id or region of the stack's CDK Environment; None leaves it environment-agnostic (no lookups).
EnvironmentValue = Annotated[str | None, Field(min_length=1)]

# The cdk.json key of the service's settings (context.py re-exports it).
SERVICE_CONTEXT_KEY = "workflow_service"
# The capability (route-table event name) that consumes each SQS queue the stack creates.
QUEUE_CONSUMERS = {
    "trigger_queue": "trigger_queue_consumer",
    "work_queue": "run_worker",
    "webhook_delivery_queue": "deliver_webhook_events",
}


class ServiceSettings(ContextModel):
    """The ``workflow_service`` context object, after the selected stage's overlay is merged in."""

    # ``lambda`` is a Python keyword: the attribute is ``lambda_``, the cdk.json key stays ``lambda``.
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    service_name: str = Field(pattern=whole_match(r"[a-z][a-z0-9-]{0,29}"))
    removal_policy: Literal["destroy", "retain"]
    lambda_: LambdaConfig = Field(alias="lambda")
    assets: AssetsConfig
    api: ApiConfig
    store: StoreConfig
    vpc: VpcConfig | None = None
    llm: LlmConfig
    concurrency: ConcurrencyConfig
    schedules: ScheduleConfig
    trigger_queue: QueueConfig
    work_queue: QueueConfig
    webhook_delivery_queue: QueueConfig
    reaper: ReaperConfig
    dedupe: DedupeConfig
    alarms: AlarmConfig
    observability: ObservabilityConfig
    secrets_extension: SecretsExtensionConfig

    @model_validator(mode="after")
    def _queues_outlive_their_consumers(self) -> ServiceSettings:
        # Lambda refuses an SQS event source whose visibility timeout is shorter than the function
        # timeout; a message would reappear while its first delivery is still being processed.
        problems = []
        for queue_key, consumer in QUEUE_CONSUMERS.items():
            queue: QueueConfig = getattr(self, queue_key)
            consumer_timeout = self.lambda_.timeout_for(consumer)
            if queue.visibility_timeout_seconds < consumer_timeout:
                problems.append(
                    f"{queue_key}.visibility_timeout_seconds ({queue.visibility_timeout_seconds}) must be at least "
                    f"the consumer's timeout ({consumer_timeout}s); AWS recommends six times it"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ServiceConfig(ServiceSettings):
    """Everything the stack needs to know about one stage: its settings, where and as what it deploys."""

    stage: StageName
    account: EnvironmentValue = None
    region: EnvironmentValue = None

    @classmethod
    def of_stage(cls, stage: str, account: str | None, region: str | None, settings: ServiceSettings) -> ServiceConfig:
        """The config of ``stage``; ``settings`` and the stage selection are each validated already.

        A stage deployed to a named region needs the secrets extension's layer for that region: its
        functions read the MongoDB URI through it, so without the layer they could not start. Failing
        here names the missing key; an environment-agnostic stage (no region) looks the layer up at
        deploy time from the same map (a CloudFormation mapping), see SecretsExtension.
        """
        architecture = settings.lambda_.architecture
        if region and not settings.secrets_extension.layer_arn(region, architecture):
            raise ConfigError(
                f"{SERVICE_CONTEXT_KEY}.secrets_extension.layer_arns.{region}.{architecture} is missing: stage "
                f"{stage!r} deploys to {region}, whose AWS Parameters and Secrets Lambda Extension layer is not "
                "listed (see the Secrets Manager user guide for its ARN)"
            )
        return cls.model_construct(stage=stage, account=account, region=region, **dict(settings))

    @property
    def resource_prefix(self) -> str:
        """Prefix of every physical name (function names, schedule group): unique per stage."""
        return f"{self.service_name}-{self.stage}"

    @property
    def stack_name(self) -> str:
        return self.resource_prefix

    @property
    def schedule_group_name(self) -> str:
        return self.resource_prefix
