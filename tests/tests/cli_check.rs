//! `sluice connector check`: a publisher checks a component before packing
//! it, reads the table, and scripts on the exit status (0 conforms, 1 a
//! scenario failed, 2 bad input) or on `--json`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sluice_tests::guests::guests_dir;
use sluice_tests::process::sluice_binary;

/// Runs `sluice connector check` in `dir` with `args`; returns the exit
/// code, stdout and stderr.
fn check(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(sluice_binary("debug"))
        .current_dir(dir)
        .args(["connector", "check"])
        .args(args)
        .output()
        .expect("sluice runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A directory holding the nonconforming guest as a publisher has it:
/// `connector.toml` beside `connector.wasm`, and `config.toml` with
/// setting `flaw`.
fn nonconforming(flaw: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let guests = guests_dir();
    std::fs::copy(
        guests.join("test-guests/nonconforming/connector.toml"),
        dir.path().join("connector.toml"),
    )
    .unwrap();
    std::fs::copy(
        guests.join("target/wasm32-wasip2/release/nonconforming.wasm"),
        dir.path().join("connector.wasm"),
    )
    .expect("the nonconforming guest is built (make guests)");
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[settings]\nendpoint = \"https://remote.test/events\"\nflaw = \"{flaw}\"\n[credentials]\napi_key = \"key-1\"\n"
        ),
    )
    .unwrap();
    dir
}

/// The table row of `scenario`.
fn row<'a>(table: &'a str, scenario: &str) -> &'a str {
    table
        .lines()
        .find(|line| line.starts_with(&format!("{scenario}  ")))
        .unwrap_or_else(|| panic!("no row {scenario}:\n{table}"))
}

#[test]
fn the_slack_connector_passes_with_exit_status_0_and_a_table_of_every_scenario() {
    let guests = guests_dir();
    let dir = tempfile::tempdir().unwrap();
    let (code, table, stderr) = check(
        dir.path(),
        &[
            guests
                .join("target/wasm32-wasip2/release/slack.wasm")
                .to_str()
                .unwrap(),
            "--manifest",
            guests
                .join("connectors/slack/connector.toml")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}\n{table}");
    assert!(table.starts_with("slack 0.2.0\n"), "{table}");
    let header = table.lines().nth(2).unwrap();
    for column in ["SCENARIO", "EXPECTED", "GOT", "RESULT"] {
        assert!(header.contains(column), "{table}");
    }
    assert!(
        row(&table, "deliver: 429 Retry-After: 7").ends_with("pass"),
        "{table}"
    );
    assert!(row(&table, "deliver: 5xx").contains("retry"), "{table}");
    assert!(
        table.ends_with("conforms: 15 passed, 0 failed, 0 skipped\n"),
        "{table}"
    );
}

#[test]
fn a_component_answering_delivered_on_a_500_exits_1_naming_the_scenario() {
    let dir = nonconforming("delivered-on-5xx");
    // The manifest is found beside the component.
    let (code, table, stderr) = check(dir.path(), &["connector.wasm", "--config", "config.toml"]);
    assert_eq!(code, 1, "{stderr}\n{table}");
    let failing = row(&table, "deliver: 5xx");
    assert!(failing.ends_with("FAIL"), "{table}");
    assert!(failing.contains("delivered"), "{table}");
    assert!(row(&table, "deliver: 2xx").ends_with("pass"), "{table}");
    assert!(
        table.contains("FAIL deliver: 5xx: expected retry, got delivered"),
        "{table}"
    );
    assert!(
        table.ends_with("does not conform: 14 passed, 1 failed, 0 skipped\n"),
        "{table}"
    );
}

#[test]
fn json_gives_machines_the_report_with_each_scenarios_verdict() {
    let dir = nonconforming("trap-on-malformed-event");
    let (code, stdout, stderr) = check(
        dir.path(),
        &["connector.wasm", "--config", "config.toml", "--json"],
    );
    assert_eq!(code, 1, "{stderr}\n{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("the report as JSON");
    assert_eq!(report["connector"], "nonconforming");
    assert_eq!(report["passed"], false);
    assert_eq!(report["summary"]["failed"], 2);
    let verdict = |scenario: &str| {
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["scenario"] == scenario)
            .map(|s| s["verdict"].clone())
            .unwrap_or_else(|| panic!("no scenario {scenario}: {report:#}"))
    };
    assert_eq!(verdict("malformed event: payload not JSON"), "fail");
    assert_eq!(verdict("malformed event: payload {}"), "fail");
    assert_eq!(verdict("deliver: 5xx"), "pass");
}

#[test]
fn bad_input_exits_2_naming_the_flag_and_the_field() {
    let dir = nonconforming("none");

    std::fs::write(
        dir.path().join("unknown.toml"),
        "[settings]\nendpoint = \"https://remote.test/events\"\nnope = \"x\"\n[credentials]\napi_key = \"k\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(dir.path(), &["connector.wasm", "--config", "unknown.toml"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr.contains("--config unknown.toml: settings.nope: is not declared"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");

    // The sample event is read relative to the configuration file.
    std::fs::create_dir(dir.path().join("samples")).unwrap();
    std::fs::write(
        dir.path().join("samples/event.json"),
        r#"{"id":"e1","type":"inventory.updated","store_id":"s1","occurred_at":"2026-01-01T00:00:00Z","payload":{"sku":"A","quantity":1}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("samples/config.toml"),
        "event = \"event.json\"\n[settings]\nendpoint = \"https://remote.test/events\"\n[credentials]\napi_key = \"k\"\n",
    )
    .unwrap();
    let (code, _, stderr) = check(
        dir.path(),
        &["connector.wasm", "--config", "samples/config.toml"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr
            .contains("event: type inventory.updated is not among the manifest's events (order.*)"),
        "{stderr}"
    );

    let empty = tempfile::tempdir().unwrap();
    let (code, _, stderr) = check(empty.path(), &["connector.wasm"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--manifest connector.toml"), "{stderr}");
    std::fs::write(dir.path().join("bad.toml"), "id = \"x\"\n").unwrap();
    let (code, _, stderr) = check(dir.path(), &["connector.wasm", "--manifest", "bad.toml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--manifest bad.toml: invalid connector manifest"),
        "{stderr}"
    );

    let (code, _, stderr) = check(
        dir.path(),
        &["nowhere/connector.wasm", "--manifest", "connector.toml"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("nowhere/connector.wasm"), "{stderr}");
}
