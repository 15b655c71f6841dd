//! The conformance kit on real components: the bundled Slack connector and
//! its Python and JavaScript versions pass every scenario, and a test guest
//! breaking one rule of the contract at a time fails exactly the scenario
//! about that rule, with a message naming it.

use std::path::Path;

use sluice_conformance::{Configuration, Report, Scenario, Verdict, check};
use sluice_tests::guests::{guest, guests_dir};

/// The manifest text and component of a guest, by its folder under `guests/`.
fn component(folder: &str) -> (String, Vec<u8>) {
    let manifest = std::fs::read_to_string(guests_dir().join(folder).join("connector.toml"))
        .expect("the guest's manifest");
    let (_, wasm) = guest(folder);
    (manifest, wasm)
}

/// The nonconforming guest's configuration with setting `flaw`.
fn with_flaw(flaw: &str) -> Configuration {
    Configuration::parse(
        &format!(
            "[settings]\nendpoint = \"https://remote.test/events\"\nflaw = \"{flaw}\"\n[credentials]\napi_key = \"key-1\"\n"
        ),
        Path::new("."),
    )
    .unwrap()
}

/// The scenarios that failed, by name.
fn failed(report: &Report) -> Vec<&'static str> {
    report.failures().map(|f| f.scenario.name()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_slack_connector_passes_every_scenario() {
    let (manifest, wasm) = component("connectors/slack");
    let report = check(&manifest, &wasm, None).await.unwrap();
    assert!(report.passed, "{}", report.table());
    assert_eq!(
        report.summary.passed,
        Scenario::ALL.len(),
        "every scenario ran: {}",
        report.table()
    );
    assert_eq!(
        report.fake_origins,
        ["https://hooks.slack.com", "https://slack.com"]
    );

    // Slack's default mode sends through the incoming webhook, whose URL
    // (made up to match the manifest's pattern) the host applies.
    let delivered = report.get(Scenario::Deliver2xx).unwrap();
    assert_eq!(delivered.got, "delivered");
    let request = &delivered.egress[0];
    assert_eq!(request.origin, "https://hooks.slack.com:443");
    assert_eq!(request.credential.as_deref(), Some("webhook_url"));
    assert_eq!(request.status, Some(200));

    let rate_limited = report.get(Scenario::Deliver429).unwrap();
    assert_eq!(rate_limited.got, "retry after 7 s, remote status 429");
    let refused = report.get(Scenario::DeliverRefused).unwrap();
    assert!(
        refused.egress.iter().any(|r| r.refused.is_some()),
        "{refused:?}"
    );
    let timeout = report.get(Scenario::DeliverTimeout).unwrap();
    assert!(timeout.got.starts_with("retry"), "{timeout:?}");
}

/// The Slack webhook sender written in Python and in JavaScript (built by
/// `make polyglot` with componentize-py and componentize-js) passes as the
/// Rust connector does, its webhook URL applied by the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_and_javascript_slack_webhook_connectors_pass_every_scenario() {
    for id in ["slack-webhook-python", "slack-webhook-js"] {
        let dir = guests_dir().join("../build/polyglot").join(id);
        let manifest = std::fs::read_to_string(dir.join("connector.toml"))
            .unwrap_or_else(|e| panic!("{}: {e} (make polyglot builds it)", dir.display()));
        let wasm = std::fs::read(dir.join("connector.wasm")).unwrap();
        let report = check(&manifest, &wasm, None).await.unwrap();
        assert!(report.passed, "{id}:\n{}", report.table());
        assert_eq!(report.summary.passed, Scenario::ALL.len(), "{id}");
        let request = &report.get(Scenario::Deliver2xx).unwrap().egress[0];
        assert_eq!(request.origin, "https://hooks.slack.com:443", "{id}");
        assert_eq!(request.credential.as_deref(), Some("webhook_url"), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nonconforming_guest_without_its_flaw_passes_with_its_credential_applied_by_the_host() {
    let (manifest, wasm) = component("test-guests/nonconforming");
    let report = check(&manifest, &wasm, Some(with_flaw("none")))
        .await
        .unwrap();
    assert!(report.passed, "{}", report.table());
    let request = &report.get(Scenario::Deliver2xx).unwrap().egress[0];
    assert_eq!(request.origin, "https://remote.test:443");
    assert_eq!(request.path, "/events");
    assert_eq!(request.credential.as_deref(), Some("api_key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_answering_delivered_on_a_500_fails_the_5xx_scenario() {
    let (manifest, wasm) = component("test-guests/nonconforming");
    let report = check(&manifest, &wasm, Some(with_flaw("delivered-on-5xx")))
        .await
        .unwrap();
    assert!(!report.passed);
    assert_eq!(failed(&report), ["deliver: 5xx"], "{}", report.table());
    let row = report.get(Scenario::Deliver5xx).unwrap();
    assert_eq!(row.got, "delivered");
    assert!(
        row.failure_message()
            .starts_with("FAIL deliver: 5xx: expected retry, got delivered"),
        "{}",
        row.failure_message()
    );
    assert!(
        report
            .table()
            .contains("FAIL deliver: 5xx: expected retry, got delivered"),
        "{}",
        report.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_trapping_on_a_malformed_event_fails_both_malformed_event_scenarios() {
    let (manifest, wasm) = component("test-guests/nonconforming");
    let report = check(&manifest, &wasm, Some(with_flaw("trap-on-malformed-event")))
        .await
        .unwrap();
    assert_eq!(
        failed(&report),
        [
            "malformed event: payload not JSON",
            "malformed event: payload {}"
        ],
        "{}",
        report.table()
    );
    let not_json = report.get(Scenario::MalformedNotJson).unwrap();
    assert!(
        not_json.got.contains("trapped") && not_json.got.contains("the payload is JSON"),
        "the guest's panic message is in the row: {not_json:?}"
    );
    let empty = report.get(Scenario::MalformedEmptyObject).unwrap();
    assert!(empty.got.contains("the payload has fields"), "{empty:?}");
    assert!(
        report
            .table()
            .contains("FAIL malformed event: payload {}: expected an outcome, no trap, got"),
        "{}",
        report.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_missing_an_export_its_manifest_declares_fails_the_exports_scenario() {
    let (manifest, wasm) = component("test-guests/nonconforming");
    // The manifest now declares world sync, which the component does not export.
    let manifest = format!("{manifest}\n[sync]\nentities = [\"orders\"]\n");
    let report = check(&manifest, &wasm, Some(with_flaw("none")))
        .await
        .unwrap();
    assert!(!report.passed);
    let exports = report.get(Scenario::Exports).unwrap();
    assert_eq!(exports.verdict, Verdict::Fail);
    assert!(
        exports.got.contains("world sync") && exports.got.contains("syncer"),
        "{exports:?}"
    );
    assert!(
        exports.failure_message().starts_with("FAIL exports: "),
        "{}",
        exports.failure_message()
    );
    // The sandbox refuses to load it for the same reason, so nothing runs.
    let load = report.get(Scenario::Load).unwrap();
    assert_eq!(load.verdict, Verdict::Fail);
    assert!(load.got.contains("syncer"), "{load:?}");
    assert_eq!(failed(&report), ["exports", "load"], "{}", report.table());
    assert!(
        Scenario::ALL
            .iter()
            .filter(|s| **s > Scenario::Load)
            .all(|s| report.get(*s).unwrap().verdict == Verdict::Skip),
        "{}",
        report.table()
    );
}
