//! Installing, upgrading and rolling back connectors in a running service,
//! through the API, with events flowing to the fake Slack: signed packages,
//! hot swaps under load, capability-diff approval, and two nodes on one
//! PostgreSQL database converging on the active version.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_tests::TestCa;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::packages::Publisher;
use sluice_tests::service::{Backend, Options, TestService};

/// An origin the Slack connector does not need: adding it widens.
const NEW_ORIGIN: &str = "https://files.slack.com";

struct Setup {
    service: TestService,
    slack: FakeSlack,
    publisher: Publisher,
    config: String,
}

/// A service trusting a test publisher for `slack`, with a Slack
/// configuration (incoming webhook) receiving every order event of store s1.
async fn setup(backend: Backend) -> Setup {
    let ca = Arc::new(TestCa::new().unwrap());
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled())
        .await
        .unwrap();
    let channel = slack.create_channel("ops", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);
    let publisher = Publisher::new("Acme Connectors", &["slack"]);
    let policy = publisher.trust_policy().to_owned();
    let service = TestService::start(Options {
        backend,
        resolve: slack
            .egress_overrides()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        ca: Some(ca),
        configure: Box::new(move |config| {
            config.registry.trust_policy = Some(policy);
            config.registry.poll_interval_ms = 100;
        }),
        ..Options::default()
    })
    .await;
    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "slack",
                "name": "ops alerts",
                "event_types": ["order.*"],
                "settings": { "mode": "incoming-webhook" },
                "credentials": { "webhook_url": webhook_url },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    Setup {
        config: created.body["id"].as_str().unwrap().to_owned(),
        service,
        slack,
        publisher,
    }
}

fn orders(prefix: &str, count: usize) -> Value {
    Value::Array(
        (0..count)
            .map(|i| {
                json!({
                    "id": format!("{prefix}-{i}"),
                    "type": "order.created",
                    "store_id": "s1",
                    "occurred_at": "2026-12-03T10:00:00Z",
                    "payload": { "order_id": format!("{prefix}-{i}") },
                })
            })
            .collect(),
    )
}

/// The version and component digest that ran each attempt of the
/// configuration's delivered deliveries.
async fn attempts_by_version(service: &TestService, config: &str) -> Vec<(String, String)> {
    let delivered = service
        .deliveries("s1", &format!("target_id={config}&status=delivered"))
        .await;
    let mut ran = Vec::new();
    for delivery in delivered {
        let detail = service
            .delivery("s1", delivery["id"].as_str().unwrap())
            .await;
        for attempt in detail["attempts"].as_array().unwrap() {
            ran.push((
                attempt["connector_version"]
                    .as_str()
                    .unwrap_or_else(|| panic!("an attempt without a version: {attempt:#}"))
                    .to_owned(),
                attempt["component_digest"].as_str().unwrap().to_owned(),
            ));
        }
    }
    ran
}

