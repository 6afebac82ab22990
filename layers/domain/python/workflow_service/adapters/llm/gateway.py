"""Routes each LLM request to the provider its ``llms_config`` names.

Providers are built on first use and kept for the container's lifetime: a deployment that only
uses the scripted provider never imports boto3, creates a Bedrock client or reads the OpenAI key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflow_service.adapters.llm.scripted import ScriptedLlm
from workflow_service.errors import DomainError
from workflow_service.ports.llm import LlmError, LlmGateway
from workflow_service.ports.secrets import SecretReader

if TYPE_CHECKING:
    from workflow_service.models.llm import LlmRequest, LlmResponse
    from workflow_service.settings import LlmSettings

DEFAULT_PROVIDER_ALIAS = "default_provider"
SUPPORTED_PROVIDERS = ("scripted", "bedrock", "openai_compatible")

# Keys under which a JSON-shaped API key secret may hold the key itself.
_API_KEY_SECRET_FIELDS = ("api_key", "OPENAI_API_KEY", "apiKey", "key")


class ProviderRoutingLlmGateway:
    """``ports.LlmGateway`` that picks ``scripted``, ``bedrock`` or ``openai_compatible`` per request.

    ``llm_config["provider"]`` missing, empty or ``"default_provider"`` means
    ``settings.default_provider``. ``bedrock_client_factory`` builds the ``bedrock-runtime`` client
    (default: boto3 in ``settings.bedrock_region``); ``secrets`` reads the OpenAI key when
    ``settings.openai_api_key_secret_arn`` is set.
    """

    def __init__(
        self,
        settings: LlmSettings,
        secrets: SecretReader | None,
        bedrock_client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._bedrock_client_factory = bedrock_client_factory
        self._providers: dict[str, LlmGateway] = {}
        self._lock = threading.Lock()

    def provider_for(self, llm_config: dict[str, Any]) -> str:
        """The provider name a request with this ``llms_config`` is routed to."""
        requested = llm_config.get("provider")
        if requested in (None, "", DEFAULT_PROVIDER_ALIAS):
            return self._settings.default_provider
        if requested not in SUPPORTED_PROVIDERS:
            raise LlmError(
                f"unknown LLM provider {requested!r}; expected one of {', '.join(SUPPORTED_PROVIDERS)} "
                f"or {DEFAULT_PROVIDER_ALIAS!r}"
            )
        return str(requested)

    def complete(self, request: LlmRequest) -> LlmResponse:
        """Complete ``request`` with its provider; configuration problems and provider failures raise LlmError."""
        return self._provider(self.provider_for(request.llm_config)).complete(request)

    def _provider(self, name: str) -> LlmGateway:
        provider = self._providers.get(name)
        if provider is not None:
            return provider
        with self._lock:
            provider = self._providers.get(name)
            if provider is None:
                # Built under the lock so a burst of first calls creates one client and reads the key once;
                # a failed build is not cached, so a fixed configuration or a recovered secret is picked up.
                provider = self._build(name)
                self._providers[name] = provider
        return provider

    def _build(self, name: str) -> LlmGateway:
        if name == "scripted":
            return ScriptedLlm()
        if name == "bedrock":
            from workflow_service.adapters.llm.bedrock import BedrockConverseLlm, make_bedrock_runtime_client

            settings = self._settings
            factory = self._bedrock_client_factory or (
                lambda: make_bedrock_runtime_client(settings.bedrock_region, settings.request_timeout_seconds)
            )
            try:
                client = factory()
            except Exception as error:  # boto3 raises a variety of configuration errors (region, profile)
                raise LlmError(f"could not create the Bedrock client: {error}") from error
            return BedrockConverseLlm(client, default_model=self._settings.default_model)
        if name == "openai_compatible":
            from workflow_service.adapters.llm.openai_compatible import OpenAiCompatibleLlm

            if not self._settings.openai_base_url:
                raise LlmError("provider openai_compatible is not configured: set LLM_OPENAI_BASE_URL")
            return OpenAiCompatibleLlm(
                self._settings.openai_base_url,
                self._openai_api_key(),
                self._settings.request_timeout_seconds,
                default_model=self._settings.default_model,
            )
        raise LlmError(f"unknown LLM provider {name!r}")

    def _openai_api_key(self) -> str | None:
        if self._settings.openai_api_key:
            return self._settings.openai_api_key
        secret_arn = self._settings.openai_api_key_secret_arn
        if not secret_arn:
            return None  # self-hosted compatible servers often need no key
        if self._secrets is None:
            raise LlmError("LLM_OPENAI_API_KEY_SECRET_ARN is set but no secret reader is wired")
        try:
            secret = self._secrets.read(secret_arn)
        except DomainError as error:
            raise LlmError(f"could not read the OpenAI API key secret: {error.message}") from error
        except Exception as error:  # a reader's own failure; name its kind only, never its text
            raise LlmError(f"could not read the OpenAI API key secret ({type(error).__name__})") from error
        return _api_key_from_secret(secret)


def _api_key_from_secret(secret: str) -> str:
    """The key itself, from a plain-text secret or a JSON secret holding it under a usual field name."""
    stripped = secret.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            document = None
        if isinstance(document, dict):
            for field_name in _API_KEY_SECRET_FIELDS:
                value = document.get(field_name)
                if isinstance(value, str) and value:
                    return value
            raise LlmError(
                "the OpenAI API key secret is a JSON object without any of the fields "
                + ", ".join(_API_KEY_SECRET_FIELDS)
            )
    if not stripped:
        raise LlmError("the OpenAI API key secret is empty")
    return stripped
