//! Several nodes on one PostgreSQL: three `sluice serve` processes share the
//! queue and the bus consumer while one of them is killed (SIGKILL) and
//! restarted every second; every accepted event still reaches every target
//! (three webhooks and the Slack connector, through the sandbox to the fake
//! Slack over TLS), and the repeats that at-least-once allows stay rare.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};
use sluice_tests::bus::TestBus;
use sluice_tests::fakes::slack::{FakeSlack, Membership, PostedMessage, SlackOptions};
use sluice_tests::guests::bundled_connectors_dir;
use sluice_tests::process::{Node, send_to_cluster, serve, serve_command, short_leases_config};
use sluice_tests::service::{drop_postgres_schema, new_postgres_schema};
use sluice_tests::sink::{WebhookSink, delivered_events};
use sluice_tests::tls::TestCa;

const TOKEN: &str = "cluster-test-admin-token";
const NODES: usize = 3;
const TARGETS: [&str; 3] = ["a", "b", "c"];
/// Half through the nodes' HTTP APIs, half through the bus.
const EVENTS: usize = 10_000;
const BATCH: usize = 50;
const KILLS: usize = 10;

/// What every node runs with: the same database, master key, bus and
/// connectors (the Slack connector only, so that a first start compiles one).
struct Cluster {
    config: PathBuf,
    connectors: PathBuf,
    database_url: String,
    master_key: String,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts node `n` (again, on its own data directory) and returns it
    /// with its base URL once it listens.
    fn start(&self, n: usize) -> (Node, String) {
        let data_dir = self.dir.path().join(format!("node{n}"));
        let mut command = serve_command("debug", &self.config, &data_dir, TOKEN);
        command
            .env("SLUICE_MASTER_KEY", &self.master_key)
            .env("DATABASE_URL", &self.database_url)
            .env("SLUICE_CONNECTORS_DIR", &self.connectors);
        serve(command).expect("a node starts and listens")
    }
}

fn event(i: usize) -> Value {
    json!({
        "id": format!("e{i}"), "type": "order.created", "store_id": "s1",
        "occurred_at": "2026-11-30T10:00:00Z", "payload": {"n": i},
    })
}

/// The id of the event a Slack message was rendered from: the connector
/// puts it in the message's context block.
fn slack_event_id(message: &PostedMessage) -> Option<String> {
    let blocks = serde_json::to_string(&message.blocks).ok()?;
    let start = blocks.find("Event `")? + "Event `".len();
    let length = blocks[start..].find('`')?;
    Some(blocks[start..start + length].to_owned())
}

/// A directory holding the bundled Slack connector alone.
fn slack_connector_only(dir: &Path) -> PathBuf {
    let connectors = dir.join("connectors");
    let slack = connectors.join("slack");
    std::fs::create_dir_all(&slack).unwrap();
    for file in ["connector.toml", "connector.wasm"] {
        std::fs::copy(
            bundled_connectors_dir().join("slack").join(file),
            slack.join(file),
        )
        .unwrap();
    }
    connectors
}

