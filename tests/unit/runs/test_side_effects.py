"""The guarded LLM and HTTP ports: the current turn's claim check runs before every call, and only then."""

from __future__ import annotations

import pytest

from tests.fakes.http import FakeHttp
from tests.fakes.llm import FakeLlm
from workflow_service.models.llm_calls import LlmRequest
from workflow_service.ports.http import OutboundRequest
from workflow_service.runs.side_effects import ClaimLost, GuardedHttp, GuardedLlm, SideEffectGuard


def request() -> LlmRequest:
    return LlmRequest(llm_config={"provider": "scripted"}, system_prompt="")


def test_outside_a_turn_the_ports_pass_straight_through():
    guard = SideEffectGuard()
    llm, http = FakeLlm().reply("hello"), FakeHttp()
    assert GuardedLlm(llm, guard).complete(request()).content == "hello"
    assert GuardedHttp(http, guard).send(OutboundRequest("GET", "http://x.test")).status == 404


def test_a_call_is_made_only_after_the_check_passes_and_never_once_it_fails():
    guard = SideEffectGuard()
    llm, http = FakeLlm().reply("first"), FakeHttp()
    checks: list[str] = []
    claimed = [True]

    def check() -> None:
        checks.append("check")
        if not claimed[0]:
            raise ClaimLost("r1")

    with guard.checking(check):
        assert GuardedLlm(llm, guard).complete(request()).content == "first"
        claimed[0] = False  # the run is stopped
        with pytest.raises(ClaimLost):
            GuardedHttp(http, guard).send(OutboundRequest("GET", "http://x.test"))
        with pytest.raises(ClaimLost):
            GuardedLlm(llm, guard).complete(request())
    assert checks == ["check"] * 3
    assert len(llm.requests) == 1 and http.requests == []
    # And the check applies only inside its turn
    llm.reply("after")
    assert GuardedLlm(llm, guard).complete(request()).content == "after"
