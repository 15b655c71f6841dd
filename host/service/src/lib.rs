//! The running Sluice service: storage, the component runtime with the
//! active connector versions (bundled or installed, kept in step across
//! nodes by a watcher), ingest, the delivery workers, the sync scheduler,
//! retention, the message bus (when configured) and the HTTP API, started
//! together and stopped gracefully.
//!
//! The `sluice serve` command and the in-process end-to-end tests both start
//! the service through [`Service::start`]; tests pass a [`ManualClock`] and
//! a resolver of their own in [`Environment`].
//!
//! [`ManualClock`]: sluice_core::ManualClock

mod config;
mod rekey;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::RngCore;
use sluice_api::AppState;
use sluice_bus::{Bus, BusParts};
use sluice_connectors::{InstallPolicy, Installer};
use sluice_core::SharedClock;
use sluice_delivery::{Deliverer, DeliveryWorkers, TargetCache};
use sluice_egress::{Egress, Resolve};
use sluice_events::Ingestor;
use sluice_metrics::Metrics;
use sluice_registry::{OperatorMaxima, Registries, TrustPolicy};
use sluice_runtime::{Catalog, Runtime};
use sluice_secrets::{MASTER_KEY_ENV, MasterKey, SecretBox};
use sluice_storage::{Backend, Db, VacuumMemory};
use sluice_sync::{SyncScheduler, Syncer};
use sluice_webhooks::WebhookSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{RegistryConfig, RetentionConfig, ServiceConfig, env};
pub use rekey::{NEW_MASTER_KEY_ENV, rekey};

/// What the service takes from its surroundings.
pub struct Environment {
    /// The clock deciding every "when".
    pub clock: SharedClock,
    /// Name resolution for outbound requests.
    pub resolver: Arc<dyn Resolve>,
    /// `SLUICE_MASTER_KEY`, if set.
    pub master_key: Option<String>,
    /// `SLUICE_ADMIN_TOKEN`, if set.
    pub admin_token: Option<String>,
}

impl Environment {
    /// The real clock and resolver, and the process environment.
    pub fn from_process() -> Self {
        Self {
            clock: Arc::new(sluice_core::SystemClock),
            resolver: Arc::new(sluice_egress::SystemResolver),
            master_key: std::env::var(MASTER_KEY_ENV).ok(),
            admin_token: std::env::var(env::ADMIN_TOKEN).ok(),
        }
    }
}

/// A started service.
pub struct Service {
    /// The API's bound address.
    pub addr: std::net::SocketAddr,
    /// The shared state behind the API.
    pub state: Arc<AppState>,
    /// An admin token generated at first start, to be shown once.
    pub generated_admin_token: Option<String>,
    stop: CancellationToken,
    server: JoinHandle<()>,
    workers: DeliveryWorkers,
    scheduler: SyncScheduler,
    retention: Option<JoinHandle<()>>,
    credentials_upkeep: JoinHandle<()>,
    compaction: JoinHandle<()>,
    watcher: JoinHandle<()>,
    loading: JoinHandle<()>,
    bus: Option<Bus>,
}

impl Service {
    /// Opens the database (running migrations), starts loading the bundled
    /// and active connectors in the background, and starts the workers and
    /// the API.
    pub async fn start(config: ServiceConfig, environment: Environment) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        let url = config.database_url();
        let mut db = open_database(&config, environment.master_key.as_deref()).await?;
        if config.bus.publish.is_some() {
            // Before any clone: every holder of the database writes outcomes
            // to the outbox.
            db.enable_outbox();
        }
        let generated_admin_token =
            bootstrap_admin_token(&db, environment.admin_token.as_deref(), &environment.clock)
                .await?;

        let clock = environment.clock.clone();
        let egress = Egress::new(config.egress.clone(), environment.resolver.clone())?;
        let runtime_config = sluice_runtime::RuntimeConfig {
            cache_dir: Some(config.compiled_cache_dir()),
            ..config.runtime.clone()
        };
        let runtime = Arc::new(Runtime::new(runtime_config, egress.clone())?);
        let catalog = Arc::new(Catalog::new());
        let installer = Arc::new(Installer::new(
            db.clone(),
            runtime.clone(),
            catalog.clone(),
            clock.clone(),
            install_policy(&config)?,
        ));
        // Compiling can take a minute (interpreted guests): the service
        // serves meanwhile, each expected connector reported as loading and
        // its deliveries waiting for it.
        let mut expected = match &config.connectors_dir {
            Some(dir) => Installer::bundled_ids(dir).with_context(|| {
                format!("cannot read the connectors directory {}", dir.display())
            })?,
            None => Vec::new(),
        };
        expected.extend(
            installer
                .active_connector_ids()
                .await
                .context("cannot read the active connector versions")?,
        );
        catalog.expect(expected);
        let loading = installer
            .clone()
            .load_in_background(config.connectors_dir.clone());
        let metrics = Arc::new(Metrics::new());
        let targets = Arc::new(TargetCache::default());

