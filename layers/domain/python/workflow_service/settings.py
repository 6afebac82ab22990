"""Every environment variable the service reads, modelled in one place.

Nothing else reads ``os.environ``. Each section is a pydantic model whose field aliases are the
environment variable names, so infra and tests can enumerate exactly what a function may be given.
Values are read once per container (``load_settings`` is cached); tests build ``Settings`` directly.
"""

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Section(BaseModel):
    # Built on first use: a handler pays only for the sections it reads.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, defer_build=True)


class RuntimeSettings(_Section):
    stage: str = Field("local", alias="STAGE")
    service_name: str = Field("workflow-service", alias="POWERTOOLS_SERVICE_NAME")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    # The share of invocations (0..1) logged at DEBUG whatever LOG_LEVEL says.
    log_sampling_rate: float = Field(0.0, alias="POWERTOOLS_LOGGER_SAMPLE_RATE", ge=0, le=1)
    metrics_namespace: str = Field("WorkflowService", alias="POWERTOOLS_METRICS_NAMESPACE", min_length=1)
    # X-Ray subsegments from Powertools Tracer on the handlers that call out; needs aws_xray_sdk
    # (not in the layer: see observability.traced). Off: only Lambda's active tracing, if configured.
    tracing_enabled: bool = Field(False, alias="TRACING_ENABLED")
    local_runtime: bool = Field(False, alias="WORKFLOWS_LOCAL_RUNTIME")
    # Local runtime only: the one origin (scheme://host:port) browsers may call it from; unset: no CORS.
    local_cors_allow_origin: str | None = Field(None, alias="WORKFLOWS_LOCAL_CORS_ALLOW_ORIGIN")
    # Local runtime only: which instant of a repeated fall-back wall time the emulated EventBridge picks
    # (AWS does not document it; the service must not depend on it, and the tests run both).
    local_scheduler_fall_back: Literal["first", "second"] = Field("first", alias="LOCAL_SCHEDULER_FALL_BACK")


class StoreSettings(_Section):
    mongodb_uri: str | None = Field(None, alias="MONGODB_URI")
    # In AWS the URI lives in Secrets Manager; the secret is read once per container.
    mongodb_secret_arn: str | None = Field(None, alias="MONGODB_SECRET_ARN")
    database_name: str = Field("workflows", alias="MONGODB_DATABASE")
    server_selection_timeout_ms: int = Field(3000, alias="MONGODB_SERVER_SELECTION_TIMEOUT_MS", ge=100)
    # Connections per container; the stack sizes it (with reserved concurrency) to the cluster's budget.
    max_pool_size: int = Field(100, alias="MONGODB_MAX_POOL_SIZE", ge=1, le=100)
    # Local runtime only: keep the embedded store in this JSON file between restarts (default: memory only).
    local_data_file: str | None = Field(None, alias="WORKFLOWS_LOCAL_DATA_FILE")


class SecretsSettings(_Section):
    """How secrets (MONGODB_SECRET_ARN, LLM_OPENAI_API_KEY_SECRET_ARN) are read: through the AWS
    Parameters and Secrets Lambda Extension, or with the SDK where the extension is absent (see
    adapters/aws/secrets_extension.py)."""

    # The extension listens here; the same variable configures the extension itself.
    extension_http_port: int = Field(2773, alias="PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", ge=1, le=65535)
    # Set by Lambda (temporary credentials); the extension authenticates each call by it. Unset outside
    # Lambda, where the extension cannot be used.
    aws_session_token: SecretStr | None = Field(None, alias="AWS_SESSION_TOKEN")
    # Per HTTP call to the extension: a local call answers in milliseconds; a cache miss waits on
    # Secrets Manager (its own timeout is SECRETS_MANAGER_TIMEOUT_MILLIS below).
    extension_timeout_seconds: float = Field(2.0, alias="SECRETS_EXTENSION_TIMEOUT_SECONDS", gt=0, le=30)
    # Right at init the extension may answer 400 "not ready"; how long to keep asking.
    extension_ready_wait_seconds: float = Field(1.0, alias="SECRETS_EXTENSION_READY_WAIT_SECONDS", ge=0, le=10)
    # Read by the extension, not by this code: modelled so every variable a function receives is named
    # here. Kept as text so a value the extension accepts never fails this service's cold start.
    extension_cache_enabled: str | None = Field(None, alias="PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED")
    extension_cache_size: str | None = Field(None, alias="PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE")
    extension_log_level: str | None = Field(None, alias="PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL")
    extension_max_connections: str | None = Field(None, alias="PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS")
    secrets_manager_timeout_millis: str | None = Field(None, alias="SECRETS_MANAGER_TIMEOUT_MILLIS")
    secrets_manager_ttl: str | None = Field(None, alias="SECRETS_MANAGER_TTL")
    parameter_store_timeout_millis: str | None = Field(None, alias="SSM_PARAMETER_STORE_TIMEOUT_MILLIS")
    parameter_store_ttl: str | None = Field(None, alias="SSM_PARAMETER_STORE_TTL")


