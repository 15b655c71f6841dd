//! One call into a connector: a fresh instance in a fresh store, within the
//! connector's limits, with a report of what it did.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Instance, ResourceTable};
use wasmtime::{Store, Trap};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

use crate::bindings::types::{
    ConnectionCheck, DeliveryOutcome, Event, InboundAccepted, InboundRejection, InboundRequest,
    InvocationContext, SyncBatch, SyncError, SyncRequest,
};
use crate::bounds::{Bounded, Bounder};
use crate::capabilities::{BackendError, Capabilities, MemoryCredentials, MemoryState};
use crate::clock::GuestWallClock;
use crate::connector::{ExportIndices, LoadError, LoadedConnector};
use crate::egress_hook::{CallAuth, EgressHooks};
use crate::host::{CallState, GuestCapabilities};
use crate::limiter::{MemoryLimitReached, MemoryLimiter};
use crate::output::BoundedCapture;
use crate::report::{Invocation, InvocationFailure, InvocationReport};
use crate::runtime::Runtime;

/// Who a call runs for: the configuration, the delivery attempt if any, and
/// the configuration's settings and capabilities.
#[derive(Clone)]
pub struct CallContext {
    /// The store (tenant).
    pub store_id: String,
    /// The connector configuration.
    pub configuration_id: String,
    /// The delivery being attempted, for `deliver`.
    pub delivery_id: Option<String>,
    /// Attempt number, 1-based; 0 outside deliveries.
    pub attempt: u32,
    /// Checked, non-secret settings.
    pub settings: BTreeMap<String, String>,
    /// Credentials, state and clock of the configuration.
    pub capabilities: Capabilities,
}

/// One export of the contract: its name, argument and how to call it.
trait Export: Send {
    /// What the export returns; its strings are bounded before the host keeps them.
    type Output: Send + Bounded;
    /// The name shown in reports.
    const NAME: &'static str;
    /// Binds the export in `instance` and calls it.
    fn call(
        self,
        store: &mut Store<CallState>,
        instance: &Instance,
        exports: &ExportIndices,
        context: &InvocationContext,
    ) -> impl Future<Output = wasmtime::Result<Self::Output>> + Send;
}

/// Binds export `$indices` of `$exports` or fails the call as unsupported.
macro_rules! bind {
    ($exports:ident . $indices:ident, $store:ident, $instance:ident) => {
        $exports
            .$indices
            .as_ref()
            .ok_or_else(|| wasmtime::Error::new(Unsupported(Self::NAME)))?
            .load(&mut *$store, $instance)?
    };
}

struct DeliverCall(Event);
struct TestConnectionCall;
struct SyncCall(SyncRequest);
struct InboundCall(InboundRequest);

impl Export for DeliverCall {
    type Output = DeliveryOutcome;
    const NAME: &'static str = "deliver";
    async fn call(
        self,
        store: &mut Store<CallState>,
        instance: &Instance,
        exports: &ExportIndices,
        context: &InvocationContext,
    ) -> wasmtime::Result<Self::Output> {
        let guest = bind!(exports.deliverer, store, instance);
        guest.call_deliver(store, context, &self.0).await
    }
}

impl Export for TestConnectionCall {
    type Output = ConnectionCheck;
    const NAME: &'static str = "test-connection";
    async fn call(
        self,
        store: &mut Store<CallState>,
        instance: &Instance,
        exports: &ExportIndices,
        context: &InvocationContext,
    ) -> wasmtime::Result<Self::Output> {
        let guest = bind!(exports.connection, store, instance);
        guest.call_test_connection(store, context).await
    }
}

impl Export for SyncCall {
    type Output = Result<SyncBatch, SyncError>;
    const NAME: &'static str = "sync";
    async fn call(
        self,
        store: &mut Store<CallState>,
        instance: &Instance,
        exports: &ExportIndices,
        context: &InvocationContext,
    ) -> wasmtime::Result<Self::Output> {
        let guest = bind!(exports.syncer, store, instance);
        guest.call_sync(store, context, &self.0).await
    }
}

impl Export for InboundCall {
    type Output = Result<InboundAccepted, InboundRejection>;
    const NAME: &'static str = "inbound";
    async fn call(
        self,
        store: &mut Store<CallState>,
        instance: &Instance,
        exports: &ExportIndices,
        context: &InvocationContext,
    ) -> wasmtime::Result<Self::Output> {
        let guest = bind!(exports.inbound, store, instance);
        guest.call_handle(store, context, &self.0).await
    }
}

