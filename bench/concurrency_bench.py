"""Concurrency and reaper round trips, counted (not timed) against the design's minimum.

- Admission: MongoDB operations to take a slot (team + workflow), and to give it back.
- Reaper: operations of the passes that fail 10,000 stale runs, alone and among 100,000 runs.
  The budget (DESIGN.md section 10) is that the cost grows with the stale runs, not with all runs:
  the two figures must be equal.

The store is mongomock with every operation counted (``StoreDatabase.counter``). mongomock answers
every query by scanning the whole collection, which for 100,000 runs would make this benchmark take
hours; ``_indexed_lookups`` lets it serve equality on ``_id`` and ``team_id`` from hash maps, as
MongoDB serves them from indexes. That changes how long a query takes, never which queries are made,
so the counts are those of a real MongoDB. Indexes are not created here for the same reason (mongomock
checks a unique index by scanning); counts do not depend on them.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from bson import ObjectId

from tests.fakes.clock import T0, ManualClock
from tests.support.workflows import waiting_workflow
from workflow_service import wiring
from workflow_service.adapters.mongo.store import in_memory
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.settings import Settings

STALE_RUNS = 10_000
TOTAL_RUNS = 100_000


@contextlib.contextmanager
def _indexed_lookups(collection_name: str) -> Iterator[None]:
    """Serve ``_id`` and ``team_id`` equality in ``collection_name`` from hash maps (see module docstring)."""
    from mongomock import collection as mongomock_collection
    from mongomock.filtering import filter_applies

    original = mongomock_collection.Collection._iter_documents
    by_team: dict[str, list[Any]] = {}
    indexed_count = [-1]

    def candidates(self: Any, selector: Any) -> list[dict[str, Any]] | None:
        documents = self._store._documents
        key = selector.get("_id")
        if isinstance(key, ObjectId):
            return [documents[key]] if key in documents else []
        if isinstance(key, dict) and set(key) == {"$in"}:
            return [documents[item] for item in key["$in"] if item in documents]
        team_id = selector.get("team_id")
        if isinstance(team_id, str):
            if indexed_count[0] != len(documents):  # team ids never change; rebuild after inserts only
                by_team.clear()
                for document_id, document in documents.items():
                    by_team.setdefault(document.get("team_id"), []).append(document_id)
                indexed_count[0] = len(documents)
            return [documents[item] for item in by_team.get(team_id, []) if item in documents]
        return None

    def iter_documents(self: Any, selector: Any) -> Any:
        if self.name == collection_name and isinstance(selector, dict):
            found = candidates(self, selector)
            if found is not None:
                return (document for document in found if filter_applies(selector, document))
        return original(self, selector)

    mongomock_collection.Collection._iter_documents = iter_documents  # type: ignore[method-assign]  # bench-only index emulation
    try:
        yield
    finally:
        mongomock_collection.Collection._iter_documents = original  # type: ignore[method-assign]


def _services(settings: dict[str, str] | None = None) -> wiring.Services:
    environment = {"WORKFLOWS_LOCAL_RUNTIME": "true", **(settings or {})}
    container = wiring.Services(
        Settings.from_environ(environment), database=in_memory(), clock=ManualClock(T0), metrics=DISCARDED_METRICS
    )
    wiring.install(container)
    return container


def _count(container: wiring.Services, action: Callable[[], Any]) -> Counter[str]:
    container.core.database.counter.reset()
    action()
    return Counter(container.core.database.counter.calls)


def admission_rows() -> list[dict[str, Any]]:
    """Round trips to take and to give back a slot (team limit and a workflow cap both apply)."""
    from workflow_service.models.workflows import CreateWorkflowRequest

    container = _services()
    try:
        team = container.auth.service.create_team("bench", 10)
        workflow = container.workflows.service.create(
            team.id,
            "u",
            CreateWorkflowRequest.model_validate(
                {"name": "bench", "max_concurrent_runs": 5, "workflow_config": waiting_workflow()}
            ),
        )
        admission = container.concurrency.admission
        warm = str(ObjectId())
        admission.try_acquire(team.id, workflow.id, warm)  # lease documents exist from now on
        run_id = str(ObjectId())
        granted: list[str] = []
        acquire = _count(container, lambda: granted.append(admission.try_acquire(team.id, workflow.id, run_id).token))
        release = _count(container, lambda: admission.release(team.id, workflow.id, run_id, granted[0]))
        for _ in range(4):
            admission.try_acquire(team.id, workflow.id, str(ObjectId()))
        refused = _count(container, lambda: admission.try_acquire(team.id, workflow.id, str(ObjectId())))
    finally:
        wiring.install(None)
    return [
        {
            "measure": "admission (slot granted)",
            "mongo_round_trips": sum(acquire.values()),
            "minimum": 4,
            "note": "team limit read, team lease update, workflow cap read, workflow lease update",
        },
        {
            "measure": "release",
            "mongo_round_trips": sum(release.values()),
            "minimum": 1,
            "note": "one update_many over the team and workflow lease documents",
        },
        {
            "measure": "admission (refused by the workflow cap)",
            "mongo_round_trips": sum(refused.values()),
            "minimum": 6,
            "note": "as granted, + workflow holders read (the refusal's 429 body), + team slot given back",
        },
    ]


def _run_document(index: int, team_id: str, workflow_id: str, *, stale: bool) -> dict[str, Any]:
    started = T0 - timedelta(hours=2)
    inner: dict[str, Any] = {
        "logical_id": f"workflow_run_{index}",
        "workflow_id": workflow_id,
        "version_number": 0,
        "trigger": {"type": "manual"},
        "turn_number": 1,
        "input_output_pairs": [],
        "comments": [],
        "claim": None,
        "state": None,
        "pending_input": None,
        "started_at": started,
    }
    if stale:  # a turn whose executor died: running, heartbeat deadline passed
        inner.update(
            status="running",
            heartbeat_at=started,
            heartbeat_deadline_at=started + timedelta(minutes=15),
            claim={"token": f"dead{index}", "claimed_at": started},
        )
    elif index % 2:  # most runs are finished
        inner.update(status="completed", finished_at=started + timedelta(minutes=1))
    else:  # and some are live, within their deadlines
        inner.update(status="waiting_for_user_input", input_deadline_at=T0 + timedelta(days=1))
    return {
        "_id": ObjectId(),
        "team_id": team_id,
        "created_by": "u",
        "updated_by": "u",
        "created_at": started,
        "updated_at": started,
        "workflow_run": inner,
    }


def reap_all_stale(stale_runs: int, total_runs: int, teams: int = 2_000) -> dict[str, Any]:
    """Insert ``total_runs`` runs of which ``stale_runs`` are stale, then run reaper passes until done."""
    container = _services({"REAPER_BATCH_SIZE": "1000", "REAPER_MAX_BATCHES": "10"})
    try:
        team_ids = [f"team-{number}" for number in range(teams)]
        container.core.database.raw["teams"].insert_many(
            [{"_id": team_id, "name": team_id, "max_concurrent_runs": 10_000, "created_at": T0} for team_id in team_ids]
        )
        workflow_id = str(ObjectId())
        documents = [
            _run_document(index, team_ids[index % teams], workflow_id, stale=index < stale_runs)
            for index in range(total_runs)
        ]
        with _indexed_lookups("workflow_runs"):
            container.core.database.raw["workflow_runs"].insert_many(documents)
            del documents
            reaper = container.reaper.service
            counter = container.core.database.counter
            counter.reset()
            passes, failed = 0, 0
            while True:
                summary = reaper.reap()
                passes += 1
                failed += summary["heartbeat_expired"]
                if summary["complete"] or passes > 100:
                    break
            calls = Counter(counter.calls)
    finally:
        wiring.install(None)
    return {"passes": passes, "failed": failed, "round_trips": sum(calls.values()), "breakdown": dict(calls)}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The reaper logs each pass and the dispatcher each admission; a benchmark prints only its table."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


def reaper_rows() -> list[dict[str, Any]]:
    with _quiet():
        alone = reap_all_stale(STALE_RUNS, STALE_RUNS)
        among = reap_all_stale(STALE_RUNS, TOTAL_RUNS)
    per_run = alone["round_trips"] / max(alone["failed"], 1)
    return [
        {
            "measure": f"reaper: {STALE_RUNS:,} stale runs ({alone['passes']} pass(es))",
            "mongo_round_trips": alone["round_trips"],
            "minimum": f"{STALE_RUNS * 3:,} + batches",
            "note": f"{per_run:.2f} per stale run: fail (1), release slot (1), dispatch queue read (1); "
            f"{alone['failed']:,} failed",
        },
        {
            "measure": f"reaper: {STALE_RUNS:,} stale among {TOTAL_RUNS:,} runs ({among['passes']} pass(es))",
            "mongo_round_trips": among["round_trips"],
            "minimum": f"= {alone['round_trips']:,} (budget)",
            "note": "equal: cost follows stale runs, not all runs"
            if among["round_trips"] == alone["round_trips"]
            else "NOT EQUAL: cost depends on the number of runs",
        },
    ]


def rows() -> list[dict[str, Any]]:
    """Every row of this benchmark (called by ``python -m bench``); prints nothing."""
    with _quiet():
        return admission_rows() + reaper_rows()
