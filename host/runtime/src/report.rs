//! What one invocation did, for the attempt log and for connector authors.

use serde::Serialize;
use sluice_egress::EgressRecord;

use crate::bounds::CutString;

/// Everything recorded about one call into a connector.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct InvocationReport {
    /// Connector id from the manifest.
    pub connector: String,
    /// Connector version from the manifest.
    pub version: String,
    /// SHA-256 of the component that ran, hex.
    pub component_digest: String,
    /// The export that was called, for example `deliver`.
    pub export: String,
    /// Time spent waiting for a free instance slot, in milliseconds.
    pub queued_ms: u64,
    /// Wall-clock time of the call itself, in milliseconds.
    pub duration_ms: u64,
    /// WebAssembly fuel consumed (roughly, instructions executed).
    pub fuel_consumed: u64,
    /// Largest linear memory the instance reached, in bytes.
    pub memory_peak_bytes: u64,
    /// Every outbound request and refusal, in order.
    pub egress: Vec<EgressRecord>,
    /// Structured log records written by the guest, in order.
    pub logs: Vec<LogRecord>,
    /// Log records dropped because the per-call cap was reached.
    pub logs_dropped: u32,
    /// Names of the credentials the guest read (never their values).
    pub credentials_read: Vec<String>,
    /// Names of credentials the guest asked for that its manifest does not
    /// declare; it received nothing for them.
    pub credentials_refused: Vec<String>,
    /// The guest's standard output, cut to the capture limit.
    pub stdout: String,
    /// The guest's standard error, cut to the capture limit.
    pub stderr: String,
    /// Whether stdout or stderr was longer than the capture limit.
    pub output_truncated: bool,
    /// Strings of the guest's answer that were longer than the host keeps,
    /// and were cut.
    pub cut: Vec<CutString>,
}

impl InvocationReport {
    /// The report of a call to `export` of `connector` that has not run yet.
    pub(crate) fn of(connector: &crate::LoadedConnector, export: &str) -> Self {
        Self {
            connector: connector.manifest.id.clone(),
            version: connector.manifest.version.to_string(),
            component_digest: connector.digest.clone(),
            export: export.to_owned(),
            ..Self::default()
        }
    }
}

/// Severity of a guest log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that did not stop the call.
    Warn,
    /// A failure.
    Error,
}

/// One structured log record written by a guest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// The message, cut to the per-record limit.
    pub message: String,
    /// Structured fields, in the order the guest gave them.
    pub fields: Vec<(String, String)>,
}

/// Why a call ended without a result from the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InvocationFailure {
    /// The call ran past its time limit and was stopped.
    #[error("stopped after the {limit_ms} ms time limit")]
    Timeout {
        /// The limit that was reached.
        limit_ms: u64,
    },
    /// The guest tried to grow its memory past its cap.
    #[error("stopped at the {limit_bytes}-byte memory limit")]
    OutOfMemory {
        /// The cap that was reached.
        limit_bytes: u64,
    },
    /// The guest used up its fuel.
    #[error("stopped after consuming its fuel allowance of {limit}")]
    OutOfFuel {
        /// The allowance.
        limit: u64,
    },
    /// The guest trapped, for example after a panic; `message` says where.
    #[error("the connector trapped: {message}")]
    Trap {
        /// The trap and, when the guest panicked, its panic message.
        message: String,
    },
    /// The component does not export what was asked for.
    #[error("the connector does not offer {export}")]
    Unsupported {
        /// The missing export, for example `sync`.
        export: String,
    },
    /// The host failed before or around the call (instantiation, a capability
    /// backend); the guest is not at fault and the call may be retried.
    #[error("host error: {message}")]
    Host {
        /// What failed.
        message: String,
    },
}

impl InvocationFailure {
    /// Whether trying the same call again may succeed: timeouts, traps and host
    /// errors may be transient; a missing export never is.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Unsupported { .. })
    }
}

/// The result of a call into a connector, with its report either way.
#[derive(Debug, Clone)]
pub struct Invocation<T> {
    /// What the guest returned, or why it did not.
    pub result: Result<T, InvocationFailure>,
    /// What the call did.
    pub report: InvocationReport,
}
