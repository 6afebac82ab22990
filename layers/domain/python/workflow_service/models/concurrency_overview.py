"""GET /workflows/v1/concurrency's shapes: who holds a team's slots and how many runs wait for one.

Apart from ``models.concurrency`` (the stored leases every admission uses) so that only that endpoint
declares them.
"""

from pydantic import Field

from workflow_service.models.common import ApiModel, UtcDatetime, empty_list


class SlotHolder(ApiModel):
    run_id: str = Field(description="The run holding the slot")
    since: UtcDatetime | None = Field(None, description="When the run acquired the slot")


class WorkflowConcurrency(ApiModel):
    workflow_id: str
    max_concurrent_runs: int = Field(description="The workflow's own cap; 0 = no cap (the team limit applies)")
    holders: list[SlotHolder] = Field(default_factory=empty_list, description="Runs of this workflow holding a slot")
    queue_length: int = Field(0, description="Runs of this workflow waiting for a slot")


class ConcurrencyOverview(ApiModel):
    """GET /workflows/v1/concurrency: who holds the team's slots and how many runs wait for one."""

    team_id: str
    max_concurrent_runs: int = Field(description="The team's limit on simultaneously running workflow runs")
    holders: list[SlotHolder] = Field(default_factory=empty_list, description="Runs holding one of the team's slots")
    available_slots: int = Field(description="Slots free right now (never negative)")
    queue_length: int = Field(0, description="Runs waiting for a slot (status not_started, queued)")
    workflows: list[WorkflowConcurrency] = Field(
        default_factory=empty_list, description="Workflows that hold slots or have queued runs"
    )
