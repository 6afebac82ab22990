"""The Idempotency-Key header on POST /workflows/v1/workflow-runs (start and the commands)."""

from __future__ import annotations

import pytest

from tests.support.api import Reply, call
from tests.support.workflows import endless_conversation_workflow, user_message, waiting_workflow


class Killed(BaseException):
    """The process dying mid-request: nothing after it runs."""


def make_workflow(caller) -> str:
    reply = call("create_workflow", caller=caller, body={"name": "Intake", "workflow_config": waiting_workflow()})
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def post(caller, body: dict, key: str | None = "start-7") -> Reply:
    headers = {} if key is None else {"Idempotency-Key": key}
    return call("start_or_resume_workflow_run", caller=caller, body=body, headers=headers)


def run_ids(services) -> list[str]:
    return [str(document["_id"]) for document in services.core.database.raw["workflow_runs"].find({})]


def test_a_retried_start_answers_the_first_answer_and_starts_no_second_run(services, caller, clock):
    # Given a run started with an Idempotency-Key
    workflow_id = make_workflow(caller)
    first = post(caller, {"workflow_id": workflow_id})
    assert first.status == 200, first
    # When the client retries the same request a minute later
    clock.advance(minutes=1)
    retry = post(caller, {"workflow_id": workflow_id})
    # Then it gets the first answer again, and there is one run
    assert (retry.status, retry.body) == (first.status, first.body)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert run_ids(services) == [first.body["workflow_run"]["_id"]]


def test_a_retried_command_is_not_applied_twice(services, caller):
    # Given a waiting run and a data command sent with a key
    workflow_id = make_workflow(caller)
    run_id = post(caller, {"workflow_id": workflow_id}, key=None).body["workflow_run"]["_id"]
    command = {"command": "data", "workflow_run_id": run_id, "thread_to_node_inputs": user_message("hi")}
    first = post(caller, command, key="data-1")
    # When it is retried
    retry = post(caller, command, key="data-1")
    # Then the run took the input once
    assert retry.body == first.body
    stored = call("get_workflow_run", caller=caller, path={"workflow_run_id": run_id}).body["workflow_run"]
    assert len(stored["workflow_run"]["input_output_pairs"]) == 2


