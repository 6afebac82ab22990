"""The work-queue message both the dispatcher's queue adapters and the run worker rely on."""

from __future__ import annotations

import json

import pytest

from workflow_service.models.concurrency import InvalidWorkMessage, WorkMessage

RUN_ID = "5eb7cf5a86d9755df3a6c593"


def test_round_trip():
    body = WorkMessage(run_id=RUN_ID).to_body()
    assert body == '{"run_id":"5eb7cf5a86d9755df3a6c593"}'
    assert WorkMessage.from_body(body).run_id == RUN_ID


def test_unknown_fields_from_a_newer_producer_are_ignored():
    assert WorkMessage.from_body(json.dumps({"run_id": RUN_ID, "attempt": 2})).run_id == RUN_ID


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "Invalid JSON"),
        ("[]", "object"),
        ("{}", "run_id: Field required"),
        ('{"run_id": "5EB7CF5A86D9755DF3A6C593"}', "run_id"),
        ('{"run_id": 1}', "run_id"),
    ],
)
def test_invalid_bodies_say_what_is_wrong(body, problem):
    with pytest.raises(InvalidWorkMessage, match=problem):
        WorkMessage.from_body(body)
