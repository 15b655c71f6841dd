//! The test service accounts: fixed RSA keys, the JSON key file a connector
//! configuration holds, and RS256 signing for tests that craft assertions.
//!
//! The private keys under `keys/` are TEST-ONLY. They are published in this
//! repository and must never be trusted by anything but the fake. They are
//! fixed rather than generated because RSA key generation is slow in debug
//! builds.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

use super::{CONTENT_SCOPE, TOKEN_URI};

/// TEST-ONLY key of the account the fake knows.
const TEST_ACCOUNT_KEY_PEM: &str = include_str!("keys/test-service-account.pem");
/// TEST-ONLY key of an account the fake has never heard of.
const STRANGER_KEY_PEM: &str = include_str!("keys/stranger-service-account.pem");

/// How long the assertions [`ServiceAccount::claims`] builds are valid, the
/// most Google accepts.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A Google service account with its key, as in a downloaded JSON key file.
#[derive(Clone)]
pub struct ServiceAccount {
    project_id: &'static str,
    client_id: &'static str,
    client_email: &'static str,
    private_key_id: &'static str,
    private_key_pem: &'static str,
    key_pair: Arc<RsaKeyPair>,
}

impl ServiceAccount {
    /// The account [`FakeGoogle`](super::FakeGoogle) knows and issues tokens
    /// to.
    pub fn test_account() -> Self {
        Self::new(
            "sluice-test-project",
            "104857362519470025781",
            "sluice-connector@sluice-test-project.iam.gserviceaccount.com",
            "59a7505d68cdcdcb3f5226b452f8a9aedf09384d",
            TEST_ACCOUNT_KEY_PEM,
        )
    }

    /// An account of another project, unknown to the fake: its assertions
    /// are refused with `Invalid grant: account not found`, and its key
    /// signs assertions that claim to be the test account but do not verify.
    pub fn stranger() -> Self {
        Self::new(
            "other-test-project",
            "117733190846251109934",
            "intruder@other-test-project.iam.gserviceaccount.com",
            "20496f3eef1ab48bbfdf1c27e4257a389e6230c8",
            STRANGER_KEY_PEM,
        )
    }

    fn new(
        project_id: &'static str,
        client_id: &'static str,
        client_email: &'static str,
        private_key_id: &'static str,
        private_key_pem: &'static str,
    ) -> Self {
        let der = PrivatePkcs8KeyDer::from_pem_slice(private_key_pem.as_bytes())
            .expect("the committed test key is a PKCS#8 PEM");
        let key_pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .expect("the committed test key is an RSA key ring accepts");
        Self {
            project_id,
            client_id,
            client_email,
            private_key_id,
            private_key_pem,
            key_pair: Arc::new(key_pair),
        }
    }

    /// The JSON key file, byte for byte what the Cloud console downloads:
    /// what a Google connector configuration holds as its credential.
    pub fn key_file_json(&self) -> String {
        let key_file = json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": TOKEN_URI,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!(
                "https://www.googleapis.com/robot/v1/metadata/x509/{}",
                self.client_email.replace('@', "%40")
            ),
            "universe_domain": "googleapis.com",
        });
        serde_json::to_string_pretty(&key_file).expect("a JSON value serializes")
    }

    /// The account's email, the `iss` of its assertions.
    pub fn client_email(&self) -> &str {
        self.client_email
    }

    /// The id of the account's key, the `kid` of its assertions.
    pub fn private_key_id(&self) -> &str {
        self.private_key_id
    }

    /// The public key as DER `RSAPublicKey`, what the fake verifies with.
    pub(super) fn public_key_der(&self) -> Vec<u8> {
        self.key_pair.public().as_ref().to_vec()
    }

    /// The JWT header Google's client libraries send.
    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": self.private_key_id})
    }

    /// Claims asking for the Content API scope, issued at `iat` (Unix
    /// seconds) and valid for the full hour Google allows.
    pub fn claims(&self, iat: i64) -> Value {
        json!({
            "iss": self.client_email,
            "scope": CONTENT_SCOPE,
            "aud": TOKEN_URI,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_SECS,
        })
    }

    /// A correct assertion issued at `iat`: [`header`](Self::header) and
    /// [`claims`](Self::claims) signed with this account's key.
    pub fn assertion(&self, iat: i64) -> String {
        self.sign_jwt(&self.header(), &self.claims(iat))
    }

    /// Signs any `header` and `claims` with this account's key (RS256), so
    /// tests can build assertions that are wrong in exactly one way.
    pub fn sign_jwt(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing with a valid key does not fail");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_has_the_fields_google_client_libraries_read() {
        let account = ServiceAccount::test_account();
        let key_file: Value = serde_json::from_str(&account.key_file_json()).unwrap();
        assert_eq!(key_file["type"], "service_account");
        assert_eq!(key_file["client_email"], account.client_email());
        assert_eq!(key_file["private_key_id"], account.private_key_id());
        assert_eq!(key_file["token_uri"], "https://oauth2.googleapis.com/token");
        let pem = key_file["private_key"].as_str().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        assert!(pem.ends_with("-----END PRIVATE KEY-----\n"), "{pem}");
    }

    #[test]
    fn the_two_accounts_have_different_keys_and_identities() {
        let known = ServiceAccount::test_account();
        let stranger = ServiceAccount::stranger();
        assert_ne!(known.public_key_der(), stranger.public_key_der());
        assert_ne!(known.private_key_id(), stranger.private_key_id());
        assert_ne!(known.client_email(), stranger.client_email());
    }

    #[test]
    fn assertions_are_three_base64url_parts_with_a_2048_bit_signature() {
        let assertion = ServiceAccount::test_account().assertion(1_700_000_000);
        let parts: Vec<&str> = assertion.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 256);
    }
}
