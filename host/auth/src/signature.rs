//! HMAC-SHA256 signatures: of outgoing request bodies the host signs for a
//! connector, and of inbound webhooks the host verifies before a connector
//! sees them.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sluice_manifest::{InboundSignature, SignatureEncoding};

type HmacSha256 = Hmac<Sha256>;

/// The signature of `body` (preceded by `timestamp` and `.` when given)
/// with `key`, written as `encoding` says.
pub fn sign(
    key: &[u8],
    timestamp: Option<&str>,
    body: &[u8],
    encoding: SignatureEncoding,
) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    if let Some(timestamp) = timestamp {
        mac.update(timestamp.as_bytes());
        mac.update(b".");
    }
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    match encoding {
        SignatureEncoding::Hex => hex::encode(digest),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(digest),
    }
}

/// Why an inbound webhook's signature was refused, in words for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignatureRefused(pub String);

/// Checks an inbound webhook against `spec` with the signing `secret`, at
/// `now_ms`. `header` looks a request header up by (lower-case) name.
pub fn verify_inbound<'a>(
    spec: &InboundSignature,
    secret: &[u8],
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
    now_ms: i64,
) -> Result<(), SignatureRefused> {
    let refuse = |reason: String| SignatureRefused(reason);
    let timestamp = match &spec.timestamp_header {
        Some(name) => {
            let value =
                header(name).ok_or_else(|| refuse(format!("the {name} header is missing")))?;
            let seconds: i64 = value
                .trim()
                .parse()
                .map_err(|_| refuse(format!("{name} {value:?} is not a Unix time")))?;
            let skew = (now_ms / 1_000 - seconds).abs();
            if skew > i64::from(spec.tolerance_seconds) {
                return Err(refuse(format!(
                    "{name} is more than {} s away from now: the request is stale or replayed",
                    spec.tolerance_seconds
                )));
            }
            Some(value)
        }
        None => None,
    };
    let given = header(&spec.header)
        .ok_or_else(|| refuse(format!("the {} header is missing", spec.header)))?;
    let given = given.strip_prefix(spec.prefix.as_str()).ok_or_else(|| {
        refuse(format!(
            "{} does not start with {:?}",
            spec.header, spec.prefix
        ))
    })?;
    let given = match spec.encoding {
        SignatureEncoding::Hex => hex::decode(given.trim()).ok(),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(given.trim())
            .ok(),
    }
    .ok_or_else(|| refuse(format!("{} is not a signature", spec.header)))?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    // The message template with the raw body spliced in where it says.
    let (before, after) = spec
        .message
        .split_once("{body}")
        .unwrap_or((&spec.message, ""));
    let fill = |part: &str| part.replace("{timestamp}", timestamp.unwrap_or_default());
    mac.update(fill(before).as_bytes());
    mac.update(body);
    mac.update(fill(after).as_bytes());
    mac.verify_slice(&given)
        .map_err(|_| refuse(format!("{} does not match the request", spec.header)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slack() -> InboundSignature {
        InboundSignature {
            credential: "signing_secret".into(),
            header: "x-slack-signature".into(),
            prefix: "v0=".into(),
            encoding: SignatureEncoding::Hex,
            message: "v0:{timestamp}:{body}".into(),
            timestamp_header: Some("x-slack-request-timestamp".into()),
            tolerance_seconds: 300,
        }
    }

    /// Slack's documented example (api.slack.com, "Verifying requests").
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn headers(
        timestamp: &'static str,
        signature: &'static str,
    ) -> impl Fn(&str) -> Option<&'static str> {
        move |name| match name {
            "x-slack-request-timestamp" => Some(timestamp),
            "x-slack-signature" => Some(signature),
            _ => None,
        }
    }

    #[test]
    fn slacks_documented_example_verifies() {
        let now = 1_531_420_618_000;
        verify_inbound(
            &slack(),
            SECRET.as_bytes(),
            headers("1531420618", SIGNATURE),
            BODY.as_bytes(),
            now,
        )
        .unwrap();
    }

    #[test]
    fn a_changed_body_a_stale_timestamp_or_a_missing_header_is_refused_in_words() {
        let now = 1_531_420_618_000;
        let changed = verify_inbound(
            &slack(),
            SECRET.as_bytes(),
            headers("1531420618", SIGNATURE),
            b"token=other",
            now,
        )
        .unwrap_err();
        assert!(changed.0.contains("does not match"), "{changed}");
        let stale = verify_inbound(
            &slack(),
            SECRET.as_bytes(),
            headers("1531420618", SIGNATURE),
            BODY.as_bytes(),
            now + 301_000,
        )
        .unwrap_err();
        assert!(stale.0.contains("stale or replayed"), "{stale}");
        let missing = verify_inbound(&slack(), SECRET.as_bytes(), |_| None, BODY.as_bytes(), now)
            .unwrap_err();
        assert!(
            missing
                .0
                .contains("x-slack-request-timestamp header is missing"),
            "{missing}"
        );
    }
}
