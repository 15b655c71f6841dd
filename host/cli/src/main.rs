//! The `sluice` command.

mod bus;
mod check;
mod install;
mod invoke;
mod package;
mod scaffold;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_core::Clock as _;
use sluice_service::{Environment, Service, ServiceConfig};

/// jemalloc instead of glibc's allocator: under delivery load glibc spent
/// about a tenth of the service's CPU in `malloc`, much of it consolidating
/// free chunks before each buffer of a kilobyte or more (HTTP reads, SQLite's
/// temporary pages). jemalloc cut the CPU per delivery by 5–10% for 0–15 MiB
/// more resident memory; mimalloc cut slightly more but doubled it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Sluice: the integration service of the platform. Delivers events to
/// webhooks and to connectors running as sandboxed WebAssembly components.
#[derive(Parser)]
#[command(name = "sluice", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: HTTP API, delivery workers, bundled connectors.
    ///
    /// Settings come from the file given with --config, then from the
    /// environment: SLUICE_LISTEN (default 127.0.0.1:7070), SLUICE_DATA_DIR
    /// (default ./data), DATABASE_URL (default SQLite in the data directory),
    /// SLUICE_CONNECTORS_DIR, SLUICE_MASTER_KEY, SLUICE_ADMIN_TOKEN.
    Serve(ConfigArg),
    /// Work with connector components.
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Publisher keys for signing connector packages.
    #[command(subcommand)]
    Keys(package::KeysCommand),
    /// The message bus (NATS JetStream): create a stream, publish events,
    /// watch a stream such as Sluice's outcomes.
    #[command(subcommand)]
    Bus(bus::BusCommand),
    /// Delete delivered deliveries, their attempts and events older than the
    /// retention period now, instead of waiting for the periodic run.
    Prune(ConfigArg),
    /// Re-encrypt every stored credential and signing secret under a new
    /// master key. With a key file the new key replaces it; with
    /// SLUICE_MASTER_KEY, give the new key in SLUICE_NEW_MASTER_KEY.
    Rekey(ConfigArg),
}

#[derive(clap::Args)]
struct ConfigArg {
    /// Configuration file (TOML).
    #[arg(long, short)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ConnectorCommand {
    /// Run one export of a component locally; print the outcome and the report as JSON.
    ///
    /// This is the first tool of a connector author: build your component,
    /// then deliver an event file to it, test its connection, run an inbound
    /// request or pull a sync batch, with the same sandbox, limits and egress
    /// policy as the service. Point it at a local or fake server with an
    /// egress file:
    ///
    ///   ca_certificates = ["test-ca.pem"]
    ///   [resolve]
    ///   "hooks.slack.com:443" = "127.0.0.1:8443"
    ///
    /// Exit status: 0 when the connector returned a result (whatever it
    /// says), 1 when the call failed (trap, timeout, memory), 2 on bad input.
    // Verbatim: clap would otherwise join the egress file's lines into one.
    #[command(verbatim_doc_comment)]
    Invoke(invoke::InvokeArgs),
    /// Create a connector project in Rust, Python or JavaScript.
    ///
    /// A working connector that POSTs each event to a configured URL: its
    /// manifest, its source, unit tests of its outcome mapping, the guest
    /// SDK (Python, JavaScript) and the contract's WIT. It builds with
    /// `sluice connector build` and passes `sluice connector check` as is.
    New(scaffold::NewArgs),
    /// Build a connector project into connector.wasm, whatever its language.
    ///
    /// Rust: cargo (target wasm32-wasip2, added with rustup when missing).
    /// Python: componentize-py (from PATH, or COMPONENTIZE_PY). JavaScript:
    /// `npm install` when node_modules is missing, then `npm run build`.
    Build(scaffold::BuildArgs),
    /// Check a component against the contract before publishing it; print a table.
    ///
    /// The conformance kit: the component's imports and exports against the
    /// worlds its manifest declares, then its answers in the sandbox to a
    /// built-in fake remote (2xx, 5xx, timeout, 429, 4xx, a refused origin,
    /// test-connection, malformed events, memory and time).
    ///
    /// Exit status: 0 when every scenario passed, 1 when any failed, 2 on
    /// bad input.
    Check(check::CheckArgs),
    #[command(flatten)]
    Registry(install::RegistryCommand),
    #[command(flatten)]
    Package(package::PackageCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The bus commands print their own results; the client's connection
    // notices would only interleave with them.
    let default_filter = match cli.command {
        Command::Bus(_) => "warn",
        _ => "info,sqlx=warn,wasmtime=warn,cranelift=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Commands whose exit status says more than success or bad input
        // return it; the others succeed or fail.
        let done = |result: anyhow::Result<()>| result.map(|()| ExitCode::SUCCESS);
        let result = match cli.command {
            Command::Serve(args) => done(serve(args).await),
            Command::Connector(ConnectorCommand::Invoke(args)) => invoke::run(args).await,
            Command::Connector(ConnectorCommand::Check(args)) => check::run(args).await,
            Command::Connector(ConnectorCommand::New(args)) => done(scaffold::new(args)),
            Command::Connector(ConnectorCommand::Build(args)) => done(scaffold::build(args)),
            Command::Connector(ConnectorCommand::Registry(command)) => install::run(command).await,
            Command::Connector(ConnectorCommand::Package(command)) => {
                return package::run(command).await;
            }
            Command::Keys(command) => return package::run_keys(command),
            Command::Bus(command) => return bus::run(command).await,
            Command::Prune(args) => done(prune(args).await),
            Command::Rekey(args) => done(rekey(args).await),
        };
        match result {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        }
    })
}

