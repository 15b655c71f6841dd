//! The service as a separate `sluice serve` process, driven over loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use parking_lot::Mutex;
use serde_json::{Value, json};
use sluice_tests::TestCa;
use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions};
use sluice_tests::process::{Node, serve};
use sqlx::Connection;

use crate::report::{Backend, figure};
use crate::{percentiles, scaled};

/// The admin token the `sluice serve` processes are started with.
pub(crate) const TOKEN: &str = "bench-admin-token";
const BATCH: usize = 100;
const SENDERS: usize = 8;

/// A webhook receiver on loopback counting deliveries, with their
/// acceptance-to-arrival latencies in ms.
#[derive(Default)]
pub(crate) struct Sink {
    pub(crate) received: AtomicUsize,
    latencies_ms: Mutex<Vec<f64>>,
}

impl Sink {
    /// Starts one on `127.0.0.1`; returns it and its address.
    pub(crate) async fn start() -> anyhow::Result<(Arc<Self>, SocketAddr)> {
        let sink = Arc::new(Self::default());
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(sink.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((sink, addr))
    }
}

pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as u64
}

async fn receive(State(sink): State<Arc<Sink>>, body: axum::body::Bytes) -> &'static str {
    sink.received.fetch_add(1, Ordering::Relaxed);
    if let Ok(event) = serde_json::from_slice::<Value>(&body)
        && let Some(sent) = event["payload"]["sent_us"].as_u64()
    {
        sink.latencies_ms
            .lock()
            .push(now_us().saturating_sub(sent) as f64 / 1e3);
    }
    "ok"
}

/// A running `sluice serve` process; it is killed when dropped.
pub(crate) struct Process {
    node: Node,
    /// Where its API listens, `http://127.0.0.1:port`.
    pub(crate) base: String,
}

impl Process {
    /// Resident memory now and at its peak, in MiB.
    pub(crate) fn memory(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.node.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:") / 1024, field("VmHWM:") / 1024)
    }

    /// CPU time the process has used so far (user and system), in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.node.id())).unwrap_or_default();
        // Fields 14 and 15 (utime, stime) count after the parenthesised
        // command name, which may itself hold spaces.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ticks: u64 = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|field| field.parse::<u64>().ok())
            .sum();
        ticks as f64 / USER_HZ
    }

    /// Starts measuring CPU time, the service's and the whole machine's.
    fn cpu_meter(&self) -> CpuMeter<'_> {
        CpuMeter {
            process: self,
            service: self.cpu_seconds(),
            machine: machine_busy_seconds(),
        }
    }

    /// Runs `work` while sampling the resident memory every 100 ms; returns
    /// its result and the highest sample, in MiB.
    async fn highest_memory_during<T>(&self, work: impl Future<Output = T>) -> (T, u64) {
        let mut work = std::pin::pin!(work);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut highest = 0;
        loop {
            highest = highest.max(self.memory().0);
            tokio::select! {
                result = &mut work => return (result, highest.max(self.memory().0)),
                _ = tick.tick() => {}
            }
        }
    }
}

/// The unit of the tick counts in `/proc` (`USER_HZ`, 100 on Linux whatever
/// the kernel's own tick rate).
const USER_HZ: f64 = 100.0;

/// CPU time the whole machine has spent busy (not idle, not waiting for
/// I/O) so far, in seconds summed over its cores.
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (ticks.iter().take(8).sum::<u64>() - idle) as f64 / USER_HZ
}

/// CPU time spent since [`Process::cpu_meter`], per delivery: what a phase
/// costs whether or not the cores were saturated, so that a path's cost is
/// comparable across runs and machines apart from its throughput.
struct CpuMeter<'a> {
    process: &'a Process,
    service: f64,
    machine: f64,
}

