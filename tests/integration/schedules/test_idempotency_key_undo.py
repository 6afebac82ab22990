"""A retry with the same Idempotency-Key racing the first request's undo of a failed CreateSchedule: the
answer the key keeps must name a schedule that exists and that EventBridge holds (or will, once swept)."""

from __future__ import annotations

import threading
from typing import Any

from tests.integration.schedules.conftest import count
from tests.integration.schedules.crashes import reap_after_grace
from tests.integration.schedules.test_idempotency_key import ONE_TIME, ROUTES, CreateRoute
from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.schedules import ScheduleKind, schedule_name

CREATED = (200, 201)  # /api/v1/schedules answers 201
THROTTLED = UpstreamUnavailable("EventBridge Scheduler CreateSchedule failed (ThrottlingException)")


def aws_name(route: CreateRoute, schedule_id: str) -> str:
    kind = ScheduleKind.ONE_TIME if route is ONE_TIME else ScheduleKind.RECURRING
    return schedule_name(kind, schedule_id)


def first_create_fails_after(scheduler, during) -> None:
    """The first CreateSchedule runs ``during()`` (a client retry while it is in flight), then fails."""
    real = scheduler.create
    calls: list[Any] = []

    def create(definition):
        if calls:
            return real(definition)
        calls.append(definition)
        during()
        raise THROTTLED

    scheduler.create = create


@ROUTES
def test_a_retry_answered_while_the_first_create_fails_keeps_its_schedule(services, caller, workflow, route):
    # Given a create whose CreateSchedule is slow, then fails; the client retries with the key meanwhile
    scheduler = services.schedules.scheduler
    retries: list[Any] = []
    first_create_fails_after(scheduler, lambda: retries.append(route.post(caller, workflow["_id"])))
    try:
        first = route.post(caller, workflow["_id"])
    finally:
        del scheduler.create
    # Then the retry's answer stands: the first request answers the same schedule instead of undoing it
    [retry] = retries
    assert retry.status in CREATED, retry
    schedule_id = retry.body[route.id_field]
    assert first.status in CREATED and first.body[route.id_field] == schedule_id, first
    # And the schedule exists, EventBridge holds it, and every later retry replays that answer
    assert count(services, route.collection) == 1
    assert scheduler.get(aws_name(route, schedule_id)) is not None
    replay = route.post(caller, workflow["_id"])
    assert replay.status in CREATED and replay.body[route.id_field] == schedule_id


@ROUTES
def test_a_retry_answered_while_aws_refuses_every_push_is_pushed_by_the_sweep(services, caller, workflow, clock, route):
    # Given the same race, with EventBridge refusing the retry's push and the first request's repair too
    scheduler = services.schedules.scheduler
    retries: list[Any] = []

    def refused(definition):
        raise THROTTLED

    def retry_while_aws_is_down() -> None:
        scheduler.update = refused
        retries.append(route.post(caller, workflow["_id"]))

    first_create_fails_after(scheduler, retry_while_aws_is_down)
    try:
        route.post(caller, workflow["_id"])
    finally:
        del scheduler.create, scheduler.update
    [retry] = retries
    assert retry.status in CREATED, retry
    schedule_id = retry.body[route.id_field]
    # When the reaper's sweep runs once EventBridge is back
    reap_after_grace(services, clock)
    # Then the schedule the retry answered with is there, and EventBridge holds it
    assert count(services, route.collection) == 1
    assert scheduler.get(aws_name(route, schedule_id)) is not None


@ROUTES
def test_a_retry_that_finds_the_create_undone_creates_it_afresh(services, caller, workflow, route):
    # Given a retry that has read the first request's record, and waits before taking it on ...
    repository = (
        services.schedules.one_time_repository if route is ONE_TIME else services.schedules.recurring_repository
    )
    real_adopt = repository.adopt
    retry_read, first_undone = threading.Event(), threading.Event()
    retries: list[Any] = []

    def adopt_after_the_undo(schedule_id: str) -> bool:
        retry_read.set()
        assert first_undone.wait(10)
        return real_adopt(schedule_id)

    repository.adopt = adopt_after_the_undo
    retry = threading.Thread(target=lambda: retries.append(route.post(caller, workflow["_id"])))

    def retry_in_flight() -> None:
        retry.start()
        assert retry_read.wait(10)

    scheduler = services.schedules.scheduler
    first_create_fails_after(scheduler, retry_in_flight)
    try:
        # ... while the first request's CreateSchedule fails and it undoes its create
        first = route.post(caller, workflow["_id"])
        first_undone.set()
        retry.join(10)
    finally:
        del scheduler.create, repository.adopt
    # Then the first request failed, and the retry made the schedule again under the same id
    assert first.status == 503, first
    [answer] = retries
    assert answer.status in CREATED, answer
    schedule_id = answer.body[route.id_field]
    assert count(services, route.collection) == 1
    assert scheduler.get(aws_name(route, schedule_id)) is not None
