"""Settings read by the AWS Parameters and Secrets Lambda Extension itself, never by this code.

Modelled so that every variable a function receives is named in this package (infra tests enumerate
them); declared apart from ``SecretsSettings`` so that no handler declares or validates them.
"""

from pydantic import Field

from workflow_service.settings import _Section


class SecretsExtensionSettings(_Section):
    # Kept as text so a value the extension accepts never fails this service's cold start.
    extension_cache_enabled: str | None = Field(None, alias="PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED")
    extension_cache_size: str | None = Field(None, alias="PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE")
    extension_log_level: str | None = Field(None, alias="PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL")
    extension_max_connections: str | None = Field(None, alias="PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS")
    secrets_manager_timeout_millis: str | None = Field(None, alias="SECRETS_MANAGER_TIMEOUT_MILLIS")
    secrets_manager_ttl: str | None = Field(None, alias="SECRETS_MANAGER_TTL")
    parameter_store_timeout_millis: str | None = Field(None, alias="SSM_PARAMETER_STORE_TIMEOUT_MILLIS")
    parameter_store_ttl: str | None = Field(None, alias="SSM_PARAMETER_STORE_TTL")