impl CpuMeter<'_> {
    /// Microseconds of CPU per delivery of `deliveries`, each a `what`: the
    /// service's, and the whole machine's (the service, the database, the
    /// receivers and the senders together). Prints them, records them as
    /// figures `service.<phase>_cpu_us` and `service.<phase>_machine_cpu_us`,
    /// and returns the service's.
    fn report(
        &self,
        label: &str,
        (phase, what): (&str, &str),
        deliveries: usize,
        backend: Option<Backend>,
    ) -> f64 {
        let per_delivery = |seconds: f64| seconds * 1e6 / deliveries as f64;
        let service = per_delivery(self.process.cpu_seconds() - self.service);
        let machine = per_delivery(machine_busy_seconds() - self.machine);
        println!(
            "service on {label}: CPU per {what}: service {service:.0} µs, whole machine {machine:.0} µs"
        );
        figure(format!("service.{phase}_cpu_us"), service, "us", backend);
        figure(
            format!("service.{phase}_machine_cpu_us"),
            machine,
            "us",
            backend,
        );
        service
    }
}

/// Starts `sluice serve` with `config`, data in `dir`, the bundled
/// connectors, and the database at `database_url` (SQLite in `dir` when
/// `None`); returns once it listens.
pub(crate) fn start(
    dir: &Path,
    config: &Path,
    database_url: Option<&str>,
) -> anyhow::Result<Process> {
    start_with_connectors(
        dir,
        config,
        database_url,
        &sluice_tests::guests::bundled_connectors_dir(),
    )
}

/// [`start`] with the connectors in `connectors` instead of the bundled ones.
pub(crate) fn start_with_connectors(
    dir: &Path,
    config: &Path,
    database_url: Option<&str>,
    connectors: &Path,
) -> anyhow::Result<Process> {
    let mut command = serve_command(dir, config, connectors);
    match database_url {
        Some(url) => {
            let key = sluice_secrets::MasterKey::generate().to_base64();
            command
                .env("DATABASE_URL", url)
                .env("SLUICE_MASTER_KEY", key.expose());
        }
        None => {
            command.env_remove("DATABASE_URL");
        }
    }
    spawn(command)
}

/// `sluice serve` of the release binary with `config`, data in `dir` and
/// the connectors in `connectors`; the caller chooses the database.
pub(crate) fn serve_command(dir: &Path, config: &Path, connectors: &Path) -> Command {
    let mut command = sluice_tests::process::serve_command("release", config, dir, TOKEN);
    command.env("SLUICE_CONNECTORS_DIR", connectors);
    command
}

/// Spawns `command` and returns once it listens with its connectors loaded.
pub(crate) fn spawn(command: Command) -> anyhow::Result<Process> {
    let (node, base) = serve(command)?;
    Ok(Process { node, base })
}

pub(crate) fn events(store: &str, prefix: &str, from: usize, count: usize) -> Value {
    Value::Array(
        (from..from + count)
            .map(|i| {
                json!({
                    "id": format!("{prefix}{i}"),
                    "type": "order.placed",
                    "store_id": store,
                    "occurred_at": "2026-11-30T10:00:00Z",
                    "payload": {
                        "marketplace": "web", "order_id": format!("{i}"), "status": "pending",
                        "line_items": [{"line_item_id": "1", "sku": "SKU-1", "quantity": 1, "price": {"amount": "9.99", "currency": "USD"}}],
                        "total": {"amount": "9.99", "currency": "USD"},
                        "sent_us": now_us(),
                    },
                })
            })
            .collect(),
    )
}

/// Extra TOML appended to the configuration of every `sluice serve` the bench
/// starts, to compare settings (such as a `[delivery]` section).
const EXTRA_CONFIG: &str = "SLUICE_BENCH_EXTRA_CONFIG";

