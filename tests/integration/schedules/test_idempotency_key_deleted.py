"""A create retried with its Idempotency-Key after the user deleted what it created makes nothing again.

The retry continues the first request's create with the schedule id the key reserved (so that a crash
anywhere in the create converges on one schedule). When the first answer was stored, the retry replays
it, as every key's retry does (runs' included). When it was not (the first request died after creating
the schedule), the schedule itself is the answer; once the user has deleted it, the retry answers 409,
saying so, rather than making it again: the key made that schedule, and stands for it until it expires.
"""

from __future__ import annotations

import pytest

from tests.integration.schedules.conftest import count
from tests.integration.schedules.crashes import SimulatedCrash, crash_before
from tests.integration.schedules.test_idempotency_key import (
    CRON_API,
    ONE_TIME,
    RECURRING,
    CreateRoute,
    Killed,
    dedupe_record,
)
from tests.support.api import Reply, call

RECURRING_ROUTES = pytest.mark.parametrize("route", [RECURRING, CRON_API], ids=lambda route: route.name)


def delete(route: CreateRoute, caller, schedule_id: str) -> Reply:
    if route is CRON_API:
        return call("api_delete_schedule", caller=caller, path={"id": schedule_id})
    return call("delete_recurring_schedule", caller=caller, path={"schedule_id": schedule_id})


def get(route: CreateRoute, caller, schedule_id: str) -> Reply:
    if route is ONE_TIME:
        return call("get_workflow_schedule", caller=caller, path={"schedule_id": schedule_id})
    if route is CRON_API:
        return call("api_get_schedule", caller=caller, path={"id": schedule_id})
    return call("get_recurring_schedule", caller=caller, path={"schedule_id": schedule_id})


def post_dying_before_its_answer_is_stored(services, caller, workflow, route: CreateRoute, monkeypatch) -> str:
    """The first request creates its schedule, then dies before storing its answer; returns the id."""
    records = services.core.dedupe_records

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(records, "mark_created", die)
    with pytest.raises(Killed):
        route.post(caller, workflow["_id"])
    monkeypatch.undo()
    schedule_id = dedupe_record(services, caller, route)["target_id"]
    assert get(route, caller, schedule_id).status == 200
    return schedule_id


def assert_refused_as_deleted(reply: Reply, route: CreateRoute, schedule_id: str) -> None:
    assert reply.status == 409, reply
    message = reply.body["error"] if route is CRON_API else reply.body["detail"]
    assert schedule_id in message and "deleted" in message, message


@RECURRING_ROUTES
def test_a_retry_after_the_created_schedule_was_deleted_does_not_make_it_again(
    services, caller, workflow, route, monkeypatch
):
    # Given a create whose answer was lost (the request died after creating the schedule)
    schedule_id = post_dying_before_its_answer_is_stored(services, caller, workflow, route, monkeypatch)
    # And the user, who saw the schedule in a listing, deleted it
    assert delete(route, caller, schedule_id).status in (200, 204)
    # When the client retries the create with the same key
    retry = route.post(caller, workflow["_id"])
    # Then it is refused, naming the deleted schedule, and nothing is made again, in MongoDB or in AWS
    assert_refused_as_deleted(retry, route, schedule_id)
    assert count(services, route.collection) == 0
    assert services.schedules.scheduler.names() == []
    assert get(route, caller, schedule_id).status == 404
    # And every further retry answers the same
    assert_refused_as_deleted(route.post(caller, workflow["_id"]), route, schedule_id)


@RECURRING_ROUTES
def test_a_retry_after_a_crashed_create_whose_schedule_was_deleted_does_not_finish_that_create(
    services, caller, workflow, route, monkeypatch
):
    # Given a first attempt that died after inserting its schedule, before CreateSchedule (AWS holds nothing)
    repository = services.schedules.recurring_repository
    real_insert = repository.insert

    def insert_then_die(schedule):
        real_insert(schedule)
        raise Killed

    monkeypatch.setattr(repository, "insert", insert_then_die)
    with pytest.raises(Killed):
        route.post(caller, workflow["_id"])
    monkeypatch.undo()
    schedule_id = dedupe_record(services, caller, route)["target_id"]
    # And the user deleted that schedule
    assert delete(route, caller, schedule_id).status in (200, 204)
    # When the client retries
    retry = route.post(caller, workflow["_id"])
    # Then the retry does not complete the deleted create
    assert_refused_as_deleted(retry, route, schedule_id)
    assert count(services, route.collection) == 0 and services.schedules.scheduler.names() == []


@RECURRING_ROUTES
def test_a_retry_while_the_delete_still_owes_aws_its_delete_is_refused_as_deleted(
    services, caller, workflow, route, monkeypatch
):
    # Given a create whose answer was lost, and a delete of its schedule that died before DeleteSchedule
    schedule_id = post_dying_before_its_answer_is_stored(services, caller, workflow, route, monkeypatch)
    with crash_before(services.schedules.scheduler, "delete"), pytest.raises(SimulatedCrash):
        delete(route, caller, schedule_id)
    # When the client retries the create
    retry = route.post(caller, workflow["_id"])
    # Then it is refused as deleted (the tombstone is not given back)
    assert_refused_as_deleted(retry, route, schedule_id)
    assert get(route, caller, schedule_id).status == 404


@RECURRING_ROUTES
def test_a_retry_after_the_deletion_replays_the_stored_answer_and_makes_nothing(services, caller, workflow, route):
    # Given a create answered (the answer stored with the key), then its schedule deleted
    first = route.post(caller, workflow["_id"])
    assert first.status in (200, 201), first
    assert delete(route, caller, first.body[route.id_field]).status in (200, 204)
    # When the client retries (it never received the answer)
    retry = route.post(caller, workflow["_id"])
    # Then it gets the first answer again, as any retry with the key does, and nothing is made again
    assert (retry.status, retry.body, retry.headers["Idempotent-Replayed"]) == (first.status, first.body, "true")
    assert count(services, route.collection) == 0 and services.schedules.scheduler.names() == []


def test_a_one_time_retry_after_its_schedule_was_cancelled_answers_it_cancelled(
    services, caller, workflow, monkeypatch
):
    # Given a one-time create whose answer was lost, and the user's cancel of that schedule (the record stays)
    schedule_id = post_dying_before_its_answer_is_stored(services, caller, workflow, ONE_TIME, monkeypatch)
    assert call("cancel_workflow_schedule", caller=caller, path={"schedule_id": schedule_id}).status in (200, 204)
    # When the client retries the create
    retry = ONE_TIME.post(caller, workflow["_id"])
    # Then the answer is that schedule, as it is now: cancelled, and nothing is pending or in AWS
    assert retry.status == 200 and retry.body["_id"] == schedule_id and retry.body["status"] == "cancelled", retry
    assert count(services, "workflow_schedules") == 1 and services.schedules.scheduler.names() == []


@RECURRING_ROUTES
def test_once_the_key_expired_the_same_request_creates_a_new_schedule(
    services, caller, workflow, clock, route, monkeypatch
):
    schedule_id = post_dying_before_its_answer_is_stored(services, caller, workflow, route, monkeypatch)
    assert delete(route, caller, schedule_id).status in (200, 204)
    clock.advance(hours=24, seconds=1)
    later = route.post(caller, workflow["_id"])
    assert later.status in (200, 201) and later.body[route.id_field] != schedule_id, later
    assert count(services, route.collection) == 1
