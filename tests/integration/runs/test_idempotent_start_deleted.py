"""A start retried with its Idempotency-Key after the user deleted the run it made starts nothing again.

The retry continues the first request's start with the run id the key reserved (so that a crash
anywhere in the start converges on one run). When the first answer was stored, the retry replays it,
as every key's retry does. When it was not (the first request died after inserting the run, or was
refused after it), the run itself is the answer; once the user has deleted it, the retry answers 409,
saying so, rather than making it again: the key made that run, and stands for it until it expires.
"""

from __future__ import annotations

import pytest

from tests.integration.runs.test_idempotent_start import Killed, make_workflow, post, run_ids
from tests.support.api import Reply, call
from workflow_service.idempotency import IDEMPOTENCY_SOURCE

ROUTE = "start_or_resume_workflow_run"


def key_record(services, caller, key: str = "start-7") -> dict:
    records = services.core.database.raw["dedupe_records"]
    record = records.find_one({"_id": f"{IDEMPOTENCY_SOURCE}:{caller.team_id}:{ROUTE}:{key}"})
    assert record is not None
    return record


def delete(caller, run_id: str) -> Reply:
    return call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id})


def start_dying_before_its_answer_is_stored(services, caller, workflow_id: str, monkeypatch) -> str:
    """The first request starts its run, then dies before storing its answer; returns the run's id."""

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(services.core.dedupe_records, "mark_created", die)
    with pytest.raises(Killed):
        post(caller, {"workflow_id": workflow_id})
    monkeypatch.undo()
    run_id = key_record(services, caller)["target_id"]
    assert run_id in run_ids(services)
    return run_id


def assert_refused_as_deleted(reply: Reply, run_id: str) -> None:
    assert reply.status == 409, reply
    assert run_id in reply.body["detail"] and "deleted" in reply.body["detail"], reply.body
    assert "Idempotency-Key" in reply.body["detail"], reply.body


def test_a_retried_start_whose_run_was_deleted_does_not_start_it_again(services, caller, monkeypatch):
    # Given a start whose answer was lost (the request died after its run's first turn)
    workflow_id = make_workflow(caller)
    run_id = start_dying_before_its_answer_is_stored(services, caller, workflow_id, monkeypatch)
    # And the user, who saw the run in a listing, deleted it
    assert delete(caller, run_id).status == 200
    # When the client retries the start with the same key
    retry = post(caller, {"workflow_id": workflow_id})
    # Then it is refused, naming the deleted run, and no run is made again
    assert_refused_as_deleted(retry, run_id)
    assert run_ids(services) == []
    assert call("get_workflow_run", caller=caller, path={"workflow_run_id": run_id}).status == 404
    # And the key still stands for that run: every further retry answers the same
    assert key_record(services, caller)["target_id"] == run_id
    assert_refused_as_deleted(post(caller, {"workflow_id": workflow_id}), run_id)
    assert run_ids(services) == []


