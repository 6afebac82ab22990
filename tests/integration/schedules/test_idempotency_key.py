"""The Idempotency-Key header on the create routes: one-time and recurring (/workflows/v1) and /api/v1/schedules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.clock import T0
from tests.integration.schedules.conftest import count, create_workflow, iso
from tests.support.api import Reply, call

KEY = "retry-3f1c9a"


@dataclass(frozen=True)
class CreateRoute:
    name: str
    collection: str
    id_field: str
    validation_status: int
    workflow_in_path: bool

    def post(self, caller, workflow_id: str, key: str | None = KEY, **changes: Any) -> Reply:
        headers = {} if key is None else {"Idempotency-Key": key}
        path = {"workflow_id": workflow_id} if self.workflow_in_path else None
        return call(self.name, caller=caller, path=path, body=self.body(workflow_id, **changes), headers=headers)

    def body(self, workflow_id: str, **changes: Any) -> dict[str, Any]:
        if self.name == "create_workflow_schedule":
            return {"scheduled_time": iso(T0 + timedelta(days=1)), **changes}
        if self.name == "create_recurring_schedule":
            return {"cron_expression": "0 9 * * *", "timezone": "UTC", **changes}
        return {"workflowId": workflow_id, "cronExpression": "0 9 * * *", "timezone": "UTC", **changes}

    def different(self) -> dict[str, Any]:
        if self.name == "create_workflow_schedule":
            return {"scheduled_time": iso(T0 + timedelta(days=2))}
        return (
            {"cronExpression": "0 10 * * *"}
            if self.name == "api_create_schedule"
            else {"cron_expression": "0 10 * * *"}
        )

    def service(self, services):
        return services.schedules.one_time if self.name == "create_workflow_schedule" else services.schedules.recurring


ONE_TIME = CreateRoute("create_workflow_schedule", "workflow_schedules", "_id", 422, True)
RECURRING = CreateRoute("create_recurring_schedule", "recurring_schedules", "_id", 422, True)
CRON_API = CreateRoute("api_create_schedule", "recurring_schedules", "id", 400, False)
ROUTES = pytest.mark.parametrize("route", [ONE_TIME, RECURRING, CRON_API], ids=lambda route: route.name)


class Killed(BaseException):
    """The process dying mid-request: no handler code after it runs, nothing is undone."""


def dedupe_record(services, caller, route: CreateRoute, key: str = KEY) -> dict[str, Any]:
    record_id = f"idempotency:{caller.team_id}:{route.name}:{key}"
    return services.core.database.raw["dedupe_records"].find_one({"_id": record_id})


@ROUTES
def test_a_retry_with_the_same_key_answers_the_first_answer_and_creates_nothing(
    services, caller, workflow, clock, route
):
    # Given a create with an Idempotency-Key
    first = route.post(caller, workflow["_id"])
    assert first.status in (200, 201), first
    assert "Idempotent-Replayed" not in first.headers
    # When the client retries it, the same request with the same key, an hour later
    clock.advance(minutes=60)
    retry = route.post(caller, workflow["_id"])
    # Then it gets the first answer again, status and body, marked as a replay, and nothing new exists
    assert (retry.status, retry.body) == (first.status, first.body)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert count(services, route.collection) == 1
    assert services.schedules.scheduler.names() != [] and len(services.schedules.scheduler.names()) == 1


@ROUTES
def test_the_same_key_with_a_different_body_is_refused_naming_the_header(services, caller, workflow, route):
    # Given a create with an Idempotency-Key
    assert route.post(caller, workflow["_id"]).status in (200, 201)
    # When the key is sent again with another request
    reply = route.post(caller, workflow["_id"], **route.different())
    # Then it is refused, naming the header, and nothing is created
    assert reply.status == route.validation_status, reply
    if route is CRON_API:
        assert (
            reply.body["code"] == "VALIDATION_ERROR" and "different request" in reply.body["details"]["Idempotency-Key"]
        )
    else:
        (problem,) = reply.body["detail"]
        assert problem["loc"] == ["header", "Idempotency-Key"] and "different request" in problem["msg"]
    assert count(services, route.collection) == 1


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("k" * 256, "at most 255 characters"),
        ("ключ", "printable ASCII"),
        ("tab\there", "printable ASCII"),
        ("nul\x00here", "printable ASCII"),
        ("", "empty"),
    ],
    ids=["256-chars", "non-ascii", "control-char", "nul", "empty"],
)
@pytest.mark.parametrize("route", [ONE_TIME, CRON_API], ids=lambda route: route.name)
def test_a_key_that_is_not_1_to_255_printable_ascii_is_refused_naming_the_header(
    services, caller, workflow, route, key, reason
):
    reply = route.post(caller, workflow["_id"], key=key)
    assert reply.status == route.validation_status, reply
    if route is CRON_API:
        assert reason in reply.body["details"]["Idempotency-Key"]
    else:
        (problem,) = reply.body["detail"]
        assert problem["loc"] == ["header", "Idempotency-Key"] and reason in problem["msg"]
    assert count(services, route.collection) == 0


def test_a_key_of_exactly_255_printable_characters_is_accepted(services, caller, workflow):
    key = "~ !" + "a" * 252
    assert ONE_TIME.post(caller, workflow["_id"], key=key).status == 200


@ROUTES
def test_a_crash_between_the_reservation_and_the_create_then_a_retry_converges_to_one_schedule(
    services, caller, workflow, route, monkeypatch
):
    # Given a first attempt killed after reserving its key, before the create wrote anything
    service = route.service(services)
    real_create = service.create

    def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(service, "create", killed)
    with pytest.raises(Killed):
        route.post(caller, workflow["_id"])
    reserved = dedupe_record(services, caller, route)
    assert reserved["state"] == "reserved" and count(services, route.collection) == 0
    # When the client retries
    monkeypatch.setattr(service, "create", real_create)
    retry = route.post(caller, workflow["_id"])
    # Then the retry creates exactly one schedule, with the id the first attempt reserved
    assert retry.status in (200, 201), retry
    assert retry.body[route.id_field] == reserved["target_id"]
    assert count(services, route.collection) == 1
    assert len(services.schedules.scheduler.names()) == 1
    # And a further retry answers the same
    assert route.post(caller, workflow["_id"]).body == retry.body


@ROUTES
def test_a_crash_after_the_insert_then_a_retry_converges_to_one_schedule(
    services, caller, workflow, route, monkeypatch
):
    # Given a first attempt killed after inserting the schedule, before it answered
    repository = (
        services.schedules.one_time_repository if route is ONE_TIME else services.schedules.recurring_repository
    )
    real_insert = repository.insert

    def insert_then_die(schedule):
        real_insert(schedule)
        raise Killed

    monkeypatch.setattr(repository, "insert", insert_then_die)
    with pytest.raises(Killed):
        route.post(caller, workflow["_id"])
    monkeypatch.setattr(repository, "insert", real_insert)
    # When the client retries
    retry = route.post(caller, workflow["_id"])
    # Then the schedule the first attempt inserted is the answer, and there is one
    assert retry.status in (200, 201), retry
    assert retry.body[route.id_field] == dedupe_record(services, caller, route)["target_id"]
    assert count(services, route.collection) == 1


@ROUTES
def test_key_reuse_by_another_team_is_independent(services, caller, other_caller, workflow, route):
    # Given team A created a schedule with a key
    mine = route.post(caller, workflow["_id"])
    # When team B uses the same key for its own workflow
    theirs_workflow = create_workflow(other_caller)
    theirs = route.post(other_caller, theirs_workflow["_id"])
    # Then B's request is served on its own: a second schedule, B's
    assert theirs.status == mine.status and theirs.body[route.id_field] != mine.body[route.id_field]
    assert count(services, route.collection) == 2
    assert count(services, route.collection, {"team_id": other_caller.team_id}) == 1


def test_the_same_key_on_another_create_route_is_independent(services, caller, workflow):
    one_time = ONE_TIME.post(caller, workflow["_id"])
    recurring = RECURRING.post(caller, workflow["_id"])
    assert (one_time.status, recurring.status) == (200, 200)
    assert count(services, "workflow_schedules") == count(services, "recurring_schedules") == 1


def test_a_request_refused_before_writing_keeps_no_answer_so_the_fixed_request_can_use_the_key(
    services, caller, workflow
):
    # Given a create refused because its workflow does not exist
    missing = ONE_TIME.post(caller, "65f1a2b3c4d5e6f708192a3b")
    assert missing.status == 404
    # When the client fixes the request and sends it with the same key
    fixed = ONE_TIME.post(caller, workflow["_id"])
    # Then it is served
    assert fixed.status == 200 and count(services, "workflow_schedules") == 1


def test_without_a_key_every_request_creates(services, caller, workflow):
    assert ONE_TIME.post(caller, workflow["_id"], key=None).status == 200
    assert ONE_TIME.post(caller, workflow["_id"], key=None).status == 200
    assert count(services, "workflow_schedules") == 2


def test_a_key_is_remembered_for_the_window_only(services, caller, workflow, clock):
    # Given a create with a key
    first = ONE_TIME.post(caller, workflow["_id"], scheduled_time=iso(T0 + timedelta(days=3)))
    # When the same request comes back after the 24 h window
    clock.advance(hours=24, seconds=1)
    later = ONE_TIME.post(caller, workflow["_id"], scheduled_time=iso(T0 + timedelta(days=3)))
    # Then it is a new request: a second schedule
    assert later.status == 200 and later.body["_id"] != first.body["_id"]
    assert count(services, "workflow_schedules") == 2


def test_the_openapi_document_describes_the_optional_header_on_every_create_route(services):
    document = call("get_openapi").body
    operations = {
        operation["operationId"]: operation for methods in document["paths"].values() for operation in methods.values()
    }
    for name in ("create_workflow_schedule", "create_recurring_schedule", "api_create_schedule"):
        (header,) = [p for p in operations[name]["parameters"] if p["in"] == "header"]
        assert (header["name"], header["required"]) == ("Idempotency-Key", False)
        assert header["schema"]["maxLength"] == 255 and "24 h" in header["description"]
    assert any(p["in"] == "header" for p in operations["start_or_resume_workflow_run"]["parameters"])
    assert not any(p["in"] == "header" for p in operations["create_workflow"]["parameters"])
