"""Webhook and SQS triggers in MongoDB (collection ``workflow_triggers``).

Stored document: the public ``Trigger`` fields (``_id`` an ObjectId; ``has_secret`` kept in step
with the secret), plus ``secret`` (webhook triggers; never projected into the public shape) and,
on SQS triggers only, ``sqs_workflow_id``: a unique sparse index on it makes "at most one SQS
trigger per workflow" hold under concurrent creates, and serves the trigger queue's lookup by
workflow id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.adapters.mongo.documents import object_id, stored_id, to_model, to_model_or_none
from workflow_service.models.triggers import Trigger, TriggerKind
from workflow_service.ports.errors import DuplicateKey

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase
    from workflow_service.ports.clock import Clock

TRIGGERS = "workflow_triggers"

INDEXES: dict[str, list[dict[str, Any]]] = {
    TRIGGERS: [
        {
            "keys": [("team_id", ASCENDING), ("workflow_id", ASCENDING), ("created_at", ASCENDING)],
            "name": "workflow_triggers",
        },
        {
            "keys": [("sqs_workflow_id", ASCENDING)],
            "name": "one_sqs_trigger_per_workflow",
            "unique": True,
            "sparse": True,
        },
    ],
}

# The secret never leaves this module except through find_webhook.
_PUBLIC_FIELDS = {"secret": 0, "sqs_workflow_id": 0}


def _trigger(document: dict[str, Any] | None) -> Trigger | None:
    return to_model_or_none(Trigger, document)


class MongoTriggerRepository:
    def __init__(self, database: StoreDatabase, clock: Clock) -> None:
        self._triggers = database[TRIGGERS]
        self._clock = clock

    @staticmethod
    def _selector(team_id: str, workflow_id: str, trigger_id: str) -> dict[str, Any] | None:
        oid = object_id(trigger_id)
        return None if oid is None else {"_id": oid, "team_id": team_id, "workflow_id": workflow_id}

    def _update(self, selector: dict[str, Any] | None, fields: dict[str, Any], user_id: str) -> Trigger | None:
        if selector is None:
            return None
        document = self._triggers.find_one_and_update(
            selector,
            {"$set": {**fields, "updated_by": user_id, "updated_at": self._clock.now()}},
            projection=_PUBLIC_FIELDS,
            return_document=ReturnDocument.AFTER,
        )
        return _trigger(document)

    def insert(self, trigger: Trigger, secret: str | None) -> None:
        document = trigger.model_dump(by_alias=True, exclude={"webhook_path"})
        document.update(
            _id=stored_id(trigger.id), type=trigger.type.value, secret=secret, has_secret=secret is not None
        )
        if trigger.type == TriggerKind.SQS:
            document["sqs_workflow_id"] = trigger.workflow_id
        try:
            self._triggers.insert_one(document)
        except DuplicateKeyError as exc:
            raise DuplicateKey(f"workflow {trigger.workflow_id} already has an SQS trigger") from exc

    def get(self, team_id: str, workflow_id: str, trigger_id: str) -> Trigger | None:
        selector = self._selector(team_id, workflow_id, trigger_id)
        return None if selector is None else _trigger(self._triggers.find_one(selector, projection=_PUBLIC_FIELDS))

    def list_for_workflow(self, team_id: str, workflow_id: str) -> list[Trigger]:
        documents = self._triggers.find(
            {"team_id": team_id, "workflow_id": workflow_id},
            projection=_PUBLIC_FIELDS,
            sort=[("created_at", ASCENDING)],
        )
        return [to_model(Trigger, document) for document in documents]

    def update_fields(
        self, team_id: str, workflow_id: str, trigger_id: str, fields: dict[str, Any], user_id: str
    ) -> Trigger | None:
        return self._update(self._selector(team_id, workflow_id, trigger_id), dict(fields), user_id)

    def replace_secret(
        self, team_id: str, workflow_id: str, trigger_id: str, secret: str, user_id: str
    ) -> Trigger | None:
        selector = self._selector(team_id, workflow_id, trigger_id)
        if selector is not None:
            selector["type"] = TriggerKind.WEBHOOK.value
        fields = {"secret": secret, "has_secret": True, "secret_rotated_at": self._clock.now()}
        return self._update(selector, fields, user_id)

    def delete(self, team_id: str, workflow_id: str, trigger_id: str) -> bool:
        selector = self._selector(team_id, workflow_id, trigger_id)
        return selector is not None and self._triggers.delete_one(selector).deleted_count == 1

    def delete_for_workflow(self, team_id: str, workflow_id: str) -> int:
        return self._triggers.delete_many({"team_id": team_id, "workflow_id": workflow_id}).deleted_count

    def find_webhook(self, trigger_id: str) -> tuple[Trigger, str] | None:
        oid = object_id(trigger_id)
        if oid is None:
            return None
        document = self._triggers.find_one({"_id": oid, "type": TriggerKind.WEBHOOK.value})
        if document is None or not document.get("secret"):
            return None
        return to_model(Trigger, document), document["secret"]

    def find_sqs_trigger(self, workflow_id: str) -> Trigger | None:
        return _trigger(self._triggers.find_one({"sqs_workflow_id": workflow_id}, projection=_PUBLIC_FIELDS))
