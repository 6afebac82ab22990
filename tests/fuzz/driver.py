"""Runs schemathesis over every operation of an OpenAPI document against a running service, and tallies.

Each operation gets a bounded number of generated cases, positive (schema-valid) and negative, under
one deterministic Hypothesis seed and a share of a total time budget. Every case's response goes
through all of schemathesis's default checks; the outcome of each check is counted (the run never
stops at the first failure), so a caller can require some checks to pass and report the rest.
"""

from __future__ import annotations

import collections
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from tests.fuzz.seed import SeededIds
from workflow_service.http.openapi import CROSS_FIELD_RULES
from workflow_service.triggers.signatures import sign

# The service must never answer these with a failure; the other checks are counted and reported.
REQUIRED_CHECKS = ("not_a_server_error", "response_schema_conformance")
# A rule between fields (documented in the operation's description, see openapi.CROSS_FIELD_RULES) that
# generation did not honour: the 4xx naming the field is the right answer, not a failure.
ALLOWED_CROSS_FIELD = "positive_data_acceptance (cross-field rule, allowed)"
FUZZ_SEED = 20_261_202
REQUEST_TIMEOUT_SECONDS = 30
REAL_ID_CHANCE = 0.85
"""How often a path parameter is a seeded object's id rather than a generated value."""


class _BudgetSpent(BaseException):
    """Stops an operation's Hypothesis loop when its time share is used (a BaseException, so Hypothesis
    does not treat it as a failing example to shrink)."""


@dataclass
class CheckTally:
    passed: int = 0
    failed: int = 0
    samples: list[str] = field(default_factory=list)
    """The first few failures, as ``operation: title`` with the reproducing request."""
    failed_by_operation: Counter[str] = field(default_factory=Counter)


@dataclass
class FuzzReport:
    operations: int = 0
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    statuses_by_operation: collections.defaultdict[str, Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(Counter)
    )
    checks: dict[str, CheckTally] = field(default_factory=dict)
    budget_exhausted: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def failures(self, check: str) -> int:
        return self.checks[check].failed if check in self.checks else 0

    def summary(self) -> str:
        lines = [
            f"fuzz: operations {self.operations}, cases {self.cases}, {self.seconds:.0f} s; "
            f"statuses {dict(sorted(self.statuses.items()))}"
        ]
        for name, tally in sorted(self.checks.items()):
            lines.append(f"  {name:<32} passed {tally.passed:>6}  failed {tally.failed:>5}")
            lines.extend(f"      {count:>5} x {where}" for where, count in tally.failed_by_operation.most_common(6))
        if self.budget_exhausted:
            lines.append(f"  time share used up before all examples: {', '.join(self.budget_exhausted)}")
        return "\n".join(lines)

    def failure_samples(self, checks: Iterable[str]) -> str:
        return "\n\n".join(sample for name in checks if name in self.checks for sample in self.checks[name].samples)


@dataclass
class FuzzTarget:
    """Where and as whom to send the cases, and the real objects to aim them at."""

    base_url: str
    api_key: str
    ids: SeededIds


def _operation_order(operation: Any) -> tuple[int, str]:
    # The inbound webhook first, while the seeded triggers are enabled and their secrets not rotated;
    # deletes last (and the workflow's own delete after every other), so the seeded objects stay there
    # for every other operation's cases.
    method = operation.method.upper()
    if operation.path.startswith("/workflows/v1/hooks/"):
        return -1, operation.label
    if method != "DELETE":
        return 0, operation.label
    return (2 if operation.path == "/workflows/v1/workflows/{workflow_id}" else 1), operation.label


