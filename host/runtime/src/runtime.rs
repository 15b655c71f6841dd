//! The engine, the linker and loading components.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sluice_auth::HostAuth;
use sluice_egress::Egress;
use sluice_manifest::{MANIFEST_FILE, Manifest};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::{ArtifactCache, CompileSource, component_digest};
use crate::config::RuntimeConfig;
use crate::connector::{ExportIndices, LoadError, LoadedConnector, check_contract};
use crate::host::{self, CallState};
use crate::inspect::MemoryInspector;

/// The credentials interface of contract 0.1.0: a component importing it was
/// built before host-managed authentication.
const LEGACY_CREDENTIALS: &str = "sluice:connector/credentials@0.1.0";

/// The file name of the component beside `connector.toml` in a connector directory.
pub const COMPONENT_FILE: &str = "connector.wasm";

/// Runs connectors: one engine, one linker, a compiled-artifact cache and a
/// bound on concurrent calls. Cheap to share behind an `Arc`.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<CallState>,
    pub(crate) config: Arc<RuntimeConfig>,
    pub(crate) egress: Egress,
    pub(crate) auth: Arc<HostAuth>,
    pub(crate) slots: tokio::sync::Semaphore,
    cache: Option<ArtifactCache>,
    /// Stops the epoch thread when the runtime is dropped.
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine (pooling allocator, epoch interruption, fuel) and
    /// the linker (WASI without ambient authority, `wasi:http` through
    /// `egress`, the Sluice host interfaces).
    pub fn new(config: RuntimeConfig, egress: Egress) -> anyhow::Result<Self> {
        Self::build(config, egress, None)
    }

    /// A runtime whose guests' linear memories `inspector` keeps after each
    /// call, to search them for what a component should never hold. Heap
    /// memories, bounds-checked on every access: for audits and tests, not
    /// for serving.
    pub fn with_memory_inspector(
        config: RuntimeConfig,
        egress: Egress,
        inspector: &Arc<MemoryInspector>,
    ) -> anyhow::Result<Self> {
        Self::build(config, egress, Some(inspector))
    }

    fn build(
        config: RuntimeConfig,
        egress: Egress,
        inspector: Option<&Arc<MemoryInspector>>,
    ) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config(&config, inspector))?;
        let mut linker = Linker::new(&engine);
        host::add_to_linker(&mut linker)?;
        let cache = match &config.cache_dir {
            Some(dir) => Some(ArtifactCache::open(dir, &engine).map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the compiled-artifact cache {}: {e}",
                    dir.display()
                )
            })?),
            None => None,
        };
        let ticker =
            EpochTicker::start(engine.clone(), Duration::from_millis(config.epoch_tick_ms));
        Ok(Self {
            slots: tokio::sync::Semaphore::new(config.max_concurrent_calls as usize),
            engine,
            linker,
            config: Arc::new(config),
            auth: Arc::new(HostAuth::new(egress.clone())),
            egress,
            cache,
            _ticker: ticker,
        })
    }

    /// The runtime's settings.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The wasmtime configuration [`Runtime::new`] builds its engine from
    /// for `config` (component model, pooling allocator sized by
    /// `config`, epoch interruption, fuel): for measuring wasmtime alone on
    /// the same terms as the runtime, as the benchmark does.
    pub fn engine_config(config: &RuntimeConfig) -> Config {
        engine_config(config, None)
    }

    /// Loads a connector from a directory holding `connector.toml` and
    /// `connector.wasm`.
    pub async fn load_dir(&self, dir: &Path) -> Result<Arc<LoadedConnector>, LoadError> {
        let manifest = Manifest::load(&dir.join(MANIFEST_FILE))?;
        let path = dir.join(COMPONENT_FILE);
        let bytes = tokio::fs::read(&path).await.map_err(|e| LoadError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        self.load(manifest, bytes).await
    }

    /// Compiles (or loads from the cache) `component`, links it and checks
    /// that its exports match `manifest` and the contract. Runs on a
    /// blocking thread: compiling takes milliseconds to seconds.
    pub async fn load(
        &self,
        manifest: Manifest,
        component: Vec<u8>,
    ) -> Result<Arc<LoadedConnector>, LoadError> {
        let engine = self.engine.clone();
        let cache = self.cache.clone();
        let (digest, compiled, source) = tokio::task::spawn_blocking(move || {
            let digest = component_digest(&component);
            let (compiled, source) = match &cache {
                Some(cache) => cache.load(&engine, &digest, &component)?,
                None => (
                    Component::new(&engine, &component)?,
                    CompileSource::Compiled,
                ),
            };
            Ok::<_, wasmtime::Error>((digest, compiled, source))
        })
        .await
        .map_err(|e| LoadError::Compile(e.to_string()))?
        .map_err(|e: wasmtime::Error| LoadError::Compile(format!("{e:#}")))?;

        let pre = self
            .linker
            .instantiate_pre(&compiled)
            .map_err(|e| LoadError::Imports(format!("{e:#}")))?;
        let exports = ExportIndices::resolve(&pre);
        check_contract(&manifest, exports.offers())?;
        let reads_unbound_credentials = compiled
            .component_type()
            .imports(&self.engine)
            .any(|(name, _)| name == LEGACY_CREDENTIALS);
        let connector = LoadedConnector {
            manifest: Arc::new(manifest),
            digest,
            source,
            pre,
            exports,
            reads_unbound_credentials,
        };
        self.check_export_signatures(&connector).await?;
        Ok(Arc::new(connector))
    }
}

fn engine_config(config: &RuntimeConfig, inspector: Option<&Arc<MemoryInspector>>) -> Config {
    let calls = config.max_concurrent_calls;
    let mut pool = PoolingAllocationConfig::default();
    // A component built by componentize-py or jco holds several core
    // instances and memories; leave room for them.
    pool.total_component_instances(calls)
        .total_core_instances(calls * 16)
        .total_memories(calls * 4)
        .total_tables(calls * 16)
        .max_core_instances_per_component(64)
        .max_memories_per_component(4)
        .max_tables_per_component(16)
        .max_memory_size(config.max_memory_mib as usize * 1024 * 1024)
        // A slot handed back is wiped by rewriting the pages the call dirtied
        // (found with PAGEMAP_SCAN where the kernel has it), up to 1 MiB per
        // memory, instead of `madvise`: unmapping cost a TLB shootdown on
        // every core and a page fault per page on the slot's next use, most
        // of the Slack path's kernel time under load.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);

    let mut engine = Config::new();
    engine
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true);
    match inspector {
        None => engine.allocation_strategy(InstanceAllocationStrategy::Pooling(pool)),
        Some(inspector) => engine
            .allocation_strategy(InstanceAllocationStrategy::OnDemand)
            .with_host_memory(inspector.creator())
            .memory_reservation(0)
            .memory_guard_size(0)
            .memory_reservation_for_growth(0)
            .memory_init_cow(false),
    };
    engine
}

/// Advances the engine's epoch every tick, which is what makes epoch
/// deadlines fire.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
