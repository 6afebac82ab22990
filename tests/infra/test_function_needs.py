"""What each function needs from the stack to do what its code does: resources, settings, grants."""

from __future__ import annotations

from tests.infra.infra_template import (
    actions_of,
    as_list,
    functions_by_name,
    logical_id_of,
    resources_of_type,
    role_statements,
)


def _statements_on(statements: list[dict], resource_id: str | None) -> list[dict]:
    return [s for s in statements if resource_id in {logical_id_of(r) for r in as_list(s["Resource"])}]


def _event_source_of(template: dict, function_logical_id: str) -> dict:
    (mapping,) = [
        m["Properties"]
        for m in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
        if logical_id_of(m["Properties"]["FunctionName"]) == function_logical_id
    ]
    return mapping


def test_run_worker_batch_leaves_each_run_its_turn_budget(synthesized):
    # Given run_worker, which runs the first turn of each record in turn, each turn budgeted
    # min(ENGINE_TURN_TIME_BUDGET_SECONDS=600, time left in the INVOCATION - 3 s) (runs/shared.py
    # RunTimeouts.turn_time_left), a turn that finds no time left failing its run (engine/turn.py _run_node)
    template = synthesized.template()
    logical_id, worker = functions_by_name(template)["run_worker"]
    mapping = _event_source_of(template, logical_id)
    timeout = worker["Timeout"]
    per_run_budget = min(600, timeout - 3)
    # Then one invocation has room for every record's full budget (else records 2..n of a batch fail
    # with "the turn ran out of its time budget" after record 1 used the invocation's time)
    assert mapping["BatchSize"] * per_run_budget <= timeout, (mapping["BatchSize"], timeout)


def test_delete_workflow_can_queue_the_runs_its_cancellations_admit_and_delete_its_schedules(synthesized):
    # Given DELETE /workflows/{id}: WorkflowService.delete -> runs.lifecycle.on_workflow_deleted ->
    # finalize -> FifoDispatcher.dispatch -> work_queue.enqueue_run, and ScheduleDeletionListener ->
    # EventBridgeScheduler.delete (DeleteSchedule in SCHEDULE_GROUP_NAME)
    template = synthesized.template()
    functions = functions_by_name(template)
    function = functions["delete_workflow"][1]
    variables = function["Environment"]["Variables"]
    work_queue_id = logical_id_of(functions["execute_workflow"][1]["Environment"]["Variables"]["RUN_WORK_QUEUE_URL"])
    statements = role_statements(template, logical_id_of(function["Role"]))
    # Then it has the work queue and the scheduler the code calls
    assert "RUN_WORK_QUEUE_URL" in variables
    assert "sqs:SendMessage" in actions_of(_statements_on(statements, work_queue_id))
    assert variables.get("SCHEDULE_GROUP_NAME") == synthesized.default_config.schedule_group_name
    assert "scheduler:DeleteSchedule" in actions_of(statements)


def test_backfill_routes_can_send_the_run_started_events_of_the_runs_they_start(synthesized):
    # Given the backfill routes: RecurringRunStarter -> RunSubmission.submit -> FifoDispatcher._start ->
    # run_outbox.emit(WORKFLOW_RUN_STARTED) -> WebhookEmitter -> delivery_queue.send
    functions = functions_by_name(synthesized.template())
    for name in ("backfill_recurring_schedule", "api_backfill_schedule"):
        variables = functions[name][1]["Environment"]["Variables"]
        # Then they can enqueue the delivery (else it waits for the reaper's due sweep)
        assert "WEBHOOK_DELIVERY_QUEUE_URL" in variables, name


