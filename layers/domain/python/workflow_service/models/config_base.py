"""The base of every workflow-config model, shared by the config modules."""

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from workflow_service.models.sdk_fields import drop_nulls_for_defaulted_fields


class _ConfigModel(BaseModel):
    """Config parts reject unknown fields (typos) and accept field names as well as aliases."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        # The product's SDK sends null for every optional field it leaves unset.
        return drop_nulls_for_defaulted_fields(cls, data)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4()}"


def _lowercase(value: Any) -> Any:
    # The product's SDK spells enums in upper case (SAY_LLM); accept both spellings.
    return value.strip().lower() if isinstance(value, str) else value
