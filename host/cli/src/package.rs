//! `sluice keys generate` and `sluice connector pack | sign | verify | push |
//! pull`: what a publisher does before a package reaches a service, and
//! what an operator checks offline.
//!
//! Exit status: 0 on success, 1 when `verify` refuses the package (the first
//! failed step is named), 2 on bad input (unreadable files, invalid key or
//! policy, unreachable registry).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use sluice_registry::{
    OperatorMaxima, Package, Registries, SigningKeyFile, TrustPolicy, VerifiedPackage, VerifyStep,
};

/// Publisher keys.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Make an Ed25519 key pair for signing connector packages: <out>.key
    /// (private, mode 0600, never overwritten) and <out>.pub (a trust policy
    /// entry for operators).
    Generate {
        /// Path prefix of the two files.
        #[arg(long, default_value = "sluice-publisher")]
        out: PathBuf,
        /// The publisher's name, shown as who signed a package.
        #[arg(long, default_value = "unnamed publisher")]
        publisher: String,
    },
}

/// Where packages are pushed to and pulled from.
#[derive(Args)]
pub struct RegistryArgs {
    /// A registry reached over plain HTTP (host:port), such as a local test
    /// registry on 127.0.0.1. Repeat for several. Credentials, if the
    /// registry needs them, come from SLUICE_REGISTRY_USERNAME and
    /// SLUICE_REGISTRY_PASSWORD.
    #[arg(long)]
    insecure: Vec<String>,
}

impl RegistryArgs {
    fn registries(&self) -> Registries {
        let registries = Registries::new(&self.insecure);
        match (
            std::env::var("SLUICE_REGISTRY_USERNAME"),
            std::env::var("SLUICE_REGISTRY_PASSWORD"),
        ) {
            (Ok(user), Ok(password)) => registries.with_basic_auth(&user, &password),
            _ => registries,
        }
    }
}

