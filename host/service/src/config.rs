//! The service's settings: a TOML file, then environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sluice_bus::BusConfig;
use sluice_credentials::CredentialsConfig;
use sluice_delivery::DeliveryConfig;
use sluice_egress::EgressSettings;
use sluice_runtime::RuntimeConfig;
use sluice_storage::SqliteDurability;
use sluice_sync::SyncConfig;

/// Everything the service needs to start. Every field has a default, so an
/// empty file (or none) starts a working service on embedded SQLite.
///
/// ```toml
/// listen = "127.0.0.1:7070"
/// data_dir = "./data"
/// database_url = "postgres://sluice@db/sluice"   # default: SQLite in data_dir
/// sqlite_durability = "full"                      # or "process-crash-only"
/// connectors_dir = "./build/connectors"
///
/// [retention]
/// delivered_days = 7
///
/// [delivery.retry]
/// schedule_seconds = [60, 300, 1800, 7200]
///
/// [egress]
/// allow_cidrs = ["10.20.0.0/16"]
///
/// [registry]
/// trust_policy = "/etc/sluice/trust.toml"
///
/// [bus]                                           # off unless set
/// url = "nats://127.0.0.1:4222"
/// [bus.consume]
/// stream = "PLATFORM"
/// subject = "platform.events.>"
/// [bus.publish]
/// subject = "sluice.outcomes"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Address of the HTTP API (`SLUICE_LISTEN`).
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the master key file and compiled
    /// components (`SLUICE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `postgres://...` to share one database between several nodes
    /// (`DATABASE_URL`); none means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// What an accepted event survives on SQLite: `full` (the default: on
    /// disk before it is acknowledged) or `process-crash-only` (faster; the
    /// last commits may be lost on a power loss or an OS crash).
    pub sqlite_durability: SqliteDurability,
    /// Directory of bundled connectors, each in a folder with
    /// `connector.toml` and `connector.wasm` (`SLUICE_CONNECTORS_DIR`).
    pub connectors_dir: Option<PathBuf>,
    /// Outbound HTTP policy for connectors and webhooks.
    pub egress: EgressSettings,
    /// Component runtime limits.
    pub runtime: RuntimeConfig,
    /// Delivery workers and retry schedule.
    pub delivery: DeliveryConfig,
    /// How long finished work is kept.
    pub retention: RetentionConfig,
    /// Sync scheduling and batch sizes.
    pub sync: SyncConfig,
    /// API credential checking: cache, hashing bounds, brute-force limits,
    /// the trusted proxy header.
    pub credentials: CredentialsConfig,
    /// Installing connector packages: trust, maxima, registries, convergence.
    pub registry: RegistryConfig,
    /// The message bus: platform events consumed from NATS JetStream, and
    /// Sluice's own outcomes published there. Off by default.
    pub bus: BusConfig,
}

/// How connector packages are trusted, pulled and rolled out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// The trust policy (TOML): publisher keys, which connector ids each may
    /// sign, revoked keys, yanked digests, and the development switch
    /// `allow_unsigned` (the service warns loudly at start when it is on).
    /// Without one only the bundled connectors install
    /// (`SLUICE_TRUST_POLICY`).
    pub trust_policy: Option<PathBuf>,
    /// OCI registries reached over plain HTTP (`host:port`), such as a local
    /// test registry.
    pub insecure_registries: Vec<String>,
    /// How often each node checks which connector versions are active, in
    /// milliseconds.
    pub poll_interval_ms: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            trust_policy: None,
            insecure_registries: Vec::new(),
            poll_interval_ms: 1_000,
        }
    }
}

