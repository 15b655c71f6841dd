//! Hostile guests are contained: each attack ends in a recorded failure or a
//! refused request, and a well-behaved connector in the same runtime keeps
//! working afterwards.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::any;
use sluice_core::ManualClock;
use sluice_egress::{Egress, EgressSettings, StaticResolver};
use sluice_runtime::capabilities::StateResult;
use sluice_runtime::types::{DeliveryOutcome, Event};
use sluice_runtime::{
    BackendError, CallContext, Capabilities, CutString, Invocation, InvocationFailure,
    LoadedConnector, MemoryCredentials, MemoryInspector, MemoryState, Runtime, RuntimeConfig,
    StateStore,
};
use sluice_tests::guests::guest;
use sluice_tests::sandbox::{assert_no_secret_in_guest_memory, guest_memory_holds};
use sluice_tests::{FakeServer, TestCa};

const RESPONSE_CAP: u64 = 1024 * 1024;

struct Sandbox {
    runtime: Runtime,
    hostile: Arc<LoadedConnector>,
    well_behaved: Arc<LoadedConnector>,
    _server: FakeServer,
    _ca: TestCa,
}

async fn sandbox() -> Sandbox {
    sandbox_with(None).await
}

/// The sandbox, its guests' memories kept by `inspector` when there is one
/// (heap memories instead of the pool that serves).
async fn sandbox_with(inspector: Option<&Arc<MemoryInspector>>) -> Sandbox {
    let ca = TestCa::new().unwrap();
    let app = Router::new()
        .route(
            "/big",
            any(|| async { vec![b'x'; 8 * RESPONSE_CAP as usize] }),
        )
        .route("/ok", any(|| async { "ok" }))
        .route(
            "/whoami",
            any(|headers: axum::http::HeaderMap| async move {
                let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
                if bearer == Some(concat!("Bearer ", "tok-host-applied")) {
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::UNAUTHORIZED
                }
            }),
        );
    let server = FakeServer::start_tls(&ca, &["allowed.test"], app)
        .await
        .unwrap();
    // Stands in for DNS: these answers are checked like any DNS answer,
    // unlike the operator's `resolve` map.
    let dns = StaticResolver::default()
        .with(
            "internal.allowed.test",
            &["10.1.2.3".parse::<IpAddr>().unwrap()],
        )
        .with("localhost", &["127.0.0.1".parse::<IpAddr>().unwrap()]);
    let settings = EgressSettings {
        resolve: server.egress_overrides(),
        ca_certificates: vec![ca.pem_path().to_owned()],
        max_response_bytes: RESPONSE_CAP,
        connect_timeout_ms: 1_000,
        request_timeout_ms: 2_000,
        ..EgressSettings::default()
    };
    let egress = Egress::new(settings, Arc::new(dns)).unwrap();
    let runtime = match inspector {
        None => Runtime::new(RuntimeConfig::default(), egress),
        Some(inspector) => {
            Runtime::with_memory_inspector(RuntimeConfig::default(), egress, inspector)
        }
    }
    .unwrap();
    let (manifest, bytes) = guest("test-guests/hostile");
    let hostile = runtime.load(manifest, bytes).await.unwrap();
    let (manifest, bytes) = guest("test-guests/well-behaved");
    let well_behaved = runtime.load(manifest, bytes).await.unwrap();
    Sandbox {
        runtime,
        hostile,
        well_behaved,
        _server: server,
        _ca: ca,
    }
}

fn context(settings: &[(&str, &str)], credentials: &[(&str, &str)]) -> CallContext {
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
            state: Arc::new(MemoryState::default()),
            clock: Arc::new(ManualClock::starting_now()),
        },
    }
}

fn event() -> Event {
    Event {
        id: "evt_1".into(),
        event_type: "order.placed".into(),
        store_id: "store_1".into(),
        occurred_at: "2026-11-22T10:00:00.000Z".into(),
        payload: r#"{"order_id":"1"}"#.into(),
    }
}