impl Runtime {
    /// Delivers `event` through the connector's `deliverer` export.
    pub async fn deliver(
        &self,
        connector: &Arc<LoadedConnector>,
        context: CallContext,
        event: Event,
    ) -> Invocation<DeliveryOutcome> {
        self.call(connector, context, DeliverCall(event)).await
    }

    /// Runs the connector's connection check.
    pub async fn test_connection(
        &self,
        connector: &Arc<LoadedConnector>,
        context: CallContext,
    ) -> Invocation<ConnectionCheck> {
        let signing_secret = match &connector.manifest.inbound {
            Some(spec) => {
                let key = spec.signature.credential.clone();
                let set = context
                    .capabilities
                    .credentials
                    .get(&key)
                    .await
                    .is_ok_and(|value| value.is_some_and(|v| !v.is_empty()));
                Some((key, set))
            }
            None => None,
        };
        let mut invocation = self.call(connector, context, TestConnectionCall).await;
        // Only the host knows whether inbound requests can be verified: the
        // component never reads the signing secret.
        if let (Ok(check), Some((key, set))) = (&mut invocation.result, signing_secret) {
            let finding = if set {
                "set: the host verifies the signature of inbound requests with it"
            } else {
                "not set: inbound requests will be refused"
            };
            check.steps.push((key, finding.to_owned()));
        }
        invocation
    }

    /// Pulls one batch through the connector's `syncer` export.
    pub async fn sync(
        &self,
        connector: &Arc<LoadedConnector>,
        context: CallContext,
        request: SyncRequest,
    ) -> Invocation<Result<SyncBatch, SyncError>> {
        self.call(connector, context, SyncCall(request)).await
    }

    /// Hands an inbound HTTP request to the connector's `inbound-handler`.
    pub async fn handle_inbound(
        &self,
        connector: &Arc<LoadedConnector>,
        context: CallContext,
        request: InboundRequest,
    ) -> Invocation<Result<InboundAccepted, InboundRejection>> {
        if let Some(spec) = &connector.manifest.inbound
            && let Err(rejection) = verify_signature(&spec.signature, &context, &request).await
        {
            // Refused before any instance runs: the component only ever sees
            // requests whose signature the host checked.
            return Invocation {
                result: Ok(Err(rejection)),
                report: InvocationReport::of(connector, InboundCall::NAME),
            };
        }
        self.call(connector, context, InboundCall(request)).await
    }

    async fn call<E: Export>(
        &self,
        connector: &Arc<LoadedConnector>,
        context: CallContext,
        export: E,
    ) -> Invocation<E::Output> {
        let mut report = InvocationReport::of(connector, E::NAME);
        let queued = Instant::now();
        // Waiting for a slot is backpressure, not an error: the pool never
        // refuses a call, it makes it wait.
        let _slot = match self.slots.acquire().await {
            Ok(slot) => slot,
            Err(_) => {
                return Invocation {
                    result: Err(InvocationFailure::Host {
                        message: "the runtime is shutting down".to_owned(),
                    }),
                    report,
                };
            }
        };
        report.queued_ms = queued.elapsed().as_millis() as u64;

        let limits = self.effective_limits(connector);
        let stdout = BoundedCapture::new(self.config.output_limit_bytes);
        let stderr = BoundedCapture::new(self.config.output_limit_bytes);
        let (mut store, egress_log) =
            self.new_store(connector, &context, &limits, &stdout, &stderr);
        let wasm_context = invocation_context(&context);

        let started = Instant::now();
        let outcome = tokio::time::timeout(
            limits.timeout,
            run(&mut store, connector, wasm_context, export),
        )
        .await;
        report.duration_ms = started.elapsed().as_millis() as u64;

        let result = match outcome {
            Ok(Ok(mut response)) => {
                let mut bounder = Bounder::new(&self.config.guest_strings);
                response.bound(&mut bounder);
                report.cut = bounder.into_cuts();
                Ok(response)
            }
            Ok(Err(error)) => Err(classify(error, &limits, &stderr)),
            Err(_elapsed) => Err(InvocationFailure::Timeout {
                limit_ms: limits.timeout.as_millis() as u64,
            }),
        };

        report.fuel_consumed = self
            .config
            .fuel_per_call
            .saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.into_data();
        report.memory_peak_bytes = state.limiter.peak_bytes() as u64;
        // Requests still in flight are recorded as never answered.
        report.egress = egress_log.close();
        report.logs = state.guest.logs;
        report.logs_dropped = state.guest.logs_dropped;
        report.credentials_read = state.guest.credentials_read;
        report.credentials_refused = state.guest.credentials_refused;
        let (out, out_cut) = stdout.contents();
        let (err, err_cut) = stderr.contents();
        report.stdout = out;
        report.stderr = err;
        report.output_truncated = out_cut || err_cut;
        Invocation { result, report }
    }

