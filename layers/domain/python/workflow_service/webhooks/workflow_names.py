"""The workflow name a run event carries (``workflow_name``), kept per container for a short while.

Run documents hold the workflow's id, not its name, so a run event reads the name once (one indexed
read of the workflows collection) and later events of the same workflow in the same container reuse
it for ``cache_seconds``, as emission reuses a team's subscriptions. The workflow paths' own events
refresh it, so a container that renamed a workflow names it anew at once; another container may show
the previous name for up to ``cache_seconds``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow_service.webhooks.fresh import FreshCache

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.schedules import WorkflowNames

NAME_CACHE_SECONDS = 30.0


class WorkflowNameCache:
    """Current workflow names by (team, workflow), read through ``names`` when not fresh."""

    def __init__(self, names: WorkflowNames, clock: Clock, *, cache_seconds: float = NAME_CACHE_SECONDS) -> None:
        self._names = names
        self._kept: FreshCache[tuple[str, str], str | None] = FreshCache(clock, cache_seconds)

    def name(self, team_id: str, workflow_id: str) -> str | None:
        """The workflow's current name; None for a workflow that is gone (or another team's)."""
        return self._kept.get_or_read(
            (team_id, workflow_id), lambda: self._names.names(team_id, [workflow_id]).get(workflow_id)
        )

    def remember(self, team_id: str, workflow_id: str, name: str | None) -> None:
        """Keep ``name`` as of now (the workflow paths know it when they write)."""
        self._kept.put((team_id, workflow_id), name)