fn write_config(
    dir: &Path,
    bus: &TestBus,
    ca: &TestCa,
    slack: &BTreeMap<String, SocketAddr>,
) -> PathBuf {
    let config = dir.join("sluice.toml");
    let consume = bus.config().consume.expect("the test bus consumes");
    std::fs::write(
        &config,
        format!(
            r#"{}
[bus]
url = "{url}"
[bus.consume]
stream = "{stream}"
subject = "{subject}"
durable = "sluice"
ack_wait_ms = 1000
max_wait_ms = 200
[bus.publish]
subject = "{outcomes}"
"#,
            short_leases_config(Some((ca.pem_path(), slack))),
            url = bus.url,
            stream = consume.stream,
            subject = consume.subject,
            outcomes = bus.outcome_subject(),
        ),
    )
    .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_every_event_to_webhooks_and_a_connector_while_one_is_killed_every_second()
 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sink = WebhookSink::start().await.unwrap();
    let bus = TestBus::start(true).await;
    let ca = TestCa::new().unwrap();
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled())
        .await
        .unwrap();
    let webhook_url = slack.register_webhook(&slack.create_channel("orders", Membership::Member));
    let (database_url, schema) = new_postgres_schema().await;
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster {
        config: write_config(dir.path(), &bus, &ca, &slack.egress_overrides()),
        connectors: slack_connector_only(dir.path()),
        database_url,
        master_key: sluice_secrets::MasterKey::generate()
            .to_base64()
            .expose()
            .to_owned(),
        dir,
    };
    let mut nodes: Vec<Node> = Vec::new();
    let bases = Arc::new(Mutex::new(Vec::new()));
    for n in 0..NODES {
        let (child, base) = cluster.start(n);
        nodes.push(child);
        bases.lock().push(base);
    }
    let client = reqwest::Client::new();
    for target in TARGETS {
        let created = client
            .post(format!("{}/v1/stores/s1/webhooks", bases.lock()[0]))
            .bearer_auth(TOKEN)
            .json(&json!({ "name": target, "url": sink.url(target), "event_types": ["order.*"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let configured = client
        .post(format!("{}/v1/stores/s1/connectors", bases.lock()[0]))
        .bearer_auth(TOKEN)
        .json(&json!({
            "connector_id": "slack", "name": "orders", "event_types": ["order.*"],
            "settings": {"mode": "incoming-webhook"}, "credentials": {"webhook_url": webhook_url},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        configured.status(),
        201,
        "{}",
        configured.text().await.unwrap()
    );

    // Producers retry until acknowledged, as they must; HTTP batches go to
    // the nodes in turn, moving on from one that does not answer.
    let http_sender = tokio::spawn({
        let (bases, client) = (bases.clone(), client.clone());
        async move {
            for (turn, batch) in (0..EVENTS / 2 / BATCH).enumerate() {
                let events: Vec<Value> = (batch * BATCH..(batch + 1) * BATCH).map(event).collect();
                send_to_cluster(&client, &bases, turn, TOKEN, &events).await;
            }
        }
    });
    for i in EVENTS / 2..EVENTS {
        bus.publish(event(i).to_string()).await;
    }

    // One node killed and started again every second.
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let n = kill % NODES;
        nodes[n].kill();
        let (child, base) = cluster.start(n);
        nodes[n] = child;
        bases.lock()[n] = base;
    }
    http_sender.await.unwrap();

    let expected = TARGETS.len() * EVENTS;
    let deadline = Instant::now() + Duration::from_secs(300);
    let (requests, distinct, messages, in_slack) = loop {
        let requests = sink.recorder().requests();
        let distinct = delivered_events(&requests);
        let messages = slack.messages();
        let in_slack: HashSet<String> = messages.iter().filter_map(slack_event_id).collect();
        let done = distinct.len() >= expected && in_slack.len() >= EVENTS;
        if done || Instant::now() > deadline {
            break (requests, distinct, messages, in_slack);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    drop(nodes);
    bus.delete().await;
    drop_postgres_schema(&schema).await;

    let missing: Vec<String> = TARGETS
        .iter()
        .flat_map(|t| (0..EVENTS).map(move |i| (format!("/{t}"), format!("e{i}"))))
        .filter(|pair| !distinct.contains(pair))
        .map(|(path, id)| format!("{id} to {path}"))
        .chain(
            (0..EVENTS)
                .map(|i| format!("e{i}"))
                .filter(|id| !in_slack.contains(id))
                .map(|id| format!("{id} to Slack")),
        )
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "lost deliveries, for example {missing:?}"
    );
    let expected = expected + EVENTS;
    let sent = requests.len() + messages.len();
    let repeated = sent - expected;
    eprintln!(
        "{sent} requests for {expected} deliveries ({} to Slack) across {KILLS} kills: \
         {repeated} repeated ({:.2}%)",
        messages.len(),
        100.0 * repeated as f64 / expected as f64
    );
    assert!(
        repeated * 100 < expected,
        "{repeated} repeated deliveries of {expected}: more than 1%"
    );
}
