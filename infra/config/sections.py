"""One model per section of the ``workflow_service`` context object.

The bounds are the limits AWS itself enforces (Lambda, SQS, EventBridge Scheduler, API Gateway,
CloudWatch), so a value AWS would refuse fails the synth with the key named, not the deploy.
Several sections feed the runtime's environment; their bounds must agree with
``workflow_service/settings/`` (tests/infra/test_infra_config_agrees_with_settings.py checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from infra.config.base import ContextModel, whole_match

# manylinux wheels for each Lambda architecture (pip's --platform).
PIP_PLATFORM_BY_ARCHITECTURE = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
# API Gateway's default integration timeout; a longer Lambda timeout would only hide 504s.
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29
# The largest batch SQS delivers without a batching window (a larger one needs a window of >= 1 s).
SQS_MAX_UNBATCHED_SIZE = 10

# Lambda keeps at least this many of the account's concurrent executions unreserved, for every
# function without a reservation; a reservation that would eat into it is refused.
UNRESERVED_CONCURRENCY_FLOOR = 100
# CloudWatch reserves namespaces starting with this for AWS's own metrics.
AWS_METRIC_NAMESPACE_PREFIX = "AWS/"
LambdaArchitecture = Literal["x86_64", "arm64"]

LambdaMemoryMb = Annotated[int, Field(ge=128, le=10240)]
LambdaTimeoutSeconds = Annotated[int, Field(ge=1, le=900)]


class LambdaConfig(ContextModel):
    """Defaults every function gets, with per-capability overrides (capability = route group or event name)."""

    python_version: str = Field(pattern=whole_match(r"3\.\d{1,2}"))
    architecture: LambdaArchitecture
    memory_mb: LambdaMemoryMb
    timeout_seconds: LambdaTimeoutSeconds
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    log_retention_days: int
    memory_overrides: dict[str, LambdaMemoryMb]
    timeout_overrides: dict[str, LambdaTimeoutSeconds]
    # The account's concurrent-executions quota in the stage's region (1000 unless AWS raised it).
    # Lambda refuses reservations that would leave fewer than UNRESERVED_CONCURRENCY_FLOOR unreserved.
    account_concurrent_executions: int = Field(1000, ge=UNRESERVED_CONCURRENCY_FLOOR, le=1_000_000)

    @field_validator("log_retention_days")
    @classmethod
    def _is_a_cloudwatch_retention(cls, days: int) -> int:
        # CloudWatch offers a fixed list, not a range; pydantic's bounds cannot say that with a clear message.
        if days not in LOG_RETENTION_DAYS:
            raise ValueError(f"{days} is not a CloudWatch Logs retention; use one of {sorted(LOG_RETENTION_DAYS)}")
        return days

    @property
    def runtime_name(self) -> str:
        """The Lambda runtime identifier, e.g. ``python3.12``."""
        return f"python{self.python_version}"

    @property
    def pip_platform(self) -> str:
        """The manylinux platform tag whose wheels run on this architecture."""
        return PIP_PLATFORM_BY_ARCHITECTURE[self.architecture]

    def memory_for(self, capability: str) -> int:
        """Memory (MB) for a function of ``capability``."""
        return self.memory_overrides.get(capability, self.memory_mb)

    def timeout_for(self, capability: str) -> int:
        """Timeout (seconds) for a function of ``capability``."""
        return self.timeout_overrides.get(capability, self.timeout_seconds)


class AssetsConfig(ContextModel):
    """Where the handler code and the built domain layer live.

    cdk.json gives paths relative to the repository; they are resolved against the ``root`` the
    loader passes in the validation context, so the stack always sees absolute paths.
    """

    lambdas_path: Path
    layer_path: Path

    @field_validator("lambdas_path", "layer_path", mode="before")
    @classmethod
    def _resolve_against_root(cls, value: object, info: ValidationInfo) -> Path:
        if not isinstance(value, str) or not value:
            raise ValueError(f"must be a non-empty path, got {value!r}")
        root: Path = (info.context or {})["root"]
        return (root / value).resolve()

    @property
    def layer_archive(self) -> Path:
        """The zip of ``layer_path`` that scripts/build_layer.py writes and the stack deploys."""
        return self.layer_path.parent / f"{self.layer_path.name}.zip"


class ApiConfig(ContextModel):
    """The REST API stage: throttling, authorizer caching, execution logging, WAF."""

    throttling_rate_limit: float = Field(ge=1)
    throttling_burst_limit: int = Field(ge=1)
    # API Gateway caps authorizer result caching at one hour.
    authorizer_cache_ttl_seconds: int = Field(ge=0, le=3600)
    execution_logging_level: Literal["OFF", "ERROR", "INFO"]
    create_cloudwatch_role: bool
    waf_web_acl_arn: str | None = Field(None, pattern=whole_match(r"arn:aws[a-z-]*:wafv2:.+"))


class StoreConfig(ContextModel):
    """The MongoDB URI is an existing Secrets Manager secret, referenced by name (see StoreSecret)."""

    mongodb_secret_name: str = Field(pattern=whole_match(r"[A-Za-z0-9/_+=.@-]{1,512}"))
    mongodb_secret_kms_key_arn: str | None = Field(None, pattern=whole_match(r"arn:aws[a-z-]*:kms:.+"))
    mongodb_database: str = Field(pattern=whole_match(r"[A-Za-z0-9_-]{1,63}"))
    # Connections the cluster accepts on its busiest node (the primary): Atlas M10 allows 1500.
    # infra/connection_budget.py turns it into reserved concurrency and SQS maximum concurrency.
    connection_budget: int = Field(1500, ge=30, le=1_000_000)
    # pymongo's pool per container: a container serves one invocation at a time, and 2 lets a
    # heartbeat write overlap a turn's query instead of waiting for it.
    max_pool_size: int = Field(2, ge=1, le=100)
    # The part of the budget (after the reaper's) that the API functions may hold; event consumers get the rest.
    api_share: float = Field(0.6, gt=0, lt=1)
    # Route (or "authorizer") -> its weight in the API share; unnamed functions weigh 1. An even split
    # would give the synchronous execute route, which holds its container for a whole turn, as few
    # concurrent executions as a route called once a week.
    api_weights: dict[
        Annotated[str, Field(pattern=whole_match(r"[a-z][a-z0-9_]{0,63}"))], Annotated[int, Field(ge=1, le=1000)]
    ] = Field(default_factory=dict)


class VpcConfig(ContextModel):
    """Existing network to attach functions to. Given as ids so that synth needs no lookup."""

    vpc_id: str = Field(pattern=whole_match(r"vpc-[0-9a-f]+"))
    # Not strict: JSON has lists, not tuples; a tuple keeps the frozen config immutable all the way down.
    subnet_ids: tuple[Annotated[str, Field(pattern=whole_match(r"subnet-[0-9a-f]+"))], ...] = Field(
        strict=False, min_length=1
    )
    security_group_ids: tuple[Annotated[str, Field(pattern=whole_match(r"sg-[0-9a-f]+"))], ...] = Field(
        strict=False, min_length=1
    )
    availability_zones: tuple[Annotated[str, Field(min_length=1)], ...] = Field(strict=False, min_length=1)


class LlmGatewayConfig(ContextModel):
    """An OpenAI-compatible gateway (e.g. LiteLLM) serving an SDK provider the service has no client for."""

    base_url: str = Field(pattern=whole_match(r"https://\S+"))
    api_key_secret_name: str | None = Field(None, min_length=1)


class LlmConfig(ContextModel):
    """The LLM provider functions use unless a workflow names its own model, and the gateways that serve
    the SDK providers ``azure_openai``, ``google`` and ``anthropic`` (a config naming one without a
    gateway is refused when the workflow is written)."""

    default_provider: Literal["scripted", "bedrock", "openai_compatible"]
    default_model: str | None = Field(None, min_length=1)
    bedrock_region: str | None = Field(None, pattern=whole_match(r"[a-z]{2}(-[a-z]+)+-\d"))
    openai_base_url: str | None = Field(None, pattern=whole_match(r"https://\S+"))
    openai_api_key_secret_name: str | None = Field(None, min_length=1)
    request_timeout_seconds: float = Field(ge=1)
    gateways: dict[Literal["azure_openai", "google", "anthropic"], LlmGatewayConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _openai_compatible_has_an_endpoint(self) -> LlmConfig:
        if self.default_provider == "openai_compatible" and not self.openai_base_url:
            raise ValueError("openai_base_url is required when default_provider is openai_compatible")
        return self


class ConcurrencyConfig(ContextModel):
    """Run admission defaults: a team's slot limit, and the Retry-After of a 429."""

    default_team_max_concurrent_runs: int = Field(ge=1)
    retry_after_seconds: int = Field(ge=1)
    # How much one dispatch pass reads: the queue heads of this many workflows, this many runs asked about.
    dispatch_max_workflows: int = Field(ge=1, le=1000)
    dispatch_max_runs: int = Field(ge=1, le=1000)


