use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use sluice_egress::{Egress, EgressError, EgressRecord, StaticResolver};
use sluice_manifest::Manifest;
use sluice_runtime::types::{
    Delivered, DeliveryOutcome, PermanentFailure, RemoteError, RetryLater,
};
use sluice_runtime::{Invocation, InvocationFailure, InvocationReport};

use crate::remote::{Answer, FakeRemote, Origins, token_paths};
use crate::report::{Report, Scenario, ScenarioResult, Verdict};
use crate::run::{
    describe_outcome, duration_ceiling, judge_delivery, memory_ceiling, request_timeout_ms,
    sample_event,
};
use crate::sample::{SampleEvent, matching_value};
use crate::{CheckError, Configuration, check};

const MANIFEST: &str = r#"
id = "acme-erp"
name = "Acme ERP"
version = "0.3.0"
category = "erp"
description = "Sends orders to Acme ERP."
events = ["order.*"]

[[credentials]]
key = "api_key"
label = "API key"
kind = "secret"
required = true
pattern = 'ak_[0-9]{4}'
[credentials.auth]
scheme = "header"
name = "x-api-key"
origins = ["https://api.acme.test"]

[[credentials]]
key = "hook_url"
label = "Hook URL"
kind = "url"
[credentials.auth]
scheme = "url"
origins = ["https://hooks.acme.test"]

[[credentials]]
key = "service_account"
label = "Service account key"
kind = "secret"
[credentials.auth]
scheme = "oauth2-jwt-bearer"
origins = ["https://api.acme.test"]
token_url = "https://api.acme.test/oauth/token"
scopes = ["orders"]

[[settings]]
key = "region"
label = "Region"
kind = "select"
options = ["eu", "us"]

[[settings]]
key = "account"
label = "Account"
kind = "text"
required = true

[[settings]]
key = "sandbox"
label = "Sandbox"
kind = "boolean"

[[settings]]
key = "callback"
label = "Callback"
kind = "url"

[[settings]]
key = "format"
label = "Format"
kind = "text"
default = "compact"

[egress]
allowed_origins = ["https://api.acme.test", "https://hooks.acme.test", "https://*.cdn.acme.test"]

[limits]
timeout_ms = 4000
memory_mib = 20
"#;

fn manifest() -> Manifest {
    Manifest::parse(MANIFEST).unwrap()
}

fn matches_whole(pattern: &str, value: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .unwrap()
        .is_match(value)
}

#[test]
fn a_made_up_value_matches_the_fields_pattern() {
    for pattern in [
        r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
        r"xoxb-[A-Za-z0-9-]+",
        r"(eu|na)-[0-9]{3}",
        r"[A-Z]{2}\d{2}(?:-[a-f0-9]{4})?",
        r"sk_(live|test)_\w{8,}",
    ] {
        let value = matching_value(pattern).unwrap();
        assert!(matches_whole(pattern, &value), "{pattern}: {value:?}");
    }
    assert_eq!(matching_value("(eu|na)-[0-9]{3}").unwrap(), "eu-000");
    assert_eq!(matching_value("unclosed("), None);
}

