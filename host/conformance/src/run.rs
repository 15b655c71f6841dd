//! Running the scenarios: the static checks through the registry's own
//! verification, then calls into the sandbox against the fake remote.

use std::sync::Arc;

use sluice_core::{Clock, SystemClock, clock::format_rfc3339};
use sluice_egress::{AllowList, Egress, EgressRecord, StaticResolver};
use sluice_manifest::{CheckedConfiguration, Manifest};
use sluice_registry::{OperatorMaxima, VerifyError, VerifyStep};
use sluice_runtime::types::{CheckStatus, DeliveryOutcome, Event};
use sluice_runtime::{
    CallContext, Capabilities, Invocation, LoadedConnector, MemoryCredentials, MemoryState, Offers,
    Runtime, RuntimeConfig,
};

use crate::CheckError;
use crate::remote::{
    Answer, CLIENT_ERROR_STATUS, FakeRemote, Origins, RETRY_AFTER_SECONDS, token_paths,
};
use crate::report::{Scenario, ScenarioResult};
use crate::sample::SampleEvent;

/// The store and configuration the calls run for.
const STORE_ID: &str = "store_conformance";
const CONFIGURATION_ID: &str = "cfg_conformance";

/// Payloads of the malformed-event scenarios.
const NOT_JSON_PAYLOAD: &str = r#"{"order_id": "conformance-1001", "line_items": ["#;
const EMPTY_OBJECT_PAYLOAD: &str = "{}";

/// Share of `limits.memory_mib` the peak must stay under, in percent.
pub(crate) const MEMORY_HEADROOM_PERCENT: u64 = 75;
/// Share of `limits.timeout_ms` every call must stay under, in percent.
pub(crate) const DURATION_HEADROOM_PERCENT: u64 = 50;

/// The static rows, from the registry's verification of the component as
/// a bundled package: the same steps, in the same order, stopping at the
/// first that fails.
pub(crate) fn static_checks(
    manifest: &Manifest,
    manifest_toml: &str,
    component: &[u8],
) -> Vec<ScenarioResult> {
    let expected = |scenario| expected(scenario, manifest);
    let verified = sluice_registry::pack(manifest_toml, component)
        .map_err(VerifyError::from)
        .and_then(|package| sluice_registry::verify_bundled(&package, &OperatorMaxima::default()));
    let rows = [Scenario::Component, Scenario::Imports, Scenario::Exports];
    match verified {
        Ok(verified) => vec![
            ScenarioResult::new(
                Scenario::Component,
                expected(Scenario::Component),
                "valid component",
                true,
            ),
            ScenarioResult::new(
                Scenario::Imports,
                expected(Scenario::Imports),
                "within the platform",
                true,
            )
            .with_detail(verified.surface.imports.join(", ")),
            ScenarioResult::new(
                Scenario::Exports,
                expected(Scenario::Exports),
                verified.worlds.join(", "),
                true,
            ),
        ],
        Err(error) => {
            let failed = match error.step {
                VerifyStep::Imports => Scenario::Imports,
                VerifyStep::Exports => Scenario::Exports,
                _ => Scenario::Component,
            };
            rows.into_iter()
                .map(|scenario| {
                    let expected = expected(scenario);
                    if scenario < failed {
                        ScenarioResult::new(scenario, expected, "ok", true)
                    } else if scenario == failed {
                        ScenarioResult::new(scenario, expected, error.message.clone(), false)
                    } else {
                        ScenarioResult::skipped(
                            scenario,
                            expected,
                            format!("not checked: {failed} failed first"),
                        )
                    }
                })
                .collect()
        }
    }
}

/// The sample event: the configuration's `event` file, or one made up.
pub(crate) fn sample_event(
    manifest: &Manifest,
    file: Option<&[u8]>,
) -> Result<SampleEvent, CheckError> {
    let Some(bytes) = file else {
        return Ok(SampleEvent::for_manifest(manifest));
    };
    let events = sluice_events::parse_events(bytes).map_err(|errors| {
        let list: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        CheckError::configuration("event", list.join("; "))
    })?;
    let [event] = <[_; 1]>::try_from(events)
        .map_err(|_| CheckError::configuration("event", "must hold one event, not a batch"))?;
    if !manifest.events.is_empty() && !manifest.handles(&event.event_type) {
        let declared: Vec<String> = manifest.events.iter().map(ToString::to_string).collect();
        return Err(CheckError::configuration(
            "event",
            format!(
                "type {} is not among the manifest's events ({})",
                event.event_type,
                declared.join(", ")
            ),
        ));
    }
    Ok(SampleEvent {
        event_type: event.event_type,
        payload: event.payload,
    })
}

