//! `sluice connector invoke`: one call into a component, printed as JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use sluice_core::{Clock, SystemClock, UnixMillis};
use sluice_egress::{Egress, EgressSettings, SystemResolver};
use sluice_manifest::Manifest;
use sluice_runtime::types::{InboundRequest, SyncRequest};
use sluice_runtime::{
    CallContext, Capabilities, CompileSource, Invocation, InvocationFailure, InvocationReport,
    MemoryCredentials, MemoryState, Runtime, RuntimeConfig,
};

/// Arguments of `sluice connector invoke`.
#[derive(Args)]
pub struct InvokeArgs {
    /// The component (.wasm).
    #[arg(long)]
    component: PathBuf,
    /// Its manifest; defaults to connector.toml beside the component.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// The configuration: a TOML file with [settings] and [credentials] tables.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Egress settings (TOML): resolve overrides, extra CA files, timeouts.
    #[arg(long)]
    egress: Option<PathBuf>,
    /// A JSON file keeping the connector's state (cached tokens, cursors)
    /// between runs; created if missing.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Store id passed to the connector.
    #[arg(long, default_value = "local")]
    store: String,
    /// Configuration id passed to the connector.
    #[arg(long, default_value = "local")]
    configuration: String,
    /// Where compiled components are kept, so that only the first run of a
    /// component compiles it (seconds to a minute for a Python or
    /// JavaScript one); default $XDG_CACHE_HOME/sluice, else ~/.cache/sluice.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    export: Export,
}

/// A call whose input files were read and checked: all of them are, before
/// the component is compiled.
enum Call {
    Deliver {
        event: sluice_runtime::types::Event,
        delivery_id: String,
        attempt: u32,
    },
    TestConnection,
    Sync(SyncRequest),
    Inbound(InboundRequest),
}

impl Call {
    fn read(export: Export) -> anyhow::Result<Self> {
        Ok(match export {
            Export::Deliver { event, attempt } => {
                let text = std::fs::read(&event)
                    .with_context(|| format!("--event {}", event.display()))?;
                let parsed = sluice_events::parse_events(&text).map_err(|errors| {
                    let list: Vec<String> = errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect();
                    anyhow::anyhow!("--event {}: {}", event.display(), list.join("; "))
                })?;
                let [event] = <[_; 1]>::try_from(parsed)
                    .map_err(|_| anyhow::anyhow!("--event must hold one event"))?;
                Self::Deliver {
                    delivery_id: format!("dlv_local_{}", event.id),
                    event: sluice_connectors::wit_event(
                        &event.store_id,
                        &event.id,
                        &event.event_type,
                        event.occurred_at,
                        event.payload,
                    ),
                    attempt,
                }
            }
            Export::TestConnection => Self::TestConnection,
            Export::Sync {
                entity,
                cursor,
                max,
            } => Self::Sync(SyncRequest {
                entity,
                cursor,
                max_records: max,
            }),
            Export::Inbound { request } => {
                let text = std::fs::read_to_string(&request)
                    .with_context(|| format!("--request {}", request.display()))?;
                let file: InboundFile = serde_json::from_str(&text)
                    .with_context(|| format!("--request {}", request.display()))?;
                Self::Inbound(inbound_request(file)?)
            }
        })
    }
}

/// The cache directory: `--cache-dir`, else the user's cache directory;
/// none when neither `XDG_CACHE_HOME` nor `HOME` is set.
fn cache_dir(
    given: Option<PathBuf>,
    environment: impl Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    let set = |name: &str| environment(name).filter(|value| !value.is_empty());
    given
        .or_else(|| set("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("sluice")))
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".cache/sluice")))
}

#[derive(Subcommand)]
enum Export {
    /// Deliver an event: a JSON file in the format of POST /v1/events (one event).
    Deliver {
        /// The event file.
        #[arg(long)]
        event: PathBuf,
        /// Attempt number to report to the connector.
        #[arg(long, default_value_t = 1)]
        attempt: u32,
    },
    /// Run the connector's connection check.
    TestConnection,
    /// Pull one sync batch.
    Sync {
        /// The entity to pull, as the manifest's [sync] declares.
        #[arg(long)]
        entity: String,
        /// The cursor returned by the previous batch.
        #[arg(long)]
        cursor: Option<String>,
        /// Most records in the batch.
        #[arg(long, default_value_t = 100)]
        max: u32,
    },
    /// Hand an inbound HTTP request to the connector: a JSON file with
    /// method, path, query, headers (object) and body (text) or body_base64.
    Inbound {
        /// The request file.
        #[arg(long)]
        request: PathBuf,
    },
}

/// The configuration file.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigurationFile {
    #[serde(default)]
    settings: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    credentials: serde_json::Map<String, serde_json::Value>,
}

/// The inbound request file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboundFile {
    #[serde(default = "post")]
    method: String,
    #[serde(default = "root")]
    path: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    body_base64: Option<String>,
}

fn post() -> String {
    "POST".into()
}

fn root() -> String {
    "/".into()
}

/// One state entry in the state file.
#[derive(Serialize, Deserialize)]
struct StoredState {
    value_base64: String,
    expires_at: Option<UnixMillis>,
}

/// What is printed.
#[derive(Serialize)]
struct Printed<T: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<InvocationFailure>,
    report: InvocationReport,
}

