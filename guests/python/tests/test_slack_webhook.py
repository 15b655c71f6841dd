"""Unit tests of the Python Slack incoming-webhook connector, run natively
(``make python-test``): its Block Kit layout and how it maps Slack's
answers. ``tests/tests/python_connector.rs`` runs the built component
against the fake Slack."""

import json
import unittest
from unittest import mock

from componentize_py_types import Err
from wit_world.imports import auth as wit_auth
from wit_world.imports.model import (
    CheckStatus,
    DeliveryOutcome_Delivered,
    DeliveryOutcome_Failed,
    DeliveryOutcome_Retry,
    Event,
    InvocationContext,
)
from wit_world.imports.types import ErrorCode_ConnectionTimeout, ErrorCode_HttpRequestDenied

import app
import slack_answers
import slack_blocks
from sluice_guest.http import HttpError, Response


def event(event_type, payload):
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return Event("evt_1", event_type, "store_42", "2026-11-22T10:15:00Z", text)


def texts(message):
    """Every text of the message's blocks, in order."""
    found = []

    def collect(value):
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                found.append(value["text"])
            for child in value.values():
                collect(child)
        elif isinstance(value, list):
            for child in value:
                collect(child)

    collect(message["blocks"])
    return found


def total_text(message):
    return sum(len(text) for text in texts(message))


class LayoutTest(unittest.TestCase):
    def test_an_order_has_a_header_its_fields_and_the_context_line(self):
        message = slack_blocks.render(
            event(
                "order.placed",
                {
                    "marketplace": "ebay",
                    "order_id": "12-03456-78901",
                    "status": "unshipped",
                    "line_items": [{"sku": "TSHIRT-RED-M", "quantity": 2}],
                    "total": {"amount": "39.98", "currency": "USD"},
                },
            )
        )
        self.assertEqual(message["text"], "Order 12-03456-78901 placed")
        blocks = message["blocks"]
        self.assertEqual([b["type"] for b in blocks], ["header", "section", "section", "context"])
        self.assertEqual(
            blocks[0]["text"],
            {"type": "plain_text", "text": "🛒 Order 12-03456-78901 placed", "emoji": True},
        )
        fields = [field["text"] for field in blocks[1]["fields"]]
        self.assertEqual(
            fields,
            [
                "*Marketplace*\nebay",
                "*Order id*\n12-03456-78901",
                "*Status*\nunshipped",
                "*Total*\n39.98 USD",
            ],
        )
        self.assertEqual(blocks[2]["text"]["text"], "_1 more field not shown._")
        self.assertEqual(
            [element["text"] for element in blocks[3]["elements"]],
            ["Store `store_42`", "Event `evt_1`", "2026-11-22T10:15:00Z"],
        )

    def test_products_inventory_and_delivery_reports_get_their_titles(self):
        cases = [
            (
                "product.updated",
                {"sku": "S1", "title": "Red T-shirt"},
                "🏷️ Product updated: Red T-shirt",
            ),
            ("inventory.updated", {"sku": "S1", "quantity": 0}, "📦 Inventory of S1 updated"),
            ("webhook.delivered", {"delivery_id": "dlv_1"}, "✅ Delivery succeeded"),
            ("webhook.dead_lettered", {"delivery_id": "dlv_1"}, "⚠️ Delivery dead-lettered"),
            ("order.cancelled", {"unexpected": [1]}, "🛒 Order cancelled"),
            ("customer.signed_up", {"email": "ada@example.com"}, "customer.signed_up"),
        ]
        for event_type, payload, header in cases:
            message = slack_blocks.render(event(event_type, payload))
            self.assertEqual(message["blocks"][0]["text"]["text"], header, event_type)

    def test_scalars_are_shown_and_nested_values_counted(self):
        message = slack_blocks.render(
            event(
                "customer.signed_up",
                {"email": "a@example.com", "vip": True, "visits": 3, "address": {"city": "Paris"}},
            )
        )
        self.assertEqual(
            texts(message)[1:5],
            ["*Email*\na@example.com", "*Vip*\ntrue", "*Visits*\n3", "_1 more field not shown._"],
        )

    def test_a_payload_that_is_not_an_object_is_shown_raw(self):
        message = slack_blocks.render(event("thing.happened", "[1,2]"))
        self.assertIn("```[1,2]```", texts(message))

    def test_payload_text_is_escaped(self):
        message = slack_blocks.render(
            event("inventory.updated", {"sku": "<!channel>", "quantity": 1})
        )
        self.assertIn("*Sku*\n&lt;!channel&gt;", texts(message))
        self.assertEqual(message["text"], "Inventory of &lt;!channel&gt; updated")

    def test_a_huge_payload_stays_within_slacks_limits(self):
        payload = {f"key_{i}": "&" * 5000 for i in range(40)}
        message = slack_blocks.render(event("order.placed", dict(payload, order_id="x" * 500)))
        blocks = message["blocks"]
        self.assertLessEqual(len(blocks[0]["text"]["text"]), slack_blocks.MAX_HEADER_CHARS)
        self.assertEqual(len(blocks[1]["fields"]), slack_blocks.MAX_FIELDS)
        for field in blocks[1]["fields"]:
            self.assertLessEqual(len(field["text"]), slack_blocks.MAX_FIELD_CHARS)
            self.assertTrue(field["text"].endswith("&amp;…"), field["text"][-12:])
        self.assertLess(total_text(message), 12_000)
        self.assertEqual(blocks[-1]["type"], "context")

    def test_truncation_never_splits_an_entity(self):
        self.assertEqual(slack_blocks.truncate("a" * 8 + "&amp;tail", 12), "a" * 8 + "…")
        self.assertEqual(slack_blocks.truncate("exactly10!", 10), "exactly10!")


