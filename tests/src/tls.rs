//! A certificate authority made at test time.
//!
//! Fakes present certificates for the real hostnames (`slack.com`,
//! `api.ebay.com`, ...) signed by a [`TestCa`]; the host trusts the CA through
//! the PEM file at [`TestCa::pem_path`] and verifies every connection against
//! the real hostname, exactly as it does in production.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// File name of the CA certificate inside the CA's temporary directory.
const CA_PEM_FILE: &str = "sluice-test-ca.pem";

/// Why a test CA could not be made or could not issue.
#[derive(Debug, thiserror::Error)]
pub enum TestCaError {
    /// Key generation or signing failed.
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The CA PEM file could not be written.
    #[error("writing the CA certificate to {path}: {source}", path = path.display())]
    WritePem {
        /// Where the PEM file was to go.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// rustls refused the issued certificate or the CA.
    #[error("building a TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// A self-signed CA whose certificate sits in a PEM file for the host to trust.
///
/// The temporary directory holding the PEM file lives as long as the CA.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    _dir: tempfile::TempDir,
    pem_path: PathBuf,
}

/// A server certificate chain and its private key.
pub struct IssuedCertificate {
    /// The leaf certificate followed by the CA certificate.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
}

impl TestCa {
    /// Generates a CA and writes its certificate to a fresh temporary directory.
    pub fn new() -> Result<Self, TestCaError> {
        let mut params = CertificateParams::new(Vec::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Sluice test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;

        let dir = tempfile::tempdir().map_err(|source| TestCaError::WritePem {
            path: std::env::temp_dir(),
            source,
        })?;
        let pem_path = dir.path().join(CA_PEM_FILE);
        std::fs::write(&pem_path, issuer.pem()).map_err(|source| TestCaError::WritePem {
            path: pem_path.clone(),
            source,
        })?;
        Ok(Self {
            issuer,
            _dir: dir,
            pem_path,
        })
    }

    /// The file to list in the host's egress `ca_certificates`.
    pub fn pem_path(&self) -> &Path {
        &self.pem_path
    }

    /// The CA certificate, PEM-encoded.
    pub fn certificate_pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA certificate, DER-encoded.
    pub fn certificate_der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// Issues a server certificate valid for every name in `dns_names`.
    pub fn issue(&self, dns_names: &[&str]) -> Result<IssuedCertificate, TestCaError> {
        let names: Vec<String> = dns_names.iter().map(|name| name.to_string()).collect();
        let mut params = CertificateParams::new(names)?;
        if let Some(first) = dns_names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let leaf = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCertificate {
            chain: vec![leaf.der().clone(), self.certificate_der()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        })
    }

    /// A rustls server configuration (ring provider, HTTP/2 and HTTP/1.1 by
    /// ALPN) presenting a certificate for `dns_names`.
    pub fn server_config(&self, dns_names: &[&str]) -> Result<Arc<ServerConfig>, TestCaError> {
        let IssuedCertificate { chain, key } = self.issue(dns_names)?;
        let mut config = ServerConfig::builder_with_provider(ring_provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A rustls client configuration (ring provider) that trusts this CA and
    /// nothing else, for test clients that talk to fakes directly.
    pub fn client_config(&self) -> Result<ClientConfig, TestCaError> {
        let mut roots = RootCertStore::empty();
        roots.add(self.certificate_der())?;
        Ok(ClientConfig::builder_with_provider(ring_provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_file_holds_the_ca_certificate() {
        let ca = TestCa::new().unwrap();
        let written = std::fs::read_to_string(ca.pem_path()).unwrap();
        assert_eq!(written, ca.certificate_pem());
        assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn pem_file_disappears_with_the_ca() {
        let ca = TestCa::new().unwrap();
        let path = ca.pem_path().to_path_buf();
        drop(ca);
        assert!(!path.exists());
    }

    #[test]
    fn issued_chain_ends_with_the_ca() {
        let ca = TestCa::new().unwrap();
        let issued = ca.issue(&["slack.com", "hooks.slack.com"]).unwrap();
        assert_eq!(issued.chain.len(), 2);
        assert_eq!(issued.chain[1], ca.certificate_der());
    }

    #[test]
    fn server_config_offers_h2_and_http1() {
        let ca = TestCa::new().unwrap();
        let config = ca.server_config(&["api.ebay.com"]).unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }
}