class LlmSettings(_Section):
    default_provider: Literal["scripted", "bedrock", "openai_compatible"] = Field(
        "scripted", alias="LLM_DEFAULT_PROVIDER"
    )
    default_model: str | None = Field(None, alias="LLM_DEFAULT_MODEL")
    bedrock_region: str | None = Field(None, alias="LLM_BEDROCK_REGION")
    openai_base_url: str | None = Field(None, alias="LLM_OPENAI_BASE_URL")
    openai_api_key: str | None = Field(None, alias="LLM_OPENAI_API_KEY")
    openai_api_key_secret_arn: str | None = Field(None, alias="LLM_OPENAI_API_KEY_SECRET_ARN")
    request_timeout_seconds: float = Field(30.0, alias="LLM_REQUEST_TIMEOUT_SECONDS", gt=0)
    # OpenAI-compatible gateways (e.g. LiteLLM) for the SDK providers the service has no client for;
    # without one, configs naming that provider are refused at write time.
    gateway_azure_openai_base_url: str | None = Field(None, alias="LLM_GATEWAY_AZURE_OPENAI_BASE_URL")
    gateway_azure_openai_api_key: str | None = Field(None, alias="LLM_GATEWAY_AZURE_OPENAI_API_KEY")
    gateway_google_base_url: str | None = Field(None, alias="LLM_GATEWAY_GOOGLE_BASE_URL")
    gateway_google_api_key: str | None = Field(None, alias="LLM_GATEWAY_GOOGLE_API_KEY")
    gateway_anthropic_base_url: str | None = Field(None, alias="LLM_GATEWAY_ANTHROPIC_BASE_URL")
    gateway_anthropic_api_key: str | None = Field(None, alias="LLM_GATEWAY_ANTHROPIC_API_KEY")

    def gateway_base_url(self, provider: str) -> str | None:
        """The gateway configured for an SDK provider (azure_openai, google, anthropic), or None."""
        value = getattr(self, f"gateway_{provider}_base_url", None)
        return value if isinstance(value, str) and value else None

    def gateway_api_key(self, provider: str) -> str | None:
        value = getattr(self, f"gateway_{provider}_api_key", None)
        return value if isinstance(value, str) and value else None

    @property
    def gateway_providers(self) -> frozenset[str]:
        """The SDK providers a gateway is configured for."""
        return frozenset(name for name in ("azure_openai", "google", "anthropic") if self.gateway_base_url(name))


class HttpNodeSettings(_Section):
    """Outbound calls made by http_request and tool nodes."""

    allow_loopback: bool = Field(False, alias="HTTP_NODE_ALLOW_LOOPBACK")
    allow_private_networks: bool = Field(False, alias="HTTP_NODE_ALLOW_PRIVATE_NETWORKS")
    # Deployed, plain http would send workflow data and credentials in clear; the local runtime turns it off.
    require_https: bool = Field(True, alias="HTTP_NODE_REQUIRE_HTTPS")
    default_timeout_seconds: float = Field(10.0, alias="HTTP_NODE_TIMEOUT_SECONDS", gt=0)
    max_response_bytes: int = Field(1_000_000, alias="HTTP_NODE_MAX_RESPONSE_BYTES", gt=0)