/// The longest the egress waits for the fake, in milliseconds: short, so
/// that the hanging scenario ends well within the connector's time limit.
pub(crate) fn request_timeout_ms(timeout_ms: u32) -> u64 {
    (u64::from(timeout_ms) / 5).clamp(50, 1_000)
}

/// One call's figures, for the limits rows.
struct Figures {
    scenario: Scenario,
    duration_ms: u64,
    memory_peak_bytes: u64,
}

/// The connector in the sandbox, the fake behind it, and what each call used.
struct Harness {
    runtime: Runtime,
    connector: Arc<LoadedConnector>,
    fake: FakeRemote,
    settings: CheckedConfiguration,
    capabilities: Capabilities,
    event: SampleEvent,
    calls: u32,
    figures: Vec<Figures>,
}

/// Loads the component into the sandbox and runs every dynamic scenario.
pub(crate) async fn dynamic(
    manifest: &Manifest,
    component: &[u8],
    configuration: CheckedConfiguration,
    event: SampleEvent,
    origins: &Origins,
) -> Result<Vec<ScenarioResult>, CheckError> {
    let setup = |e: &dyn std::fmt::Display| CheckError::Setup(e.to_string());
    let fake = FakeRemote::start(origins, token_paths(manifest))
        .await
        .map_err(|e| setup(&e))?;
    let limits = manifest.limits;
    // Only the manifest's origins resolve, to the fake: nothing else does.
    let egress = Egress::new(
        fake.egress_settings(request_timeout_ms(limits.timeout_ms)),
        Arc::new(StaticResolver::default()),
    )
    .map_err(|e| setup(&e))?;
    // The component is loaded twice (the second time with the egress
    // policy refusing its origins); the artifact cache compiles it once.
    let cache = tempfile::tempdir().map_err(|e| setup(&e))?;
    let runtime = Runtime::new(
        RuntimeConfig {
            cache_dir: Some(cache.path().to_owned()),
            max_concurrent_calls: 4,
            max_memory_mib: limits.memory_mib,
            max_timeout_ms: limits.timeout_ms,
            ..RuntimeConfig::default()
        },
        egress,
    )
    .map_err(|e| setup(&e))?;

    let load_expected = expected(Scenario::Load, manifest);
    let connector = match runtime.load(manifest.clone(), component.to_vec()).await {
        Ok(connector) => connector,
        Err(error) => {
            let mut rows = vec![ScenarioResult::new(
                Scenario::Load,
                load_expected,
                error.to_string(),
                false,
            )];
            rows.extend(
                Scenario::ALL
                    .into_iter()
                    .filter(|s| *s > Scenario::Load)
                    .map(|s| {
                        ScenarioResult::skipped(
                            s,
                            expected(s, manifest),
                            "the component did not load",
                        )
                    }),
            );
            return Ok(rows);
        }
    };
    let offers = connector.offers();
    let mut rows = vec![ScenarioResult::new(
        Scenario::Load,
        load_expected,
        format!("offers {}", describe_offers(offers)),
        true,
    )];

    let mut harness = Harness {
        runtime,
        connector,
        fake,
        capabilities: Capabilities {
            credentials: Arc::new(MemoryCredentials::new(configuration.credentials.clone())),
            state: Arc::new(MemoryState::default()),
            clock: Arc::new(SystemClock),
        },
        settings: configuration,
        event,
        calls: 0,
        figures: Vec::new(),
    };

    let deliveries = [
        (Scenario::Deliver2xx, Answer::Success),
        (Scenario::Deliver5xx, Answer::ServerError),
        (Scenario::DeliverTimeout, Answer::Hang),
        (Scenario::Deliver429, Answer::RateLimited),
        (Scenario::Deliver4xx, Answer::ClientError),
    ];
    if offers.deliver {
        for (scenario, answer) in deliveries {
            let payload = harness.event.payload.clone();
            let invocation = harness.deliver(scenario, answer, payload, None).await;
            rows.push(judge_delivery(
                scenario,
                expected(scenario, manifest),
                &invocation,
            ));
        }
        rows.push(harness.refused(manifest, component).await);
    } else {
        let why = "the component implements no delivery world";
        rows.extend(
            deliveries
                .iter()
                .map(|(s, _)| *s)
                .chain([Scenario::DeliverRefused])
                .map(|s| ScenarioResult::skipped(s, expected(s, manifest), why)),
        );
    }

    rows.push(if offers.test_connection {
        harness.test_connection().await
    } else {
        ScenarioResult::skipped(
            Scenario::TestConnection,
            expected(Scenario::TestConnection, manifest),
            "the component exports no connection interface",
        )
    });

    for (scenario, payload) in [
        (Scenario::MalformedNotJson, NOT_JSON_PAYLOAD),
        (Scenario::MalformedEmptyObject, EMPTY_OBJECT_PAYLOAD),
    ] {
        rows.push(if offers.deliver {
            let invocation = harness
                .deliver(scenario, Answer::Success, payload.to_owned(), None)
                .await;
            judge_delivery(scenario, expected(scenario, manifest), &invocation)
        } else {
            ScenarioResult::skipped(
                scenario,
                expected(scenario, manifest),
                "the component implements no delivery world",
            )
        });
    }

    rows.extend(limits_rows(&harness.figures, manifest));
    Ok(rows)
}

