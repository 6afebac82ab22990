"""The EMF adapter: the JSON CloudWatch reads metrics from, one record per dimension group."""

from __future__ import annotations

import json

from workflow_service.adapters.aws.metrics import EmfMetrics


def test_flush_writes_one_embedded_metric_format_record_per_dimension_group():
    lines: list[str] = []
    sink = EmfMetrics("WorkflowService", "workflow-service-test", write=lines.append)
    sink.emit("RunsStarted", 1, dimensions={"trigger": "manual", "status": "started"}, metadata={"run_id": "r1"})
    sink.emit("TurnDuration", 12.5, "Milliseconds")
    sink.emit("TurnDuration", 7, "Milliseconds")

    sink.flush()

    started, durations = (json.loads(line) for line in lines)
    assert started == {
        "_aws": {
            "Timestamp": started["_aws"]["Timestamp"],
            "CloudWatchMetrics": [
                {
                    "Namespace": "WorkflowService",
                    "Dimensions": [["service", "status", "trigger"]],
                    "Metrics": [{"Name": "RunsStarted", "Unit": "Count"}],
                }
            ],
        },
        "service": "workflow-service-test",
        "status": "started",
        "trigger": "manual",
        "run_id": "r1",
        "RunsStarted": [1.0],
    }
    assert isinstance(started["_aws"]["Timestamp"], int)
    # Only the service: ids and names stay out of dimensions
    assert durations["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert durations["TurnDuration"] == [12.5, 7.0]


def test_a_flush_with_nothing_buffered_prints_nothing_and_values_are_flushed_once():
    lines: list[str] = []
    sink = EmfMetrics("WorkflowService", "workflow-service-test", write=lines.append)
    sink.flush()
    assert lines == []
    sink.emit("ReaperRepairs", 2, dimensions={"kind": "heartbeat"})
    sink.flush()
    sink.flush()
    assert len(lines) == 1
