"""What Slack's incoming-webhook answers mean for a delivery.

An incoming webhook answers ``200 ok`` in plain text, and an error as a
status with a plain-text code (``404 no_service``, ``410
channel_is_archived``); a rate limit is ``429`` with ``Retry-After`` and
sometimes a JSON body (``{"ok":false,"error":"rate_limited"}``). The mapping
is the Rust Slack connector's (``guests/connectors/slack/src/post.rs``,
``webhook_outcome``), so both connectors report the same outcomes.
"""

import json
from typing import Optional

from wit_world.imports.model import DeliveryOutcome, RemoteError

from sluice_guest import outcome
from sluice_guest.http import HttpError, Response

PERMANENT = {
    "channel_not_found": "the channel does not exist or the app cannot see it",
    "is_archived": "the channel is archived",
    "channel_is_archived": "the channel is archived",
    "no_service": "the incoming webhook was removed or disabled",
    "invalid_payload": "Slack could not read the message",
    "no_text": "the message had no text",
    "msg_too_long": "the message is too long",
    "action_prohibited": "a workspace admin restricted posting to this channel",
}
"""Codes retrying cannot help with, and what the store admin should know."""

TRANSIENT = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "rollup_error",
}
"""Codes of an overloaded or failing Slack; a later attempt may succeed."""


def webhook_outcome(response: Response, now_ms: int) -> DeliveryOutcome:
    """The outcome of an incoming-webhook answer; ``now_ms`` is the
    invocation's time, for ``Retry-After`` dates."""
    status = response.status
    body = response.text().strip()
    code = error_code(body)
    remote = outcome.remote_error(status, code, body)
    retry_after = response.retry_after(now_ms)
    if 200 <= status < 300:
        return outcome.delivered()
    if status == 429:
        return outcome.retry("Slack is rate limiting this webhook", retry_after, remote)
    if 500 <= status < 600:
        return outcome.retry(f"Slack answered HTTP {status}", retry_after, remote)
    if code is not None:
        return outcome_for_code(code, remote, retry_after)
    return outcome.failed(f"Slack answered HTTP {status}", remote)


def error_code(body: str) -> Optional[str]:
    """Slack's error code in an incoming-webhook answer: the plain-text body
    (``channel_not_found``), or the ``error`` of the JSON body Slack sends
    with a rate limit."""
    if is_code(body):
        return body
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    code = answer.get("error") if isinstance(answer, dict) else None
    return code if isinstance(code, str) and is_code(code) else None


def is_code(text: str) -> bool:
    """Whether ``text`` looks like one of Slack's error codes
    (``channel_not_found``) rather than a free-form message."""
    return 1 <= len(text) <= 64 and all(c in _CODE_CHARACTERS for c in text)


_CODE_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def outcome_for_code(code: str, remote: RemoteError, retry_after: Optional[int]) -> DeliveryOutcome:
    """The outcome for Slack error ``code``, known or not: unknown codes fail
    permanently, naming the code."""
    if code in PERMANENT:
        return outcome.failed(f"Slack refused the message: {PERMANENT[code]} ({code})", remote)
    if code in TRANSIENT:
        return outcome.retry(f"Slack could not post the message ({code})", retry_after, remote)
    return outcome.failed(f"Slack refused the message with error {code}", remote)


def transport_failure(error: HttpError) -> DeliveryOutcome:
    """The outcome when no answer came back: network trouble retries; a
    request the host refused, or that could not be sent, fails."""
    if error.is_retryable():
        return outcome.retry(f"could not reach Slack: {error}")
    if error.is_refused():
        return outcome.failed(f"Sluice refused to send the message to Slack: {error}")
    return outcome.failed(f"the request to Slack failed: {error}")
