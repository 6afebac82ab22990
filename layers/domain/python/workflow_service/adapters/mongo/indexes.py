"""Every index the service's queries rely on, declared next to the repositories that query.

Created by ``python -m workflow_service.cli create-indexes`` (``make indexes``), never at cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo import IndexModel

from workflow_service.adapters.mongo import (
    auth,
    dedupe,
    leases,
    runs,
    schedules,
    triggers,
    webhook_event_queries,
    webhook_events,
    webhook_subscriptions,
    workflows,
)

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

INDEX_MODULES = (
    auth,
    workflows,
    runs,
    triggers,
    leases,
    schedules,
    dedupe,
    webhook_subscriptions,
    webhook_event_queries,
    webhook_events,
)


def declared_indexes() -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {}
    for module in INDEX_MODULES:
        for collection, specs in module.INDEXES.items():
            merged.setdefault(collection, []).extend(specs)
    return merged


def create_indexes(database: StoreDatabase) -> dict[str, list[str]]:
    """Create (idempotently) every declared index; returns the index names per collection."""
    created: dict[str, list[str]] = {}
    for collection, specs in declared_indexes().items():
        models = [
            IndexModel(spec["keys"], **{key: value for key, value in spec.items() if key != "keys"}) for spec in specs
        ]
        created[collection] = database[collection].create_indexes(models)
    return created