/// Writes `dir/sluice.toml`: egress to loopback allowed, `resolve` mapping
/// the fakes' hostnames, `ca` trusted, retention off, and whatever
/// `SLUICE_BENCH_EXTRA_CONFIG` holds. Returns its path.
pub(crate) fn write_config(
    dir: &Path,
    ca: &TestCa,
    resolve: impl IntoIterator<Item = (String, SocketAddr)>,
) -> anyhow::Result<PathBuf> {
    let config = dir.join("sluice.toml");
    let resolve: String = resolve
        .into_iter()
        .map(|(host, addr)| format!("\"{host}\" = \"{addr}\"\n"))
        .collect();
    std::fs::write(
        &config,
        format!(
            "[egress]\nallow_cidrs = [\"127.0.0.0/8\"]\nca_certificates = [{:?}]\n[egress.resolve]\n{resolve}\n[retention]\ninterval_minutes = 0\n{}\n",
            ca.pem_path(),
            std::env::var(EXTRA_CONFIG).unwrap_or_default(),
        ),
    )?;
    Ok(config)
}

/// Sends `total` events to `store` in batches from several senders; returns
/// the elapsed time.
async fn send_all(
    client: &reqwest::Client,
    base: &str,
    store: &str,
    total: usize,
) -> anyhow::Result<Duration> {
    let store = store.to_owned();
    send_batches(client, base, total, move |from, count| {
        events(&store, &store, from, count)
    })
    .await
}

/// Sends `total` events, built `BATCH` at a time by `make(from, count)`, from
/// several senders; returns the elapsed time.
pub(crate) async fn send_batches(
    client: &reqwest::Client,
    base: &str,
    total: usize,
    make: impl Fn(usize, usize) -> Value + Send + Sync + 'static,
) -> anyhow::Result<Duration> {
    send_batches_to(client, &[base], total, make).await
}

/// [`send_batches`] spread over several nodes: batch `n` goes to
/// `bases[n % bases.len()]`.
pub(crate) async fn send_batches_to(
    client: &reqwest::Client,
    bases: &[&str],
    total: usize,
    make: impl Fn(usize, usize) -> Value + Send + Sync + 'static,
) -> anyhow::Result<Duration> {
    send_requests(client, bases, total, BATCH, make).await
}

/// Sends `total` events, `per_request` at a time in bodies built by
/// `make(from, count)`, from `SENDERS` senders at once, request `n` to
/// `bases[n % bases.len()]`; returns the elapsed time.
async fn send_requests(
    client: &reqwest::Client,
    bases: &[&str],
    total: usize,
    per_request: usize,
    make: impl Fn(usize, usize) -> Value + Send + Sync + 'static,
) -> anyhow::Result<Duration> {
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let (client, make, next) = (client.clone(), make.clone(), next.clone());
        let urls: Vec<String> = bases
            .iter()
            .map(|base| format!("{base}/v1/events"))
            .collect();
        senders.spawn(async move {
            loop {
                let from = next.fetch_add(per_request, Ordering::Relaxed);
                if from >= total {
                    return Ok::<_, anyhow::Error>(());
                }
                let count = per_request.min(total - from);
                let response = client
                    .post(&urls[from / per_request % urls.len()])
                    .bearer_auth(TOKEN)
                    .json(&make(from, count))
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status() == 202,
                    "ingest answered {}",
                    response.status()
                );
            }
        });
    }
    while let Some(result) = senders.join_next().await {
        result??;
    }
    Ok(started.elapsed())
}

