//! `sluice connector invoke`: a connector author runs the shipped Slack
//! component locally, pointed at the fake Slack with an egress file, and
//! reads the outcome and the invocation report as JSON.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sluice_tests::TestCa;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::guests::bundled_connectors_dir;
use sluice_tests::process::sluice_binary;

/// Runs `sluice connector invoke` with the Slack component and `args`;
/// returns the exit code, stdout as JSON (Null if not JSON) and stderr.
fn invoke(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let slack = bundled_connectors_dir().join("slack");
    let output = Command::new(sluice_binary("debug"))
        .current_dir(dir)
        // The default compiled cache, $XDG_CACHE_HOME/sluice, in the test's directory.
        .env("XDG_CACHE_HOME", dir)
        .args(["connector", "invoke", "--component"])
        .arg(slack.join("connector.wasm"))
        .args(args)
        .output()
        .expect("sluice runs");
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_author_delivers_an_event_file_to_the_fake_slack_and_reads_the_report() {
    let ca = TestCa::new().unwrap();
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled())
        .await
        .unwrap();
    let channel = slack.create_channel("dev", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);
    let dir = tempfile::tempdir().unwrap();
    let resolve: String = slack
        .egress_overrides()
        .iter()
        .map(|(host, addr)| format!("\"{host}\" = \"{addr}\"\n"))
        .collect();
    std::fs::write(
        dir.path().join("egress.toml"),
        format!(
            "ca_certificates = [{:?}]\n[resolve]\n{resolve}",
            ca.pem_path()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[settings]\nmode = \"incoming-webhook\"\n[credentials]\nwebhook_url = \"{webhook_url}\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("event.json"),
        r#"{"id":"evt_1","type":"order.placed","store_id":"s1","occurred_at":"2026-11-30T10:00:00Z",
           "payload":{"marketplace":"web","order_id":"1001","status":"pending","line_items":[],"total":{"amount":"5.00","currency":"USD"}}}"#,
    )
    .unwrap();
    let common = ["--config", "config.toml", "--egress", "egress.toml"];

    let (code, printed, stderr) = invoke(
        dir.path(),
        &[&common[..], &["deliver", "--event", "event.json"]].concat(),
    );
    assert_eq!(code, 0, "{stderr}\n{printed:#}");
    let result = printed["result"].to_string().to_lowercase();
    assert!(result.contains("delivered"), "{printed:#}");
    assert_eq!(printed["report"]["egress"][0]["status"], 200, "{printed:#}");
    assert!(printed["report"]["fuel_consumed"].as_u64().unwrap() > 0);
    assert_eq!(slack.messages_in(&channel).len(), 1);

    let (code, printed, stderr) = invoke(dir.path(), &[&common[..], &["test-connection"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert!(printed["result"]["status"].is_string(), "{printed:#}");
}

#[test]
fn a_missing_event_file_is_a_clear_error_with_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, printed, stderr) = invoke(dir.path(), &["deliver", "--event", "nowhere.json"]);
    assert_eq!(code, 2);
    assert_eq!(printed, Value::Null);
    assert!(stderr.contains("nowhere.json"), "{stderr}");
}

#[test]
fn the_help_tells_a_connector_author_what_the_command_is_for() {
    let output = Command::new(sluice_binary("debug"))
        .args(["connector", "invoke", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("first tool of a connector author"), "{help}");
}

/// The compiled artifacts in `cache`.
fn artifacts(cache: &Path) -> usize {
    std::fs::read_dir(cache).map_or(0, |entries| {
        entries
            .filter(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            })
            .count()
    })
}

#[test]
fn the_component_is_compiled_once_and_then_loaded_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("compiled");
    let args = ["--cache-dir", "compiled", "test-connection"];

    let (code, printed, first) = invoke(dir.path(), &args);
    assert_eq!(code, 0, "{first}\n{printed:#}");
    assert!(first.contains("compiled in"), "{first}");
    assert_eq!(artifacts(&cache), 1);

    let (code, _, second) = invoke(dir.path(), &args);
    assert_eq!(code, 0, "{second}");
    assert!(second.contains("from the compiled cache"), "{second}");

    // Without --cache-dir: $XDG_CACHE_HOME/sluice.
    let (code, _, _) = invoke(dir.path(), &["test-connection"]);
    assert_eq!(code, 0);
    assert_eq!(artifacts(&dir.path().join("sluice")), 1);
}

#[test]
fn a_bad_event_or_configuration_is_refused_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("compiled");
    std::fs::write(
        dir.path().join("event.json"),
        r#"{"id":"evt_1","type":"order.placed","store_id":"s1","occurred_at":"2026-11-30T10:00:00Z","payload":{}}"#,
    )
    .unwrap();
    let (code, _, stderr) = invoke(
        dir.path(),
        &[
            "--cache-dir",
            "compiled",
            "deliver",
            "--event",
            "event.json",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--event event.json: payload"), "{stderr}");
    assert!(!stderr.contains("compiled in"), "{stderr}");
    assert_eq!(artifacts(&cache), 0, "nothing was compiled");

    std::fs::write(dir.path().join("config.toml"), "[settings]\nmode = 3\n").unwrap();
    let (code, _, stderr) = invoke(
        dir.path(),
        &[
            "--cache-dir",
            "compiled",
            "--config",
            "config.toml",
            "test-connection",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--config"), "{stderr}");
    assert_eq!(artifacts(&cache), 0, "nothing was compiled");
}

#[test]
fn the_egress_example_in_the_help_keeps_its_lines() {
    let output = Command::new(sluice_binary("debug"))
        .args(["connector", "invoke", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = help.lines().map(str::trim).collect();
    let example = [
        r#"ca_certificates = ["test-ca.pem"]"#,
        "[resolve]",
        r#""hooks.slack.com:443" = "127.0.0.1:8443""#,
    ];
    assert!(lines.windows(3).any(|window| window == example), "{help}");
}
