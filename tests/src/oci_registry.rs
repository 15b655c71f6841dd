//! A real OCI registry for the tests: Debian's `docker-registry`
//! (distribution 2.8) on 127.0.0.1 with a random free port and a temporary
//! storage directory, killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

/// The binary `make test-deps` installs.
const BINARY: &str = "/usr/bin/docker-registry";

/// A running registry.
pub struct OciRegistry {
    child: Child,
    address: String,
    _storage: tempfile::TempDir,
}

impl OciRegistry {
    /// Starts a registry and waits until it listens (it says so on stderr).
    ///
    /// # Panics
    /// If `docker-registry` is not installed (`make test-deps` installs it)
    /// or does not start.
    pub fn start() -> Self {
        assert!(
            std::path::Path::new(BINARY).is_file(),
            "{BINARY} is missing: install Debian's docker-registry (make test-deps does)"
        );
        let storage = tempfile::tempdir().expect("a storage directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let address = format!("127.0.0.1:{port}");
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n",
                storage.path().join("data").display()
            ),
        )
        .expect("write config.yml");
        let mut child = Command::new(BINARY)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker-registry starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let listening = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("listening on"));
        if !listening {
            let _ = child.kill();
            panic!("docker-registry exited before listening on {address}");
        }
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            address,
            _storage: storage,
        }
    }

    /// `127.0.0.1:<port>`, the registry part of a reference.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for OciRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