/// Waits (at most 20 s) until node `service` runs `version` of Slack.
async fn wait_for_version(service: &TestService, version: &str) -> Duration {
    let started = Instant::now();
    loop {
        let described = service.get("/v1/connectors/slack").await;
        if described.body["manifest"]["version"] == version {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the node still runs {} instead of {version}",
            described.body["manifest"]["version"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_package_installs_activates_and_delivers_with_the_version_recorded() {
    let Setup {
        service,
        slack,
        publisher,
        config,
    } = setup(Backend::Sqlite).await;
    let bundled = service.get("/v1/connectors/slack/versions").await;
    assert_eq!(bundled.status, 200, "{:?}", bundled.body);
    assert_eq!(bundled.body["active_version"], "0.2.0");
    assert_eq!(bundled.body["items"][0]["trust"], "bundled");

    let installed = service
        .upload("/v1/connectors/packages", publisher.slack("0.3.0", &[]))
        .await;
    assert_eq!(installed.status, 200, "{:?}", installed.body);
    assert_eq!(installed.body["outcome"], "activated");
    assert_eq!(installed.body["active_version"], "0.3.0");
    let version = &installed.body["version"];
    assert_eq!(version["state"], "active");
    assert_eq!(version["trust"], "signed");
    assert!(
        version["publisher"]
            .as_str()
            .unwrap()
            .contains(&publisher.key_id()),
        "{version:#}"
    );
    assert!(
        version["installed_by"]
            .as_str()
            .unwrap()
            .starts_with("operator:adm_"),
        "{version:#}"
    );
    let digest = version["component_digest"].as_str().unwrap().to_owned();

    let again = service
        .upload("/v1/connectors/packages", publisher.slack("0.3.0", &[]))
        .await;
    assert_eq!(again.body["outcome"], "unchanged", "{:?}", again.body);

    service.send_events(orders("o", 3)).await;
    service
        .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), 3)
        .await;
    assert_eq!(slack.message_count(), 3);
    let ran = attempts_by_version(&service, &config).await;
    assert_eq!(ran, vec![("0.3.0".to_owned(), digest); 3]);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_packages_name_the_step_and_change_nothing() {
    let Setup {
        service, publisher, ..
    } = setup(Backend::Sqlite).await;
    let stranger = Publisher::new("Stranger", &["slack"]);
    let refused = service
        .upload("/v1/connectors/packages", stranger.slack("0.3.0", &[]))
        .await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.content_type, "application/problem+json");
    assert_eq!(refused.body["type"], "/problems/package-refused");

    let mut tampered = publisher.slack("0.3.0", &[]);
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    let refused = service.upload("/v1/connectors/packages", tampered).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);

    let garbage = service
        .upload("/v1/connectors/packages", b"not a package".to_vec())
        .await;
    assert_eq!(garbage.status, 422, "{:?}", garbage.body);
    let versions = service.get("/v1/connectors/slack/versions").await;
    assert_eq!(versions.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(versions.body["active_version"], "0.2.0");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_and_rolling_back_twenty_times_under_load_loses_nothing() {
    let Setup {
        service,
        slack,
        publisher,
        config,
    } = setup(Backend::Sqlite).await;
    let installed = service
        .upload("/v1/connectors/packages", publisher.slack("0.3.0", &[]))
        .await;
    assert_eq!(
        installed.body["outcome"], "activated",
        "{:?}",
        installed.body
    );

    let service = Arc::new(service);
    let sender = tokio::spawn({
        let service = service.clone();
        async move {
            let mut sent = 0;
            for batch in 0..40 {
                service.send_events(orders(&format!("b{batch}"), 5)).await;
                sent += 5;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            sent
        }
    });
    for round in 0..20 {
        let path = if round % 2 == 0 {
            "/v1/connectors/slack/rollback".to_owned()
        } else {
            "/v1/connectors/slack/versions/0.3.0/activate".to_owned()
        };
        let changed = service.post(&path, json!({})).await;
        assert_eq!(changed.status, 200, "round {round}: {:?}", changed.body);
        assert_eq!(changed.body["outcome"], "activated", "{:?}", changed.body);
        let expected = if round % 2 == 0 { "0.2.0" } else { "0.3.0" };
        assert_eq!(changed.body["active_version"], expected);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sent = sender.await.unwrap();
    let delivered = service
        .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), sent)
        .await;
    assert_eq!(delivered.len(), sent, "every event reached Slack once");
    assert!(service.deliveries("s1", "status=dead").await.is_empty());
    assert!(service.deliveries("s1", "status=pending").await.is_empty());
    assert_eq!(slack.message_count(), sent);

    let ran = attempts_by_version(&service, &config).await;
    assert_eq!(ran.len(), sent, "one attempt each, no retries");
    let digests: BTreeMap<String, BTreeSet<String>> =
        ran.iter()
            .fold(BTreeMap::new(), |mut map, (version, digest)| {
                map.entry(version.clone())
                    .or_default()
                    .insert(digest.clone());
                map
            });
    let versions = service.get("/v1/connectors/slack/versions").await;
    for item in versions.body["items"].as_array().unwrap() {
        let version = item["version"].as_str().unwrap();
        if let Some(seen) = digests.get(version) {
            assert_eq!(
                seen,
                &BTreeSet::from([item["component_digest"].as_str().unwrap().to_owned()]),
                "attempts of {version} name its component"
            );
        }
    }
    assert!(
        !digests.is_empty() && digests.keys().all(|v| v == "0.2.0" || v == "0.3.0"),
        "{digests:?}"
    );
    assert_eq!(versions.body["active_version"], "0.3.0");
    Arc::into_inner(service).unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widening_upgrade_waits_for_approval_of_its_exact_diff_while_the_old_version_serves() {
    let Setup {
        service,
        slack,
        publisher,
        config,
    } = setup(Backend::Sqlite).await;
    let pending = service
        .upload(
            "/v1/connectors/packages",
            publisher.slack("0.4.0", &[NEW_ORIGIN]),
        )
        .await;
    assert_eq!(pending.status, 202, "{:?}", pending.body);
    assert_eq!(pending.body["outcome"], "pending_approval");
    assert_eq!(pending.body["active_version"], "0.2.0");
    assert_eq!(pending.body["version"]["state"], "pending_approval");
    let hash = pending.body["diff_hash"].as_str().unwrap().to_owned();
    assert!(hash.starts_with("sha256:"), "{hash}");
    let diff_text = pending.body["diff_text"].to_string();
    assert!(diff_text.contains(NEW_ORIGIN), "{diff_text}");

    service.send_events(orders("before", 2)).await;
    service
        .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), 2)
        .await;
    let ran = attempts_by_version(&service, &config).await;
    assert!(ran.iter().all(|(v, _)| v == "0.2.0"), "{ran:?}");

    let listed = service.get("/v1/connectors/slack/versions").await;
    let waiting = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == "0.4.0")
        .unwrap()
        .clone();
    assert_eq!(waiting["state"], "pending_approval");
    assert_eq!(waiting["diff_hash"], hash.as_str());

    let activated = service
        .post("/v1/connectors/slack/versions/0.4.0/activate", json!({}))
        .await;
    assert_eq!(activated.status, 202, "activation does not skip approval");

    let stale = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let refused = service
        .post(
            "/v1/connectors/slack/versions/0.4.0/approve",
            json!({ "diff_hash": stale }),
        )
        .await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains(stale) && detail.contains(&hash), "{detail}");
    assert_eq!(
        service.get("/v1/connectors/slack").await.body["manifest"]["version"],
        "0.2.0"
    );

    let approved = service
        .post(
            "/v1/connectors/slack/versions/0.4.0/approve",
            json!({ "diff_hash": hash }),
        )
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert_eq!(approved.body["outcome"], "activated");
    let version = &approved.body["version"];
    assert_eq!(version["state"], "active");
    assert!(
        version["approved_by"]
            .as_str()
            .unwrap()
            .starts_with("operator:adm_"),
        "{version:#}"
    );
    assert!(version["approved_at"].is_string());
    assert_eq!(version["approved_diff_hash"], hash.as_str());
    assert_eq!(
        service.get("/v1/connectors/slack").await.body["manifest"]["version"],
        "0.4.0"
    );

    service.send_events(orders("after", 1)).await;
    service
        .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), 3)
        .await;
    let ran = attempts_by_version(&service, &config).await;
    assert_eq!(
        ran.iter().filter(|(v, _)| v == "0.4.0").count(),
        1,
        "{ran:?}"
    );
    assert_eq!(slack.message_count(), 3);

    // Rolling back needs nothing but the database; approving again is not needed
    // to return to the approved version.
    let back = service
        .post("/v1/connectors/slack/rollback", json!({}))
        .await;
    assert_eq!(back.body["active_version"], "0.2.0", "{:?}", back.body);
    let forward = service
        .post("/v1/connectors/slack/versions/0.4.0/activate", json!({}))
        .await;
    assert_eq!(forward.status, 200, "{:?}", forward.body);
    assert_eq!(forward.body["outcome"], "activated");

    let active = service.delete("/v1/connectors/slack/versions/0.4.0").await;
    assert_eq!(active.status, 409, "{:?}", active.body);
    let deleted = service.delete("/v1/connectors/slack/versions/0.2.0").await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let nothing = service
        .post("/v1/connectors/slack/rollback", json!({}))
        .await;
    assert_eq!(nothing.status, 409, "{:?}", nothing.body);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configurations_that_no_longer_validate_are_listed_with_the_diff() {
    let Setup {
        service,
        publisher,
        config,
        ..
    } = setup(Backend::Sqlite).await;
    let (manifest, component) = sluice_tests::packages::slack_parts("0.5.0", &[]);
    let manifest = manifest.replace(
        "options = [\"incoming-webhook\", \"bot\"]\ndefault = \"incoming-webhook\"",
        "options = [\"bot\"]\ndefault = \"bot\"",
    );
    assert!(manifest.contains("options = [\"bot\"]"), "{manifest}");
    let package = publisher.sign(&manifest, component);
    let installed = service.upload("/v1/connectors/packages", package).await;
    assert!(
        [200, 202].contains(&installed.status),
        "{:?}",
        installed.body
    );
    let broken = installed.body["broken_configurations"].as_array().unwrap();
    assert_eq!(broken.len(), 1, "{:?}", installed.body);
    assert_eq!(broken[0]["config_id"], config.as_str());
    assert!(
        broken[0]["problems"].to_string().contains("settings.mode"),
        "{:?}",
        broken[0]
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_postgres_runs_the_version_activated_on_the_first() {
    let Setup {
        service,
        publisher,
        config,
        slack,
    } = setup(Backend::Postgres).await;
    let other = service.another_node().await;
    wait_for_version(&other, "0.2.0").await;

    let installed = service
        .upload("/v1/connectors/packages", publisher.slack("0.3.0", &[]))
        .await;
    assert_eq!(
        installed.body["outcome"], "activated",
        "{:?}",
        installed.body
    );
    let took = wait_for_version(&other, "0.3.0").await;
    assert!(
        took < Duration::from_secs(5),
        "the second node converged in {took:?}"
    );

    other.send_events(orders("n2", 4)).await;
    other
        .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), 4)
        .await;
    let ran = attempts_by_version(&other, &config).await;
    assert!(ran.iter().all(|(v, _)| v == "0.3.0"), "{ran:?}");
    assert_eq!(slack.message_count(), 4);

    let rolled = other.post("/v1/connectors/slack/rollback", json!({})).await;
    assert_eq!(rolled.body["active_version"], "0.2.0", "{:?}", rolled.body);
    wait_for_version(&service, "0.2.0").await;
    other.stop().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_pulled_from_a_real_oci_registry_installs_delivers_and_rolls_back_offline() {
    let registry = sluice_tests::oci_registry::OciRegistry::start();
    let address = registry.address().to_owned();
    let ca = Arc::new(TestCa::new().unwrap());
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled())
        .await
        .unwrap();
    let channel = slack.create_channel("ops", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);
    let publisher = Publisher::new("Acme Connectors", &["slack"]);
    let policy = publisher.trust_policy().to_owned();
    let insecure = vec![address.clone()];
    let service = TestService::start(Options {
        resolve: slack
            .egress_overrides()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        ca: Some(ca),
        configure: Box::new(move |config| {
            config.registry.trust_policy = Some(policy);
            config.registry.insecure_registries = insecure;
        }),
        ..Options::default()
    })
    .await;
    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "slack", "name": "ops", "event_types": ["order.*"],
                "settings": { "mode": "incoming-webhook" },
                "credentials": { "webhook_url": webhook_url },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let config = created.body["id"].as_str().unwrap().to_owned();

    let pushed = sluice_registry::Registries::new(std::slice::from_ref(&address))
        .push(
            &publisher.slack("0.3.0", &[]),
            &format!("{address}/acme/slack:0.3.0"),
        )
        .await
        .unwrap();
    let by_digest = format!("{address}/acme/slack@{}", pushed.manifest_digest);
    let installed = service
        .post("/v1/connectors/packages", json!({ "reference": by_digest }))
        .await;
    assert_eq!(installed.status, 200, "{:?}", installed.body);
    assert_eq!(installed.body["outcome"], "activated");
    let by_tag = service
        .post(
            "/v1/connectors/packages",
            json!({ "reference": format!("{address}/acme/slack:0.3.0") }),
        )
        .await;
    assert_eq!(by_tag.body["outcome"], "unchanged", "{:?}", by_tag.body);

    service.send_events(orders("oci", 2)).await;
    service
        .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), 2)
        .await;
    let ran = attempts_by_version(&service, &config).await;
    assert!(ran.iter().all(|(v, _)| v == "0.3.0"), "{ran:?}");
    assert_eq!(slack.message_count(), 2);

    drop(registry);
    let missing = service
        .post("/v1/connectors/packages", json!({ "reference": by_digest }))
        .await;
    assert_eq!(missing.status, 502, "{:?}", missing.body);
    let back = service
        .post("/v1/connectors/slack/rollback", json!({}))
        .await;
    assert_eq!(back.body["active_version"], "0.2.0", "{:?}", back.body);
    let forward = service
        .post("/v1/connectors/slack/versions/0.3.0/activate", json!({}))
        .await;
    assert_eq!(
        forward.body["active_version"], "0.3.0",
        "{:?}",
        forward.body
    );
    service.stop().await;
}