impl Sandbox {
    async fn attack(&self, attack: &str, extra: &[(&str, &str)]) -> Invocation<DeliveryOutcome> {
        let mut settings = vec![("attack", attack)];
        settings.extend_from_slice(extra);
        let invocation = self
            .runtime
            .deliver(&self.hostile, context(&settings, &[]), event())
            .await;
        self.assert_well_behaved_still_works().await;
        invocation
    }

    async fn assert_well_behaved_still_works(&self) {
        let invocation = self
            .runtime
            .deliver(
                &self.well_behaved,
                context(&[("target_url", "https://allowed.test/ok")], &[]),
                event(),
            )
            .await;
        match invocation.result {
            Ok(DeliveryOutcome::Delivered(_)) => {}
            other => panic!(
                "the well-behaved connector stopped working: {other:?} {:?}",
                invocation.report
            ),
        }
    }
}

/// The reason of a permanent failure the guest returned.
fn failure_reason(invocation: &Invocation<DeliveryOutcome>) -> &str {
    match &invocation.result {
        Ok(DeliveryOutcome::Failed(failure)) => &failure.reason,
        other => panic!("expected a permanent failure from the guest, got {other:?}"),
    }
}

fn external_id(invocation: &Invocation<DeliveryOutcome>) -> &str {
    match &invocation.result {
        Ok(DeliveryOutcome::Delivered(delivered)) => delivered.external_id.as_deref().unwrap(),
        other => panic!("expected delivered, got {other:?}"),
    }
}

/// The refusal reasons recorded in the report.
fn refusals(invocation: &Invocation<DeliveryOutcome>) -> Vec<String> {
    invocation
        .report
        .egress
        .iter()
        .filter_map(|r| r.refused.clone())
        .collect()
}

#[tokio::test]
async fn an_endless_loop_is_stopped_at_the_deadline() {
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("loop", &[]).await;
    assert_eq!(
        invocation.result.unwrap_err(),
        InvocationFailure::Timeout { limit_ms: 2_000 }
    );
    assert!(invocation.report.duration_ms >= 2_000 && invocation.report.duration_ms < 5_000);
    assert!(invocation.report.fuel_consumed > 0);
}

#[tokio::test]
async fn unbounded_memory_growth_is_stopped_at_the_cap() {
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("memory", &[]).await;
    let limit = 96 * 1024 * 1024;
    assert_eq!(
        invocation.result.unwrap_err(),
        InvocationFailure::OutOfMemory { limit_bytes: limit }
    );
    assert!(invocation.report.memory_peak_bytes <= limit);
    assert!(invocation.report.memory_peak_bytes > limit / 2);
}

