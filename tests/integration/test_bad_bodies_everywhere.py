"""Every route that takes a body answers a malformed one, or an unknown field, with a 4xx naming the
problem, and writes nothing. Driven by the route table, so a new route is covered the day it lands."""

from __future__ import annotations

import pytest

from tests.support.api import call
from workflow_service.http.routes import route_table

BODY_ROUTES = [route for route in route_table() if route.body]
SOME_ID = "5eb7cf5a86d9755df3a6c593"


def documents(services) -> int:
    return sum(
        services.core.database.raw[name].count_documents({})
        for name in services.core.database.raw.list_collection_names()
    )


def path_for(route) -> dict[str, str]:
    return {name: "1" if name == "version_number" else SOME_ID for name in route.path_parameters}


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda route: route.name)
def test_malformed_json_and_unknown_fields_are_refused_and_write_nothing(services, caller, route):
    expected_status = 400 if route.surface == "schedules_api" else 422
    before = documents(services)

    malformed = call(route.name, caller=caller, path=path_for(route), raw_body="{oops")
    unknown = call(route.name, caller=caller, path=path_for(route), body={"zzz_unknown": 1})

    assert malformed.status == unknown.status == expected_status, (malformed, unknown)
    if route.surface == "schedules_api":
        assert malformed.body["code"] == unknown.body["code"] == "VALIDATION_ERROR"
        assert malformed.body["error"] == "Invalid body" and set(malformed.body["details"]) == {"body"}
        assert unknown.body["details"]["zzz_unknown"] == "Extra inputs are not permitted"
    else:
        assert malformed.body["detail"][0]["type"] == "json_invalid"
        assert "zzz_unknown" in [str(part) for problem in unknown.body["detail"] for part in problem["loc"]]
    assert documents(services) == before


# Valid ISO 8601 instants whose UTC equivalent falls outside years 1..9999.
OVERFLOWING_INSTANTS = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"]


@pytest.mark.parametrize("instant", OVERFLOWING_INSTANTS)
def test_an_instant_that_leaves_the_calendar_in_utc_is_a_4xx_naming_the_field(services, caller, instant):
    # Given an empty store
    before = documents(services)
    # When a one-time schedule, a cron preview and a run listing get an instant past year 9999 (or before 1) in UTC
    schedule = call(
        "create_workflow_schedule",
        caller=caller,
        path={"workflow_id": SOME_ID},
        body={"scheduled_time": instant, "run_input": {"command": "start"}},
    )
    preview = call("preview_schedule", caller=caller, body={"cron_expression": "0 9 * * *", "start": instant})
    runs = call("list_workflow_runs", caller=caller, query={"start": instant})
    # Then each is refused with a 422 that names the field, and nothing is written
    for reply, field in (
        (schedule, ["body", "scheduled_time"]),
        (preview, ["body", "start"]),
        (runs, ["query", "start"]),
    ):
        assert reply.status == 422, reply
        assert reply.body["detail"][0]["loc"] == field, reply.body
    assert documents(services) == before


@pytest.mark.parametrize(
    ("zone", "start"),
    [("Etc/GMT+12", "0001-01-01T00:00:00Z"), ("Etc/GMT-14", "9999-12-31T20:00:00Z"), ("UTC", "9999-12-31T23:59:00Z")],
)
def test_a_preview_at_either_end_of_the_calendar_lists_what_it_can_represent(services, caller, zone, start):
    # Given a start whose wall time in the zone, or whose next firing, lies outside years 1..9999
    body = {"cron_expression": "0 9 * * *", "timezone": zone, "start": start, "count": 3}
    # When the firings are previewed
    reply = call("preview_schedule", caller=caller, body=body)
    # Then the answer lists only firings the calendar can hold, all after the start: no 5xx
    assert reply.status == 200, reply
    assert all(fire > start for fire in reply.body["fire_times"])
    assert len(reply.body["fire_times"]) == (3 if start.startswith("0001") else 0)
