//! `sluice connector check`: the conformance kit, as a table or as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use sluice_conformance::{CheckError, Configuration};

/// Arguments of `sluice connector check`.
#[derive(Args)]
pub struct CheckArgs {
    /// The component (.wasm).
    component: PathBuf,
    /// Its manifest; defaults to connector.toml beside the component.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Settings, credentials and a sample event: a TOML file with
    /// [settings] and [credentials] tables and an optional `event` (a JSON
    /// file in the format of POST /v1/events, relative to this file).
    /// Without it they are made up from the manifest.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs the check; exit status 0 when every scenario passed, 1 when any
/// failed; an error when the input is unusable.
pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let manifest_path = crate::manifest_beside(&args.component, args.manifest.as_deref());
    let manifest_toml = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("--manifest {}", manifest_path.display()))?;
    let configuration = match &args.config {
        Some(path) => Some(
            Configuration::load(path)
                .map_err(|e| anyhow::anyhow!("--config {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let component = std::fs::read(&args.component)
        .with_context(|| format!("component {}", args.component.display()))?;

    let report = sluice_conformance::check(&manifest_toml, &component, configuration)
        .await
        .map_err(|error| match error {
            CheckError::Manifest(e) => {
                anyhow::anyhow!("--manifest {}: {e}", manifest_path.display())
            }
            CheckError::Configuration { .. } => match &args.config {
                Some(path) => anyhow::anyhow!("--config {}: {error}", path.display()),
                None => {
                    anyhow::anyhow!("{error} (made up from the manifest; give it with --config)")
                }
            },
            CheckError::Setup(_) => anyhow::Error::new(error),
        })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
