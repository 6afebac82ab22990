"""``ports.SecretReader`` over a dict (tests/contract/test_secret_reader.py holds it to the AWS adapter's contract)."""

from __future__ import annotations

from workflow_service.errors import UpstreamUnavailable


class FakeSecretReader:
    """Secrets by id; each is read from ``values`` once and cached, like the container-lifetime cache of
    ``SecretsManagerReader``. ``reads`` lists every ``read`` call; ``failing`` makes reads raise."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.reads: list[str] = []
        self.failing = False
        self._cache: dict[str, str] = {}

    def read(self, secret_id: str) -> str:
        self.reads.append(secret_id)
        if secret_id in self._cache:
            return self._cache[secret_id]
        if self.failing:
            raise UpstreamUnavailable(f"could not read secret {secret_id} (ThrottlingException)")
        if secret_id not in self.values:
            raise UpstreamUnavailable(f"could not read secret {secret_id} (ResourceNotFoundException)")
        self._cache[secret_id] = self.values[secret_id]
        return self._cache[secret_id]
