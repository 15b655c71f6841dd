"""Requests the host authenticates with credentials the component never
holds.

A credential whose manifest entry has a ``[credentials.auth]`` table (a
bearer token, an API key, an OAuth refresh token or service-account key, an
HMAC secret, an incoming-webhook URL) is applied by the host, and only to the
origins the manifest binds it to. Ask for it with
:meth:`sluice_guest.http.Request.authenticated`::

    response = (
        Request.post("https://slack.com/api/chat.postMessage")
        .authenticated("bot_token")
        .json(message)
        .send()
    )

When the host cannot obtain an access token for such a request, it answers
the request itself; :meth:`HostAuthFailure.from_response` recognises that
answer so that the connector can tell a store admin what to fix.
"""

import enum
import json
from dataclasses import dataclass
from typing import Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import auth as _auth

HOST_AUTH_ERROR_HEADER = "sluice-auth-error"
"""The header on an answer the host wrote itself because it could not obtain
an access token for the request."""


class AuthError(Exception):
    """Why the host cannot authenticate a request with credential :attr:`key`.

    Attributes:
        key: the credential's key.
        not_configured: true when the configuration leaves the credential
            unset; false when the manifest declares no such credential, or
            not with an ``auth`` table.
    """

    def __init__(self, key: str, not_configured: bool):
        if not_configured:
            message = f"credential '{key}' is not set in this configuration"
        else:
            message = (
                f"credential '{key}' is not applied by the host: "
                "the manifest gives it no [credentials.auth] table"
            )
        super().__init__(message)
        self.key = key
        self.not_configured = not_configured


def request_header(key: str) -> Tuple[str, str]:
    """The header ``(name, value)`` that asks the host to authenticate a
    request with credential ``key``; raises :class:`AuthError`.

    Calling it also tells whether the configuration sets the credential,
    without the component ever seeing its value."""
    try:
        return _auth.request_header(key)
    except Err as error:
        raise AuthError(key, error.value == _auth.AuthError.NOT_CONFIGURED) from None


class HostAuthReason(enum.Enum):
    """What kept the host from obtaining an access token."""

    TOKEN_REFUSED = "token-refused"
    """The token endpoint refused the credential (a revoked grant, a wrong
    client): someone must change the configuration."""
    CREDENTIAL_UNREADABLE = "credential-unreadable"
    """The credential's value cannot be used as the scheme needs (a
    service-account key that is not one)."""
    TOKEN_ENDPOINT_FAILED = "token-endpoint-failed"
    """The token endpoint failed or could not be reached; a later attempt may
    succeed."""


@dataclass
class TokenEndpointRefusal:
    """A token endpoint's answer without a token: a refusal (RFC 6749 section
    5.2) or a failure.

    Attributes:
        status: its HTTP status.
        error: its ``error`` code, for example ``invalid_grant``; empty when
            it gave none.
        description: its ``error_description``, if any.
    """

    status: int
    error: str
    description: Optional[str]


@dataclass
class HostAuthFailure:
    """Why the host answered a request itself instead of sending it: it could
    not obtain an access token with the credential the request asked for.
    ``str(failure)`` is the host's explanation.

    Attributes:
        reason: what went wrong.
        description: the host's explanation, naming the credential (never
            its value).
        token_endpoint: the token endpoint's answer, when it gave one.
    """

    reason: HostAuthReason
    description: str
    token_endpoint: Optional[TokenEndpointRefusal]

    @classmethod
    def from_response(cls, response) -> Optional["HostAuthFailure"]:
        """The host's own answer in ``response`` (a
        :class:`sluice_guest.http.Response`), if it is one (header
        :data:`HOST_AUTH_ERROR_HEADER`); answers from the remote system give
        ``None``."""
        marker = response.header(HOST_AUTH_ERROR_HEADER)
        if marker is None:
            return None
        known = {reason.value: reason for reason in HostAuthReason}
        reason = known.get(marker, HostAuthReason.TOKEN_ENDPOINT_FAILED)
        try:
            body = json.loads(response.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        description = _text(body.get("error_description")) or response.text()
        endpoint = body.get("token_endpoint")
        token_endpoint = None
        if isinstance(endpoint, dict):
            status = endpoint.get("status")
            token_endpoint = TokenEndpointRefusal(
                status=status if isinstance(status, int) else response.status,
                error=_text(endpoint.get("error")) or "",
                description=_text(endpoint.get("error_description")),
            )
        return cls(reason, description, token_endpoint)

    def is_retryable(self) -> bool:
        """Whether a later attempt may succeed without anyone changing the
        configuration."""
        return self.reason is HostAuthReason.TOKEN_ENDPOINT_FAILED

    def token_error(self) -> Optional[str]:
        """The token endpoint's ``error`` code (``invalid_grant``,
        ``temporarily_unavailable``), if it gave one."""
        if self.token_endpoint is None or not self.token_endpoint.error:
            return None
        return self.token_endpoint.error

    def __str__(self) -> str:
        return self.description


def _text(value) -> Optional[str]:
    return value if isinstance(value, str) else None
