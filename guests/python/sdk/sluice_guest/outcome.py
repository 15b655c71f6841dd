"""Constructors for what the delivery, connection and sync exports return,
and how an HTTP failure maps onto each.

The types are the contract's (``wit_world.imports.model``); these functions
fill in the fields a connector usually leaves empty, so that::

    return outcome.retry("Slack is rate limiting", after_seconds=7,
                         remote=outcome.remote_error(429, code="rate_limited"))

reads like the Rust SDK's ``DeliveryOutcome::retry(...).with_remote(...)``.
"""

from typing import Iterable, Optional, Tuple

from wit_world.imports.model import (
    CheckStatus,
    ConnectionCheck,
    Delivered,
    DeliveryOutcome,
    DeliveryOutcome_Delivered,
    DeliveryOutcome_Failed,
    DeliveryOutcome_Retry,
    PermanentFailure,
    RemoteError,
    RetryLater,
    SyncError,
)

from .http import HttpError

MAX_REMOTE_MESSAGE_CHARS = 1_000
"""Longest remote message kept in a :class:`RemoteError`, in characters."""

Steps = Iterable[Tuple[str, str]]


def delivered(external_id: Optional[str] = None) -> DeliveryOutcome:
    """Delivered; ``external_id`` is the remote system's id for what was
    created, for example a Slack message ``ts``."""
    return DeliveryOutcome_Delivered(Delivered(external_id))


def retry(
    reason: str,
    after_seconds: Optional[int] = None,
    remote: Optional[RemoteError] = None,
) -> DeliveryOutcome:
    """Failed in a way that may succeed later; ``after_seconds`` asks for a
    delay before the next attempt (for example from ``Retry-After``), which
    the host honours within its bounds; ``remote`` is what the remote system
    answered."""
    return DeliveryOutcome_Retry(RetryLater(reason, after_seconds, remote))


def failed(reason: str, remote: Optional[RemoteError] = None) -> DeliveryOutcome:
    """Failed in a way that retrying cannot fix; the delivery is
    dead-lettered. ``reason`` is for the store admin: say what to fix."""
    return DeliveryOutcome_Failed(PermanentFailure(reason, remote))


def remote_error(
    status: Optional[int] = None,
    code: Optional[str] = None,
    message: Optional[str] = None,
) -> RemoteError:
    """What the remote system answered: its HTTP ``status``, its own error
    ``code`` (``channel_not_found``) and its ``message``, cut to
    :data:`MAX_REMOTE_MESSAGE_CHARS` characters (and an ellipsis)."""
    if message is not None and len(message) > MAX_REMOTE_MESSAGE_CHARS:
        message = message[:MAX_REMOTE_MESSAGE_CHARS] + "…"
    return RemoteError(status, code, message)


def for_http_error(error: HttpError) -> DeliveryOutcome:
    """The outcome of a request that got no answer: a retry for network
    trouble, a permanent failure for a request the host refused or that
    cannot be sent."""
    if error.is_retryable():
        return retry(str(error))
    return failed(str(error))


def check(status: CheckStatus, message: str, steps: Steps = ()) -> ConnectionCheck:
    """A connection check with ``status``, a one-sentence ``message`` for the
    store admin and what each step found (``("token", "accepted")``)."""
    return ConnectionCheck(status, message, list(steps))


def check_ok(message: str, steps: Steps = ()) -> ConnectionCheck:
    """Everything checked works."""
    return check(CheckStatus.OK, message, steps)


def check_misconfigured(message: str, steps: Steps = ()) -> ConnectionCheck:
    """A setting or credential is missing or malformed; nothing was sent."""
    return check(CheckStatus.MISCONFIGURED, message, steps)


def check_unauthorized(message: str, steps: Steps = ()) -> ConnectionCheck:
    """The remote system refused the credentials."""
    return check(CheckStatus.UNAUTHORIZED, message, steps)


def check_unreachable(message: str, steps: Steps = ()) -> ConnectionCheck:
    """The remote system could not be reached or answered with an error."""
    return check(CheckStatus.UNREACHABLE, message, steps)


def check_for_http_error(error: HttpError) -> ConnectionCheck:
    """A check whose request got no answer reports the remote system
    unreachable, naming the error."""
    return check_unreachable(f"could not reach the remote system: {error}")


def sync_error(reason: str, retryable: bool, remote: Optional[RemoteError] = None) -> SyncError:
    """Why a sync batch could not be produced; ``retryable`` says whether a
    later run may succeed without anyone changing the configuration."""
    return SyncError(reason, retryable, remote)


def sync_error_for_http_error(error: HttpError) -> SyncError:
    """The sync error of a request that got no answer, retryable when the
    error is."""
    return sync_error(str(error), error.is_retryable())
