//! Several `sluice serve` nodes on one PostgreSQL, and the event bus: events
//! per second one node consumes from JetStream (stored and fanned out),
//! webhook deliveries per second with 1, 2 and 3 nodes sharing the queue,
//! and the repeats per 10,000 deliveries while a node is killed every
//! second.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};
use sluice_secrets::SecretString;
use sluice_tests::bus::TestBus;
use sluice_tests::process::{send_to_cluster, short_leases_config};
use sluice_tests::service::{drop_postgres_schema, new_postgres_schema};
use sluice_tests::sink::{WebhookSink, delivered_events};
use sqlx::Connection;

use crate::report::{Backend, figure};
use crate::scaled;
use crate::service::{
    Process, Sink, TOKEN, api, events, send_batches_to, serve_command, spawn, wait_for,
};

/// Lets the nodes deliver to the bench's receivers on loopback.
const WEBHOOKS_ON_LOOPBACK: &str = "[egress]\nallow_cidrs = [\"127.0.0.0/8\"]";

/// Nodes sharing one PostgreSQL schema, master key and configuration, with
/// no connectors (webhooks only).
struct Cluster {
    dir: tempfile::TempDir,
    config: PathBuf,
    database_url: String,
    schema: String,
    master_key: SecretString,
}

impl Cluster {
    /// A new schema and `config` for the nodes.
    async fn new(config: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sluice.toml");
        std::fs::write(
            &path,
            format!("{config}\n[retention]\ninterval_minutes = 0\n"),
        )?;
        std::fs::create_dir(dir.path().join("connectors"))?;
        let (database_url, schema) = new_postgres_schema().await;
        Ok(Self {
            dir,
            config: path,
            database_url,
            schema,
            master_key: sluice_secrets::MasterKey::generate().to_base64(),
        })
    }

    /// Starts node `n` (again, on its own data directory).
    fn node(&self, n: usize) -> anyhow::Result<Process> {
        let root = self.dir.path();
        let mut command = serve_command(
            &root.join(format!("node{n}")),
            &self.config,
            &root.join("connectors"),
        );
        command
            .env("DATABASE_URL", &self.database_url)
            .env("SLUICE_MASTER_KEY", self.master_key.expose());
        spawn(command)
    }

    /// Rows in `table`, read straight from the database.
    async fn count(&self, table: &str) -> anyhow::Result<usize> {
        let mut connection = sqlx::AnyConnection::connect(&self.database_url).await?;
        let row: (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut connection)
            .await?;
        Ok(row.0 as usize)
    }

    async fn drop(self) {
        drop_postgres_schema(&self.schema).await;
    }
}