/// Waits (at most 300 s) until `count()` reaches `target`.
pub(crate) async fn wait_for(count: impl Fn() -> usize, target: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    while count() < target {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {target} arrived",
            count()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// POSTs `body` to the API at `path` with the admin token; returns the
/// answer's JSON, or an error unless it is a success.
pub(crate) async fn api(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    Ok(response.json().await?)
}

pub async fn run() -> anyhow::Result<()> {
    // Fails early, naming the build command, if the binary is missing.
    sluice_tests::process::sluice_binary("release");
    run_on("SQLite", Backend::Sqlite, None).await?;
    let base = std::env::var("SLUICE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = sluice_core::new_id("bench").to_lowercase();
    sqlx::any::install_default_drivers();
    match sqlx::AnyConnection::connect(&base).await {
        Ok(mut admin) => {
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut admin)
                .await?;
            let url = format!("{base}?options=-csearch_path%3D{schema}");
            let result = run_on("PostgreSQL", Backend::Postgres, Some(&url)).await;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut admin)
                .await?;
            result?;
        }
        Err(error) => println!("service on PostgreSQL: skipped, {base} unreachable: {error}"),
    }
    Ok(())
}

/// What Svix reached in the shape of the one-event-per-request phase, on
/// this machine and its PostgreSQL.
const SVIX_ONE_PER_REQUEST: &str = "Svix on this machine and database reached 539 to 957/s in the same shape (20,000 messages, 8 senders; 539-813 with its Redis queue, 652-957 with its memory queue; ../shared/reference/peers.md)";

async fn run_on(label: &str, backend: Backend, database_url: Option<&str>) -> anyhow::Result<()> {
    let backend = Some(backend);
    let (sink, sink_addr) = Sink::start().await?;

    let ca = TestCa::new()?;
    let slack = FakeSlack::start(&ca, SlackOptions::unthrottled()).await?;
    let channel = slack.create_channel("bench", Membership::Member);
    let webhook_url = slack.register_webhook(&channel);

    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), &ca, slack.egress_overrides())?;
    let process = start(&dir.path().join("data"), &config, database_url)?;
    let client = reqwest::Client::new();
    let base = process.base.clone();
    let sink_url = |path: &str| format!("http://{sink_addr}/{path}");

    // Webhooks end to end, one event per request (a single JSON object), as
    // a producer without batching sends them; first, so that the peak
    // resident memory is this load's.
    api(
        &client,
        &base,
        "/v1/stores/one/webhooks",
        json!({"name": "sink", "url": sink_url("one"), "event_types": ["order.*"]}),
    )
    .await?;
    let total = scaled(20_000);
    sink.received.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let cpu = process.cpu_meter();
    let (sent, highest_rss) = process
        .highest_memory_during(async {
            send_requests(&client, &[&base], total, 1, |from, _| {
                events("one", "one", from, 1)[0].take()
            })
            .await?;
            wait_for(|| sink.received.load(Ordering::Relaxed), total).await
        })
        .await;
    sent?;
    let one_per_request = total as f64 / started.elapsed().as_secs_f64();
    let svix = match backend {
        Some(Backend::Postgres) => format!("; {SVIX_ONE_PER_REQUEST}"),
        _ => String::new(),
    };
    println!(
        "service on {label}: webhook deliveries end to end, one event per request {one_per_request:.0}/s ({total}, {SENDERS} senders){svix}"
    );
    figure(
        "service.one_per_request_deliveries_per_s",
        one_per_request,
        "per_s",
        backend,
    );
    cpu.report(
        label,
        ("one_per_request", "event sent alone and delivered"),
        total,
        backend,
    );
    let (_, peak) = process.memory();
    println!(
        "service on {label}: resident memory under one event per request: up to {highest_rss} MiB (sampled every 100 ms), peak {peak} MiB"
    );
    figure(
        "service.one_per_request_rss_max_mib",
        highest_rss as f64,
        "MiB",
        backend,
    );
    figure(
        "service.one_per_request_rss_peak_mib",
        peak as f64,
        "MiB",
        backend,
    );

    // Ingest alone: a store with no targets.
    let total = scaled(20_000);
    let elapsed = send_all(&client, &base, "ingest", total).await?;
    println!(
        "service on {label}: events accepted {:.0}/s ({total} events, batches of {BATCH}, {SENDERS} senders)",
        total as f64 / elapsed.as_secs_f64()
    );
    figure(
        "service.events_accepted_per_s",
        total as f64 / elapsed.as_secs_f64(),
        "per_s",
        backend,
    );

    // Webhooks end to end.
    api(
        &client,
        &base,
        "/v1/stores/wh/webhooks",
        json!({"name": "sink", "url": sink_url("wh"), "event_types": ["order.*"]}),
    )
    .await?;
    let total = scaled(20_000);
    let started = Instant::now();
    let cpu = process.cpu_meter();
    sink.received.store(0, Ordering::Relaxed);
    send_all(&client, &base, "wh", total).await?;
    wait_for(|| sink.received.load(Ordering::Relaxed), total).await?;
    let webhooks_per_second = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "service on {label}: webhook deliveries end to end {webhooks_per_second:.0}/s ({total})"
    );
    let webhook_cpu = cpu.report(label, ("webhook", "webhook delivery"), total, backend);
    figure(
        "service.webhook_deliveries_per_s",
        webhooks_per_second,
        "per_s",
        backend,
    );

    // The Slack connector end to end.
    api(
        &client,
        &base,
        "/v1/stores/sl/connectors",
        json!({
            "connector_id": "slack", "name": "bench", "event_types": ["order.*"],
            "settings": {"mode": "incoming-webhook"}, "credentials": {"webhook_url": webhook_url},
        }),
    )
    .await?;
    let started = Instant::now();
    let cpu = process.cpu_meter();
    send_all(&client, &base, "sl", total).await?;
    wait_for(|| slack.message_count(), total).await?;
    let slack_per_second = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "service on {label}: Slack connector deliveries end to end {slack_per_second:.0}/s ({total}); {:.2} of the webhook path",
        slack_per_second / webhooks_per_second
    );
    let slack_cpu = cpu.report(label, ("slack", "Slack delivery"), total, backend);
    println!(
        "service on {label}: the service spends {:.2} times the CPU on a Slack delivery as on a webhook delivery",
        slack_cpu / webhook_cpu
    );
    figure(
        "service.slack_vs_webhook_cpu",
        slack_cpu / webhook_cpu,
        "ratio",
        backend,
    );
    figure(
        "service.slack_deliveries_per_s",
        slack_per_second,
        "per_s",
        backend,
    );
    figure(
        "service.slack_vs_webhook",
        slack_per_second / webhooks_per_second,
        "ratio",
        backend,
    );

    // Latency at a fixed offered rate: 10 events every 10 ms.
    api(
        &client,
        &base,
        "/v1/stores/lat/webhooks",
        json!({"name": "sink", "url": sink_url("lat"), "event_types": ["order.*"]}),
    )
    .await?;
    sink.latencies_ms.lock().clear();
    sink.received.store(0, Ordering::Relaxed);
    let seconds = scaled(10);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0;
    for round in 0..seconds * 100 {
        tick.tick().await;
        let (client, url) = (client.clone(), format!("{base}/v1/events"));
        let batch = events("lat", "lat", round * 10, 10);
        sent += 10;
        tokio::spawn(async move {
            let _ = client
                .post(url)
                .bearer_auth(TOKEN)
                .json(&batch)
                .send()
                .await;
        });
    }
    wait_for(|| sink.received.load(Ordering::Relaxed), sent).await?;
    let mut latencies = std::mem::take(&mut *sink.latencies_ms.lock());
    let (p50, p99) = percentiles(&mut latencies);
    println!(
        "service on {label}: acceptance to delivery at 1000 events/s for {seconds} s: p50 {p50:.1} ms, p99 {p99:.1} ms"
    );
    figure("service.delivery_latency_p50_ms", p50, "ms", backend);
    figure("service.delivery_latency_p99_ms", p99, "ms", backend);
    let (rss, peak) = process.memory();
    println!("service on {label}: resident memory {rss} MiB now, peak {peak} MiB");
    figure("service.rss_now_mib", rss as f64, "MiB", backend);
    figure("service.rss_peak_mib", peak as f64, "MiB", backend);
    crate::console::run(label, backend, &client, &base).await?;
    Ok(())
}
