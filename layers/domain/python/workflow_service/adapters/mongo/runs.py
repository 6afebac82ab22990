"""Workflow runs in MongoDB (collection ``workflow_runs``).

Operational fields live inside ``workflow_run`` next to the public ones: ``claim`` (who executes
the current turn), ``state`` (the engine's state between turns), ``pending_input`` (the input of a
queued run's first turn), ``dedupe_key`` (one run per schedule firing, message or webhook id) and
``lease_token`` (the token of the lease acquisition that made the run slot-holding, written by the
same conditional write as that status). None of them is returned by the API.
"""

from __future__ import annotations

import builtins
import random
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import bson
from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.adapters.mongo.documents import (
    from_document,
    id_selector,
    object_id,
    search_regex,
    stored_id,
    to_model,
    to_model_or_none,
)
from workflow_service.errors import Unstorable
from workflow_service.models.runs import SLOT_HOLDING_STATUSES, WorkflowRunsModel
from workflow_service.ports.clock import Clock
from workflow_service.ports.errors import DuplicateKey
from workflow_service.ports.runs import RunSlotState, TurnClaim

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

RUNS = "workflow_runs"
W = "workflow_run."
_HIDDEN = {f"{W}state": 0, f"{W}pending_input": 0}
_LIST_FIELDS = {
    "team_id": 1,
    "created_by": 1,
    "updated_by": 1,
    "created_at": 1,
    "updated_at": 1,
    f"{W}logical_id": 1,
    f"{W}workflow_id": 1,
    f"{W}version_number": 1,
    f"{W}status": 1,
    f"{W}trigger": 1,
    f"{W}turn_number": 1,
    f"{W}termination_source": 1,
    f"{W}queued_at": 1,
}

INDEXES: dict[str, list[dict[str, Any]]] = {
    RUNS: [
        # GET /workflow-runs: newest first within a team, optionally per workflow or status.
        {"keys": [("team_id", ASCENDING), ("created_at", DESCENDING)], "name": "team_recent"},
        {
            "keys": [("team_id", ASCENDING), (f"{W}workflow_id", ASCENDING), ("created_at", DESCENDING)],
            "name": "team_workflow_recent",
        },
        {
            "keys": [("team_id", ASCENDING), (f"{W}status", ASCENDING), ("created_at", DESCENDING)],
            "name": "team_status_recent",
        },
        # The reaper's sweep: distinct teams with queued runs.
        {"keys": [(f"{W}status", ASCENDING), ("team_id", ASCENDING)], "name": "queued_teams"},
        # The team's FIFO queue and queue positions.
        {
            "keys": [
                ("team_id", ASCENDING),
                (f"{W}status", ASCENDING),
                (f"{W}queued_at", ASCENDING),
                ("_id", ASCENDING),
            ],
            "name": "team_queue",
        },
        # The dispatcher: the workflows with queued runs, and the head of each one's queue.
        {
            "keys": [
                ("team_id", ASCENDING),
                (f"{W}status", ASCENDING),
                (f"{W}workflow_id", ASCENDING),
                (f"{W}queued_at", ASCENDING),
                ("_id", ASCENDING),
            ],
            "name": "team_workflow_queue",
        },
        # The reaper: one index per deadline, led by status.
        {"keys": [(f"{W}status", ASCENDING), (f"{W}heartbeat_deadline_at", ASCENDING)], "name": "reap_heartbeat"},
        {"keys": [(f"{W}status", ASCENDING), (f"{W}input_deadline_at", ASCENDING)], "name": "reap_input"},
        {"keys": [(f"{W}status", ASCENDING), (f"{W}queue_deadline_at", ASCENDING)], "name": "reap_queue"},
        {"keys": [(f"{W}status", ASCENDING), (f"{W}pause_deadline_at", ASCENDING)], "name": "reap_pause"},
        # Lease reconciliation: the slot-holding runs, paged by id.
        {"keys": [(f"{W}status", ASCENDING), ("_id", ASCENDING)], "name": "slot_holding_runs"},
        # One run per schedule firing / message / webhook id.
        {"keys": [(f"{W}dedupe_key", ASCENDING)], "name": "dedupe_key_unique", "unique": True, "sparse": True},
        # The reaper's re-emission: runs still carrying a webhook outbox marker (only those are indexed).
        *(
            {"keys": [(f"{W}webhook_outbox.{action}", ASCENDING)], "name": f"outbox_{action}", "sparse": True}
            for action in ("workflow_run_started", "workflow_run_completed")
        ),
    ],
}


