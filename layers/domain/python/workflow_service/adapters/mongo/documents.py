"""Conversions between stored documents and public models (ObjectId ``_id`` <-> 24-hex strings)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)


def object_id(value: str) -> ObjectId | None:
    """The ObjectId for a 24-hex string, or None (an id that cannot exist simply is not found)."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def stored_id(value: str | None) -> ObjectId:
    """The ``_id`` to insert a model under: its id, which the service assigned before the write."""
    oid = object_id(value) if value is not None else None
    if oid is None:
        raise ValueError(f"a stored document needs a 24-hex id, got {value!r}")
    return oid


def id_selector(team_id: str | None, document_id: str) -> dict[str, Any] | None:
    """The filter for one document by id, within ``team_id`` unless None (trusted internal callers);
    None when the id cannot exist, so the caller answers "not found" without a round trip."""
    oid = object_id(document_id)
    if oid is None:
        return None
    return {"_id": oid} if team_id is None else {"_id": oid, "team_id": team_id}


def from_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document as model input: ``_id`` as a string."""
    return {**document, "_id": str(document["_id"])}


def to_model(model: type[ModelT], document: Mapping[str, Any]) -> ModelT:
    """A stored document as a public model."""
    return model.model_validate(from_document(document))


def to_model_or_none(model: type[ModelT], document: Mapping[str, Any] | None) -> ModelT | None:
    """``to_model`` for the answer of a single-document read, which may be None (not found)."""
    return to_model(model, document) if document else None


def search_regex(search: str) -> dict[str, Any]:
    """A case-insensitive substring match; the text is escaped so user input is never a pattern."""
    return {"$regex": re.escape(search), "$options": "i"}
