"""The workflows API, handler by handler, with API Gateway events and an in-memory MongoDB."""

from __future__ import annotations

import pytest

from tests.support.api import call
from tests.support.workflows import say_then_end

SAY_HELLO = say_then_end("Hello {{name}}")


def create(caller, **fields):
    reply = call("create_workflow", caller=caller, body={"name": "Intake", **fields})
    assert reply.status == 200, reply
    return reply.body["workflow"]


def count(services, collection: str) -> int:
    return services.core.database.raw[collection].count_documents({})


def test_create_then_get_returns_version_0_config(caller):
    # Given a new workflow with a config
    created = create(caller, description="Patient intake", workflow_config=SAY_HELLO)
    # When it is read back
    reply = call("get_workflow", caller=caller, path={"workflow_id": created["_id"]})
    # Then it carries audit fields, version 0 active, and the config
    workflow = reply.body["workflow"]
    assert reply.status == 200
    assert workflow["_id"] == created["_id"] and len(workflow["_id"]) == 24
    assert workflow["team_id"] == caller.team_id and workflow["created_by"] == "alice"
    assert workflow["created_at"].endswith("Z")
    assert workflow["active_version_number"] == 0 and workflow["version_numbers"] == [0]
    assert [node["logical_id"] for node in workflow["workflow_config"]["nodes"]] == ["hello", "done"]


def test_list_paginates_newest_first_with_total_and_search(caller, clock):
    for name in ("alpha", "beta", "gamma"):
        clock.advance(seconds=1)
        create(caller, name=name)
    reply = call("list_workflows", caller=caller, query={"page": 1, "size": 2})
    assert reply.status == 200
    assert [w["name"] for w in reply.body["workflows"]] == ["gamma", "beta"]
    assert reply.body["total"] == 3
    page_two = call("list_workflows", caller=caller, query={"page": 2, "size": 2})
    assert [w["name"] for w in page_two.body["workflows"]] == ["alpha"]
    searched = call("list_workflows", caller=caller, query={"search": "ET"})
    assert [w["name"] for w in searched.body["workflows"]] == ["beta"] and searched.body["total"] == 1


def test_search_text_is_not_a_regular_expression(caller):
    create(caller, name="a.b")
    create(caller, name="axb")
    reply = call("list_workflows", caller=caller, query={"search": "a.b"})
    assert [w["name"] for w in reply.body["workflows"]] == ["a.b"]


def test_patch_changes_name_and_description(caller):
    workflow = create(caller)
    reply = call(
        "update_workflow",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"name": "Renamed", "description": "new"},
    )
    assert reply.status == 200
    assert reply.body["workflow"]["name"] == "Renamed" and reply.body["workflow"]["description"] == "new"


def test_versions_create_clone_activate_rename_list(caller):
    workflow = create(caller, workflow_config=SAY_HELLO)
    path = {"workflow_id": workflow["_id"]}
    # Given a clone of version 0 marked active
    reply = call(
        "create_workflow_version", caller=caller, path=path, body={"version_name": "v1", "mark_as_active": True}
    )
    assert reply.status == 200, reply
    assert reply.body["version"]["version_number"] == 1 and reply.body["parent_active_version"] == 0
    assert reply.body["version"]["workflow_config"]["nodes"] == SAY_HELLO["nodes"] or [
        n["logical_id"] for n in reply.body["version"]["workflow_config"]["nodes"]
    ] == ["hello", "done"]
    # And a second version with its own config, not active
    empty = call(
        "create_workflow_version",
        caller=caller,
        path=path,
        body={"version_name": "draft", "workflow_config": {"nodes": [], "edges": []}},
    )
    assert empty.body["version"]["version_number"] == 2
    # When version 2 is activated and version 1 renamed
    activated = call("activate_workflow_version", caller=caller, path={**path, "version_number": 2})
    assert activated.status == 200 and activated.body["workflow"]["active_version_number"] == 2
    renamed = call(
        "rename_workflow_version", caller=caller, path={**path, "version_number": 1}, body={"version_name": "first"}
    )
    assert renamed.body["version"]["version_name"] == "first"
    # Then the list shows all three, in order
    listed = call("list_workflow_versions", caller=caller, path=path)
    assert [(v["version_number"], v["version_name"]) for v in listed.body["versions"]] == [
        (0, "Initial Version"),
        (1, "first"),
        (2, "draft"),
    ]


