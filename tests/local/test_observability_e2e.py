"""The done-when check of issue 16 over HTTP against ``python -m local``: a run prints JSON log
records carrying its run and team ids and EMF records counting it; an idle runtime stays quiet."""

from __future__ import annotations

import json
import re
import time

from tests.support.local_runtime import LocalService

V1 = "/workflows/v1"
ONE_NODE = {"nodes": [{"logical_id": "only", "type": "no_op", "is_start": True}]}
# Idle, the reaper passes this often; an idle pass must print nothing at the default LOG_LEVEL.
REAPER_INTERVAL = "0.2"
ACCESS_LINE = re.compile(r"(GET|POST|PUT|PATCH|DELETE) /\S+ \d{3} ")


def json_records(output: str) -> list[dict]:
    """Every line the runtime printed that is a JSON object (the banner is plain text)."""
    records = []
    for line in output.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def emitted_metric_names(record: dict) -> set[str]:
    return {metric["Name"] for block in record["_aws"]["CloudWatchMetrics"] for metric in block["Metrics"]}


def test_a_run_prints_json_logs_with_its_ids_and_emf_records_and_an_idle_runtime_is_quiet():
    service = LocalService(env={"REAPER_LOCAL_INTERVAL_SECONDS": REAPER_INTERVAL})
    try:
        status, created, _ = service.request("POST", f"{V1}/workflows", {"name": "obs", "workflow_config": ONE_NODE})
        assert status == 200, created
        workflow_id = created["workflow"]["_id"]
        status, executed, _ = service.request("POST", f"{V1}/workflows/{workflow_id}/execute", {"run_input": {}})
        assert status == 200 and executed["status"] == "completed", executed
        run_id = executed["run_id"]
        status, run, _ = service.request("GET", f"{V1}/workflow-runs/{run_id}")
        assert status == 200, run
        team_id = run["workflow_run"]["team_id"]
        # Idle for many reaper passes
        time.sleep(3)
    finally:
        output = service.stop()

    records = json_records(output)
    logs = [record for record in records if "_aws" not in record]
    emf = [record for record in records if "_aws" in record]
    # Every service line has the JSON shape
    assert logs and all({"level", "message", "timestamp", "service"} <= set(line) for line in logs), output
    # The run's lines carry its run id and team id
    assert any(line.get("run_id") == run_id and line.get("team_id") == team_id for line in logs), output
    # EMF records counted it started and finished, with its ids as metadata and low-cardinality dimensions
    started = [record for record in emf if "RunsStarted" in emitted_metric_names(record)]
    finished = [record for record in emf if "RunsFinished" in emitted_metric_names(record)]
    assert [(r["trigger"], r["status"], r["run_id"]) for r in started] == [("manual", "started", run_id)], output
    assert [(r["trigger"], r["status"], r["run_id"]) for r in finished] == [("manual", "completed", run_id)], output
    assert all(r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "WorkflowService" for r in emf)
    # And an idle runtime printed nothing after the last request (at most one line per 15 s allowed)
    # (the last access line of any request: a server thread may print its line after the client's
    # next request was answered)
    last_request = max(index for index, line in enumerate(logs) if ACCESS_LINE.match(line["message"]))
    assert logs[last_request + 1 :] == [], output
    assert "reaper pass" not in output
