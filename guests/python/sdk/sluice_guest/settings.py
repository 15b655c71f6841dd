"""Reading a configuration's settings from the invocation context.

The host passes the configuration's non-secret settings to every export in
``context.settings``, a list of ``(key, value)`` pairs; booleans are
``"true"`` or ``"false"`` and absent optional settings are left out.
"""

from typing import Optional

from wit_world.imports.model import InvocationContext

SETTING = "setting"
"""The source of a :class:`MissingField` that is a non-secret setting."""

CREDENTIAL = "credential"
"""The source of a :class:`MissingField` that is a credential."""


class MissingField(Exception):
    """A setting or credential the connector needs but the configuration does
    not supply. Its message names the field, for example
    ``credential `bot_token` is not set``.

    Attributes:
        source: :data:`SETTING` or :data:`CREDENTIAL`.
        key: the field's key, as declared in the manifest.
    """

    def __init__(self, source: str, key: str):
        super().__init__(f"{source} `{key}` is not set")
        self.source = source
        self.key = key


def setting(context: InvocationContext, key: str) -> Optional[str]:
    """The value of setting ``key``, or ``None`` when the configuration leaves
    it out or sets it to an empty string."""
    for name, value in context.settings:
        if name == key:
            return value or None
    return None


def require_setting(context: InvocationContext, key: str) -> str:
    """The value of setting ``key``; raises :class:`MissingField` naming it
    when it is absent or empty."""
    value = setting(context, key)
    if value is None:
        raise MissingField(SETTING, key)
    return value
