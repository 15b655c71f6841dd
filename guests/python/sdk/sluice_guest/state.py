"""Small key/value state kept per configuration, for cached access tokens,
remote ids and cursors.

The host bounds the size of keys and values and the number of keys, and
expires values written with a TTL on its own clock.
"""

from typing import Callable, Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import state as _state
from wit_world.imports.state import StateError as StateErrorKind

from . import log

__all__ = [
    "TOKEN_EXPIRY_MARGIN_SECONDS",
    "StateError",
    "StateErrorKind",
    "get",
    "get_string",
    "set",
    "set_string",
    "delete",
    "cached_token",
    "invalidate_token",
    "token_cache_ttl",
]

TOKEN_EXPIRY_MARGIN_SECONDS = 60
"""How long before its expiry a cached token stops being used, in seconds,
so that a token is never sent just as it expires."""

_MESSAGES = {
    StateErrorKind.KEY_TOO_LONG: "the key is empty or longer than the host allows",
    StateErrorKind.VALUE_TOO_LARGE: "the value is larger than the host allows",
    StateErrorKind.QUOTA_EXCEEDED: "the configuration holds as many keys as the host allows",
    StateErrorKind.UNAVAILABLE: "the host could not store the value right now",
}


class StateError(Exception):
    """A write the host refused; :attr:`kind` (a :class:`StateErrorKind`)
    says why, and :attr:`key` which key."""

    def __init__(self, key: str, kind: StateErrorKind):
        super().__init__(f"state key {key!r}: {_MESSAGES[kind]}")
        self.key = key
        self.kind = kind


def get(key: str) -> Optional[bytes]:
    """The bytes stored under ``key``, or ``None`` when absent or expired."""
    return _state.get(key)


def get_string(key: str) -> Optional[str]:
    """The text stored under ``key``, or ``None`` when absent, expired or not
    UTF-8."""
    value = _state.get(key)
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def set(key: str, value: bytes, ttl_seconds: Optional[int] = None) -> None:
    """Stores ``value`` under ``key``; with ``ttl_seconds`` it expires that
    many seconds from now. Raises :class:`StateError` when the host refuses."""
    try:
        _state.set(key, bytes(value), ttl_seconds)
    except Err as error:
        raise StateError(key, error.value) from None


def set_string(key: str, value: str, ttl_seconds: Optional[int] = None) -> None:
    """Stores the text ``value`` under ``key``; see :func:`set`."""
    set(key, value.encode("utf-8"), ttl_seconds)


def delete(key: str) -> None:
    """Removes ``key``; removing an absent key is not an error."""
    _state.delete(key)


def cached_token(key: str, fetch: Callable[[], Tuple[str, int]]) -> str:
    """An access token cached under ``key``, fetched with ``fetch`` when there
    is none or it is about to expire.

    ``fetch`` returns the token and its lifetime in seconds (the
    ``expires_in`` of an OAuth answer); what it raises goes to the caller.
    The token is kept until :data:`TOKEN_EXPIRY_MARGIN_SECONDS` before it
    expires; a token living less than that is used but not cached. When the
    remote system refuses a cached token (HTTP 401 or 403), call
    :func:`invalidate_token` so that the next call fetches a fresh one.

    Prefer host-managed authentication (:mod:`sluice_guest.auth`) where the
    manifest can describe the grant: then the component holds no secret.
    """
    token = get_string(key)
    if token is not None:
        return token
    token, expires_in = fetch()
    ttl = token_cache_ttl(expires_in)
    if ttl is not None:
        try:
            set_string(key, token, ttl)
        except StateError as error:
            # The token is good even if the host cannot keep it; the next
            # call then fetches another one.
            log.warn("could not cache the access token", key=key, error=error)
    return token


def invalidate_token(key: str) -> None:
    """Forgets the token cached under ``key`` by :func:`cached_token`, for
    example after the remote system answered 401 or 403 with it."""
    delete(key)


def token_cache_ttl(expires_in: int) -> Optional[int]:
    """How long to keep a token living ``expires_in`` seconds, or ``None``
    when it is not worth caching."""
    ttl = expires_in - TOKEN_EXPIRY_MARGIN_SECONDS
    return ttl if ttl > 0 else None