def fuzz(
    document: dict[str, Any],
    target: FuzzTarget,
    *,
    max_examples: int = 40,
    time_budget_seconds: float = 150.0,
    on_operation: Callable[[str, int], None] | None = None,
) -> FuzzReport:
    """Fuzz every operation of ``document`` against ``target``; the tallies of every default check."""
    report = FuzzReport()
    schema = schemathesis.openapi.from_dict(document)

    @schema.hook("after_validate")
    def tally(context: Any, case: Any, response: Any, results: list[Any]) -> None:
        report.statuses[response.status_code] += 1
        report.statuses_by_operation[case.operation.label][response.status_code] += 1
        for result in results:
            name = result.name
            if (
                result.failure is not None
                and name == "positive_data_acceptance"
                and case.operation.definition.raw.get("operationId") in CROSS_FIELD_RULES
                and 400 <= response.status_code < 500
            ):
                name = ALLOWED_CROSS_FIELD
            counted = report.checks.setdefault(name, CheckTally())
            if result.failure is None:
                counted.passed += 1
                continue
            counted.failed += 1
            counted.failed_by_operation[f"{case.operation.label} -> {response.status_code}"] += 1
            if counted.failed_by_operation[f"{case.operation.label} -> {response.status_code}"] <= 2:
                failure = result.failure
                counted.samples.append(
                    f"[{name}] {case.operation.label} -> {response.status_code}: {failure.title}\n"
                    f"{failure.message[:600]}\n{response.text[:300]}\n{case.as_curl_command()[:1500]}"
                )

    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_operation_order)
    started = time.monotonic()
    deadline = started + time_budget_seconds
    for index, operation in enumerate(operations):
        before = report.cases
        share = (deadline - time.monotonic()) / (len(operations) - index)
        operation_deadline = time.monotonic() + max(share, 0.0)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            examples = max_examples if mode is GenerationMode.POSITIVE else max(max_examples // 2, 1)
            mode_deadline = (
                operation_deadline
                if mode is GenerationMode.NEGATIVE
                else (time.monotonic() + (operation_deadline - time.monotonic()) * 2 / 3)
            )
            try:
                _fuzz_operation(operation, mode, examples, mode_deadline, target, report)
            except _BudgetSpent:
                report.budget_exhausted.append(f"{operation.label} ({mode.value})")
            except hypothesis.errors.Flaky:
                # _BudgetSpent ends a case before it draws its ids: when hypothesis replays an earlier
                # prefix past the deadline, the replay draws less and it reports "flaky" instead.
                if time.monotonic() <= mode_deadline:
                    raise
                report.budget_exhausted.append(f"{operation.label} ({mode.value})")
            except hypothesis.errors.Unsatisfiable:
                pass  # nothing to make invalid (e.g. no parameters and no body in negative mode)
        report.operations += 1
        if on_operation is not None:
            on_operation(operation.label, report.cases - before)
    report.seconds = time.monotonic() - started
    return report


def _fuzz_operation(
    operation: Any, mode: GenerationMode, examples: int, deadline: float, target: FuzzTarget, report: FuzzReport
) -> None:
    real_ids = {name: target.ids.for_parameter(operation.path, name) for name in _path_parameter_names(operation)}

    @hypothesis.seed(FUZZ_SEED)
    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run_case(case: Any, data: st.DataObject) -> None:
        if time.monotonic() > deadline:
            raise _BudgetSpent
        aim = not (case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH))
        for name, values in real_ids.items():
            if aim and values and data.draw(st.floats(0, 1), label=f"real {name}?") < REAL_ID_CHANCE:
                case.path_parameters[name] = data.draw(st.sampled_from(values), label=name)
        body_is_negative = case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
        if isinstance(case.body, dict) and not body_is_negative:
            for key, values in target.ids.for_body(case.operation.path).items():
                if key in case.body and values and data.draw(st.floats(0, 1), label=f"real {key}?") < REAL_ID_CHANCE:
                    case.body[key] = data.draw(st.sampled_from(values), label=key)
        _send_and_validate(case, target, report)

    run_case()


def _path_parameter_names(operation: Any) -> list[str]:
    return [parameter.name for parameter in operation.path_parameters]


def _send_and_validate(case: Any, target: FuzzTarget, report: FuzzReport) -> None:
    headers = {"Authorization": f"Bearer {target.api_key}"}
    extra: dict[str, Any] = {}
    secret = target.ids.webhook_secrets.get(str(case.path_parameters.get("trigger_id")))
    # A case whose headers are the invalid part keeps them: signing would replace what is under test.
    headers_are_negative = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    signable = operation_is_webhook(case) and secret is not None and not headers_are_negative
    body = _raw_body(case) if signable else None
    if body is not None and secret is not None:
        # Signed over the exact bytes sent, so the case gets past the signature check to the body's handling.
        headers.update(_signature_headers(secret, body, f"msg_fuzz_{report.cases}"))
        extra["data"] = body
    report.cases += 1
    try:
        case.call_and_validate(base_url=target.base_url, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS, **extra)
    except FailureGroup:
        pass  # counted per check by the after_validate hook
    except requests.RequestException as error:
        # No answer at all (a hung or crashed service) is a server error too.
        tally = report.checks.setdefault("not_a_server_error", CheckTally())
        tally.failed += 1
        tally.samples.append(f"[no answer] {case.operation.label}: {error}\n{case.as_curl_command()[:1500]}")


def operation_is_webhook(case: Any) -> bool:
    return case.operation.path.startswith("/workflows/v1/hooks/")


def _raw_body(case: Any) -> bytes | None:
    """The bytes to send for ``case``'s body, or None when it is not something to sign (e.g. a form)."""
    if case.body is NOT_SET:
        return b""
    if isinstance(case.body, bytes):
        return case.body
    try:
        return json.dumps(case.body).encode()
    except (TypeError, ValueError):
        return None


def _signature_headers(secret: str, body: bytes, message_id: str) -> dict[str, str]:
    # The service's own signer, not the standardwebhooks package's: that one signs text, and a negative
    # case's body may be any bytes.
    timestamp = int(time.time())
    signature = sign(secret, message_id, timestamp, body)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}
