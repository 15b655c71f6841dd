use super::*;
use crate::{Refusal, Signer, SigningKeyFile, TrustError, TrustPolicy, digest};

const MANIFEST: &str = r#"id = "acme-orders"
name = "Acme orders"
version = "1.2.0"
category = "messaging"
description = "Test connector."
events = ["order.*"]
"#;

fn package() -> Package {
    Package::new(MANIFEST.to_owned(), b"\0asm component bytes".to_vec()).unwrap()
}

fn policy_for(key: &SigningKeyFile, connectors: &str, extra: &str) -> TrustPolicy {
    TrustPolicy::from_toml(&format!(
        "{extra}\n[[publishers]]\nname = \"{}\"\npublic_key = \"{}\"\nconnectors = [{connectors}]\n",
        key.publisher(),
        key.public_key().to_base64()
    ))
    .unwrap()
}

fn signed(key: &SigningKeyFile) -> (Package, String) {
    let bytes = sign(&package().to_bytes(), key).unwrap();
    (Package::from_bytes(&bytes).unwrap(), digest(&bytes))
}

#[test]
fn packing_the_same_inputs_twice_gives_the_same_bytes() {
    let a = package().to_bytes();
    let b = package().to_bytes();
    assert_eq!(a, b);
    assert_eq!(Package::from_bytes(&a).unwrap(), package());
}

#[test]
fn the_statement_records_id_version_and_digests_of_both_files() {
    let p = package();
    let s = p.statement();
    assert_eq!(
        (s.id.as_str(), s.version.as_str()),
        ("acme-orders", "1.2.0")
    );
    assert_eq!(s.format, FORMAT);
    assert_eq!(s.manifest, FileDigest::of(MANIFEST.as_bytes()));
    assert_eq!(s.component.sha256, digest(b"\0asm component bytes"));
    assert_eq!(
        String::from_utf8(p.statement_bytes().to_vec()).unwrap(),
        format!(
            r#"{{"format":"sluice.pkg/v1","id":"acme-orders","version":"1.2.0","contract":"sluice:connector@0.1.1","manifest":{{"sha256":"{}","size":{}}},"component":{{"sha256":"{}","size":20}}}}"#,
            digest(MANIFEST.as_bytes()),
            MANIFEST.len(),
            digest(b"\0asm component bytes")
        )
    );
}

#[test]
fn packing_refuses_an_invalid_manifest_naming_the_field() {
    let error = Package::new(MANIFEST.replace("1.2.0", "one"), vec![1]).unwrap_err();
    assert!(error.to_string().contains("version"), "{error}");
}

#[test]
fn a_directory_with_connector_wasm_or_component_wasm_packs_the_same() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for (dir, name) in [(&a, "connector.wasm"), (&b, "component.wasm")] {
        std::fs::write(dir.path().join("connector.toml"), MANIFEST).unwrap();
        std::fs::write(dir.path().join(name), b"\0asm component bytes").unwrap();
    }
    let pa = Package::from_dir(a.path()).unwrap().to_bytes();
    assert_eq!(pa, Package::from_dir(b.path()).unwrap().to_bytes());
    assert_eq!(pa, package().to_bytes());
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("connector.toml"), MANIFEST).unwrap();
    let error = Package::from_dir(empty.path()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("component.wasm or connector.wasm"),
        "{error}"
    );
}

#[test]
fn signing_twice_with_one_key_keeps_one_signature_and_the_statement_digest() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let other = SigningKeyFile::generate("Acme").unwrap();
    let once = sign(&package().to_bytes(), &key).unwrap();
    let twice = sign(&once, &key).unwrap();
    assert_eq!(once, twice, "Ed25519 signatures are deterministic");
    let both = Package::from_bytes(&sign(&once, &other).unwrap()).unwrap();
    assert_eq!(both.signatures().len(), 2);
    assert!(both.signatures().is_sorted_by(|a, b| a.key_id < b.key_id));
    assert_eq!(both.statement_digest(), package().statement_digest());
}

#[test]
fn archives_with_extra_missing_or_reordered_entries_are_refused() {
    let p = package();
    let parts: [&[u8]; 4] = [
        p.statement_bytes(),
        p.manifest_toml().as_bytes(),
        p.component(),
        b"[]",
    ];
    let mut extra = tar::Builder::new(Vec::new());
    for (name, data) in [
        "statement.json",
        "connector.toml",
        "component.wasm",
        "signatures.json",
        "evil.sh",
    ]
    .iter()
    .zip(parts.iter().chain([&&b"x"[..]]))
    {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_cksum();
        extra.append(&h, *data).unwrap();
    }
    let error = Package::from_bytes(&extra.into_inner().unwrap()).unwrap_err();
    assert_eq!(error, ArchiveError::ExtraEntry("evil.sh".into()));

    let mut swapped = tar::Builder::new(Vec::new());
    for (name, data) in ["connector.toml", "statement.json"].iter().zip(parts) {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_cksum();
        swapped.append(&h, data).unwrap();
    }
    let error = Package::from_bytes(&swapped.into_inner().unwrap()).unwrap_err();
    assert!(
        matches!(error, ArchiveError::UnexpectedEntry { index: 0, .. }),
        "{error}"
    );

    let mut short = package().to_bytes();
    short.truncate(512 * 3);
    assert!(Package::from_bytes(&short).is_err());

    let mut trailing = package().to_bytes();
    trailing.extend_from_slice(&[0; 512]);
    assert_eq!(
        Package::from_bytes(&trailing).unwrap_err(),
        ArchiveError::NotCanonical
    );
}

