"""Concurrency leases in MongoDB: one document per team and per workflow (collection ``concurrency_leases``).

A lease document is ``{_id: "team:<id>" | "workflow:<id>", scope, team_id, workflow_id, holders:
[run_id, ...], since: {run_id: datetime}, tokens: {run_id: token}}``. ``tokens`` is the token of each
holder's last acquisition; ``since`` when it happened (the reaper's grace period reads it).

Why acquiring cannot over-admit on a real MongoDB or Amazon DocumentDB
------------------------------------------------------------------------
A slot is taken with ONE conditional update of ONE document::

    filter  {_id: key, holders: {$ne: run_id}, "holders.<limit-1>": {$exists: false}}
    update  {$addToSet: {holders: run_id}, $set: {"since.<run_id>": now, "tokens.<run_id>": token}}   (upsert)

1. The limit check is part of the write. ``"holders.<limit-1>": {$exists: false}`` is true exactly
   when the array has fewer than ``limit`` elements (array positions are 0-based), so "there is a
   free slot" and "take it" are one operation; nothing is read first and decided in the client, so
   there is no check-then-act window between two Lambdas.
2. Single-document writes are atomic, and the filter is checked against the document as it is when
   the write applies. MongoDB's manual ("Atomicity and Transactions") states that write operations
   are atomic on the single-document level and that, for parallel updates, each command ensures its
   query condition still matches (under WiredTiger a racing update hits a write conflict and the
   server retries it, re-evaluating the filter). Amazon DocumentDB takes a document-level write
   lock for each write, so updates of one document are serialized the same way. With ``limit - 1``
   holders, the second of two racing acquirers therefore sees ``limit`` holders, its filter no
   longer matches, and it does not add itself.
3. A filter that matches nothing with ``upsert`` tries to INSERT ``{_id: key}``. When the document
   exists (it is merely full) the unique ``_id`` index rejects that insert with DuplicateKeyError.
   The adapter then reads the holders: if the lease is full the run is refused (with the holders for
   the 429 body); if it has room — two first-ever acquirers raced to create the document, or a slot
   freed meanwhile — it retries the same conditional update. A read only ever leads to a refusal or
   a retry, never to a grant, so a stale read cannot over-admit; at worst it refuses a run that
   would have fitted a moment later, which then waits in the queue.
4. A run that already holds the slot does not match that filter: its insert collides too, the read
   finds it among the holders, and a second update filtered on ``{_id: key, holders: run_id}`` only
   refreshes its ``since`` and token. So retries (a redelivered message, a second dispatcher) never
   take a second slot and never fail a run that already has one, and the grant says it was a
   re-grant: a second dispatcher's acquisition of the same queued run then never gives back (after
   its workflow refused it) the team entry the first one is about to start the run on.
5. No transactions and no multi-document invariants: the team slot and the workflow slot are two
   independent documents; a crash between the two writes leaves a surplus team holder, never an
   over-admitted one, and the reaper's reconciliation removes it.

Evidence: tests/integration/concurrency/test_admission.py has 8 threads contend 50 times for the same
slots through a store that runs each operation atomically (as the server runs a single-document
write). Every round admits exactly the limit — never more, and never fewer for the team limit alone —
and the same harness catches a check-then-act variant (read the holders, then add) over-admitting
within the first rounds.

When both limits are known before the first write (an interactive start: the caller has just read
the workflow), the two holds travel as one ordered bulk write: one round trip carrying both
single-document conditional updates, team first. The server applies them in order and stops at the
first that collides, so the workflow statement runs only after the team one granted, exactly as two
separate calls; nothing about points 1-5 changes.

Releasing is one ``update_many`` over the run's two lease documents (``$pull`` + ``$unset``),
filtered on ``{holders: run_id, "tokens.<run_id>": token}`` with the token the releaser read from the
run: each document is updated atomically on its own, and an entry a later acquisition re-wrote (a
resume that re-acquired after a pause, a dispatcher's re-grant) carries another token, so a late
release leaves it alone. A release that matches nothing is a no-op, logged at debug level.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from workflow_service.adapters.mongo.auth import TEAMS
from workflow_service.adapters.mongo.documents import object_id
from workflow_service.adapters.mongo.workflows import WORKFLOWS
from workflow_service.models.concurrency import HoldResult, Lease, LeaseScope, lease_key, new_lease_token

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

logger = logging.getLogger(__name__)

LEASES = "concurrency_leases"
# Conditional-update attempts when the lease document is contended (see try_hold).
_HOLD_ATTEMPTS = 3

INDEXES: dict[str, list[dict[str, Any]]] = {
    LEASES: [
        # GET /concurrency: the team's lease and its workflows' leases.
        {"keys": [("team_id", ASCENDING)], "name": "team_leases"},
        # Reconciliation: only documents with at least one holder ({holders: {$gt: ""}}, multikey).
        {"keys": [("holders", ASCENDING)], "name": "lease_holders"},
    ],
}


def _check_run_id(run_id: str) -> str:
    # The run id becomes part of a field path ("since.<run_id>"): it must not add a level or an operator.
    if not run_id or "." in run_id or run_id.startswith("$"):
        raise ValueError(f"invalid run id for a lease: {run_id!r}")
    return run_id


def _lease(document: dict[str, Any]) -> Lease:
    since: dict[str, Any] = document.get("since") or {}
    tokens: dict[str, Any] = document.get("tokens") or {}
    holders = document.get("holders") or []
    return Lease(
        key=document["_id"],
        scope=LeaseScope(document["scope"]),
        team_id=document["team_id"],
        workflow_id=document.get("workflow_id"),
        holders={run_id: since.get(run_id) for run_id in holders},
        tokens={run_id: tokens[run_id] for run_id in holders if tokens.get(run_id) is not None},
    )


def _entry(run_id: str, token: str | None) -> dict[str, Any]:
    """The filter of ``run_id``'s entry as written by the acquisition ``token`` names (None: one that
    wrote no token, i.e. before tokens existed)."""
    return {"holders": run_id, f"tokens.{run_id}": token}


def _remove(run_id: str) -> dict[str, Any]:
    return {"$pull": {"holders": run_id}, "$unset": {f"since.{run_id}": "", f"tokens.{run_id}": ""}}


def _hold(
    scope: LeaseScope, owner_id: str, team_id: str, run_id: str, limit: int, at: datetime, token: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The conditional upsert that makes ``run_id`` a new holder of the lease if it has room (0 = no cap).
    It does not match a lease ``run_id`` already holds (``_regrant`` does): the collision tells the two apart."""
    selector: dict[str, Any] = {"_id": lease_key(scope, owner_id), "holders": {"$ne": run_id}}
    if limit > 0:
        selector[f"holders.{limit - 1}"] = {"$exists": False}
    update = {
        "$addToSet": {"holders": run_id},
        # Both refreshed on every grant, re-grants included: a release or a reconciliation naming an
        # older token can tell that this slot was acquired again since.
        "$set": {f"since.{run_id}": _millisecond(at), f"tokens.{run_id}": token},
        "$setOnInsert": {
            "scope": scope.value,
            "team_id": team_id,
            "workflow_id": owner_id if scope is LeaseScope.WORKFLOW else None,
        },
    }
    return selector, update