impl Harness {
    /// Delivers the sample event with `payload` through `connector` (the
    /// loaded one when none), the fake answering with `answer`.
    async fn deliver(
        &mut self,
        scenario: Scenario,
        answer: Answer,
        payload: String,
        connector: Option<&Arc<LoadedConnector>>,
    ) -> Invocation<DeliveryOutcome> {
        self.fake.answer_with(answer);
        self.calls += 1;
        let event = Event {
            id: format!("evt_conformance_{}", self.calls),
            event_type: self.event.event_type.clone(),
            store_id: STORE_ID.to_owned(),
            occurred_at: format_rfc3339(SystemClock.now_ms()),
            payload,
        };
        let context = self.context(Some(format!("dlv_conformance_{}", self.calls)));
        let connector = connector.unwrap_or(&self.connector).clone();
        let invocation = self.runtime.deliver(&connector, context, event).await;
        self.record(scenario, &invocation);
        invocation
    }

    /// The delivery with the egress policy refusing every origin of the
    /// manifest: the same component, loaded again with no allowed origin.
    async fn refused(&mut self, manifest: &Manifest, component: &[u8]) -> ScenarioResult {
        let scenario = Scenario::DeliverRefused;
        let mut refusing = manifest.clone();
        refusing.allowed_origins = AllowList::new(Vec::new());
        let connector = match self.runtime.load(refusing, component.to_vec()).await {
            Ok(connector) => connector,
            Err(error) => {
                return ScenarioResult::new(
                    scenario,
                    expected(scenario, manifest),
                    error.to_string(),
                    false,
                );
            }
        };
        let payload = self.event.payload.clone();
        let invocation = self
            .deliver(scenario, Answer::Success, payload, Some(&connector))
            .await;
        judge_delivery(scenario, expected(scenario, manifest), &invocation)
    }

    async fn test_connection(&mut self) -> ScenarioResult {
        let scenario = Scenario::TestConnection;
        self.fake.answer_with(Answer::Success);
        let context = self.context(None);
        let invocation = self.runtime.test_connection(&self.connector, context).await;
        self.record(scenario, &invocation);
        let expected = "a status, no trap";
        let egress = invocation.report.egress.clone();
        match invocation.result {
            Ok(check) => {
                ScenarioResult::new(scenario, expected, describe_status(check.status), true)
                    .with_detail(check.message)
            }
            Err(failure) => ScenarioResult::new(scenario, expected, failure.to_string(), false),
        }
        .with_egress(egress)
    }

    fn context(&self, delivery_id: Option<String>) -> CallContext {
        CallContext {
            store_id: STORE_ID.to_owned(),
            configuration_id: CONFIGURATION_ID.to_owned(),
            attempt: u32::from(delivery_id.is_some()),
            delivery_id,
            settings: self.settings.settings.clone(),
            capabilities: self.capabilities.clone(),
        }
    }

    fn record<T>(&mut self, scenario: Scenario, invocation: &Invocation<T>) {
        self.figures.push(Figures {
            scenario,
            duration_ms: invocation.report.duration_ms,
            memory_peak_bytes: invocation.report.memory_peak_bytes,
        });
    }
}

