"""The ``llms_config`` of a workflow or a node: providers, models, keys (masked when read back).

The request and answer of an LLM call are in models/llm_calls.py.
"""

import uuid
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SerializationInfo, field_serializer, model_validator

SECRET_MASK = "**********"
"""What every answer shows in place of a config's own credentials."""

# The product's SDK names an LLM config's provider twice: ``provider`` and the discriminator ``type``.
SDK_TYPE_PROVIDERS = {
    "openai_llm": "openai",
    "custom_llm": "custom",
    "bedrock_llm": "bedrock",
    "azure_openai_llm": "azure_openai",
    "google_llm": "google",
    "anthropic_llm": "anthropic",
    "global_default_llm": "default_provider",
    "no_llm": "default_provider",
}
# Providers the service calls through an OpenAI-compatible gateway the deployment configures for them.
GATEWAY_PROVIDERS = ("azure_openai", "google", "anthropic")
LlmProviderName = Literal[
    "default_provider",
    "scripted",
    "bedrock",
    "aws_bedrock",
    "openai_compatible",
    "openai",
    "custom",
    "azure_openai",
    "google",
    "anthropic",
]
# Header names whose values are credentials: masked like ``api_key`` in every answer.
_SECRET_HEADER_WORDS = ("authorization", "api-key", "api_key", "apikey", "token", "secret", "cookie")
_REVEAL = "reveal_secrets"
REVEAL_SECRETS: dict[str, Any] = {_REVEAL: True}
"""Serialization context for the writers that need a config's credentials (the store, the LLM call)."""


def _reveals(info: SerializationInfo) -> bool:
    context = info.context
    return isinstance(context, dict) and bool(context.get(_REVEAL))


