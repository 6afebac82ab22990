"""AWS Secrets Manager through boto3 behind ``ports.SecretReader``: the fallback where the Parameters
and Secrets Lambda Extension does not run (see adapters/aws/secrets_extension.py).

Importing this module imports botocore (about half a second of CPU at cold start), so only the
fallback path imports it, on first use.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from workflow_service.adapters.aws.secret_values import (
    MONGODB_URI_KEYS,
    CachedSecretReader,
    SecretFormatError,
    secret_text,
)
from workflow_service.errors import UpstreamUnavailable

__all__ = ["MONGODB_URI_KEYS", "SecretFormatError", "SecretsManagerReader"]


class SecretsManagerReader(CachedSecretReader):
    """``ports.SecretReader`` over a boto3 ``secretsmanager`` client; each secret is fetched at most once.

    Failures raise ``UpstreamUnavailable`` naming the secret id and the AWS error code, never a value.
    """

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._client = client

    def _fetch(self, secret_id: str) -> str:
        try:
            answer = self._client.get_secret_value(SecretId=secret_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise UpstreamUnavailable(f"could not read secret {secret_id} from Secrets Manager ({code})") from error
        except BotoCoreError as error:
            raise UpstreamUnavailable(
                f"could not read secret {secret_id} from Secrets Manager ({type(error).__name__})"
            ) from error
        binary = answer.get("SecretBinary")
        return secret_text(secret_id, answer.get("SecretString"), None if binary is None else bytes(binary))
