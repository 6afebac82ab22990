"""The workflow name a run event carries (``workflow_name``), kept per container for a short while.

Run documents hold the workflow's id, not its name, so a run event reads the name once (one indexed
read of the workflows collection) and later events of the same workflow in the same container reuse
it for ``cache_seconds``, as emission reuses a team's subscriptions. The workflow paths' own events
refresh it, so a container that renamed a workflow names it anew at once; another container may show
the previous name for up to ``cache_seconds``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.schedules import WorkflowNames

NAME_CACHE_SECONDS = 30.0
_MOST_KEPT = 10_000


class WorkflowNameCache:
    """Current workflow names by (team, workflow), read through ``names`` when not fresh."""

    def __init__(self, names: WorkflowNames, clock: Clock, *, cache_seconds: float = NAME_CACHE_SECONDS) -> None:
        self._names = names
        self._clock = clock
        self._ttl = timedelta(seconds=cache_seconds)
        self._kept: dict[tuple[str, str], tuple[datetime, str | None]] = {}

    def name(self, team_id: str, workflow_id: str) -> str | None:
        """The workflow's current name; None for a workflow that is gone (or another team's)."""
        now = self._clock.now()
        kept = self._kept.get((team_id, workflow_id))
        if kept is not None and kept[0] <= now < kept[0] + self._ttl:
            return kept[1]
        name = self._names.names(team_id, [workflow_id]).get(workflow_id)
        self.remember(team_id, workflow_id, name)
        return name

    def remember(self, team_id: str, workflow_id: str, name: str | None) -> None:
        """Keep ``name`` as of now (the workflow paths know it when they write)."""
        if len(self._kept) >= _MOST_KEPT:  # a container serving very many workflows: start afresh
            self._kept.clear()
        self._kept[(team_id, workflow_id)] = (self._clock.now(), name)