/// What is pruned, and when.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Delivered deliveries, their attempts and events older than this many
    /// days are deleted. Dead letters are kept.
    pub delivered_days: u32,
    /// How often pruning runs, in minutes; 0 disables the periodic run
    /// (`sluice prune` still works).
    pub interval_minutes: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            delivered_days: 7,
            interval_minutes: 60,
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            sqlite_durability: SqliteDurability::default(),
            connectors_dir: None,
            egress: EgressSettings::default(),
            runtime: RuntimeConfig::default(),
            delivery: DeliveryConfig::default(),
            retention: RetentionConfig::default(),
            sync: SyncConfig::default(),
            credentials: CredentialsConfig::default(),
            registry: RegistryConfig::default(),
            bus: BusConfig::default(),
        }
    }
}

/// Environment variables the service reads.
pub mod env {
    /// API address.
    pub const LISTEN: &str = "SLUICE_LISTEN";
    /// Data directory.
    pub const DATA_DIR: &str = "SLUICE_DATA_DIR";
    /// Database URL.
    pub const DATABASE_URL: &str = "DATABASE_URL";
    /// Bundled connectors directory.
    pub const CONNECTORS_DIR: &str = "SLUICE_CONNECTORS_DIR";
    /// The first admin token.
    pub const ADMIN_TOKEN: &str = "SLUICE_ADMIN_TOKEN";
    /// The trust policy for connector packages.
    pub const TRUST_POLICY: &str = "SLUICE_TRUST_POLICY";
}

