"""``ports.Clock`` for tests: a clock that stands still until a test moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Where every manual clock starts unless told otherwise.
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or T0

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current
