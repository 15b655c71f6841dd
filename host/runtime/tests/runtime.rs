//! The runtime with the well-behaved test guest: loading, export detection,
//! the compiled cache, capabilities and reports.
//!
//! The guests are built by `make guests` (guests/target/wasm32-wasip2/release).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use sluice_core::ManualClock;
use sluice_egress::{Egress, EgressSettings, SystemResolver};
use sluice_manifest::Manifest;
use sluice_runtime::types::{CheckStatus, SyncRequest};
use sluice_runtime::{
    CallContext, Capabilities, Catalog, CompileSource, LoadError, MemoryCredentials, MemoryState,
    Offers, Runtime, RuntimeConfig,
};

fn guests() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guests")
}

fn well_behaved() -> (Manifest, Vec<u8>) {
    let manifest =
        Manifest::load(&guests().join("test-guests/well-behaved/connector.toml")).unwrap();
    let wasm = guests().join("target/wasm32-wasip2/release/well_behaved.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the guests first with `make guests`",
            wasm.display()
        )
    });
    (manifest, bytes)
}

fn runtime(cache: Option<PathBuf>) -> Runtime {
    let egress = Egress::new(EgressSettings::default(), Arc::new(SystemResolver)).unwrap();
    Runtime::new(
        RuntimeConfig {
            cache_dir: cache,
            ..RuntimeConfig::default()
        },
        egress,
    )
    .unwrap()
}

fn context(credentials: &[(&str, &str)]) -> CallContext {
    CallContext {
        store_id: "store_1".into(),
        configuration_id: "cfg_1".into(),
        delivery_id: None,
        attempt: 0,
        settings: BTreeMap::new(),
        capabilities: Capabilities {
            credentials: Arc::new(MemoryCredentials::new(
                credentials
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )),
            state: Arc::new(MemoryState::default()),
            clock: Arc::new(ManualClock::new(1_700_000_000_000)),
        },
    }
}

#[tokio::test]
async fn a_component_is_loaded_with_its_exports_detected_and_cached() {
    let cache = tempfile::tempdir().unwrap();
    let (manifest, bytes) = well_behaved();
    let first = runtime(Some(cache.path().into()))
        .load(manifest.clone(), bytes.clone())
        .await
        .unwrap();
    assert_eq!(first.compile_source(), CompileSource::Compiled);
    assert_eq!(
        first.offers(),
        Offers {
            deliver: true,
            test_connection: true,
            sync: true,
            inbound: true
        }
    );
    // A new runtime (as after a restart) loads the artifact instead of compiling.
    let second = runtime(Some(cache.path().into()))
        .load(manifest, bytes)
        .await
        .unwrap();
    assert_eq!(second.compile_source(), CompileSource::Cache);
    assert_eq!(first.digest(), second.digest());
}

#[tokio::test]
async fn a_corrupt_cached_artifact_is_replaced() {
    let cache = tempfile::tempdir().unwrap();
    let (manifest, bytes) = well_behaved();
    runtime(Some(cache.path().into()))
        .load(manifest.clone(), bytes.clone())
        .await
        .unwrap();
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let reloaded = runtime(Some(cache.path().into()))
        .load(manifest, bytes)
        .await
        .unwrap();
    assert_eq!(reloaded.compile_source(), CompileSource::Compiled);
}

#[tokio::test]
async fn a_manifest_that_does_not_match_the_exports_is_refused() {
    let (mut manifest, bytes) = well_behaved();
    manifest.sync = None;
    match runtime(None).load(manifest, bytes).await {
        Err(LoadError::Contract(message)) => assert!(message.contains("syncer"), "{message}"),
        other => panic!("expected a contract error, got {other:?}"),
    }
    let (manifest, _) = well_behaved();
    assert!(matches!(
        runtime(None).load(manifest, b"not wasm".to_vec()).await,
        Err(LoadError::Compile(_))
    ));
}

#[tokio::test]
async fn a_call_reports_fuel_memory_logs_and_which_credentials_were_read() {
    let (manifest, bytes) = well_behaved();
    let runtime = runtime(None);
    let connector = runtime.load(manifest, bytes).await.unwrap();
    let invocation = runtime
        .test_connection(
            &connector,
            context(&[("api_key", "s3cret"), ("other", "x")]),
        )
        .await;
    let check = invocation.result.unwrap();
    assert_eq!(check.status, CheckStatus::Ok);
    let report = invocation.report;
    assert_eq!(report.connector, "well-behaved");
    assert_eq!(report.export, "test-connection");
    assert!(report.fuel_consumed > 0);
    assert!(report.memory_peak_bytes > 0);
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        !json.contains("s3cret"),
        "a credential value leaked into the report: {json}"
    );
}

#[tokio::test]
async fn sync_returns_the_guests_batch() {
    let (manifest, bytes) = well_behaved();
    let runtime = runtime(None);
    let connector = runtime.load(manifest, bytes).await.unwrap();
    let request = SyncRequest {
        entity: "records".into(),
        cursor: None,
        max_records: 100,
    };
    let batch = runtime
        .sync(&connector, context(&[]), request)
        .await
        .result
        .unwrap()
        .unwrap();
    assert_eq!(batch.records.len(), 100);
    assert!(batch.has_more);
}

#[tokio::test]
async fn replacing_a_connector_leaves_holders_of_the_old_one_working() {
    let (manifest, bytes) = well_behaved();
    let runtime = runtime(None);
    let catalog = Catalog::new();
    let v1 = runtime.load(manifest.clone(), bytes.clone()).await.unwrap();
    catalog.install(v1);
    let in_flight = catalog.get("well-behaved").unwrap();
    let mut newer = manifest;
    newer.version = semver::Version::new(0, 2, 0);
    let replaced = catalog
        .install(runtime.load(newer, bytes).await.unwrap())
        .unwrap();
    assert_eq!(replaced.manifest().version.to_string(), "0.1.0");
    assert_eq!(
        catalog
            .get("well-behaved")
            .unwrap()
            .manifest()
            .version
            .to_string(),
        "0.2.0"
    );
    let check = runtime.test_connection(&in_flight, context(&[])).await;
    assert_eq!(check.report.version, "0.1.0");
    assert!(check.result.is_ok());
}

#[tokio::test]
async fn a_memory_limit_too_small_to_start_is_named_as_such() {
    let (mut manifest, bytes) = well_behaved();
    manifest.limits.memory_mib = 1;
    let error = runtime(None).load(manifest, bytes).await.unwrap_err();
    match &error {
        LoadError::MemoryTooSmall {
            setting, limit_mib, ..
        } => assert_eq!((*setting, *limit_mib), ("limits.memory_mib", 1)),
        other => panic!("expected a memory limit too small, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with(
            "the component needs more than limits.memory_mib (1 MiB) just to start; it asked for "
        ),
        "{message}"
    );
}