class EngineSettings(_Section):
    max_steps_per_turn: int = Field(200, alias="ENGINE_MAX_STEPS_PER_TURN", ge=1)
    heartbeat_interval_seconds: float = Field(30.0, alias="RUN_HEARTBEAT_INTERVAL_SECONDS", gt=0)
    version_cache_size: int = Field(256, alias="VERSION_CACHE_SIZE", ge=0)
    # A turn's wall time: at most this, and never closer than the margin to the invocation's timeout
    # (so the turn fails with a reason and commits, instead of the function being killed mid-turn).
    turn_time_budget_seconds: float = Field(600.0, alias="ENGINE_TURN_TIME_BUDGET_SECONDS", gt=0)
    turn_time_margin_seconds: float = Field(3.0, alias="ENGINE_TURN_TIME_MARGIN_SECONDS", ge=0)


class ScheduleSettings(_Section):
    group_name: str = Field("workflow-schedules", alias="SCHEDULE_GROUP_NAME")
    target_lambda_arn: str | None = Field(None, alias="SCHEDULE_TARGET_ARN")
    scheduler_role_arn: str | None = Field(None, alias="SCHEDULER_ROLE_ARN")
    dead_letter_queue_arn: str | None = Field(None, alias="SCHEDULE_DLQ_ARN")
    retry_attempts: int = Field(3, alias="SCHEDULE_RETRY_ATTEMPTS", ge=0, le=185)
    max_event_age_seconds: int = Field(3600, alias="SCHEDULE_MAX_EVENT_AGE_SECONDS", ge=60, le=86400)


class TriggerSettings(_Section):
    trigger_queue_url: str | None = Field(None, alias="TRIGGER_QUEUE_URL")
    webhook_max_body_bytes: int = Field(256 * 1024, alias="WEBHOOK_MAX_BODY_BYTES", gt=0)
    webhook_tolerance_seconds: int = Field(300, alias="WEBHOOK_TOLERANCE_SECONDS", gt=0)


class ConcurrencySettings(_Section):
    default_team_max_concurrent_runs: int = Field(10, alias="DEFAULT_TEAM_MAX_CONCURRENT_RUNS", ge=1)
    retry_after_seconds: int = Field(5, alias="RETRY_AFTER_SECONDS", ge=1)
    work_queue_url: str | None = Field(None, alias="RUN_WORK_QUEUE_URL")
    # A dispatch pass reads the queue head of at most this many of the team's workflows with queued
    # runs (a varying subset when more wait), and asks admission about at most dispatch_max_runs runs.
    dispatch_max_workflows: int = Field(100, alias="DISPATCH_MAX_WORKFLOWS", ge=1, le=1000)
    dispatch_max_runs: int = Field(100, alias="DISPATCH_MAX_RUNS", ge=1, le=1000)


class ReaperSettings(_Section):
    heartbeat_timeout_seconds: int = Field(900, alias="REAPER_HEARTBEAT_TIMEOUT_SECONDS", ge=1)
    input_timeout_seconds: int = Field(86400, alias="REAPER_INPUT_TIMEOUT_SECONDS", ge=1)
    queue_ttl_seconds: int = Field(3600, alias="REAPER_QUEUE_TTL_SECONDS", ge=1)
    # A paused run not resumed within this time is failed by the reaper (default 7 days).
    pause_ttl_seconds: int = Field(7 * 86400, alias="REAPER_PAUSE_TTL_SECONDS", ge=1)
    lease_grace_seconds: int = Field(60, alias="REAPER_LEASE_GRACE_SECONDS", ge=0)
    batch_size: int = Field(100, alias="REAPER_BATCH_SIZE", ge=1, le=1000)
    max_batches: int = Field(10, alias="REAPER_MAX_BATCHES", ge=1)
    # A one-time schedule claimed this long ago without a run (its firing's run submission failed and
    # EventBridge gave up retrying) is fired again by the reaper; shorter retries belong to EventBridge.
    schedule_firing_grace_seconds: int = Field(900, alias="REAPER_SCHEDULE_FIRING_GRACE_SECONDS", ge=0)
    # A schedule owing an AWS push is pushed, and a pending one-time schedule this far past its time
    # without a firing is fired late, once this long has passed (in-flight writers and deliveries first).
    # Longer than an API function's 29 s timeout, so the writer that moved the generation has finished
    # or died; shorter than one reaper period, so one pass repairs what a crash left (pushing is idempotent).
    schedule_push_grace_seconds: int = Field(30, alias="REAPER_SCHEDULE_PUSH_GRACE_SECONDS", ge=0)
    # How often the schedule group is listed to delete AWS schedules without a record (one page a pass).
    schedule_listing_interval_seconds: int = Field(86400, alias="REAPER_SCHEDULE_LISTING_INTERVAL_SECONDS", ge=0)
    # How often the local runtime runs the reaper (deployed: the EventBridge rule's rate).
    local_interval_seconds: float = Field(5.0, alias="REAPER_LOCAL_INTERVAL_SECONDS", gt=0)


