//! A PostgreSQL server of one test's own, which the test may stop and start
//! again: the machine's shared server must keep serving the other tests.
//!
//! The server is the machine's PostgreSQL binaries (`initdb`, `pg_ctl`) on a
//! data directory in a temporary directory, listening on a free loopback
//! port. PostgreSQL refuses to run as root, so under root its commands run
//! as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running (or stopped) private PostgreSQL server; dropped, it stops and
/// its data directory is removed.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// Creates a cluster in a new temporary directory and starts it.
    ///
    /// # Panics
    /// If the PostgreSQL server binaries are not installed or the server
    /// does not start; the panic says which command failed.
    pub fn start() -> Self {
        let bin = server_binaries();
        let dir = tempfile::tempdir().expect("a temporary directory");
        if running_as_root() {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let server = Self { dir, bin, port };
        run(server
            .command("initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--encoding=UTF8",
                "-D",
            ])
            .arg(server.data()));
        server.start_again();
        server
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once, as a crash would: connections are cut and
    /// nothing is checkpointed.
    pub fn stop(&self) {
        run(self
            .command("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(self.data()));
    }

    /// Starts the stopped server again (recovering from its WAL) and waits
    /// until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        run(self
            .command("pg_ctl")
            .args(["start", "-w", "-t", "60", "-o", &options, "-l"])
            .arg(self.dir.path().join("server.log"))
            .arg("-D")
            .arg(self.data()));
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `program` of the server binaries, as the `postgres` user under root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.data())
            .output();
    }
}

/// The directory of `initdb` and `pg_ctl`: Debian keeps them out of PATH,
/// under `/usr/lib/postgresql/<version>/bin`.
fn server_binaries() -> PathBuf {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|version| version.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .max();
    installed
        .or_else(|| {
            let output = Command::new("pg_config").arg("--bindir").output().ok()?;
            let bin = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
            bin.join("initdb").is_file().then_some(bin)
        })
        .expect("the PostgreSQL server binaries (initdb, pg_ctl; Debian package postgresql)")
}

fn running_as_root() -> bool {
    // The owner of /proc/self is this process's effective user.
    std::os::unix::fs::MetadataExt::uid(&Path::new("/proc/self").metadata().expect("/proc/self"))
        == 0
}

fn run(command: &mut Command) {
    let output = command.output().expect("run a PostgreSQL command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
