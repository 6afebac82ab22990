"""The EventBridge Scheduler adapter under moto, alone and behind the schedule handlers.

moto stores what it is given without validating expressions, so these tests assert exactly what
was stored (via GetSchedule); validation is the domain's job and is tested with the handlers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.integration.schedules.conftest import count, iso
from tests.support.api import call
from workflow_service.adapters.aws.scheduler import EventBridgeScheduler
from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.schedules import SCHEDULED_TIME_PLACEHOLDER, ScheduleKind
from workflow_service.ports import ScheduleDefinition
from workflow_service.settings import Settings
from workflow_service.settings.schedules import ScheduleSettings

REGION = "us-east-1"
GROUP = "workflow-schedules-test"
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:schedule-target"
ROLE = "arn:aws:iam::123456789012:role/scheduler-invokes-target"
DLQ = "arn:aws:sqs:us-east-1:123456789012:schedule-dlq"
ENVIRONMENT = {
    "SCHEDULE_GROUP_NAME": GROUP,
    "SCHEDULE_TARGET_ARN": TARGET,
    "SCHEDULER_ROLE_ARN": ROLE,
    "SCHEDULE_DLQ_ARN": DLQ,
    "SCHEDULE_RETRY_ATTEMPTS": "5",
    "SCHEDULE_MAX_EVENT_AGE_SECONDS": "7200",
}
SCHEDULE_ID = "65f1a2b3c4d5e6f708192a3b"


@pytest.fixture
def aws(mocked_aws: str) -> Iterator[Any]:
    client = boto3.client("scheduler", region_name=REGION)
    client.create_schedule_group(Name=GROUP)
    yield client


@pytest.fixture
def settings(aws) -> Settings:
    """The services' settings: local store, but EventBridge (moto) because a target ARN is set."""
    return Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true", "STAGE": "test", **ENVIRONMENT})


@pytest.fixture
def adapter(aws) -> EventBridgeScheduler:
    return EventBridgeScheduler(aws, ScheduleSettings.model_validate(ENVIRONMENT))


def stored(aws, name: str) -> dict[str, Any]:
    return aws.get_schedule(Name=name, GroupName=GROUP)


def aws_schedule_names(aws) -> list[str]:
    return [s["Name"] for s in aws.list_schedules(GroupName=GROUP)["Schedules"]]


def one_time(fire_at: datetime) -> ScheduleDefinition:
    return ScheduleDefinition(
        name=f"once-{SCHEDULE_ID}", schedule_id=SCHEDULE_ID, kind=ScheduleKind.ONE_TIME, fire_at=fire_at
    )


def test_a_one_time_schedule_is_at_in_utc_deleted_after_completion_with_retries_and_dlq(aws, adapter):
    arn = adapter.create(one_time(datetime(2030, 7, 28, 18, 26, 0, tzinfo=UTC)))
    schedule = stored(aws, f"once-{SCHEDULE_ID}")
    assert arn == schedule["Arn"] == adapter.arn_for(f"once-{SCHEDULE_ID}")
    assert schedule["ScheduleExpression"] == "at(2030-07-28T18:26:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"} and schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"] == TARGET and target["RoleArn"] == ROLE
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 7200}
    assert target["DeadLetterConfig"] == {"Arn": DLQ}
    assert json.loads(target["Input"]) == {
        "schedule_id": SCHEDULE_ID,
        "kind": "one_time",
        "scheduled_time": SCHEDULED_TIME_PLACEHOLDER,
    }


def test_a_recurring_schedule_is_the_exact_cron_translation_in_its_zone(aws, adapter):
    definition = ScheduleDefinition(
        name=f"cron-{SCHEDULE_ID}",
        schedule_id=SCHEDULE_ID,
        kind=ScheduleKind.RECURRING,
        cron_expression="0 9 * * MON-FRI",
        timezone="America/New_York",
        enabled=False,
    )
    adapter.create(definition)
    schedule = stored(aws, f"cron-{SCHEDULE_ID}")
    assert schedule["ScheduleExpression"] == "cron(0 9 ? * 2-6 *)"
    assert schedule["ScheduleExpressionTimezone"] == "America/New_York"
    assert schedule["State"] == "DISABLED" and schedule["ActionAfterCompletion"] == "NONE"
    assert json.loads(schedule["Target"]["Input"])["kind"] == "recurring"


