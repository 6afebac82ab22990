"""The one-time schedule endpoints' request and response shapes (seeds 000 and 004).

Apart from ``models.schedules`` (what a schedule is, and the event EventBridge delivers) so that the
firing path and the reaper declare none of them.
"""

from typing import Any

from pydantic import ConfigDict, Field, RootModel, field_validator

from workflow_service.models.common import RequestModel, refuse_null
from workflow_service.models.run_input import WorkflowRunInput
from workflow_service.models.schedules import ScheduledTime, ScheduleStatus, WorkflowSchedule


class WorkflowScheduleList(RootModel):  # type: ignore[type-arg]  # see below: parametrizing costs cold start
    """A bare JSON array of schedules (not paginated: use skip and limit)."""

    # Declared rather than parametrized (RootModel[...]): a parametrized base builds its schema at import.
    model_config = ConfigDict(defer_build=True)
    root: list[WorkflowSchedule]


class CreateScheduleRequest(RequestModel):
    scheduled_time: ScheduledTime
    run_input: WorkflowRunInput | None = Field(
        None, description="Input to the workflow, used to kick off the run (command must be 'start')"
    )
    version: int | None = Field(
        None, ge=0, description="Version to run (default: the version active when the schedule fires)"
    )
    scheduled_by_name: str | None = Field(
        None, max_length=200, description="Display name of the user creating the schedule"
    )


class UpdateScheduleRequest(RequestModel):
    """Any of the fields; only a pending schedule can be changed."""

    scheduled_time: ScheduledTime | None = None
    run_input: WorkflowRunInput | None = None
    version: int | None = Field(None, ge=0, description="null: run the version active when the schedule fires")

    @field_validator("scheduled_time", "run_input")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ListSchedulesQuery(RequestModel):
    status: ScheduleStatus | None = None
    skip: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=100)
