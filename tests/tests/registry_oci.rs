//! Packages travel through a real OCI registry (Debian's docker-registry on
//! 127.0.0.1) and through a directory registry, byte-identical, by tag and
//! by digest; generic wasm tools find the component where they look for it.

use sluice_registry::{
    OperatorMaxima, Package, Registries, SigningKeyFile, TrustPolicy, digest, pack_dir, sign,
    verify,
};
use sluice_tests::guests::bundled_connectors_dir;
use sluice_tests::oci_registry::OciRegistry;

fn signed_slack() -> (Vec<u8>, TrustPolicy) {
    let key = SigningKeyFile::generate("Acme").unwrap();
    let package = sign(
        &pack_dir(&bundled_connectors_dir().join("slack")).unwrap(),
        &key,
    )
    .unwrap();
    let policy = TrustPolicy::from_toml(
        &key.public_toml()
            .replace("connectors = []", "connectors = [\"slack\"]"),
    )
    .unwrap();
    (package, policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_package_round_trips_through_a_real_registry_by_tag_and_by_digest() {
    let registry = OciRegistry::start();
    let registries = Registries::new(&[registry.address().to_owned()]);
    let (package, policy) = signed_slack();
    let tag = format!("{}/acme/slack:0.1.0", registry.address());

    let pushed = registries.push(&package, &tag).await.unwrap();
    assert!(pushed.manifest_digest.starts_with("sha256:"), "{pushed:?}");

    let by_tag = registries.pull(&tag).await.unwrap();
    assert_eq!(by_tag, package, "pulled by tag, byte-identical");
    let by_digest_ref = format!(
        "{}/acme/slack@{}",
        registry.address(),
        pushed.manifest_digest
    );
    let by_digest = registries.pull(&by_digest_ref).await.unwrap();
    assert_eq!(by_digest, package, "pulled by digest, byte-identical");
    let verified = verify(&by_digest, &policy, &OperatorMaxima::default()).unwrap();
    assert_eq!(verified.digest, digest(&package));
    assert_eq!(verified.signers[0].publisher, "Acme");

    // The tag moves to another package; the digest still names the first.
    let unsigned = pack_dir(&bundled_connectors_dir().join("slack")).unwrap();
    registries.push(&unsigned, &tag).await.unwrap();
    assert_eq!(registries.pull(&tag).await.unwrap(), unsigned);
    assert_eq!(registries.pull(&by_digest_ref).await.unwrap(), package);

    // Generic wasm tooling: the config and the component layer use the
    // wasm media types, and the component blob is the component.
    let http = reqwest::Client::builder().build().unwrap();
    let manifest: serde_json::Value = http
        .get(format!(
            "http://{}/v2/acme/slack/manifests/{}",
            registry.address(),
            pushed.manifest_digest
        ))
        .header("Accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    let component = http
        .get(format!(
            "http://{}/v2/acme/slack/blobs/{}",
            registry.address(),
            manifest["layers"][0]["digest"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        &component[..],
        Package::from_bytes(&package).unwrap().component()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_used_only_for_registries_marked_insecure() {
    let registry = OciRegistry::start();
    let (package, _) = signed_slack();
    let error = Registries::new(&[])
        .push(
            &package,
            &format!("{}/acme/slack:0.1.0", registry.address()),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains(registry.address()), "{error}");
}

#[tokio::test]
async fn a_directory_registry_round_trips_by_tag_and_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let registries = Registries::new(&[]);
    let (package, _) = signed_slack();
    let tag = format!("dir://{}/slack:0.1.0", dir.path().display());
    let pushed = registries.push(&package, &tag).await.unwrap();
    assert_eq!(registries.pull(&tag).await.unwrap(), package);
    let by_digest = format!("{}/slack@{}", dir.path().display(), pushed.manifest_digest);
    assert_eq!(registries.pull(&by_digest).await.unwrap(), package);
    assert!(dir.path().join("slack/oci-layout").is_file());

    // A blob changed on disk is refused, not handed on.
    let layer = Package::from_bytes(&package)
        .unwrap()
        .statement()
        .component
        .sha256
        .clone();
    let blob = dir
        .path()
        .join("slack/blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let error = registries.pull(&tag).await.unwrap_err();
    assert!(error.to_string().contains("has digest"), "{error}");
}