    fn effective_limits(&self, connector: &LoadedConnector) -> CallLimits {
        let declared = connector.manifest.limits;
        let timeout_ms = declared.timeout_ms.min(self.config.max_timeout_ms);
        let memory_mib = declared.memory_mib.min(self.config.max_memory_mib);
        CallLimits {
            timeout: Duration::from_millis(u64::from(timeout_ms)),
            memory_bytes: memory_mib as usize * 1024 * 1024,
            fuel: self.config.fuel_per_call,
            max_requests: declared.max_requests,
        }
    }

    fn new_store(
        &self,
        connector: &LoadedConnector,
        context: &CallContext,
        limits: &CallLimits,
        stdout: &BoundedCapture,
        stderr: &BoundedCapture,
    ) -> (Store<CallState>, sluice_egress::EgressLog) {
        // No preopened directories, environment, arguments or sockets: the
        // guest's only ways out are wasi:http (policed below) and the Sluice
        // interfaces.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(GuestWallClock(context.capabilities.clock.clone()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let hooks = EgressHooks::new(
            self.egress.clone(),
            connector.manifest.allowed_origins.clone(),
            limits.max_requests,
            CallAuth {
                auth: self.auth.clone(),
                manifest: connector.manifest.clone(),
                credentials: context.capabilities.credentials.clone(),
                configuration_id: context.configuration_id.clone(),
                clock: context.capabilities.clock.clone(),
            },
        );
        let egress_log = hooks.log();
        let state = CallState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            limiter: MemoryLimiter::new(limits.memory_bytes),
            guest: GuestCapabilities {
                manifest: connector.manifest.clone(),
                capabilities: context.capabilities.clone(),
                config: self.config.clone(),
                logs: Vec::new(),
                logs_dropped: 0,
                credentials_read: Vec::new(),
                credentials_refused: Vec::new(),
                reads_unbound_credentials: connector.reads_unbound_credentials,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store
            .set_fuel(limits.fuel)
            .expect("fuel is enabled in the engine configuration");
        let ticks = limits.timeout.as_millis() as u64 / self.config.epoch_tick_ms.max(1) + 1;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        (store, egress_log)
    }

    /// Instantiates the connector once and binds every export it offers, so
    /// that a signature that does not match the contract is refused at load
    /// rather than at the first call.
    pub(crate) async fn check_export_signatures(
        &self,
        connector: &LoadedConnector,
    ) -> Result<(), LoadError> {
        let capabilities = Capabilities {
            credentials: Arc::new(MemoryCredentials::default()),
            state: Arc::new(MemoryState::default()),
            clock: Arc::new(sluice_core::SystemClock),
        };
        let context = CallContext {
            store_id: String::new(),
            configuration_id: String::new(),
            delivery_id: None,
            attempt: 0,
            settings: BTreeMap::new(),
            capabilities,
        };
        let limits = self.effective_limits(connector);
        let discard = BoundedCapture::new(0);
        let (mut store, _) = self.new_store(connector, &context, &limits, &discard, &discard);
        let instance = connector
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| match e.downcast_ref::<MemoryLimitReached>() {
                Some(reached) => self.memory_too_small(connector, reached),
                None => LoadError::Contract(format!("instantiation failed: {e:#}")),
            })?;
        let exports = &connector.exports;
        let mismatch = |name: &str, e: wasmtime::Error| {
            LoadError::Contract(format!(
                "export {name} does not match sluice:connector@0.1.1: {e:#}"
            ))
        };
        if let Some(indices) = &exports.deliverer {
            indices
                .load(&mut store, &instance)
                .map_err(|e| mismatch("deliverer", e))?;
        }
        if let Some(indices) = &exports.connection {
            indices
                .load(&mut store, &instance)
                .map_err(|e| mismatch("connection", e))?;
        }
        if let Some(indices) = &exports.syncer {
            indices
                .load(&mut store, &instance)
                .map_err(|e| mismatch("syncer", e))?;
        }
        if let Some(indices) = &exports.inbound {
            indices
                .load(&mut store, &instance)
                .map_err(|e| mismatch("inbound-handler", e))?;
        }
        Ok(())
    }

    /// The load error of a component whose instantiation alone reached the
    /// memory limit, naming the setting that sets the limit.
    fn memory_too_small(
        &self,
        connector: &LoadedConnector,
        reached: &MemoryLimitReached,
    ) -> LoadError {
        let declared = connector.manifest.limits.memory_mib;
        let operator = self.config.max_memory_mib;
        let (setting, limit_mib) = if operator < declared {
            ("the operator's runtime.max_memory_mib", operator)
        } else {
            ("limits.memory_mib", declared)
        };
        LoadError::MemoryTooSmall {
            setting,
            limit_mib,
            asked: mebibytes(reached.asked_bytes),
        }
    }
}