def test_a_retried_start_that_crashed_after_inserting_its_deleted_run_does_not_finish_that_start(
    services, caller, monkeypatch
):
    # Given a start that died right after inserting its run (queued, never dispatched nor answered)
    workflow_id = make_workflow(caller)
    repository = services.runs.repository
    real_insert = repository.insert

    def insert_then_die(*args, **kwargs):
        real_insert(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(repository, "insert", insert_then_die)
    with pytest.raises(Killed):
        post(caller, {"workflow_id": workflow_id})
    monkeypatch.undo()
    (run_id,) = run_ids(services)
    # And the user deleted that run
    assert delete(caller, run_id).status == 200
    # When the client retries
    retry = post(caller, {"workflow_id": workflow_id})
    # Then the retry does not complete the deleted start
    assert_refused_as_deleted(retry, run_id)
    assert run_ids(services) == []


def test_a_start_refused_after_its_run_was_stored_then_deleted_is_not_started_by_its_retry(
    services, caller, monkeypatch
):
    # Given a start answered 409 because its run was stopped while its first turn ran (no answer is stored)
    workflow_id = make_workflow(caller)
    engine = services.runs.engine
    run_turn = engine.run_turn
    stops: list[Reply] = []

    def stopped_meanwhile(*args, **kwargs):
        if not stops:
            stops.append(post(caller, {"command": "stop", "workflow_run_id": run_ids(services)[0]}, key=None))
        return run_turn(*args, **kwargs)

    monkeypatch.setattr(engine, "run_turn", stopped_meanwhile)
    first = post(caller, {"workflow_id": workflow_id})
    monkeypatch.undo()
    assert first.status == 409 and stops[0].status == 200, (first, stops)
    (run_id,) = run_ids(services)
    # And the user deleted the stopped run
    assert delete(caller, run_id).status == 200
    # When the client retries its start with the same key
    retry = post(caller, {"workflow_id": workflow_id})
    # Then the deleted run is not made again
    assert_refused_as_deleted(retry, run_id)
    assert run_ids(services) == []


def test_a_retry_after_a_crash_before_the_run_insert_still_starts_it_once(services, caller, monkeypatch):
    # Given a start that died after reserving its key, before inserting its run (nothing to delete)
    workflow_id = make_workflow(caller)
    repository = services.runs.repository

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(repository, "insert", die)
    with pytest.raises(Killed):
        post(caller, {"workflow_id": workflow_id})
    monkeypatch.undo()
    reserved = key_record(services, caller)["target_id"]
    assert run_ids(services) == []
    # When the client retries, twice
    retry = post(caller, {"workflow_id": workflow_id})
    again = post(caller, {"workflow_id": workflow_id})
    # Then the start completes once, with the id the key reserved, and the second retry replays it
    assert retry.status == 200 and retry.body["workflow_run"]["_id"] == reserved, retry
    assert (again.body, again.headers["Idempotent-Replayed"]) == (retry.body, "true")
    assert run_ids(services) == [reserved]


def test_a_retry_after_the_deletion_replays_the_stored_answer_and_starts_nothing(services, caller):
    # Given a start answered (its answer stored with the key), then its run deleted
    workflow_id = make_workflow(caller)
    first = post(caller, {"workflow_id": workflow_id})
    assert first.status == 200, first
    assert delete(caller, first.body["workflow_run"]["_id"]).status == 200
    # When the client retries (it never received the answer)
    retry = post(caller, {"workflow_id": workflow_id})
    # Then it gets the first answer again, as any retry with the key does, and no run is made again
    assert (retry.status, retry.body, retry.headers["Idempotent-Replayed"]) == (first.status, first.body, "true")
    assert run_ids(services) == []


def test_deleting_another_run_does_not_refuse_a_retried_start(services, caller, monkeypatch):
    # Given a start whose answer was lost, and the user's delete of another run of the team
    workflow_id = make_workflow(caller)
    other = post(caller, {"workflow_id": workflow_id}, key=None).body["workflow_run"]["_id"]
    run_id = start_dying_before_its_answer_is_stored(services, caller, workflow_id, monkeypatch)
    assert delete(caller, other).status == 200
    # When the client retries
    retry = post(caller, {"workflow_id": workflow_id})
    # Then its answer is its own run, which still exists
    assert retry.status == 200 and retry.body["workflow_run"]["_id"] == run_id, retry
    assert run_ids(services) == [run_id]


def test_once_the_key_expired_the_same_request_starts_a_new_run(services, caller, clock, monkeypatch):
    workflow_id = make_workflow(caller)
    run_id = start_dying_before_its_answer_is_stored(services, caller, workflow_id, monkeypatch)
    assert delete(caller, run_id).status == 200
    clock.advance(hours=24, seconds=1)
    later = post(caller, {"workflow_id": workflow_id})
    assert later.status == 200 and later.body["workflow_run"]["_id"] != run_id, later
    assert run_ids(services) == [later.body["workflow_run"]["_id"]]


def test_only_a_retry_asks_whether_its_run_was_removed_and_only_a_delete_remembers_one(services, caller, monkeypatch):
    # Given the removals of runs, watched
    removals = services.runs.removals
    asked, remembered = [], []
    was_removed, remember = removals.was_removed, removals.remember
    monkeypatch.setattr(removals, "was_removed", lambda run_id: asked.append(run_id) or was_removed(run_id))
    monkeypatch.setattr(removals, "remember", lambda run_id: remembered.append(run_id) or remember(run_id))
    # When a keyed start is answered, then a keyed command and an execute turn run
    workflow_id = make_workflow(caller)
    run_id = post(caller, {"workflow_id": workflow_id}).body["workflow_run"]["_id"]
    post(caller, {"command": "stop", "workflow_run_id": run_id}, key="stop-1")
    execute = {"run_input": {"command": "start"}}
    assert call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body=execute).status == 200
    # Then nothing asked or remembered a removal: a first request's id is fresh
    assert (asked, remembered) == ([], [])
    # And deleting the run remembers it, which is all a later keyed retry reads
    assert delete(caller, run_id).status == 200
    assert (asked, remembered) == ([], [run_id])