#[test]
fn a_symlink_entry_is_refused() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_path("statement.json").unwrap();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_link_name("/etc/passwd").unwrap();
    h.set_size(0);
    h.set_cksum();
    b.append(&h, &[][..]).unwrap();
    let error = Package::from_bytes(&b.into_inner().unwrap()).unwrap_err();
    assert_eq!(error, ArchiveError::NotAFile("statement.json".into()));
}

#[test]
fn a_signed_package_from_an_allowed_key_is_trusted() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let (p, d) = signed(&key);
    let signers = policy_for(&key, "\"acme-*\"", "").check(&p, &d).unwrap();
    assert_eq!(
        signers,
        vec![Signer {
            key_id: key.key_id(),
            publisher: "Acme".into()
        }]
    );
}

#[test]
fn a_key_not_allowed_for_the_connector_id_is_refused_at_trust() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let (p, d) = signed(&key);
    let error = policy_for(&key, "\"slack\", \"acme-billing-*\"", "")
        .check(&p, &d)
        .unwrap_err();
    assert!(
        matches!(error, Refusal::Trust(TrustError::NotAllowed { .. })),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("may not sign connector 'acme-orders'"),
        "{error}"
    );
}

#[test]
fn a_signature_by_a_key_the_policy_does_not_list_is_refused_at_trust() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let stranger = SigningKeyFile::generate("Mallory").unwrap();
    let (p, d) = signed(&stranger);
    let error = policy_for(&key, "\"*\"", "").check(&p, &d).unwrap_err();
    assert_eq!(
        error,
        Refusal::Trust(TrustError::UnknownKeys {
            key_ids: stranger.key_id()
        })
    );
}

#[test]
fn a_signature_that_does_not_verify_is_refused_at_signature() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let (mut p, d) = signed(&key);
    // The same key id, but a signature over other bytes.
    let mut forged = p.clone();
    forged.statement_bytes = b"{}".to_vec();
    forged.add_signature(&key);
    p.signatures = forged.signatures.clone();
    let error = policy_for(&key, "\"*\"", "").check(&p, &d).unwrap_err();
    assert!(
        matches!(error, Refusal::Signature(ref m) if m.contains("does not verify")),
        "{error}"
    );
}

#[test]
fn a_revoked_key_is_refused_even_when_listed() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let (p, d) = signed(&key);
    let policy = policy_for(
        &key,
        "\"*\"",
        &format!("revoked_keys = [\"{}\"]", key.key_id()),
    );
    assert_eq!(
        policy.check(&p, &d).unwrap_err(),
        Refusal::Trust(TrustError::RevokedKey {
            key_id: key.key_id()
        })
    );
}

#[test]
fn a_yanked_package_or_statement_digest_is_refused() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let (p, d) = signed(&key);
    for yanked in [d.clone(), p.statement_digest()] {
        let policy = policy_for(&key, "\"*\"", &format!("yanked = [\"{yanked}\"]"));
        assert_eq!(
            policy.check(&p, &d).unwrap_err(),
            Refusal::Trust(TrustError::Yanked { digest: yanked })
        );
    }
}

#[test]
fn unsigned_packages_are_refused_unless_the_development_switch_is_on() {
    let p = package();
    let d = digest(&p.to_bytes());
    let strict = TrustPolicy::default();
    assert!(matches!(strict.check(&p, &d), Err(Refusal::Signature(m)) if m.contains("not signed")));
    let dev = TrustPolicy::from_toml("allow_unsigned = true").unwrap();
    assert!(dev.allow_unsigned());
    assert_eq!(dev.check(&p, &d).unwrap(), vec![]);
}

#[test]
fn trust_policy_errors_name_the_field() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    for (text, field) in [
        (
            "[[publishers]]\nname = \"A\"\npublic_key = \"bm90IGEga2V5\"\nconnectors = [\"*\"]",
            "publishers[0].public_key",
        ),
        (
            &format!(
                "[[publishers]]\nname = \"A\"\npublic_key = \"{}\"\nconnectors = []",
                key.public_key().to_base64()
            ),
            "publishers[0].connectors",
        ),
        (
            &format!(
                "[[publishers]]\nname = \"A\"\npublic_key = \"{}\"\nkey_id = \"00\"\nconnectors = [\"*\"]",
                key.public_key().to_base64()
            ),
            "publishers[0].key_id",
        ),
        ("yanked = [\"md5:abc\"]", "yanked[0]"),
        ("allow_unsigned = \"yes\"", "allow_unsigned"),
        ("surprise = 1", "surprise"),
    ] {
        let error = TrustPolicy::from_toml(text).unwrap_err().to_string();
        assert!(error.starts_with(field), "{field}: {error}");
    }
}

#[test]
fn key_files_round_trip_and_the_private_one_is_0600() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKeyFile::generate("Acme \"Ltd\"").unwrap();
    let (private, public) = key.write(&dir.path().join("acme")).unwrap();
    let loaded = SigningKeyFile::load(&private).unwrap();
    assert_eq!(loaded.key_id(), key.key_id());
    assert_eq!(loaded.publisher(), "Acme \"Ltd\"");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The public file is a trust policy entry once connectors are filled in.
    let entry = std::fs::read_to_string(&public)
        .unwrap()
        .replace("connectors = []", "connectors = [\"*\"]");
    let policy = TrustPolicy::from_toml(&entry).unwrap();
    assert_eq!(policy.publishers()[0].key, key.public_key());
    assert!(
        key.write(&dir.path().join("acme")).is_err(),
        "never overwrites a key"
    );
}

#[test]
fn a_key_file_with_a_wrong_key_id_is_refused() {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let text = key.to_toml().replace(&key.key_id(), "0000000000000000");
    assert!(
        SigningKeyFile::from_toml(&text)
            .unwrap_err()
            .to_string()
            .starts_with("key_id")
    );
}