def _run(document: dict[str, Any] | None) -> WorkflowRunsModel | None:
    return to_model_or_none(WorkflowRunsModel, document)


def _new_document(run: WorkflowRunsModel, *, claim: dict[str, Any] | None) -> dict[str, Any]:
    document = run.model_dump(by_alias=True, exclude={"workflow_run": {"queue_position"}})
    document["_id"] = stored_id(run.id)
    document["workflow_run"].update(
        claim=claim, state=None, pending_input=None, lease_token=run.workflow_run.lease_token
    )
    if run.workflow_run.webhook_outbox:  # absent, never null: a marker write $sets a key inside it
        document["workflow_run"]["webhook_outbox"] = dict(run.workflow_run.webhook_outbox)
    return document


def _prefixed(changes: dict[str, Any]) -> dict[str, Any]:
    return {f"{W}{key}": value for key, value in changes.items()}


# MongoDB refuses documents over 16 MiB (mongomock does not): a run's turns (``input_output_pairs``) and
# state must stay below this, which leaves room for the rest of the run document (comments, usage, ids).
MAX_RUN_HISTORY_BYTES = 15 * 1024 * 1024
# One turn's events and input, stored: a turn producing more is failed with the reason, so no single
# turn can take most of what the run may ever store.
MAX_TURN_OUTPUT_BYTES = 4 * 1024 * 1024


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count / 1024:.1f} KiB"


def _bson_size(value: dict[str, Any] | None) -> int:
    try:
        return len(bson.encode(value or {}))
    except (InvalidDocument, OverflowError) as exc:
        raise Unstorable(f"the data cannot be stored: {str(exc)[:200]}") from exc