/// `bytes` in MiB, with one decimal, and exactly.
fn mebibytes(bytes: u64) -> String {
    format!(
        "{:.1} MiB ({bytes} bytes)",
        bytes as f64 / (1024.0 * 1024.0)
    )
}

/// The limits of one call: the manifest's, capped by the operator's.
struct CallLimits {
    timeout: Duration,
    memory_bytes: usize,
    fuel: u64,
    max_requests: Option<u32>,
}

async fn run<E: Export>(
    store: &mut Store<CallState>,
    connector: &LoadedConnector,
    context: InvocationContext,
    export: E,
) -> wasmtime::Result<E::Output> {
    let instance = connector.pre.instantiate_async(&mut *store).await?;
    export
        .call(store, &instance, &connector.exports, &context)
        .await
}

/// Marks a call to an export the component does not have.
#[derive(Debug, thiserror::Error)]
#[error("the connector does not offer {0}")]
struct Unsupported(&'static str);

/// Turns a wasmtime error into the cause a store admin can act on.
fn classify(
    error: wasmtime::Error,
    limits: &CallLimits,
    stderr: &BoundedCapture,
) -> InvocationFailure {
    if let Some(Unsupported(export)) = error.downcast_ref::<Unsupported>() {
        return InvocationFailure::Unsupported {
            export: (*export).to_owned(),
        };
    }
    if let Some(failure) = error.downcast_ref::<BackendError>() {
        return InvocationFailure::Host {
            message: format!("capability backend failed: {failure}"),
        };
    }
    if let Some(reached) = error.downcast_ref::<MemoryLimitReached>() {
        return InvocationFailure::OutOfMemory {
            limit_bytes: reached.limit_bytes,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => InvocationFailure::Timeout {
            limit_ms: limits.timeout.as_millis() as u64,
        },
        Some(Trap::OutOfFuel) => InvocationFailure::OutOfFuel { limit: limits.fuel },
        trap => {
            // The guest's own account of the failure (a Python traceback, a
            // JavaScript error, a Rust panic) says far more than
            // "unreachable executed" or "exit status 1".
            let (stderr, _) = stderr.contents();
            let message = match guest_error(&stderr) {
                Some(cause) => {
                    let stop = trap.map_or_else(|| error.root_cause().to_string(), Trap::to_string);
                    format!("{stop}; guest stderr: {cause}")
                }
                None => format!("{error:#}"),
            };
            InvocationFailure::Trap { message }
        }
    }
}

/// The line of a failing guest's stderr that names its error, looked for in
/// this order: the exception line ending the last Python traceback (above
/// the panic componentize-py adds); the message a StarlingMonkey
/// (JavaScript) guest prints above `Stack:`, or its "Exception while" /
/// "Error while" line; the last Rust panic, with its message when it is on
/// the next line.
fn guest_error(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().map(str::trim_end).collect();
    python_exception(&lines)
        .or_else(|| javascript_error(&lines))
        .or_else(|| rust_panic(&lines))
}

fn python_exception(lines: &[&str]) -> Option<String> {
    let traceback = lines
        .iter()
        .rposition(|line| *line == "Traceback (most recent call last):")?;
    // Frames and source lines are indented; the exception is not.
    lines[traceback + 1..]
        .iter()
        .find(|line| !line.is_empty() && !line.starts_with(char::is_whitespace))
        .map(|line| (*line).to_owned())
}

fn javascript_error(lines: &[&str]) -> Option<String> {
    lines.iter().enumerate().find_map(|(i, line)| {
        let above_stack = lines.get(i + 1).is_some_and(|next| next.trim() == "Stack:");
        let report = line.starts_with("Exception while ") || line.starts_with("Error while ");
        (!line.trim().is_empty() && (above_stack || report)).then(|| line.trim().to_owned())
    })
}

fn rust_panic(lines: &[&str]) -> Option<String> {
    let at = lines
        .iter()
        .rposition(|line| line.contains("panicked at"))?;
    let line = lines[at].trim();
    // Since Rust 1.73 the message follows `panicked at <file>:<line>:<col>:`.
    match lines.get(at + 1) {
        Some(message) if line.ends_with(':') && !message.trim().is_empty() => {
            Some(format!("{line} {}", message.trim()))
        }
        _ => Some(line.to_owned()),
    }
}

fn invocation_context(context: &CallContext) -> InvocationContext {
    InvocationContext {
        store_id: context.store_id.clone(),
        configuration_id: context.configuration_id.clone(),
        delivery_id: context.delivery_id.clone(),
        attempt: context.attempt,
        settings: context
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        now_ms: u64::try_from(context.capabilities.clock.now_ms()).unwrap_or(0),
    }
}

/// Checks an inbound request's signature with the configuration's signing
/// secret, which the component never reads.
async fn verify_signature(
    spec: &sluice_manifest::InboundSignature,
    context: &CallContext,
    request: &InboundRequest,
) -> Result<(), InboundRejection> {
    let refuse = |reason: String| InboundRejection {
        status: 401,
        reason,
    };
    let secret = context
        .capabilities
        .credentials
        .get(&spec.credential)
        .await
        .map_err(|error| InboundRejection {
            status: 503,
            reason: format!("the signing secret could not be read: {error}"),
        })?
        .filter(|secret| !secret.is_empty())
        .ok_or_else(|| {
            refuse(format!(
                "this configuration has no {} to check the signature with",
                spec.credential
            ))
        })?;
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    sluice_auth::signature::verify_inbound(
        spec,
        secret.as_bytes(),
        header,
        &request.body,
        context.capabilities.clock.now_ms(),
    )
    .map_err(|refusal| refuse(refusal.0))
}

#[cfg(test)]
mod tests {
    use super::guest_error;

    /// componentize-py 0.25: the traceback, then the runtime's own panic.
    const PYTHON: &str = "\
Traceback (most recent call last):
  File \"/app/app.py\", line 58, in deliver
    raise ValueError(\"boom \" + event.event_type)
ValueError: boom test.crash
thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1280:25:
Python function threw an unexpected exception
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";

    /// A Python exception raised while handling another one.
    const PYTHON_CHAINED: &str = "\
Traceback (most recent call last):
  File \"/app/app.py\", line 20, in deliver
    payload = json.loads(event.payload)
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"/app/app.py\", line 22, in deliver
    raise RuntimeError(\"bad payload\")
RuntimeError: bad payload
thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1280:25:
Python function threw an unexpected exception
";

    /// componentize-js 0.23 (StarlingMonkey): a rejected async export.
    const JAVASCRIPT: &str = "\
boom test.crash
Stack:
  deliver@connector.js:32:13
  async*@connector.js:40:5
";

    /// StarlingMonkey aborting with no exception to show.
    const JAVASCRIPT_ABORT: &str = "\
Error while (call) event loop error, but no exception is pending. Aborting, since that doesn't seem recoverable at all.
";

    /// A Rust guest (Rust 1.73 and later).
    const RUST: &str = "\
thread '<unnamed>' panicked at src/deliver.rs:12:9:
called `Option::unwrap()` on a `None` value
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";

    #[test]
    fn a_python_traceback_is_named_by_its_exception_not_by_the_runtime_panic() {
        assert_eq!(
            guest_error(PYTHON).as_deref(),
            Some("ValueError: boom test.crash")
        );
    }

    #[test]
    fn of_chained_python_exceptions_the_last_one_is_named() {
        assert_eq!(
            guest_error(PYTHON_CHAINED).as_deref(),
            Some("RuntimeError: bad payload")
        );
    }

    #[test]
    fn a_javascript_error_is_named_by_the_message_above_its_stack() {
        assert_eq!(guest_error(JAVASCRIPT).as_deref(), Some("boom test.crash"));
        assert_eq!(
            guest_error(JAVASCRIPT_ABORT).as_deref(),
            Some(JAVASCRIPT_ABORT.trim())
        );
    }

    #[test]
    fn a_rust_panic_is_named_with_its_message() {
        assert_eq!(
            guest_error(RUST).as_deref(),
            Some(
                "thread '<unnamed>' panicked at src/deliver.rs:12:9: called `Option::unwrap()` on a `None` value"
            )
        );
    }

    #[test]
    fn stderr_without_an_error_names_none() {
        assert_eq!(guest_error(""), None);
        assert_eq!(guest_error("starting delivery\nposting 12 bytes\n"), None);
    }
}
