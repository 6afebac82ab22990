"""The limits cdk.json is checked against agree with the limits the runtime checks its environment against.

infra/ imports no runtime code, so a value the stack hands to a function (e.g. ``schedules.retry_attempts``
becomes ``SCHEDULE_RETRY_ATTEMPTS``) is bounded twice: by ``infra/config`` at synth and by
``workflow_service/settings/`` at cold start. If the two drifted, a stage could synthesize and
deploy, and then every function of it fail on its first request. These tests read both models' field
metadata, so neither side can change a limit alone. Infra may be stricter only where listed below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from infra.config.sections import (
    ConcurrencyConfig,
    DedupeConfig,
    LambdaConfig,
    LlmConfig,
    ReaperConfig,
    ScheduleConfig,
    StoreConfig,
)
from workflow_service.settings import RuntimeSettings, StoreSettings
from workflow_service.settings.concurrency import ConcurrencySettings, DedupeSettings, ReaperSettings
from workflow_service.settings.llm import LlmSettings
from workflow_service.settings.schedules import ScheduleSettings

# Each cdk.json section whose values become the environment that a settings section reads.
SECTION_PAIRS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "schedules": (ScheduleConfig, ScheduleSettings),
    "concurrency": (ConcurrencyConfig, ConcurrencySettings),
    "reaper": (ReaperConfig, ReaperSettings),
    "llm": (LlmConfig, LlmSettings),
    "lambda": (LambdaConfig, RuntimeSettings),
    "store": (StoreConfig, StoreSettings),
    "dedupe": (DedupeConfig, DedupeSettings),
}
# Listed, not only discovered: a field renamed on one side would otherwise drop out of the check unseen.
SHARED_FIELDS = {
    "schedules": {"retry_attempts", "max_event_age_seconds"},
    "concurrency": {
        "default_team_max_concurrent_runs",
        "retry_after_seconds",
        "dispatch_max_workflows",
        "dispatch_max_runs",
    },
    "reaper": {
        "heartbeat_timeout_seconds",
        "input_timeout_seconds",
        "queue_ttl_seconds",
        "lease_grace_seconds",
        "schedule_firing_grace_seconds",
        "batch_size",
        "max_batches",
        "pause_ttl_seconds",
        "schedule_push_grace_seconds",
        "schedule_listing_interval_seconds",
    },
    "llm": {"default_provider", "default_model", "bedrock_region", "openai_base_url", "request_timeout_seconds"},
    "lambda": {"log_level"},
    "store": {"max_pool_size"},
    "dedupe": {"window_seconds"},
}
# Where cdk.json is deliberately stricter than the runtime, and why; every other shared field must
# have exactly the same limits on both sides.
NARROWER_IN_INFRA = {
    (
        "reaper",
        "schedule_firing_grace_seconds",
    ): "0 would re-fire a schedule whose delivery is still submitting its run",
    ("llm", "request_timeout_seconds"): "a sub-second timeout would only make deployed LLM calls fail",
    ("lambda", "log_level"): "cdk.json offers the standard level names; the runtime's logger takes any string",
}


@dataclass(frozen=True)
class Accepted:
    """The numbers (between the bounds) or the choices (of a Literal) a field accepts."""

    low: float = -math.inf
    low_inclusive: bool = True
    high: float = math.inf
    high_inclusive: bool = True
    choices: frozenset[object] | None = None

    @classmethod
    def by(cls, field: FieldInfo) -> Accepted:
        choices = frozenset(get_args(field.annotation)) if get_origin(field.annotation) is Literal else None
        accepted = cls(choices=choices)
        for constraint in field.metadata:
            if isinstance(constraint, annotated_types.Ge):
                accepted = replace(accepted, low=constraint.ge, low_inclusive=True)
            elif isinstance(constraint, annotated_types.Gt):
                accepted = replace(accepted, low=constraint.gt, low_inclusive=False)
            elif isinstance(constraint, annotated_types.Le):
                accepted = replace(accepted, high=constraint.le, high_inclusive=True)
            elif isinstance(constraint, annotated_types.Lt):
                accepted = replace(accepted, high=constraint.lt, high_inclusive=False)
        return accepted

    def within(self, wider: Accepted) -> bool:
        """Whether every value this accepts, ``wider`` accepts too."""
        low_ok = self.low > wider.low or (self.low == wider.low and (wider.low_inclusive or not self.low_inclusive))
        high_ok = self.high < wider.high or (
            self.high == wider.high and (wider.high_inclusive or not self.high_inclusive)
        )
        choices_ok = wider.choices is None or (self.choices is not None and self.choices <= wider.choices)
        return low_ok and high_ok and choices_ok


def _shared_fields() -> list[tuple[str, str]]:
    return sorted((section, name) for section, names in SHARED_FIELDS.items() for name in names)


@pytest.mark.parametrize("section", sorted(SECTION_PAIRS))
def test_the_fields_infra_and_the_runtime_share_are_the_listed_ones(section):
    infra_model, settings_model = SECTION_PAIRS[section]
    assert set(infra_model.model_fields) & set(settings_model.model_fields) == SHARED_FIELDS[section]


@pytest.mark.parametrize(("section", "name"), _shared_fields())
def test_infra_accepts_what_the_runtime_accepts(section, name):
    infra_model, settings_model = SECTION_PAIRS[section]
    in_infra = Accepted.by(infra_model.model_fields[name])
    in_settings = Accepted.by(settings_model.model_fields[name])
    if (section, name) in NARROWER_IN_INFRA:
        assert in_infra.within(in_settings), f"{section}.{name}: cdk.json allows values the runtime rejects"
        assert in_infra != in_settings, f"{section}.{name} is no longer narrower in infra: drop it from the list"
    else:
        assert in_infra == in_settings


def test_the_comparison_tells_a_narrower_range_from_a_wider_one():
    # The agreement above is only as good as this comparison; pin it on the cases it must tell apart.
    zero_to_185 = Accepted(low=0, high=185)
    assert Accepted(low=1, high=185).within(zero_to_185)
    assert not Accepted(low=0, high=186).within(zero_to_185)
    assert Accepted(low=1).within(Accepted(low=0, low_inclusive=False))
    assert not Accepted(low=0).within(Accepted(low=0, low_inclusive=False))
    assert not Accepted(choices=frozenset({"scripted", "x"})).within(Accepted(choices=frozenset({"scripted"})))
