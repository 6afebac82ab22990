"""Every route that takes a body answers a malformed one, or an unknown field, with a 4xx naming the
problem, and writes nothing. Driven by the route table, so a new route is covered the day it lands."""

from __future__ import annotations

import pytest

from tests.support.api import call
from workflow_service.http.routes import route_table
from workflow_service.models.common import too_deeply_nested

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


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [65, 900])
def test_a_body_nested_too_deeply_is_a_422_naming_where_and_writes_nothing(services, caller, depth):
    # Given a workflow whose free-form part nests far deeper than any stored document may
    workflow_config = {
        "nodes": [
            {
                "logical_id": "a",
                "type": "say_static",
                "is_start": True,
                "static_messages_config": {"static_messages": ["hi"]},
            }
        ],
        "edges": [],
        "miscellaneous": nested(depth),
    }
    before = documents(services)
    # When it is created
    reply = call("create_workflow", caller=caller, body={"name": "deep", "workflow_config": workflow_config})
    # Then the answer is a 422 that points into the body where nesting passed the limit, and nothing is stored
    assert reply.status == 422, reply
    problem = reply.body["detail"][0]
    assert problem["type"] == "too_deeply_nested"
    assert problem["loc"][:3] == ["body", "workflow_config", "miscellaneous"]
    assert documents(services) == before


def test_an_integer_beyond_64_bits_anywhere_in_a_body_is_a_422_naming_it_and_nothing_is_written(services, caller):
    # Given a workflow whose free-form miscellaneous data holds 2**63 (one past int64)
    workflow_config = {
        "nodes": [
            {
                "logical_id": "a",
                "type": "say_static",
                "is_start": True,
                "static_messages_config": {"static_messages": ["hi"]},
            }
        ],
        "edges": [],
        "miscellaneous": {"limits": [1, 2**63]},
    }
    before = documents(services)
    # When it is created
    reply = call("create_workflow", caller=caller, body={"name": "big", "workflow_config": workflow_config})
    # Then the answer names the integer's place, and nothing is stored
    assert reply.status == 422, reply
    problem = reply.body["detail"][0]
    assert problem["type"] == "int64_overflow"
    assert problem["loc"] == ["body", "workflow_config", "miscellaneous", "limits", 1]
    assert documents(services) == before


def test_nesting_is_measured_in_objects_and_arrays_and_the_first_too_deep_path_is_named():
    # 64 levels (the root object and 63 inside it) are allowed; one more is not
    assert too_deeply_nested(nested(63)) is None
    # an array counts as a level: the object at [0].a.a... (63 keys) is the 65th container
    assert too_deeply_nested([nested(64)]) == (0, *(["a"] * 63))


@pytest.mark.parametrize("tool_type", [{}, [], 5, None])
def test_a_tool_type_that_is_not_text_is_a_422_naming_it(services, caller, tool_type):
    workflow_config = {
        "nodes": [
            {
                "logical_id": "t",
                "type": "tool_node",
                "is_start": True,
                "tools_config": {"tools": [{"type": tool_type, "url": "https://example.com"}]},
            }
        ],
        "edges": [],
    }
    reply = call("create_workflow", caller=caller, body={"name": "tools", "workflow_config": workflow_config})
    assert reply.status == 422, reply
    assert reply.body["detail"][0]["loc"][-1] == "type"
    assert reply.body["detail"][0]["loc"][:2] == ["body", "workflow_config"]


def test_a_workflow_with_more_nodes_than_a_version_may_hold_is_a_422_naming_the_field(services, caller):
    from workflow_service.models.workflow_config import MAX_NODES

    # Given a config of MAX_NODES + 1 nodes
    nodes = [{"logical_id": f"n{index}", "type": "no_op", "is_start": index == 0} for index in range(MAX_NODES + 1)]
    before = documents(services)
    # When it is created, Then it is refused naming the nodes field, and nothing is written
    reply = call("create_workflow", caller=caller, body={"name": "huge", "workflow_config": {"nodes": nodes}})
    assert reply.status == 422, reply
    assert reply.body["detail"][0]["loc"][:3] == ["body", "workflow_config", "nodes"]
    assert documents(services) == before


def integer_query_parameters() -> list[tuple[str, str]]:
    from workflow_service.http.openapi import resolve_model

    found = []
    for route in route_table():
        if not route.query:
            continue
        model = resolve_model(route.query)
        for name, field_info in model.model_fields.items():
            if "integer" in str(model.model_json_schema()["properties"].get(field_info.alias or name, {})):
                found.append((route.name, field_info.alias or name))
    return found


@pytest.mark.parametrize(("route_name", "parameter"), integer_query_parameters())
def test_a_query_integer_beyond_64_bits_is_a_4xx_naming_it(services, caller, route_name, parameter):
    # Given a query integer one past what MongoDB can store (a skip, an offset, a version)
    route = next(route for route in route_table() if route.name == route_name)
    # When the route is called with it
    reply = call(route_name, caller=caller, path=path_for(route), query={parameter: str(2**63)})
    # Then it is refused naming the parameter (on a real MongoDB it would reach the driver and fail)
    assert 400 <= reply.status < 500, reply
    assert parameter in str(reply.body), reply.body


# Valid JSON that no UTF-8 encodes: lone surrogate escapes, in a value and in a key.
LONE_SURROGATES = '{"name": "\\ud800", "zzz": {"\\udc00": 1}}'


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda route: route.name)
def test_a_lone_surrogate_escape_in_a_body_is_a_4xx_and_writes_nothing(services, caller, route):
    # Given an empty store
    before = documents(services)
    # When a body holds a string no UTF-8 can encode, with and without an Idempotency-Key
    plain = call(route.name, caller=caller, path=path_for(route), raw_body=LONE_SURROGATES)
    keyed = call(
        route.name,
        caller=caller,
        path=path_for(route),
        raw_body=LONE_SURROGATES,
        headers={"Idempotency-Key": "surrogates-1"},
    )
    # Then each is refused with the route's 4xx naming where (MongoDB could not store it), and nothing is written
    expected_status = 400 if route.surface == "schedules_api" else 422
    assert plain.status == keyed.status == expected_status, (plain, keyed)
    if route.surface != "schedules_api":
        assert plain.body["detail"][0]["type"] == "string_unicode"
        assert plain.body["detail"][0]["loc"] in (["body", "name"], ["body", "zzz", "\\udc00"])
    assert documents(services) == before
