"""Concurrency and reaper round trips, counted (not timed) against the design's minimum.

- Admission: MongoDB operations to take a slot (team + workflow), and to give it back.
- Reaper: operations of the passes that fail 10,000 stale runs beside 1,000 live ones, alone and among
  100,000 runs (the rest finished).
  The budget (DESIGN.md section 10) is that the cost grows with the stale runs, not with all runs:
  the two figures must be equal.

The store is mongomock with every operation counted (``StoreDatabase.counter``). mongomock answers
every query by scanning the whole collection, which for 100,000 runs would make this benchmark take
hours; ``_indexed_lookups`` lets it serve equality on ``_id`` and ``team_id`` (runs, leases) from hash maps, as
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
from workflow_service.models.concurrency import LeaseScope, lease_key
from workflow_service.ports.metrics import DISCARDED_METRICS
from workflow_service.settings import Settings

STALE_RUNS = 10_000
TOTAL_RUNS = 100_000
# Runs that hold a slot legitimately: the reaper's lease reconciliation reads them on every pass.
LIVE_RUNS = 1_000
# Each team has one workflow; the stale runs are spread over them.
TEAMS = 2_000


@contextlib.contextmanager
def _indexed_lookups(*collection_names: str) -> Iterator[None]:
    """Serve ``_id`` and ``team_id`` equality in ``collection_names`` from hash maps (see module docstring)."""
    from mongomock import collection as mongomock_collection
    from mongomock.filtering import filter_applies

    original = mongomock_collection.Collection._iter_documents
    # Per collection: team id -> document ids, and the collection size that map was built at.
    by_team: dict[str, dict[str, list[Any]]] = {name: {} for name in collection_names}
    indexed_count = dict.fromkeys(collection_names, -1)

    def candidates(self: Any, selector: Any) -> list[dict[str, Any]] | None:
        documents = self._store._documents
        key = selector.get("_id")
        if isinstance(key, ObjectId | str):
            return [documents[key]] if key in documents else []
        if isinstance(key, dict) and set(key) == {"$in"}:
            return [documents[item] for item in key["$in"] if item in documents]
        team_id = selector.get("team_id")
        if isinstance(team_id, str):
            team_map = by_team[self.name]
            if indexed_count[self.name] != len(documents):  # team ids never change; rebuild after inserts only
                team_map.clear()
                for document_id, document in documents.items():
                    team_map.setdefault(document.get("team_id"), []).append(document_id)
                indexed_count[self.name] = len(documents)
            return [documents[item] for item in team_map.get(team_id, []) if item in documents]
        return None

    def iter_documents(self: Any, selector: Any) -> Any:
        if self.name in collection_names and isinstance(selector, dict):
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
    from workflow_service.models.workflow_api import CreateWorkflowRequest

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


def _run_document(index: int, team_id: str, workflow_id: str, kind: str) -> dict[str, Any]:
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
        "lease_token": f"lease{index}" if kind in ("stale", "live") else None,
    }
    if kind == "stale":  # a turn whose executor died: running, heartbeat deadline passed
        inner.update(
            status="running",
            heartbeat_at=started,
            heartbeat_deadline_at=started + timedelta(minutes=15),
            claim={"token": f"dead{index}", "claimed_at": started},
        )
    elif kind == "live":  # waiting for its user, within its deadline
        inner.update(status="waiting_for_user_input", input_deadline_at=T0 + timedelta(days=1))
    else:
        inner.update(status="completed", finished_at=started + timedelta(minutes=1))
    return {
        "_id": ObjectId(),
        "team_id": team_id,
        "created_by": "u",
        "updated_by": "u",
        "created_at": started,
        "updated_at": started,
        "workflow_run": inner,
    }


def _leases_of(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The team and workflow lease documents that the slot-holding ``runs`` hold, as admission wrote them."""
    leases: dict[str, dict[str, Any]] = {}
    for run in runs:
        inner = run["workflow_run"]
        token = inner["lease_token"]
        if token is None:
            continue
        run_id = str(run["_id"])
        for scope, owner_id in ((LeaseScope.TEAM, run["team_id"]), (LeaseScope.WORKFLOW, inner["workflow_id"])):
            key = lease_key(scope, owner_id)
            lease = leases.setdefault(
                key,
                {
                    "_id": key,
                    "scope": scope.value,
                    "team_id": run["team_id"],
                    "workflow_id": owner_id if scope is LeaseScope.WORKFLOW else None,
                    "holders": [],
                    "since": {},
                    "tokens": {},
                },
            )
            lease["holders"].append(run_id)
            lease["since"][run_id] = inner["started_at"]
            lease["tokens"][run_id] = token
    return list(leases.values())


