"""A doctor finding and the guard that turns an AWS error into one (shared by the checks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from siprec_recorder.errors import RecorderError

Status = Literal["OK", "WARN", "FAIL"]


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report."""

    check: str
    status: Status
    detail: str
    fix: str = ""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "ClientError"))


def unreachable(exc: BotoCoreError) -> RecorderError:
    """The one error for "no credentials, no network, no endpoint": it stops every check."""
    if isinstance(exc, NoCredentialsError):
        return RecorderError(
            "no AWS credentials: set a profile (AWS_PROFILE, aws sso login) or AWS_* variables"
        )
    return RecorderError(f"cannot reach AWS: {type(exc).__name__}")


def guard(check: str, fix: str, fn: Callable[[], list[Finding]]) -> list[Finding]:
    """Run one check; an AWS error becomes a FAIL finding, a missing credential stops all."""
    try:
        return fn()
    except ClientError as exc:
        return [Finding(check, "FAIL", f"AWS said {error_code(exc)}", fix)]
    except BotoCoreError as exc:
        raise unreachable(exc) from exc