        let mut delivery = config.delivery.clone();
        delivery.max_attempt_ms = delivery.max_attempt_ms.max(longest_attempt_ms(&config));
        let deliverer = Arc::new(Deliverer::new(
            db.clone(),
            runtime.clone(),
            catalog.clone(),
            WebhookSender::new(egress.clone(), delivery.response_body_limit),
            clock.clone(),
            metrics.clone(),
            targets.clone(),
            delivery.retry.clone(),
            delivery.circuit.policy(),
        ));
        let workers = DeliveryWorkers::start(deliverer, delivery);
        let waker = workers.waker();
        let ingestor = Ingestor::start(
            db.clone(),
            clock.clone(),
            metrics.clone(),
            Box::new({
                let waker = waker.clone();
                move || waker.wake()
            }),
        );

        let syncer = Arc::new(Syncer::new(
            db.clone(),
            runtime.clone(),
            catalog.clone(),
            clock.clone(),
            metrics.clone(),
            waker.clone(),
            config.sync.clone(),
        ));
        let scheduler = SyncScheduler::start(syncer.clone());
        let bus = Bus::start(
            &config.bus,
            BusParts {
                db: db.clone(),
                ingestor: ingestor.clone(),
                clock: clock.clone(),
                metrics: metrics.clone(),
            },
        )
        .await
        .context("cannot start the message bus")?;

        let credentials = Arc::new(sluice_credentials::Credentials::new(
            db.clone(),
            clock.clone(),
            metrics.clone(),
            config.credentials.clone(),
        ));
        let stop = CancellationToken::new();
        let watcher = sluice_connectors::spawn_watcher(
            installer.clone(),
            Duration::from_millis(config.registry.poll_interval_ms),
            stop.clone(),
        );
        let state = Arc::new(AppState {
            db: db.clone(),
            runtime,
            catalog,
            installer,
            ingestor,
            waker,
            targets,
            clock: clock.clone(),
            metrics,
            egress: Arc::new(config.egress.clone()),
            syncer,
            sync_waker: scheduler.waker(),
            credentials: credentials.clone(),
        });
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn({
            let app =
                sluice_api::router(state.clone()).merge(sluice_console::router(state.clone()));
            let stop = stop.clone();
            async move {
                let shutdown = async move { stop.cancelled().await };
                let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
                if let Err(error) = axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(%error, "the API server failed");
                }
            }
        });
        let retention = (config.retention.interval_minutes > 0).then(|| {
            tokio::spawn(retention_loop(
                db,
                clock,
                config.retention.clone(),
                stop.clone(),
            ))
        });
        let credentials_upkeep = tokio::spawn(credentials.maintain(stop.clone()));
        let compaction = tokio::spawn(compaction_loop(state.db.clone(), stop.clone()));
        tracing::info!(%addr, database = %redact(&url), "sluice is serving");
        Ok(Self {
            addr,
            state,
            generated_admin_token,
            stop,
            server,
            workers,
            scheduler,
            retention,
            credentials_upkeep,
            compaction,
            watcher,
            loading,
            bus,
        })
    }

    /// Waits until the connectors this node started loading are loaded (or
    /// failed to): the service answers before, reporting them as loading.
    pub async fn connectors_loaded(&self) {
        self.state.catalog.loaded().await;
    }

    /// Stops accepting requests and bus messages, lets attempts in flight
    /// finish (or releases them), records everything finished, stops
    /// publishing outcomes, and closes the database.
    pub async fn shutdown(mut self) {
        if let Some(bus) = self.bus.as_mut() {
            bus.stop_consuming().await;
        }
        self.stop.cancel();
        // Connectors still compiling are loaded again at the next start.
        self.loading.abort();
        let _ = self.loading.await;
        let _ = self.server.await;
        let _ = self.watcher.await;
        self.scheduler.shutdown().await;
        self.workers.shutdown().await;
        if let Some(retention) = self.retention {
            let _ = retention.await;
        }
        let _ = self.credentials_upkeep.await;
        let _ = self.compaction.await;
        if let Some(bus) = self.bus {
            bus.shutdown().await;
        }
        self.state.db.close().await;
    }
}

/// The trust policy, operator maxima and OCI registries from the
/// configuration. Unsigned packages are a development switch: said loudly.
fn install_policy(config: &ServiceConfig) -> anyhow::Result<InstallPolicy> {
    let registry = &config.registry;
    let trust = match &registry.trust_policy {
        Some(path) => TrustPolicy::load(path)
            .with_context(|| format!("cannot load the trust policy {}", path.display()))?,
        None => TrustPolicy::default(),
    };
    if trust.allow_unsigned() {
        tracing::warn!(
            "UNSIGNED CONNECTOR PACKAGES ARE ACCEPTED (allow_unsigned in the trust policy): \
             anyone with an admin token can run code nobody signed. Development only."
        );
        eprintln!(
            "WARNING: unsigned connector packages are accepted (allow_unsigned in the trust policy); development only"
        );
    }
    Ok(InstallPolicy {
        trust,
        maxima: OperatorMaxima {
            memory_mib: config.runtime.max_memory_mib,
            timeout_ms: config.runtime.max_timeout_ms,
            max_requests: None,
        },
        registries: Registries::new(&registry.insecure_registries),
    })
}

