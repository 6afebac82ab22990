"""dst_policy on both recurring APIs and the preview, and the compensating at() schedules that are part
of a schedule's desired AWS state: created with it, replaced on update, removed on disable and delete."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.integration.schedules.dst_driver import create_recurring
from tests.support.api import call
from workflow_service.schedules.dst import compensation_definitions

NY = "America/New_York"
OCTOBER = datetime(2026, 10, 15, tzinfo=UTC)
FIRST, SECOND = "dst-{}-20261101T053000Z", "dst-{}-20261101T063000Z"


def compensations(services) -> list[str]:
    return [name for name in services.schedules.scheduler.names() if name.startswith("dst-")]


def stored(services, schedule_id: str) -> dict:
    from bson import ObjectId

    return services.core.database.raw["recurring_schedules"].find_one({"_id": ObjectId(schedule_id)})


def test_the_policy_round_trips_and_defaults_to_skip_first(services, caller, workflow, clock):
    clock.current = OCTOBER
    default = create_recurring(caller, workflow["_id"], "0 9 * * *", NY, {})
    assert default["dst_policy"] == {"spring_forward": "skip", "fall_back": "first"}
    chosen = create_recurring(
        caller, workflow["_id"], "30 1 * * *", NY, {"spring_forward": "shift", "fall_back": "both"}
    )
    assert chosen["dst_policy"] == {"spring_forward": "shift", "fall_back": "both"}
    got = call("get_recurring_schedule", caller=caller, path={"schedule_id": chosen["_id"]})
    assert got.body["dst_policy"] == chosen["dst_policy"]
    assert stored(services, chosen["_id"])["dst_policy"] == chosen["dst_policy"]
    camel = call("api_get_schedule", caller=caller, path={"id": chosen["_id"]})
    assert camel.status == 200, camel
    assert camel.body["dstPolicy"] == {"springForward": "shift", "fallBack": "both"}


def test_next_run_follows_the_policy(caller, workflow, clock):
    clock.current = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)  # between the two 01:30s
    second = create_recurring(caller, workflow["_id"], "30 1 * * *", NY, {"fall_back": "second"})
    assert second["next_run"] == "2026-11-01T06:30:00Z"
    first_workflow = call("create_workflow", caller=caller, body={"name": "other"}).body["workflow"]
    first = create_recurring(caller, first_workflow["_id"], "30 1 * * *", NY, {"fall_back": "first"})
    assert first["next_run"] == "2026-11-02T06:30:00Z"


def test_the_camel_case_api_accepts_and_answers_dst_policy(caller, workflow, clock):
    clock.current = OCTOBER
    body = {"workflowId": workflow["_id"], "cronExpression": "30 1 * * *", "timezone": NY}
    reply = call("api_create_schedule", caller=caller, body={**body, "dstPolicy": {"fallBack": "second"}})
    assert reply.status == 201, reply
    assert reply.body["dstPolicy"] == {"springForward": "skip", "fallBack": "second"}
    assert reply.body["nextRun"] == "2026-10-15T01:30:00-04:00"
    updated = call(
        "api_update_schedule",
        caller=caller,
        path={"id": reply.body["id"]},
        body={"dstPolicy": {"springForward": "shift"}},
    )
    assert updated.status == 200, updated
    assert updated.body["dstPolicy"] == {"springForward": "shift", "fallBack": "first"}


def test_a_bad_policy_is_a_400_naming_the_field_and_nothing_is_written(services, caller, workflow):
    reply = call(
        "create_recurring_schedule",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"cron_expression": "30 1 * * *", "dst_policy": {"fall_back": "third"}},
    )
    assert reply.status in (400, 422), reply
    assert reply.body["detail"][0]["loc"][:3] == ["body", "dst_policy", "fall_back"]
    camel = call(
        "api_create_schedule",
        caller=caller,
        body={"workflowId": workflow["_id"], "cronExpression": "30 1 * * *", "dstPolicy": {"springForward": "later"}},
    )
    assert camel.status == 400, camel
    assert "dstPolicy" in str(camel.body)
    assert services.core.database.raw["recurring_schedules"].count_documents({}) == 0


def test_the_preview_shows_occurrences_with_local_times_and_dst_tags(caller):
    reply = call(
        "preview_schedule",
        caller=caller,
        body={
            "cron_expression": "30 1 * * *",
            "timezone": NY,
            "start": "2026-10-31T12:00:00Z",
            "count": 3,
            "dst_policy": {"fall_back": "both"},
        },
    )
    assert reply.status == 200, reply
    assert reply.body["fire_times"] == ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]
    assert reply.body["occurrences"] == [
        {"utc": "2026-11-01T05:30:00Z", "local": "2026-11-01T01:30:00-04:00", "dst": "repeated_first"},
        {"utc": "2026-11-01T06:30:00Z", "local": "2026-11-01T01:30:00-05:00", "dst": "repeated_second"},
        {"utc": "2026-11-02T06:30:00Z", "local": "2026-11-02T01:30:00-05:00", "dst": None},
    ]


def test_compensating_schedules_follow_the_schedule_through_update_disable_enable_and_delete(
    services, caller, workflow, clock
):
    # Given a 01:30 New York schedule written 17 days before the November transition (fall back: both)
    clock.current = OCTOBER
    created = create_recurring(caller, workflow["_id"], "30 1 * * *", NY, {"fall_back": "both"})
    schedule_id = created["_id"]
    # Then AWS holds an at() schedule per instant the policy wants, carrying the occurrence and generation
    assert compensations(services) == [FIRST.format(schedule_id), SECOND.format(schedule_id)]
    definition = services.schedules.scheduler.get(FIRST.format(schedule_id))
    assert definition.occurrence == datetime(2026, 11, 1, 5, 30, tzinfo=UTC) and definition.generation == 1

    def patch(body: dict) -> dict:
        reply = call("update_recurring_schedule", caller=caller, path={"schedule_id": schedule_id}, body=body)
        assert reply.status == 200, reply
        return reply.body

    # When the policy changes to "second", the first instant's schedule is replaced
    patch({"dst_policy": {"fall_back": "second"}})
    assert compensations(services) == [SECOND.format(schedule_id)]
    assert services.schedules.scheduler.get(SECOND.format(schedule_id)).generation == 2
    # When disabled, none is left; when enabled again, it is back
    patch({"enabled": False})
    assert compensations(services) == []
    patch({"enabled": True})
    assert compensations(services) == [SECOND.format(schedule_id)]
    # When the time moves out of the repeated hour, nothing is needed
    patch({"cron_expression": "30 3 * * *"})
    assert compensations(services) == []
    patch({"cron_expression": "30 1 * * *"})
    # When deleted, the compensating schedule goes with it
    assert call("delete_recurring_schedule", caller=caller, path={"schedule_id": schedule_id}).status == 204
    assert compensations(services) == [] and services.schedules.scheduler.names() == []


def test_the_reaper_deletes_a_compensating_schedule_its_record_no_longer_wants(services, caller, workflow, clock):
    # Given a schedule whose writer died before deleting a compensating schedule of its previous policy
    clock.current = OCTOBER
    created = create_recurring(caller, workflow["_id"], "30 1 * * *", NY, {"fall_back": "second"})
    [leftover] = compensation_definitions(
        created["_id"], [datetime(2026, 11, 1, 5, 30, tzinfo=UTC)], 1, "30 1 * * *", NY
    )
    services.schedules.scheduler.update(leftover)
    assert compensations(services) == [FIRST.format(created["_id"]), SECOND.format(created["_id"])]
    # When the reaper lists the schedule group
    report = services.reaper.service.reap()
    # Then the unwanted one is deleted and the wanted one kept
    assert report["orphans_deleted"] == 1
    assert compensations(services) == [SECOND.format(created["_id"])]


def test_a_backfill_follows_the_dst_policy(services, caller, workflow, clock):
    # Given `30 1 * * *` in New York firing both instants of the repeated 01:30
    clock.current = datetime(2026, 11, 3, tzinfo=UTC)
    created = create_recurring(caller, workflow["_id"], "30 1 * * *", NY, {"fall_back": "both"})
    # When 1 November is backfilled
    reply = call(
        "backfill_recurring_schedule",
        caller=caller,
        path={"schedule_id": created["_id"]},
        body={"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},
    )
    # Then both instants get a run
    assert reply.status == 200, reply
    assert [o["scheduled_time"] for o in reply.body["occurrences"]] == ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"]