pub async fn run() -> anyhow::Result<()> {
    sluice_tests::process::sluice_binary("release");
    sqlx::any::install_default_drivers();
    jetstream_ingest().await?;
    let mut one_node = None;
    for nodes in 1..=3 {
        let per_second = webhook_deliveries(nodes).await?;
        let baseline = *one_node.get_or_insert(per_second);
        println!(
            "cluster on PostgreSQL: webhook deliveries end to end with {nodes} node(s) {per_second:.0}/s; {:.2} of one node",
            per_second / baseline
        );
        figure(
            format!("cluster.webhook_deliveries_{nodes}_nodes_per_s"),
            per_second,
            "per_s",
            Some(Backend::Postgres),
        );
        figure(
            format!("cluster.webhook_deliveries_{nodes}_nodes_vs_one"),
            per_second / baseline,
            "ratio",
            Some(Backend::Postgres),
        );
    }
    println!(
        "cluster on PostgreSQL: on {} cores the nodes share the CPU with each other and PostgreSQL, so more nodes show the cost of coordinating, not scaling",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    repeats_under_kill_loop().await
}

/// One node consuming a stream that already holds the events: from its
/// start until every event is stored with its delivery.
async fn jetstream_ingest() -> anyhow::Result<()> {
    let bus = TestBus::start(false).await;
    let consume = bus.config().consume.expect("the test bus consumes");
    let cluster = Cluster::new(&format!(
        "{WEBHOOKS_ON_LOOPBACK}\n[bus]\nurl = \"{}\"\n[bus.consume]\nstream = \"{}\"\nsubject = \"{}\"\ndurable = \"sluice\"\n",
        bus.url, consume.stream, consume.subject
    ))
    .await?;
    let (_sink, sink_addr) = Sink::start().await?;
    // The target is created first, so that every event fans out to it.
    let node = cluster.node(0)?;
    api(
        &reqwest::Client::new(),
        &node.base,
        "/v1/stores/bus/webhooks",
        json!({"name": "sink", "url": format!("http://{sink_addr}/bus"), "event_types": ["order.*"]}),
    )
    .await?;
    drop(node);

    let total = scaled(20_000);
    let Value::Array(batch) = events("bus", "bus", 0, total) else {
        unreachable!("events are an array")
    };
    bus.publish_all(batch.iter().map(|event| event.to_string().into_bytes()))
        .await;
    let started = Instant::now();
    let _node = cluster.node(0)?;
    let deadline = started + Duration::from_secs(300);
    while cluster.count("deliveries").await? < total {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the events were not stored in 300 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let per_second = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "cluster on PostgreSQL: events consumed from JetStream, stored and fanned out by one node {per_second:.0}/s ({total}, from the node's start)"
    );
    figure(
        "cluster.jetstream_events_per_s",
        per_second,
        "per_s",
        Some(Backend::Postgres),
    );
    drop(_node);
    bus.delete().await;
    cluster.drop().await;
    Ok(())
}

/// Webhook deliveries per second end to end with `nodes` nodes, the events
/// spread over their APIs.
async fn webhook_deliveries(nodes: usize) -> anyhow::Result<f64> {
    let cluster = Cluster::new(WEBHOOKS_ON_LOOPBACK).await?;
    let running = (0..nodes)
        .map(|n| cluster.node(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bases: Vec<&str> = running.iter().map(|node| node.base.as_str()).collect();
    let (sink, sink_addr) = Sink::start().await?;
    let client = reqwest::Client::new();
    api(
        &client,
        bases[0],
        "/v1/stores/wh/webhooks",
        json!({"name": "sink", "url": format!("http://{sink_addr}/wh"), "event_types": ["order.*"]}),
    )
    .await?;
    let total = scaled(20_000);
    let started = Instant::now();
    send_batches_to(&client, &bases, total, |from, count| {
        events("wh", "wh", from, count)
    })
    .await?;
    wait_for(
        || sink.received.load(std::sync::atomic::Ordering::Relaxed),
        total,
    )
    .await?;
    let per_second = total as f64 / started.elapsed().as_secs_f64();
    drop(running);
    cluster.drop().await;
    Ok(per_second)
}

/// Three nodes, one of them killed and restarted every second for ten
/// seconds while events arrive: repeated deliveries per 10,000.
async fn repeats_under_kill_loop() -> anyhow::Result<()> {
    const NODES: usize = 3;
    const KILLS: usize = 10;
    const BATCH: usize = 50;
    let cluster = Cluster::new(&short_leases_config(None)).await?;
    let sink = WebhookSink::start().await?;
    let mut nodes = (0..NODES)
        .map(|n| cluster.node(n).map(Some))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bases = Arc::new(Mutex::new(
        nodes
            .iter()
            .flatten()
            .map(|node| node.base.clone())
            .collect::<Vec<_>>(),
    ));
    let client = reqwest::Client::new();
    let first = bases.lock()[0].clone();
    api(
        &client,
        &first,
        "/v1/stores/kl/webhooks",
        json!({"name": "sink", "url": sink.url("kl"), "event_types": ["order.*"]}),
    )
    .await?;

    let total = scaled(10_000).div_ceil(BATCH) * BATCH;
    let sender = tokio::spawn({
        let (bases, client) = (bases.clone(), client.clone());
        async move {
            for (turn, from) in (0..total).step_by(BATCH).enumerate() {
                let Value::Array(batch) = events("kl", "kl", from, BATCH) else {
                    unreachable!("events are an array")
                };
                send_to_cluster(&client, &bases, turn, TOKEN, &batch).await;
            }
        }
    });
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let n = kill % NODES;
        // Dropping a node kills it with SIGKILL.
        nodes[n] = None;
        let node = cluster.node(n)?;
        bases.lock()[n] = node.base.clone();
        nodes[n] = Some(node);
    }
    sender.await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    let requests = loop {
        let requests = sink.recorder().requests();
        if delivered_events(&requests).len() >= total {
            break requests;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "not every event was delivered in 300 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let repeats = requests.len() - total;
    println!(
        "cluster on PostgreSQL: repeated deliveries while a node of {NODES} is killed every second for {KILLS} s: {:.1} per 10,000 ({repeats} of {total})",
        repeats as f64 * 10_000.0 / total as f64
    );
    figure(
        "cluster.repeats_per_10000_under_kills",
        repeats as f64 * 10_000.0 / total as f64,
        "per_10000",
        Some(Backend::Postgres),
    );
    figure(
        "cluster.repeats_under_kills",
        repeats as f64,
        "count",
        Some(Backend::Postgres),
    );
    drop(nodes);
    cluster.drop().await;
    Ok(())
}