def outcome_of(status, body="", headers=()):
    return slack_answers.webhook_outcome(Response(status, list(headers), body.encode()), 0)


class WebhookAnswersTest(unittest.TestCase):
    def test_ok_is_delivered_without_an_id(self):
        delivered = outcome_of(200, "ok")
        self.assertIsInstance(delivered, DeliveryOutcome_Delivered)
        self.assertIsNone(delivered.value.external_id)

    def test_a_429_retries_after_retry_after_with_the_code_from_slacks_json(self):
        body = '{"ok":false,"error":"rate_limited","retry_after":7}'
        retry = outcome_of(429, body, [("retry-after", "7")])
        self.assertIsInstance(retry, DeliveryOutcome_Retry)
        self.assertEqual(retry.value.reason, "Slack is rate limiting this webhook")
        self.assertEqual(retry.value.after_seconds, 7)
        remote = retry.value.remote
        self.assertEqual((remote.status, remote.code, remote.message), (429, "rate_limited", body))

    def test_a_429_with_an_http_date_retries_after_that_date(self):
        now_ms = (1_792_567_680 - 90) * 1000
        response = Response(
            429, [("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")], b"rate_limited"
        )
        self.assertEqual(slack_answers.webhook_outcome(response, now_ms).value.after_seconds, 90)

    def test_a_5xx_retries_with_slacks_code(self):
        retry = outcome_of(500, "rollup_error")
        self.assertIsInstance(retry, DeliveryOutcome_Retry)
        self.assertEqual(retry.value.reason, "Slack answered HTTP 500")
        self.assertIsNone(retry.value.after_seconds)
        self.assertEqual(retry.value.remote.code, "rollup_error")

    def test_error_codes_fail_permanently_with_slacks_code(self):
        for status, code in [
            (400, "invalid_payload"),
            (400, "no_text"),
            (403, "action_prohibited"),
            (404, "channel_not_found"),
            (404, "no_service"),
            (410, "channel_is_archived"),
        ]:
            failure = outcome_of(status, code)
            self.assertIsInstance(failure, DeliveryOutcome_Failed, code)
            self.assertTrue(
                failure.value.reason.startswith("Slack refused the message"), failure.value.reason
            )
            self.assertIn(code, failure.value.reason)
            remote = failure.value.remote
            self.assertEqual((remote.status, remote.code, remote.message), (status, code, code))

    def test_a_transient_code_on_a_4xx_retries(self):
        retry = outcome_of(400, "service_unavailable", [("retry-after", "3")])
        self.assertIsInstance(retry, DeliveryOutcome_Retry)
        self.assertEqual(retry.value.after_seconds, 3)

    def test_an_unknown_code_fails_naming_it(self):
        failure = outcome_of(400, "invalid_blocks")
        self.assertEqual(
            failure.value.reason, "Slack refused the message with error invalid_blocks"
        )

    def test_an_error_without_a_code_fails_with_the_status(self):
        failure = outcome_of(400, "Bad Request")
        self.assertEqual(failure.value.reason, "Slack answered HTTP 400")
        self.assertIsNone(failure.value.remote.code)

    def test_refusals_by_the_host_fail_and_network_errors_retry(self):
        refused = slack_answers.transport_failure(
            HttpError.from_code(ErrorCode_HttpRequestDenied())
        )
        self.assertIsInstance(refused, DeliveryOutcome_Failed)
        self.assertTrue(refused.value.reason.startswith("Sluice refused"), refused.value.reason)
        self.assertIn("HttpRequestDenied", refused.value.reason)
        timeout = slack_answers.transport_failure(
            HttpError.from_code(ErrorCode_ConnectionTimeout())
        )
        self.assertIsInstance(timeout, DeliveryOutcome_Retry)
        self.assertTrue(timeout.value.reason.startswith("could not reach Slack"))


CONTEXT = InvocationContext("store_1", "cfg_1", "dlv_1", 1, [], 0)


class ExportsTest(unittest.TestCase):
    def test_without_a_webhook_url_delivery_fails_and_the_check_says_misconfigured(self):
        with mock.patch.object(
            wit_auth, "request_header", side_effect=Err(wit_auth.AuthError.NOT_CONFIGURED)
        ):
            failure = app.Deliverer().deliver(CONTEXT, event("order.placed", {}))
            check = app.Connection().test_connection(CONTEXT)
        self.assertIsInstance(failure, DeliveryOutcome_Failed)
        self.assertEqual(failure.value.reason, "credential `webhook_url` is not set")
        self.assertIs(check.status, CheckStatus.MISCONFIGURED)
        self.assertEqual(check.message, "credential `webhook_url` is not set")

    def test_with_a_webhook_url_the_check_says_it_cannot_be_tested_without_posting(self):
        with mock.patch.object(
            wit_auth, "request_header", return_value=("sluice-auth", "webhook_url")
        ):
            check = app.Connection().test_connection(CONTEXT)
        self.assertIs(check.status, CheckStatus.OK)
        self.assertIn("Slack offers no way to test an incoming webhook", check.message)
        self.assertEqual(check.steps, [("webhook_url", "set; applied by the host")])


if __name__ == "__main__":
    unittest.main()
