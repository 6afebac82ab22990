"""The AWS region and account the local adapters put in the ARNs they report.

Any well-formed values do locally; one definition keeps queue, schedule and emulated Lambda ARNs
consistent with each other.
"""

LOCAL_REGION = "local"
LOCAL_ACCOUNT_ID = "000000000000"
