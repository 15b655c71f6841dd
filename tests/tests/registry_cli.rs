//! A publisher makes a key, packs, signs, verifies, pushes and pulls the
//! bundled Slack connector with the real `sluice` binary; a tampered package
//! is refused naming the step.

use std::path::Path;
use std::process::Command;

use sluice_tests::guests::bundled_connectors_dir;
use sluice_tests::process::sluice_binary;

/// Runs `sluice args…` in `dir`; returns the exit code, stdout and stderr.
fn sluice(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(sluice_binary("debug"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("sluice runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_publisher_packs_signs_verifies_pushes_and_pulls_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let slack = bundled_connectors_dir().join("slack");

    let (code, out, err) = sluice(
        d,
        &["keys", "generate", "--out", "acme", "--publisher", "Acme"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("key id"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("acme.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let policy = std::fs::read_to_string(d.join("acme.pub"))
        .unwrap()
        .replace("connectors = []", "connectors = [\"slack\"]");
    std::fs::write(d.join("trust.toml"), policy).unwrap();

    let (code, out, err) = sluice(d, &["connector", "pack", slack.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("slack-0.2.0.sluicepkg"), "{out}");
    let unsigned = std::fs::read(d.join("slack-0.2.0.sluicepkg")).unwrap();
    let (code, _, err) = sluice(
        d,
        &[
            "connector",
            "pack",
            slack.to_str().unwrap(),
            "-o",
            "again.sluicepkg",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(d.join("again.sluicepkg")).unwrap(),
        unsigned,
        "deterministic"
    );

    let (code, _, err) = sluice(
        d,
        &[
            "connector",
            "verify",
            "slack-0.2.0.sluicepkg",
            "--trust",
            "trust.toml",
        ],
    );
    assert_eq!(code, 1, "unsigned is refused");
    assert!(err.contains("refused at step signature"), "{err}");

    let (code, out, err) = sluice(
        d,
        &[
            "connector",
            "sign",
            "slack-0.2.0.sluicepkg",
            "--key",
            "acme.key",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("signed by Acme"), "{out}");

    let (code, out, err) = sluice(
        d,
        &[
            "connector",
            "verify",
            "slack-0.2.0.sluicepkg",
            "--trust",
            "trust.toml",
        ],
    );
    assert_eq!(code, 0, "{err}");
    for expected in [
        "slack 0.2.0 (Slack)",
        "publisher    Acme (key ",
        "origins      https://hooks.slack.com, https://slack.com",
        "credentials  webhook_url (url, applied by the host (url) to https://hooks.slack.com), bot_token (secret, applied by the host (bearer) to https://slack.com), signing_secret (secret)",
        "limits       timeout 10000 ms, memory 32 MiB",
        "worlds       delivery, inbound",
        "sluice:connector/deliverer@0.1.1",
        "verified: every step passed",
    ] {
        assert!(out.contains(expected), "{expected}:\n{out}");
    }

    let (code, _, err) = sluice(
        d,
        &[
            "connector",
            "verify",
            "slack-0.2.0.sluicepkg",
            "--trust",
            "trust.toml",
            "--max-memory-mib",
            "16",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("refused at step limits: limits.memory_mib is 32"),
        "{err}"
    );

    let mut tampered = std::fs::read(d.join("slack-0.2.0.sluicepkg")).unwrap();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    std::fs::write(d.join("tampered.sluicepkg"), tampered).unwrap();
    let (code, _, err) = sluice(
        d,
        &[
            "connector",
            "verify",
            "tampered.sluicepkg",
            "--trust",
            "trust.toml",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("refused at step digests: component.wasm has digest"),
        "{err}"
    );

    let (code, out, err) = sluice(
        d,
        &[
            "connector",
            "push",
            "slack-0.2.0.sluicepkg",
            "dir://registry/slack:0.2.0",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let manifest_digest = out
        .lines()
        .find_map(|l| l.strip_prefix("manifest   "))
        .expect("the manifest digest is printed")
        .to_owned();
    let (code, _, err) = sluice(
        d,
        &[
            "connector",
            "pull",
            &format!("./registry/slack@{manifest_digest}"),
            "-o",
            "pulled.sluicepkg",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(d.join("pulled.sluicepkg")).unwrap(),
        std::fs::read(d.join("slack-0.2.0.sluicepkg")).unwrap()
    );

    let (code, _, err) = sluice(d, &["connector", "pull", "dir://registry/slack"]);
    assert_eq!(code, 2);
    assert!(err.contains("name a tag or a digest"), "{err}");
}