def test_a_version_created_without_a_name_is_named_after_its_number(caller):
    # Given a workflow (version 0 is the "Initial Version")
    workflow = create(caller, workflow_config=SAY_HELLO)
    path = {"workflow_id": workflow["_id"]}
    # When versions are created the way the SDK's versions.create(workflow_id) does: no version_name
    first = call("create_workflow_version", caller=caller, path=path, body={"mark_as_active": True})
    second = call("create_workflow_version", caller=caller, path=path, body={"mark_as_active": False})
    # Then each is made, named after its number, and the first is active
    assert first.status == 200, first
    assert second.status == 200, second
    assert (first.body["version"]["version_number"], first.body["version"]["version_name"]) == (1, "Version 1")
    assert (second.body["version"]["version_number"], second.body["version"]["version_name"]) == (2, "Version 2")
    listed = call("list_workflow_versions", caller=caller, path=path)
    assert [(v["version_number"], v["version_name"]) for v in listed.body["versions"]] == [
        (0, "Initial Version"),
        (1, "Version 1"),
        (2, "Version 2"),
    ]
    assert call("get_workflow", caller=caller, path=path).body["workflow"]["active_version_number"] == 1


def test_an_empty_version_name_is_422_naming_it_and_makes_no_version(caller, services):
    # Given a workflow
    workflow = create(caller, workflow_config=SAY_HELLO)
    path = {"workflow_id": workflow["_id"]}
    # When a version is created with an empty name
    reply = call("create_workflow_version", caller=caller, path=path, body={"version_name": ""})
    # Then it is refused naming version_name, and the workflow still has only version 0
    assert reply.status == 422
    assert reply.body["detail"][0]["loc"] == ["body", "version_name"]
    assert reply.body["detail"][0]["type"] == "string_too_short"
    assert count(services, "workflow_versions") == 1
    assert call("get_workflow", caller=caller, path=path).body["workflow"]["version_numbers"] == [0]


def test_version_delete_rules(caller, services):
    workflow = create(caller)
    path = {"workflow_id": workflow["_id"]}
    # The only version cannot be deleted
    only = call("delete_workflow_version", caller=caller, path={**path, "version_number": 0})
    assert only.status == 409 and "only version" in only.body["detail"]
    call("create_workflow_version", caller=caller, path=path, body={"version_name": "v1"})
    # The active version cannot be deleted
    active = call("delete_workflow_version", caller=caller, path={**path, "version_number": 0})
    assert active.status == 409 and "active version" in active.body["detail"]
    # A non-active one can, and is then gone
    deleted = call("delete_workflow_version", caller=caller, path={**path, "version_number": 1})
    assert deleted.status == 200
    assert call("get_workflow_version", caller=caller, path={**path, "version_number": 1}).status == 404
    listed = call("list_workflow_versions", caller=caller, path=path).body["versions"]
    assert [v["version_number"] for v in listed] == [0]
    assert call("activate_workflow_version", caller=caller, path={**path, "version_number": 1}).status == 404


def test_activating_a_missing_version_is_404_and_changes_nothing(caller):
    workflow = create(caller)
    reply = call("activate_workflow_version", caller=caller, path={"workflow_id": workflow["_id"], "version_number": 7})
    assert reply.status == 404 and "7" in reply.body["detail"]
    again = call("get_workflow", caller=caller, path={"workflow_id": workflow["_id"]})
    assert again.body["workflow"]["active_version_number"] == 0


def test_set_concurrency(caller):
    workflow = create(caller)
    reply = call(
        "set_workflow_concurrency",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"max_concurrent_runs": 3},
    )
    assert reply.status == 200
    assert reply.body == {
        "workflow_id": workflow["_id"],
        "max_concurrent_runs": 3,
        "message": "Per-workflow cap set to 3",
    }
    negative = call(
        "set_workflow_concurrency",
        caller=caller,
        path={"workflow_id": workflow["_id"]},
        body={"max_concurrent_runs": -1},
    )
    assert negative.status == 422 and negative.body["detail"][0]["loc"] == ["body", "max_concurrent_runs"]


def test_delete_cascades_to_versions(caller, services):
    workflow = create(caller)
    call("create_workflow_version", caller=caller, path={"workflow_id": workflow["_id"]}, body={"version_name": "v1"})
    reply = call("delete_workflow", caller=caller, path={"workflow_id": workflow["_id"]})
    assert reply.status == 200 and reply.body["workflow_id"] == workflow["_id"]
    assert call("get_workflow", caller=caller, path={"workflow_id": workflow["_id"]}).status == 404
    assert count(services, "workflow_versions") == 0 and count(services, "workflows") == 0
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow["_id"]}).status == 404


# --- bad input: a 4xx naming the problem, and nothing written -----------------------------------


