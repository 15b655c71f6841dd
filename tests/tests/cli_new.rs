//! `sluice connector new` then `sluice connector build`, as a publisher
//! starting from nothing does it, in each language: the scaffolded project
//! builds with its real toolchain (cargo, componentize-py, componentize-js),
//! the component passes `sluice connector check` as it is, and the unit
//! tests that come with it pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sluice_tests::guests::guests_dir;
use sluice_tests::process::sluice_binary;

/// The repository's root.
fn repo() -> PathBuf {
    guests_dir().join("..")
}

/// Runs `command`, failing the test with its output when it fails.
fn succeed(command: &mut Command) -> Output {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn sluice(dir: &Path) -> Command {
    let mut command = Command::new(sluice_binary("debug"));
    command.current_dir(dir).arg("connector");
    command
}

/// Scaffolds `lang` into a new directory `acme-orders` under a temporary
/// one, returning both.
fn scaffold(lang: &str) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().unwrap();
    let output = succeed(sluice(parent.path()).args(["new", "acme-orders", "--lang", lang]));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("sluice connector build"), "{said}");
    let dir = parent.path().join("acme-orders");
    assert!(dir.join("connector.toml").is_file());
    (parent, dir)
}

/// `sluice connector build`, then `sluice connector check` on what it built.
fn build_and_check(dir: &Path, build: impl FnOnce(&mut Command)) {
    let mut command = sluice(dir);
    command.arg("build");
    build(&mut command);
    let built = succeed(&mut command);
    assert!(
        String::from_utf8_lossy(&built.stdout).contains("connector.wasm"),
        "{}",
        String::from_utf8_lossy(&built.stdout)
    );
    let checked = succeed(sluice(dir).args(["check", "connector.wasm"]));
    let table = String::from_utf8_lossy(&checked.stdout);
    assert!(!table.contains("FAIL"), "{table}");
}

#[test]
fn a_new_rust_connector_builds_passes_check_and_its_tests_pass() {
    let (_parent, dir) = scaffold("rust");
    // The guests' lock file and target directory, so that the SDK's
    // dependencies are those already built (and nothing is fetched).
    std::fs::copy(guests_dir().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target = guests_dir().join("target");
    build_and_check(&dir, |build| {
        build.env("CARGO_TARGET_DIR", &target);
    });
    let host = String::from_utf8(succeed(Command::new("rustc").arg("-vV")).stdout).unwrap();
    let host = host
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .unwrap();
    succeed(
        Command::new("cargo")
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .args(["test", "--target", host]),
    );
}

#[test]
fn a_new_python_connector_builds_passes_check_and_its_tests_pass() {
    let (_parent, dir) = scaffold("python");
    let toolchain = repo().join("build/toolchains/python/bin");
    let componentize_py = toolchain.join("componentize-py");
    assert!(
        componentize_py.is_file(),
        "{}: `make python-toolchain` installs it (make test does)",
        componentize_py.display()
    );
    build_and_check(&dir, |build| {
        build.env("COMPONENTIZE_PY", &componentize_py);
    });
    succeed(Command::new(&componentize_py).current_dir(&dir).args([
        "-d",
        "wit",
        "-w",
        "delivery",
        "bindings",
        ".bindings",
    ]));
    succeed(
        Command::new(toolchain.join("python"))
            .current_dir(&dir)
            .env("PYTHONPATH", ".bindings")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .args(["-m", "unittest", "-v"]),
    );
}

#[test]
fn a_new_javascript_connector_builds_passes_check_and_its_tests_pass() {
    let (_parent, dir) = scaffold("js");
    // `npm ci` in guests/js (make polyglot) filled npm's cache with the
    // same pinned packages.
    build_and_check(&dir, |build| {
        build.env("npm_config_prefer_offline", "true");
    });
    assert!(dir.join("node_modules/.bin/sluice-js-build").exists());
    succeed(Command::new("npm").current_dir(&dir).arg("test"));
}

#[test]
fn new_refuses_a_bad_id_and_a_directory_that_is_not_empty() {
    let parent = tempfile::tempdir().unwrap();
    let output = sluice(parent.path())
        .args(["new", "Acme_Orders"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("id \"Acme_Orders\""), "{said}");
    assert!(!parent.path().join("Acme_Orders").exists());

    std::fs::create_dir(parent.path().join("taken")).unwrap();
    std::fs::write(parent.path().join("taken/notes.txt"), "mine").unwrap();
    let output = sluice(parent.path())
        .args(["new", "acme", "--dir", "taken"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("--dir taken: the directory exists and is not empty"),
        "{said}"
    );
}

#[test]
fn build_outside_a_connector_project_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let output = sluice(dir.path()).arg("build").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("connector.toml"), "{said}");
}