class ScheduleConfig(ContextModel):
    """How a schedule's delivery to the target function is retried."""

    # The bounds EventBridge Scheduler's RetryPolicy accepts.
    retry_attempts: int = Field(ge=0, le=185)
    max_event_age_seconds: int = Field(ge=60, le=86400)
    # Lambda's own asynchronous retries of the target function.
    target_async_retry_attempts: int = Field(ge=0, le=2)


class QueueConfig(ContextModel):
    """An SQS queue with its DLQ, and the Lambda event source that consumes it."""

    visibility_timeout_seconds: int = Field(ge=0, le=43200)
    max_receive_count: int = Field(ge=1, le=1000)
    retention_days: int = Field(ge=1, le=14)
    batch_size: int = Field(ge=1, le=10000)
    max_batching_window_seconds: int = Field(ge=0, le=300)
    # None: derived from store.connection_budget (see infra/connection_budget.py); a number overrides it.
    max_concurrency: int | None = Field(None, ge=2, le=1000)

    @model_validator(mode="after")
    def _large_batches_have_a_window(self) -> QueueConfig:
        if self.batch_size > SQS_MAX_UNBATCHED_SIZE and self.max_batching_window_seconds == 0:
            raise ValueError(
                f"batch_size above {SQS_MAX_UNBATCHED_SIZE} needs max_batching_window_seconds >= 1 (SQS rule)"
            )
        return self


