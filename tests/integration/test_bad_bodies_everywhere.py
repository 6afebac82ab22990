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
