//! The `sluice` binary as a separate process, for the tests and benchmarks
//! that need a real process (killing it, measuring its memory, running the
//! CLI as a user does).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The line `sluice serve` prints once it listens, before the base URL.
const LISTENING: &str = "Sluice is listening on ";

/// The `sluice` binary of `profile` (`debug`: `make test` builds it;
/// `release`: `make bench` does).
///
/// # Panics
/// If it was not built.
pub fn sluice_binary(profile: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join(profile).join("sluice");
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build{} -p sluice` (make test and make bench do)",
        binary.display(),
        if profile == "release" {
            " --release"
        } else {
            ""
        }
    );
    binary
}

/// Spawns `command` (a `sluice serve`, configured by the caller) and waits
/// until it listens; returns the process and its base URL.
pub fn serve(mut command: Command) -> std::io::Result<(Child, String)> {
    let mut child = command
        .env("SLUICE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        if let Some(url) = line?.strip_prefix(LISTENING) {
            return Ok((child, url.trim().to_owned()));
        }
    }
    let _ = child.kill();
    Err(std::io::Error::other("sluice exited before listening"))
}
