"""The generation fields both schedule collections share, and the reconciler's cursor store.

Every schedule document carries ``desired_generation`` (bumped with every change AWS must see),
``applied_generation`` (the last one AWS is known to hold), ``needs_push`` (kept equal to
``applied < desired`` by every write that moves either, so a partial index holds exactly the
schedules owed a push) and ``generation_at`` (when the desired generation last moved, or a stale
delivery was seen: the reconciler's grace period runs from it). Documents written before these
fields existed read as generation 0 with nothing owed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING

from workflow_service.adapters.mongo.documents import id_selector, object_id

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreCollection, StoreDatabase

ONE_TIME = "workflow_schedules"
RECURRING = "recurring_schedules"
HISTORY = "recurring_schedule_history"
RECONCILER_STATE = "reconciler_state"
# Set by a retry of a create (same Idempotency-Key) that answers with the record while the create that
# inserted it may still be running: that create's undo must then leave the record alone.
ADOPTED = "adopted_by_retry"

# Holds only the schedules owed a push (a few, normally none): the reconciler's sweep reads this.
NEEDS_PUSH_INDEX: dict[str, Any] = {
    "keys": [("needs_push", ASCENDING), ("_id", ASCENDING)],
    "name": "needs_push_sweep",
    "partialFilterExpression": {"needs_push": True},
}


def generation_fields(desired: int, applied: int, now: datetime) -> dict[str, Any]:
    """The generation fields of a new record (the services insert generation 1, not applied yet)."""
    return {
        "desired_generation": desired,
        "applied_generation": applied,
        "needs_push": applied < desired,
        "generation_at": now,
    }


def bump(now: datetime) -> dict[str, Any]:
    """The update operators that move the desired generation on (merged into a change's ``$set``)."""
    return {"$inc": {"desired_generation": 1}, "$set": {"needs_push": True, "generation_at": now}}


def with_bump(changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``{"$set": changes}`` plus the generation bump."""
    operators = bump(now)
    return {"$set": {**changes, **operators["$set"]}, "$inc": operators["$inc"]}


def record_applied(collection: StoreCollection, schedule_id: str, generation: int) -> bool:
    """Note that AWS holds ``generation``, unless a later one was recorded; True if recorded.

    One write normally (the pushed generation is the desired one, so nothing is owed any more); a
    second when MongoDB moved on meanwhile, which leaves ``needs_push`` set for the next push.
    """
    selector = id_selector(None, schedule_id)
    if selector is None:
        return False
    # "$not $gte" also matches a document without the field (written before generations).
    lower = {**selector, "applied_generation": {"$not": {"$gte": generation}}}
    caught_up = collection.update_one(
        {**lower, "desired_generation": generation},
        {"$set": {"applied_generation": generation, "needs_push": False}},
    )
    if caught_up.matched_count:
        return True
    behind = collection.update_one(lower, {"$set": {"applied_generation": generation}})
    return behind.matched_count == 1


def mark_stale(collection: StoreCollection, schedule_id: str, generation: int, now: datetime) -> bool:
    """AWS delivered ``generation`` although a later one is wanted: AWS holds an old definition (a
    late or out-of-order push overwrote the newer one). Owe a push; True if this changed anything."""
    selector = id_selector(None, schedule_id)
    if selector is None:
        return False
    result = collection.update_one(
        {**selector, "desired_generation": {"$gt": generation}, "applied_generation": {"$gt": generation}},
        {"$set": {"applied_generation": generation, "needs_push": True, "generation_at": now}},
    )
    return result.modified_count == 1


def adopt(collection: StoreCollection, schedule_id: str) -> bool:
    """Mark the record as answered by a retry of the create that inserted it; True if it exists."""
    selector = id_selector(None, schedule_id)
    return selector is not None and collection.update_one(selector, {"$set": {ADOPTED: True}}).matched_count == 1


def remove_unadopted(collection: StoreCollection, schedule_id: str) -> bool:
    """Delete the record unless a retry adopted it or a push of it was recorded; True if deleted."""
    selector = id_selector(None, schedule_id)
    if selector is None:
        return False
    unclaimed = {ADOPTED: {"$ne": True}, "applied_generation": {"$not": {"$gt": 0}}}
    return collection.delete_one({**selector, **unclaimed}).deleted_count == 1


def needing_push_selector(changed_before: datetime, after_id: str | None) -> dict[str, Any]:
    """Schedules owed a push whose generation moved before ``changed_before``, by ``_id`` after ``after_id``."""
    selector: dict[str, Any] = {"needs_push": True, "generation_at": {"$lte": changed_before}}
    oid = object_id(after_id) if after_id is not None else None
    if oid is not None:
        selector["_id"] = {"$gt": oid}
    return selector


def existing_ids(collection: StoreCollection, ids: list[str]) -> set[str]:
    """Which of ``ids`` have a document (tombstones included)."""
    oids = [oid for oid in (object_id(value) for value in ids) if oid is not None]
    if not oids:
        return set()
    return {str(document["_id"]) for document in collection.find({"_id": {"$in": oids}}, projection={"_id": 1})}


class MongoReconcilerState:
    """``ports.ReconcilerStateStore`` over the small ``reconciler_state`` collection (one document per key)."""

    def __init__(self, database: StoreDatabase) -> None:
        self._state = database[RECONCILER_STATE]

    def load(self, key: str) -> dict[str, Any] | None:
        document = self._state.find_one({"_id": key})
        if document is None:
            return None
        return {name: value for name, value in document.items() if name != "_id"}

    def save(self, key: str, state: dict[str, Any]) -> None:
        self._state.update_one({"_id": key}, {"$set": state}, upsert=True)
