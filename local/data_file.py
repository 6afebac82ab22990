"""The embedded store kept in a local JSON file between restarts (``WORKFLOWS_LOCAL_DATA_FILE``).

By default the local runtime's data lives in memory and is gone when it stops, as with the
Temporal and Inngest dev servers. Given a file, the runtime loads it at start and saves it a second
after writes and at shutdown. Every save writes a temporary file next to it and renames it over
the old one, so a crash mid-save leaves the previous copy intact. Documents are MongoDB Extended
JSON (``bson.json_util``), so ObjectIds and datetimes come back as they were stored.

Only the store is kept: runs mid-turn on the in-process work queue are not resumed (the reaper
fails them after its heartbeat timeout), and queued trigger messages are lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from datetime import UTC
from pathlib import Path
from typing import Any

from bson import json_util

from local.background_loop import BackgroundLoop
from workflow_service.adapters.mongo.store import StoreDatabase

logger = logging.getLogger("local.data_file")

FILE_FORMAT = "workflow-service local data"
FILE_VERSION = 1
SAVE_INTERVAL_SECONDS = 1.0
# Relaxed Extended JSON stays readable ($oid, $date in ISO 8601); aware datetimes, as the store hands out.
_JSON_OPTIONS = json_util.RELAXED_JSON_OPTIONS.with_options(tz_aware=True, tzinfo=UTC)


class LocalDataFileError(Exception):
    """The data file cannot be used; the message says which file and what to do."""


class LocalDataFile:
    """Loads ``path`` into ``database`` and saves it back; ``start``/``stop`` save after writes.

    ``dev_api_key`` is saved with the data: a restart without WORKFLOWS_DEV_API_KEY reuses it, so
    the saved workflows stay visible (keys are stored hashed; the team is found by the key).
    """

    def __init__(self, path: Path, database: StoreDatabase) -> None:
        self.path = path
        self.dev_api_key: str | None = None
        self._database = database
        self._saved_writes = -1
        self._saved_text: str | None = None
        self._loop = BackgroundLoop(
            "local-data-file",
            self._save_if_written,
            SAVE_INTERVAL_SECONDS,
            logger=logger,
            failure_message=f"saving {path} failed; retrying",
        )

    def load(self) -> None:
        """Fill the (empty) database from the file, and ``dev_api_key`` from it; a missing file is no data."""
        if not self.path.exists():
            return
        try:
            text = self.path.read_text(encoding="utf-8")
            document = json_util.loads(text, json_options=_JSON_OPTIONS)
        except (OSError, ValueError) as problem:
            raise LocalDataFileError(f"cannot read {self.path}: {problem}; move it away to start empty") from None
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            raise LocalDataFileError(f"{self.path} is not a workflow-service local data file; move it away")
        if document.get("version") != FILE_VERSION:
            raise LocalDataFileError(f"{self.path} has version {document.get('version')}; this runtime reads 1")
        self.dev_api_key = document.get("dev_api_key")
        with self._database.exclusive():
            for name, documents in document["collections"].items():
                if documents:
                    self._database.raw[name].insert_many(documents)
        self._saved_text = text
        total = sum(len(documents) for documents in document["collections"].values())
        logger.info("loaded %d documents from %s", total, self.path)

    def start(self) -> None:
        self._saved_writes = self._database.writes.count
        self._loop.start()

    def stop(self) -> None:
        """Stop the periodic saves and save a last time."""
        self._loop.stop()
        self.save()

    def save(self) -> None:
        """Write the store to the file (temp file + rename), unless it is what the file already holds."""
        writes = self._database.writes.count
        text = self._serialized()
        if text != self._saved_text:
            _replace_atomically(self.path, text)
            self._saved_text = text
        self._saved_writes = writes

    def _save_if_written(self) -> bool:
        if self._database.writes.count != self._saved_writes:
            self.save()
        return False

    def _serialized(self) -> str:
        raw = self._database.raw
        with self._database.exclusive():
            collections = {
                name: list(raw[name].find({}, sort=[("_id", 1)]))
                for name in sorted(raw.list_collection_names())
                if not name.startswith("system.")
            }
        document: dict[str, Any] = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "dev_api_key": self.dev_api_key,
            "collections": collections,
        }
        return json_util.dumps(document, json_options=_JSON_OPTIONS, indent=1)


def _replace_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


__all__ = ["LocalDataFile", "LocalDataFileError"]
