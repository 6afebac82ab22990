"""The local data file in-process: what is saved comes back as stored, and a bad file is named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bson import ObjectId

from local.data_file import LocalDataFile, LocalDataFileError
from workflow_service.adapters.mongo.store import in_memory


def test_documents_come_back_with_their_object_ids_and_aware_datetimes(tmp_path):
    path = tmp_path / "data.json"
    stored = {
        "_id": ObjectId(),
        "created_at": datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC),
        "nested": {"ids": [ObjectId()], "count": 3, "ratio": 0.5, "none": None},
    }
    first = in_memory()
    first["workflows"].insert_one(dict(stored))
    saving = LocalDataFile(path, first)
    saving.dev_api_key = "wfk_dev_kept"
    saving.save()

    second = in_memory()
    loading = LocalDataFile(path, second)
    loading.load()

    assert second["workflows"].find_one({"_id": stored["_id"]}) == stored
    assert loading.dev_api_key == "wfk_dev_kept"
    assert [entry.name for entry in tmp_path.iterdir()] == ["data.json"]


def test_a_missing_file_is_an_empty_store(tmp_path):
    database = in_memory()
    LocalDataFile(tmp_path / "absent.json", database).load()
    assert database.raw.list_collection_names() == []


@pytest.mark.parametrize("content", ["{not json", '{"some": "other file"}'])
def test_a_file_that_is_not_local_data_is_refused_by_name(tmp_path, content):
    path = tmp_path / "data.json"
    path.write_text(content)
    with pytest.raises(LocalDataFileError, match=r"data\.json"):
        LocalDataFile(path, in_memory()).load()
