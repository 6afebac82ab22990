"""Reading a turn's events in the engine tests."""

from __future__ import annotations

from typing import Any

from workflow_service.engine import TurnResult


def types_of(result: TurnResult) -> list[str]:
    return [event["type"] for event in result.events]


def of_type(result: TurnResult, event_type: str) -> list[dict[str, Any]]:
    return [event for event in result.events if event["type"] == event_type]
