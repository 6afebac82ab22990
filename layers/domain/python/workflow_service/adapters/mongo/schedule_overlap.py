"""The overlap-policy state of recurring schedules in MongoDB (``ports.OverlapState``).

Two fields of the ``recurring_schedules`` document: ``active_firing`` ``{scheduled_time, run_id,
claimed_at}`` (null: no active firing) and ``buffered_firing`` (a scheduled time, or null). Each
method is one conditional ``update_one`` on the schedule document; a partial index holds only the
schedules with an active firing, which the reaper's sweep pages through.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING

from workflow_service.adapters.mongo.documents import id_selector, object_id, to_model
from workflow_service.adapters.mongo.schedule_generations import RECURRING
from workflow_service.models.recurring import RecurringSchedule

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

ACTIVE_FIRING_INDEX: dict[str, Any] = {
    "keys": [("active_firing.scheduled_time", ASCENDING), ("_id", ASCENDING)],
    "name": "active_firing_sweep",
    "partialFilterExpression": {"active_firing.scheduled_time": {"$exists": True}},
}
_LIVE = {"deleted_at": None}


class MongoOverlapState:
    """``ports.OverlapState`` over ``recurring_schedules``."""

    def __init__(self, database: StoreDatabase) -> None:
        self._schedules = database[RECURRING]

    def claim(self, schedule_id: str, scheduled_time: datetime, now: datetime) -> bool:
        active = {"scheduled_time": scheduled_time, "run_id": None, "claimed_at": now}
        return self._update(schedule_id, {**_LIVE, "active_firing": None}, {"$set": {"active_firing": active}})

    def record_run(self, schedule_id: str, scheduled_time: datetime, run_id: str) -> bool:
        return self._update(
            schedule_id,
            {"active_firing.scheduled_time": scheduled_time},
            {"$set": {"active_firing.run_id": run_id}},
        )

    def buffer(self, schedule_id: str, active_time: datetime, scheduled_time: datetime) -> bool:
        return self._update(
            schedule_id,
            {**_LIVE, "active_firing.scheduled_time": active_time, "buffered_firing": None},
            {"$set": {"buffered_firing": scheduled_time}},
        )

    def release(
        self, schedule_id: str, active_time: datetime, buffered: datetime | None, now: datetime, *, promote: bool = True
    ) -> bool:
        promoted = None
        if buffered is not None and promote:
            promoted = {"scheduled_time": buffered, "run_id": None, "claimed_at": now}
        return self._update(
            schedule_id,
            {"active_firing.scheduled_time": active_time, "buffered_firing": buffered},
            {"$set": {"active_firing": promoted, "buffered_firing": None}},
        )

    def with_active(self, after_id: str | None, limit: int) -> builtins.list[RecurringSchedule]:
        selector: dict[str, Any] = {"active_firing.scheduled_time": {"$exists": True}, **_LIVE}
        oid = object_id(after_id) if after_id is not None else None
        if oid is not None:
            selector["_id"] = {"$gt": oid}
        documents = self._schedules.find(selector, sort=[("_id", ASCENDING)], limit=limit)
        return [to_model(RecurringSchedule, document) for document in documents]

    def _update(self, schedule_id: str, condition: dict[str, Any], update: dict[str, Any]) -> bool:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return False
        return self._schedules.update_one({**selector, **condition}, update).modified_count == 1
