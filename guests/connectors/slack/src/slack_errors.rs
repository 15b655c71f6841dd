//! What Slack's error codes mean for a delivery.
//!
//! Incoming webhooks answer errors as a plain-text code (`channel_not_found`)
//! and the Web API as `{"ok": false, "error": "<code>"}`; both use the same
//! vocabulary.

/// What to do about a Slack error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retrying cannot help; the text says what the store admin should fix.
    Permanent(&'static str),
    /// Slack is overloaded or failed; a later attempt may succeed.
    Transient,
}

/// The class of `code`, or `None` for a code not known here.
pub fn classify(code: &str) -> Option<ErrorClass> {
    use ErrorClass::{Permanent, Transient};
    Some(match code {
        "invalid_auth" => Permanent("the bot token is not valid"),
        "not_authed" => Permanent("no bot token was sent"),
        "token_revoked" => Permanent("the bot token was revoked"),
        "channel_not_found" => Permanent("the channel does not exist or the app cannot see it"),
        "not_in_channel" => Permanent("the bot is not a member of the channel; invite it"),
        "is_archived" | "channel_is_archived" => Permanent("the channel is archived"),
        "no_service" => Permanent("the incoming webhook was removed or disabled"),
        "invalid_payload" => Permanent("Slack could not read the message"),
        "no_text" => Permanent("the message had no text"),
        "msg_too_long" => Permanent("the message is too long"),
        "action_prohibited" => Permanent("a workspace admin restricted posting to this channel"),
        "missing_scope" => Permanent("the bot token lacks the chat:write scope"),
        "ratelimited"
        | "rate_limited"
        | "internal_error"
        | "fatal_error"
        | "service_unavailable"
        | "request_timeout"
        | "rollup_error" => Transient,
        _ => return None,
    })
}

/// Whether `text` looks like one of Slack's error codes (`channel_not_found`)
/// rather than a free-form message.
pub fn is_code(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_permanent() {
        for code in [
            "invalid_auth",
            "not_authed",
            "token_revoked",
            "channel_not_found",
            "not_in_channel",
            "is_archived",
            "no_service",
            "channel_is_archived",
            "invalid_payload",
            "no_text",
            "msg_too_long",
            "action_prohibited",
            "missing_scope",
        ] {
            assert!(
                matches!(classify(code), Some(ErrorClass::Permanent(_))),
                "{code}"
            );
        }
    }

    #[test]
    fn overload_errors_are_transient() {
        for code in [
            "ratelimited",
            "internal_error",
            "service_unavailable",
            "rollup_error",
        ] {
            assert_eq!(classify(code), Some(ErrorClass::Transient), "{code}");
        }
    }

    #[test]
    fn unknown_codes_are_unclassified() {
        assert_eq!(classify("invalid_blocks"), None);
    }

    #[test]
    fn codes_are_told_from_messages() {
        assert!(is_code("channel_not_found"));
        assert!(!is_code("Internal Server Error"));
        assert!(!is_code(""));
    }
}