@pytest.mark.parametrize(
    ("raw_body", "loc", "kind"),
    [
        ("{not json", ["body", 1], "json_invalid"),
        ("", ["body"], "missing"),
        ('{"description": "no name"}', ["body", "name"], "missing"),
        ('{"name": ""}', ["body", "name"], "string_too_short"),
        ('{"name": "x", "colour": "red"}', ["body", "colour"], "extra_forbidden"),
    ],
)
def test_malformed_create_is_422_naming_the_field(caller, services, raw_body, loc, kind):
    reply = call("create_workflow", caller=caller, raw_body=raw_body)
    assert reply.status == 422
    assert reply.body["detail"][0]["loc"] == loc and reply.body["detail"][0]["type"] == kind
    assert count(services, "workflows") == 0 and count(services, "workflow_versions") == 0


@pytest.mark.parametrize(
    ("config", "loc_fragment", "msg_fragment"),
    [
        ({"nodes": [{"logical_id": "a", "type": "send_fax", "is_start": True}]}, "type", "say_static"),
        (
            {
                "nodes": [{"logical_id": "a", "type": "no_op", "is_start": True}],
                "edges": [
                    {
                        "logical_id": "e",
                        "type": "direct",
                        "source_node_logical_id": "a",
                        "destination_node_logical_id": "ghost",
                    }
                ],
            },
            "destination_node_logical_id",
            "ghost",
        ),
        ({"nodes": [{"logical_id": "a", "type": "no_op"}]}, "nodes", "start"),
    ],
)
def test_invalid_config_is_422_naming_the_problem_and_writes_nothing(
    caller, services, config, loc_fragment, msg_fragment
):
    reply = call("create_workflow", caller=caller, body={"name": "bad", "workflow_config": config})
    assert reply.status == 422, reply
    problem = reply.body["detail"][0]
    assert loc_fragment in [str(part) for part in problem["loc"]]
    assert msg_fragment in problem["msg"]
    assert count(services, "workflows") == 0 and count(services, "workflow_versions") == 0


def test_bad_object_id_is_422_naming_the_path_parameter(caller):
    reply = call("get_workflow", caller=caller, path={"workflow_id": "not-an-id"})
    assert reply.status == 422
    assert reply.body["detail"][0]["loc"] == ["path", "workflow_id"]


def test_unknown_id_is_404(caller):
    reply = call("get_workflow", caller=caller, path={"workflow_id": "5eb7cf5a86d9755df3a6c593"})
    assert reply.status == 404 and reply.body == {"detail": "workflow 5eb7cf5a86d9755df3a6c593 not found"}


def test_another_teams_workflow_is_404_for_every_operation(caller, other_caller, services):
    workflow = create(caller)
    path = {"workflow_id": workflow["_id"]}
    assert call("get_workflow", caller=other_caller, path=path).status == 404
    assert call("update_workflow", caller=other_caller, path=path, body={"name": "stolen"}).status == 404
    assert call("delete_workflow", caller=other_caller, path=path).status == 404
    assert call("list_workflow_versions", caller=other_caller, path=path).status == 404
    assert call("create_workflow_version", caller=other_caller, path=path, body={"version_name": "x"}).status == 404
    assert call("list_workflows", caller=other_caller).body["total"] == 0
    assert call("get_workflow", caller=caller, path=path).body["workflow"]["name"] == "Intake"


def test_missing_authorizer_context_is_401(services):
    reply = call("list_workflows")
    assert reply.status == 401


def test_store_unreachable_is_503_with_a_clear_body(caller, services, monkeypatch):
    from pymongo.errors import ServerSelectionTimeoutError

    def unreachable(*args, **kwargs):
        raise ServerSelectionTimeoutError("no servers")

    # The driver's collection the store wraps (pymongo hands out a new object per raw[...] lookup).
    monkeypatch.setattr(services.core.database["workflows"]._collection, "find", unreachable)
    reply = call("list_workflows", caller=caller)
    assert reply.status == 503
    assert "database is unreachable" in reply.body["detail"]
    assert reply.headers["Retry-After"] == "5"


def test_deeply_nested_json_is_422_not_500(caller, services):
    reply = call("create_workflow", caller=caller, raw_body="[" * 100_000)
    assert reply.status == 422 and reply.body["detail"][0]["type"] == "json_invalid"
    assert count(services, "workflows") == 0


def test_page_beyond_the_bound_is_422(caller):
    reply = call("list_workflows", caller=caller, query={"page": 10**17})
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["query", "page"]


@pytest.mark.parametrize("number", ["²", "٣", "9" * 5000, str(2**63)])
def test_a_version_number_that_is_not_a_plain_integer_in_range_is_a_422_naming_it(caller, number):
    # Given a workflow
    workflow = create(caller, workflow_config=SAY_HELLO)
    # When a version route is called with a Unicode digit, a number too long to parse, or one out of range
    reply = call("get_workflow_version", caller=caller, path={"workflow_id": workflow["_id"], "version_number": number})
    # Then it is refused, naming the path parameter, rather than failing inside int()
    assert reply.status == 422
    assert reply.body["detail"][0]["loc"] == ["path", "version_number"]
