"""Routes each LLM request to the provider its ``llms_config`` names.

Providers are built on first use and kept for the container's lifetime: a deployment that only
uses the scripted provider never imports boto3, creates a Bedrock client or reads the OpenAI key.

The product SDK's providers fold onto these (README "Using the product's SDK"): ``openai`` and
``custom`` go to the config's ``base_url`` (through the SSRF guard, with the config's key only) or
else to the deployment's OpenAI-compatible endpoint; ``aws_bedrock`` is ``bedrock``;
``azure_openai``, ``google`` and ``anthropic`` go to the OpenAI-compatible gateway configured for
them. A call made with the config's own credentials counts as a user-key call, and those
credentials are scrubbed from every error message.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflow_service.adapters.llm.scripted import ScriptedLlm
from workflow_service.errors import DomainError
from workflow_service.models.llm import SECRET_MASK, is_secret_header
from workflow_service.ports.llm import LlmError, LlmGateway
from workflow_service.ports.secrets import SecretReader

if TYPE_CHECKING:
    from workflow_service.adapters.llm.bedrock import BedrockClients
    from workflow_service.models.llm_calls import LlmRequest, LlmResponse
    from workflow_service.ports.http import HttpClient
    from workflow_service.settings.llm import LlmSettings

DEFAULT_PROVIDER_ALIAS = "default_provider"
SUPPORTED_PROVIDERS = ("scripted", "bedrock", "openai_compatible")
# The SDK's provider names, by the service provider that serves them.
_SDK_ALIASES = {"aws_bedrock": "bedrock", "openai": "openai_compatible", "custom": "openai_compatible"}
_GATEWAY_PROVIDERS = ("azure_openai", "google", "anthropic")
_MAX_USER_BEDROCK_CLIENTS = 16

# Keys under which a JSON-shaped API key secret may hold the key itself.
_API_KEY_SECRET_FIELDS = ("api_key", "OPENAI_API_KEY", "apiKey", "key")


class ProviderRoutingLlmGateway:
    """``ports.LlmGateway`` that picks ``scripted``, ``bedrock`` or ``openai_compatible`` per request.

    ``llm_config["provider"]`` missing, empty or ``"default_provider"`` means
    ``settings.default_provider``. ``bedrock_client_factory(seconds)`` builds a ``bedrock-runtime``
    client whose one attempt ends within ``seconds`` (default: boto3 in ``settings.bedrock_region``,
    ``bedrock.make_bedrock_runtime_client``); ``secrets`` reads the OpenAI key and the gateways' keys
    when their ``..._SECRET_ARN`` settings are set.
    """

    def __init__(
        self,
        settings: LlmSettings,
        secrets: SecretReader | None,
        bedrock_client_factory: Callable[[float], Any] | None = None,
        *,
        guarded_http: HttpClient | None = None,
        user_bedrock_client_factory: Callable[[str | None, str, str, float], Any] | None = None,
    ) -> None:
        """``guarded_http`` (the SSRF-guarded client) carries calls to a config's own ``base_url``;
        ``user_bedrock_client_factory(region, access_key_id, secret, seconds)`` builds one on a config's keys."""
        self._settings = settings
        self._secrets = secrets
        self._bedrock_client_factory = bedrock_client_factory
        self._guarded_http = guarded_http
        self._user_bedrock_client_factory = user_bedrock_client_factory
        self._providers: dict[str, LlmGateway] = {}
        self._user_bedrock: dict[tuple[str | None, str, str], LlmGateway] = {}
        self._lock = threading.Lock()

    def provider_for(self, llm_config: dict[str, Any]) -> str:
        """The provider name a request with this ``llms_config`` is routed to."""
        requested = llm_config.get("provider")
        if requested in (None, "", DEFAULT_PROVIDER_ALIAS):
            return self._settings.default_provider
        if requested in _GATEWAY_PROVIDERS:
            return str(requested)
        requested = _SDK_ALIASES.get(str(requested), requested)
        if requested not in SUPPORTED_PROVIDERS:
            raise LlmError(
                f"unknown LLM provider {requested!r}; expected one of {', '.join(SUPPORTED_PROVIDERS)} "
                f"or {DEFAULT_PROVIDER_ALIAS!r}"
            )
        return str(requested)

    def complete(self, request: LlmRequest) -> LlmResponse:
        """Complete ``request`` with its provider; configuration problems and provider failures raise LlmError."""
        try:
            return self._provider_for_request(request).complete(request)
        except LlmError as error:
            scrubbed = _scrub(str(error), request.llm_config)
            if scrubbed == str(error):
                raise
            raise LlmError(scrubbed) from None

    def _provider_for_request(self, request: LlmRequest) -> LlmGateway:
        config = request.llm_config
        name = self.provider_for(config)
        own_key = config.get("api_key") or None
        if name in _GATEWAY_PROVIDERS:
            return self._gateway_provider(name, own_key)
        if name == "openai_compatible" and config.get("provider") in ("openai", "custom"):
            return self._sdk_openai_provider(config, own_key)
        if name == "bedrock" and config.get("aws_access_key_id") and config.get("aws_secret_access_key"):
            return self._user_bedrock_provider(config)
        return self._provider(name)

    def _sdk_openai_provider(self, config: dict[str, Any], own_key: str | None) -> LlmGateway:
        from workflow_service.adapters.llm.openai_compatible import OpenAiCompatibleLlm

        headers = {str(k): str(v) for k, v in (config.get("default_headers") or {}).items()}
        if config.get("organization"):
            headers["OpenAI-Organization"] = str(config["organization"])
        used_user_keys = bool(own_key) or any(is_secret_header(name) for name in headers)
        base_url = config.get("base_url")
        if base_url:
            if self._guarded_http is None:
                raise LlmError("llms_config.base_url cannot be called: no guarded HTTP client is wired")
            # The deployment's key never travels to a workflow's own endpoint: only the config's key does.
            return OpenAiCompatibleLlm(
                base_url,
                own_key,
                self._settings.request_timeout_seconds,
                self._settings.default_model,
                guarded_http=self._guarded_http,
                used_user_keys=used_user_keys,
                extra_headers=headers,
                exact_endpoint=bool(config.get("rewrite_base_url")),
                unwrap_key=config.get("response_unwrap_key") or None,
            )
        if not own_key and not headers:
            return self._provider("openai_compatible")
        if not self._settings.openai_base_url:
            raise LlmError("provider openai_compatible is not configured: set LLM_OPENAI_BASE_URL")
        return OpenAiCompatibleLlm(
            self._settings.openai_base_url,
            own_key or self._openai_api_key(),
            self._settings.request_timeout_seconds,
            self._settings.default_model,
            used_user_keys=used_user_keys,
            extra_headers=headers,
        )

    def _gateway_provider(self, name: str, own_key: str | None) -> LlmGateway:
        from workflow_service.adapters.llm.openai_compatible import OpenAiCompatibleLlm

        base_url = self._settings.gateway_base_url(name)
        if not base_url:
            raise LlmError(
                f"provider {name} is not available on this deployment: set LLM_GATEWAY_{name.upper()}_BASE_URL"
            )
        return OpenAiCompatibleLlm(
            base_url,
            own_key or self._gateway_api_key(name),
            self._settings.request_timeout_seconds,
            self._settings.default_model,
            used_user_keys=bool(own_key),
        )

    def _user_bedrock_provider(self, config: dict[str, Any]) -> LlmGateway:
        from workflow_service.adapters.llm.bedrock import BedrockClients, make_bedrock_runtime_client

        region = config.get("region") or self._settings.bedrock_region
        key = (region, str(config["aws_access_key_id"]), str(config["aws_secret_access_key"]))
        with self._lock:
            provider = self._user_bedrock.get(key)
        if provider is not None:
            return provider
        factory = self._user_bedrock_client_factory or (
            lambda region, key_id, secret, seconds: make_bedrock_runtime_client(region, seconds, (key_id, secret))
        )
        # A build error is named by its type only: its message could hold the credentials.
        clients = BedrockClients(lambda seconds: factory(*key, seconds), lambda error: type(error).__name__)
        provider = self._bedrock(clients, used_user_keys=True)
        with self._lock:
            if len(self._user_bedrock) >= _MAX_USER_BEDROCK_CLIENTS:
                self._user_bedrock.clear()
            self._user_bedrock[key] = provider
        return provider

    def _bedrock(self, clients: BedrockClients, *, used_user_keys: bool = False) -> LlmGateway:
        from workflow_service.adapters.llm.bedrock import BedrockConverseLlm

        # The client for the default timeout is built now: a misconfiguration (no region) fails the first
        # call with a clear LlmError and is not cached, so a fixed configuration is picked up.
        clients(self._settings.request_timeout_seconds)
        return BedrockConverseLlm(
            clients,
            default_model=self._settings.default_model,
            used_user_keys=used_user_keys,
            default_timeout_seconds=self._settings.request_timeout_seconds,
        )

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
            from workflow_service.adapters.llm.bedrock import BedrockClients, make_bedrock_runtime_client

            region = self._settings.bedrock_region
            factory = self._bedrock_client_factory or (lambda seconds: make_bedrock_runtime_client(region, seconds))
            return self._bedrock(BedrockClients(factory))
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
        settings = self._settings
        secret_arn = settings.openai_api_key_secret_arn
        return self._deployment_key(settings.openai_api_key, secret_arn, "LLM_OPENAI_API_KEY_SECRET_ARN", "OpenAI")

    def _gateway_api_key(self, name: str) -> str | None:
        secret_arn = self._settings.gateway_api_key_secret_arn(name)
        setting = f"LLM_GATEWAY_{name.upper()}_API_KEY_SECRET_ARN"
        return self._deployment_key(self._settings.gateway_api_key(name), secret_arn, setting, f"{name} gateway")

    def _deployment_key(self, key: str | None, secret_arn: str | None, setting: str, whose: str) -> str | None:
        """A deployment's API key: from the environment, else from the secret ``setting`` names (read
        through the cached secret reader), else none (self-hosted compatible servers often need none)."""
        if key:
            return key
        if not secret_arn:
            return None
        if self._secrets is None:
            raise LlmError(f"{setting} is set but no secret reader is wired")
        try:
            secret = self._secrets.read(secret_arn)
        except DomainError as error:
            raise LlmError(f"could not read the {whose} API key secret: {error.message}") from error
        except Exception as error:  # a reader's own failure; name its kind only, never its text
            raise LlmError(f"could not read the {whose} API key secret ({type(error).__name__})") from error
        return _api_key_from_secret(secret, whose)


def _api_key_from_secret(secret: str, whose: str) -> str:
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
                f"the {whose} API key secret is a JSON object without any of the fields "
                + ", ".join(_API_KEY_SECRET_FIELDS)
            )
    if not stripped:
        raise LlmError(f"the {whose} API key secret is empty")
    return stripped


def _scrub(message: str, llm_config: dict[str, Any]) -> str:
    """``message`` with every credential of ``llm_config`` replaced by the mask."""
    secrets = [llm_config.get("api_key"), llm_config.get("aws_secret_access_key")]
    headers = llm_config.get("default_headers") or {}
    secrets += [value for name, value in headers.items() if is_secret_header(str(name))]
    for secret in secrets:
        if isinstance(secret, str) and len(secret) >= 4:
            message = message.replace(secret, SECRET_MASK)
    return message