/// What `scenario` expects, in a few words.
fn expected(scenario: Scenario, manifest: &Manifest) -> String {
    let limits = manifest.limits;
    match scenario {
        Scenario::Component => "a valid WebAssembly component".to_owned(),
        Scenario::Imports => "within world platform and WASI".to_owned(),
        Scenario::Exports => "the manifest's worlds, contract signatures".to_owned(),
        Scenario::Load => format!("loads within memory_mib ({} MiB)", limits.memory_mib),
        Scenario::Deliver2xx => "delivered".to_owned(),
        Scenario::Deliver5xx | Scenario::DeliverTimeout => "retry".to_owned(),
        Scenario::Deliver429 => format!("retry after {RETRY_AFTER_SECONDS} s"),
        Scenario::Deliver4xx => format!("failed, remote status {CLIENT_ERROR_STATUS}"),
        Scenario::DeliverRefused => "refusal reported, not delivered".to_owned(),
        Scenario::TestConnection => "a status, no trap".to_owned(),
        Scenario::MalformedNotJson | Scenario::MalformedEmptyObject => {
            "an outcome, no trap".to_owned()
        }
        Scenario::Memory => format!(
            "peak < {} ({MEMORY_HEADROOM_PERCENT}% of {} MiB)",
            mebibytes(memory_ceiling(limits.memory_mib)),
            limits.memory_mib
        ),
        Scenario::Duration => format!(
            "< {} ms ({DURATION_HEADROOM_PERCENT}% of {} ms)",
            duration_ceiling(limits.timeout_ms),
            limits.timeout_ms
        ),
    }
}

/// Whether `outcome` is what `scenario` expects, given the call's egress
/// records.
pub(crate) fn delivery_passes(
    scenario: Scenario,
    outcome: &DeliveryOutcome,
    egress: &[EgressRecord],
) -> bool {
    let remote_status = |remote: &Option<sluice_runtime::types::RemoteError>| {
        remote.as_ref().and_then(|remote| remote.status)
    };
    match (scenario, outcome) {
        (Scenario::Deliver2xx, DeliveryOutcome::Delivered(_)) => true,
        (Scenario::Deliver5xx | Scenario::DeliverTimeout, DeliveryOutcome::Retry(_)) => true,
        (Scenario::Deliver429, DeliveryOutcome::Retry(retry)) => {
            retry.after_seconds == Some(RETRY_AFTER_SECONDS)
        }
        (Scenario::Deliver4xx, DeliveryOutcome::Failed(failure)) => {
            remote_status(&failure.remote) == Some(CLIENT_ERROR_STATUS)
        }
        (Scenario::DeliverRefused, outcome) => {
            !matches!(outcome, DeliveryOutcome::Delivered(_))
                && egress.iter().any(|record| record.refused.is_some())
        }
        (Scenario::MalformedNotJson | Scenario::MalformedEmptyObject, _) => true,
        _ => false,
    }
}

/// The row of a delivery scenario.
pub(crate) fn judge_delivery(
    scenario: Scenario,
    expected: String,
    invocation: &Invocation<DeliveryOutcome>,
) -> ScenarioResult {
    let egress = invocation.report.egress.clone();
    let requests = describe_requests(&egress);
    match &invocation.result {
        Ok(outcome) => {
            let mut got = describe_outcome(outcome);
            if scenario == Scenario::DeliverRefused {
                match egress
                    .iter()
                    .filter(|record| record.refused.is_some())
                    .count()
                {
                    0 => got.push_str("; no refusal in the egress records"),
                    1 => got.push_str("; 1 request refused"),
                    n => got.push_str(&format!("; {n} requests refused")),
                }
            }
            let reason = match outcome {
                DeliveryOutcome::Delivered(_) => None,
                DeliveryOutcome::Retry(retry) => Some(&retry.reason),
                DeliveryOutcome::Failed(failure) => Some(&failure.reason),
            };
            let detail = reason
                .map(|reason| format!("reason: {reason}; "))
                .unwrap_or_default()
                + &requests;
            ScenarioResult::new(
                scenario,
                expected,
                got,
                delivery_passes(scenario, outcome, &egress),
            )
            .with_detail(detail)
        }
        Err(failure) => ScenarioResult::new(scenario, expected, failure.to_string(), false)
            .with_detail(requests),
    }
    .with_egress(egress)
}

