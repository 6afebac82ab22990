"""Names of the environment variables infra hands to functions.

Each is a field alias of ``workflow_service/settings/`` (the runtime's one model of its
environment). Infra does not import runtime code, so the names are repeated here; the infra tests
check every variable a function receives against ``Settings.environment_variable_names()``.
"""

from __future__ import annotations

# RuntimeSettings
STAGE = "STAGE"
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
LOG_LEVEL = "LOG_LEVEL"

# StoreSettings
MONGODB_SECRET_ARN = "MONGODB_SECRET_ARN"
MONGODB_DATABASE = "MONGODB_DATABASE"

# LlmSettings
LLM_DEFAULT_PROVIDER = "LLM_DEFAULT_PROVIDER"
LLM_DEFAULT_MODEL = "LLM_DEFAULT_MODEL"
LLM_BEDROCK_REGION = "LLM_BEDROCK_REGION"
LLM_OPENAI_BASE_URL = "LLM_OPENAI_BASE_URL"
LLM_OPENAI_API_KEY_SECRET_ARN = "LLM_OPENAI_API_KEY_SECRET_ARN"
LLM_REQUEST_TIMEOUT_SECONDS = "LLM_REQUEST_TIMEOUT_SECONDS"


def llm_gateway_base_url(provider: str) -> str:
    """The variable naming the gateway of an SDK provider (azure_openai, google, anthropic)."""
    return f"LLM_GATEWAY_{provider.upper()}_BASE_URL"


def llm_gateway_api_key_secret_arn(provider: str) -> str:
    """The variable naming the secret that holds that gateway's API key."""
    return f"LLM_GATEWAY_{provider.upper()}_API_KEY_SECRET_ARN"


# ScheduleSettings
SCHEDULE_GROUP_NAME = "SCHEDULE_GROUP_NAME"
SCHEDULE_TARGET_ARN = "SCHEDULE_TARGET_ARN"
SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"
SCHEDULE_DLQ_ARN = "SCHEDULE_DLQ_ARN"
SCHEDULE_RETRY_ATTEMPTS = "SCHEDULE_RETRY_ATTEMPTS"
SCHEDULE_MAX_EVENT_AGE_SECONDS = "SCHEDULE_MAX_EVENT_AGE_SECONDS"

# TriggerSettings
TRIGGER_QUEUE_URL = "TRIGGER_QUEUE_URL"

# WebhookDeliverySettings
WEBHOOK_DELIVERY_QUEUE_URL = "WEBHOOK_DELIVERY_QUEUE_URL"

# ConcurrencySettings
DEFAULT_TEAM_MAX_CONCURRENT_RUNS = "DEFAULT_TEAM_MAX_CONCURRENT_RUNS"
RETRY_AFTER_SECONDS = "RETRY_AFTER_SECONDS"
DISPATCH_MAX_WORKFLOWS = "DISPATCH_MAX_WORKFLOWS"
DISPATCH_MAX_RUNS = "DISPATCH_MAX_RUNS"
DEDUPE_WINDOW_SECONDS = "DEDUPE_WINDOW_SECONDS"
RUN_WORK_QUEUE_URL = "RUN_WORK_QUEUE_URL"

# ReaperSettings
REAPER_HEARTBEAT_TIMEOUT_SECONDS = "REAPER_HEARTBEAT_TIMEOUT_SECONDS"
REAPER_INPUT_TIMEOUT_SECONDS = "REAPER_INPUT_TIMEOUT_SECONDS"
REAPER_QUEUE_TTL_SECONDS = "REAPER_QUEUE_TTL_SECONDS"
REAPER_LEASE_GRACE_SECONDS = "REAPER_LEASE_GRACE_SECONDS"
REAPER_SCHEDULE_FIRING_GRACE_SECONDS = "REAPER_SCHEDULE_FIRING_GRACE_SECONDS"
REAPER_BATCH_SIZE = "REAPER_BATCH_SIZE"
REAPER_MAX_BATCHES = "REAPER_MAX_BATCHES"
REAPER_PAUSE_TTL_SECONDS = "REAPER_PAUSE_TTL_SECONDS"
REAPER_SCHEDULE_PUSH_GRACE_SECONDS = "REAPER_SCHEDULE_PUSH_GRACE_SECONDS"
REAPER_SCHEDULE_LISTING_INTERVAL_SECONDS = "REAPER_SCHEDULE_LISTING_INTERVAL_SECONDS"

# StoreSettings (sized by infra/connection_budget.py)
MONGODB_MAX_POOL_SIZE = "MONGODB_MAX_POOL_SIZE"

# SecretsSettings (the port) and SecretsExtensionSettings: the AWS Parameters and Secrets Lambda
# Extension's own configuration (the runtime calls the extension on the port; the extension, a
# separate process, reads all of them).
PARAMETERS_SECRETS_EXTENSION_HTTP_PORT = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED = "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED"
PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE = "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE"
SECRETS_MANAGER_TTL = "SECRETS_MANAGER_TTL"

# Read by Powertools Metrics itself, not by Settings.
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
# Read by pydantic itself: "__all__" skips its plugin discovery, a scan of every installed
# distribution's entry points that the first model build in a process would otherwise pay (about 10 ms
# of CPU per cold start); the service uses no pydantic plugin.
PYDANTIC_DISABLE_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
PYDANTIC_PLUGINS_DISABLED = "__all__"
READ_BY_THE_PLATFORM = frozenset({POWERTOOLS_METRICS_NAMESPACE, PYDANTIC_DISABLE_PLUGINS})
