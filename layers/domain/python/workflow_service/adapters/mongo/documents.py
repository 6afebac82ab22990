"""Conversions between stored documents and public models (ObjectId ``_id`` <-> 24-hex strings)."""

from __future__ import annotations

import re
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId


def object_id(value: str) -> ObjectId | None:
    """The ObjectId for a 24-hex string, or None (an id that cannot exist simply is not found)."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def id_selector(team_id: str | None, document_id: str) -> dict[str, Any] | None:
    """The filter for one document by id, within ``team_id`` unless None (trusted internal callers);
    None when the id cannot exist, so the caller answers "not found" without a round trip."""
    oid = object_id(document_id)
    if oid is None:
        return None
    return {"_id": oid} if team_id is None else {"_id": oid, "team_id": team_id}


def from_document(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document as model input: ``_id`` as a string."""
    return {**document, "_id": str(document["_id"])}


def search_regex(search: str) -> dict[str, Any]:
    """A case-insensitive substring match; the text is escaped so user input is never a pattern."""
    return {"$regex": re.escape(search), "$options": "i"}