/// Runs the command; the exit code says whether the connector answered.
pub async fn run(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let manifest_path = crate::manifest_beside(&args.component, args.manifest.as_deref());
    let manifest = Manifest::load(&manifest_path)
        .map_err(|e| anyhow::anyhow!("--manifest {}: {e}", manifest_path.display()))?;
    let configuration: ConfigurationFile = read_toml(args.config.as_deref(), "--config")?;
    let checked = manifest
        .check_configuration(&configuration.settings, &configuration.credentials)
        .map_err(|errors| {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("--config does not fit the manifest: {}", list.join("; "))
        })?;
    let egress_settings: EgressSettings = read_toml(args.egress.as_deref(), "--egress")?;
    let egress = Egress::new(egress_settings, Arc::new(SystemResolver)).context("--egress")?;
    let component = std::fs::read(&args.component)
        .with_context(|| format!("--component {}", args.component.display()))?;
    let state = load_state(args.state.as_deref())?;
    // Every input is checked before compiling, which can take a minute.
    let call = Call::read(args.export)?;

    let cache_dir = cache_dir(args.cache_dir, |name| std::env::var(name).ok());
    let runtime = Runtime::new(
        RuntimeConfig {
            cache_dir: cache_dir.clone(),
            ..RuntimeConfig::default()
        },
        egress,
    )?;
    let loading = Instant::now();
    let connector = runtime
        .load(manifest, component)
        .await
        .with_context(|| format!("--component {}", args.component.display()))?;
    let took = loading.elapsed().as_secs_f64();
    match (connector.compile_source(), &cache_dir) {
        (CompileSource::Cache, Some(dir)) => {
            eprintln!(
                "loaded in {took:.1} s from the compiled cache {}",
                dir.display()
            );
        }
        (_, Some(dir)) => eprintln!("compiled in {took:.1} s, cached in {}", dir.display()),
        (_, None) => eprintln!("compiled in {took:.1} s (no cache directory)"),
    }

    let clock = Arc::new(SystemClock);
    let context = CallContext {
        store_id: args.store.clone(),
        configuration_id: args.configuration.clone(),
        delivery_id: None,
        attempt: 0,
        settings: checked.settings,
        capabilities: Capabilities {
            credentials: Arc::new(MemoryCredentials::new(checked.credentials)),
            state: Arc::new(state.clone()),
            clock: clock.clone(),
        },
    };

    let code = match call {
        Call::Deliver {
            event,
            delivery_id,
            attempt,
        } => {
            let context = CallContext {
                delivery_id: Some(delivery_id),
                attempt,
                ..context
            };
            print(runtime.deliver(&connector, context, event).await)?
        }
        Call::TestConnection => print(runtime.test_connection(&connector, context).await)?,
        Call::Sync(request) => print(runtime.sync(&connector, context, request).await)?,
        Call::Inbound(request) => {
            print(runtime.handle_inbound(&connector, context, request).await)?
        }
    };
    if let Some(path) = &args.state {
        save_state(path, &state, clock.now_ms())?;
    }
    Ok(code)
}

fn inbound_request(file: InboundFile) -> anyhow::Result<InboundRequest> {
    let body = match (file.body, file.body_base64) {
        (Some(_), Some(_)) => bail!("--request: give body or body_base64, not both"),
        (Some(text), None) => text.into_bytes(),
        (None, Some(encoded)) => STANDARD
            .decode(encoded)
            .context("--request: body_base64 is not base64")?,
        (None, None) => Vec::new(),
    };
    Ok(InboundRequest {
        method: file.method.to_ascii_uppercase(),
        path: file.path,
        query: file.query,
        headers: file
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        body,
    })
}

fn print<T: Serialize>(invocation: Invocation<T>) -> anyhow::Result<ExitCode> {
    let failed = invocation.result.is_err();
    let (result, failure) = match invocation.result {
        Ok(result) => (Some(result), None),
        Err(failure) => (None, Some(failure)),
    };
    let printed = Printed {
        result,
        failure,
        report: invocation.report,
    };
    println!("{}", serde_json::to_string_pretty(&printed)?);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn read_toml<T: Default + serde::de::DeserializeOwned>(
    path: Option<&Path>,
    flag: &str,
) -> anyhow::Result<T> {
    let Some(path) = path else {
        return Ok(T::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("{flag} {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{flag} {}: {}", path.display(), e.message()))
}

fn load_state(path: Option<&Path>) -> anyhow::Result<MemoryState> {
    let Some(path) = path.filter(|p| p.exists()) else {
        return Ok(MemoryState::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--state {}", path.display()))?;
    let stored: BTreeMap<String, StoredState> =
        serde_json::from_str(&text).with_context(|| format!("--state {}", path.display()))?;
    let entries = stored
        .into_iter()
        .map(|(key, entry)| {
            let value = STANDARD
                .decode(&entry.value_base64)
                .with_context(|| format!("--state {}: {key} is not base64", path.display()))?;
            Ok((key, (value, entry.expires_at)))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(MemoryState::from_entries(entries))
}

fn save_state(path: &Path, state: &MemoryState, now: UnixMillis) -> anyhow::Result<()> {
    let stored: BTreeMap<String, StoredState> = state
        .snapshot(now)
        .into_iter()
        .map(|(key, (value, expires_at))| {
            (
                key,
                StoredState {
                    value_base64: STANDARD.encode(value),
                    expires_at,
                },
            )
        })
        .collect();
    std::fs::write(path, serde_json::to_string_pretty(&stored)?)
        .with_context(|| format!("--state {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_defaults_to_the_users_cache_directory() {
        let environment = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        let both = environment(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/home/a")]);
        assert_eq!(cache_dir(None, both), Some(PathBuf::from("/x/sluice")));
        let home = environment(&[("XDG_CACHE_HOME", ""), ("HOME", "/home/a")]);
        assert_eq!(
            cache_dir(None, home),
            Some(PathBuf::from("/home/a/.cache/sluice"))
        );
        assert_eq!(
            cache_dir(Some(PathBuf::from("/given")), home),
            Some(PathBuf::from("/given"))
        );
        assert_eq!(cache_dir(None, environment(&[])), None);
    }
}
