"""Settings of the LLM providers: default provider and model, OpenAI-compatible endpoints, gateways."""

from typing import Literal

from pydantic import Field

from workflow_service.settings import _Section

# The SDK providers served through an OpenAI-compatible gateway.
GATEWAY_PROVIDERS = ("azure_openai", "google", "anthropic")


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
    # A gateway's key is either in the environment (local runs) or, deployed, in Secrets Manager.
    gateway_azure_openai_base_url: str | None = Field(None, alias="LLM_GATEWAY_AZURE_OPENAI_BASE_URL")
    gateway_azure_openai_api_key: str | None = Field(None, alias="LLM_GATEWAY_AZURE_OPENAI_API_KEY")
    gateway_azure_openai_api_key_secret_arn: str | None = Field(
        None, alias="LLM_GATEWAY_AZURE_OPENAI_API_KEY_SECRET_ARN"
    )
    gateway_google_base_url: str | None = Field(None, alias="LLM_GATEWAY_GOOGLE_BASE_URL")
    gateway_google_api_key: str | None = Field(None, alias="LLM_GATEWAY_GOOGLE_API_KEY")
    gateway_google_api_key_secret_arn: str | None = Field(None, alias="LLM_GATEWAY_GOOGLE_API_KEY_SECRET_ARN")
    gateway_anthropic_base_url: str | None = Field(None, alias="LLM_GATEWAY_ANTHROPIC_BASE_URL")
    gateway_anthropic_api_key: str | None = Field(None, alias="LLM_GATEWAY_ANTHROPIC_API_KEY")
    gateway_anthropic_api_key_secret_arn: str | None = Field(None, alias="LLM_GATEWAY_ANTHROPIC_API_KEY_SECRET_ARN")

    def gateway_base_url(self, provider: str) -> str | None:
        """The gateway configured for an SDK provider (azure_openai, google, anthropic), or None."""
        value = getattr(self, f"gateway_{provider}_base_url", None)
        return value if isinstance(value, str) and value else None

    def gateway_api_key(self, provider: str) -> str | None:
        value = getattr(self, f"gateway_{provider}_api_key", None)
        return value if isinstance(value, str) and value else None

    def gateway_api_key_secret_arn(self, provider: str) -> str | None:
        """The Secrets Manager secret holding the gateway's key (deployed), or None."""
        value = getattr(self, f"gateway_{provider}_api_key_secret_arn", None)
        return value if isinstance(value, str) and value else None

    @property
    def reads_secrets(self) -> bool:
        """Whether a deployment key (OpenAI-compatible or a gateway's) is read from Secrets Manager."""
        return bool(self.openai_api_key_secret_arn) or any(
            self.gateway_api_key_secret_arn(name) for name in GATEWAY_PROVIDERS
        )

    @property
    def gateway_providers(self) -> frozenset[str]:
        """The SDK providers a gateway is configured for."""
        return frozenset(name for name in GATEWAY_PROVIDERS if self.gateway_base_url(name))