/// Packaging commands.
#[derive(Subcommand)]
pub enum PackageCommand {
    /// Pack a connector directory (connector.toml and component.wasm or
    /// connector.wasm) into an unsigned .sluicepkg. The same inputs always
    /// give the same bytes.
    Pack {
        /// The connector directory.
        dir: PathBuf,
        /// Output file (default: <id>-<version>.sluicepkg).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Add your Ed25519 signature to a package (rewrites the file).
    Sign {
        /// The package file.
        package: PathBuf,
        /// Your private key file, from `sluice keys generate`.
        #[arg(long)]
        key: PathBuf,
    },
    /// Check a package offline, every step a service runs before installing:
    /// archive, digests, signature, trust, manifest, component, imports,
    /// exports, limits. Prints its identity, publisher, digests and
    /// capabilities; exits 1 naming the first step that failed.
    Verify {
        /// The package file.
        package: PathBuf,
        /// The trust policy (TOML) whose publishers may sign.
        #[arg(long)]
        trust: PathBuf,
        /// The operator's ceiling on limits.memory_mib.
        #[arg(long)]
        max_memory_mib: Option<u32>,
        /// The operator's ceiling on limits.timeout_ms.
        #[arg(long)]
        max_timeout_ms: Option<u32>,
    },
    /// Push a package to an OCI registry (<registry>/<repository>:<tag>) or
    /// a directory registry (dir://<path>/<repository>:<tag>).
    Push {
        /// The package file.
        package: PathBuf,
        /// Where to push it, by tag.
        reference: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Pull a package by tag or by digest (…@sha256:<hex>) and write the
    /// byte-identical .sluicepkg.
    Pull {
        /// The reference.
        reference: String,
        /// Output file (default: <id>-<version>.sluicepkg).
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// Runs a keys command.
pub fn run_keys(command: KeysCommand) -> ExitCode {
    let KeysCommand::Generate { out, publisher } = command;
    finish(generate(&out, &publisher))
}

fn generate(out: &Path, publisher: &str) -> anyhow::Result<()> {
    let key = SigningKeyFile::generate(publisher)?;
    let (private, public) = key.write(out)?;
    println!("key id     {}", key.key_id());
    println!("publisher  {}", key.publisher());
    println!(
        "private    {} (mode 0600: keep it secret)",
        private.display()
    );
    println!(
        "public     {} (give it to operators for their trust policy)",
        public.display()
    );
    Ok(())
}

/// Runs a packaging command.
pub async fn run(command: PackageCommand) -> ExitCode {
    match command {
        PackageCommand::Pack { dir, output } => finish(pack(&dir, output)),
        PackageCommand::Sign { package, key } => finish(sign(&package, &key)),
        PackageCommand::Verify {
            package,
            trust,
            max_memory_mib,
            max_timeout_ms,
        } => verify(&package, &trust, max_memory_mib, max_timeout_ms),
        PackageCommand::Push {
            package,
            reference,
            registry,
        } => finish(
            async {
                let bytes = read(&package)?;
                let pushed = registry.registries().push(&bytes, &reference).await?;
                println!("pushed     {}", pushed.reference);
                println!("manifest   {}", pushed.manifest_digest);
                println!("package    {}", sluice_registry::digest(&bytes));
                Ok(())
            }
            .await,
        ),
        PackageCommand::Pull {
            reference,
            output,
            registry,
        } => finish(
            async {
                let bytes = registry.registries().pull(&reference).await?;
                let package = Package::from_bytes(&bytes)?;
                let path = output.unwrap_or_else(|| default_name(&package));
                write(&path, &bytes)?;
                print_written(&path, &package)
            }
            .await,
        ),
    }
}

fn pack(dir: &Path, output: Option<PathBuf>) -> anyhow::Result<()> {
    let package = Package::from_dir(dir)?;
    let path = output.unwrap_or_else(|| default_name(&package));
    write(&path, &package.to_bytes())?;
    print_written(&path, &package)
}

fn sign(package: &Path, key: &Path) -> anyhow::Result<()> {
    let key = SigningKeyFile::load(key)?;
    let signed = sluice_registry::sign(&read(package)?, &key)
        .with_context(|| package.display().to_string())?;
    write(package, &signed)?;
    println!("signed by {} (key {})", key.publisher(), key.key_id());
    print_written(package, &Package::from_bytes(&signed)?)
}

fn verify(
    package: &Path,
    trust: &Path,
    max_memory_mib: Option<u32>,
    max_timeout_ms: Option<u32>,
) -> ExitCode {
    let inputs = TrustPolicy::load(trust)
        .with_context(|| format!("trust policy {}", trust.display()))
        .and_then(|policy| Ok((read(package)?, policy)));
    let (bytes, policy) = match inputs {
        Ok(inputs) => inputs,
        Err(error) => return finish(Err(error)),
    };
    let defaults = OperatorMaxima::default();
    let maxima = OperatorMaxima {
        memory_mib: max_memory_mib.unwrap_or(defaults.memory_mib),
        timeout_ms: max_timeout_ms.unwrap_or(defaults.timeout_ms),
        ..defaults
    };
    match sluice_registry::verify(&bytes, &policy, &maxima) {
        Ok(verified) => {
            print_verified(&verified);
            let steps: Vec<&str> = VerifyStep::ALL.iter().map(|s| s.as_str()).collect();
            println!("verified: every step passed ({})", steps.join(", "));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("refused at step {}: {}", error.step, error.message);
            ExitCode::FAILURE
        }
    }
}

fn print_verified(v: &VerifiedPackage) {
    let m = &v.manifest;
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "(none)".to_owned()
        } else {
            items.join(", ")
        }
    };
    println!("{} {} ({})", m.id, m.version, m.name);
    println!("  package      {}", v.digest);
    println!("  statement    {}", v.statement_digest);
    println!("  component    {}", v.component_digest);
    let publisher = if v.signers.is_empty() {
        "unsigned (accepted only because the trust policy sets allow_unsigned)".to_owned()
    } else {
        list(
            v.signers
                .iter()
                .map(|s| format!("{} (key {})", s.publisher, s.key_id))
                .collect(),
        )
    };
    println!("  publisher    {publisher}");
    println!("  worlds       {}", list(v.worlds.clone()));
    println!(
        "  events       {}",
        list(m.events.iter().map(ToString::to_string).collect())
    );
    println!(
        "  origins      {}",
        list(
            m.allowed_origins
                .patterns()
                .iter()
                .map(ToString::to_string)
                .collect()
        )
    );
    let fields = |specs: &[sluice_manifest::FieldSpec]| {
        list(
            specs
                .iter()
                .map(|f| format!("{} ({})", f.key, f.describe()))
                .collect(),
        )
    };
    println!("  credentials  {}", fields(&m.credentials));
    println!("  settings     {}", fields(&m.settings));
    let requests = m
        .limits
        .max_requests
        .map_or("the operator's cap".to_owned(), |n| n.to_string());
    println!(
        "  limits       timeout {} ms, memory {} MiB, requests per call {requests}",
        m.limits.timeout_ms, m.limits.memory_mib
    );
    if let Some(sync) = &m.sync {
        println!("  sync         {}", sync.entities.join(", "));
    }
    println!("  exports      {}", list(v.surface.exports.clone()));
    println!("  imports      {}", list(v.surface.imports.clone()));
}

fn default_name(package: &Package) -> PathBuf {
    let s = package.statement();
    PathBuf::from(format!("{}-{}.sluicepkg", s.id, s.version))
}

fn print_written(path: &Path, package: &Package) -> anyhow::Result<()> {
    let s = package.statement();
    println!("wrote      {}", path.display());
    println!("connector  {} {}", s.id, s.version);
    println!(
        "package    {}",
        sluice_registry::digest(&package.to_bytes())
    );
    println!("signatures {}", package.signatures().len());
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
