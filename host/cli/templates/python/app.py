"""The {{id}} connector: POSTs each event's payload as JSON to setting
``url`` and maps the answer onto a delivery outcome.

Import every module at the top of a file: componentize-py snapshots the
interpreter after importing this module, and a module first imported inside
a function does not exist when the connector runs.
"""

from typing import Optional

from wit_world import exports
from wit_world.imports.model import ConnectionCheck, DeliveryOutcome, Event, InvocationContext

from sluice_guest import auth, outcome, settings
from sluice_guest.http import HttpError, Request, Response

API_KEY = "api_key"
"""The credential the host applies, when the configuration sets it."""


class Deliverer(exports.Deliverer):
    """Export ``deliverer``: one POST per event."""

    def deliver(self, context: InvocationContext, event: Event) -> DeliveryOutcome:
        try:
            url = settings.require_setting(context, "url")
        except settings.MissingField as missing:
            return outcome.failed(str(missing))
        request = (
            Request.post(url)
            # The same event may be delivered again: the receiver can
            # recognise it by this key.
            .header("idempotency-key", event.id)
            .header("x-event-type", event.event_type)
            .json_text(event.payload)
        )
        problem = use_api_key(request)
        if problem is not None:
            return outcome.failed(problem)
        try:
            response = request.send()
        except HttpError as error:
            return outcome.for_http_error(error)
        return delivery_outcome(response, context.now_ms)


class Connection(exports.Connection):
    """Export ``connection``: checks the settings, sending nothing."""

    def test_connection(self, context: InvocationContext) -> ConnectionCheck:
        try:
            url = settings.require_setting(context, "url")
        except settings.MissingField as missing:
            return outcome.check_misconfigured(str(missing))
        return outcome.check_ok(f"Events will be posted to {url}.")


def use_api_key(request: Request) -> Optional[str]:
    """Has the host authenticate ``request`` with the API key when the
    configuration sets one; says what is wrong otherwise."""
    try:
        auth.request_header(API_KEY)
    except auth.AuthError as error:
        return None if error.not_configured else str(error)
    request.authenticated(API_KEY)
    return None


def delivery_outcome(response: Response, now_ms: int) -> DeliveryOutcome:
    """The outcome of the endpoint's answer; ``now_ms`` dates ``Retry-After``."""
    status = response.status
    remote = outcome.remote_error(status, message=response.text())
    if 200 <= status < 300:
        return outcome.delivered()
    if status in (408, 429) or 500 <= status < 600:
        return outcome.retry(
            f"the endpoint answered HTTP {status}", response.retry_after(now_ms), remote
        )
    return outcome.failed(f"the endpoint answered HTTP {status}", remote)
