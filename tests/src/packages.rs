//! Signed connector packages for the registry tests and benchmarks: a
//! publisher key, the trust policy that trusts it, and versions of the
//! bundled Slack connector with more or fewer capabilities.

use std::path::{Path, PathBuf};

use sluice_registry::{Package, SigningKeyFile};

use crate::guests::bundled_connectors_dir;

/// A publisher key and a trust policy file trusting it for some connectors.
pub struct Publisher {
    key: SigningKeyFile,
    policy: PathBuf,
    _dir: tempfile::TempDir,
}

impl Publisher {
    /// A new key for `name`, trusted for the connector ids (globs) `connectors`.
    pub fn new(name: &str, connectors: &[&str]) -> Self {
        let key = SigningKeyFile::generate(name).expect("a key pair");
        let dir = tempfile::tempdir().expect("a directory");
        let policy = dir.path().join("trust.toml");
        std::fs::write(
            &policy,
            format!(
                "[[publishers]]\nname = {name:?}\npublic_key = {:?}\nconnectors = {connectors:?}\n",
                key.public_key().to_base64()
            ),
        )
        .expect("write the trust policy");
        Self {
            key,
            policy,
            _dir: dir,
        }
    }

    /// The trust policy file.
    pub fn trust_policy(&self) -> &Path {
        &self.policy
    }

    /// The publisher's key id, as packages and versions name it.
    pub fn key_id(&self) -> String {
        self.key.key_id()
    }

    /// The bundled Slack connector as `version`, allowed the extra egress
    /// `origins`, signed by this publisher. The component carries a custom
    /// section naming the version, so every version has its own digest.
    pub fn slack(&self, version: &str, origins: &[&str]) -> Vec<u8> {
        let (manifest, component) = slack_parts(version, origins);
        self.sign(&manifest, component)
    }

    /// A package of `manifest` and `component`, signed by this publisher.
    pub fn sign(&self, manifest: &str, component: Vec<u8>) -> Vec<u8> {
        let mut package = Package::new(manifest.to_owned(), component).expect("a valid package");
        package.add_signature(&self.key);
        package.to_bytes()
    }
}

/// The manifest and component of the bundled Slack connector as `version`,
/// with the extra egress `origins`.
pub fn slack_parts(version: &str, origins: &[&str]) -> (String, Vec<u8>) {
    let dir = bundled_connectors_dir().join("slack");
    let manifest = std::fs::read_to_string(dir.join("connector.toml")).expect("the Slack manifest");
    let bundled_origins = r#"allowed_origins = ["https://hooks.slack.com", "https://slack.com"]"#;
    assert!(
        manifest.contains(bundled_origins) && manifest.contains("\nversion = \"0.2.0\"\n"),
        "the bundled Slack manifest changed; update tests/src/packages.rs"
    );
    let mut all: Vec<String> = vec![
        "https://hooks.slack.com".to_owned(),
        "https://slack.com".to_owned(),
    ];
    all.extend(origins.iter().map(|o| (*o).to_owned()));
    let manifest = manifest
        .replace(bundled_origins, &format!("allowed_origins = {all:?}"))
        .replace(
            "\nversion = \"0.2.0\"\n",
            &format!("\nversion = {version:?}\n"),
        );
    let mut component = std::fs::read(dir.join("connector.wasm")).expect("the Slack component");
    append_custom_section(&mut component, "sluice-test-version", version.as_bytes());
    (manifest, component)
}

/// Appends a custom section (id 0) to a component: valid anywhere at the
/// top level, ignored by the runtime.
fn append_custom_section(wasm: &mut Vec<u8>, name: &str, payload: &[u8]) {
    let mut body = Vec::new();
    leb128(&mut body, name.len());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    wasm.push(0);
    leb128(wasm, body.len());
    wasm.extend_from_slice(&body);
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
