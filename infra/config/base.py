"""What every cdk.json context model shares: strictness, and whole-string patterns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ContextModel(BaseModel):
    """One object of the cdk.json context.

    Unknown keys are rejected, so a typo in ``cdk.json`` fails the synth instead of being ignored.
    Types are strict: the context is JSON, so ``"5"`` or ``5.0`` where an integer is meant, or ``1``
    where a boolean is meant, is a mistake to report rather than a value to coerce.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def whole_match(pattern: str) -> str:
    """``pattern`` anchored at both ends: pydantic's ``pattern`` searches, the rules here match whole values."""
    return f"^(?:{pattern})$"
