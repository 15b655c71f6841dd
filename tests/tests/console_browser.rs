//! The admin console in a real browser: headless Chromium driven over
//! WebDriver against the whole service. A store's dead letter is found,
//! inspected and retried until delivered; a subscription is created and its
//! secret shown once; Slack is configured from the form generated from its
//! manifest (against the fake Slack) and its connection tested; a store key
//! sees only its store and the sections its scopes allow; the operator
//! reviews a widening connector upgrade's capability diff, approves it and
//! rolls it back. Screenshots
//! of the main pages land in `target/console-screenshots/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use sluice_tests::TestCa;
use sluice_tests::browser::Browser;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::packages::Publisher;
use sluice_tests::service::{Options, TestService};
use sluice_tests::sink::{Answer, WebhookSink};

/// Signs in with the operator's admin token and opens store `store`.
async fn signed_in(service: &TestService, store: &str) -> Browser {
    let browser = Browser::start().await;
    browser.open(&format!("{}/console", service.base)).await;
    assert!(
        browser.url().await.contains("/console/sign-in"),
        "an anonymous visitor is sent to sign in"
    );
    browser.fill("#token", "not-the-token").await;
    browser.click("main.sign-in button").await;
    browser.wait_for_text("[role=alert]", "not valid").await;
    browser.fill("#token", &service.token).await;
    browser.screenshot("sign-in").await;
    browser.click("main.sign-in button").await;
    browser.wait_for_text("h1", "Stores").await;
    browser.fill("#store", store).await;
    browser.click("form.filters button").await;
    browser.wait_for_text("h1", "Deliveries").await;
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_found_inspected_and_retried_until_delivered() {
    let service = TestService::start(Options {
        configure: Box::new(|config| config.delivery.retry.schedule_seconds = vec![]),
        ..Options::default()
    })
    .await;
    let sink = WebhookSink::start().await.unwrap();
    sink.script([Answer::status(500)]);
    service
        .subscribe("s1", &sink.url("erp"), &["order.*"])
        .await;
    service
        .send_events(json!([{
            "id": "evt_console_1", "type": "order.created", "store_id": "s1",
            "occurred_at": "2026-11-30T10:00:00Z", "payload": { "order_id": "1001" },
        }]))
        .await;
    service.wait_for_deliveries("s1", "status=dead", 1).await;

    let browser = signed_in(&service, "s1").await;
    browser.wait_for_text("tbody", "order.created").await;
    browser.screenshot("deliveries").await;
    browser.click("nav.side a[href$='/dead-letters']").await;
    browser.wait_for_text("h1", "Dead letters").await;
    let row = browser.wait_for_text("tbody tr", "order.created").await;
    assert!(row.contains("dead"), "{row}");
    browser.screenshot("dead-letters").await;

    browser
        .click("tbody tr td a[href*='/deliveries/dlv_']")
        .await;
    let attempt = browser.wait_for_text("section.attempt", "Attempt 1").await;
    assert!(
        attempt.contains("HTTP 500"),
        "the attempt shows the answer: {attempt}"
    );
    assert!(browser.text(".title-row .pill").await.contains("dead"));
    browser.screenshot("delivery-dead").await;

    browser
        .click(".title-row form[action$='/retry'] button")
        .await;
    browser
        .wait_for_text("[role=status]", "being retried")
        .await;
    browser.wait_for_text(".title-row .pill", "delivered").await;
    let second = browser.wait_for_text("#main", "Attempt 2").await;
    assert!(second.contains("manual"), "the retry is recorded as manual");
    browser.screenshot("delivery-delivered").await;
    browser.close().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_subscription_shows_its_secret_once_and_bad_input_in_words() {
    let service = TestService::start(Options::default()).await;
    let sink = WebhookSink::start().await.unwrap();
    let browser = signed_in(&service, "s2").await;

    browser.click("nav.side a[href$='/webhooks']").await;
    browser.click("a[href$='/webhooks/new']").await;
    browser.fill("#name", "ERP orders").await;
    browser.fill("#url", "ftp://erp.example/hook").await;
    browser
        .fill("#event_types", "order.*, product.updated")
        .await;
    browser.click("form.stacked button.primary").await;
    let error = browser.wait_for_text("#url-error", "scheme").await;
    assert!(error.contains("https or http"), "{error}");
    browser.screenshot("webhook-form-error").await;

    browser.fill("#url", &sink.url("erp")).await;
    browser.click("form.stacked button.primary").await;
    let secret = browser.wait_for_text("#secret", "whsec_").await;
    browser.screenshot("webhook-secret").await;
    let listed = service.get("/v1/stores/s2/webhooks").await;
    assert_eq!(
        listed.body["items"][0]["name"], "ERP orders",
        "{:?}",
        listed.body
    );
    assert_eq!(
        listed.body["items"][0]["event_types"],
        json!(["order.*", "product.updated"])
    );

    browser.click("a[href*='/webhooks/whk_']").await;
    browser.wait_for_text("h1", "ERP orders").await;
    assert!(
        !browser.source().await.contains(secret.trim()),
        "the secret is not shown again"
    );
    browser.click("form[action$='/active'] button").await;
    browser.wait_for_text("[role=status]", "Paused").await;
    let paused = service.get("/v1/stores/s2/webhooks").await;
    assert_eq!(paused.body["items"][0]["active"], false);
    browser.screenshot("webhook-edit").await;

    browser.click("nav.side a[href$='/credentials']").await;
    browser.fill("#name", "warehouse app").await;
    browser.click("input[value='orders:read']").await;
    browser.click("form.stacked button.primary").await;
    let key = browser.wait_for_text("#secret", "sk_").await;
    let issued = service.get("/v1/stores/s2/credentials").await;
    assert_eq!(
        issued.body["items"][0]["name"], "warehouse app",
        "{:?}",
        issued.body
    );
    assert!(!key.trim().is_empty());
    browser.click("a[href$='/credentials']").await;
    browser.wait_for_text("table", "warehouse app").await;
    browser.wait_for_text("#main", "created").await;
    browser.screenshot("credentials").await;
    browser.close().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_is_configured_from_its_generated_form_and_its_connection_tested() {
    let ca = Arc::new(TestCa::new().unwrap());
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled())
        .await
        .unwrap();
    let channel = slack.create_channel("orders", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);
    let service = TestService::start(Options {
        resolve: slack
            .egress_overrides()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        ca: Some(ca.clone()),
        ..Options::default()
    })
    .await;
    let browser = signed_in(&service, "s3").await;

    browser.click("nav.side a[href$='/connectors']").await;
    browser.wait_for_text(".cards", "Slack").await;
    browser.screenshot("connectors").await;
    browser.click("a[href$='/connectors/new/slack']").await;
    browser.wait_for_text("h1", "Configure Slack").await;
    // Every field of the manifest is in the form, labelled.
    for label in [
        "Send through",
        "Channel ID",
        "Incoming webhook URL",
        "Bot token",
        "Signing secret",
    ] {
        browser.wait_for_text("form.stacked", label).await;
    }
    browser.fill("#name", "#orders alerts").await;
    browser.fill("#credentials-webhook_url", &webhook_url).await;
    browser.screenshot("slack-form").await;
    browser.click("form.stacked button.primary").await;
    browser
        .wait_for_text("[role=status]", "is configured")
        .await;
    assert!(
        !browser.source().await.contains(&webhook_url),
        "credentials are write-only"
    );
    let configs = service.get("/v1/stores/s3/connectors").await;
    assert_eq!(
        configs.body["items"][0]["settings"]["mode"],
        "incoming-webhook"
    );
    assert_eq!(
        configs.body["items"][0]["credentials_set"],
        json!(["webhook_url"])
    );

    browser.click("form[action$='/test'] button").await;
    let result = browser
        .wait_for_text("#test-result", "Connection test")
        .await;
    assert!(
        result.contains("ok"),
        "the connection test passed: {result}"
    );
    browser.screenshot("slack-tested").await;
    browser.close().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_key_sees_only_its_store_within_its_scopes() {
    let service = TestService::start(Options::default()).await;
    let issued = service
        .post(
            "/v1/stores/s4/credentials",
            json!({ "name": "support desk", "type": "api_key", "scopes": ["deliveries:read"] }),
        )
        .await;
    assert_eq!(issued.status, 201, "{:?}", issued.body);
    let key = issued.body["api_key"].as_str().unwrap().to_owned();

    let browser = Browser::start().await;
    browser
        .open(&format!("{}/console/sign-in", service.base))
        .await;
    browser.fill("#token", &key).await;
    browser.click("main.sign-in button").await;
    browser.wait_for_text("h1", "Deliveries").await;
    assert!(
        browser
            .url()
            .await
            .ends_with("/console/stores/s4/deliveries")
    );
    let nav = browser.text("nav.side").await;
    assert!(nav.contains("Dead letters"), "{nav}");
    assert!(
        !nav.contains("Webhooks"),
        "sections beyond the key's scopes are hidden: {nav}"
    );
    assert!(browser.text("header.top").await.contains("support desk"));
    browser.screenshot("store-key-deliveries").await;

    browser
        .open(&format!("{}/console/stores/s1/deliveries", service.base))
        .await;
    browser.wait_for_text("[role=alert]", "no store").await;
    browser
        .open(&format!("{}/console/stores/s4/webhooks", service.base))
        .await;
    browser
        .wait_for_text("[role=alert]", "webhooks:manage")
        .await;
    browser
        .open(&format!("{}/console/registry", service.base))
        .await;
    browser.wait_for_text("h1", "Deliveries").await;
    assert!(
        browser
            .url()
            .await
            .ends_with("/console/stores/s4/deliveries"),
        "the connector registry is the operator's alone"
    );

    // Revoking the key ends its console session.
    let id = issued.body["id"].as_str().unwrap();
    let revoked = service
        .post(&format!("/v1/stores/s4/credentials/{id}/revoke"), json!({}))
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    browser
        .open(&format!("{}/console/stores/s4/deliveries", service.base))
        .await;
    browser.wait_for_text("h1", "Sluice console").await;
    browser.close().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_approves_a_widening_upgrade_from_its_diff_and_rolls_it_back() {
    let publisher = Publisher::new("Acme Connectors", &["slack"]);
    let policy = publisher.trust_policy().to_owned();
    let service = TestService::start(Options {
        configure: Box::new(move |config| config.registry.trust_policy = Some(policy)),
        ..Options::default()
    })
    .await;
    let before = service.get("/v1/connectors/slack/versions").await;
    let bundled = before.body["active_version"].as_str().unwrap().to_owned();
    let pending = service
        .upload(
            "/v1/connectors/packages",
            publisher.slack("9.1.0", &["https://files.slack.com"]),
        )
        .await;
    assert_eq!(pending.status, 202, "{:?}", pending.body);

    let browser = signed_in(&service, "s5").await;
    browser
        .click("header.top a[href='/console/registry']")
        .await;
    browser.wait_for_text("h1", "Connector registry").await;
    browser.wait_for_text("table", "1 pending approval").await;
    browser.screenshot("registry").await;
    browser.click("a[href='/console/registry/slack']").await;
    let review = browser
        .wait_for_text("section.panel", "waits for approval")
        .await;
    assert!(review.contains("https://files.slack.com"), "{review}");
    assert!(review.contains("[widens]"), "{review}");
    assert!(
        review.contains(pending.body["diff_hash"].as_str().unwrap()),
        "the page shows the hash it approves: {review}"
    );
    browser.screenshot("registry-diff").await;

    browser.click("form[action$='/approve'] button").await;
    browser.accept_dialog().await;
    browser
        .wait_for_text("[role=status]", "slack 9.1.0 is active")
        .await;
    let approved = service.get("/v1/connectors/slack/versions").await;
    assert_eq!(approved.body["active_version"], "9.1.0");
    let version = approved.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == "9.1.0")
        .unwrap();
    assert!(
        version["approved_by"]
            .as_str()
            .is_some_and(|by| by.starts_with("operator:")),
        "{version:?}"
    );
    assert_eq!(version["approved_diff_hash"], pending.body["diff_hash"]);
    browser.screenshot("registry-versions").await;

    browser.click("form[action$='/rollback'] button").await;
    browser.accept_dialog().await;
    browser
        .wait_for_text("[role=status]", &format!("slack {bundled} is active"))
        .await;
    let rolled_back = service.get("/v1/connectors/slack/versions").await;
    assert_eq!(rolled_back.body["active_version"], bundled.as_str());
    browser.close().await;
    service.stop().await;
}