def _full(holders: tuple[str, ...], run_id: str, limit: int) -> bool:
    """Whether a lease with ``holders`` has no slot for ``run_id`` (which may hold one already)."""
    return run_id not in holders and 0 < limit <= len(holders)


def _millisecond(value: datetime) -> datetime:
    """BSON dates keep milliseconds: store exactly what a later equality filter will compare."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class MongoLeaseStore:
    """Implements ports.LeaseStore."""

    def __init__(self, database: StoreDatabase) -> None:
        self._leases = database[LEASES]

    def try_hold(
        self,
        scope: LeaseScope,
        owner_id: str,
        team_id: str,
        run_id: str,
        limit: int,
        at: datetime,
        token: str | None = None,
    ) -> HoldResult:
        _check_run_id(run_id)
        key = lease_key(scope, owner_id)
        token = token or new_lease_token()
        selector, update = _hold(scope, owner_id, team_id, run_id, limit, at, token)
        holders: tuple[str, ...] = ()
        for _ in range(_HOLD_ATTEMPTS):
            try:
                self._leases.update_one(selector, update, upsert=True)
                return HoldResult(granted=True, token=token)
            except DuplicateKeyError:
                holders = self._holders_after_collision(key)
                if run_id in holders:
                    # Refreshed under this acquisition's token, but reported as a re-grant (HoldResult).
                    regrant = {"_id": key, "holders": run_id}
                    if self._leases.update_one(regrant, {"$set": update["$set"]}).matched_count == 1:
                        return HoldResult(granted=True, token=token, regranted=True)
                elif _full(holders, run_id, limit):
                    return HoldResult(granted=False, holders=holders)
        # Still contended after several attempts: refusing is the safe answer (the run queues or retries).
        return HoldResult(granted=False, holders=holders)

    def try_hold_team_and_workflow(
        self,
        team_id: str,
        workflow_id: str,
        run_id: str,
        team_limit: int,
        workflow_limit: int,
        at: datetime,
    ) -> tuple[HoldResult, HoldResult | None]:
        _check_run_id(run_id)
        token = new_lease_token()  # one acquisition: both leases carry the same token
        # Both conditional updates travel in one ordered batch: the server applies the team statement,
        # then the workflow one, each atomically on its own document exactly as two update_one calls
        # would (points 1-4 of the module docstring), and skips the workflow one if the team one collides.
        applied = self._leases.upsert_each_until_duplicate(
            [
                _hold(LeaseScope.TEAM, team_id, team_id, run_id, team_limit, at, token),
                _hold(LeaseScope.WORKFLOW, workflow_id, team_id, run_id, workflow_limit, at, token),
            ]
        )
        granted = HoldResult(granted=True, token=token)
        if applied == 2:
            return granted, granted
        if applied == 0:
            holders = self._holders_after_collision(lease_key(LeaseScope.TEAM, team_id))
            if _full(holders, run_id, team_limit):
                return HoldResult(granted=False, holders=holders), None
            # The team lease had room after all (a slot freed, or its document was just created): take the
            # slots one at a time, with try_hold's retries.
            team = self.try_hold(LeaseScope.TEAM, team_id, team_id, run_id, team_limit, at, token)
            if not team.granted:
                return team, None
        else:
            holders = self._holders_after_collision(lease_key(LeaseScope.WORKFLOW, workflow_id))
            if _full(holders, run_id, workflow_limit):
                return granted, HoldResult(granted=False, holders=holders)
        return granted, self.try_hold(LeaseScope.WORKFLOW, workflow_id, team_id, run_id, workflow_limit, at, token)

    def _holders_after_collision(self, key: str) -> tuple[str, ...]:
        """The holders of a lease whose hold upsert collided with its existing document.

        Usually it is full; it may also have been created by a concurrent first acquirer, or a slot may
        have freed since. The caller refuses if it is full and retries the conditional update otherwise:
        this read only ever leads to a refusal or a retry, and only the update grants.
        """
        document = self._leases.find_one({"_id": key}, projection={"holders": 1}) or {}
        return tuple(document.get("holders") or ())

    def get(self, scope: LeaseScope, owner_id: str) -> Lease | None:
        document = self._leases.find_one({"_id": lease_key(scope, owner_id)})
        return _lease(document) if document else None

    def get_many(self, keys: list[str]) -> dict[str, Lease]:
        if not keys:
            return {}
        return {d["_id"]: _lease(d) for d in self._leases.find({"_id": {"$in": sorted(set(keys))}})}

    def release(self, run_id: str, token: str | None, leases: list[tuple[LeaseScope, str]]) -> int:
        _check_run_id(run_id)
        keys = [lease_key(scope, owner_id) for scope, owner_id in leases]
        if not keys:
            return 0
        result = self._leases.update_many({"_id": {"$in": keys}, **_entry(run_id, token)}, _remove(run_id))
        if result.modified_count == 0:
            logger.debug(
                "release of %s (token %s) matched no lease: nothing of that acquisition is held", run_id, token
            )
        return int(result.modified_count)

    def for_team(self, team_id: str) -> list[Lease]:
        return [_lease(d) for d in self._leases.find({"team_id": team_id}, sort=[("_id", ASCENDING)])]

    def held(self, after_key: str | None, limit: int) -> list[Lease]:
        selector: dict[str, Any] = {"holders": {"$gt": ""}}
        if after_key is not None:
            selector["_id"] = {"$gt": after_key}
        return [_lease(d) for d in self._leases.find(selector, sort=[("_id", ASCENDING)], limit=limit)]

    def drop_holder(self, key: str, run_id: str, token: str | None) -> bool:
        _check_run_id(run_id)
        result = self._leases.update_one({"_id": key, **_entry(run_id, token)}, _remove(run_id))
        return result.modified_count == 1

    def retoken(self, key: str, run_id: str, seen: str | None, token: str | None) -> bool:
        _check_run_id(run_id)
        result = self._leases.update_one({"_id": key, **_entry(run_id, seen)}, {"$set": {f"tokens.{run_id}": token}})
        return result.matched_count == 1


class MongoConcurrencyLimits:
    """Implements ports.ConcurrencyLimits with direct reads of the limit fields (nothing else is loaded)."""

    def __init__(self, database: StoreDatabase) -> None:
        self._teams = database[TEAMS]
        self._workflows = database[WORKFLOWS]

    def team_limit(self, team_id: str) -> int | None:
        document = self._teams.find_one({"_id": team_id}, projection={"max_concurrent_runs": 1})
        return None if document is None else int(document.get("max_concurrent_runs") or 0)

    def workflow_limits(self, team_id: str, workflow_ids: list[str]) -> dict[str, int]:
        ids = [oid for oid in (object_id(workflow_id) for workflow_id in workflow_ids) if oid is not None]
        if not ids:
            return {}
        if len(ids) == 1:
            documents = [
                self._workflows.find_one({"_id": ids[0], "team_id": team_id}, projection={"max_concurrent_runs": 1})
            ]
        else:
            documents = self._workflows.find(
                {"_id": {"$in": ids}, "team_id": team_id}, projection={"max_concurrent_runs": 1}
            )
        return {str(d["_id"]): int(d.get("max_concurrent_runs") or 0) for d in documents if d is not None}
