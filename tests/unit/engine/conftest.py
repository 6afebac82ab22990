"""Engine test fixtures: fake LLM and HTTP ports, an engine on the manual clock, and a one-turn runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes.http import FakeHttp
from tests.fakes.llm import FakeLlm
from workflow_service.engine import TurnResult, WorkflowEngine
from workflow_service.models.runs import WorkflowRunInput
from workflow_service.models.workflow_config import WorkflowConfig


@pytest.fixture
def llm() -> FakeLlm:
    return FakeLlm()


@pytest.fixture
def http() -> FakeHttp:
    return FakeHttp()


@pytest.fixture
def engine(llm: FakeLlm, http: FakeHttp, clock) -> WorkflowEngine:
    return WorkflowEngine(llm, http, clock, max_steps_per_turn=50)


@pytest.fixture
def run(engine: WorkflowEngine) -> Callable[..., TurnResult]:
    """run(config, state=None, message=None, thread="0", **run_input) -> TurnResult."""

    def run_turn(
        config: dict[str, Any] | WorkflowConfig,
        state: dict[str, Any] | None = None,
        message: str | None = None,
        thread: str = "0",
        heartbeat: Callable[[], None] | None = None,
        time_left: Callable[[], float] | None = None,
        **run_input: Any,
    ) -> TurnResult:
        if message is not None:
            run_input["thread_to_node_inputs"] = {
                thread: {"node_run_inputs": [{"type": "llm", "messages": [{"role": "user", "content": message}]}]}
            }
        parsed = config if isinstance(config, WorkflowConfig) else WorkflowConfig.model_validate(config)
        return engine.run_turn(
            parsed, WorkflowRunInput.model_validate(run_input), state, heartbeat=heartbeat, time_left=time_left
        )

    return run_turn
