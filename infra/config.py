"""Typed deployment configuration parsed from the CDK context (``cdk.json``).

The context holds one ``workflow_service`` object (the defaults) and ``workflow_service_stages``
(per-stage partial overrides, deep-merged over the defaults). ``-c stage=prod`` picks the stage.
Unknown keys are rejected so that a typo in ``cdk.json`` fails the synth instead of being ignored.

This module is plain Python (no ``aws_cdk``): ``scripts/build_layer.py`` reads the Lambda Python
version and architecture from here, so the layer is always built for the runtime that is deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = REPO_ROOT / "cdk.json"

SERVICE_CONTEXT_KEY = "workflow_service"
STAGES_CONTEXT_KEY = "workflow_service_stages"
STAGE_CONTEXT_KEY = "stage"
ACCOUNT_CONTEXT_KEY = "account"
REGION_CONTEXT_KEY = "region"
# Top-level context keys the config reads; app.py forwards exactly these from the CDK context.
CONFIG_CONTEXT_KEYS = (
    STAGE_CONTEXT_KEY,
    ACCOUNT_CONTEXT_KEY,
    REGION_CONTEXT_KEY,
    SERVICE_CONTEXT_KEY,
    STAGES_CONTEXT_KEY,
)

# manylinux wheels for each Lambda architecture (pip's --platform).
PIP_PLATFORM_BY_ARCHITECTURE = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
LLM_PROVIDERS = frozenset({"scripted", "bedrock", "openai_compatible"})
API_LOGGING_LEVELS = frozenset({"OFF", "ERROR", "INFO"})
# API Gateway's default integration timeout; a longer Lambda timeout would only hide 504s.
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29


class ConfigError(ValueError):
    """The CDK context does not describe a valid deployment; the message names the key."""


@dataclass(frozen=True)
class LambdaConfig:
    """Defaults every function gets, with per-capability overrides (capability = route group or event name)."""

    python_version: str
    architecture: Literal["x86_64", "arm64"]
    memory_mb: int
    timeout_seconds: int
    log_level: str
    log_retention_days: int
    memory_overrides: Mapping[str, int]
    timeout_overrides: Mapping[str, int]

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


@dataclass(frozen=True)
class AssetsConfig:
    """Where the handler code and the built domain layer live (absolute paths)."""

    lambdas_path: Path
    layer_path: Path

    @property
    def layer_archive(self) -> Path:
        """The zip of ``layer_path`` that scripts/build_layer.py writes and the stack deploys."""
        return self.layer_path.parent / f"{self.layer_path.name}.zip"


@dataclass(frozen=True)
class ApiConfig:
    throttling_rate_limit: float
    throttling_burst_limit: int
    authorizer_cache_ttl_seconds: int
    execution_logging_level: str
    create_cloudwatch_role: bool
    waf_web_acl_arn: str | None


@dataclass(frozen=True)
class StoreConfig:
    """The MongoDB URI is an existing Secrets Manager secret, referenced by name (see StoreSecret)."""

    mongodb_secret_name: str
    mongodb_secret_kms_key_arn: str | None
    mongodb_database: str


@dataclass(frozen=True)
class VpcConfig:
    """Existing network to attach functions to. Given as ids so that synth needs no lookup."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    availability_zones: tuple[str, ...]


@dataclass(frozen=True)
class LlmConfig:
    default_provider: str
    default_model: str | None
    bedrock_region: str | None
    openai_base_url: str | None
    openai_api_key_secret_name: str | None
    request_timeout_seconds: float


@dataclass(frozen=True)
class ConcurrencyConfig:
    default_team_max_concurrent_runs: int
    retry_after_seconds: int


@dataclass(frozen=True)
class ScheduleConfig:
    retry_attempts: int
    max_event_age_seconds: int
    target_async_retry_attempts: int


@dataclass(frozen=True)
class QueueConfig:
    """An SQS queue with its DLQ, and the Lambda event source that consumes it."""

    visibility_timeout_seconds: int
    max_receive_count: int
    retention_days: int
    batch_size: int
    max_batching_window_seconds: int
    max_concurrency: int | None


@dataclass(frozen=True)
class ReaperConfig:
    rate_minutes: int
    heartbeat_timeout_seconds: int
    input_timeout_seconds: int
    queue_ttl_seconds: int
    lease_grace_seconds: int
    schedule_firing_grace_seconds: int
    batch_size: int
    max_batches: int


@dataclass(frozen=True)
class AlarmConfig:
    email: str | None
    period_minutes: int
    evaluation_periods: int
    errors_threshold: int
    throttles_threshold: int
    api_5xx_threshold: int


