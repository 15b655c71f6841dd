"""Structured, levelled logging into the invocation report::

    log.info("message posted", channel=channel, ts=ts)

Field values are turned into text with ``str``. The host bounds the number
and size of records kept per invocation. Never log a credential.
"""

from wit_world.imports import log as _log
from wit_world.imports.log import Level

__all__ = ["Level", "write", "trace", "debug", "info", "warn", "error"]


def write(level: Level, message: str, **fields: object) -> None:
    """Records ``message`` at ``level`` with structured ``fields``; a field
    whose name is not a Python identifier is passed as
    ``**{"retry-after": "7"}``."""
    _log.write(level, message, [(key, str(value)) for key, value in fields.items()])


def trace(message: str, **fields: object) -> None:
    """Records ``message`` at :attr:`Level.TRACE`."""
    write(Level.TRACE, message, **fields)


def debug(message: str, **fields: object) -> None:
    """Records ``message`` at :attr:`Level.DEBUG`."""
    write(Level.DEBUG, message, **fields)


def info(message: str, **fields: object) -> None:
    """Records ``message`` at :attr:`Level.INFO`."""
    write(Level.INFO, message, **fields)


def warn(message: str, **fields: object) -> None:
    """Records ``message`` at :attr:`Level.WARN`."""
    write(Level.WARN, message, **fields)


def error(message: str, **fields: object) -> None:
    """Records ``message`` at :attr:`Level.ERROR`."""
    write(Level.ERROR, message, **fields)