class ReaperConfig(ContextModel):
    """The stale-run reaper: how often it runs, what counts as stale, how much one pass does."""

    rate_minutes: int = Field(ge=1, le=1440)
    heartbeat_timeout_seconds: int = Field(ge=1)
    input_timeout_seconds: int = Field(ge=1)
    queue_ttl_seconds: int = Field(ge=1)
    lease_grace_seconds: int = Field(ge=0)
    schedule_firing_grace_seconds: int = Field(ge=1)
    batch_size: int = Field(ge=1, le=1000)
    max_batches: int = Field(ge=1)
    pause_ttl_seconds: int = Field(ge=1)
    schedule_push_grace_seconds: int = Field(ge=0)
    schedule_listing_interval_seconds: int = Field(ge=0)


class DedupeConfig(ContextModel):
    """How long delivery ids (SQS message ids, schedule firings, webhook ids) and Idempotency-Keys are remembered."""

    window_seconds: int = Field(ge=60)


class AlarmConfig(ContextModel):
    """CloudWatch alarms: whom they notify and what trips them."""

    email: str | None = Field(None, pattern=whole_match(r"[^@\s]+@[^@\s]+\.[^@\s]+"))
    period_minutes: int = Field(ge=1, le=1440)
    evaluation_periods: int = Field(ge=1)
    errors_threshold: int = Field(ge=1)
    throttles_threshold: int = Field(ge=1)
    api_5xx_threshold: int = Field(ge=1)


class ObservabilityConfig(ContextModel):
    """Custom metrics: the runtime emits them with Powertools Metrics (EMF) under this namespace."""

    metrics_namespace: str = Field("WorkflowService", pattern=whole_match(r"[A-Za-z0-9.\-_/#:]{1,255}"))

    @field_validator("metrics_namespace")
    @classmethod
    def _is_not_an_aws_namespace(cls, namespace: str) -> str:
        if namespace.startswith(AWS_METRIC_NAMESPACE_PREFIX):
            raise ValueError(f"{namespace!r}: namespaces starting with {AWS_METRIC_NAMESPACE_PREFIX!r} are reserved")
        return namespace


RegionName = Annotated[str, Field(pattern=whole_match(r"[a-z]{2}(-[a-z]+)+-\d"))]
ExtensionLayerArn = Annotated[
    str,
    Field(
        pattern=whole_match(
            r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension(-Arm64)?:\d+"
        )
    ),
]
EXTENSION_LAYER_SUFFIX_BY_ARCHITECTURE = {"x86_64": "", "arm64": "-Arm64"}


class SecretsExtensionConfig(ContextModel):
    """The AWS Parameters and Secrets Lambda Extension, given to every function that reads a secret.

    AWS publishes the extension as a layer per region and architecture, each region from its own
    account, so the ARNs are listed here (region -> architecture -> ARN) and synth stays offline.
    The shipped map is the one aws-cdk-lib 2.275.0 carries for ``ParamsAndSecretsVersions.V1_0_103``
    (layer version 4); newer layer versions are listed per region in the Secrets Manager user guide
    ("AWS Parameters and Secrets Lambda Extension ARNs"). The variables are the extension's own,
    with its documented bounds.
    """

    layer_arns: dict[RegionName, dict[LambdaArchitecture, ExtensionLayerArn]] = Field(min_length=1)
    http_port: int = Field(2773, ge=1, le=65535)
    cache_enabled: bool = True
    # At most 1000 secrets and parameters; 0 disables the cache.
    cache_size: int = Field(1000, ge=0, le=1000)
    # How long a cached secret is served before it is fetched again; the extension allows 0..300 s.
    secrets_manager_ttl_seconds: int = Field(300, ge=0, le=300)

    @field_validator("layer_arns")
    @classmethod
    def _arns_match_their_region_and_architecture(
        cls, layer_arns: dict[str, dict[str, str]]
    ) -> dict[str, dict[str, str]]:
        problems = []
        for region, by_architecture in layer_arns.items():
            for architecture, arn in by_architecture.items():
                _, _, _, arn_region, _, _, name, _ = arn.split(":")
                suffix = EXTENSION_LAYER_SUFFIX_BY_ARCHITECTURE[architecture]
                if arn_region != region or name != f"AWS-Parameters-and-Secrets-Lambda-Extension{suffix}":
                    problems.append(f"{region}.{architecture}: {arn} is not the {architecture} layer of {region}")
        if problems:
            raise ValueError("; ".join(problems))
        return layer_arns

    def layer_arn(self, region: str, architecture: LambdaArchitecture) -> str | None:
        """The extension layer of ``region`` for ``architecture``, or None if the map lacks it."""
        return self.layer_arns.get(region, {}).get(architecture)
