"""Slack incoming-webhook connector, in Python.

Posts each platform event to the channel of a Slack incoming webhook as a
Block Kit message (:mod:`slack_blocks`) and maps Slack's answers onto
delivery outcomes exactly as the Rust Slack connector does
(:mod:`slack_answers`).

The component never holds the webhook URL: the manifest binds credential
``webhook_url`` to ``https://hooks.slack.com`` with scheme ``url``, and the
host replaces the path of each request to that origin with the one of the
configuration's URL. The connector only sends to the origin and asks for the
credential with ``Request.authenticated("webhook_url")``.

Built with componentize-py against world ``delivery``; see ``make polyglot``
(``mk/python.mk``). Every module is imported here at the top: modules first
imported inside a function do not exist at run time.
"""

from typing import Optional

from wit_world import exports
from wit_world.imports.model import ConnectionCheck, DeliveryOutcome, Event, InvocationContext

import slack_answers
import slack_blocks
from sluice_guest import auth, outcome
from sluice_guest.http import HttpError, Request

WEBHOOK_URL = "webhook_url"
"""The credential holding the incoming-webhook URL, applied by the host."""

WEBHOOK_ORIGIN = "https://hooks.slack.com/"
"""Where messages are sent; the host puts the webhook URL's path in."""

WEBHOOK_NOT_TESTED = (
    "The webhook URL is set, and had the form of a Slack incoming-webhook URL "
    "when it was saved. Slack offers no way to test an incoming webhook without "
    "posting a message, so nothing was sent."
)


class Deliverer(exports.Deliverer):
    """Export ``deliverer``: one message per event."""

    def deliver(self, context: InvocationContext, event: Event) -> DeliveryOutcome:
        problem = missing_webhook_url()
        if problem is not None:
            return outcome.failed(problem)
        request = (
            Request.post(WEBHOOK_ORIGIN).authenticated(WEBHOOK_URL).json(slack_blocks.render(event))
        )
        try:
            response = request.send()
        except HttpError as error:
            return slack_answers.transport_failure(error)
        return slack_answers.webhook_outcome(response, context.now_ms)


class Connection(exports.Connection):
    """Export ``connection``: says whether the webhook URL is set; Slack
    offers no way to test a webhook without posting."""

    def test_connection(self, context: InvocationContext) -> ConnectionCheck:
        problem = missing_webhook_url()
        if problem is not None:
            return outcome.check_misconfigured(problem)
        return outcome.check_ok(WEBHOOK_NOT_TESTED, [(WEBHOOK_URL, "set; applied by the host")])


def missing_webhook_url() -> Optional[str]:
    """Why the configuration cannot send, or ``None`` when the host holds a
    webhook URL for it (asked without reading it)."""
    try:
        auth.request_header(WEBHOOK_URL)
    except auth.AuthError as error:
        if error.not_configured:
            return f"credential `{WEBHOOK_URL}` is not set"
        return str(error)
    return None
