"""What the engine does with the product SDK's own config fields, where the service implements their meaning."""

from __future__ import annotations

from tests.support.workflow_builders import edge, node, say
from tests.unit.engine.engine_support import of_type
from workflow_service.models.runs import RunStatus


def test_a_direct_edge_marked_as_companion_thread_starts_a_parallel_thread(run):
    # Given the SDK's spelling of a fork: a direct edge with companion_thread_config.is_companion_thread
    config = {
        "nodes": [say("a", "A", is_start=True), say("b", "B"), say("c", "C")],
        "edges": [
            edge("a", "c", companion_thread_config={"is_companion_thread": True, "thread_id": "side"}),
            edge("a", "b", companion_thread_config={"is_companion_thread": False, "thread_id": None}),
        ],
    }
    result = run(config)
    # Then c runs on its own thread while the main thread goes on to b
    assert sorted((e["origin_thread_id"], e["message"]) for e in of_type(result, "say_static")) == [
        ("0", "A"),
        ("0", "B"),
        ("side", "C"),
    ]
    assert result.status is RunStatus.COMPLETED


def test_a_companion_direct_edge_without_thread_id_uses_the_edge_id(run):
    config = {
        "nodes": [say("a", "A", is_start=True), say("b", "B"), say("c", "C")],
        "edges": [
            edge("a", "c", logical_id="fork", companion_thread_config={"is_companion_thread": True}),
            edge("a", "b"),
        ],
    }
    result = run(config)
    assert [e["origin_thread_id"] for e in of_type(result, "say_static") if e["message"] == "C"] == ["fork"]


def test_a_lone_direct_edge_continues_the_main_thread_whatever_its_companion_flag(run):
    config = {
        "nodes": [say("a", "A", is_start=True), say("c", "C")],
        "edges": [edge("a", "c", companion_thread_config={"is_companion_thread": True, "thread_id": "side"})],
    }
    result = run(config)
    assert [(e["origin_thread_id"], e["message"]) for e in of_type(result, "say_static")] == [("0", "A"), ("0", "C")]


def test_ignore_default_prompt_prefix_and_suffix_leave_them_out(run, llm):
    config = {
        "default_prompt_prefix": "PREFIX",
        "default_prompt_suffix": "SUFFIX",
        "nodes": [
            node(
                "chat",
                "say_llm",
                is_start=True,
                main_response_config={"prompt": "Greet."},
                ignore_default_prompt_prefix=True,
                ignore_default_prompt_suffix=True,
            )
        ],
    }
    llm.reply("Hi")
    run(config)
    assert llm.requests[0].system_prompt == "Greet."


def test_a_no_op_node_writes_its_success_flag_where_the_sdk_names_it(run):
    config = {
        "nodes": [
            node("junction", is_start=True, output_runtime_variable_name="junction_done"),
            say("after", "done=[[junction_done]]"),
        ],
        "edges": [edge("junction", "after")],
    }
    result = run(config)
    assert of_type(result, "say_static")[0]["message"] == "done=true"


def test_a_no_op_node_with_simulate_failure_fails_the_run_saying_so(run):
    result = run({"nodes": [node("broken", is_start=True, simulate_failure=True)]})
    assert result.status is RunStatus.FAILED
    assert "simulate_failure" in (result.error or "")


def test_langchain_ai_messages_join_the_conversation_as_the_assistant(run, llm):
    llm.reply("ok")
    messages = [{"type": "ai", "content": "Welcome back."}, {"type": "human", "content": "thanks"}]
    run(
        {"nodes": [node("chat", "say_llm", is_start=True)]},
        thread_to_node_inputs={"0": {"node_run_inputs": [{"type": "llm", "messages": messages}]}},
    )
    assert [(m.role, m.content) for m in llm.requests[0].messages] == [
        ("assistant", "Welcome back."),
        ("user", "thanks"),
    ]
