"""Guest SDK for Sluice connectors written in Python.

A connector is a WebAssembly component implementing one or more worlds of
the ``sluice:connector`` contract (``wit/`` at the repository root), built
with componentize-py. componentize-py generates the bindings (the
``wit_world`` package); this package is a thin, pure-Python layer on top of
them with the same shape as the Rust SDK in ``guests/sdk``:

- :mod:`sluice_guest.http`: a blocking HTTP client over
  ``wasi:http/outgoing-handler``, the only way out of the sandbox, with typed
  errors (:class:`~sluice_guest.http.HttpError`). It writes request bodies
  itself, so that a request the remote system answered is never reported as
  a closed stream (componentize-py's own ``poll_loop.Sink`` does that);
- :mod:`sluice_guest.auth`: requests the host authenticates with credentials
  the component never holds (``Request.authenticated(key)``), and the host's
  own answer when it cannot (:class:`~sluice_guest.auth.HostAuthFailure`);
- :mod:`sluice_guest.credentials` (the few the manifest marks readable),
  :mod:`sluice_guest.state` (with a cached-token helper),
  :mod:`sluice_guest.log`: the host's capabilities;
- :mod:`sluice_guest.outcome`: constructors for what the exports return
  (delivered, retry, failed with the remote error, connection checks, sync
  errors) and how an HTTP failure maps onto each;
- :mod:`sluice_guest.settings`: settings lookup on the invocation context;
- :mod:`sluice_guest.dates`: ``Retry-After`` in seconds or as an HTTP date.

A connector::

    from wit_world import exports
    from sluice_guest import outcome, settings
    from sluice_guest.http import HttpError, Request

    class Deliverer(exports.Deliverer):
        def deliver(self, context, event):
            url = settings.setting(context, "url")
            if url is None:
                return outcome.failed("setting `url` is not set")
            try:
                response = Request.post(url).json_text(event.payload).send()
            except HttpError as error:
                return outcome.for_http_error(error)
            if response.is_success():
                return outcome.delivered()
            return outcome.retry(f"HTTP {response.status}")

    class Connection(exports.Connection):
        def test_connection(self, context):
            return outcome.check_ok("nothing to check")

Rules that come from componentize-py rather than from Sluice:

- **Import every module at the top of a file.** componentize-py runs the
  application's imports at build time and snapshots the interpreter; the
  sandbox has no file system, so a module first imported inside a function
  (``import socket`` in ``deliver``) does not exist at run time and fails
  with ``ModuleNotFoundError``. This package imports all it uses at the top
  of each module, and importing ``sluice_guest`` imports all its modules.
- **Each export is a class named after its interface** (``Deliverer``,
  ``Connection``, ``Syncer``, ``InboundHandler``) in the application module,
  subclassing the protocol in ``wit_world.exports``.
- **An uncaught exception traps the call**: the host records it as a failed
  invocation with the traceback in the report's ``stderr``. Return an
  outcome instead wherever a failure is expected.
"""

from . import auth, credentials, dates, http, log, outcome, settings, state

__all__ = [
    "auth",
    "credentials",
    "dates",
    "http",
    "log",
    "outcome",
    "settings",
    "state",
]