def reap_all_stale(stale_runs: int, total_runs: int, live_runs: int = LIVE_RUNS, teams: int = TEAMS) -> dict[str, Any]:
    """Insert ``total_runs`` runs: ``stale_runs`` stale, ``live_runs`` waiting for input, the rest finished.

    Every slot-holding run holds its team and workflow leases, as admission leaves them, and each team
    has its own workflow; the reaper then runs passes until it reports it saw everything. What differs
    between two calls with the same stale and live runs is only the number of finished runs, which is
    what the budget says must not change the cost."""
    container = _services({"REAPER_BATCH_SIZE": "1000", "REAPER_MAX_BATCHES": "10"})
    try:
        team_ids = [f"team-{number}" for number in range(teams)]
        workflow_ids = {team_id: str(ObjectId()) for team_id in team_ids}
        container.core.database.raw["teams"].insert_many(
            [{"_id": team_id, "name": team_id, "max_concurrent_runs": 10_000, "created_at": T0} for team_id in team_ids]
        )
        documents = []
        for index in range(total_runs):
            team_id = team_ids[index % teams]
            kind = "stale" if index < stale_runs else "live" if index < stale_runs + live_runs else "finished"
            documents.append(_run_document(index, team_id, workflow_ids[team_id], kind))
        with _indexed_lookups("workflow_runs", "concurrency_leases"):
            container.core.database.raw["workflow_runs"].insert_many(documents)
            container.core.database.raw["concurrency_leases"].insert_many(_leases_of(documents))
            del documents
            reaper = container.reaper.service
            counter = container.core.database.counter
            counter.reset()
            passes, failed, repaired = 0, 0, 0
            while True:
                summary = reaper.reap()
                passes += 1
                failed += summary["heartbeat_expired"]
                repaired += summary["leases_reconciled"] + summary["leases_restored"]
                if summary["complete"] or passes > 100:
                    break
            calls = Counter(counter.calls)
    finally:
        wiring.install(None)
    return {
        "passes": passes,
        "failed": failed,
        "leases_repaired": repaired,
        "round_trips": sum(calls.values()),
        "breakdown": dict(calls),
    }


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
        alone = reap_all_stale(STALE_RUNS, STALE_RUNS + LIVE_RUNS)
        among = reap_all_stale(STALE_RUNS, TOTAL_RUNS)
    per_run = alone["round_trips"] / max(alone["failed"], 1)
    return [
        {
            "measure": f"reaper: {STALE_RUNS:,} stale runs, {LIVE_RUNS:,} live ({alone['passes']} pass(es))",
            "mongo_round_trips": alone["round_trips"],
            "minimum": f"{STALE_RUNS * 3 + TEAMS:,} + batches",
            "note": f"{per_run:.2f} per stale run: fail (1), release slot (1), dispatch queue read (1), and one "
            f"webhook subscriptions read per team ({TEAMS:,}); {alone['failed']:,} failed, "
            f"{alone['leases_repaired']} leases repaired",
        },
        {
            "measure": f"reaper: the same among {TOTAL_RUNS:,} runs ({among['passes']} pass(es))",
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
