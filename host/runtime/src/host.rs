//! The data of one call's `Store` and the host side of the `auth`,
//! `credentials`, `state` and `log` interfaces.

use std::sync::Arc;

use sluice_manifest::{AUTH_REQUEST_HEADER, Manifest};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::{auth, credentials, log, model, state};
use crate::capabilities::{BackendError, Capabilities, StateRefusal};
use crate::config::RuntimeConfig;
use crate::egress_hook::EgressHooks;
use crate::limiter::MemoryLimiter;
use crate::report::{LogLevel, LogRecord};

/// Everything one call's `Store` holds.
pub(crate) struct CallState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub hooks: EgressHooks,
    pub limiter: MemoryLimiter,
    pub guest: GuestCapabilities,
}

/// The Sluice capabilities of one call and what the guest did with them.
pub(crate) struct GuestCapabilities {
    pub manifest: Arc<Manifest>,
    pub capabilities: Capabilities,
    pub config: Arc<RuntimeConfig>,
    pub logs: Vec<LogRecord>,
    pub logs_dropped: u32,
    pub credentials_read: Vec<String>,
    pub credentials_refused: Vec<String>,
    /// The component was built against contract 0.1.0, before `auth`: it
    /// reads the credentials the host does not apply, as it always did.
    pub reads_unbound_credentials: bool,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The data model's name in contract 0.1.0.
const LEGACY_MODEL: &str = "sluice:connector/types@0.1.1";

/// Adds WASI, `wasi:http` and the Sluice host interfaces to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    auth::add_to_linker::<_, HasSelf<GuestCapabilities>>(linker, |s| &mut s.guest)?;
    credentials::add_to_linker::<_, HasSelf<GuestCapabilities>>(linker, |s| &mut s.guest)?;
    state::add_to_linker::<_, HasSelf<GuestCapabilities>>(linker, |s| &mut s.guest)?;
    log::add_to_linker::<_, HasSelf<GuestCapabilities>>(linker, |s| &mut s.guest)?;
    model::add_to_linker::<_, HasSelf<GuestCapabilities>>(linker, |s| &mut s.guest)?;
    // Components built against 0.1.0 import the data model under its old
    // name; it holds only types, so an empty instance satisfies them.
    linker.instance(LEGACY_MODEL)?;
    Ok(())
}

/// A failing backend traps the call; the runtime reports it as a host failure.
fn trap(error: BackendError) -> wasmtime::Error {
    wasmtime::Error::new(error)
}

impl model::Host for GuestCapabilities {}

impl GuestCapabilities {
    /// Whether the component may read credential `key` itself: the manifest
    /// marks it readable, or (for a component built against contract 0.1.0)
    /// the host does not apply it.
    fn may_read(&self, key: &str) -> bool {
        self.manifest.credential(key).is_some_and(|spec| {
            spec.readable || (self.reads_unbound_credentials && spec.auth.is_none())
        })
    }
}

impl auth::Host for GuestCapabilities {
    async fn request_header(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<(String, String), auth::AuthError>> {
        let host_managed = self
            .manifest
            .credential(&key)
            .is_some_and(|spec| spec.auth.is_some());
        if !host_managed {
            push_unique(&mut self.credentials_refused, key);
            return Ok(Err(auth::AuthError::NotHostManaged));
        }
        let set = self
            .capabilities
            .credentials
            .get(&key)
            .await
            .map_err(trap)?
            .is_some_and(|value| !value.is_empty());
        if !set {
            return Ok(Err(auth::AuthError::NotConfigured));
        }
        Ok(Ok((AUTH_REQUEST_HEADER.to_owned(), key)))
    }
}

impl credentials::Host for GuestCapabilities {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        if !self.may_read(&key) {
            push_unique(&mut self.credentials_refused, key);
            return Ok(None);
        }
        let value = self
            .capabilities
            .credentials
            .get(&key)
            .await
            .map_err(trap)?;
        push_unique(&mut self.credentials_read, key);
        Ok(value)
    }
}

impl state::Host for GuestCapabilities {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        let now = self.capabilities.clock.now_ms();
        self.capabilities.state.get(&key, now).await.map_err(trap)
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> wasmtime::Result<Result<(), state::StateError>> {
        let limits = self.config.state;
        if key.is_empty() || key.len() > limits.max_key_bytes {
            return Ok(Err(state::StateError::KeyTooLong));
        }
        if value.len() > limits.max_value_bytes {
            return Ok(Err(state::StateError::ValueTooLarge));
        }
        let now = self.capabilities.clock.now_ms();
        let expires_at = ttl_seconds.map(|ttl| now.saturating_add(i64::from(ttl) * 1_000));
        let written = match self
            .capabilities
            .state
            .set(&key, value, expires_at, now, limits.max_keys)
            .await
        {
            Ok(written) => written,
            // A failing store is the host's problem; the guest may carry on
            // without its cache, so it learns of it as `unavailable`.
            Err(error) => {
                tracing::warn!(%error, "state write failed");
                return Ok(Err(state::StateError::Unavailable));
            }
        };
        Ok(written.map_err(|refusal| match refusal {
            StateRefusal::KeyTooLong => state::StateError::KeyTooLong,
            StateRefusal::ValueTooLarge => state::StateError::ValueTooLarge,
            StateRefusal::QuotaExceeded => state::StateError::QuotaExceeded,
        }))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.capabilities.state.delete(&key).await.map_err(trap)
    }
}

impl log::Host for GuestCapabilities {
    fn write(
        &mut self,
        level: log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        if self.logs.len() >= self.config.max_log_records {
            self.logs_dropped = self.logs_dropped.saturating_add(1);
            return Ok(());
        }
        let limit = self.config.max_log_message_bytes;
        self.logs.push(LogRecord {
            level: match level {
                log::Level::Trace => LogLevel::Trace,
                log::Level::Debug => LogLevel::Debug,
                log::Level::Info => LogLevel::Info,
                log::Level::Warn => LogLevel::Warn,
                log::Level::Error => LogLevel::Error,
            },
            message: truncate(message, limit),
            fields: fields
                .into_iter()
                .take(32)
                .map(|(k, v)| (truncate(k, 128), truncate(v, limit)))
                .collect(),
        });
        Ok(())
    }
}

fn push_unique(list: &mut Vec<String>, key: String) {
    if !list.contains(&key) {
        list.push(key);
    }
}

/// Cuts `text` to at most `limit` bytes on a character boundary.
pub(crate) fn truncate(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