def test_update_of_a_missing_schedule_costs_an_update_then_a_create(aws, adapter):
    # (What update and delete do is the port's contract: tests/contract/test_scheduler.py.)
    adapter.update(one_time(datetime(2030, 3, 3, tzinfo=UTC)))
    assert stored(aws, f"once-{SCHEDULE_ID}")["ScheduleExpression"] == "at(2030-03-03T00:00:00)"
    assert adapter.calls == {"UpdateSchedule": 1, "CreateSchedule": 1}


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException", "InternalServerException"])
def test_aws_errors_become_upstream_unavailable_naming_the_code(aws, adapter, code):
    with Stubber(aws) as stubber:
        stubber.add_client_error("create_schedule", service_error_code=code, http_status_code=400)
        with pytest.raises(UpstreamUnavailable) as raised:
            adapter.create(one_time(datetime(2030, 1, 1, tzinfo=UTC)))
    assert code in raised.value.message and "CreateSchedule" in raised.value.message


def test_missing_configuration_is_a_clear_error(aws):
    adapter = EventBridgeScheduler(aws, ScheduleSettings())
    with pytest.raises(UpstreamUnavailable, match="SCHEDULE_TARGET_ARN"):
        adapter.create(one_time(datetime(2030, 1, 1, tzinfo=UTC)))


# -- behind the handlers ----------------------------------------------------------------------------


