"""Teams and API keys in MongoDB."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.models.auth import ApiKey, Team
from workflow_service.ports.errors import DuplicateKey

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

TEAMS = "teams"
API_KEYS = "api_keys"

INDEXES: dict[str, list[dict[str, Any]]] = {
    API_KEYS: [
        {"keys": [("key_hash", ASCENDING)], "name": "key_hash_unique", "unique": True},
        {"keys": [("team_id", ASCENDING), ("created_at", ASCENDING)], "name": "team_keys"},
    ],
}


def _team(document: dict[str, Any]) -> Team:
    return Team(id=document["_id"], **{k: v for k, v in document.items() if k != "_id"})


def _key(document: dict[str, Any]) -> ApiKey:
    return ApiKey(id=document["_id"], **{k: v for k, v in document.items() if k != "_id"})


class MongoTeamRepository:
    def __init__(self, database: StoreDatabase) -> None:
        self._teams = database[TEAMS]

    def insert(self, team: Team) -> None:
        self._teams.insert_one({"_id": team.id, **team.model_dump(exclude={"id"})})

    def get(self, team_id: str) -> Team | None:
        document = self._teams.find_one({"_id": team_id})
        return _team(document) if document else None

    def set_max_concurrent_runs(self, team_id: str, limit: int) -> Team | None:
        document = self._teams.find_one_and_update(
            {"_id": team_id}, {"$set": {"max_concurrent_runs": limit}}, return_document=ReturnDocument.AFTER
        )
        return _team(document) if document else None


class MongoApiKeyRepository:
    def __init__(self, database: StoreDatabase) -> None:
        self._keys = database[API_KEYS]

    def insert(self, key: ApiKey) -> None:
        try:
            self._keys.insert_one({"_id": key.id, **key.model_dump(exclude={"id"})})
        except DuplicateKeyError as exc:
            raise DuplicateKey("an API key with this value already exists") from exc

    def find_active_by_hash(self, key_hash: str) -> ApiKey | None:
        document = self._keys.find_one({"key_hash": key_hash, "revoked_at": None})
        return _key(document) if document else None

    def revoke(self, key_id: str, revoked_at: datetime) -> bool:
        result = self._keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": revoked_at}})
        return result.matched_count == 1 or self._keys.count_documents({"_id": key_id}) == 1

    def list_for_team(self, team_id: str) -> list[ApiKey]:
        return [_key(d) for d in self._keys.find({"team_id": team_id}, sort=[("created_at", ASCENDING)])]
