"""LLM token usage and latency totals in the reference's run shapes (reference section 3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow_service.models.llm_calls import LlmResponse

_TOKEN_COUNTERS = (
    "total_input_tokens",
    "total_output_tokens",
    "total_tokens",
    "call_count_with_user_keys",
    "call_count_with_fallback_keys",
    "call_count",
)


def empty_token_usage() -> dict[str, Any]:
    return {**dict.fromkeys(_TOKEN_COUNTERS, 0), "breakdown_by_models": []}


def empty_latency_stats() -> dict[str, Any]:
    return {
        "call_count": 0,
        "total_latency_milliseconds": 0.0,
        "average_latency_milliseconds": 0.0,
        "breakdown_by_models": [],
    }


def _add_tokens(totals: dict[str, Any], call: LlmResponse) -> None:
    totals["total_input_tokens"] = int(totals.get("total_input_tokens") or 0) + call.input_tokens
    totals["total_output_tokens"] = int(totals.get("total_output_tokens") or 0) + call.output_tokens
    totals["total_tokens"] = int(totals.get("total_tokens") or 0) + call.input_tokens + call.output_tokens
    key = "call_count_with_user_keys" if call.used_user_keys else "call_count_with_fallback_keys"
    totals[key] = int(totals.get(key) or 0) + 1
    totals["call_count"] = int(totals.get("call_count") or 0) + 1


def _add_latency(totals: dict[str, Any], call: LlmResponse) -> None:
    count = int(totals.get("call_count") or 0) + 1
    total = float(totals.get("total_latency_milliseconds") or 0.0) + call.latency_ms
    totals["call_count"] = count
    totals["total_latency_milliseconds"] = round(total, 3)
    totals["average_latency_milliseconds"] = round(total / count, 3)


def _model_entry(breakdown: list[dict[str, Any]], call: LlmResponse, template: dict[str, Any]) -> dict[str, Any]:
    for entry in breakdown:
        if entry.get("response_model") == call.model and entry.get("provider") == call.provider:
            return entry
    entry = {"response_model": call.model, "provider": call.provider, **template}
    breakdown.append(entry)
    return entry


def merge_llm_usage(
    token_usage: dict[str, Any] | None, latency_stats: dict[str, Any] | None, calls: list[LlmResponse]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Add ``calls`` to a run's ``llm_token_usage`` and ``llm_latency_stats``; returns new dicts.

    Totals and the per-model breakdown (keyed by ``response_model`` + ``provider``) are updated; a
    call counts as "with user keys" when the provider used the team's own credentials. The inputs
    are not modified, so a stored document can be passed in directly.
    """
    tokens = {**empty_token_usage(), **(token_usage or {})}
    tokens["breakdown_by_models"] = [dict(entry) for entry in tokens.get("breakdown_by_models") or []]
    latency = {**empty_latency_stats(), **(latency_stats or {})}
    latency["breakdown_by_models"] = [dict(entry) for entry in latency.get("breakdown_by_models") or []]
    for call in calls:
        _add_tokens(tokens, call)
        _add_tokens(_model_entry(tokens["breakdown_by_models"], call, dict.fromkeys(_TOKEN_COUNTERS, 0)), call)
        _add_latency(latency, call)
        _add_latency(
            _model_entry(
                latency["breakdown_by_models"],
                call,
                {k: v for k, v in empty_latency_stats().items() if k != "breakdown_by_models"},
            ),
            call,
        )
    return tokens, latency