#[tokio::test]
async fn a_panic_is_a_recorded_trap_with_its_message() {
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("panic", &[]).await;
    match invocation.result.unwrap_err() {
        InvocationFailure::Trap { message } => {
            assert!(
                message.contains("hostile guest panicked on purpose"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_host_missing_from_the_manifest_is_refused() {
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("egress-undeclared", &[]).await;
    assert!(
        failure_reason(&invocation).contains("HttpRequestDenied"),
        "{invocation:?}"
    );
    assert_eq!(refusals(&invocation).len(), 1);
    assert!(
        refusals(&invocation)[0].contains(
            "https://undeclared.example.com:443 is not in the connector's allowed origins"
        )
    );
}

#[tokio::test]
async fn sockets_are_denied_so_nothing_goes_around_the_egress_policy() {
    // A real listener: the guest must not reach it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("sockets", &[("port", &port)]).await;
    let seen = external_id(&invocation);
    assert!(seen.starts_with("tcp=error:"), "{seen}");
    assert!(seen.contains(" udp=error:"), "{seen}");
    assert!(seen.contains(" dns=error:"), "{seen}");
    assert!(
        listener.accept().is_err(),
        "the guest connected to a loopback listener"
    );
    assert!(invocation.report.egress.is_empty(), "{invocation:?}");
}

#[tokio::test]
async fn loopback_metadata_and_mapped_addresses_are_refused_even_when_declared() {
    let sandbox = sandbox().await;
    for (attack, range) in [
        ("egress-loopback", "loopback"),
        ("egress-metadata", "cloud metadata"),
        ("egress-mapped-v6", "loopback"),
    ] {
        let invocation = sandbox.attack(attack, &[]).await;
        assert!(
            failure_reason(&invocation).contains("DestinationIpProhibited"),
            "{attack}: {invocation:?}"
        );
        let refused = refusals(&invocation);
        assert_eq!(refused.len(), 1, "{attack}");
        assert!(
            refused[0].contains(&format!("a {range} address")),
            "{attack}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused() {
    let sandbox = sandbox().await;
    for (host, range) in [
        ("internal.allowed.test", "private"),
        ("localhost", "loopback"),
    ] {
        let invocation = sandbox
            .attack("egress-private-dns", &[("host", host)])
            .await;
        assert!(
            failure_reason(&invocation).contains("DestinationIpProhibited"),
            "{host}"
        );
        assert!(
            refusals(&invocation)[0].contains(&format!("{host} resolves to")),
            "{host}"
        );
        assert!(refusals(&invocation)[0].contains(range), "{host}");
    }
}

#[tokio::test]
async fn an_undeclared_credential_reads_as_absent_and_is_reported() {
    let sandbox = sandbox().await;
    let invocation = sandbox
        .runtime
        .deliver(
            &sandbox.hostile,
            context(
                &[("attack", "credential-undeclared")],
                &[("api_key", "k-123"), ("aws_secret_key", "AKIA-not-yours")],
            ),
            event(),
        )
        .await;
    assert_eq!(
        external_id(&invocation),
        "aws_secret_key=absent api_key=present"
    );
    assert_eq!(
        invocation.report.credentials_refused,
        vec!["aws_secret_key"]
    );
    assert_eq!(invocation.report.credentials_read, vec!["api_key"]);
    let report = serde_json::to_string(&invocation.report).unwrap();
    assert!(
        !report.contains("k-123") && !report.contains("AKIA"),
        "a secret leaked: {report}"
    );
}

#[tokio::test]
async fn there_is_no_environment_argument_or_file_to_read() {
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("env-and-files", &[]).await;
    let seen = external_id(&invocation);
    assert!(
        seen.starts_with("env=0 args=0 read_dir(/)=error:"),
        "{seen}"
    );
    assert!(seen.contains("read(/etc/passwd)=error:"), "{seen}");
}

#[tokio::test]
async fn a_response_larger_than_the_cap_fails_the_read() {
    let sandbox = sandbox().await;
    let invocation = sandbox
        .attack(
            "big-response",
            &[("target_url", "https://allowed.test/big")],
        )
        .await;
    let reason = failure_reason(&invocation);
    assert!(reason.contains("exceeds limit: 1048576 bytes"), "{reason}");
    let record = &invocation.report.egress[0];
    assert_eq!(record.status, Some(200));
    assert!(record.response_bytes > RESPONSE_CAP && record.response_bytes < 2 * RESPONSE_CAP);
}

#[tokio::test]
async fn requests_beyond_the_per_call_cap_are_refused() {
    let sandbox = sandbox().await;
    let invocation = sandbox
        .attack(
            "many-requests",
            &[("target_url", "https://allowed.test/ok"), ("count", "100")],
        )
        .await;
    assert!(
        failure_reason(&invocation).starts_with("request 21 of 100 failed after 20 succeeded"),
        "{invocation:?}"
    );
    let refused = refusals(&invocation);
    assert_eq!(
        refused,
        vec!["the limit of 20 requests per call was reached"]
    );
    assert_eq!(invocation.report.egress.len(), 21);
}

#[tokio::test]
async fn flooding_stdout_is_cut_without_failing_the_call() {
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("stdout-flood", &[("megabytes", "8")]).await;
    assert_eq!(
        external_id(&invocation),
        "stdout=8388608 bytes stderr=8388608 bytes"
    );
    assert!(invocation.report.output_truncated);
    assert!(invocation.report.stdout.len() <= 64 * 1024);
}

/// State whose writes each take `delay` of real time, like a database under load.
struct SlowState {
    inner: MemoryState,
    delay: std::time::Duration,
}

#[async_trait::async_trait]
impl StateStore for SlowState {
    async fn get(&self, key: &str, now: i64) -> Result<Option<Vec<u8>>, BackendError> {
        self.inner.get(key, now).await
    }

    async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        expires_at: Option<i64>,
        now: i64,
        max_keys: usize,
    ) -> StateResult {
        tokio::time::sleep(self.delay).await;
        self.inner.set(key, value, expires_at, now, max_keys).await
    }

    async fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn time_spent_in_host_calls_counts_against_the_deadline() {
    let sandbox = sandbox().await;
    let mut context = context(&[("attack", "state-flood")], &[]);
    // A thousand writes at 10 ms each would take 10 s; the limit is 2 s.
    context.capabilities.state = Arc::new(SlowState {
        inner: MemoryState::default(),
        delay: std::time::Duration::from_millis(10),
    });
    let invocation = sandbox
        .runtime
        .deliver(&sandbox.hostile, context, event())
        .await;
    assert_eq!(
        invocation.result.unwrap_err(),
        InvocationFailure::Timeout { limit_ms: 2_000 }
    );
    assert!(
        invocation.report.duration_ms < 5_000,
        "{:?}",
        invocation.report
    );
    sandbox.assert_well_behaved_still_works().await;
}

#[tokio::test]
async fn nothing_a_call_leaves_in_guest_memory_reaches_the_next_call() {
    let sandbox = sandbox().await;
    let mut answers = Vec::new();
    // The pool hands the same component its last slot again: every call
    // after the first runs in memory an earlier call wrote.
    for _ in 0..5 {
        let invocation = sandbox.attack("remember", &[]).await;
        answers.push(external_id(&invocation).to_owned());
    }
    // The heap word holds the allocator's own bookkeeping in a fresh memory,
    // the same in every call, and the guest's mark if a page survived.
    assert!(
        answers[0].starts_with("image 7 zeroed 0 heap "),
        "{answers:?}"
    );
    assert!(!answers[0].ends_with("0xfeedf00d"), "{answers:?}");
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:?}"
    );
}

#[tokio::test]
async fn an_oversize_external_id_is_cut_and_the_report_says_so() {
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("huge-external-id", &[]).await;
    let limits = RuntimeConfig::default().guest_strings;
    assert_eq!(external_id(&invocation).len(), limits.max_id_bytes);
    assert_eq!(
        invocation.report.cut,
        vec![CutString {
            field: "delivered.external-id".into(),
            original_bytes: 16 * 1024 * 1024,
        }]
    );
}

#[tokio::test]
async fn an_oversize_failure_reason_and_remote_error_are_cut() {
    let sandbox = sandbox().await;
    let invocation = sandbox.attack("huge-reason", &[]).await;
    let limits = RuntimeConfig::default().guest_strings;
    let Ok(DeliveryOutcome::Failed(failure)) = &invocation.result else {
        panic!("{:?}", invocation.result);
    };
    assert_eq!(failure.reason.len(), limits.max_text_bytes);
    let remote = failure.remote.as_ref().unwrap();
    assert_eq!(remote.code.as_ref().unwrap().len(), limits.max_id_bytes);
    assert_eq!(
        remote.message.as_ref().unwrap().len(),
        limits.max_text_bytes
    );
    let fields: Vec<&str> = invocation
        .report
        .cut
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "failed.reason",
            "failed.remote.code",
            "failed.remote.message"
        ]
    );
}

#[tokio::test]
async fn a_host_applied_credential_is_never_readable_and_goes_only_where_it_is_bound() {
    let sandbox = sandbox().await;
    let secret = [("bound_token", "tok-host-applied")];
    let run = |url: &'static str| {
        sandbox.runtime.deliver(
            &sandbox.hostile,
            context(
                &[("attack", "credential-exfiltrate"), ("target_url", url)],
                &secret,
            ),
            event(),
        )
    };

    let unbound = run("https://allowed.test:8443/ok").await;
    let reason = failure_reason(&unbound);
    assert!(reason.contains("HttpRequestDenied"), "{reason}");
    assert_eq!(unbound.report.credentials_refused, vec!["bound_token"]);
    assert!(unbound.report.credentials_read.is_empty());
    let refused = refusals(&unbound);
    assert!(
        refused[0].contains("'bound_token' is not bound to https://allowed.test:8443"),
        "{refused:?}"
    );

    let bound = run("https://allowed.test/whoami").await;
    assert_eq!(
        external_id(&bound),
        "the host sent bound_token to https://allowed.test/whoami: HTTP 200",
        "the host applied the exact secret: {:?}",
        bound.report
    );
    assert_eq!(
        bound.report.egress[0].credential.as_deref(),
        Some("bound_token")
    );
    for invocation in [&unbound, &bound] {
        let report = serde_json::to_string(&invocation.report).unwrap();
        assert!(
            !report.contains("tok-host-applied"),
            "a secret leaked: {report}"
        );
    }
}

#[tokio::test]
async fn a_bound_credential_never_enters_guest_memory_while_a_readable_one_does() {
    // Long enough that the allocations after the guest freed its copy
    // cannot cover all of it.
    let api_key: String = (0..300).map(|i| format!("k{i:04}-")).collect();
    let inspector = MemoryInspector::new();
    let sandbox = sandbox_with(Some(&inspector)).await;

    // The hostile guest asks for the bound credential, then has the host
    // apply it: the value never crosses into its memory.
    let bound = sandbox
        .runtime
        .deliver(
            &sandbox.hostile,
            context(
                &[
                    ("attack", "credential-exfiltrate"),
                    ("target_url", "https://allowed.test/whoami"),
                ],
                &[("bound_token", "tok-host-applied")],
            ),
            event(),
        )
        .await;
    assert_eq!(
        bound.report.egress[0].status,
        Some(200),
        "{:?}",
        bound.report
    );
    assert_no_secret_in_guest_memory(&inspector, &[("bound_token", "tok-host-applied")]);

    // The scan does find what a component reads: the well-behaved guest's
    // readable api_key.
    let readable = sandbox
        .runtime
        .deliver(
            &sandbox.well_behaved,
            context(
                &[("target_url", "https://allowed.test/ok")],
                &[("api_key", &api_key)],
            ),
            event(),
        )
        .await;
    assert!(
        readable
            .report
            .credentials_read
            .contains(&"api_key".to_owned())
    );
    assert!(guest_memory_holds(&inspector, &api_key));
}

#[tokio::test]
async fn a_component_built_against_contract_0_1_0_still_loads_runs_and_reads_its_credentials() {
    let sandbox = sandbox().await;
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/contract-0.1.0");
    let manifest = sluice_manifest::Manifest::load(&fixture.join("connector.toml")).unwrap();
    let bytes = std::fs::read(fixture.join("well_behaved.wasm")).unwrap();
    let old = sandbox.runtime.load(manifest, bytes).await.unwrap();
    assert!(old.reads_unbound_credentials());
    let invocation = sandbox
        .runtime
        .deliver(
            &old,
            context(
                &[("target_url", "https://allowed.test/ok")],
                &[("api_key", "k-old")],
            ),
            event(),
        )
        .await;
    assert!(
        matches!(invocation.result, Ok(DeliveryOutcome::Delivered(_))),
        "{:?} {:?}",
        invocation.result,
        invocation.report
    );
    assert_eq!(invocation.report.credentials_read, vec!["api_key"]);
    assert!(!sandbox.well_behaved.reads_unbound_credentials());
}

#[tokio::test]
async fn a_refused_post_body_is_drained_so_the_guest_sees_the_refusal_in_the_response() {
    let sandbox = sandbox().await;
    // An undeclared origin: refused before anything is sent.
    let invocation = sandbox.attack("streamed-post", &[]).await;
    assert_eq!(
        failure_reason(&invocation),
        "wrote 1048576 bytes; response: ErrorCode::HttpRequestDenied",
        "{:?}",
        invocation.report
    );
    assert_eq!(refusals(&invocation).len(), 1);

    // A declared origin whose address is refused when connecting.
    let invocation = sandbox
        .attack("streamed-post", &[("target_url", "http://127.0.0.1/hook")])
        .await;
    assert_eq!(
        failure_reason(&invocation),
        "wrote 1048576 bytes; response: ErrorCode::DestinationIpProhibited",
        "{:?}",
        invocation.report
    );
}
