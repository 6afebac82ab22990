"""merge_llm_usage: the run's llm_token_usage and llm_latency_stats (reference section 3.2)."""

from __future__ import annotations

import copy

from workflow_service.engine import merge_llm_usage
from workflow_service.models.llm_calls import LlmResponse


def call(model: str, provider: str, tokens_in: int, tokens_out: int, latency: float, user_keys: bool = False):
    return LlmResponse(
        content="x",
        provider=provider,
        model=model,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        latency_ms=latency,
        used_user_keys=user_keys,
    )


def test_first_calls_produce_totals_and_a_breakdown_per_model_and_provider():
    tokens, latency = merge_llm_usage(
        None,
        None,
        [
            call("m1", "bedrock", 10, 5, 100.0),
            call("m1", "bedrock", 20, 5, 300.0, user_keys=True),
            call("m1", "openai_compatible", 1, 1, 50.0),
        ],
    )

    assert tokens == {
        "total_input_tokens": 31,
        "total_output_tokens": 11,
        "total_tokens": 42,
        "call_count_with_user_keys": 1,
        "call_count_with_fallback_keys": 2,
        "call_count": 3,
        "breakdown_by_models": [
            {
                "response_model": "m1",
                "provider": "bedrock",
                "total_input_tokens": 30,
                "total_output_tokens": 10,
                "total_tokens": 40,
                "call_count_with_user_keys": 1,
                "call_count_with_fallback_keys": 1,
                "call_count": 2,
            },
            {
                "response_model": "m1",
                "provider": "openai_compatible",
                "total_input_tokens": 1,
                "total_output_tokens": 1,
                "total_tokens": 2,
                "call_count_with_user_keys": 0,
                "call_count_with_fallback_keys": 1,
                "call_count": 1,
            },
        ],
    }
    assert latency["call_count"] == 3
    assert latency["total_latency_milliseconds"] == 450.0
    assert latency["average_latency_milliseconds"] == 150.0
    assert latency["breakdown_by_models"][0] == {
        "response_model": "m1",
        "provider": "bedrock",
        "call_count": 2,
        "total_latency_milliseconds": 400.0,
        "average_latency_milliseconds": 200.0,
    }


def test_later_calls_add_to_stored_totals_without_modifying_them():
    stored_tokens, stored_latency = merge_llm_usage(None, None, [call("m1", "bedrock", 10, 5, 100.0)])
    before = copy.deepcopy((stored_tokens, stored_latency))

    tokens, latency = merge_llm_usage(stored_tokens, stored_latency, [call("m1", "bedrock", 2, 3, 200.0)])

    assert (stored_tokens, stored_latency) == before
    assert tokens["total_tokens"] == 20
    assert tokens["breakdown_by_models"][0]["call_count"] == 2
    assert latency["average_latency_milliseconds"] == 150.0


def test_no_calls_give_zeroed_shapes():
    tokens, latency = merge_llm_usage(None, None, [])

    assert tokens["call_count"] == 0 and tokens["breakdown_by_models"] == []
    assert latency == {
        "call_count": 0,
        "total_latency_milliseconds": 0.0,
        "average_latency_milliseconds": 0.0,
        "breakdown_by_models": [],
    }