class MongoRunRepository:
    def __init__(
        self,
        database: StoreDatabase,
        clock: Clock,
        *,
        max_history_bytes: int = MAX_RUN_HISTORY_BYTES,
        max_turn_bytes: int = MAX_TURN_OUTPUT_BYTES,
    ) -> None:
        self._runs = database[RUNS]
        self._clock = clock
        self._max_history_bytes = max_history_bytes
        self._max_turn_bytes = max_turn_bytes

    def _update(self, selector: dict[str, Any] | None, update: dict[str, Any]) -> WorkflowRunsModel | None:
        if selector is None:
            return None
        update.setdefault("$set", {})["updated_at"] = self._clock.now()
        return _run(
            self._runs.find_one_and_update(selector, update, projection=_HIDDEN, return_document=ReturnDocument.AFTER)
        )

    def insert(
        self,
        run: WorkflowRunsModel,
        *,
        state: dict[str, Any] | None = None,
        pending_input: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        document = _new_document(run, claim=None)
        document["workflow_run"].update(state=state, pending_input=pending_input)
        if dedupe_key is not None:
            document["workflow_run"]["dedupe_key"] = dedupe_key
        try:
            self._runs.insert_one(document)
        except DuplicateKeyError as exc:
            raise DuplicateKey(dedupe_key) from exc

    def insert_claimed(self, run: WorkflowRunsModel, claimed_at: datetime) -> TurnClaim:
        token = secrets.token_hex(12)
        # The same claim claim_turn writes; nobody else can know the run before this insert, so the
        # claim needs no condition.
        self._runs.insert_one(_new_document(run, claim={"token": token, "claimed_at": claimed_at}))
        return TurnClaim(run_id=str(run.id), token=token, turn=run.workflow_run.turn_number + 1)

    def get(self, team_id: str | None, run_id: str) -> WorkflowRunsModel | None:
        selector = id_selector(team_id, run_id)
        return None if selector is None else _run(self._runs.find_one(selector, projection=_HIDDEN))

    def find_by_dedupe_key(self, dedupe_key: str) -> WorkflowRunsModel | None:
        return _run(self._runs.find_one({f"{W}dedupe_key": dedupe_key}, projection=_HIDDEN))

    def claim_turn(
        self,
        team_id: str | None,
        run_id: str,
        from_statuses: builtins.list[str],
        heartbeat_at: datetime,
        heartbeat_deadline_at: datetime,
        *,
        where: dict[str, Any] | None = None,
    ) -> tuple[TurnClaim, WorkflowRunsModel, dict | None, dict | None] | None:
        selector = id_selector(team_id, run_id)
        if selector is None:
            return None
        token = secrets.token_hex(12)
        document = self._runs.find_one_and_update(
            {**selector, **_prefixed(where or {}), f"{W}status": {"$in": from_statuses}, f"{W}claim": None},
            {
                "$set": _prefixed(
                    {
                        "status": "running",
                        "heartbeat_at": heartbeat_at,
                        "heartbeat_deadline_at": heartbeat_deadline_at,
                        "claim": {"token": token, "claimed_at": heartbeat_at},
                        "input_deadline_at": None,
                    }
                )
                | {"updated_at": heartbeat_at}
            },
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            return None
        inner = document["workflow_run"]
        claim = TurnClaim(
            run_id=run_id,
            token=token,
            turn=int(inner.get("turn_number", 0)) + 1,
            history_bytes=int(inner.get("history_bytes") or 0),
        )
        return claim, to_model(WorkflowRunsModel, document), inner.get("state"), inner.get("pending_input")

    def commit_turn(
        self, claim: TurnClaim, changes: dict[str, Any], pair: dict[str, Any], state: dict[str, Any] | None
    ) -> WorkflowRunsModel | None:
        pair_bytes = _bson_size(pair)
        if pair_bytes > self._max_turn_bytes:
            raise Unstorable(
                f"the turn produced {_size(pair_bytes)} of events and input, more than the "
                f"{_size(self._max_turn_bytes)} one turn may store"
            )
        stored = claim.history_bytes + pair_bytes + _bson_size(state)
        if stored > self._max_history_bytes:
            raise Unstorable(
                f"the run's turns would take {_size(stored)}, past the {_size(self._max_history_bytes)} a run may "
                "store (MongoDB's document limit is 16 MiB); start a new run to continue"
            )
        selector = {"_id": object_id(claim.run_id), f"{W}claim.token": claim.token, f"{W}status": "running"}
        update = {
            "$inc": {f"{W}history_bytes": pair_bytes},
            # A committed turn ends any pause it resumed; a resume refused before its turn ran hands the
            # run back paused, and its pause deadline must then still apply.
            "$set": _prefixed(
                {**changes, "state": state, "claim": None, "pending_input": None, "pause_deadline_at": None}
            ),
            "$push": {f"{W}input_output_pairs": pair},
        }
        return self._update(selector, update)

    def touch_heartbeat(self, claim: TurnClaim, at: datetime, deadline: datetime) -> bool:
        result = self._runs.update_one(
            # Also the turn's "still mine?" check before a side effect: a stop clears the claim and a pause
            # or a reap changes the status, and either makes it match nothing.
            {"_id": object_id(claim.run_id), f"{W}claim.token": claim.token, f"{W}status": "running"},
            {"$set": _prefixed({"heartbeat_at": at, "heartbeat_deadline_at": deadline})},
        )
        return result.matched_count == 1

    def change_status(
        self,
        team_id: str | None,
        run_id: str,
        from_statuses: builtins.list[str],
        changes: dict[str, Any],
        *,
        unset: Sequence[str] = (),
        where: dict[str, Any] | None = None,
    ) -> WorkflowRunsModel | None:
        selector = id_selector(team_id, run_id)
        if selector is None:
            return None
        update: dict[str, Any] = {"$set": _prefixed(changes)}
        if unset:
            update["$set"].update(_prefixed(dict.fromkeys(unset)))
        return self._update({**selector, **_prefixed(where or {}), f"{W}status": {"$in": from_statuses}}, update)

    def list(
        self, team_id: str, filters: dict[str, Any], skip: int, limit: int
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        selector: dict[str, Any] = {"team_id": team_id}
        if filters.get("workflow_id"):
            selector[f"{W}workflow_id"] = filters["workflow_id"]
        if filters.get("status"):
            selector[f"{W}status"] = str(filters["status"])
        window = {op: filters[key] for key, op in (("start", "$gte"), ("end", "$lte")) if filters.get(key)}
        if window:
            selector["created_at"] = window
        if filters.get("search"):
            selector[f"{W}logical_id"] = search_regex(filters["search"])
        documents = self._runs.find(
            selector,
            projection=_LIST_FIELDS,
            sort=[("created_at", DESCENDING), ("_id", DESCENDING)],
            skip=skip,
            limit=limit,
        )
        return [from_document(d) for d in documents], self._runs.count_documents(selector)

    def delete(self, team_id: str, run_id: str) -> bool:
        selector = id_selector(team_id, run_id)
        return selector is not None and self._runs.delete_one(selector).deleted_count == 1

    def add_comment(self, team_id: str, run_id: str, comment: dict[str, Any]) -> WorkflowRunsModel | None:
        return self._update(id_selector(team_id, run_id), {"$push": {f"{W}comments": comment}})

    def delete_comment(self, team_id: str, run_id: str, comment_logical_id: str) -> WorkflowRunsModel | None:
        selector = id_selector(team_id, run_id)
        if selector is None:
            return None
        return self._update(
            {**selector, f"{W}comments.logical_id": comment_logical_id},
            {"$pull": {f"{W}comments": {"logical_id": comment_logical_id}}},
        )

    def queued_workflow_ids(self, team_id: str) -> builtins.list[str]:
        """``distinct`` over the ``team_workflow_queue`` index: one key range per workflow, so the read
        costs in proportion to the workflows that wait, not to their queued runs. Only queued runs are
        ``not_started``."""
        selector = {"team_id": team_id, f"{W}status": "not_started"}
        return sorted(
            str(workflow_id) for workflow_id in self._runs.distinct(f"{W}workflow_id", selector) if workflow_id
        )

    def queue_head(self, team_id: str, workflow_id: str) -> WorkflowRunsModel | None:
        """The first key of the workflow's range in ``team_workflow_queue`` (in queue order)."""
        return _run(
            self._runs.find_one(
                {
                    "team_id": team_id,
                    f"{W}status": "not_started",
                    f"{W}workflow_id": workflow_id,
                    f"{W}queued_at": {"$ne": None},
                },
                projection=_HIDDEN,
                sort=[(f"{W}queued_at", ASCENDING), ("_id", ASCENDING)],
            )
        )

    def queued_team_ids(self, limit: int) -> builtins.list[str]:
        """Teams with queued runs (ports.QueuedTeamFinder), for the reaper's dispatch sweep.

        ``distinct`` over the ``queued_teams`` index visits one key range per team, so the sweep costs in
        proportion to the teams that wait, not to the queued runs. Only queued runs are ``not_started``.
        """
        team_ids = sorted(
            str(team_id) for team_id in self._runs.distinct("team_id", {f"{W}status": "not_started"}) if team_id
        )
        if len(team_ids) <= limit:
            return team_ids
        # More teams wait than one pass sweeps: a random subset, so successive passes reach every team.
        return sorted(random.sample(team_ids, limit))

    def queue_position(self, team_id: str, queued_at: datetime, run_id: str) -> int:
        ahead = self._runs.count_documents(
            {
                "team_id": team_id,
                f"{W}status": "not_started",
                "$or": [
                    {f"{W}queued_at": {"$lt": queued_at}},
                    {f"{W}queued_at": queued_at, "_id": {"$lt": object_id(run_id)}},
                ],
            }
        )
        return ahead + 1

    def queue_lengths(self, team_id: str) -> dict[str, int]:
        documents = self._runs.find(
            {"team_id": team_id, f"{W}status": "not_started", f"{W}queued_at": {"$ne": None}},
            projection={f"{W}workflow_id": 1},
        )
        lengths: dict[str, int] = {}
        for document in documents:
            workflow_id = document["workflow_run"]["workflow_id"]
            lengths[workflow_id] = lengths.get(workflow_id, 0) + 1
        return lengths

    def stale(
        self, statuses: builtins.list[str], deadline_field: str, now: datetime, limit: int
    ) -> builtins.list[WorkflowRunsModel]:
        documents = self._runs.find(
            {f"{W}status": {"$in": statuses}, f"{W}{deadline_field}": {"$lt": now}},
            projection=_HIDDEN,
            sort=[(f"{W}{deadline_field}", ASCENDING)],
            limit=limit,
        )
        return [to_model(WorkflowRunsModel, d) for d in documents]

    def active_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> builtins.list[WorkflowRunsModel]:
        documents = self._runs.find(
            {
                "team_id": team_id,
                f"{W}workflow_id": workflow_id,
                f"{W}status": {"$in": ["not_started", "started", "running", "waiting_for_user_input", "paused"]},
            },
            projection=_HIDDEN,
            limit=limit,
        )
        return [to_model(WorkflowRunsModel, d) for d in documents]

    def statuses_of(self, run_ids: builtins.list[str]) -> dict[str, str]:
        ids = [oid for oid in (object_id(run_id) for run_id in run_ids) if oid is not None]
        documents = self._runs.find({"_id": {"$in": ids}}, projection={f"{W}status": 1})
        return {str(d["_id"]): d["workflow_run"]["status"] for d in documents}

    def slot_states_of(self, run_ids: builtins.list[str]) -> dict[str, RunSlotState]:
        ids = [oid for oid in (object_id(run_id) for run_id in run_ids) if oid is not None]
        if not ids:
            return {}
        documents = self._runs.find({"_id": {"$in": ids}}, projection=_SLOT_STATE_FIELDS)
        return {str(d["_id"]): _slot_state(d) for d in documents}

    def slot_holding(self, after_id: str | None, limit: int) -> builtins.list[RunSlotState]:
        """Runs in a slot-holding status by id, after ``after_id``: the ``slot_holding_runs`` index serves
        the statuses and the order, so a page costs what it returns."""
        selector: dict[str, Any] = {f"{W}status": {"$in": sorted(status.value for status in SLOT_HOLDING_STATUSES)}}
        if after_id is not None:
            selector["_id"] = {"$gt": object_id(after_id)}
        documents = self._runs.find(selector, projection=_SLOT_STATE_FIELDS, sort=[("_id", ASCENDING)], limit=limit)
        return [_slot_state(d) for d in documents]


_SLOT_STATE_FIELDS = {
    "team_id": 1,
    "updated_at": 1,
    f"{W}workflow_id": 1,
    f"{W}status": 1,
    f"{W}lease_token": 1,
}


def _slot_state(document: dict[str, Any]) -> RunSlotState:
    inner = document["workflow_run"]
    return RunSlotState(
        run_id=str(document["_id"]),
        team_id=document.get("team_id") or "",
        workflow_id=str(inner.get("workflow_id") or ""),
        status=inner["status"],
        lease_token=inner.get("lease_token"),
        updated_at=document.get("updated_at"),
    )


class MongoRunOutboxMarks:
    """ports.webhooks.RunOutboxMarks over ``workflow_runs``: the webhook outbox markers of runs."""

    def __init__(self, database: StoreDatabase) -> None:
        self._runs = database[RUNS]

    def clear_webhook_marker(self, run_id: str, action: str) -> bool:
        """One conditional write: the marker goes only if it is still there."""
        marker = f"{W}webhook_outbox.{action}"
        result = self._runs.update_one({"_id": object_id(run_id), marker: {"$exists": True}}, {"$unset": {marker: ""}})
        return result.matched_count == 1

    def webhook_marked(self, action: str, limit: int) -> builtins.list[WorkflowRunsModel]:
        """Runs carrying ``action``'s marker, through its sparse index (only marked runs are in it)."""
        marker = f"{W}webhook_outbox.{action}"
        documents = self._runs.find(
            {marker: {"$exists": True}}, projection=_HIDDEN, sort=[(marker, ASCENDING)], limit=limit
        )
        return [to_model(WorkflowRunsModel, d) for d in documents]