#[test]
fn the_sample_event_is_one_the_manifest_handles_with_a_valid_payload() {
    let with_events = |events: &str| {
        Manifest::parse(&MANIFEST.replace(r#"events = ["order.*"]"#, events)).unwrap()
    };
    let cases = [
        (r#"events = ["*"]"#, "order.placed"),
        (r#"events = ["order.*"]"#, "order.placed"),
        (r#"events = ["inventory.*"]"#, "inventory.updated"),
        (r#"events = ["order.fulfilled"]"#, "order.fulfilled"),
        (r#"events = ["product.updated"]"#, "product.updated"),
        (r#"events = ["shipment.*"]"#, "shipment.conformance"),
        (r#"events = ["ticket.created"]"#, "ticket.created"),
    ];
    for (events, event_type) in cases {
        let sample = SampleEvent::for_manifest(&with_events(events));
        assert_eq!(sample.event_type, event_type, "{events}");
        let problems = sluice_events::payload::validate(&sample.event_type, &sample.payload);
        assert!(problems.is_empty(), "{event_type}: {problems:?}");
    }
}

#[test]
fn a_made_up_configuration_fits_the_manifest_and_points_urls_at_the_fake() {
    let manifest = manifest();
    let origins = Origins::of(&manifest);
    let configuration = Configuration::synthesize(&manifest, &origins).unwrap();
    let checked = manifest
        .check_configuration(&configuration.settings, &configuration.credentials)
        .unwrap();
    let setting = |key: &str| checked.settings[key].as_str();
    assert_eq!(setting("region"), "eu", "first option");
    assert_eq!(setting("account"), "conformance");
    assert_eq!(setting("sandbox"), "false");
    assert_eq!(setting("callback"), "https://api.acme.test/conformance");
    assert_eq!(setting("format"), "compact", "the default");
    let credential = |key: &str| checked.credentials[key].as_str();
    assert!(matches_whole("ak_[0-9]{4}", credential("api_key")));
    assert_eq!(
        credential("hook_url"),
        "https://hooks.acme.test/conformance",
        "a url credential goes to the origin it is bound to"
    );
    let key: serde_json::Value = serde_json::from_str(credential("service_account")).unwrap();
    assert!(
        key["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_eq!(key["token_uri"], "https://api.acme.test/oauth/token");
    assert!(configuration.event.is_none());
}

#[test]
fn the_made_up_service_account_key_signs_an_assertion() {
    let manifest = manifest();
    let configuration = Configuration::synthesize(&manifest, &Origins::of(&manifest)).unwrap();
    let key = configuration.credentials["service_account"]
        .as_str()
        .unwrap();
    // The host signs with it exactly as with a real key.
    let assertion = sluice_auth_assertion(key);
    assert_eq!(assertion.split('.').count(), 3, "{assertion}");
}

/// Signs an assertion with the host's own JWT code.
fn sluice_auth_assertion(key: &str) -> String {
    sluice_auth::jwt::assertion(
        key,
        "https://api.acme.test/oauth/token",
        &["orders".to_owned()],
        1_767_261_600,
    )
    .unwrap()
}

#[test]
fn origins_map_concrete_origins_and_leave_wildcards_out() {
    let origins = Origins::of(&manifest());
    assert_eq!(
        origins.mapped(),
        ["https://api.acme.test", "https://hooks.acme.test"]
    );
    assert_eq!(origins.unmapped(), ["https://*.cdn.acme.test"]);
    let hooks = ["https://hooks.acme.test".to_owned()];
    assert!(origins.maps_on("https://hooks.acme.test/services/x", &hooks));
    assert!(origins.maps_on("https://HOOKS.acme.test:443/", &hooks));
    assert!(!origins.maps_on("https://hooks.acme.test:8443/", &hooks));
    assert!(!origins.maps_on("http://hooks.acme.test/", &hooks));
    assert!(
        !origins.maps_on("https://api.acme.test/", &hooks),
        "mapped, but not one of these"
    );
    let wildcard = ["https://*.cdn.acme.test".to_owned()];
    assert!(!origins.maps_on("https://a.cdn.acme.test/", &wildcard));
    assert_eq!(origins.mapped_of(&hooks), hooks);
    assert_eq!(token_paths(&manifest()), ["/oauth/token"]);
}

#[test]
fn a_configuration_file_names_its_faults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("order.json"), "{}").unwrap();
    let parsed = Configuration::parse(
        "event = \"order.json\"\n[settings]\naccount = \"42\"\n[credentials]\napi_key = \"ak_1234\"\n",
        dir.path(),
    )
    .unwrap();
    assert_eq!(parsed.settings["account"], "42");
    assert_eq!(parsed.credentials["api_key"], "ak_1234");
    assert_eq!(parsed.event.as_deref(), Some(&b"{}"[..]));

    let unknown = Configuration::parse("[setting]\nx = 1\n", dir.path()).unwrap_err();
    assert!(
        matches!(&unknown, CheckError::Configuration { field, message } if field == "<file>" && message.contains("unknown field `setting`")),
        "{unknown}"
    );
    let missing = Configuration::parse("event = \"nowhere.json\"\n", dir.path()).unwrap_err();
    assert!(
        matches!(&missing, CheckError::Configuration { field, message } if field == "event" && message.contains("nowhere.json")),
        "{missing}"
    );
}

#[test]
fn an_event_file_must_hold_one_event_of_a_type_the_manifest_handles() {
    let manifest = manifest();
    let event = |event_type: &str| {
        format!(
            r#"{{"id":"e1","type":"{event_type}","store_id":"s1","occurred_at":"2026-01-01T00:00:00Z","payload":{{"order_id":"1"}}}}"#
        )
    };
    let sample = sample_event(&manifest, Some(event("order.cancelled").as_bytes())).unwrap();
    assert_eq!(sample.event_type, "order.cancelled");
    assert_eq!(sample.payload, r#"{"order_id":"1"}"#);

    let field_of = |error: CheckError| match error {
        CheckError::Configuration { field, message } => format!("{field}: {message}"),
        other => panic!("expected a configuration error, got {other}"),
    };
    let unhandled =
        field_of(sample_event(&manifest, Some(event("customer.created").as_bytes())).unwrap_err());
    assert!(
        unhandled.starts_with(
            "event: type customer.created is not among the manifest's events (order.*)"
        ),
        "{unhandled}"
    );
    let batch = format!(
        "[{},{}]",
        event("order.cancelled"),
        event("order.cancelled")
    );
    let batch = field_of(sample_event(&manifest, Some(batch.as_bytes())).unwrap_err());
    assert!(batch.contains("one event"), "{batch}");
    let broken = field_of(sample_event(&manifest, Some(b"{")).unwrap_err());
    assert!(broken.starts_with("event: <body>"), "{broken}");
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_runs_naming_the_field() {
    let not_a_component = b"not wasm";
    let configuration = |settings: &str, credentials: &str| {
        Some(
            Configuration::parse(
                &format!("[settings]\n{settings}\n[credentials]\n{credentials}\n"),
                std::path::Path::new("."),
            )
            .unwrap(),
        )
    };
    let field = |result: Result<Report, CheckError>| match result {
        Err(CheckError::Configuration { field, .. }) => field,
        other => panic!("expected a configuration error, got {other:?}"),
    };

    let manifest_error = check("id = 7", not_a_component, None).await.unwrap_err();
    assert!(
        matches!(manifest_error, CheckError::Manifest(_)),
        "{manifest_error}"
    );

    let unknown = check(
        MANIFEST,
        not_a_component,
        configuration("account = \"1\"\nnope = \"x\"", "api_key = \"ak_1234\""),
    )
    .await;
    assert_eq!(field(unknown), "settings.nope");

    let missing = check(
        MANIFEST,
        not_a_component,
        configuration("", "api_key = \"ak_1234\""),
    )
    .await;
    assert_eq!(field(missing), "settings.account");

    let elsewhere = check(
        MANIFEST,
        not_a_component,
        configuration(
            "account = \"1\"",
            "api_key = \"ak_1234\"\nhook_url = \"https://api.acme.test/hook\"",
        ),
    )
    .await;
    assert_eq!(
        field(elsewhere),
        "credentials.hook_url",
        "a url credential off the origin it is bound to cannot reach the fake"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_component_fails_the_component_scenario_and_skips_the_rest() {
    let report = check(MANIFEST, b"not wasm", None).await.unwrap();
    assert!(!report.passed);
    let component = report.get(Scenario::Component).unwrap();
    assert_eq!(component.verdict, Verdict::Fail);
    assert!(
        component.got.contains("not WebAssembly"),
        "{}",
        component.got
    );
    for scenario in [Scenario::Imports, Scenario::Exports] {
        assert_eq!(report.get(scenario).unwrap().verdict, Verdict::Skip);
    }
    let load = report.get(Scenario::Load).unwrap();
    assert_eq!(load.verdict, Verdict::Fail);
    assert!(
        load.got.starts_with("not a loadable component") && !load.got.contains('\n'),
        "one line per row: {}",
        load.got
    );
    for scenario in Scenario::ALL.into_iter().filter(|s| *s > Scenario::Load) {
        let row = report.get(scenario).unwrap();
        assert_eq!(row.verdict, Verdict::Skip, "{scenario}");
        assert_eq!(row.detail.as_deref(), Some("the component did not load"));
    }
    assert_eq!(report.summary.failed, 2);
    assert_eq!(report.summary.skipped, 13);
    assert!(
        report
            .notes
            .iter()
            .any(|note| note.contains("https://*.cdn.acme.test")),
        "{:?}",
        report.notes
    );
}

fn invocation(result: Result<DeliveryOutcome, InvocationFailure>) -> Invocation<DeliveryOutcome> {
    Invocation {
        result,
        report: InvocationReport::default(),
    }
}

fn retry(after_seconds: Option<u32>, status: Option<u16>) -> DeliveryOutcome {
    DeliveryOutcome::Retry(RetryLater {
        reason: "the remote failed".to_owned(),
        after_seconds,
        remote: status.map(remote),
    })
}

fn failed(status: Option<u16>) -> DeliveryOutcome {
    DeliveryOutcome::Failed(PermanentFailure {
        reason: "the remote refused".to_owned(),
        remote: status.map(remote),
    })
}

fn remote(status: u16) -> RemoteError {
    RemoteError {
        status: Some(status),
        code: None,
        message: None,
    }
}

fn delivered() -> DeliveryOutcome {
    DeliveryOutcome::Delivered(Delivered { external_id: None })
}

fn verdict(scenario: Scenario, outcome: DeliveryOutcome) -> Verdict {
    judge_delivery(scenario, String::new(), &invocation(Ok(outcome))).verdict
}

#[test]
fn each_delivery_scenario_accepts_only_the_outcome_the_contract_expects() {
    use Scenario::*;
    use Verdict::{Fail, Pass};
    let cases = [
        (Deliver2xx, delivered(), Pass),
        (Deliver2xx, retry(None, Some(200)), Fail),
        (Deliver5xx, retry(None, Some(500)), Pass),
        (Deliver5xx, delivered(), Fail),
        (Deliver5xx, failed(Some(500)), Fail),
        (DeliverTimeout, retry(None, None), Pass),
        (DeliverTimeout, failed(None), Fail),
        (Deliver429, retry(Some(7), Some(429)), Pass),
        (Deliver429, retry(None, Some(429)), Fail),
        (Deliver429, retry(Some(60), Some(429)), Fail),
        (Deliver4xx, failed(Some(400)), Pass),
        (Deliver4xx, failed(None), Fail),
        (Deliver4xx, retry(None, Some(400)), Fail),
        (MalformedNotJson, failed(None), Pass),
        (MalformedEmptyObject, delivered(), Pass),
    ];
    for (scenario, outcome, expected) in cases {
        let described = describe_outcome(&outcome);
        assert_eq!(
            verdict(scenario, outcome),
            expected,
            "{scenario}: {described}"
        );
    }
}

#[test]
fn a_refused_origin_passes_only_with_a_refusal_in_the_egress_records_and_no_delivery() {
    let refused = EgressRecord {
        method: "POST".to_owned(),
        origin: "https://api.acme.test:443".to_owned(),
        path: "/orders".to_owned(),
        refused: Some(
            "origin https://api.acme.test:443 is not in the connector's allowed origins".to_owned(),
        ),
        ..EgressRecord::default()
    };
    let with_egress = |outcome, egress: Vec<EgressRecord>| {
        let mut call = invocation(Ok(outcome));
        call.report.egress = egress;
        judge_delivery(Scenario::DeliverRefused, String::new(), &call)
    };
    let passed = with_egress(failed(None), vec![refused.clone()]);
    assert_eq!(passed.verdict, Verdict::Pass);
    assert_eq!(passed.got, "failed; 1 request refused");
    assert!(
        passed
            .detail
            .as_deref()
            .unwrap()
            .contains("refused: origin https://api.acme.test:443"),
        "{passed:?}"
    );
    assert_eq!(passed.egress, std::slice::from_ref(&refused));
    let concealed = EgressRecord {
        path: "(the URL of credential hook_url)".to_owned(),
        status: Some(200),
        refused: None,
        ..refused.clone()
    };
    let delivered_row = judge_delivery(
        Scenario::Deliver2xx,
        String::new(),
        &Invocation {
            result: Ok(delivered()),
            report: InvocationReport {
                egress: vec![concealed],
                ..InvocationReport::default()
            },
        },
    );
    assert_eq!(
        delivered_row.detail.as_deref(),
        Some("requests: POST https://api.acme.test:443 (the URL of credential hook_url) → 200")
    );

    let unreported = with_egress(retry(None, None), Vec::new());
    assert_eq!(unreported.verdict, Verdict::Fail);
    assert_eq!(unreported.got, "retry; no refusal in the egress records");

    assert_eq!(
        with_egress(delivered(), vec![refused]).verdict,
        Verdict::Fail,
        "delivered although nothing was sent"
    );
}

#[test]
fn a_trap_fails_any_scenario_with_the_traps_message() {
    let trap = InvocationFailure::Trap {
        message:
            "wasm trap: unreachable; guest stderr: panicked at src/lib.rs:9: the payload is JSON"
                .to_owned(),
    };
    let row = judge_delivery(
        Scenario::MalformedNotJson,
        "an outcome, no trap".to_owned(),
        &invocation(Err(trap)),
    );
    assert_eq!(row.verdict, Verdict::Fail);
    assert!(row.got.starts_with("the connector trapped"), "{}", row.got);
    assert_eq!(
        row.failure_message(),
        "FAIL malformed event: payload not JSON: expected an outcome, no trap, got the connector trapped: wasm trap: unreachable; guest stderr: panicked at src/lib.rs:9: the payload is JSON (no request was made)"
    );
}

#[test]
fn outcomes_are_described_in_a_few_words() {
    assert_eq!(describe_outcome(&delivered()), "delivered");
    assert_eq!(
        describe_outcome(&retry(Some(7), Some(429))),
        "retry after 7 s, remote status 429"
    );
    assert_eq!(describe_outcome(&retry(None, None)), "retry");
    assert_eq!(
        describe_outcome(&failed(Some(400))),
        "failed, remote status 400"
    );
}

#[test]
fn limits_leave_room_to_spare_and_the_egress_gives_up_well_within_the_time_limit() {
    assert_eq!(memory_ceiling(32), 24 * 1024 * 1024);
    assert_eq!(duration_ceiling(10_000), 5_000);
    assert_eq!(request_timeout_ms(10_000), 1_000);
    assert_eq!(request_timeout_ms(1_000), 200);
    assert_eq!(request_timeout_ms(100), 50);
}

#[test]
fn the_table_lines_up_the_rows_lists_failures_in_full_and_sums_up() {
    let long_reason = "x".repeat(80);
    let report = Report::new(
        "acme-erp".to_owned(),
        "0.3.0".to_owned(),
        vec!["https://api.acme.test".to_owned()],
        vec!["settings were made up".to_owned()],
        vec![
            ScenarioResult::new(Scenario::Deliver2xx, "delivered", "delivered", true),
            ScenarioResult::new(Scenario::Deliver5xx, "retry", long_reason.clone(), false)
                .with_detail("reason: the remote failed"),
            ScenarioResult::skipped(Scenario::TestConnection, "a status, no trap", "no export"),
        ],
    );
    assert!(!report.passed);
    let table = report.table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "acme-erp 0.3.0");
    let header = lines[2];
    assert!(header.starts_with("SCENARIO"), "{table}");
    let got_column = header.find("GOT").unwrap();
    let row = lines[4];
    assert!(row.starts_with("deliver: 5xx"), "{table}");
    assert_eq!(row.find("xxx"), Some(got_column), "{table}");
    assert!(row.ends_with("FAIL"), "{table}");
    assert!(
        row.contains('…'),
        "the long got is cut in the table: {table}"
    );
    assert!(lines[5].ends_with("skip"), "{table}");
    assert!(
        table.contains(&format!(
            "FAIL deliver: 5xx: expected retry, got {long_reason} (reason: the remote failed)"
        )),
        "{table}"
    );
    assert!(table.contains("note: settings were made up"), "{table}");
    assert!(
        table.ends_with("does not conform: 1 passed, 1 failed, 1 skipped\n"),
        "{table}"
    );

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["scenarios"][1]["scenario"], "deliver: 5xx");
    assert_eq!(json["scenarios"][1]["verdict"], "fail");
    assert_eq!(json["summary"]["skipped"], 1);
}

/// Sends `method path` to the fake through the real egress client.
async fn send(
    egress: &Egress,
    method: &str,
    url: &str,
) -> Result<(u16, Option<String>, String), EgressError> {
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::from_static(b"{\"a\":1}")))
        .unwrap();
    let scope = egress.call_scope(None, None);
    let response = egress.send(request, &scope).await?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok((
        status,
        retry_after,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

#[tokio::test]
async fn the_fake_remote_answers_over_tls_as_told_and_always_grants_tokens() {
    let manifest = manifest();
    let origins = Origins::of(&manifest);
    let fake = FakeRemote::start(&origins, token_paths(&manifest))
        .await
        .unwrap();
    let egress = Egress::new(
        fake.egress_settings(300),
        Arc::new(StaticResolver::default()),
    )
    .unwrap();
    let orders = "https://api.acme.test/orders";

    let (status, _, body) = send(&egress, "POST", orders).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains(r#""ok":true"#), "{body}");

    for (answer, expected) in [
        (Answer::ServerError, 500),
        (Answer::ClientError, 400),
        (Answer::RateLimited, 429),
    ] {
        fake.answer_with(answer);
        let (status, retry_after, _) = send(&egress, "POST", "https://hooks.acme.test/x")
            .await
            .unwrap();
        assert_eq!(status, expected, "{answer:?}");
        let expected_retry_after = (answer == Answer::RateLimited).then(|| "7".to_owned());
        assert_eq!(retry_after, expected_retry_after, "{answer:?}");
    }

    fake.answer_with(Answer::Hang);
    let (status, _, body) = send(&egress, "POST", "https://api.acme.test/oauth/token")
        .await
        .unwrap();
    assert_eq!(
        status, 200,
        "token requests are granted whatever the scenario"
    );
    assert!(body.contains("conformance-access-token"), "{body}");
    let hung = send(&egress, "POST", orders).await.unwrap_err();
    assert!(matches!(hung, EgressError::Timeout(_)), "{hung}");

    let elsewhere = send(&egress, "GET", "https://a.cdn.acme.test/")
        .await
        .unwrap_err();
    assert!(
        matches!(elsewhere, EgressError::DnsFailure(_)),
        "nothing but the manifest's concrete origins resolves: {elsewhere}"
    );
}

#[tokio::test]
async fn the_fake_remote_answers_plain_http_origins_too() {
    let manifest = Manifest::parse(
        &MANIFEST
            .replace(
                r#"allowed_origins = ["https://api.acme.test", "https://hooks.acme.test", "https://*.cdn.acme.test"]"#,
                r#"allowed_origins = ["https://api.acme.test", "https://hooks.acme.test", "http://legacy.acme.test:8080"]"#,
            ),
    )
    .unwrap();
    let origins = Origins::of(&manifest);
    let fake = FakeRemote::start(&origins, Vec::new()).await.unwrap();
    let egress = Egress::new(
        fake.egress_settings(300),
        Arc::new(StaticResolver::default()),
    )
    .unwrap();
    let (status, _, _) = send(&egress, "GET", "http://legacy.acme.test:8080/ping")
        .await
        .unwrap();
    assert_eq!(status, 200);
}
