"""Secret reading (the MongoDB URI in AWS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    pass


class SecretReader(Protocol):
    def read(self, secret_id: str) -> str:
        """The secret's string value (cached by the adapter for the container's lifetime)."""
        ...
