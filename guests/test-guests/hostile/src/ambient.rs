//! Probes of ambient authority: credentials, environment, files, output.

use std::fmt::Display;
use std::io::{self, Write};

use sluice_guest::{DeliveryOutcome, credentials, log};

/// A key the manifest does not declare, then one it does.
const PROBED_CREDENTIALS: [&str; 2] = ["aws_secret_key", "api_key"];

const MIB: usize = 1024 * 1024;

/// Asks for each of [`PROBED_CREDENTIALS`]; delivered with
/// `aws_secret_key=<present|absent> api_key=<present|absent>`. Values are
/// never reported.
pub fn probe_credentials() -> DeliveryOutcome {
    let seen: Vec<String> = PROBED_CREDENTIALS
        .iter()
        .map(|key| {
            let presence = if credentials::get(key).is_some() {
                "present"
            } else {
                "absent"
            };
            log::info("credential probed", &[("key", key), ("presence", presence)]);
            format!("{key}={presence}")
        })
        .collect();
    DeliveryOutcome::delivered(Some(seen.join(" ")))
}

/// Counts environment variables and arguments and tries the file system;
/// delivered with
/// `env=<n> args=<n> read_dir(/)=<n entries|error:Kind> read(/etc/passwd)=<n bytes|error:Kind>`.
pub fn probe_env_and_files() -> DeliveryOutcome {
    let env_names: Vec<String> = std::env::vars_os()
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .collect();
    let args = std::env::args_os().count();
    let root = describe(std::fs::read_dir("/").map(Iterator::count), "entries");
    let passwd = describe(
        std::fs::read("/etc/passwd").map(|bytes| bytes.len()),
        "bytes",
    );
    log::info(
        "ambient authority probed",
        &[
            ("env_names", &env_names.join(",")),
            ("args", &args.to_string()),
            ("read_dir", &root),
            ("read", &passwd),
        ],
    );
    DeliveryOutcome::delivered(Some(format!(
        "env={} args={args} read_dir(/)={root} read(/etc/passwd)={passwd}",
        env_names.len()
    )))
}

/// Tries the socket API directly; delivered with
/// `tcp=<connected|error:Kind> udp=<bound|error:Kind> dns=<n addresses|error:Kind>`.
pub fn probe_sockets(port: u16) -> DeliveryOutcome {
    let tcp = match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Ok(_) => "connected".to_owned(),
        Err(error) => format!("error:{:?}", error.kind()),
    };
    let udp = match std::net::UdpSocket::bind(("0.0.0.0", 0)) {
        Ok(_) => "bound".to_owned(),
        Err(error) => format!("error:{:?}", error.kind()),
    };
    let dns = describe(
        std::net::ToSocketAddrs::to_socket_addrs(&("localhost", port)).map(Iterator::count),
        "addresses",
    );
    DeliveryOutcome::delivered(Some(format!("tcp={tcp} udp={udp} dns={dns}")))
}

/// Writes `megabytes` MiB to stdout, then to stderr; delivered with
/// `stdout=<n> bytes stderr=<n> bytes`, each followed by `then error:Kind`
/// if a write failed.
pub fn flood_output(megabytes: u32) -> DeliveryOutcome {
    let mut chunk = vec![b'x'; MIB];
    chunk[MIB - 1] = b'\n';
    let stdout = flood(&mut io::stdout(), &chunk, megabytes);
    let stderr = flood(&mut io::stderr(), &chunk, megabytes);
    DeliveryOutcome::delivered(Some(format!("stdout={stdout} stderr={stderr}")))
}

fn flood(stream: &mut impl Write, chunk: &[u8], times: u32) -> String {
    let mut written: u64 = 0;
    for _ in 0..times {
        if let Err(error) = stream.write_all(chunk) {
            return format!("{written} bytes then error:{:?}", error.kind());
        }
        written += chunk.len() as u64;
    }
    match stream.flush() {
        Ok(()) => format!("{written} bytes"),
        Err(error) => format!("{written} bytes then error:{:?}", error.kind()),
    }
}

fn describe(result: io::Result<impl Display>, unit: &str) -> String {
    match result {
        Ok(amount) => format!("{amount} {unit}"),
        Err(error) => format!("error:{:?}", error.kind()),
    }
}
