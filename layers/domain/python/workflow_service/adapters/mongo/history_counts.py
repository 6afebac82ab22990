"""A recurring schedule's run, success and failure counters, kept exact through crashes and retries.

A history row and the counters it moves live in two documents, so no single write changes both.
Every write that should move counters records them on its row first, in the same write that adds,
finishes or restarts the row (``owed_counts.<phase>``: ``start``, ``finish`` or ``restart``). They
are then applied to the schedule with a filter on its ``counted_history`` list (the keys of its
latest applications, bounded), so an application that is repeated moves nothing twice; last, the
row's marker is removed. A crash between any two of these writes leaves the marker behind: the
retried delivery, or the reaper's sweep of marked rows (``owing``), applies what is still owed.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING

from workflow_service.adapters.mongo.documents import id_selector, object_id
from workflow_service.models.recurring import ExecutionStatus

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreCollection

OWED = "owed_counts"
COUNTED = "counted_history"
# A repeated application arrives within minutes (a retry, the next reaper pass); a schedule fires at
# most once a minute and each firing applies at most three phases, so this many keys cover hours.
COUNTED_KEPT = 200
OWING_INDEX = {
    "keys": [("_id", ASCENDING)],
    "name": "owed_counts_sweep",
    "partialFilterExpression": {OWED: {"$type": "object"}},
}
_ROW_FIELDS = {"_id": 1, "schedule_id": 1, "scheduled_time": 1, "status": 1, OWED: 1}


class HistoryCounts:
    """Applies the counts a history row owes to its schedule, once per (row, phase)."""

    def __init__(self, schedules: StoreCollection, history: StoreCollection) -> None:
        self._schedules = schedules
        self._history = history

    def settle(self, row: dict[str, Any]) -> bool:
        """Apply what ``row`` (with ``_id``, ``schedule_id``, ``scheduled_time``, ``status`` and
        ``owed_counts``) owes, then clear its marker; True if a count moved."""
        owed: dict[str, dict[str, int]] | None = row.get(OWED)
        if owed is None:
            return False
        moved = False
        for phase, increments in owed.items():
            moved |= self._apply(row, f"{row['_id']}:{phase}", increments)
        cleared = self._history.update_one({"_id": row["_id"], OWED: owed}, {"$unset": {OWED: ""}})
        if cleared.matched_count == 0:
            # A phase was added since the read: clear only what was applied, its writer settles the rest.
            self._history.update_one({"_id": row["_id"]}, {"$unset": {f"{OWED}.{phase}": "" for phase in owed}})
        return moved

    def settle_where(self, selector: dict[str, Any]) -> bool:
        """``settle`` the row that ``selector`` finds, if it owes anything (a repeated write found it)."""
        row = self._history.find_one({**selector, OWED: {"$type": "object"}}, projection=_ROW_FIELDS)
        return row is not None and self.settle(row)

    def owing(self, after_id: str | None, limit: int) -> builtins.list[str]:
        """Ids of rows that still owe counts, by id after ``after_id`` (index-backed), for the reaper."""
        selector: dict[str, Any] = {OWED: {"$type": "object"}}
        if after_id is not None and (oid := object_id(after_id)) is not None:
            selector["_id"] = {"$gt": oid}
        documents = self._history.find(selector, projection={"_id": 1}, sort=[("_id", ASCENDING)], limit=limit)
        return [str(document["_id"]) for document in documents]

    def settle_ids(self, row_ids: builtins.list[str]) -> int:
        """``settle`` each of these rows (those that still owe); the number whose counts moved."""
        oids = [oid for oid in (object_id(value) for value in row_ids) if oid is not None]
        rows = self._history.find({"_id": {"$in": oids}, OWED: {"$type": "object"}}, projection=_ROW_FIELDS)
        return sum(self.settle(row) for row in rows)

    def _apply(self, row: dict[str, Any], key: str, increments: dict[str, int]) -> bool:
        selector = id_selector(None, str(row["schedule_id"]))
        if selector is None:
            return False
        once = {**selector, COUNTED: {"$ne": key}}
        update: dict[str, Any] = {"$push": {COUNTED: {"$each": [key], "$slice": -COUNTED_KEPT}}}
        if increments:
            update["$inc"] = increments
        scheduled_time, status = row["scheduled_time"], row["status"]
        # last_run/last_status describe the latest firing: an older one (a late retry, or the outcome of
        # a run that outlived the next firing) only moves the counters, and a firing's start recorded
        # late never hides the outcome already recorded for the same time.
        later = {"$lt": scheduled_time} if status == ExecutionStatus.RUNNING.value else {"$lte": scheduled_time}
        latest = {"$or": [{"last_run": None}, {"last_run": later}]}
        marked = {**update, "$set": {"last_run": scheduled_time, "last_status": status}}
        if self._schedules.update_one({**once, **latest}, marked).matched_count == 1:
            return True
        return self._schedules.update_one(once, update).matched_count == 1