class DedupeSettings(_Section):
    # How long an SQS message id, a schedule firing or an Idempotency-Key is remembered: 24 h covers
    # SQS redelivery (max retention aside), EventBridge's retries (max event age <= 24 h) and the
    # IETF idempotency-key draft's and Stripe's 24 h window. Webhook ids are remembered for at least
    # twice the signature tolerance (see triggers.inbound).
    window_seconds: int = Field(86400, alias="DEDUPE_WINDOW_SECONDS", ge=60)


class WebhookDeliverySettings(_Section):
    """Outbound webhook deliveries: the delivery queue and the deliverer's lease on an event."""

    delivery_queue_url: str | None = Field(None, alias="WEBHOOK_DELIVERY_QUEUE_URL")
    # An attempt holds its event this long: longer than the longest attempt (timeout_seconds <= 60 plus
    # the store writes), so a second deliverer never overlaps a live one, and a crashed one's event is
    # taken again (by a redelivered message or the reaper's due sweep) soon after.
    lease_seconds: int = Field(120, alias="WEBHOOK_DELIVERY_LEASE_SECONDS", ge=70, le=900)
    # The reaper re-sends an event only this long after it became due, so events whose queue message
    # is on its way are not sent twice.
    due_grace_seconds: int = Field(60, alias="WEBHOOK_DELIVERY_DUE_GRACE_SECONDS", ge=0, le=3600)


class AuthSettings(_Section):
    dev_api_key: str | None = Field(None, alias="WORKFLOWS_DEV_API_KEY")


class Settings:
    """All settings sections. Each is validated from the environment the first time it is read."""

    SECTIONS: dict[str, type[_Section]] = {
        "runtime": RuntimeSettings,
        "store": StoreSettings,
        "secrets": SecretsSettings,
        "llm": LlmSettings,
        "http_node": HttpNodeSettings,
        "engine": EngineSettings,
        "schedules": ScheduleSettings,
        "triggers": TriggerSettings,
        "concurrency": ConcurrencySettings,
        "reaper": ReaperSettings,
        "auth": AuthSettings,
        "dedupe": DedupeSettings,
        "webhook_delivery": WebhookDeliverySettings,
    }
    runtime: RuntimeSettings
    store: StoreSettings
    secrets: SecretsSettings
    llm: LlmSettings
    http_node: HttpNodeSettings
    engine: EngineSettings
    schedules: ScheduleSettings
    triggers: TriggerSettings
    concurrency: ConcurrencySettings
    reaper: ReaperSettings
    auth: AuthSettings
    dedupe: DedupeSettings
    webhook_delivery: WebhookDeliverySettings

    def __init__(self, environ: Mapping[str, str] | None = None, **sections: _Section) -> None:
        unknown = set(sections) - set(self.SECTIONS)
        if unknown:
            raise TypeError(f"unknown settings sections: {sorted(unknown)}")
        self._environ = dict(environ or {})
        self.__dict__.update(sections)

    def __getattr__(self, name: str) -> _Section:
        section = self.SECTIONS.get(name)
        if section is None:
            raise AttributeError(name)
        value = section.model_validate(self._environ)
        self.__dict__[name] = value
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        return cls(environ)

    @classmethod
    def environment_variable_names(cls) -> set[str]:
        """Every environment variable name any section reads (used by infra tests)."""
        return {
            field.alias for section in cls.SECTIONS.values() for field in section.model_fields.values() if field.alias
        }


def settings_from_environment(overrides: dict[str, str] | None = None) -> Settings:
    """Settings from this process's environment, with ``overrides`` taking precedence."""
    return Settings.from_environ({**os.environ, **(overrides or {})})


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    return settings_from_environment()