class LlmsConfig(BaseModel):
    """Which LLM a node (or, as the default, the whole workflow) talks to: the product SDK's LLM configs.

    ``provider`` (or, when it is absent, the SDK's ``type``) picks the route: ``openai`` / ``custom``
    call an OpenAI-compatible endpoint (``base_url``, else the deployment's), ``bedrock`` /
    ``aws_bedrock`` call Bedrock, ``default_provider`` (also ``type: no_llm``) the deployment's
    default, ``azure_openai`` / ``google`` / ``anthropic`` the OpenAI-compatible gateway the
    deployment configures for them, ``scripted`` answers offline from ``model_kwargs``. ``api_key``,
    ``aws_secret_access_key`` and credential headers are kept for the calls and masked in every answer.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)

    logical_id: str = Field(default_factory=lambda: f"llm_{uuid.uuid4()}")
    named_llm_config_id: str | None = None
    named_llm_config_name: str | None = None
    provider: LlmProviderName = Field(
        "default_provider",
        description='"default_provider" uses the deployment default; "scripted" answers offline from '
        "model_kwargs.scripted_replies / scripted_rules; the SDK's providers are mapped (see README).",
    )
    type: str = Field("global_default_llm", max_length=100, description="The SDK's discriminator (openai_llm, ...)")
    model: str | None = Field(None, max_length=300, description="Provider model id; None = the provider's default")
    streaming: bool = False
    max_retries: int = Field(3, ge=0, le=10)
    max_parse_retries: int = Field(3, ge=0, le=10)
    max_tokens: int | None = Field(None, ge=1, le=1_000_000, description="Overrides model_kwargs.max_tokens")
    temperature: float | None = Field(None, ge=0.0, le=2.0, description="Overrides model_kwargs.temperature")
    request_timeout_ms: int | None = Field(
        None, ge=1, le=3_600_000, description="One call's timeout; never longer than what is left of the turn"
    )
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)
    model_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="temperature, max_tokens; for the scripted provider scripted_replies / scripted_rules",
    )
    api_key: str | None = Field(None, max_length=4096, description="The config's own key; masked in answers")
    do_not_split_sentences: bool = False
    truncated_max_recent_messages: int | None = Field(None, ge=0, le=100_000)
    base_url: str | None = Field(None, max_length=2048, description="openai / custom: the endpoint's API root")
    organization: str | None = Field(None, max_length=200)
    reasoning_effort: str | None = Field(None, max_length=50)
    endpoint: str | None = Field(None, max_length=2048, description="azure_openai (stored; the gateway is used)")
    api_version: str | None = Field(None, max_length=100)
    thinking_budget: int | None = Field(None, ge=0, le=1_000_000)
    default_headers: dict[str, str] | None = None
    rewrite_base_url: bool = False
    verify_ssl: bool = True
    response_unwrap_key: str | None = Field(None, max_length=200)
    integration_auth: dict[str, Any] | None = Field(
        None, validation_alias=AliasChoices("integration_auth", "okta_auth")
    )
    use_responses_api: bool = False
    region: str | None = Field(None, max_length=50)
    aws_access_key_id: str | None = Field(None, max_length=256)
    aws_secret_access_key: str | None = Field(None, max_length=4096, description="Masked in answers")

    @model_validator(mode="before")
    @classmethod
    def _provider_from_type(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        provider = data.get("provider")
        if isinstance(provider, str):
            provider = provider.strip().lower()
        if provider in (None, "", "default_provider") and data.get("type") in SDK_TYPE_PROVIDERS:
            provider = SDK_TYPE_PROVIDERS[data["type"]]
        return {**data, "provider": provider if provider is not None else "default_provider"}

    @field_serializer("api_key", "aws_secret_access_key")
    def _mask_secret(self, value: str | None, info: SerializationInfo) -> str | None:
        if value is None or _reveals(info):
            return value
        return SECRET_MASK

    @field_serializer("default_headers")
    def _mask_headers(self, value: dict[str, str] | None, info: SerializationInfo) -> dict[str, str] | None:
        if value is None or _reveals(info):
            return value
        return {name: SECRET_MASK if is_secret_header(name) else text for name, text in value.items()}

    @property
    def route(self) -> str:
        """The provider the call goes to: the SDK's names folded onto the service's."""
        return {"aws_bedrock": "bedrock"}.get(self.provider, self.provider)

    def secrets(self) -> tuple[str, ...]:
        """The credentials this config carries (to keep them out of error messages)."""
        values = [self.api_key, self.aws_secret_access_key]
        values += [text for name, text in (self.default_headers or {}).items() if is_secret_header(name)]
        return tuple(value for value in values if value)

    def with_secrets_from(self, previous: "LlmsConfig | None") -> "LlmsConfig":
        """This config with masked credentials (sent back as read) replaced by ``previous``'s; without a
        ``previous`` config (or a credential it lacks) a mask becomes no credential, never the mask itself."""
        update: dict[str, Any] = {}
        for name in ("api_key", "aws_secret_access_key"):
            if getattr(self, name) == SECRET_MASK:
                update[name] = getattr(previous, name) if previous is not None else None
        if self.default_headers and SECRET_MASK in self.default_headers.values():
            old = (previous.default_headers if previous is not None else None) or {}
            update["default_headers"] = {
                name: old[name] if text == SECRET_MASK else text
                for name, text in self.default_headers.items()
                if text != SECRET_MASK or name in old
            }
        return self.model_copy(update=update) if update else self


def is_secret_header(name: str) -> bool:
    """Whether a header of this name carries a credential."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_HEADER_WORDS)


def llm_config_problems(
    config: LlmsConfig, loc: tuple[str | int, ...], gateway_providers: frozenset[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Why this deployment cannot call ``config`` (each with the ``loc`` of the field), empty when it can."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if config.provider in GATEWAY_PROVIDERS and config.provider not in gateway_providers:
        setting = f"LLM_GATEWAY_{config.provider.upper()}_BASE_URL"
        problems.append(
            (
                (*loc, "provider"),
                f"provider {config.provider!r} is not available on this deployment: it is called through an "
                f"OpenAI-compatible gateway, and none is configured for it ({setting}); use openai, custom "
                "(with base_url), bedrock or default_provider",
            )
        )
    if config.route == "bedrock" and config.api_key:
        problems.append(
            (
                (*loc, "api_key"),
                "a Bedrock api_key (bearer token) is not supported: give aws_access_key_id and "
                "aws_secret_access_key, or leave them empty to use the deployment's role",
            )
        )
    if config.route == "bedrock" and bool(config.aws_access_key_id) != bool(config.aws_secret_access_key):
        problems.append(((*loc, "aws_secret_access_key"), "aws_access_key_id and aws_secret_access_key go together"))
    if config.base_url is not None and not config.base_url.startswith(("http://", "https://")):
        problems.append(((*loc, "base_url"), "base_url must be an http(s) URL"))
    return problems