def test_the_same_key_for_another_start_is_refused_naming_the_header(services, caller):
    workflow_id = make_workflow(caller)
    assert post(caller, {"workflow_id": workflow_id}).status == 200
    reply = post(caller, {"workflow_id": workflow_id, "dynamic_variables": {"name": "Bo"}})
    assert reply.status == 422
    assert reply.body["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert len(run_ids(services)) == 1


def test_a_crash_after_the_run_was_stored_then_a_retry_converges_to_one_run(services, caller, monkeypatch):
    # Given a start killed after inserting its run, before answering
    workflow_id = make_workflow(caller)
    repository = services.runs.repository
    real_insert = repository.insert

    def insert_then_die(*args, **kwargs):
        real_insert(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(repository, "insert", insert_then_die)
    with pytest.raises(Killed):
        post(caller, {"workflow_id": workflow_id})
    monkeypatch.setattr(repository, "insert", real_insert)
    (stored_id,) = run_ids(services)
    # When the client retries
    retry = post(caller, {"workflow_id": workflow_id})
    # Then the answer is the run the first attempt stored, and no other run exists
    assert retry.status == 200 and retry.body["workflow_run"]["_id"] == stored_id
    assert run_ids(services) == [stored_id]


def input_output_pairs(caller, run_id: str) -> int:
    reply = call("get_workflow_run", caller=caller, path={"workflow_run_id": run_id})
    return len(reply.body["workflow_run"]["workflow_run"]["input_output_pairs"])


def test_a_duplicate_refused_while_the_first_runs_leaves_the_first_its_key(services, caller, monkeypatch):
    # Given a conversation waiting for the user, and a command sent with a key
    workflow_id = call(
        "create_workflow", caller=caller, body={"name": "Chat", "workflow_config": endless_conversation_workflow()}
    ).body["workflow"]["_id"]
    run_id = post(caller, {"workflow_id": workflow_id}, key=None).body["workflow_run"]["_id"]
    command = {"command": "data", "workflow_run_id": run_id, "thread_to_node_inputs": user_message("hi")}
    engine = services.runs.engine
    run_turn = engine.run_turn
    duplicates: list[Reply] = []

    def with_a_duplicate_meanwhile(*args, **kwargs):
        if not duplicates:  # the same request with the same key arrives while the first's turn runs
            duplicates.append(post(caller, command, key="data-1"))
        return run_turn(*args, **kwargs)

    monkeypatch.setattr(engine, "run_turn", with_a_duplicate_meanwhile)
    first = post(caller, command, key="data-1")
    monkeypatch.setattr(engine, "run_turn", run_turn)
    # When the duplicate is refused (a turn is executing) and the client retries as told
    assert first.status == 200 and duplicates[0].status == 409, (first, duplicates)
    retry = post(caller, command, key="data-1")
    # Then the retry replays the first answer: the command was applied once
    assert retry.headers.get("Idempotent-Replayed") == "true", retry
    assert input_output_pairs(caller, run_id) == 2


def test_a_start_refused_after_its_run_was_stored_keeps_its_key(services, caller, monkeypatch):
    # Given a start whose run is stopped by someone else while its first turn runs (the turn is discarded)
    workflow_id = make_workflow(caller)
    engine = services.runs.engine
    run_turn = engine.run_turn
    stops: list[Reply] = []

    def stopped_meanwhile(*args, **kwargs):
        if not stops:
            stops.append(post(caller, {"command": "stop", "workflow_run_id": run_ids(services)[0]}, key=None))
        return run_turn(*args, **kwargs)

    monkeypatch.setattr(engine, "run_turn", stopped_meanwhile)
    first = post(caller, {"workflow_id": workflow_id}, key="start-1")
    monkeypatch.setattr(engine, "run_turn", run_turn)
    assert first.status == 409 and stops[0].status == 200, (first, stops)
    # When the client retries its start with the same key
    post(caller, {"workflow_id": workflow_id}, key="start-1")
    # Then no second run is made: the key still stands for the first
    assert len(run_ids(services)) == 1


def test_a_command_retried_after_a_crash_that_lost_its_answer_is_not_applied_again(services, caller, monkeypatch):
    # Given a conversation waiting for the user
    workflow_id = call(
        "create_workflow", caller=caller, body={"name": "Chat", "workflow_config": endless_conversation_workflow()}
    ).body["workflow"]["_id"]
    run_id = post(caller, {"workflow_id": workflow_id}, key=None).body["workflow_run"]["_id"]
    command = {"command": "data", "workflow_run_id": run_id, "thread_to_node_inputs": user_message("hi")}

    # When a keyed command's turn commits and the process dies before its answer is stored
    def dies(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(services.core.dedupe_records, "mark_created", dies)
    with pytest.raises(Killed):
        post(caller, command, key="data-2")
    monkeypatch.undo()
    assert input_output_pairs(caller, run_id) == 2
    # And the client retries it with the same key
    retry = post(caller, command, key="data-2")
    # Then the run is answered as it is: the message was processed once
    assert retry.status == 200, retry
    assert retry.body["workflow_run"]["_id"] == run_id
    assert input_output_pairs(caller, run_id) == 2
    assert "last_command_id" not in retry.raw


@pytest.mark.parametrize(("command", "status"), [("stop", "cancelled"), ("pause", "paused")])
def test_a_stop_or_pause_retried_after_a_crash_that_lost_its_answer_answers_the_run(
    services, caller, monkeypatch, command, status
):
    # Given a conversation waiting for the user
    workflow_id = call(
        "create_workflow", caller=caller, body={"name": "Chat", "workflow_config": endless_conversation_workflow()}
    ).body["workflow"]["_id"]
    run_id = post(caller, {"workflow_id": workflow_id}, key=None).body["workflow_run"]["_id"]

    # When a keyed stop (or pause) is written and the process dies before its answer is stored
    def dies(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(services.core.dedupe_records, "mark_created", dies)
    with pytest.raises(Killed):
        post(caller, {"command": command, "workflow_run_id": run_id}, key=f"{command}-1")
    monkeypatch.undo()
    # And the client retries it with the same key
    retry = post(caller, {"command": command, "workflow_run_id": run_id}, key=f"{command}-1")
    # Then it answers the run as the command left it, not a 409 for a command the run can no longer take
    assert retry.status == 200, retry
    assert retry.body["workflow_run"]["_id"] == run_id
    assert retry.body["workflow_run"]["workflow_run"]["status"] == status
    # And another key's same command is still refused: the run cannot take it twice
    assert post(caller, {"command": command, "workflow_run_id": run_id}, key=f"{command}-2").status == 409