def test_workflow_write_routes_can_send_the_workflow_events_they_emit(synthesized):
    # Given the routes whose writes emit workflow events: WorkflowService.insert_new (create, and
    # WorkflowCopies for clone and import) -> workflow_created; update, set_concurrency, create_version,
    # activate_version, delete_version, rename_version and VersionConfigs.update (the version's config)
    # -> workflow_updated; delete -> workflow_deleted; each through WorkflowOutbox -> WebhookEmitter ->
    # delivery_queue.send
    template = synthesized.template()
    functions = functions_by_name(template)
    routes = [
        "create_workflow",
        "clone_workflow",
        "import_workflow_bundle",
        "update_workflow",
        "set_workflow_concurrency",
        "create_workflow_version",
        "activate_workflow_version",
        "rename_workflow_version",
        "delete_workflow_version",
        "update_workflow_version_config",
        "delete_workflow",
    ]
    queue_url = functions["deliver_webhook_events"][1]["Environment"]["Variables"]["WEBHOOK_DELIVERY_QUEUE_URL"]
    queue_id = logical_id_of(queue_url)
    missing = {}
    for name in routes:
        function = functions[name][1]
        statements = role_statements(template, logical_id_of(function["Role"]))
        lacks = []
        if logical_id_of(function["Environment"]["Variables"].get("WEBHOOK_DELIVERY_QUEUE_URL")) != queue_id:
            lacks.append("WEBHOOK_DELIVERY_QUEUE_URL")
        if "sqs:SendMessage" not in actions_of(_statements_on(statements, queue_id)):
            lacks.append("sqs:SendMessage")
        if lacks:
            missing[name] = lacks
    # Then each has the delivery queue's URL and may send to it (else every event waits for the reaper's
    # due sweep, up to a reaper period late)
    assert missing == {}


def test_run_deadline_settings_reach_the_functions_that_write_the_deadlines(synthesized):
    # Given cdk.json's reaper thresholds. The reaper reaps by the deadlines stored on runs
    # (reaper/service.py StaleRule: queue_deadline_at, heartbeat_deadline_at, input_deadline_at,
    # pause_deadline_at), and those are written by the functions that submit and run turns, from
    # THEIR settings (wiring/runs.py RunTimeouts, wiring/concurrency.py FifoDispatcher)
    reaper = synthesized.default_config.reaper
    functions = functions_by_name(synthesized.template())
    writers = [
        "execute_workflow",
        "start_or_resume_workflow_run",
        "run_worker",
        "schedule_target",
        "trigger_queue_consumer",
        "receive_webhook",
    ]
    missing = {
        name: [
            variable
            for variable in (
                "REAPER_QUEUE_TTL_SECONDS",
                "REAPER_HEARTBEAT_TIMEOUT_SECONDS",
                "REAPER_INPUT_TIMEOUT_SECONDS",
                "REAPER_PAUSE_TTL_SECONDS",
            )
            if variable not in functions[name][1]["Environment"]["Variables"]
        ]
        for name in writers
    }
    # Then they write them with cdk.json's values, not the runtime defaults
    assert {name: variables for name, variables in missing.items() if variables} == {}
    assert reaper.queue_ttl_seconds  # (the value they should receive)


def test_bedrock_grant_lets_inference_profiles_reach_their_destination_regions(synthesized):
    # Given the "llm" grant, which names the account's inference profiles: a cross-Region profile routes
    # to foundation models in other Regions, and AWS requires InvokeModel "on the foundation model in
    # each Region associated with it" (Bedrock user guide, Prerequisites for inference profiles)
    template = synthesized.template()
    _, function = functions_by_name(template)["execute_workflow"]
    statements = [
        s
        for s in role_statements(template, logical_id_of(function["Role"]))
        if "bedrock:InvokeModel" in as_list(s["Action"])
    ]
    resources = [template_text(r) for s in statements for r in as_list(s["Resource"])]
    profiles = [r for r in resources if ":inference-profile/" in r]
    models = [r for r in resources if ":foundation-model/" in r]
    assert profiles
    # Then the foundation-model grant is not pinned to the one source Region
    assert any(r.startswith("arn:<AWS::Partition>:bedrock:*::") for r in models), models


def template_text(node) -> str:
    """A resource ARN as text, intrinsics flattened (``{"Ref": "AWS::Region"}`` -> ``<AWS::Region>``)."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Ref" in node:
        return f"<{node['Ref']}>"
    if isinstance(node, dict) and "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return delimiter.join(template_text(item) for item in items)
    return str(node)
