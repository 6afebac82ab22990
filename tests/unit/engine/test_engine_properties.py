"""Rules that hold for any workflow graph, checked on random graphs."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.clock import ManualClock
from tests.fakes.http import FakeHttp
from tests.fakes.llm import FakeLlm
from workflow_service.engine import WorkflowEngine
from workflow_service.models.runs import RunStatus, WorkflowRunInput
from workflow_service.models.workflow_config import WorkflowConfig

CONDITIONS = ["count > 1", "[[count]] == 2", "contains(lower([[word]]), 'a')", "missing > 1", "len(count)", "1 / 0"]


@st.composite
def graphs(draw):
    size = draw(st.integers(1, 8))
    ids = [f"n{index}" for index in range(size)]
    nodes = []
    for index, logical_id in enumerate(ids):
        kind = draw(st.sampled_from(["no_op", "say_static"]))
        nodes.append(
            {
                "logical_id": logical_id,
                "type": kind,
                "is_start": index == 0,
                "self_loop": draw(st.booleans()),
                "max_turns": draw(st.none() | st.integers(1, 3)),
                "wait_for_user_message": draw(st.booleans()),
                "static_messages_config": {"static_messages": ["hi [[count]]"]},
            }
        )
    edges = []
    for index in range(draw(st.integers(0, 12))):
        edge_type = draw(st.sampled_from(["direct", "conditional", "companion"]))
        edge = {
            "logical_id": f"e{index}",
            "source_node_logical_id": draw(st.sampled_from(ids)),
            "destination_node_logical_id": draw(st.sampled_from(ids)),
            "type": edge_type,
            "disabled": draw(st.booleans()),
        }
        if edge_type == "conditional":
            edge["condition"] = {"condition_expression": draw(st.sampled_from(CONDITIONS))}
        if edge_type == "companion":
            edge["companion_thread_config"] = {"thread_id": f"t{index}", "stop_with_main_thread": draw(st.booleans())}
        edges.append(edge)
    return {"nodes": nodes, "edges": edges}


@settings(max_examples=150, deadline=None)
@given(graphs(), st.lists(st.sampled_from(["yes", "Data", "no"]), max_size=3))
def test_any_graph_ends_every_turn_in_a_valid_outcome_with_paired_node_events(graph, replies):
    engine = WorkflowEngine(FakeLlm(), FakeHttp(), ManualClock(), max_steps_per_turn=40)
    config = WorkflowConfig.model_validate(graph)
    state = None
    inputs = [WorkflowRunInput(runtime_variables={"count": 2, "word": "Alpha"})]
    inputs += [
        WorkflowRunInput.model_validate(
            {"command": "data", "thread_to_node_inputs": {"0": {"node_run_inputs": [{"messages": [{"content": r}]}]}}}
        )
        for r in replies
    ]
    for run_input in inputs:
        result = engine.run_turn(config, run_input, state)

        assert result.status in {
            RunStatus.WAITING_FOR_USER_INPUT,
            RunStatus.COMPLETED,
            RunStatus.FAILED,
            RunStatus.ABORTED_LOOPING_RISK,
        }
        assert (result.error is not None) == (result.status in {RunStatus.FAILED, RunStatus.ABORTED_LOOPING_RISK})
        assert (result.next_input_hint is not None) == (result.status is RunStatus.WAITING_FOR_USER_INPUT)
        started = [event["origin_node_run_id"] for event in result.events if event["type"] == "start_node_run"]
        ended = [event["origin_node_run_id"] for event in result.events if event["type"] == "end_node_run"]
        assert started == ended
        assert len(started) <= 40
        assert json.loads(json.dumps(result.state)) == result.state
        json.dumps(result.events)
        state = result.state
        if result.status is not RunStatus.WAITING_FOR_USER_INPUT:
            assert result.events[-1]["type"] == "end_workflow"
            break
