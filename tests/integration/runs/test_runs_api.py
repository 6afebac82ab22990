"""The runs API in-process: execute turns (seed 003), start/resume (seed 001), history, comments."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.api import call
from tests.support.workflows import looping_workflow, user_message, waiting_workflow, weather_workflow
from workflow_service.models.common import OBJECT_ID_PATTERN
from workflow_service.models.runs import TerminationSource

RUN_ID_OF_NOBODY = "5eb7cf5a86d9755df3a6c593"


def make_workflow(caller, config, **fields):
    reply = call("create_workflow", caller=caller, body={"name": "wf", "workflow_config": config, **fields})
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def execute(caller, workflow_id, run_input, run_id=None, query=None):
    body = {"run_input": run_input} if run_id is None else {"run_input": run_input, "run_id": run_id}
    return call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body=body, query=query)


def runs_count(services) -> int:
    return services.core.database.raw["workflow_runs"].count_documents({})


def event_types(reply):
    return [event["type"] for event in reply.body["events"]]


def test_three_turn_conversation_with_condition_and_http_request(caller, services, weather_server):
    workflow_id = make_workflow(caller, weather_workflow(weather_server.url))

    # Turn 1: start -> greets and waits
    first = execute(caller, workflow_id, {"dynamic_variables": {"name": "Ann", "city": "Paris"}})
    assert first.status == 200, first
    assert first.body["status"] == "waiting_for_user_input" and first.body["turn_number"] == 1
    assert first.body["is_waiting_for_input"] and not first.body["is_completed"]
    assert first.body["next_input_hint"]["type"] == "busy_wait_for_user_message"
    assert event_types(first)[0] == "start_workflow" and "busy_wait_for_user_message" in event_types(first)
    said = [e["message"] for e in first.body["events"] if e["type"] == "say_static"]
    assert said == ["Hi Ann, do you want the weather?"]
    run_id = first.body["run_id"]

    # Turn 2: "yes" -> conditional edge -> http_request -> report, waits again
    second = execute(
        caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("Yes please")}, run_id=run_id
    )
    assert second.body["status"] == "waiting_for_user_input" and second.body["turn_number"] == 2
    types = event_types(second)
    assert types.index("conditional_edge") < types.index("http_request") < types.index("say_static")
    assert weather_server.requests[0]["path"] == "/weather?city=Paris"
    report = next(e["message"] for e in second.body["events"] if e["type"] == "say_static")
    assert "sunny" in report

    # Turn 3: answer -> end
    third = execute(
        caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("no")}, run_id=run_id
    )
    assert third.body["status"] == "completed" and third.body["is_completed"] and third.body["turn_number"] == 3
    assert event_types(third)[-1] == "end_workflow"

    stored = call("get_workflow_run", caller=caller, path={"workflow_run_id": run_id}).body["workflow_run"]
    assert len(stored["workflow_run"]["input_output_pairs"]) == 3
    assert stored["workflow_run"]["trigger"]["type"] == "manual"
    assert stored["workflow_run"]["heartbeat_at"] is not None and stored["workflow_run"]["finished_at"] is not None


def test_same_run_driven_through_workflow_runs_endpoint(caller, weather_server):
    workflow_id = make_workflow(caller, weather_workflow(weather_server.url))
    started = call(
        "start_or_resume_workflow_run",
        caller=caller,
        body={"workflow_id": workflow_id, "dynamic_variables": {"name": "Bo", "city": "Oslo"}},
    )
    assert started.status == 200, started
    run = started.body["workflow_run"]
    assert run["workflow_run"]["status"] == "waiting_for_user_input"
    run_id = run["_id"]
    answered = call(
        "start_or_resume_workflow_run",
        caller=caller,
        body={"command": "data", "workflow_run_id": run_id, "thread_to_node_inputs": user_message("yes")},
    )
    assert answered.body["workflow_run"]["workflow_run"]["status"] == "waiting_for_user_input"
    paused = call("start_or_resume_workflow_run", caller=caller, body={"command": "pause", "workflow_run_id": run_id})
    assert paused.body["workflow_run"]["workflow_run"]["status"] == "paused"
    resumed = call(
        "start_or_resume_workflow_run",
        caller=caller,
        body={"command": "resume", "workflow_run_id": run_id, "thread_to_node_inputs": user_message("ok")},
    )
    assert resumed.body["workflow_run"]["workflow_run"]["status"] == "completed"
    assert len(resumed.body["workflow_run"]["workflow_run"]["input_output_pairs"]) == 3


def test_stop_cancels_and_further_data_is_409_naming_both(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    stopped = execute(caller, workflow_id, {"command": "stop"}, run_id=run_id)
    assert stopped.status == 200 and stopped.body["status"] == "cancelled" and stopped.body["is_completed"]
    again = execute(
        caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("hi")}, run_id=run_id
    )
    assert again.status == 409
    assert again.body["detail"] == "cannot data a run whose status is cancelled"


def test_self_looping_workflow_is_aborted_by_the_step_guard(caller):
    workflow_id = make_workflow(caller, looping_workflow())
    reply = execute(caller, workflow_id, {})
    assert reply.body["status"] == "aborted_looping_risk" and reply.body["is_completed"]
    assert reply.body["error"] and "workflow_error" in event_types(reply)


def test_version_query_applies_to_the_first_turn(caller):
    workflow_id = make_workflow(caller, waiting_workflow())
    call(
        "create_workflow_version",
        caller=caller,
        path={"workflow_id": workflow_id},
        body={"version_name": "v1", "mark_as_active": True, "workflow_config": looping_workflow()},
    )
    pinned = execute(caller, workflow_id, {}, query={"version": 0})
    assert pinned.body["status"] == "waiting_for_user_input"
    run = call("get_workflow_run", caller=caller, path={"workflow_run_id": pinned.body["run_id"]}).body
    assert run["workflow_run"]["workflow_run"]["version_number"] == 0
    active = execute(caller, workflow_id, {})
    assert active.body["status"] == "aborted_looping_risk"


def test_a_turn_in_flight_makes_a_second_turn_409(caller, services, clock):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    # Given another executor has claimed the next turn
    claimed = services.runs.repository.claim_turn(
        caller.team_id, run_id, ["waiting_for_user_input"], clock.now(), clock.now() + timedelta(minutes=5)
    )
    assert claimed is not None
    # When this client sends its turn
    reply = execute(caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("x")}, run_id=run_id)
    # Then exactly one executor holds the turn; this one is refused
    assert reply.status == 409 and "already executing" in reply.body["detail"]
    assert (
        services.runs.repository.claim_turn(
            caller.team_id, run_id, ["running", "waiting_for_user_input"], clock.now(), clock.now()
        )
        is None
    )


def test_a_turn_whose_run_was_stopped_meanwhile_is_discarded(caller, services, clock):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    claim, *_ = services.runs.repository.claim_turn(
        caller.team_id, run_id, ["waiting_for_user_input"], clock.now(), clock.now() + timedelta(minutes=5)
    )
    assert execute(caller, workflow_id, {"command": "stop"}, run_id=run_id).body["status"] == "cancelled"
    assert services.runs.repository.commit_turn(claim, {"status": "completed"}, {}, None) is None
    stored = services.runs.repository.get(caller.team_id, run_id)
    assert stored.workflow_run.status == "cancelled" and len(stored.workflow_run.input_output_pairs) == 1


def test_turn_round_trips_are_claim_and_commit_with_the_version_cached(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    services.core.database.counter.reset()
    reply = execute(
        caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("go")}, run_id=run_id
    )
    assert reply.body["status"] == "completed"
    # claim + commit (ownership and workflow are conditions of the claim); the finished run then releases its
    # slot and dispatches (one read of the workflows with queued runs: none).
    run_ops = {k: v for k, v in services.core.database.counter.calls.items() if k.startswith("workflow_runs.")}
    assert run_ops == {"workflow_runs.find_one_and_update": 2, "workflow_runs.distinct": 1}
    assert not any(key.startswith(("workflow_versions.", "workflows.")) for key in services.core.database.counter.calls)


def waiting_every_turn():
    """Asks, then asks again on every answer: each turn ends waiting, so a later turn neither finishes
    the run nor releases its slot."""
    ask = {"type": "say_static", "wait_for_user_message": True, "static_messages_config": {"static_messages": ["?"]}}
    return {
        "nodes": [{"logical_id": "ask", "is_start": True, **ask}, {"logical_id": "again", **ask}],
        "edges": [
            {
                "logical_id": "e",
                "type": "direct",
                "source_node_logical_id": "ask",
                "destination_node_logical_id": "again",
            },
            {
                "logical_id": "l",
                "type": "direct",
                "source_node_logical_id": "again",
                "destination_node_logical_id": "again",
            },
        ],
    }


def test_a_first_execute_turn_costs_at_most_six_round_trips_and_a_later_one_two(caller, services):
    """DESIGN.md section 10: first execute turn <= 6 (workflow, version, team limit, both lease holds in one
    batch, the run inserted with its first turn claimed, the commit); a later turn: claim, commit."""
    workflow_id = make_workflow(caller, waiting_every_turn(), max_concurrent_runs=3)
    counter = services.core.database.counter
    counter.reset()
    first = execute(caller, workflow_id, {})
    assert first.status == 200 and first.body["status"] == "waiting_for_user_input" and first.body["turn_number"] == 1
    assert counter.total <= 6, dict(counter.calls)
    assert dict(counter.calls) == {
        "workflows.find_one": 1,
        "workflow_versions.find_one": 1,
        "teams.find_one": 1,
        "concurrency_leases.bulk_write": 1,
        "workflow_runs.insert_one": 1,
        "workflow_runs.find_one_and_update": 1,
    }
    # The slot is held and the run is committed on its claim: nothing of the claim is left behind
    stored = services.core.database.raw["workflow_runs"].find_one({})
    assert stored["workflow_run"]["claim"] is None and stored["workflow_run"]["turn_number"] == 1
    leases = services.core.database.raw["concurrency_leases"]
    assert {d["_id"]: d["holders"] for d in leases.find({})} == {
        f"team:{caller.team_id}": [first.body["run_id"]],
        f"workflow:{workflow_id}": [first.body["run_id"]],
    }

    counter.reset()
    later = execute(
        caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("hi")}, first.body["run_id"]
    )
    assert later.status == 200 and later.body["status"] == "waiting_for_user_input"
    assert dict(counter.calls) == {"workflow_runs.find_one_and_update": 2}  # claim, commit


def test_a_first_turn_refused_by_the_workflow_cap_leaves_nothing_behind(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow(), max_concurrent_runs=1)
    holder = execute(caller, workflow_id, {}).body["run_id"]

    refused = execute(caller, workflow_id, {})

    assert refused.status == 429, refused
    assert runs_count(services) == 1
    leases = services.core.database.raw["concurrency_leases"]
    assert {d["_id"]: d["holders"] for d in leases.find({})} == {
        f"team:{caller.team_id}": [holder],
        f"workflow:{workflow_id}": [holder],
    }


# --- bad input: 4xx naming the problem, nothing written -------------------------------------------


def test_start_without_workflow_id_is_422(caller, services):
    reply = call("start_or_resume_workflow_run", caller=caller, body={"command": "start"})
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "workflow_id"]
    assert runs_count(services) == 0


def test_data_without_run_id_is_422(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    reply = execute(caller, workflow_id, {"command": "data"})
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "run_id"]
    assert runs_count(services) == 0


def test_unknown_command_is_422_naming_the_field(caller, services):
    reply = call("start_or_resume_workflow_run", caller=caller, body={"command": "launch", "workflow_id": "a" * 24})
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == ["body", "command"]
    assert runs_count(services) == 0


@pytest.mark.parametrize("route", ["get_workflow_run", "delete_workflow_run"])
def test_unknown_run_is_404(caller, route):
    reply = call(route, caller=caller, path={"workflow_run_id": "5eb7cf5a86d9755df3a6c593"})
    assert reply.status == 404 and "5eb7cf5a86d9755df3a6c593" in reply.body["detail"]


def test_another_teams_run_is_404(caller, other_caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    assert call("get_workflow_run", caller=other_caller, path={"workflow_run_id": run_id}).status == 404
    data = call(
        "start_or_resume_workflow_run",
        caller=other_caller,
        body={"command": "data", "workflow_run_id": run_id, "thread_to_node_inputs": user_message("x")},
    )
    assert data.status == 404
    assert execute(other_caller, workflow_id, {}).status == 404
    assert call("list_workflow_runs", caller=other_caller).body["total"] == 0
    assert services.runs.repository.get(caller.team_id, run_id).workflow_run.turn_number == 1


def test_run_id_of_another_workflow_is_404(caller):
    first = make_workflow(caller, waiting_workflow())
    second = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, first, {}).body["run_id"]
    assert execute(caller, second, {"command": "stop"}, run_id=run_id).status == 404


def test_unknown_workflow_version_is_404_and_no_run(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    reply = execute(caller, workflow_id, {}, query={"version": 9})
    assert reply.status == 404 and runs_count(services) == 0


# --- history ------------------------------------------------------------------------------------


def test_list_filters_newest_first_and_31_day_window(caller, clock):
    workflow_id = make_workflow(caller, waiting_workflow())
    other = make_workflow(caller, looping_workflow())
    ids = []
    for _ in range(3):
        clock.advance(minutes=1)
        ids.append(execute(caller, workflow_id, {}).body["run_id"])
    execute(caller, other, {})
    listed = call("list_workflow_runs", caller=caller, query={"workflow_id": workflow_id})
    assert [run["_id"] for run in listed.body["workflow_runs"]] == ids[::-1] and listed.body["total"] == 3
    by_status = call("list_workflow_runs", caller=caller, query={"status": "aborted_looping_risk"})
    assert by_status.body["total"] == 1
    paged = call("list_workflow_runs", caller=caller, query={"size": 2, "page": 2})
    assert len(paged.body["workflow_runs"]) == 2 and paged.body["total"] == 4
    wide = call(
        "list_workflow_runs", caller=caller, query={"start": "2030-01-01T00:00:00Z", "end": "2030-02-15T00:00:00Z"}
    )
    assert wide.status == 400 and wide.body["detail"] == "Date range should be less than or equal to 31 days"
    bad_status = call("list_workflow_runs", caller=caller, query={"status": "sleeping"})
    assert bad_status.status == 422 and bad_status.body["detail"][0]["loc"] == ["query", "status"]


def test_list_by_source_run_is_accepted_and_empty_as_no_run_is_re_run_from_another(caller):
    # Given two runs (this service makes no run from another run's turn)
    workflow_id = make_workflow(caller, waiting_workflow())
    run_ids = [execute(caller, workflow_id, {}).body["run_id"] for _ in range(2)]
    # When the runs re-run from the first are listed, as the SDK's runs.list(source_workflow_run_id=...,
    # source_turn_index=...) asks, with and without the turn
    by_turn = call(
        "list_workflow_runs",
        caller=caller,
        query={"page": 1, "size": 20, "source_workflow_run_id": run_ids[0], "source_turn_index": 0},
    )
    by_run = call("list_workflow_runs", caller=caller, query={"source_workflow_run_id": run_ids[0]})
    # Then both are answered with an empty page
    assert by_turn.status == 200, by_turn
    assert by_turn.body == {"workflow_runs": [], "total": 0}
    assert by_run.status == 200, by_run
    assert by_run.body == {"workflow_runs": [], "total": 0}
    # And a turn index without its run narrows nothing (the SDK documents it as ignored on its own)
    alone = call("list_workflow_runs", caller=caller, query={"source_turn_index": 3})
    assert alone.status == 200 and alone.body["total"] == 2


@pytest.mark.parametrize(
    ("query", "name", "kind"),
    [
        ({"source_workflow_run_id": "not-a-run"}, "source_workflow_run_id", "string_pattern_mismatch"),
        ({"source_turn_index": "-1"}, "source_turn_index", "greater_than_equal"),
        ({"source_turn_index": "first"}, "source_turn_index", "int_parsing"),
        ({"source_workflow_run_id": RUN_ID_OF_NOBODY, "source_turn_index": "1.5"}, "source_turn_index", "int_parsing"),
    ],
)
def test_a_malformed_source_run_filter_is_422_naming_it(caller, query, name, kind):
    # Given a malformed source run id or turn index
    # When the runs are listed with it
    reply = call("list_workflow_runs", caller=caller, query=query)
    # Then it is refused naming that parameter and what is wrong with it
    assert reply.status == 422, reply
    assert [(problem["loc"], problem["type"]) for problem in reply.body["detail"]] == [(["query", name], kind)]


def test_the_openapi_document_describes_the_source_run_filters(caller):
    # Given the published document
    reply = call("get_openapi", caller=caller)
    assert reply.status == 200, reply
    # When the run list's query parameters are read
    operation = reply.body["paths"]["/workflows/v1/workflow-runs"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    # Then both filters are there, optional, typed as the service checks them
    run_id, turn = parameters["source_workflow_run_id"], parameters["source_turn_index"]
    assert not run_id.get("required") and not turn.get("required")
    assert run_id["schema"]["type"] == "string" and run_id["schema"]["pattern"] == OBJECT_ID_PATTERN
    assert turn["schema"]["type"] == "integer" and turn["schema"]["minimum"] == 0


def test_comments_add_and_delete_with_camel_case_fields(caller):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    added = call(
        "add_workflow_run_comment", caller=caller, path={"workflow_run_id": run_id}, body={"content": "looks good"}
    )
    assert added.status == 200
    comment = added.body["workflow_run"]["workflow_run"]["comments"][0]
    assert comment["content"] == "looks good" and comment["createdBy"] == "alice"
    assert comment["createdAt"].endswith("Z") and comment["logical_id"].startswith("comment_")
    removed = call(
        "delete_workflow_run_comment",
        caller=caller,
        path={"workflow_run_id": run_id, "comment_logical_id": comment["logical_id"]},
    )
    assert removed.status == 200 and removed.body["workflow_run"]["workflow_run"]["comments"] == []
    missing = call(
        "delete_workflow_run_comment",
        caller=caller,
        path={"workflow_run_id": run_id, "comment_logical_id": "comment_nope"},
    )
    assert missing.status == 404
    empty = call("add_workflow_run_comment", caller=caller, path={"workflow_run_id": run_id}, body={"content": ""})
    assert empty.status == 422 and empty.body["detail"][0]["loc"] == ["body", "content"]


def test_delete_removes_the_run(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    assert call("delete_workflow_run", caller=caller, path={"workflow_run_id": run_id}).status == 200
    assert runs_count(services) == 0


def test_deleting_a_workflow_cancels_its_live_runs_and_keeps_them_readable(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    assert call("delete_workflow", caller=caller, path={"workflow_id": workflow_id}).status == 200
    run = call("get_workflow_run", caller=caller, path={"workflow_run_id": run_id}).body["workflow_run"]
    assert run["workflow_run"]["status"] == "cancelled"
    assert run["workflow_run"]["termination_source"] == "workflow_deleted"


def test_llm_usage_and_latency_are_recorded_on_the_run(caller):
    config = {
        "llms_config": {"provider": "scripted", "model_kwargs": {"scripted_replies": ["Hello from the model"]}},
        "nodes": [
            {
                "logical_id": "talk",
                "type": "say_llm",
                "is_start": True,
                "main_response_config": {"prompt": "Greet {{name}}"},
            }
        ],
    }
    workflow_id = make_workflow(caller, config)
    reply = execute(caller, workflow_id, {"dynamic_variables": {"name": "Ann"}})
    assert reply.body["status"] == "waiting_for_user_input"
    assert [e["message"] for e in reply.body["events"] if e["type"] == "say_llm"] == ["Hello from the model"]
    run = call("get_workflow_run", caller=caller, path={"workflow_run_id": reply.body["run_id"]}).body
    usage = run["workflow_run"]["workflow_run"]["llm_token_usage"]
    assert (
        usage["call_count"] == 1 and usage["total_tokens"] == usage["total_input_tokens"] + usage["total_output_tokens"]
    )
    assert usage["breakdown_by_models"][0]["provider"] == "scripted"
    assert run["workflow_run"]["workflow_run"]["llm_latency_stats"]["call_count"] == 1


def test_the_reaper_cannot_fail_a_run_whose_heartbeat_moved_its_deadline(caller, services, clock):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    # Given a run whose input deadline was extended after the reaper read it as stale
    services.runs.repository.change_status(
        None, run_id, ["waiting_for_user_input"], {"input_deadline_at": clock.now() + timedelta(hours=1)}
    )
    # When the reaper's conditional write runs with the deadline it saw
    failed = services.runs.lifecycle.fail_run(
        run_id,
        "too slow",
        TerminationSource.STALE_RUN_REAPER,
        ["waiting_for_user_input"],
        team_id=caller.team_id,
        deadline_field="input_deadline_at",
        deadline_before=clock.now(),
    )
    # Then nothing changes
    assert failed is None
    assert services.runs.repository.get(None, run_id).workflow_run.status == "waiting_for_user_input"


def test_a_run_keeps_its_version_after_that_version_is_deleted(caller, services):
    workflow_id = make_workflow(caller, looping_workflow())
    path = {"workflow_id": workflow_id}
    call(
        "create_workflow_version",
        caller=caller,
        path=path,
        body={"version_name": "v1", "mark_as_active": True, "workflow_config": waiting_workflow()},
    )
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    # Given version 1 is deleted while a run on it waits for input
    call("activate_workflow_version", caller=caller, path={**path, "version_number": 0})
    assert call("delete_workflow_version", caller=caller, path={**path, "version_number": 1}).status == 200
    # And the next turn lands on a fresh container (no cached versions)
    services.__dict__.pop("runs")
    # Then the run finishes on the version it started with
    reply = execute(
        caller, workflow_id, {"command": "data", "thread_to_node_inputs": user_message("go")}, run_id=run_id
    )
    assert reply.status == 200 and reply.body["status"] == "completed"


def test_an_unknown_start_node_is_422_and_writes_nothing(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    reply = execute(caller, workflow_id, {"start_node_logical_id": "nowhere"})
    assert reply.status == 422
    assert reply.body["detail"][0]["loc"] == ["body", "run_input", "start_node_logical_id"]
    assert runs_count(services) == 0
    assert services.core.database.raw["concurrency_leases"].find_one({"holders.0": {"$exists": True}}) is None


def test_an_unstorable_value_is_422_and_writes_nothing(caller, services):
    workflow_id = make_workflow(caller, waiting_workflow())
    reply = execute(caller, workflow_id, {"dynamic_variables": {"order": {"ids": [1, 10**30]}}})
    assert reply.status == 422
    problem = reply.body["detail"][0]
    # The place of the integer is named in loc, down to its index
    assert problem["loc"] == ["body", "run_input", "dynamic_variables", "order", "ids", 1]
    assert "64 bits" in problem["msg"]
    assert runs_count(services) == 0


def test_a_losing_double_resume_leaves_the_winners_slot_alone(caller, services):
    services.auth.service.set_team_limit(caller.team_id, 1)
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    call("start_or_resume_workflow_run", caller=caller, body={"command": "pause", "workflow_run_id": run_id})
    # Given the run is resumed (and waits again, holding the team's only slot)
    resumed = call("start_or_resume_workflow_run", caller=caller, body={"command": "resume", "workflow_run_id": run_id})
    assert resumed.body["workflow_run"]["workflow_run"]["status"] == "waiting_for_user_input"
    # When a second, late resume of the same run is refused
    late = call("start_or_resume_workflow_run", caller=caller, body={"command": "resume", "workflow_run_id": run_id})
    assert late.status == 409
    # Then the run still holds its slot: another run cannot start
    other = execute(caller, workflow_id, {})
    assert other.status == 429 and other.headers["Retry-After"]


def test_resume_without_a_free_slot_is_429_and_leaves_the_run_paused(caller, services):
    services.auth.service.set_team_limit(caller.team_id, 1)
    workflow_id = make_workflow(caller, waiting_workflow())
    paused_id = execute(caller, workflow_id, {}).body["run_id"]
    call("start_or_resume_workflow_run", caller=caller, body={"command": "pause", "workflow_run_id": paused_id})
    holder = execute(caller, workflow_id, {})
    assert holder.body["status"] == "waiting_for_user_input"
    refused = call(
        "start_or_resume_workflow_run", caller=caller, body={"command": "resume", "workflow_run_id": paused_id}
    )
    assert refused.status == 429
    run = services.runs.repository.get(None, paused_id)
    assert run.workflow_run.status == "paused"
    # And it can resume once the slot is free
    execute(caller, workflow_id, {"command": "stop"}, run_id=holder.body["run_id"])
    again = call(
        "start_or_resume_workflow_run", caller=caller, body={"command": "resume", "workflow_run_id": paused_id}
    )
    assert again.status == 200 and again.body["workflow_run"]["workflow_run"]["status"] == "waiting_for_user_input"


def test_execute_without_a_free_slot_is_429_and_leaves_nothing(caller, services):
    services.auth.service.set_team_limit(caller.team_id, 1)
    workflow_id = make_workflow(caller, waiting_workflow())
    assert execute(caller, workflow_id, {}).body["status"] == "waiting_for_user_input"
    refused = execute(caller, workflow_id, {})
    assert refused.status == 429
    assert refused.headers["Retry-After"] == str(services.settings.concurrency.retry_after_seconds)
    assert "concurrency limit" in refused.body["detail"] and refused.body["scope"] == "team"
    assert runs_count(services) == 1


def test_a_comment_body_shaped_like_the_documented_comment_is_accepted(caller):
    workflow_id = make_workflow(caller, waiting_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    body = {
        "content": "ok",
        "createdBy": "5eb7cf5a86d9755df3a6c593",
        "updatedBy": "5eb7cf5a86d9755df3a6c593",
        "createdAt": "2023-11-07T05:31:56Z",
        "updatedAt": "2023-11-07T05:31:56Z",
    }
    reply = call("add_workflow_run_comment", caller=caller, path={"workflow_run_id": run_id}, body=body)
    assert reply.status == 200
    comment = reply.body["workflow_run"]["workflow_run"]["comments"][0]
    # The server, not the body, says who wrote it and when.
    assert comment["createdBy"] == "alice" and comment["createdAt"] == "2030-01-01T12:00:00Z"


def test_a_start_only_window_is_bounded_at_now(caller, clock):
    wide = call("list_workflow_runs", caller=caller, query={"start": "2029-01-01T00:00:00Z"})
    assert wide.status == 400
    recent = call("list_workflow_runs", caller=caller, query={"start": "2029-12-25T00:00:00Z"})
    assert recent.status == 200


def test_a_turn_ending_in_a_status_the_transition_table_forbids_fails_the_run(caller, services):
    from workflow_service.engine import TurnResult
    from workflow_service.models.runs import RunStatus

    class PausingEngine:
        def run_turn(self, config, run_input, state, *, heartbeat=None, time_left=None):
            return TurnResult(status=RunStatus.PAUSED, events=[], state={})

    services.runs.__dict__["engine"] = PausingEngine()
    workflow_id = make_workflow(caller, waiting_workflow())
    reply = execute(caller, workflow_id, {})
    assert reply.status == 200
    assert reply.body["status"] == "failed" and "cannot end in status paused" in reply.body["error"]


def test_an_empty_initial_state_as_in_the_seeds_example_starts_a_fresh_run(caller, services):
    # Given seed 003's example input, which sends "initial_state": {}
    workflow_id = make_workflow(caller, waiting_workflow())
    # When a run is executed with it
    reply = execute(caller, workflow_id, {"initial_state": {}, "dynamic_variables": {}})
    # Then it starts normally (before: it failed with "not a workflow state produced by this engine")
    assert reply.status == 200, reply
    assert reply.body["status"] == "waiting_for_user_input" and reply.body["error"] is None


class _InvocationNearItsTimeout:
    """A Lambda context whose invocation has only ``seconds`` left."""

    aws_request_id = "req-near-timeout"

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self._seconds * 1000)


def test_a_turn_started_too_close_to_the_functions_timeout_fails_with_the_reason_and_frees_its_slot(caller, services):
    import json

    from execute_workflow import handler

    from tests.support.api import proxy_event

    # Given a team limit of 1 and an invocation with less time left than the turn's safety margin (3 s)
    services.auth.service.set_team_limit(caller.team_id, 1)
    workflow_id = make_workflow(caller, waiting_workflow())
    event = proxy_event("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body={"run_input": {}})
    # When the first turn runs in it
    answer = handler(event, _InvocationNearItsTimeout(2.0))
    body = json.loads(answer["body"])
    # Then the turn stops before its first node and the run fails saying why (never a function timeout)
    assert answer["statusCode"] == 200 and body["status"] == "failed"
    assert "ran out of its time budget" in body["error"]
    # And its slot is free: the next run starts
    assert execute(caller, workflow_id, {}).body["status"] == "waiting_for_user_input"


def test_a_conversation_that_outgrows_the_run_document_limit_fails_with_the_reason_and_frees_its_slot(caller, services):
    from tests.support.workflows import endless_conversation_workflow
    from workflow_service.adapters.mongo.runs import MongoRunRepository

    # Given runs that may store 80 KB of turns (MongoDB's real limit is 16 MiB), and a team limit of 1
    services.runs.__dict__["repository"] = MongoRunRepository(
        services.core.database, services.core.clock, max_history_bytes=80_000
    )
    services.auth.service.set_team_limit(caller.team_id, 1)
    workflow_id = make_workflow(caller, endless_conversation_workflow())
    run_id = execute(caller, workflow_id, {}).body["run_id"]
    # When the user keeps sending 3 KB messages
    message = {"command": "data", "thread_to_node_inputs": user_message("y" * 3000)}
    replies = []
    while len(replies) < 30 and (not replies or replies[-1].body.get("status") == "waiting_for_user_input"):
        replies.append(execute(caller, workflow_id, message, run_id=run_id))
    # Then the turn that would pass the limit fails the run with the reason, instead of a store error
    failed = replies[-1]
    assert failed.status == 200 and failed.body["status"] == "failed", failed
    assert "start a new run" in failed.body["error"] and len(replies) > 2
    # And its slot is free for the next run
    assert execute(caller, workflow_id, {}).status == 200
