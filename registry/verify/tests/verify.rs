//! Every verification step refuses what it must, naming itself, and a real
//! connector (the bundled Slack component) passes them all.

use std::path::PathBuf;

use sluice_registry::{
    OperatorMaxima, Package, Provenance, SigningKeyFile, TrustPolicy, VerifyError, VerifyStep,
    digest, pack, pack_dir, sign, verify, verify_bundled,
};
use wit_parser::Resolve;

const MANIFEST: &str = r#"id = "acme-orders"
name = "Acme orders"
version = "1.0.0"
category = "marketplace"
description = "Test connector."
events = ["order.*"]

[egress]
allowed_origins = ["https://api.acme.test"]

[limits]
timeout_ms = 5000
memory_mib = 32
"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A real component for `world test { … }` written against the contract in
/// `wit/` (a core module of `unreachable` bodies, encoded by wit-component).
fn component(world_body: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    resolve.push_dir(repo().join("wit")).unwrap();
    let package = resolve
        .push_source(
            "test.wit",
            &format!("package acme:test; interface backdoor {{ open: func(); }} world test {{ {world_body} }}"),
        )
        .unwrap();
    let world = resolve.select_world(&[package], Some("test")).unwrap();
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

fn delivery() -> Vec<u8> {
    component("include sluice:connector/delivery@0.1.1;")
}

struct Publisher {
    key: SigningKeyFile,
    policy: TrustPolicy,
}

/// A publisher whose key the policy trusts for `connectors`, with `extra` policy lines.
fn publisher(connectors: &str, extra: &str) -> Publisher {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let policy = TrustPolicy::from_toml(&format!(
        "{extra}\n{}",
        key.public_toml()
            .replace("connectors = []", &format!("connectors = [{connectors}]"))
    ))
    .unwrap();
    Publisher { key, policy }
}

fn signed(manifest: &str, component: &[u8], key: &SigningKeyFile) -> Vec<u8> {
    sign(&pack(manifest, component).unwrap(), key).unwrap()
}

fn refused(result: Result<sluice_registry::VerifiedPackage, VerifyError>) -> VerifyError {
    result.map(|v| v.digest).unwrap_err()
}

fn maxima() -> OperatorMaxima {
    OperatorMaxima::default()
}

/// Offset of `needle` inside `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

#[test]
fn the_bundled_slack_connector_signed_by_a_trusted_key_passes_every_step() {
    let dir = repo().join("build/connectors/slack");
    assert!(
        dir.is_dir(),
        "{} is missing; run `make connectors`",
        dir.display()
    );
    let p = publisher("\"slack\"", "");
    let package = sign(&pack_dir(&dir).unwrap(), &p.key).unwrap();
    let verified = verify(&package, &p.policy, &maxima()).unwrap();
    assert_eq!(verified.manifest.id, "slack");
    assert_eq!(verified.digest, digest(&package));
    assert_eq!(
        verified.component_digest,
        digest(&std::fs::read(dir.join("connector.wasm")).unwrap())
    );
    assert_eq!(verified.signers[0].publisher, "Acme");
    assert_eq!(verified.signers[0].key_id, p.key.key_id());
    assert_eq!(verified.provenance, Provenance::Published);
    assert_eq!(verified.worlds, ["delivery", "inbound"]);
    assert!(
        verified
            .surface
            .imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler@"))
    );
    assert!(
        verified
            .surface
            .exports
            .iter()
            .any(|e| e.starts_with("sluice:connector/inbound-handler@"))
    );
    assert_eq!(
        pack_dir(&dir).unwrap(),
        pack_dir(&dir).unwrap(),
        "packing is deterministic"
    );
}

#[test]
fn every_bundled_connector_passes_every_step_but_trust_as_bundled() {
    for entry in std::fs::read_dir(repo().join("build/connectors")).unwrap() {
        let dir = entry.unwrap().path();
        let package = pack_dir(&dir).unwrap();
        let verified = verify_bundled(&package, &maxima())
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(verified.provenance, Provenance::Bundled);
        assert!(verified.signers.is_empty());
    }
}

#[test]
fn flipping_a_byte_of_the_component_manifest_or_statement_is_refused_with_its_step() {
    let p = publisher("\"acme-*\"", "");
    let component = delivery();
    let package = signed(MANIFEST, &component, &p.key);
    verify(&package, &p.policy, &maxima()).unwrap();

    let parsed = Package::from_bytes(&package).unwrap();
    let cases = [
        (
            "component",
            find(
                &package,
                &component[component.len() / 2..component.len() / 2 + 16],
            ),
            VerifyStep::Digests,
        ),
        (
            "manifest",
            find(&package, b"Acme orders") + 2,
            VerifyStep::Digests,
        ),
        (
            "statement id",
            find(&package, b"\"id\":\"acme-orders\"") + 7,
            VerifyStep::Signature,
        ),
        (
            "statement digest",
            find(&package, parsed.statement().manifest.sha256.as_bytes()) + 10,
            VerifyStep::Digests,
        ),
        (
            "signature",
            find(&package, b"\"signature\":\"") + 20,
            VerifyStep::Signature,
        ),
        ("tar header", 100, VerifyStep::Archive),
    ];
    for (what, offset, step) in cases {
        let mut tampered = package.clone();
        tampered[offset] = flip(tampered[offset]);
        let error = refused(verify(&tampered, &p.policy, &maxima()));
        assert_eq!(error.step, step, "{what}: {error}");
    }
}

/// Another byte of the same kind, so JSON, hex and base64 stay well-formed
/// where the original was: digits stay digits, letters stay letters, and
/// base64's `+` and `/` swap (a signature is random, so any may be hit).
fn flip(byte: u8) -> u8 {
    match byte {
        b'+' => b'/',
        b'/' => b'+',
        b if b.is_ascii_alphanumeric() => [b ^ 0x01, b + 1, b - 1]
            .into_iter()
            .find(u8::is_ascii_alphanumeric)
            .expect("a neighbour of a letter or digit is one"),
        b => b ^ 0x20,
    }
}

#[test]
fn any_single_byte_flip_anywhere_in_a_package_is_refused() {
    let p = publisher("\"*\"", "");
    let package = signed(MANIFEST, &delivery(), &p.key);
    for offset in 0..package.len() {
        let mut tampered = package.clone();
        tampered[offset] ^= 0x01;
        assert!(
            verify(&tampered, &p.policy, &maxima()).is_err(),
            "a flip at byte {offset} of {} was accepted",
            package.len()
        );
    }
}

#[test]
fn wrong_revoked_not_allowed_and_yanked_are_refused_at_trust() {
    let p = publisher("\"acme-*\"", "");
    let stranger = SigningKeyFile::generate("Mallory").unwrap();
    let by_stranger = signed(MANIFEST, &delivery(), &stranger);
    let error = refused(verify(&by_stranger, &p.policy, &maxima()));
    assert_eq!(error.step, VerifyStep::Trust);
    assert!(error.to_string().contains("does not list"), "{error}");

    let package = signed(MANIFEST, &delivery(), &p.key);
    let revoked = TrustPolicy::from_toml(&format!(
        "revoked_keys = [\"{}\"]\n{}",
        p.key.key_id(),
        p.key
            .public_toml()
            .replace("connectors = []", "connectors = [\"*\"]")
    ))
    .unwrap();
    let error = refused(verify(&package, &revoked, &maxima()));
    assert_eq!(error.step, VerifyStep::Trust);
    assert!(error.to_string().contains("revoked key"), "{error}");

    let slack_only = publisher("\"slack\"", "");
    let error = refused(verify(
        &signed(MANIFEST, &delivery(), &slack_only.key),
        &slack_only.policy,
        &maxima(),
    ));
    assert_eq!(error.step, VerifyStep::Trust);
    assert!(
        error
            .to_string()
            .contains("may not sign connector 'acme-orders'"),
        "{error}"
    );

    let yanked = publisher("\"*\"", &format!("yanked = [\"{}\"]", digest(&package)));
    let package = signed(MANIFEST, &delivery(), &yanked.key);
    let yanked = TrustPolicy::from_toml(&format!(
        "yanked = [\"{}\"]\n{}",
        digest(&package),
        yanked
            .key
            .public_toml()
            .replace("connectors = []", "connectors = [\"*\"]")
    ))
    .unwrap();
    let error = refused(verify(&package, &yanked, &maxima()));
    assert_eq!(error.step, VerifyStep::Trust);
    assert!(error.to_string().contains("is yanked"), "{error}");
}

#[test]
fn unsigned_packages_are_refused_unless_the_development_switch_is_on() {
    let package = pack(MANIFEST, &delivery()).unwrap();
    let error = refused(verify(&package, &TrustPolicy::default(), &maxima()));
    assert_eq!(error.step, VerifyStep::Signature);
    assert!(
        error
            .to_string()
            .starts_with("signature: the package is not signed"),
        "{error}"
    );
    let dev = TrustPolicy::from_toml("allow_unsigned = true").unwrap();
    let verified = verify(&package, &dev, &maxima()).unwrap();
    assert!(verified.signers.is_empty());
}

#[test]
fn a_component_importing_a_made_up_interface_is_refused_naming_the_import() {
    let p = publisher("\"*\"", "");
    let world = "include sluice:connector/delivery@0.1.1; import backdoor;";
    let package = signed(MANIFEST, &component(world), &p.key);
    let error = refused(verify(&package, &p.policy, &maxima()));
    assert_eq!(error.step, VerifyStep::Imports, "{error}");
    assert!(
        error.to_string().contains("imports acme:test/backdoor"),
        "{error}"
    );
}

#[test]
fn a_component_missing_the_exports_of_a_declared_world_is_refused() {
    let p = publisher("\"*\"", "");
    let manifest = format!("{MANIFEST}\n[sync]\nentities = [\"orders\"]\n");
    let error = refused(verify(
        &signed(&manifest, &delivery(), &p.key),
        &p.policy,
        &maxima(),
    ));
    assert_eq!(error.step, VerifyStep::Exports);
    assert!(
        error
            .to_string()
            .contains("needs the export sluice:connector/syncer"),
        "{error}"
    );

    let mut resolve = Resolve::default();
    let package = resolve
        .push_source("m.wit", "package a:b; world test {}")
        .unwrap();
    let world = resolve.select_world(&[package], None).unwrap();
    let module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    let error = refused(verify(
        &signed(MANIFEST, &module, &p.key),
        &p.policy,
        &maxima(),
    ));
    assert_eq!(error.step, VerifyStep::Component);
    assert!(
        error.to_string().contains("core WebAssembly module"),
        "{error}"
    );
}

#[test]
fn limits_over_the_operators_maxima_are_refused_naming_the_limit() {
    let p = publisher("\"*\"", "");
    let package = signed(MANIFEST, &delivery(), &p.key);
    let strict = OperatorMaxima {
        memory_mib: 16,
        timeout_ms: 60_000,
        max_requests: None,
    };
    let error = refused(verify(&package, &p.policy, &strict));
    assert_eq!(error.step, VerifyStep::Limits);
    assert_eq!(
        error.to_string(),
        "limits: limits.memory_mib is 32 but the operator allows at most 16"
    );
}

#[test]
fn a_manifest_that_does_not_match_the_statement_is_refused_at_manifest() {
    let p = publisher("\"*\"", "");
    let component = delivery();
    let honest = Package::new(MANIFEST.to_owned(), component.clone()).unwrap();
    // A statement naming another version, with correct digests, signed.
    let statement = String::from_utf8(honest.statement_bytes().to_vec())
        .unwrap()
        .replace("\"version\":\"1.0.0\"", "\"version\":\"9.0.0\"");
    let mut forged =
        Package::from_parts(statement.as_bytes(), MANIFEST.as_bytes(), &component, b"[]").unwrap();
    forged.add_signature(&p.key);
    let error = refused(verify(&forged.to_bytes(), &p.policy, &maxima()));
    assert_eq!(error.step, VerifyStep::Manifest);
    assert!(
        error
            .to_string()
            .contains("the statement says acme-orders 9.0.0"),
        "{error}"
    );
}

#[test]
fn the_steps_are_named_in_order() {
    let names: Vec<&str> = VerifyStep::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "archive",
            "digests",
            "signature",
            "trust",
            "manifest",
            "component",
            "imports",
            "exports",
            "limits"
        ]
    );
    assert!(VerifyStep::ALL.is_sorted());
}
