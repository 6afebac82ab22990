"""DST policies of recurring schedules and the occurrences they produce (DESIGN.md section 4).

A recurring schedule's cron expression names wall-clock times in its IANA zone. Twice a year some
zones break the one-to-one mapping from wall time to instant: a spring-forward gap makes wall times
that do not exist, a fall-back overlap makes wall times that happen twice. ``DstPolicy`` says what the
schedule does then; ``Occurrence`` is one instant a schedule fires, with its wall time and why.
"""

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import Field

from workflow_service.models.common import ApiModel, RequestModel, UtcDatetime


class SpringForward(StrEnum):
    """A wall time inside the spring-forward gap: ``skip`` it, or ``shift`` it forward by the gap's length."""

    SKIP = "skip"
    SHIFT = "shift"


class FallBack(StrEnum):
    """A wall time repeated by a fall-back overlap fires at its ``first`` instant, its ``second``, or ``both``."""

    FIRST = "first"
    SECOND = "second"
    BOTH = "both"


class DstTag(StrEnum):
    """Why an occurrence is special (null: an ordinary wall time)."""

    SHIFTED = "shifted"
    REPEATED_FIRST = "repeated_first"
    REPEATED_SECOND = "repeated_second"


SPRING_FORWARD_DESCRIPTION = (
    "A wall time inside the spring-forward gap: 'skip' (default: no firing) or 'shift' (fires the gap's "
    "length later, e.g. 02:30 becomes 03:30)"
)
FALL_BACK_DESCRIPTION = (
    "A wall time repeated when clocks fall back: fires at its 'first' instant (default), its 'second', or 'both'"
)


class DstPolicy(RequestModel):
    """What a recurring schedule does on DST nights (``/workflows/v1`` spelling)."""

    spring_forward: SpringForward = Field(SpringForward.SKIP, description=SPRING_FORWARD_DESCRIPTION)
    fall_back: FallBack = Field(FallBack.FIRST, description=FALL_BACK_DESCRIPTION)

    def camel(self) -> "CamelDstPolicy":
        return CamelDstPolicy(springForward=self.spring_forward, fallBack=self.fall_back)


class CamelDstPolicy(RequestModel):
    """``DstPolicy`` as the camelCase ``/api/v1/schedules`` API spells it."""

    springForward: SpringForward = Field(SpringForward.SKIP, description=SPRING_FORWARD_DESCRIPTION)
    fallBack: FallBack = Field(FallBack.FIRST, description=FALL_BACK_DESCRIPTION)

    def snake(self) -> DstPolicy:
        return DstPolicy(spring_forward=self.springForward, fall_back=self.fallBack)


DEFAULT_DST_POLICY = DstPolicy()
# The rule EventBridge Scheduler applies itself (a gap time is skipped, a repeated time runs once).
NATIVE_SPRING_FORWARD = SpringForward.SKIP


class Occurrence(ApiModel):
    """One instant a recurring schedule fires."""

    utc: UtcDatetime = Field(description="The instant, in UTC")
    local: str = Field(
        description="The wall time in the schedule's zone, ISO 8601 with its offset",
        examples=["2026-11-01T01:30:00-05:00"],
    )
    dst: DstTag | None = Field(
        None, description="null, 'shifted' (moved out of a spring gap), 'repeated_first' or 'repeated_second'"
    )


def compensation_name(schedule_id: str, instant: datetime) -> str:
    """The EventBridge name of the one-time schedule that fires ``schedule_id`` at ``instant`` (UTC)
    inside a DST transition window: derived from both alone, so every push addresses the same one."""
    return f"dst-{schedule_id}-{instant.strftime('%Y%m%dT%H%M%SZ')}"


def compensation_of(name: str) -> tuple[str, datetime] | None:
    """The (schedule id, instant) of a compensating schedule's name; None for any other name."""
    parts = name.split("-")
    if len(parts) != 3 or parts[0] != "dst" or len(parts[1]) != 24:
        return None
    if not all(char in "0123456789abcdef" for char in parts[1]):
        return None
    try:
        instant = datetime.strptime(parts[2], "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return parts[1], instant.replace(tzinfo=UTC)
