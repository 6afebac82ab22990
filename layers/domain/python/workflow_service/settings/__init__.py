"""Every environment variable the service reads, modelled in one place: this package.

Nothing else reads ``os.environ`` (but the package init, which checks for a Lambda execution
environment before anything imports pydantic: see there). Each section is a pydantic model whose field aliases are the
environment variable names, so infra and tests can enumerate exactly what a function may be given.
The sections every function reads are declared here, the others in the submodules, each imported the
first time one of its sections is read.
Values are read once per container (``load_settings`` is cached); tests build ``Settings`` directly.
"""

import importlib
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

if TYPE_CHECKING:
    from workflow_service.settings.concurrency import ConcurrencySettings, DedupeSettings, ReaperSettings
    from workflow_service.settings.engine import EngineSettings, HttpNodeSettings
    from workflow_service.settings.extension import SecretsExtensionSettings
    from workflow_service.settings.llm import LlmSettings
    from workflow_service.settings.schedules import ScheduleSettings, TriggerSettings
    from workflow_service.settings.webhooks import WebhookDeliverySettings


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
    # Secrets Manager (its own timeout is SECRETS_MANAGER_TIMEOUT_MILLIS, in settings/extension.py).
    extension_timeout_seconds: float = Field(2.0, alias="SECRETS_EXTENSION_TIMEOUT_SECONDS", gt=0, le=30)
    # Right at init the extension may answer 400 "not ready"; how long to keep asking.
    extension_ready_wait_seconds: float = Field(1.0, alias="SECRETS_EXTENSION_READY_WAIT_SECONDS", ge=0, le=10)


class AuthSettings(_Section):
    dev_api_key: str | None = Field(None, alias="WORKFLOWS_DEV_API_KEY")


# Where each section is declared: the sections every function reads are here, the others in the
# submodule named, imported the first time a section of it is read, so a handler declares only the
# sections it uses (every pydantic field costs a cold start tens of microseconds to declare).
_SECTION_HOMES: dict[str, tuple[str, str]] = {
    "runtime": (__name__, "RuntimeSettings"),
    "store": (__name__, "StoreSettings"),
    "secrets": (__name__, "SecretsSettings"),
    "auth": (__name__, "AuthSettings"),
    "secrets_extension": (f"{__name__}.extension", "SecretsExtensionSettings"),
    "llm": (f"{__name__}.llm", "LlmSettings"),
    "http_node": (f"{__name__}.engine", "HttpNodeSettings"),
    "engine": (f"{__name__}.engine", "EngineSettings"),
    "schedules": (f"{__name__}.schedules", "ScheduleSettings"),
    "triggers": (f"{__name__}.schedules", "TriggerSettings"),
    "concurrency": (f"{__name__}.concurrency", "ConcurrencySettings"),
    "reaper": (f"{__name__}.concurrency", "ReaperSettings"),
    "dedupe": (f"{__name__}.concurrency", "DedupeSettings"),
    "webhook_delivery": (f"{__name__}.webhooks", "WebhookDeliverySettings"),
}


def section_class(name: str) -> type[_Section]:
    """The model of settings section ``name`` (``"reaper"`` -> ``ReaperSettings``), imported on first use."""
    module, class_name = _SECTION_HOMES[name]
    return getattr(importlib.import_module(module), class_name)


class Settings:
    """All settings sections. Each is validated from the environment the first time it is read."""

    runtime: RuntimeSettings
    store: StoreSettings
    secrets: SecretsSettings
    secrets_extension: "SecretsExtensionSettings"
    llm: "LlmSettings"
    http_node: "HttpNodeSettings"
    engine: "EngineSettings"
    schedules: "ScheduleSettings"
    triggers: "TriggerSettings"
    concurrency: "ConcurrencySettings"
    reaper: "ReaperSettings"
    auth: AuthSettings
    dedupe: "DedupeSettings"
    webhook_delivery: "WebhookDeliverySettings"

    def __init__(self, environ: Mapping[str, str] | None = None, **sections: _Section) -> None:
        unknown = set(sections) - set(_SECTION_HOMES)
        if unknown:
            raise TypeError(f"unknown settings sections: {sorted(unknown)}")
        self._environ = dict(environ or {})
        self.__dict__.update(sections)

    def __getattr__(self, name: str) -> _Section:
        if name not in _SECTION_HOMES:
            raise AttributeError(name)
        value = section_class(name).model_validate(self._environ)
        self.__dict__[name] = value
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        return cls(environ)

    @classmethod
    def environment_variable_names(cls) -> set[str]:
        """Every environment variable name any section reads (used by infra tests)."""
        return {
            field.alias for name in _SECTION_HOMES for field in section_class(name).model_fields.values() if field.alias
        }


def settings_from_environment(overrides: dict[str, str] | None = None) -> Settings:
    """Settings from this process's environment, with ``overrides`` taking precedence."""
    return Settings.from_environ({**os.environ, **(overrides or {})})


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    return settings_from_environment()
