//! The `sluice` binary as a separate process, for the tests and benchmarks
//! that need a real process (killing it, measuring its memory, running the
//! CLI as a user does).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use parking_lot::Mutex;

/// Configuration for tests that kill `sluice serve` processes: loopback
/// targets allowed, and short timeouts, which make short leases, so that
/// what a killed process held is claimed again within seconds. With
/// `remote` (a CA's PEM file and a fake's hostnames with their addresses),
/// connectors reach that fake over TLS as if it were the real service; the Slack
/// connector declares 10 s per call, which then sets the leases.
pub fn short_leases_config(remote: Option<(&Path, &BTreeMap<String, SocketAddr>)>) -> String {
    let longest_call_ms = if remote.is_some() { 10_000 } else { 2_000 };
    let mut config = format!(
        r#"[runtime]
max_timeout_ms = {longest_call_ms}

[delivery]
lease_margin_ms = 1000

[egress]
allow_cidrs = ["127.0.0.0/8"]
connect_timeout_ms = 1000
request_timeout_ms = 2000
read_timeout_ms = 1000
"#
    );
    if let Some((ca, hosts)) = remote {
        config += &format!("ca_certificates = [{ca:?}]\n[egress.resolve]\n");
        for (host, addr) in hosts {
            config += &format!("{host:?} = \"{addr}\"\n");
        }
    }
    config
}

/// `sluice serve` of the `profile` binary (see [`sluice_binary`]) with
/// `config`, its data in `data_dir`, admin token `token` and warnings only;
/// the caller sets the database and starts it with [`serve`].
pub fn serve_command(profile: &str, config: &Path, data_dir: &Path, token: &str) -> Command {
    let mut command = Command::new(sluice_binary(profile));
    command
        .args(["serve", "--config"])
        .arg(config)
        .env("SLUICE_DATA_DIR", data_dir)
        .env("SLUICE_ADMIN_TOKEN", token)
        .env("RUST_LOG", "warn");
    command
}

/// POSTs `events` to the service at `base` as a producer does, giving up
/// after 10 s; whether they were accepted (202). A producer retries until
/// they are.
pub async fn send_events(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    events: &[serde_json::Value],
) -> bool {
    client
        .post(format!("{base}/v1/events"))
        .bearer_auth(token)
        .json(events)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .is_ok_and(|r| r.status() == 202)
}

/// POSTs `events` as a producer of several nodes does: to node `first` of
/// `bases` (modulo their number), moving on to the next node while they are
/// not accepted, until they are.
pub async fn send_to_cluster(
    client: &reqwest::Client,
    bases: &Mutex<Vec<String>>,
    first: usize,
    token: &str,
    events: &[serde_json::Value],
) {
    let mut node = first;
    loop {
        let base = {
            let bases = bases.lock();
            bases[node % bases.len()].clone()
        };
        if send_events(client, &base, token, events).await {
            return;
        }
        node += 1;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

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

/// A running `sluice serve` process. Dropping it kills it (SIGKILL), so
/// that a test that fails half-way leaves no process behind.
pub struct Node(Child);

impl Node {
    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `command` (a `sluice serve`, configured by the caller) and waits
/// until it listens and its connectors are loaded; returns the process and
/// its base URL.
pub fn serve(mut command: Command) -> std::io::Result<(Node, String)> {
    let mut child = command
        .env("SLUICE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        if let Some(url) = line?.strip_prefix(LISTENING) {
            let url = url.trim().to_owned();
            if let Err(error) = connectors_loaded(&url) {
                let _ = child.kill();
                return Err(error);
            }
            return Ok((Node(child), url));
        }
    }
    let _ = child.kill();
    Err(std::io::Error::other("sluice exited before listening"))
}

/// Polls `/readyz` of the service at `base` until no connector is loading:
/// the service answers while its connectors still compile.
fn connectors_loaded(base: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::time::Instant::now() < deadline {
        let mut stream = std::net::TcpStream::connect(address)?;
        write!(
            stream,
            "GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if answer.contains("\"loading\":[]") {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(std::io::Error::other(
        "the service's connectors did not load within 5 minutes",
    ))
}
