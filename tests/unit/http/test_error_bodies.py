"""A value the store refuses (found by the fuzzer: a NUL in a free-form key) answers like any validation
error: a list naming the body on /workflows/v1, seed 002's 400 envelope on /api/v1/schedules."""

from __future__ import annotations

import json

from workflow_service.errors import Unstorable
from workflow_service.http.api import error_response

REFUSED = Unstorable("the data cannot be stored: Field names cannot contain the null character")


def test_issue11_unstorable_answers_a_validation_list_naming_the_body():
    response = error_response(REFUSED, "workflows_v1")

    assert response["statusCode"] == 422
    assert json.loads(response["body"]) == {
        "detail": [{"loc": ["body"], "msg": REFUSED.message, "type": "value_error"}]
    }


def test_issue11_unstorable_on_the_schedules_api_is_its_400_validation_envelope():
    response = error_response(REFUSED, "schedules_api")

    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert (body["code"], body["details"]) == ("VALIDATION_ERROR", {"request": REFUSED.message})
