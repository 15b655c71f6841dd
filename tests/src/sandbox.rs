//! A component runtime pointed at fakes: the operator's egress mapping sends
//! the real host names to the fakes' local addresses, and the test CA is
//! trusted, exactly as an operator points a staging host at a test server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use sluice_core::{ManualClock, SharedClock};
use sluice_egress::{Egress, EgressSettings, Resolve, SystemResolver};
use sluice_runtime::types::{
    ConnectionCheck, Delivered, DeliveryOutcome, Event, PermanentFailure, RetryLater, SyncBatch,
    SyncError,
};
use sluice_runtime::{
    CallContext, Capabilities, Invocation, MemoryCredentials, MemoryInspector, MemoryState,
    Runtime, RuntimeConfig,
};

use crate::TestCa;

/// Egress settings mapping `overrides` and trusting `ca`.
pub fn egress_settings(ca: &TestCa, overrides: BTreeMap<String, SocketAddr>) -> EgressSettings {
    EgressSettings {
        resolve: overrides,
        ca_certificates: vec![ca.pem_path().to_owned()],
        ..EgressSettings::default()
    }
}

/// A runtime with those egress settings, resolving other names with `resolver`.
pub fn runtime_with(settings: EgressSettings, resolver: Arc<dyn Resolve>) -> Runtime {
    let egress = Egress::new(settings, resolver).expect("valid egress settings");
    Runtime::new(RuntimeConfig::default(), egress).expect("a runtime")
}

/// A runtime reaching the fakes behind `overrides`.
pub fn runtime(ca: &TestCa, overrides: BTreeMap<String, SocketAddr>) -> Runtime {
    runtime_with(egress_settings(ca, overrides), Arc::new(SystemResolver))
}

/// A runtime reaching the fakes behind `overrides` whose guests' linear
/// memories the returned inspector keeps, to search them for secrets.
pub fn inspected_runtime(
    ca: &TestCa,
    overrides: BTreeMap<String, SocketAddr>,
) -> (Runtime, Arc<MemoryInspector>) {
    let egress = Egress::new(egress_settings(ca, overrides), Arc::new(SystemResolver))
        .expect("valid egress settings");
    let inspector = MemoryInspector::new();
    let runtime = Runtime::with_memory_inspector(RuntimeConfig::default(), egress, &inspector)
        .expect("a runtime");
    (runtime, inspector)
}

/// Fails naming the first of `secrets` (label, value) that a component held
/// in its linear memory during the calls `inspector` saw, whole or in part.
pub fn assert_no_secret_in_guest_memory(inspector: &MemoryInspector, secrets: &[(&str, &str)]) {
    assert!(inspector.memories() > 0, "no guest memory was inspected");
    for (label, value) in secrets {
        assert!(!value.is_empty(), "{label} is empty: nothing to look for");
        assert!(
            !guest_memory_holds(inspector, value),
            "the component's memory held {label}"
        );
    }
}

/// Whether a guest memory holds `secret`, or any 16-byte piece of it: a
/// freed copy keeps most of its bytes, but the allocator writes its own
/// bookkeeping over the start.
pub fn guest_memory_holds(inspector: &MemoryInspector, secret: &str) -> bool {
    const PIECE: usize = 16;
    let bytes = secret.as_bytes();
    inspector.contains(bytes)
        || (bytes.len() >= 2 * PIECE
            && bytes
                .chunks_exact(PIECE)
                .any(|piece| inspector.contains(piece)))
}

/// The context of one call with these settings and credentials, state in
/// memory (shared through `state`) and the given clock.
pub fn call_context(
    settings: &[(&str, &str)],
    credentials: &[(&str, &str)],
    state: &MemoryState,
    clock: SharedClock,
) -> CallContext {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    CallContext {
        store_id: "store_1".into(),
        configuration_id: "cfg_1".into(),
        delivery_id: Some("dlv_1".into()),
        attempt: 1,
        settings: map(settings),
        capabilities: Capabilities {
            credentials: Arc::new(MemoryCredentials::new(map(credentials))),
            state: Arc::new(state.clone()),
            clock,
        },
    }
}

/// A clock standing at the real current time, as fakes check timestamps.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::starting_now())
}

/// An event of `event_type` with `payload` (JSON text).
pub fn event(event_type: &str, payload: &str) -> Event {
    Event {
        id: "evt_1".into(),
        event_type: event_type.into(),
        store_id: "store_1".into(),
        occurred_at: "2026-11-22T10:00:00.000Z".into(),
        payload: payload.into(),
    }
}

/// The delivered outcome of `invocation`; panics with what came instead.
pub fn delivered(invocation: &Invocation<DeliveryOutcome>) -> &Delivered {
    match &invocation.result {
        Ok(DeliveryOutcome::Delivered(delivered)) => delivered,
        other => panic!("expected delivered, got {other:?}"),
    }
}

/// The retry outcome of `invocation`; panics with what came instead.
pub fn retry(invocation: &Invocation<DeliveryOutcome>) -> &RetryLater {
    match &invocation.result {
        Ok(DeliveryOutcome::Retry(retry)) => retry,
        other => panic!("expected a retry, got {other:?}"),
    }
}

/// The permanent failure of `invocation`; panics with what came instead.
pub fn failed(invocation: &Invocation<DeliveryOutcome>) -> &PermanentFailure {
    match &invocation.result {
        Ok(DeliveryOutcome::Failed(failure)) => failure,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

/// The result of a connection check that finished.
pub fn check_result(invocation: &Invocation<ConnectionCheck>) -> &ConnectionCheck {
    invocation
        .result
        .as_ref()
        .unwrap_or_else(|failure| panic!("the check did not finish: {failure:?}"))
}

/// The batch a sync call returned; panics with what came instead.
pub fn batch(invocation: &Invocation<Result<SyncBatch, SyncError>>) -> &SyncBatch {
    match &invocation.result {
        Ok(Ok(batch)) => batch,
        other => panic!("expected a batch, got {other:?}"),
    }
}

/// The error a sync call returned; panics with what came instead.
pub fn sync_error(invocation: &Invocation<Result<SyncBatch, SyncError>>) -> &SyncError {
    match &invocation.result {
        Ok(Err(error)) => error,
        other => panic!("expected a sync error, got {other:?}"),
    }
}
