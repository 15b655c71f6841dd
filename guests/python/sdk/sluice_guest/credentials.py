"""The configuration's credentials that the component reads itself.

A connector reads only the credentials its manifest marks ``readable =
true``, and only the values of the configuration it is running for; every
other credential is applied by the host (:mod:`sluice_guest.auth`) and never
reaches the component. Never log a value.
"""

from typing import Optional

from wit_world.imports import credentials as _credentials

from .settings import CREDENTIAL, MissingField


def get(key: str) -> Optional[str]:
    """The value of credential ``key``, or ``None`` when the manifest does not
    declare it readable or the configuration leaves it unset or empty."""
    return _credentials.get(key) or None


def require(key: str) -> str:
    """The value of credential ``key``; raises
    :class:`~sluice_guest.settings.MissingField` naming it when there is
    none."""
    value = get(key)
    if value is None:
        raise MissingField(CREDENTIAL, key)
    return value
