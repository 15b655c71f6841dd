//! Signing outbound webhooks so receivers can verify them with the existing
//! Standard Webhooks libraries.
//!
//! Headers sent with every webhook:
//! - `webhook-id`: the delivery id, the same on every retry (receivers
//!   deduplicate on it);
//! - `webhook-timestamp`: unix seconds of this attempt;
//! - `webhook-signature`: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
//!   one per valid secret, space-separated, during a rotation;
//! - `X-Sluice-Event` (event type), `X-Sluice-Delivery` (delivery id) and
//!   `X-Sluice-Signature` (hex HMAC-SHA256 of the raw body with the newest
//!   secret), for receivers that prefer a plain body HMAC.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::WebhookSecret;

type HmacSha256 = Hmac<Sha256>;

/// The headers that sign one webhook attempt, in sending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders(pub Vec<(&'static str, String)>);

/// What is signed: one attempt of one delivery.
#[derive(Debug, Clone, Copy)]
pub struct SigningInput<'a> {
    /// The delivery id (`webhook-id`).
    pub delivery_id: &'a str,
    /// The event type (`X-Sluice-Event`).
    pub event_type: &'a str,
    /// Unix seconds of this attempt.
    pub timestamp: i64,
    /// The exact bytes of the request body.
    pub body: &'a [u8],
}

/// Signs `input` with every secret in `secrets` (newest first). The
/// `X-Sluice-Signature` uses the newest one.
pub fn sign(input: SigningInput<'_>, secrets: &[WebhookSecret]) -> SignedHeaders {
    let signatures: Vec<String> = secrets
        .iter()
        .map(|secret| format!("v1,{}", standard_signature(secret, &input)))
        .collect();
    let mut headers = vec![
        ("webhook-id", input.delivery_id.to_owned()),
        ("webhook-timestamp", input.timestamp.to_string()),
        ("webhook-signature", signatures.join(" ")),
        ("x-sluice-event", input.event_type.to_owned()),
        ("x-sluice-delivery", input.delivery_id.to_owned()),
    ];
    if let Some(newest) = secrets.first() {
        headers.push(("x-sluice-signature", body_signature(newest, input.body)));
    }
    SignedHeaders(headers)
}

fn mac(secret: &WebhookSecret) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.key()).expect("HMAC takes keys of any length")
}

/// base64 HMAC-SHA256 of `"<id>.<timestamp>.<body>"`.
fn standard_signature(secret: &WebhookSecret, input: &SigningInput<'_>) -> String {
    let mut mac = mac(secret);
    mac.update(input.delivery_id.as_bytes());
    mac.update(b".");
    mac.update(input.timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(input.body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Lower-case hex HMAC-SHA256 of the raw body.
pub fn body_signature(secret: &WebhookSecret, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(headers: &'a SignedHeaders, name: &str) -> &'a str {
        headers
            .0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    fn verify_with_library(secret: &WebhookSecret, headers: &SignedHeaders, body: &[u8]) -> bool {
        let verifier = standardwebhooks::Webhook::new(&secret.expose()).unwrap();
        let mut map = http::HeaderMap::new();
        for (name, value) in &headers.0 {
            map.insert(*name, value.parse().unwrap());
        }
        verifier.verify(body, &map).is_ok()
    }

    fn input(body: &[u8]) -> SigningInput<'_> {
        SigningInput {
            delivery_id: "dlv_1",
            event_type: "order.placed",
            timestamp: chrono::Utc::now().timestamp(),
            body,
        }
    }

    #[test]
    fn the_standard_webhooks_library_verifies_our_signature() {
        let secret = WebhookSecret::generate();
        let body = br#"{"id":"evt_1","type":"order.placed","payload":{"total":"19.99"}}"#;
        let headers = sign(input(body), std::slice::from_ref(&secret));
        assert!(verify_with_library(&secret, &headers, body));
        assert!(
            !verify_with_library(&secret, &headers, b"{}"),
            "a changed body must fail"
        );
        assert!(!verify_with_library(
            &WebhookSecret::generate(),
            &headers,
            body
        ));
    }

    #[test]
    fn during_a_rotation_both_secrets_verify() {
        let new = WebhookSecret::generate();
        let old = WebhookSecret::generate();
        let body = b"{}";
        let headers = sign(input(body), &[new.clone(), old.clone()]);
        assert_eq!(header(&headers, "webhook-signature").split(' ').count(), 2);
        assert!(verify_with_library(&new, &headers, body));
        assert!(verify_with_library(&old, &headers, body));
    }

    #[test]
    fn sluice_signature_is_hex_hmac_of_the_body_with_the_newest_secret() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let headers = sign(input(b"hello"), std::slice::from_ref(&secret));
        let expected = body_signature(&secret, b"hello");
        assert_eq!(header(&headers, "x-sluice-signature"), expected);
        assert_eq!(expected.len(), 64);
        assert_eq!(header(&headers, "x-sluice-event"), "order.placed");
        assert_eq!(header(&headers, "webhook-id"), "dlv_1");
    }
}
