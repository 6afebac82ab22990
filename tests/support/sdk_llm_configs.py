"""The LLM configs the product's SDK sends (``interactly_configs.llm``), one per provider, as its
``model_dump`` writes them: every field of the class with its default unless set. Written from the
SDK's published field list (facts, not its code)."""

from __future__ import annotations

from typing import Any

KEY = "sk-own-key-0123456789abcdef"
AWS_SECRET = "aws-secret-0123456789abcdef"

_BASE: dict[str, Any] = {
    "logical_id": "llm_sdk",
    "named_llm_config_id": None,
    "named_llm_config_name": None,
    "streaming": False,
    "max_retries": 3,
    "max_parse_retries": 3,
    "max_tokens": None,
    "temperature": None,
    "request_timeout_ms": None,
    "seed": None,
    "model_kwargs": {},
    "api_key": None,
    "do_not_split_sentences": False,
    "truncated_max_recent_messages": None,
}


def openai(**fields: Any) -> dict[str, Any]:
    return {
        **_BASE,
        "provider": "openai",
        "type": "openai_llm",
        "model": "gpt-5.4-mini",
        "base_url": None,
        "organization": None,
        "reasoning_effort": "low",
        **fields,
    }


def custom(**fields: Any) -> dict[str, Any]:
    return {
        **_BASE,
        "provider": "custom",
        "type": "custom_llm",
        "model": None,
        "reasoning_effort": None,
        "base_url": None,
        "default_headers": None,
        "rewrite_base_url": False,
        "verify_ssl": True,
        "response_unwrap_key": None,
        "integration_auth": None,
        "use_responses_api": False,
        **fields,
    }


def bedrock(**fields: Any) -> dict[str, Any]:
    return {
        **_BASE,
        "provider": "bedrock",
        "type": "bedrock_llm",
        "model": "zai.glm-4.7-flash",
        "region": None,
        "aws_access_key_id": None,
        "aws_secret_access_key": None,
        **fields,
    }


def azure_openai(**fields: Any) -> dict[str, Any]:
    return {
        **_BASE,
        "provider": "azure_openai",
        "type": "azure_openai_llm",
        "model": "gpt-5-mini",
        "endpoint": None,
        "api_version": None,
        "reasoning_effort": "low",
        **fields,
    }


def google(**fields: Any) -> dict[str, Any]:
    return {
        **_BASE,
        "provider": "google",
        "type": "google_llm",
        "model": "gemini-3-flash-preview",
        "thinking_budget": 0,
        **fields,
    }


def anthropic(**fields: Any) -> dict[str, Any]:
    return {
        **_BASE,
        "provider": "anthropic",
        "type": "anthropic_llm",
        "model": "claude-sonnet-4-6",
        "thinking_budget": 0,
        **fields,
    }


def default_provider(**fields: Any) -> dict[str, Any]:
    return {**_BASE, "provider": "default_provider", "type": "global_default_llm", **fields}


def no_llm(**fields: Any) -> dict[str, Any]:
    return {**_BASE, "provider": "default_provider", "type": "no_llm", **fields}


ACCEPTED = {
    "openai": openai(api_key=KEY),
    "custom": custom(api_key=KEY, base_url="https://llm.example.com/v1", default_headers={"X-Api-Key": KEY}),
    "bedrock": bedrock(aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key=AWS_SECRET, region="us-west-2"),
    "aws_bedrock": bedrock(provider="aws_bedrock"),
    "default_provider": default_provider(api_key=KEY),
    "no_llm": no_llm(),
}
GATEWAY_ONLY = {
    "azure_openai": azure_openai(api_key=KEY),
    "google": google(api_key=KEY),
    "anthropic": anthropic(api_key=KEY),
}