/// Opens the database with the master key. On PostgreSQL the key must come
/// from the environment: a key file per node would make nodes unable to
/// read each other's secrets.
pub async fn open_database(config: &ServiceConfig, env_key: Option<&str>) -> anyhow::Result<Db> {
    let url = &config.database_url();
    let backend = Backend::from_url(url)?;
    let key = match (backend, env_key) {
        (Backend::Postgres, None) => anyhow::bail!(
            "{MASTER_KEY_ENV} must be set when the database is PostgreSQL, so that every node uses the same key"
        ),
        (_, env_key) => MasterKey::resolve(env_key, &config.data_dir)?,
    };
    Db::connect_with(url, SecretBox::new(&key), config.sqlite_durability)
        .await
        .with_context(|| format!("cannot open the database {}", redact(url)))
}

/// Stores the first admin token: `SLUICE_ADMIN_TOKEN` if set (added if new),
/// otherwise a random one at first start, returned to be shown once.
async fn bootstrap_admin_token(
    db: &Db,
    configured: Option<&str>,
    clock: &SharedClock,
) -> anyhow::Result<Option<String>> {
    let now = clock.now_ms();
    if let Some(token) = configured {
        let hash = sluice_api::hash_token(token);
        if db.find_admin_token(&hash).await?.is_none() {
            db.insert_admin_token(&hash, "SLUICE_ADMIN_TOKEN", now)
                .await?;
        }
        return Ok(None);
    }
    if db.count_admin_tokens().await? > 0 {
        return Ok(None);
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    use base64::Engine;
    let token = format!(
        "slk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    db.insert_admin_token(
        &sluice_api::hash_token(&token),
        "generated at first start",
        now,
    )
    .await?;
    Ok(Some(token))
}

/// The longest an attempt can take, from the runtime and egress limits; a
/// lease must outlive it.
fn longest_attempt_ms(config: &ServiceConfig) -> u64 {
    let egress = &config.egress;
    let webhook = egress.connect_timeout_ms + egress.request_timeout_ms + egress.read_timeout_ms;
    webhook.max(u64::from(config.runtime.max_timeout_ms))
}

/// The task lease under which one node at a time prunes.
const RETENTION_TASK: &str = "retention";

async fn retention_loop(
    db: Db,
    clock: SharedClock,
    retention: RetentionConfig,
    stop: CancellationToken,
) {
    let every = Duration::from_secs(u64::from(retention.interval_minutes) * 60);
    // Nodes sharing a database take turns: the holder renews its lease at
    // each pass, and when it dies another node takes over within a period.
    let node = sluice_core::new_id("node");
    loop {
        let now = clock.now_ms();
        let until = now + every.as_millis() as i64;
        match db.claim_task(RETENTION_TASK, &node, now, until).await {
            Ok(true) => {
                let cutoff = now - i64::from(retention.delivered_days) * 86_400_000;
                match db.prune(cutoff, 1_000).await {
                    Ok(report) => tracing::info!(?report, "pruned delivered work"),
                    Err(error) => tracing::warn!(%error, "pruning failed"),
                }
            }
            Ok(false) => tracing::debug!("another node prunes this period"),
            Err(error) => tracing::warn!(%error, "cannot take the retention lease"),
        }
        tokio::select! {
            _ = clock.sleep_until(until) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// Keeps the database compact as deliveries go through it, in real time,
/// not the injected clock: the work piles up with real work. On PostgreSQL,
/// vacuums the tables whose dead rows would slow claims down, checking every
/// second (see [`Db::vacuum_bloated`]); on SQLite, checkpoints the WAL every
/// 100 ms (see [`Db::checkpoint_wal`]), so the writer never stops for it.
async fn compaction_loop(db: Db, stop: CancellationToken) {
    let period = match db.backend() {
        Backend::Postgres => Duration::from_secs(1),
        Backend::Sqlite => Duration::from_millis(100),
    };
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut memory = VacuumMemory::default();
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.cancelled() => return,
        }
        let compacted = match db.backend() {
            Backend::Postgres => db.vacuum_bloated(&mut memory).await.map(|vacuumed| {
                for (table, dead) in vacuumed {
                    tracing::debug!(table, dead, "vacuumed");
                }
            }),
            Backend::Sqlite => db.checkpoint_wal().await.map(|_| ()),
        };
        if let Err(error) = compacted {
            tracing::warn!(%error, "compacting the database failed");
        }
    }
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact("postgres://sluice:hunter2@db:5432/s"),
            "postgres://sluice:***@db:5432/s"
        );
        assert_eq!(redact("postgres://sluice@db/s"), "postgres://sluice@db/s");
        assert_eq!(
            redact("sqlite://./data/sluice.db?mode=rwc"),
            "sqlite://./data/sluice.db?mode=rwc"
        );
    }
}
