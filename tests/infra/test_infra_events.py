"""Schedules, queues and the reaper: the event sources and the permissions they rely on."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.infra.infra_template import (
    actions_of,
    as_list,
    functions_by_name,
    logical_id_of,
    resources_of_type,
    role_statements,
)


def _scheduler_role(template) -> tuple[str, dict]:
    roles = [
        (logical_id, role)
        for logical_id, role in resources_of_type(template, "AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "scheduler.amazonaws.com"
    ]
    assert len(roles) == 1
    return roles[0]


def _schedule_dead_letter_queue_id(template) -> str:
    _, target = functions_by_name(template)["schedule_target"]
    return logical_id_of(target["DeadLetterConfig"]["TargetArn"])


def test_schedule_group_is_named_for_the_stage(synthesized, template):
    template.has_resource_properties(
        "AWS::Scheduler::ScheduleGroup", {"Name": synthesized.default_config.schedule_group_name}
    )


def test_scheduler_role_is_assumable_only_by_scheduler_from_this_account(synthesized):
    template = synthesized.template()
    _, role = _scheduler_role(template)
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    (group_id,) = resources_of_type(template, "AWS::Scheduler::ScheduleGroup")
    assert logical_id_of(statement["Condition"]["StringEquals"]["aws:SourceArn"]) == group_id


def test_scheduler_role_may_only_invoke_the_target_and_reach_its_dlq(synthesized):
    template = synthesized.template()
    role_id, role = _scheduler_role(template)
    statements = role_statements(template, role_id)
    target_id = functions_by_name(template)["schedule_target"][0]
    dead_letter_queue_id = _schedule_dead_letter_queue_id(template)
    granted = sorted(
        (action, logical_id_of(resource))
        for statement in statements
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    )
    assert granted == sorted([("lambda:InvokeFunction", target_id), ("sqs:SendMessage", dead_letter_queue_id)])
    assert "ManagedPolicyArns" not in role["Properties"]


def test_scheduler_users_get_schedule_actions_on_their_group_only_and_pass_only_that_role(synthesized):
    template = synthesized.template()
    scheduler_role_id, _ = _scheduler_role(template)
    functions = functions_by_name(template)
    group = synthesized.default_config.schedule_group_name
    for spec in synthesized.routes.functions:
        if "scheduler" not in spec.uses:
            continue
        role_id = logical_id_of(functions[spec.name][1]["Role"])
        statements = role_statements(template, role_id)
        schedule_statements = [
            s
            for s in statements
            if any(a.startswith("scheduler:") for a in as_list(s["Action"])) and s["Resource"] != "*"
        ]
        assert actions_of(schedule_statements) == {
            "scheduler:CreateSchedule",
            "scheduler:UpdateSchedule",
            "scheduler:DeleteSchedule",
            "scheduler:GetSchedule",
        }
        for statement in schedule_statements:
            (resource,) = as_list(statement["Resource"])
            assert resource["Fn::Join"][1][-1] == f":schedule/{group}/*", spec.name
        (pass_role,) = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
        assert logical_id_of(pass_role["Resource"]) == scheduler_role_id
        assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_only_the_reaper_may_list_schedules_for_its_orphan_sweep(synthesized):
    template = synthesized.template()
    functions = functions_by_name(template)
    listers = set()
    for name, (_, function) in functions.items():
        statements = role_statements(template, logical_id_of(function["Role"]))
        if any("scheduler:ListSchedules" in as_list(s["Action"]) for s in statements):
            listers.add(name)
    assert listers == {"reaper"}


def test_schedule_target_failures_land_in_an_encrypted_tls_only_dlq(synthesized):
    template = synthesized.template()
    dead_letter_queue_id = _schedule_dead_letter_queue_id(template)
    queue = template["Resources"][dead_letter_queue_id]
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    policies = [
        policy
        for policy in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
        if {"Ref": dead_letter_queue_id} in policy["Properties"]["Queues"]
    ]
    (deny,) = [
        s for policy in policies for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
    ]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_queue_consumers_report_batch_item_failures(synthesized, template):
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 3)
    functions = functions_by_name(synthesized.template())
    consumers = {
        logical_id_of(mapping["Properties"]["FunctionName"]): mapping["Properties"]
        for mapping in resources_of_type(synthesized.template(), "AWS::Lambda::EventSourceMapping").values()
    }
    for name in ("trigger_queue_consumer", "run_worker", "deliver_webhook_events"):
        mapping = consumers[functions[name][0]]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name


def test_queues_redrive_to_dlqs_after_the_configured_receive_count(synthesized):
    template = synthesized.template()
    config = synthesized.default_config
    functions = functions_by_name(template)
    for name, queue_config in (
        ("trigger_queue_consumer", config.trigger_queue),
        ("run_worker", config.work_queue),
        ("deliver_webhook_events", config.webhook_delivery_queue),
    ):
        (mapping,) = [
            m["Properties"]
            for m in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
            if logical_id_of(m["Properties"]["FunctionName"]) == functions[name][0]
        ]
        queue = template["Resources"][logical_id_of(mapping["EventSourceArn"])]["Properties"]
        assert queue["RedrivePolicy"]["maxReceiveCount"] == queue_config.max_receive_count
        assert queue["VisibilityTimeout"] == queue_config.visibility_timeout_seconds
        # A message must stay invisible for at least as long as its consumer may run.
        assert queue["VisibilityTimeout"] >= functions[name][1]["Timeout"]


def statements_on(statements: list[dict], resource_id: str | None) -> list[dict]:
    """The statements naming ``resource_id`` (CDK merges same-action statements into one with a list of
    resources, e.g. SendMessage on the work queue and on the webhook delivery queue)."""
    return [s for s in statements if resource_id in {logical_id_of(r) for r in as_list(s["Resource"])}]


def test_work_queue_senders_may_send_and_only_send(synthesized):
    template = synthesized.template()
    functions = functions_by_name(template)
    work_queue_id = logical_id_of(functions["execute_workflow"][1]["Environment"]["Variables"]["RUN_WORK_QUEUE_URL"])
    for spec in synthesized.routes.routes:
        statements = role_statements(template, logical_id_of(functions[spec.name][1]["Role"]))
        on_work_queue = statements_on(statements, work_queue_id)
        if "work_queue" in spec.uses:
            assert actions_of(on_work_queue) == {"sqs:SendMessage"}, spec.name
        else:
            assert on_work_queue == [], spec.name


def test_only_the_webhook_event_producers_may_send_to_the_delivery_queue_and_only_send(synthesized):
    # Given the functions that change runs or workflows (they emit events), the reaper (its due sweep)
    # and the deliverer (its own retries): they, and only they, get the queue URL and SendMessage
    template = synthesized.template()
    functions = functions_by_name(template)
    deliverer = functions["deliver_webhook_events"][1]
    queue_id = logical_id_of(deliverer["Environment"]["Variables"]["WEBHOOK_DELIVERY_QUEUE_URL"])
    producers = {spec.name for spec in synthesized.routes.functions if "webhook_queue" in spec.uses}
    assert {"create_workflow", "update_workflow", "delete_workflow", "execute_workflow", "schedule_target"} <= producers
    assert {"trigger_queue_consumer", "run_worker", "receive_webhook", "reaper", "deliver_webhook_events"} <= producers
    for spec in synthesized.routes.functions:
        function = functions[spec.name][1]
        statements = role_statements(template, logical_id_of(function["Role"]))
        on_queue = statements_on(statements, queue_id)
        variables = function.get("Environment", {}).get("Variables", {})
        if spec.name == "deliver_webhook_events":  # also the queue's consumer (its event source mapping)
            assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions_of(on_queue)
        elif spec.name in producers:
            assert actions_of(on_queue) == {"sqs:SendMessage"}, spec.name
            assert "WEBHOOK_DELIVERY_QUEUE_URL" in variables, spec.name
        else:
            assert on_queue == [], spec.name
            assert "WEBHOOK_DELIVERY_QUEUE_URL" not in variables, spec.name


def test_reaper_runs_on_the_configured_rate(synthesized, template):
    minutes = synthesized.default_config.reaper.rate_minutes
    reaper_id = functions_by_name(synthesized.template())["reaper"][0]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": f"rate({minutes} minutes)",
            "State": "ENABLED",
            "Targets": Match.array_with([Match.object_like({"Arn": {"Fn::GetAtt": [reaper_id, "Arn"]}})]),
        },
    )


def test_a_failed_reaper_pass_is_not_retried_by_lambda(synthesized):
    # Given the reaper, invoked asynchronously by its rule: Lambda retries a failed asynchronous
    # invocation twice unless told otherwise
    template = synthesized.template()
    reaper_id = functions_by_name(template)["reaper"][0]
    (config,) = [
        resource["Properties"]
        for resource in resources_of_type(template, "AWS::Lambda::EventInvokeConfig").values()
        if logical_id_of(resource["Properties"]["FunctionName"]) == reaper_id
    ]
    # Then a failed pass is not run again: the next tick is its retry (a pass is idempotent)
    assert config["MaximumRetryAttempts"] == 0


def test_every_dlq_has_a_depth_alarm(synthesized):
    template = synthesized.template()
    dead_letter_queues = {
        logical_id_of(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in resources_of_type(template, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    } | {_schedule_dead_letter_queue_id(template)}
    alarmed = {
        logical_id_of(dimension["Value"])
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["Properties"]["Threshold"] == 0
        for dimension in alarm["Properties"]["Dimensions"]
    }
    assert dead_letter_queues == alarmed
    assert len(dead_letter_queues) == 4


def test_every_function_is_covered_by_an_errors_and_a_throttles_alarm(synthesized):
    template = synthesized.template()
    covered: dict[str, set[str]] = {"Errors": set(), "Throttles": set()}
    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
        for query in alarm["Properties"].get("Metrics", []):
            stat = query.get("MetricStat")
            if stat and stat["Metric"]["MetricName"] in covered:
                for dimension in stat["Metric"]["Dimensions"]:
                    covered[stat["Metric"]["MetricName"]].add(logical_id_of(dimension["Value"]))
        assert alarm["Properties"]["AlarmActions"], "an alarm nobody hears is useless"
    function_ids = {logical_id for logical_id, _ in functions_by_name(template).values()}
    assert covered["Errors"] == function_ids
    assert covered["Throttles"] == function_ids


def test_reaper_gets_the_pause_ttl_push_grace_and_listing_interval_from_cdk_json(synthesized):
    # Given the reaper section of cdk.json
    reaper = synthesized.default_config.reaper
    # When the stack is synthesized
    environment = functions_by_name(synthesized.template())["reaper"][1]["Environment"]["Variables"]
    # Then the reaper runs with those values, not the runtime's defaults
    assert environment["REAPER_PAUSE_TTL_SECONDS"] == str(reaper.pause_ttl_seconds)
    assert environment["REAPER_SCHEDULE_PUSH_GRACE_SECONDS"] == str(reaper.schedule_push_grace_seconds)
    assert environment["REAPER_SCHEDULE_LISTING_INTERVAL_SECONDS"] == str(reaper.schedule_listing_interval_seconds)


def test_every_store_user_gets_the_dispatch_bounds_and_dedupe_window_from_cdk_json(synthesized):
    # Given the concurrency and dedupe sections of cdk.json
    config = synthesized.default_config
    functions = functions_by_name(synthesized.template())
    store_users = [spec.name for spec in synthesized.routes.routes if "store" in spec.uses]
    assert store_users
    # Then each function that reads or writes the store dispatches and dedupes with those values
    for name in store_users:
        environment = functions[name][1]["Environment"]["Variables"]
        assert environment["DISPATCH_MAX_WORKFLOWS"] == str(config.concurrency.dispatch_max_workflows), name
        assert environment["DISPATCH_MAX_RUNS"] == str(config.concurrency.dispatch_max_runs), name
        assert environment["DEDUPE_WINDOW_SECONDS"] == str(config.dedupe.window_seconds), name
