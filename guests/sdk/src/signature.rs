//! HMAC-SHA256 signatures for verifying inbound webhooks.
//!
//! Most platforms sign a webhook with HMAC-SHA256 over some concatenation of
//! a timestamp and the raw body, sent hex (Slack, Stripe) or base64 (Shopify,
//! Standard Webhooks). The message is given in parts so that nothing has to be
//! concatenated:
//!
//! ```ignore
//! let valid = signature::verify_hex(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", &body], hex_sig);
//! ```
//!
//! Comparisons take constant time, so that an attacker cannot learn a valid
//! signature byte by byte from response times.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether `a` and `b` are equal, in time that depends only on their
/// lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Whether `signature`, lower- or upper-case hex, is the HMAC-SHA256 of
/// `parts` under `key`. A signature that is not hex is simply invalid.
pub fn verify_hex(key: &[u8], parts: &[&[u8]], signature: &str) -> bool {
    hex::decode(signature.trim())
        .is_ok_and(|given| constant_time_eq(&hmac_sha256(key, parts), &given))
}

/// Whether `signature`, standard base64 with padding, is the HMAC-SHA256 of
/// `parts` under `key`. A signature that is not base64 is simply invalid.
pub fn verify_base64(key: &[u8], parts: &[&[u8]], signature: &str) -> bool {
    BASE64
        .decode(signature.trim())
        .is_ok_and(|given| constant_time_eq(&hmac_sha256(key, parts), &given))
}

/// Whether a request signed at `timestamp_seconds` (unix) is within
/// `tolerance_seconds` of `now_ms` (unix milliseconds, from the invocation
/// context), in either direction.
pub fn is_fresh(timestamp_seconds: i64, now_ms: u64, tolerance_seconds: u64) -> bool {
    let now = i128::from(now_ms / 1000);
    (now - i128::from(timestamp_seconds)).unsigned_abs() <= u128::from(tolerance_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2.
    const KEY: &[u8] = b"Jefe";
    const MESSAGE: &[u8] = b"what do ya want for nothing?";
    const EXPECTED: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn hmac_matches_the_rfc_4231_vector_whatever_the_split() {
        assert_eq!(hex::encode(hmac_sha256(KEY, &[MESSAGE])), EXPECTED);
        assert_eq!(
            hex::encode(hmac_sha256(KEY, &[b"what do ya ", b"want for nothing?"])),
            EXPECTED
        );
    }

    #[test]
    fn hex_signatures_verify_in_either_case() {
        assert!(verify_hex(KEY, &[MESSAGE], EXPECTED));
        assert!(verify_hex(KEY, &[MESSAGE], &EXPECTED.to_uppercase()));
    }

    #[test]
    fn wrong_or_malformed_hex_signatures_fail() {
        let mut wrong = EXPECTED.to_owned();
        wrong.replace_range(0..1, "6");
        assert!(!verify_hex(KEY, &[MESSAGE], &wrong));
        assert!(!verify_hex(KEY, &[MESSAGE], &EXPECTED[..62]));
        assert!(!verify_hex(KEY, &[MESSAGE], "not hex"));
        assert!(!verify_hex(b"other key", &[MESSAGE], EXPECTED));
    }

    #[test]
    fn base64_signatures_verify() {
        let signature = BASE64.encode(hmac_sha256(KEY, &[MESSAGE]));
        assert!(verify_base64(KEY, &[MESSAGE], &signature));
        assert!(!verify_base64(KEY, &[b"tampered"], &signature));
        assert!(!verify_base64(KEY, &[MESSAGE], "%%%"));
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn freshness_allows_the_tolerance_both_ways() {
        let now_ms = 1_700_000_000_000;
        assert!(is_fresh(1_700_000_000, now_ms, 300));
        assert!(is_fresh(1_700_000_000 - 300, now_ms, 300));
        assert!(is_fresh(1_700_000_000 + 300, now_ms, 300));
        assert!(!is_fresh(1_700_000_000 - 301, now_ms, 300));
        assert!(!is_fresh(1_700_000_000 + 301, now_ms, 300));
        assert!(!is_fresh(i64::MIN, now_ms, 300));
    }
}