/// The manifest given with `--manifest`, or `connector.toml` beside the
/// component.
fn manifest_beside(component: &std::path::Path, manifest: Option<&std::path::Path>) -> PathBuf {
    manifest.map(ToOwned::to_owned).unwrap_or_else(|| {
        component
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(sluice_manifest::MANIFEST_FILE)
    })
}

fn load_config(args: &ConfigArg) -> anyhow::Result<ServiceConfig> {
    ServiceConfig::load(args.config.as_deref(), |name| std::env::var(name).ok())
}

async fn serve(args: ConfigArg) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    let service = Service::start(config, Environment::from_process()).await?;
    if let Some(token) = &service.generated_admin_token {
        // Shown once: only its hash is stored.
        println!("Admin token (shown once, store it now): {token}");
    }
    println!("Sluice is listening on http://{}", service.addr);
    wait_for_signal().await;
    eprintln!("shutting down: finishing deliveries in flight");
    service.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

async fn prune(args: ConfigArg) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    let db = sluice_service::open_database(
        &config,
        std::env::var(sluice_secrets::MASTER_KEY_ENV)
            .ok()
            .as_deref(),
    )
    .await?;
    let now = sluice_core::SystemClock.now_ms();
    let cutoff = now - i64::from(config.retention.delivered_days) * 86_400_000;
    let report = db.prune(cutoff, 1_000).await?;
    println!(
        "pruned {} deliveries, {} attempts and {} events older than {} days",
        report.deliveries, report.attempts, report.events, config.retention.delivered_days
    );
    db.close().await;
    Ok(())
}

async fn rekey(args: ConfigArg) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    let key = std::env::var(sluice_secrets::MASTER_KEY_ENV).ok();
    let new_key = std::env::var(sluice_service::NEW_MASTER_KEY_ENV).ok();
    let report = sluice_service::rekey(&config, key.as_deref(), new_key.as_deref()).await?;
    println!(
        "re-encrypted {} connector credential sets and {} webhook signing secrets",
        report.connector_credentials, report.webhook_secrets
    );
    if key.is_some() {
        println!(
            "now set {} to the value of {} and restart every node",
            sluice_secrets::MASTER_KEY_ENV,
            sluice_service::NEW_MASTER_KEY_ENV
        );
    }
    Ok(())
}