impl ServiceConfig {
    /// Reads `path` (if given), then applies the environment. Errors name
    /// the file and field, or the variable.
    pub fn load(
        path: Option<&Path>,
        environment: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => Self::default(),
        };
        if let Some(listen) = environment(env::LISTEN) {
            config.listen = listen.parse().map_err(|e| {
                anyhow::anyhow!(
                    "{}={listen:?} is not an address like 127.0.0.1:7070: {e}",
                    env::LISTEN
                )
            })?;
        }
        if let Some(dir) = environment(env::DATA_DIR) {
            config.data_dir = dir.into();
        }
        if let Some(url) = environment(env::DATABASE_URL) {
            config.database_url = Some(url);
        }
        if let Some(dir) = environment(env::CONNECTORS_DIR) {
            config.connectors_dir = Some(dir.into());
        }
        if let Some(path) = environment(env::TRUST_POLICY) {
            config.registry.trust_policy = Some(path.into());
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses a configuration file's text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| anyhow::anyhow!("not valid TOML: {}", e.message()))?;
        serde_path_to_error::deserialize(deserializer)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.path(), e.inner().message()))
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.egress.validate().map_err(anyhow::Error::msg)?;
        self.delivery.validate().map_err(anyhow::Error::msg)?;
        self.credentials.validate().map_err(anyhow::Error::msg)?;
        self.bus.validate().map_err(anyhow::Error::msg)?;
        if self.registry.poll_interval_ms == 0 {
            anyhow::bail!("registry.poll_interval_ms: must be at least 1");
        }
        Ok(())
    }

    /// The database to use: `database_url`, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("sluice.db").display()
            ),
        }
    }

    /// Where compiled components are cached: as configured, or in the data directory.
    pub fn compiled_cache_dir(&self) -> PathBuf {
        self.runtime
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("compiled"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_a_working_sqlite_default() {
        let config = ServiceConfig::parse("").unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:7070");
        assert_eq!(config.database_url(), "sqlite://./data/sluice.db?mode=rwc");
        assert_eq!(config.sqlite_durability, SqliteDurability::Full);
    }

    #[test]
    fn the_weaker_sqlite_durability_is_chosen_by_its_name() {
        let config = ServiceConfig::parse("sqlite_durability = \"process-crash-only\"\n").unwrap();
        assert_eq!(config.sqlite_durability, SqliteDurability::ProcessCrashOnly);
        let error = ServiceConfig::parse("sqlite_durability = \"normal\"\n").unwrap_err();
        assert!(
            error.to_string().starts_with("sqlite_durability"),
            "{error}"
        );
    }

    #[test]
    fn the_registry_section_has_working_defaults_and_names_a_bad_interval() {
        let config = ServiceConfig::parse("").unwrap();
        assert_eq!(config.registry.poll_interval_ms, 1_000);
        assert_eq!(config.registry.trust_policy, None);
        let parsed = ServiceConfig::parse(
            "[registry]\ntrust_policy = \"trust.toml\"\ninsecure_registries = [\"127.0.0.1:5000\"]\n",
        )
        .unwrap();
        assert_eq!(parsed.registry.insecure_registries, ["127.0.0.1:5000"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, "[registry]\npoll_interval_ms = 0\n").unwrap();
        let error = ServiceConfig::load(Some(&path), |_| None).unwrap_err();
        assert!(
            error.to_string().contains("registry.poll_interval_ms"),
            "{error}"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let error = ServiceConfig::parse("[delivery]\nconcurency = 3\n").unwrap_err();
        assert!(
            error.to_string().starts_with("delivery.concurency"),
            "{error}"
        );
        let error = ServiceConfig::parse("[egress]\nconnect_timeout_ms = \"fast\"\n").unwrap_err();
        assert!(
            error.to_string().starts_with("egress.connect_timeout_ms"),
            "{error}"
        );
    }

    #[test]
    fn circuit_settings_are_read_and_checked() {
        let config = ServiceConfig::parse(
            "[delivery]\nper_target_concurrency = 8\n[delivery.circuit]\nfailure_threshold = 3\ndisable_after_hours = 24\n",
        )
        .unwrap();
        assert_eq!(config.delivery.per_target_concurrency, 8);
        let policy = config.delivery.circuit.policy();
        assert_eq!(policy.failure_threshold, 3);
        assert_eq!(policy.open_ms, 30_000);
        assert_eq!(policy.disable_after_ms, 24 * 3_600_000);
        let error =
            ServiceConfig::parse("[delivery.circuit]\nopen_seconds = 600\nmax_open_seconds = 60\n")
                .unwrap()
                .validate()
                .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("delivery.circuit.max_open_seconds"),
            "{error}"
        );
    }

    #[test]
    fn the_bus_section_is_off_by_default_and_names_a_missing_url() {
        let config = ServiceConfig::parse("").unwrap();
        assert!(!config.bus.is_on());
        let parsed = ServiceConfig::parse(
            "[bus]\nurl = \"nats://127.0.0.1:4222\"\n[bus.consume]\nstream = \"PLATFORM\"\nsubject = \"platform.events.>\"\nbatch = 50\n[bus.publish]\nsubject = \"sluice.outcomes\"\n",
        )
        .unwrap();
        assert!(parsed.bus.is_on());
        assert_eq!(parsed.bus.consume.as_ref().unwrap().batch, 50);
        assert_eq!(
            parsed.bus.publish.as_ref().unwrap().subject,
            "sluice.outcomes"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, "[bus.publish]\nsubject = \"sluice.outcomes\"\n").unwrap();
        let error = ServiceConfig::load(Some(&path), |_| None).unwrap_err();
        assert!(error.to_string().contains("bus.url"), "{error}");
        let error = ServiceConfig::parse("[bus.consume]\nstream = \"S\"\n").unwrap_err();
        assert!(error.to_string().starts_with("bus.consume"), "{error}");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let env = |name: &str| match name {
            "SLUICE_LISTEN" => Some("0.0.0.0:9000".to_owned()),
            "DATABASE_URL" => Some("postgres://db/sluice".to_owned()),
            "SLUICE_TRUST_POLICY" => Some("/etc/sluice/trust.toml".to_owned()),
            _ => None,
        };
        let config = ServiceConfig::load(None, env).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(
            config.registry.trust_policy,
            Some(PathBuf::from("/etc/sluice/trust.toml"))
        );
        assert_eq!(config.database_url(), "postgres://db/sluice");
        let error =
            ServiceConfig::load(None, |n| (n == "SLUICE_LISTEN").then(|| "nope".to_owned()))
                .unwrap_err();
        assert!(error.to_string().starts_with("SLUICE_LISTEN"), "{error}");
    }
}
