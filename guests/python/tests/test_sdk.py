"""Unit tests of the Python guest SDK, run natively (``make python-test``)
against the bindings componentize-py generates; calls into the host are
stubbed."""

import ast
import json
import pathlib
import unittest
from unittest import mock

from componentize_py_types import Err
from wit_world.imports import auth as wit_auth
from wit_world.imports import state as wit_state
from wit_world.imports.model import (
    CheckStatus,
    DeliveryOutcome_Delivered,
    DeliveryOutcome_Failed,
    DeliveryOutcome_Retry,
    InvocationContext,
)
from wit_world.imports.types import (
    ErrorCode_ConnectionRefused,
    ErrorCode_ConnectionTimeout,
    ErrorCode_DestinationIpProhibited,
    ErrorCode_DnsTimeout,
    ErrorCode_HttpRequestDenied,
    ErrorCode_HttpResponseBodySize,
    ErrorCode_InternalError,
    ErrorCode_TlsCertificateError,
)

from sluice_guest import auth, credentials, dates, log, outcome, settings, state
from sluice_guest.http import HttpError, HttpErrorKind, Request, Response, parse_url

OCT_21_2026 = 1_792_567_680
"""2026-10-21T07:28:00Z, unix seconds."""


class RetryAfterTest(unittest.TestCase):
    def test_seconds_are_taken_as_they_are(self):
        self.assertEqual(dates.retry_after_seconds("120", 0), 120)
        self.assertEqual(dates.retry_after_seconds(" 3 ", 0), 3)

    def test_seconds_beyond_u32_saturate(self):
        self.assertEqual(dates.retry_after_seconds("99999999999999999999", 0), 2**32 - 1)

    def test_a_date_counts_from_now(self):
        now_ms = (OCT_21_2026 - 90) * 1000
        self.assertEqual(dates.retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now_ms), 90)

    def test_a_date_in_the_past_means_no_delay(self):
        now_ms = (OCT_21_2026 + 5) * 1000
        self.assertEqual(dates.retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now_ms), 0)

    def test_garbage_is_refused(self):
        for value in ["soon", "", "-5", "1.5", "٣"]:
            self.assertIsNone(dates.retry_after_seconds(value, 0), value)

    def test_http_dates_parse_to_unix_seconds(self):
        self.assertEqual(dates.parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784_111_777)
        self.assertEqual(dates.parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0)
        self.assertEqual(dates.parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"), 1_709_208_000)

    def test_malformed_http_dates_are_refused(self):
        for text in [
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 2023 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
        ]:
            self.assertIsNone(dates.parse_http_date(text), text)


class HttpErrorTest(unittest.TestCase):
    def test_policy_refusals_are_refused_and_not_retryable(self):
        for code in [
            ErrorCode_HttpRequestDenied(),
            ErrorCode_DestinationIpProhibited(),
        ]:
            error = HttpError.from_code(code)
            self.assertTrue(error.is_refused(), error)
            self.assertFalse(error.is_retryable(), error)

    def test_the_error_names_the_host_error_code(self):
        error = HttpError.from_code(ErrorCode_DestinationIpProhibited())
        self.assertEqual(
            str(error),
            "request refused by the host's egress policy: ErrorCode::DestinationIpProhibited",
        )
        self.assertEqual(error.detail, "ErrorCode::DestinationIpProhibited")

    def test_network_trouble_is_retryable(self):
        for code in [
            ErrorCode_DnsTimeout(),
            ErrorCode_ConnectionRefused(),
            ErrorCode_ConnectionTimeout(),
            ErrorCode_TlsCertificateError(),
            ErrorCode_InternalError("reset"),
        ]:
            self.assertTrue(HttpError.from_code(code).is_retryable(), code)

    def test_an_oversized_response_is_not_retryable_and_shows_its_size(self):
        error = HttpError.from_code(ErrorCode_HttpResponseBodySize(1024))
        self.assertIs(error.kind, HttpErrorKind.RESPONSE_TOO_LARGE)
        self.assertFalse(error.is_retryable())
        self.assertIn("1024", error.detail)


class UrlTest(unittest.TestCase):
    def test_splits_scheme_authority_and_path(self):
        self.assertEqual(
            parse_url("https://hooks.slack.com/services/T1/B2/x?a=1#frag"),
            (True, "hooks.slack.com", "/services/T1/B2/x?a=1"),
        )
        self.assertEqual(parse_url("HTTP://127.0.0.1:8080"), (False, "127.0.0.1:8080", "/"))
        self.assertEqual(parse_url("http://[::1]/"), (False, "[::1]", "/"))
        self.assertEqual(parse_url("https://example.com?q=1"), (True, "example.com", "/?q=1"))

    def test_refuses_what_cannot_be_sent(self):
        for url in [
            "example.com/path",
            "ftp://example.com/",
            "https:///path",
            "https://user:pw@example.com/",
            "https://exa mple.com/",
            "https://example.com/\n",
        ]:
            with self.assertRaises(HttpError, msg=url) as raised:
                parse_url(url)
            self.assertIs(raised.exception.kind, HttpErrorKind.INVALID_REQUEST)


class RequestBuildingTest(unittest.TestCase):
    def test_an_unset_credential_makes_send_fail_naming_it_before_anything_is_sent(self):
        with mock.patch.object(
            wit_auth, "request_header", side_effect=Err(wit_auth.AuthError.NOT_CONFIGURED)
        ):
            request = Request.post("https://hooks.slack.com/").authenticated("webhook_url")
        with self.assertRaises(HttpError) as raised:
            request.send()
        self.assertIs(raised.exception.kind, HttpErrorKind.INVALID_REQUEST)
        self.assertIn("credential 'webhook_url' is not set", str(raised.exception))

    def test_the_host_header_is_added_for_a_managed_credential(self):
        with mock.patch.object(wit_auth, "request_header", return_value=("sluice-auth", "api_key")):
            request = Request.get("https://api.example.com/").authenticated("api_key")
        self.assertEqual(request._headers, [("sluice-auth", "api_key")])

    def test_json_bodies_are_compact_utf8_with_a_content_type(self):
        request = Request.post("https://api.example.com/").json({"text": "café", "n": 1})
        self.assertEqual(request._body, '{"text":"café","n":1}'.encode("utf-8"))
        self.assertIn(("content-type", "application/json; charset=utf-8"), request._headers)

    def test_a_body_that_cannot_be_serialised_fails_at_send(self):
        request = Request.post("https://api.example.com/").json({"when": object()})
        with self.assertRaises(HttpError) as raised:
            request.send()
        self.assertIn("cannot be serialised", str(raised.exception))


class ResponseTest(unittest.TestCase):
    def test_headers_are_found_in_any_case(self):
        response = Response(200, [("Content-Type", "text/plain")], b"ok")
        self.assertEqual(response.header("content-type"), "text/plain")
        self.assertEqual(response.header("CONTENT-TYPE"), "text/plain")
        self.assertIsNone(response.header("retry-after"))

    def test_retry_after_reads_the_header(self):
        self.assertEqual(Response(429, [("retry-after", "30")]).retry_after(0), 30)
        self.assertIsNone(Response(429, [("retry-after", "soon")]).retry_after(0))

    def test_json_and_text_read_the_body(self):
        response = Response(200, [], b'{"ok":true}')
        self.assertEqual(response.json(), {"ok": True})
        self.assertEqual(response.text(), '{"ok":true}')
        self.assertTrue(response.is_success())
        self.assertEqual(Response(200, [], b"\xff").text(), "\ufffd")


def host_answer(status, marker, body):
    return Response(status, [(auth.HOST_AUTH_ERROR_HEADER, marker)], json.dumps(body).encode())


class HostAuthFailureTest(unittest.TestCase):
    def test_the_hosts_refusal_carries_the_token_endpoints_error(self):
        response = host_answer(
            401,
            "token-refused",
            {
                "error": "token-refused",
                "error_description": "the host could not obtain an access token for credential "
                "'refresh_token': the token endpoint answered 400: invalid_grant",
                "token_endpoint": {
                    "status": 400,
                    "error": "invalid_grant",
                    "error_description": "revoked",
                },
            },
        )
        failure = auth.HostAuthFailure.from_response(response)
        self.assertIs(failure.reason, auth.HostAuthReason.TOKEN_REFUSED)
        self.assertEqual(failure.token_error(), "invalid_grant")
        self.assertEqual(failure.token_endpoint.status, 400)
        self.assertEqual(failure.token_endpoint.description, "revoked")
        self.assertFalse(failure.is_retryable())
        self.assertIn("invalid_grant", str(failure))

    def test_a_failing_token_endpoint_is_retryable(self):
        response = host_answer(
            503,
            "token-endpoint-failed",
            {"error": "token-endpoint-failed", "error_description": "connection refused"},
        )
        failure = auth.HostAuthFailure.from_response(response)
        self.assertTrue(failure.is_retryable())
        self.assertEqual(str(failure), "connection refused")
        self.assertIsNone(failure.token_endpoint)
        self.assertIsNone(failure.token_error())

    def test_an_unreadable_credential_is_not_retryable(self):
        failure = auth.HostAuthFailure.from_response(
            host_answer(401, "credential-unreadable", {"error_description": "not a key"})
        )
        self.assertIs(failure.reason, auth.HostAuthReason.CREDENTIAL_UNREADABLE)
        self.assertFalse(failure.is_retryable())

    def test_a_remote_401_is_not_the_hosts(self):
        self.assertIsNone(auth.HostAuthFailure.from_response(Response(401, [], b"{}")))

    def test_a_body_that_is_not_json_gives_the_text_as_description(self):
        response = Response(503, [(auth.HOST_AUTH_ERROR_HEADER, "token-endpoint-failed")], b"down")
        self.assertEqual(str(auth.HostAuthFailure.from_response(response)), "down")


class AuthTest(unittest.TestCase):
    def test_request_header_names_the_credential_in_its_errors(self):
        with mock.patch.object(
            wit_auth, "request_header", side_effect=Err(wit_auth.AuthError.NOT_HOST_MANAGED)
        ):
            with self.assertRaises(auth.AuthError) as raised:
                auth.request_header("api_key")
        self.assertFalse(raised.exception.not_configured)
        self.assertIn("no [credentials.auth] table", str(raised.exception))
        self.assertEqual(raised.exception.key, "api_key")


class OutcomeTest(unittest.TestCase):
    def test_constructors_fill_the_contracts_records(self):
        delivered = outcome.delivered("1.2")
        self.assertIsInstance(delivered, DeliveryOutcome_Delivered)
        self.assertEqual(delivered.value.external_id, "1.2")
        remote = outcome.remote_error(429, code="ratelimited")
        retry = outcome.retry("slow down", 30, remote)
        self.assertIsInstance(retry, DeliveryOutcome_Retry)
        self.assertEqual((retry.value.after_seconds, retry.value.remote.code), (30, "ratelimited"))
        failed = outcome.failed("gone", outcome.remote_error(410))
        self.assertIsInstance(failed, DeliveryOutcome_Failed)
        self.assertEqual(failed.value.remote.status, 410)

    def test_remote_messages_are_cut_with_an_ellipsis(self):
        long = "é" * (outcome.MAX_REMOTE_MESSAGE_CHARS + 10)
        message = outcome.remote_error(500, message=long).message
        self.assertEqual(len(message), outcome.MAX_REMOTE_MESSAGE_CHARS + 1)
        self.assertTrue(message.endswith("…"))
        self.assertEqual(outcome.remote_error(500, message="boom").message, "boom")

    def test_refused_requests_fail_permanently_and_network_errors_retry(self):
        refused = outcome.for_http_error(HttpError.from_code(ErrorCode_HttpRequestDenied()))
        self.assertIsInstance(refused, DeliveryOutcome_Failed)
        self.assertIn("HttpRequestDenied", refused.value.reason)
        timeout = outcome.for_http_error(HttpError.from_code(ErrorCode_ConnectionTimeout()))
        self.assertIsInstance(timeout, DeliveryOutcome_Retry)

    def test_checks_carry_status_and_steps(self):
        check = outcome.check_ok("fine", [("token", "accepted")])
        self.assertEqual((check.status, check.steps), (CheckStatus.OK, [("token", "accepted")]))
        self.assertIs(outcome.check_misconfigured("x").status, CheckStatus.MISCONFIGURED)
        self.assertIs(outcome.check_unauthorized("x").status, CheckStatus.UNAUTHORIZED)
        unreachable = outcome.check_for_http_error(HttpError.from_code(ErrorCode_DnsTimeout()))
        self.assertIs(unreachable.status, CheckStatus.UNREACHABLE)
        self.assertIn("DnsTimeout", unreachable.message)

    def test_sync_errors_from_http_keep_retryability(self):
        self.assertTrue(
            outcome.sync_error_for_http_error(HttpError.from_code(ErrorCode_DnsTimeout())).retryable
        )
        invalid = HttpError(HttpErrorKind.INVALID_REQUEST, "bad url")
        self.assertFalse(outcome.sync_error_for_http_error(invalid).retryable)


def context(settings_):
    return InvocationContext("store_1", "cfg_1", None, 0, settings_, 0)


class SettingsTest(unittest.TestCase):
    def test_a_setting_is_found_by_key(self):
        ctx = context([("mode", "bot"), ("channel", "C1")])
        self.assertEqual(settings.setting(ctx, "channel"), "C1")
        self.assertIsNone(settings.setting(ctx, "absent"))

    def test_an_empty_setting_counts_as_missing_and_the_error_names_it(self):
        ctx = context([("channel", "")])
        self.assertIsNone(settings.setting(ctx, "channel"))
        with self.assertRaises(settings.MissingField) as raised:
            settings.require_setting(ctx, "channel")
        self.assertEqual(str(raised.exception), "setting `channel` is not set")


class CredentialsTest(unittest.TestCase):
    def test_an_unreadable_or_empty_credential_is_missing(self):
        with mock.patch("wit_world.imports.credentials.get", return_value=""):
            self.assertIsNone(credentials.get("api_key"))
            with self.assertRaises(settings.MissingField) as raised:
                credentials.require("api_key")
        self.assertEqual(str(raised.exception), "credential `api_key` is not set")
        with mock.patch("wit_world.imports.credentials.get", return_value="k"):
            self.assertEqual(credentials.require("api_key"), "k")


class StateTest(unittest.TestCase):
    def test_a_cached_token_is_not_fetched_again(self):
        fetch = mock.Mock()
        with mock.patch.object(wit_state, "get", return_value=b"cached"):
            self.assertEqual(state.cached_token("token", fetch), "cached")
        fetch.assert_not_called()

    def test_a_fetched_token_is_kept_until_the_margin_before_expiry(self):
        with mock.patch.object(wit_state, "get", return_value=None), mock.patch.object(
            wit_state, "set"
        ) as stored:
            token = state.cached_token("token", lambda: ("fresh", 3600))
        self.assertEqual(token, "fresh")
        stored.assert_called_once_with("token", b"fresh", 3600 - state.TOKEN_EXPIRY_MARGIN_SECONDS)

    def test_a_short_lived_token_is_used_but_not_cached(self):
        with mock.patch.object(wit_state, "get", return_value=None), mock.patch.object(
            wit_state, "set"
        ) as stored:
            self.assertEqual(state.cached_token("token", lambda: ("brief", 30)), "brief")
        stored.assert_not_called()

    def test_a_token_the_host_cannot_keep_is_still_used_and_the_refusal_logged(self):
        with mock.patch.object(wit_state, "get", return_value=None), mock.patch.object(
            wit_state, "set", side_effect=Err(wit_state.StateError.QUOTA_EXCEEDED)
        ), mock.patch("wit_world.imports.log.write") as logged:
            self.assertEqual(state.cached_token("token", lambda: ("fresh", 3600)), "fresh")
        level, message, fields = logged.call_args.args
        self.assertIs(level, log.Level.WARN)
        self.assertEqual(message, "could not cache the access token")
        self.assertIn(("key", "token"), fields)

    def test_refused_writes_raise_naming_key_and_reason(self):
        with mock.patch.object(
            wit_state, "set", side_effect=Err(wit_state.StateError.VALUE_TOO_LARGE)
        ):
            with self.assertRaises(state.StateError) as raised:
                state.set_string("offer", "x" * 10)
        self.assertIs(raised.exception.kind, state.StateErrorKind.VALUE_TOO_LARGE)
        self.assertIn("'offer'", str(raised.exception))

    def test_text_that_is_not_utf8_reads_as_absent(self):
        with mock.patch.object(wit_state, "get", return_value=b"\xff"):
            self.assertIsNone(state.get_string("k"))


class LogTest(unittest.TestCase):
    def test_fields_are_passed_as_text(self):
        with mock.patch("wit_world.imports.log.write") as write:
            log.info("message posted", channel="C1", attempt=2, **{"retry-after": 7})
        write.assert_called_once_with(
            log.Level.INFO,
            "message posted",
            [("channel", "C1"), ("attempt", "2"), ("retry-after", "7")],
        )


if __name__ == "__main__":
    unittest.main()


class TopLevelImportsTest(unittest.TestCase):
    """componentize-py snapshots the interpreter after importing the app at
    build time: a module first imported inside a function does not exist at
    run time. No file of the SDK or of the connector may do that."""

    def test_every_import_is_at_the_top_of_its_module(self):
        guests = pathlib.Path(__file__).resolve().parent.parent
        sources = sorted((guests / "sdk").rglob("*.py")) + sorted(
            (guests / "slack-webhook").glob("*.py")
        )
        self.assertTrue(sources)
        nested = []
        for source in sources:
            tree = ast.parse(source.read_text(), str(source))
            top_level = {id(node) for node in tree.body}
            nested += [
                f"{source.relative_to(guests)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top_level
            ]
        self.assertEqual(nested, [], "imports inside a function or block")
