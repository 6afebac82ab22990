"""Round-trip budget: each schedule operation uses no more MongoDB operations and AWS calls than the design needs."""

from __future__ import annotations

from bench.schedule_round_trips import MINIMUMS, format_table, measure_round_trips


def test_every_schedule_operation_stays_within_its_round_trip_minimum():
    rows = measure_round_trips()
    assert [row.operation for row in rows] == list(MINIMUMS)
    over = [row for row in rows if not row.within_minimum]
    assert over == [], format_table(rows)
    create = rows[0]
    # DESIGN.md section 10's minimum (workflow lookup, insert, CreateSchedule) plus the one write that
    # records the generation AWS holds, without which a crash before it could never be told apart
    assert create.detail == {
        "workflows.find_one": 1,
        "workflow_schedules.insert_one": 1,
        "CreateSchedule": 1,
        "workflow_schedules.update_one": 1,
    }
