"""Moved to tests/fakes/clock.py (the one home of in-memory ports); kept until tests/unit/engine imports it there."""

from tests.fakes.clock import ManualClock

__all__ = ["ManualClock"]