@dataclass(frozen=True)
class ServiceConfig:
    """Everything the stack needs to know about one stage."""

    stage: str
    service_name: str
    account: str | None
    region: str | None
    removal_policy: Literal["destroy", "retain"]
    lambda_: LambdaConfig
    assets: AssetsConfig
    api: ApiConfig
    store: StoreConfig
    vpc: VpcConfig | None
    llm: LlmConfig
    concurrency: ConcurrencyConfig
    schedules: ScheduleConfig
    trigger_queue: QueueConfig
    work_queue: QueueConfig
    reaper: ReaperConfig
    alarms: AlarmConfig

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


def read_cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` object of ``cdk.json`` (feature flags included)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path} not found") from error
    context = document.get("context")
    if not isinstance(context, dict):
        raise ConfigError(f"{path} has no 'context' object")
    return context


def load_config(context: Mapping[str, Any], *, root: Path = REPO_ROOT) -> ServiceConfig:
    """Parse and validate the context of one stage; relative asset paths resolve against ``root``."""
    stage = _require_str(context.get(STAGE_CONTEXT_KEY), STAGE_CONTEXT_KEY)
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", stage):
        raise ConfigError(f"{STAGE_CONTEXT_KEY}: {stage!r} must be lowercase letters, digits and '-' (max 20)")
    defaults = context.get(SERVICE_CONTEXT_KEY)
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"context key {SERVICE_CONTEXT_KEY!r} must be an object")
    stages = context.get(STAGES_CONTEXT_KEY) or {}
    if not isinstance(stages, Mapping):
        raise ConfigError(f"context key {STAGES_CONTEXT_KEY!r} must be an object keyed by stage")
    merged = _deep_merge(defaults, stages.get(stage) or {})
    section = _Section(merged, SERVICE_CONTEXT_KEY)
    config = ServiceConfig(
        stage=stage,
        service_name=section.str("service_name", pattern=r"[a-z][a-z0-9-]{0,29}"),
        account=_optional_str(context.get(ACCOUNT_CONTEXT_KEY), ACCOUNT_CONTEXT_KEY),
        region=_optional_str(context.get(REGION_CONTEXT_KEY), REGION_CONTEXT_KEY),
        removal_policy=section.choice("removal_policy", {"destroy", "retain"}),
        lambda_=_lambda_config(section.section("lambda")),
        assets=_assets_config(section.section("assets"), root),
        api=_api_config(section.section("api")),
        store=_store_config(section.section("store")),
        vpc=_vpc_config(section.optional_section("vpc")),
        llm=_llm_config(section.section("llm")),
        concurrency=_concurrency_config(section.section("concurrency")),
        schedules=_schedule_config(section.section("schedules")),
        trigger_queue=_queue_config(section.section("trigger_queue")),
        work_queue=_queue_config(section.section("work_queue")),
        reaper=_reaper_config(section.section("reaper")),
        alarms=_alarm_config(section.section("alarms")),
    )
    section.reject_unknown()
    _check_queue_outlives_consumer(
        config.trigger_queue, config.lambda_.timeout_for("trigger_queue_consumer"), "trigger"
    )
    _check_queue_outlives_consumer(config.work_queue, config.lambda_.timeout_for("run_worker"), "work")
    return config


def load_config_from_cdk_json(stage: str | None = None, *, path: Path = CDK_JSON) -> ServiceConfig:
    """The config of ``stage`` (default: the context's ``stage``) straight from ``cdk.json``."""
    context = dict(read_cdk_json_context(path))
    if stage is not None:
        context[STAGE_CONTEXT_KEY] = stage
    return load_config(context, root=path.parent)


def _lambda_config(section: _Section) -> LambdaConfig:
    config = LambdaConfig(
        python_version=section.str("python_version", pattern=r"3\.\d{1,2}"),
        architecture=section.choice("architecture", set(PIP_PLATFORM_BY_ARCHITECTURE)),
        memory_mb=section.int("memory_mb", minimum=128, maximum=10240),
        timeout_seconds=section.int("timeout_seconds", minimum=1, maximum=900),
        log_level=section.choice("log_level", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}),
        log_retention_days=section.int("log_retention_days", minimum=1),
        memory_overrides=section.int_map("memory_overrides", minimum=128, maximum=10240),
        timeout_overrides=section.int_map("timeout_overrides", minimum=1, maximum=900),
    )
    if config.log_retention_days not in LOG_RETENTION_DAYS:
        raise ConfigError(
            f"{section.path}.log_retention_days: {config.log_retention_days} is not a CloudWatch Logs retention; "
            f"use one of {sorted(LOG_RETENTION_DAYS)}"
        )
    section.reject_unknown()
    return config


def _assets_config(section: _Section, root: Path) -> AssetsConfig:
    config = AssetsConfig(
        lambdas_path=(root / section.str("lambdas_path")).resolve(),
        layer_path=(root / section.str("layer_path")).resolve(),
    )
    section.reject_unknown()
    return config


def _api_config(section: _Section) -> ApiConfig:
    config = ApiConfig(
        throttling_rate_limit=section.number("throttling_rate_limit", minimum=1),
        throttling_burst_limit=section.int("throttling_burst_limit", minimum=1),
        # API Gateway caps authorizer result caching at one hour.
        authorizer_cache_ttl_seconds=section.int("authorizer_cache_ttl_seconds", minimum=0, maximum=3600),
        execution_logging_level=section.choice("execution_logging_level", set(API_LOGGING_LEVELS)),
        create_cloudwatch_role=section.bool("create_cloudwatch_role"),
        waf_web_acl_arn=section.optional_str("waf_web_acl_arn", pattern=r"arn:aws[a-z-]*:wafv2:.+"),
    )
    section.reject_unknown()
    return config


def _store_config(section: _Section) -> StoreConfig:
    config = StoreConfig(
        mongodb_secret_name=section.str("mongodb_secret_name", pattern=r"[A-Za-z0-9/_+=.@-]{1,512}"),
        mongodb_secret_kms_key_arn=section.optional_str("mongodb_secret_kms_key_arn", pattern=r"arn:aws[a-z-]*:kms:.+"),
        mongodb_database=section.str("mongodb_database", pattern=r"[A-Za-z0-9_-]{1,63}"),
    )
    section.reject_unknown()
    return config


def _vpc_config(section: _Section | None) -> VpcConfig | None:
    if section is None:
        return None
    config = VpcConfig(
        vpc_id=section.str("vpc_id", pattern=r"vpc-[0-9a-f]+"),
        subnet_ids=section.str_list("subnet_ids", pattern=r"subnet-[0-9a-f]+", non_empty=True),
        security_group_ids=section.str_list("security_group_ids", pattern=r"sg-[0-9a-f]+", non_empty=True),
        availability_zones=section.str_list("availability_zones", non_empty=True),
    )
    section.reject_unknown()
    return config


def _llm_config(section: _Section) -> LlmConfig:
    config = LlmConfig(
        default_provider=section.choice("default_provider", set(LLM_PROVIDERS)),
        default_model=section.optional_str("default_model"),
        bedrock_region=section.optional_str("bedrock_region", pattern=r"[a-z]{2}(-[a-z]+)+-\d"),
        openai_base_url=section.optional_str("openai_base_url", pattern=r"https://\S+"),
        openai_api_key_secret_name=section.optional_str("openai_api_key_secret_name"),
        request_timeout_seconds=section.number("request_timeout_seconds", minimum=1),
    )
    if config.default_provider == "openai_compatible" and not config.openai_base_url:
        raise ConfigError(f"{section.path}.openai_base_url is required when default_provider is openai_compatible")
    section.reject_unknown()
    return config


def _concurrency_config(section: _Section) -> ConcurrencyConfig:
    config = ConcurrencyConfig(
        default_team_max_concurrent_runs=section.int("default_team_max_concurrent_runs", minimum=1),
        retry_after_seconds=section.int("retry_after_seconds", minimum=1),
    )
    section.reject_unknown()
    return config


def _schedule_config(section: _Section) -> ScheduleConfig:
    config = ScheduleConfig(
        # The bounds EventBridge Scheduler's RetryPolicy accepts.
        retry_attempts=section.int("retry_attempts", minimum=0, maximum=185),
        max_event_age_seconds=section.int("max_event_age_seconds", minimum=60, maximum=86400),
        # Lambda's own asynchronous retries of the target function.
        target_async_retry_attempts=section.int("target_async_retry_attempts", minimum=0, maximum=2),
    )
    section.reject_unknown()
    return config


def _queue_config(section: _Section) -> QueueConfig:
    config = QueueConfig(
        visibility_timeout_seconds=section.int("visibility_timeout_seconds", minimum=0, maximum=43200),
        max_receive_count=section.int("max_receive_count", minimum=1, maximum=1000),
        retention_days=section.int("retention_days", minimum=1, maximum=14),
        batch_size=section.int("batch_size", minimum=1, maximum=10000),
        max_batching_window_seconds=section.int("max_batching_window_seconds", minimum=0, maximum=300),
        max_concurrency=section.optional_int("max_concurrency", minimum=2, maximum=1000),
    )
    if config.batch_size > 10 and config.max_batching_window_seconds == 0:
        raise ConfigError(f"{section.path}: batch_size above 10 needs max_batching_window_seconds >= 1 (SQS rule)")
    section.reject_unknown()
    return config


def _reaper_config(section: _Section) -> ReaperConfig:
    config = ReaperConfig(
        rate_minutes=section.int("rate_minutes", minimum=1, maximum=1440),
        heartbeat_timeout_seconds=section.int("heartbeat_timeout_seconds", minimum=1),
        input_timeout_seconds=section.int("input_timeout_seconds", minimum=1),
        queue_ttl_seconds=section.int("queue_ttl_seconds", minimum=1),
        lease_grace_seconds=section.int("lease_grace_seconds", minimum=0),
        schedule_firing_grace_seconds=section.int("schedule_firing_grace_seconds", minimum=1),
        batch_size=section.int("batch_size", minimum=1, maximum=1000),
        max_batches=section.int("max_batches", minimum=1),
    )
    section.reject_unknown()
    return config


def _alarm_config(section: _Section) -> AlarmConfig:
    config = AlarmConfig(
        email=section.optional_str("email", pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+"),
        period_minutes=section.int("period_minutes", minimum=1, maximum=1440),
        evaluation_periods=section.int("evaluation_periods", minimum=1),
        errors_threshold=section.int("errors_threshold", minimum=1),
        throttles_threshold=section.int("throttles_threshold", minimum=1),
        api_5xx_threshold=section.int("api_5xx_threshold", minimum=1),
    )
    section.reject_unknown()
    return config


def _check_queue_outlives_consumer(queue: QueueConfig, consumer_timeout: int, name: str) -> None:
    # Lambda refuses an SQS event source whose visibility timeout is shorter than the function
    # timeout; a message would reappear while its first delivery is still being processed.
    if queue.visibility_timeout_seconds < consumer_timeout:
        raise ConfigError(
            f"{name}_queue.visibility_timeout_seconds ({queue.visibility_timeout_seconds}) must be at least the "
            f"consumer's timeout ({consumer_timeout}s); AWS recommends six times it"
        )


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _require_str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path} must be a non-empty string, got {value!r}")
    return value


def _optional_str(value: Any, path: str) -> str | None:
    return None if value is None else _require_str(value, path)


class _Section:
    """Typed, path-aware reads from one context object; remembers which keys were read."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path} must be an object, got {data!r}")
        self._data = data
        self.path = path
        self._read: set[str] = set()

    def _get(self, key: str) -> Any:
        self._read.add(key)
        if key not in self._data:
            raise ConfigError(f"{self.path}.{key} is missing")
        return self._data[key]

    def _get_optional(self, key: str) -> Any:
        self._read.add(key)
        return self._data.get(key)

    def section(self, key: str) -> _Section:
        return _Section(self._get(key), f"{self.path}.{key}")

    def optional_section(self, key: str) -> _Section | None:
        value = self._get_optional(key)
        return None if value is None else _Section(value, f"{self.path}.{key}")

    def str(self, key: str, *, pattern: str | None = None) -> str:
        value = _require_str(self._get(key), f"{self.path}.{key}")
        if pattern and not re.fullmatch(pattern, value):
            raise ConfigError(f"{self.path}.{key}: {value!r} does not match {pattern}")
        return value

    def optional_str(self, key: str, *, pattern: str | None = None) -> str | None:
        if self._get_optional(key) is None:
            return None
        return self.str(key, pattern=pattern)

    def choice(self, key: str, allowed: set[str]) -> Any:
        value = self._get(key)
        if value not in allowed:
            raise ConfigError(f"{self.path}.{key}: {value!r} is not one of {sorted(allowed)}")
        return value

    def bool(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.path}.{key} must be true or false, got {value!r}")
        return value

    def int(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        return _bounded_int(self._get(key), f"{self.path}.{key}", minimum, maximum)

    def optional_int(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self._get_optional(key)
        return None if value is None else _bounded_int(value, f"{self.path}.{key}", minimum, maximum)

    def number(self, key: str, *, minimum: float) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ConfigError(f"{self.path}.{key} must be a number >= {minimum}, got {value!r}")
        return float(value)

    def int_map(self, key: str, *, minimum: int, maximum: int) -> dict[str, int]:
        value = self._get(key)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.path}.{key} must be an object of name -> integer")
        return {name: _bounded_int(item, f"{self.path}.{key}.{name}", minimum, maximum) for name, item in value.items()}

    def str_list(self, key: str, *, pattern: str | None = None, non_empty: bool = False) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise ConfigError(f"{self.path}.{key} must be a list of strings, got {value!r}")
        if non_empty and not value:
            raise ConfigError(f"{self.path}.{key} must not be empty")
        for item in value:
            if pattern and not re.fullmatch(pattern, item):
                raise ConfigError(f"{self.path}.{key}: {item!r} does not match {pattern}")
        return tuple(value)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self._data) - self._read)
        if unknown:
            raise ConfigError(f"{self.path}: unknown key(s) {unknown}")


def _bounded_int(value: Any, path: str, minimum: int | None, maximum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path} must be an integer, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(f"{path}: {value} is outside [{minimum}, {maximum}]")
    return value
