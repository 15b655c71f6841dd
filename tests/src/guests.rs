//! The built guest components, as `make guests` leaves them.

use std::path::PathBuf;

use sluice_manifest::Manifest;

/// The guests workspace.
pub fn guests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guests")
}

/// The bundle of shipped connectors, as `make connectors` assembles it:
/// one folder per connector with `connector.toml` and `connector.wasm`.
pub fn bundled_connectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/connectors");
    assert!(
        dir.is_dir(),
        "{} is missing; run `make connectors` (make test does) first",
        dir.display()
    );
    dir
}

/// The manifest and component of a guest, by its folder under `guests/`,
/// for example `test-guests/hostile` or `connectors/slack`.
pub fn guest(folder: &str) -> (Manifest, Vec<u8>) {
    let source = guests_dir().join(folder);
    let manifest = Manifest::load(&source.join("connector.toml"))
        .unwrap_or_else(|e| panic!("{folder}/connector.toml: {e}"));
    let crate_name = source
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a guest folder name")
        .replace('-', "_");
    let wasm = guests_dir()
        .join("target/wasm32-wasip2/release")
        .join(format!("{crate_name}.wasm"));
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the guests first with `make guests`",
            wasm.display()
        )
    });
    (manifest, bytes)
}