def test_create_update_and_cancel_drive_the_aws_schedule(services, aws, caller, workflow, clock):
    assert isinstance(services.schedules.scheduler, EventBridgeScheduler)
    when = clock.now() + timedelta(hours=1)
    created = call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"scheduled_time": iso(when)},
    ).body
    assert created["scheduler_arn"] == stored(aws, created["schedule_name"])["Arn"]
    later = when + timedelta(days=1)
    call(
        "update_workflow_schedule",
        caller=caller,
        path={"schedule_id": created["_id"]},
        body={"scheduled_time": iso(later)},
    )
    expected = f"at({later.strftime('%Y-%m-%dT%H:%M:%S')})"
    assert stored(aws, created["schedule_name"])["ScheduleExpression"] == expected
    assert call("cancel_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]}).status == 204
    assert aws_schedule_names(aws) == []


class LostAnswerClient:
    """Creates the schedule in AWS, then fails as if the answer never arrived."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.meta = client.meta

    def create_schedule(self, **request: Any) -> dict[str, Any]:
        self._client.create_schedule(**request)
        raise ClientError({"Error": {"Code": "InternalServerException", "Message": "timeout"}}, "CreateSchedule")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_an_aws_failure_on_create_leaves_nothing_and_a_retry_converges(services, aws, caller, workflow, clock):
    body = {"scheduled_time": iso(clock.now() + timedelta(hours=1))}
    path = {"workflow_id": workflow["_id"]}
    # Given EventBridge throttles the create
    with Stubber(services.schedules.scheduler._client) as stubber:
        stubber.add_client_error("create_schedule", service_error_code="ThrottlingException", http_status_code=400)
        stubber.add_client_error(
            "delete_schedule", service_error_code="ResourceNotFoundException", http_status_code=404
        )
        reply = call("create_workflow_schedule", caller=caller, path=path, body=body)
    # Then the client gets a clear 503 and nothing exists in MongoDB or in AWS
    assert reply.status == 503, reply
    assert "ThrottlingException" in reply.body["detail"] and reply.headers["Retry-After"]
    assert count(services, "workflow_schedules") == 0 and aws_schedule_names(aws) == []
    # And when AWS created it but the answer was lost, the compensation removes it too
    services.schedules.scheduler._client = LostAnswerClient(aws)
    reply = call("create_workflow_schedule", caller=caller, path=path, body=body)
    assert reply.status == 503
    assert count(services, "workflow_schedules") == 0 and aws_schedule_names(aws) == []
    # When the client retries with AWS healthy, it converges to one schedule
    services.schedules.scheduler._client = aws
    retried = call("create_workflow_schedule", caller=caller, path=path, body=body)
    assert retried.status == 200
    assert count(services, "workflow_schedules") == 1 and aws_schedule_names(aws) == [retried.body["schedule_name"]]


def test_an_aws_failure_on_update_keeps_the_previous_time(services, aws, caller, workflow, clock):
    created = call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"scheduled_time": iso(clock.now() + timedelta(hours=1))},
    ).body
    with Stubber(services.schedules.scheduler._client) as stubber:
        stubber.add_client_error("update_schedule", service_error_code="ThrottlingException", http_status_code=400)
        reply = call(
            "update_workflow_schedule",
            caller=caller,
            path={"schedule_id": created["_id"]},
            body={"scheduled_time": iso(clock.now() + timedelta(days=3))},
        )
    assert reply.status == 503
    assert call("get_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]}).body == created
    assert stored(aws, created["schedule_name"])["ScheduleExpression"] == f"at({created['scheduled_time'][:-1]})"


def test_recurring_create_failure_and_disable_failure_change_nothing(services, aws, caller, workflow):
    body = {"workflowId": workflow["_id"], "cronExpression": "*/15 * * * *", "timezone": "Europe/London"}
    with Stubber(services.schedules.scheduler._client) as stubber:
        stubber.add_client_error("create_schedule", service_error_code="ThrottlingException", http_status_code=400)
        stubber.add_client_error(
            "delete_schedule", service_error_code="ResourceNotFoundException", http_status_code=404
        )
        failed = call("api_create_schedule", caller=caller, body=body)
    assert failed.status == 503 and failed.body["code"] == "SERVICE_UNAVAILABLE"
    assert count(services, "recurring_schedules") == 0 and aws_schedule_names(aws) == []
    created = call("api_create_schedule", caller=caller, body=body).body
    name = f"cron-{created['id']}"
    assert stored(aws, name)["ScheduleExpression"] == "cron(0/15 * * * ? *)"
    with Stubber(services.schedules.scheduler._client) as stubber:
        stubber.add_client_error("update_schedule", service_error_code="ThrottlingException", http_status_code=400)
        assert call("api_disable_schedule", caller=caller, path={"id": created["id"]}).status == 503
    assert call("api_get_schedule", caller=caller, path={"id": created["id"]}).body["enabled"] is True
    assert stored(aws, name)["State"] == "ENABLED"
    assert call("api_disable_schedule", caller=caller, path={"id": created["id"]}).status == 200
    assert stored(aws, name)["State"] == "DISABLED"


def test_bad_inputs_write_nothing_in_mongodb_or_in_aws(services, aws, caller, other_caller, workflow, clock):
    from tests.integration.schedules.conftest import create_workflow, finish_first_turn, fire

    foreign = create_workflow(other_caller)
    future = iso(clock.now() + timedelta(hours=1))
    refused = [
        call(
            "create_workflow_schedule",
            caller=caller,
            path={"workflow_id": workflow["_id"]},
            body={"scheduled_time": iso(clock.now() - timedelta(seconds=1))},
        ),
        call(
            "create_workflow_schedule",
            caller=caller,
            path={"workflow_id": workflow["_id"]},
            body={"scheduled_time": "2030-06-01T09:00:00Z", "version": 99},
        ),
        call(
            "create_workflow_schedule",
            caller=caller,
            path={"workflow_id": foreign["_id"]},
            body={"scheduled_time": future},
        ),
        call(
            "create_recurring_schedule",
            caller=caller,
            path={"workflow_id": workflow["_id"]},
            body={"cron_expression": "0 9 * 13 *"},
        ),
        call(
            "create_recurring_schedule",
            caller=caller,
            path={"workflow_id": workflow["_id"]},
            body={"cron_expression": "0 9 * * *", "timezone": "Europe/Atlantis"},
        ),
        call("api_create_schedule", caller=caller, body={"workflowId": foreign["_id"], "cronExpression": "0 9 * * *"}),
    ]
    assert [reply.status for reply in refused] == [422, 422, 404, 422, 422, 400]
    assert count(services, "workflow_schedules") == count(services, "recurring_schedules") == 0
    assert aws_schedule_names(aws) == []

    # A schedule that ran to completion cannot be changed: 409, and neither store moves
    created = call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"scheduled_time": future, "run_input": {"dynamic_variables": {"reportType": "x"}}},
    ).body
    clock.advance(hours=1)
    finish_first_turn(services, fire(created["_id"], "one_time", created["scheduled_time"])["run_id"])
    completed = call("get_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]}).body
    assert completed["status"] == "completed", completed["error_message"]
    aws_before = stored(aws, created["schedule_name"])["ScheduleExpression"]
    update = call(
        "update_workflow_schedule",
        caller=caller,
        path={"schedule_id": created["_id"]},
        body={"scheduled_time": iso(clock.now() + timedelta(days=1))},
    )
    assert update.status == 409 and "completed" in update.body["detail"]
    assert call("get_workflow_schedule", caller=caller, path={"schedule_id": created["_id"]}).body == completed
    assert stored(aws, created["schedule_name"])["ScheduleExpression"] == aws_before