/// `delivered`, `retry after 7 s, remote status 429`, `failed, remote status 400`.
pub(crate) fn describe_outcome(outcome: &DeliveryOutcome) -> String {
    let status = |remote: &Option<sluice_runtime::types::RemoteError>| {
        remote
            .as_ref()
            .and_then(|remote| remote.status)
            .map(|status| format!(", remote status {status}"))
            .unwrap_or_default()
    };
    match outcome {
        DeliveryOutcome::Delivered(_) => "delivered".to_owned(),
        DeliveryOutcome::Retry(retry) => format!(
            "retry{}{}",
            retry
                .after_seconds
                .map(|after| format!(" after {after} s"))
                .unwrap_or_default(),
            status(&retry.remote)
        ),
        DeliveryOutcome::Failed(failure) => format!("failed{}", status(&failure.remote)),
    }
}

/// `ok`, `misconfigured`, `unauthorized`, `unreachable`.
fn describe_status(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Ok => "ok",
        CheckStatus::Misconfigured => "misconfigured",
        CheckStatus::Unauthorized => "unauthorized",
        CheckStatus::Unreachable => "unreachable",
    }
}

/// `requests: POST https://hooks.slack.com:443/ → 500`, or that none was made.
fn describe_requests(egress: &[EgressRecord]) -> String {
    if egress.is_empty() {
        return "no request was made".to_owned();
    }
    let list: Vec<String> = egress
        .iter()
        .map(|record| {
            let answer = match (&record.refused, &record.error, record.status) {
                (Some(refused), _, _) => format!("refused: {refused}"),
                (None, Some(error), _) => format!("error: {error}"),
                (None, None, Some(status)) => status.to_string(),
                (None, None, None) => "no answer".to_owned(),
            };
            // A concealed path (a url credential's) is a description, not a path.
            let separator = if record.path.starts_with('/') {
                ""
            } else {
                " "
            };
            format!(
                "{} {}{separator}{} → {answer}",
                record.method, record.origin, record.path
            )
        })
        .collect();
    format!("requests: {}", list.join(", "))
}

fn describe_offers(offers: Offers) -> String {
    let names: Vec<&str> = [
        (offers.deliver, "deliver"),
        (offers.test_connection, "test-connection"),
        (offers.sync, "sync"),
        (offers.inbound, "inbound"),
    ]
    .into_iter()
    .filter_map(|(offered, name)| offered.then_some(name))
    .collect();
    names.join(", ")
}

/// The memory and duration rows, over every call made.
fn limits_rows(figures: &[Figures], manifest: &Manifest) -> Vec<ScenarioResult> {
    let limits = manifest.limits;
    let memory = figures.iter().max_by_key(|f| f.memory_peak_bytes);
    // The hanging call waits for the egress timeout by design.
    let duration = figures
        .iter()
        .filter(|f| f.scenario != Scenario::DeliverTimeout)
        .max_by_key(|f| f.duration_ms);
    let no_calls = "no call ran";
    vec![
        match memory {
            Some(peak) => ScenarioResult::new(
                Scenario::Memory,
                expected(Scenario::Memory, manifest),
                format!(
                    "peak {} ({})",
                    mebibytes(peak.memory_peak_bytes),
                    peak.scenario
                ),
                peak.memory_peak_bytes < memory_ceiling(limits.memory_mib),
            ),
            None => ScenarioResult::skipped(
                Scenario::Memory,
                expected(Scenario::Memory, manifest),
                no_calls,
            ),
        },
        match duration {
            Some(longest) => ScenarioResult::new(
                Scenario::Duration,
                expected(Scenario::Duration, manifest),
                format!("longest {} ms ({})", longest.duration_ms, longest.scenario),
                longest.duration_ms < duration_ceiling(limits.timeout_ms),
            ),
            None => ScenarioResult::skipped(
                Scenario::Duration,
                expected(Scenario::Duration, manifest),
                no_calls,
            ),
        },
    ]
}

/// The peak memory a connector must stay under, in bytes.
pub(crate) fn memory_ceiling(memory_mib: u32) -> u64 {
    u64::from(memory_mib) * 1024 * 1024 * MEMORY_HEADROOM_PERCENT / 100
}

/// The duration every call must stay under, in milliseconds.
pub(crate) fn duration_ceiling(timeout_ms: u32) -> u64 {
    u64::from(timeout_ms) * DURATION_HEADROOM_PERCENT / 100
}

/// `1.1 MiB`.
fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
