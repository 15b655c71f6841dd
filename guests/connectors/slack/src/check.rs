//! The connection check.
//!
//! A bot token is checked with `auth.test`, which posts nothing. Slack offers
//! no way to test an incoming webhook without posting a message; the host,
//! which holds the webhook URL, checked its form when it was saved, and the
//! check says so.

use serde::Deserialize;
use sluice_guest::http::{Request, Response};
use sluice_guest::{ConnectionCheck, InvocationContext};

use crate::destination::{BOT_TOKEN, Destination};

/// The Web API method that tells whether a token is valid, and whose.
pub const AUTH_TEST_URL: &str = "https://slack.com/api/auth.test";

/// What a webhook check can say.
const WEBHOOK_NOT_TESTED: &str = "The webhook URL is set, and had the form of a Slack \
     incoming-webhook URL when it was saved. Slack offers no way to test an incoming webhook \
     without posting a message, so nothing was sent.";

/// `auth.test` codes meaning the token itself is refused.
const REFUSED_TOKEN_CODES: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
];

/// Checks the configuration being run.
pub fn test_connection(context: &InvocationContext) -> ConnectionCheck {
    match Destination::from_configuration(context) {
        Err(problem) => ConnectionCheck::misconfigured(problem),
        Ok(Destination::Webhook) => ConnectionCheck::ok(WEBHOOK_NOT_TESTED)
            .with_step("webhook_url", "set; applied by the host"),
        Ok(Destination::Bot { channel }) => {
            match Request::post(AUTH_TEST_URL).authenticated(BOT_TOKEN).send() {
                Ok(response) => auth_test_verdict(&response, &channel),
                Err(error) => error.into(),
            }
        }
    }
}

/// An `auth.test` answer; only what the check reads.
#[derive(Debug, Deserialize)]
struct AuthTest {
    ok: bool,
    error: Option<String>,
    team: Option<String>,
    team_id: Option<String>,
    user: Option<String>,
    user_id: Option<String>,
}

/// The verdict on an `auth.test` answer, for a bot posting to `channel`.
fn auth_test_verdict(response: &Response, channel: &str) -> ConnectionCheck {
    if !response.is_success() {
        return ConnectionCheck::unreachable(format!(
            "Slack answered auth.test with HTTP {}; try again later.",
            response.status
        ))
        .with_step(
            "token",
            format!("auth.test answered HTTP {}", response.status),
        );
    }
    let Ok(answer) = response.json::<AuthTest>() else {
        return ConnectionCheck::unreachable(
            "Slack answered auth.test with something other than a Web API answer.",
        );
    };
    let code = answer.error.as_deref().unwrap_or("unknown_error");
    if answer.ok {
        let team = named(answer.team, answer.team_id);
        let user = named(answer.user, answer.user_id);
        ConnectionCheck::ok(format!(
            "Slack accepted the bot token for team {team} as {user}; messages go to channel {channel}."
        ))
        .with_step("token", "accepted by auth.test")
        .with_step("team", team)
        .with_step("user", user)
        .with_step("channel", channel)
    } else if REFUSED_TOKEN_CODES.contains(&code) {
        ConnectionCheck::unauthorized(format!(
            "Slack refused the bot token ({code}); set a valid bot token (xoxb-…)."
        ))
        .with_step("token", format!("refused by auth.test: {code}"))
    } else {
        ConnectionCheck::unreachable(format!("Slack answered auth.test with error {code}."))
            .with_step("token", format!("auth.test failed: {code}"))
    }
}

/// `name (id)`, or whichever of the two is known.
fn named(name: Option<String>, id: Option<String>) -> String {
    match (name, id) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (name, id) => name.or(id).unwrap_or_else(|| "unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use sluice_guest::CheckStatus;

    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response::new(status, &[], body)
    }

    #[test]
    fn an_accepted_token_reports_team_and_user() {
        let body = r#"{"ok":true,"url":"https://acme.slack.com/","team":"Acme","user":"sluice","team_id":"T1","user_id":"U1"}"#;
        let check = auth_test_verdict(&response(200, body), "C123");
        assert!(matches!(check.status, CheckStatus::Ok));
        assert!(check.message.contains("Acme (T1)"), "{}", check.message);
        assert!(check.steps.contains(&("user".into(), "sluice (U1)".into())));
        assert!(check.steps.contains(&("channel".into(), "C123".into())));
    }

    #[test]
    fn a_refused_token_is_unauthorized() {
        for code in REFUSED_TOKEN_CODES {
            let body = format!(r#"{{"ok":false,"error":"{code}"}}"#);
            let check = auth_test_verdict(&response(200, &body), "C123");
            assert!(matches!(check.status, CheckStatus::Unauthorized), "{code}");
            assert!(check.message.contains(code), "{}", check.message);
        }
    }

    #[test]
    fn other_errors_and_statuses_are_unreachable() {
        let check = auth_test_verdict(
            &response(200, r#"{"ok":false,"error":"fatal_error"}"#),
            "C1",
        );
        assert!(matches!(check.status, CheckStatus::Unreachable));
        let check = auth_test_verdict(&response(503, ""), "C1");
        assert!(matches!(check.status, CheckStatus::Unreachable));
        assert!(check.message.contains("HTTP 503"));
        let check = auth_test_verdict(&response(200, "<html>"), "C1");
        assert!(matches!(check.status, CheckStatus::Unreachable));
    }
}
