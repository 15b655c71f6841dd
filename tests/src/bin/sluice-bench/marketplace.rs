//! The marketplace connectors (Amazon, eBay, Google Shopping) against their
//! fakes, unthrottled: deliveries per second end to end through a `sluice
//! serve` process, and the time per order sync batch in the runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_core::{SharedClock, SystemClock};
use sluice_runtime::types::SyncRequest;
use sluice_runtime::{LoadedConnector, MemoryState, Runtime};
use sluice_tests::TestCa;
use sluice_tests::fakes::amazon::{AmazonOptions, FakeAmazon, MARKETPLACE_US, OrderSeed};
use sluice_tests::fakes::ebay::{EbayOptions, EbayOrderSeed, FakeEbay};
use sluice_tests::fakes::google::{AccountAccess, FakeGoogle, GoogleOptions};
use sluice_tests::guests::guest;
use sluice_tests::sandbox::{self, call_context};

use crate::report::{Backend, figure, slug};
use crate::service::{self, TOKEN};
use crate::{percentiles, scaled};

/// SKUs listed before the run; the `inventory.updated` events cycle over them.
const SKUS: usize = 50;
/// Orders seeded for the sync figures.
const ORDERS: usize = 1_000;
/// Records asked of each sync batch.
const SYNC_BATCH: u32 = 100;
const MINUTE_MS: i64 = 60_000;
const WAIT: Duration = Duration::from_secs(300);

/// A fake, for what the figures read of it.
#[derive(Clone, Copy)]
enum Fake<'a> {
    Amazon(&'a FakeAmazon),
    Ebay(&'a FakeEbay),
    Google(&'a FakeGoogle),
}

impl Fake<'_> {
    /// Writes the fake accepted so far.
    fn writes(self) -> usize {
        match self {
            Self::Amazon(fake) => fake.change_count(),
            Self::Ebay(fake) => fake.change_count(),
            Self::Google(fake) => fake.change_count(),
        }
    }

    /// Waits until the fake accepted `count` writes in all.
    async fn wait_for_writes(self, count: usize) -> anyhow::Result<()> {
        match self {
            Self::Amazon(fake) => fake.wait_for_changes(count, WAIT).await.map(drop),
            Self::Ebay(fake) => fake.wait_for_changes(count, WAIT).await.map(drop),
            Self::Google(fake) => fake.wait_for_changes(count, WAIT).await.map(drop),
        }
        .map_err(|timeout| anyhow::anyhow!("the fake's writes: {timeout}"))
    }

    /// Access tokens the fake issued.
    fn token_exchanges(self) -> usize {
        match self {
            Self::Amazon(fake) => fake.access_tokens().len(),
            Self::Ebay(fake) => fake.access_tokens().len(),
            Self::Google(fake) => fake.access_tokens().len(),
        }
    }

    /// The writes one `product.updated` of a new SKU makes.
    fn writes_per_listing(self) -> usize {
        match self {
            // The item, the offer, its publication.
            Self::Ebay(_) => 3,
            Self::Amazon(_) | Self::Google(_) => 1,
        }
    }
}

/// One connector configuration to drive.
struct Target<'a> {
    label: &'static str,
    store: &'static str,
    fake: Fake<'a>,
    /// The body that creates the configuration.
    configuration: Value,
}

/// Runs the marketplace figures.
pub async fn run() -> anyhow::Result<()> {
    // Fails early, naming the build command, if the binary is missing.
    sluice_tests::process::sluice_binary("release");
    end_to_end().await?;
    sync().await
}

fn sku(k: usize) -> String {
    format!("BENCH-{k:03}")
}

/// A product every marketplace connector takes.
fn product(k: usize) -> Value {
    let sku = sku(k);
    json!({
        "sku": sku,
        "title": format!("Bench T-shirt {k}"),
        "description": "100% organic cotton.",
        "brand": "Acme",
        "identifiers": {"gtin": "00012345678905", "mpn": format!("TS-{k}")},
        "images": ["https://cdn.example.com/tshirt-red.jpg"],
        "price": {"amount": "19.99", "currency": "USD"},
        "condition": "new",
        "quantity": 10,
        "link": format!("https://shop.example.com/p/{sku}"),
        "attributes": {"color": "red", "size": "M"},
    })
}

fn envelopes(
    store: &str,
    prefix: &str,
    event_type: &str,
    from: usize,
    count: usize,
    payload: impl Fn(usize) -> Value,
) -> Value {
    Value::Array(
        (from..from + count)
            .map(|i| {
                json!({
                    "id": format!("{prefix}{i}"),
                    "type": event_type,
                    "store_id": store,
                    "occurred_at": "2026-11-30T10:00:00Z",
                    "payload": payload(i),
                })
            })
            .collect(),
    )
}

/// Fails as soon as `store` has a dead delivery, naming its error.
async fn watch_dead(client: &reqwest::Client, base: &str, store: &str) -> anyhow::Result<()> {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let answer: Value = client
            .get(format!(
                "{base}/v1/stores/{store}/deliveries?status=dead&limit=1"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?;
        if let Some(dead) = answer["items"].as_array().and_then(|items| items.first()) {
            anyhow::bail!("a delivery of {store} is dead: {}", dead["last_error"]);
        }
    }
}

/// Waits until `fake` accepted `count` writes, failing early on a dead
/// delivery of `store`.
async fn wait_for_writes(
    client: &reqwest::Client,
    base: &str,
    store: &str,
    fake: Fake<'_>,
    count: usize,
) -> anyhow::Result<()> {
    tokio::select! {
        done = fake.wait_for_writes(count) => done,
        dead = watch_dead(client, base, store) => dead,
    }
}

async fn end_to_end() -> anyhow::Result<()> {
    let ca = TestCa::new()?;
    let amazon = FakeAmazon::start(&ca, AmazonOptions::unthrottled()).await?;
    let ebay = FakeEbay::start(&ca, EbayOptions::unthrottled()).await?;
    let google = FakeGoogle::start(&ca, GoogleOptions::unthrottled()).await?;

    let dir = tempfile::tempdir()?;
    let resolve = amazon
        .egress_overrides()
        .into_iter()
        .chain(ebay.egress_overrides())
        .chain(google.egress_overrides());
    let config = service::write_config(dir.path(), &ca, resolve)?;
    let process = service::start(&dir.path().join("data"), &config, None)?;
    let client = reqwest::Client::new();
    let base = process.base.clone();

    let seller = amazon.onboard_seller(&[MARKETPLACE_US]);
    let ebay_seller = ebay.onboard_seller();
    let account = google.add_merchant_account(AccountAccess::Granted);
    let data_source = google.create_data_source(account, "Sluice");
    let events = json!(["product.updated", "inventory.updated"]);
    let targets = [
        Target {
            label: "Amazon",
            store: "amazon",
            fake: Fake::Amazon(&amazon),
            configuration: json!({
                "connector_id": "amazon", "name": "bench", "event_types": events,
                "settings": {"seller_id": seller.seller_id, "marketplace_id": MARKETPLACE_US},
                "credentials": {
                    "client_id": seller.client_id,
                    "client_secret": seller.client_secret,
                    "refresh_token": seller.refresh_token,
                },
            }),
        },
        Target {
            label: "eBay",
            store: "ebay",
            fake: Fake::Ebay(&ebay),
            configuration: json!({
                "connector_id": "ebay", "name": "bench", "event_types": events,
                "settings": {
                    "marketplace_id": "EBAY_US",
                    "merchant_location_key": ebay_seller.merchant_location_key,
                    "category_id": "15687",
                    "fulfillment_policy_id": ebay_seller.policies.fulfillment_policy_id,
                    "payment_policy_id": ebay_seller.policies.payment_policy_id,
                    "return_policy_id": ebay_seller.policies.return_policy_id,
                },
                "credentials": {
                    "client_id": ebay_seller.app.client_id,
                    "client_secret": ebay_seller.app.client_secret,
                    "refresh_token": ebay_seller.refresh_token,
                },
            }),
        },
        Target {
            label: "Google Shopping",
            store: "google",
            fake: Fake::Google(&google),
            configuration: json!({
                "connector_id": "google-shopping", "name": "bench", "event_types": events,
                "settings": {
                    "merchant_id": account.to_string(),
                    "data_source": data_source,
                    "feed_label": "US",
                },
                "credentials": {
                    "service_account_key": google.service_account().key_file_json(),
                },
            }),
        },
    ];

    for target in targets {
        let (store, fake) = (target.store, target.fake);
        let created = service::api(
            &client,
            &base,
            &format!("/v1/stores/{store}/connectors"),
            target.configuration,
        )
        .await?;
        let id = created["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no configuration id in {created}"))?;
        // The connection check exchanges the first token and keeps it in
        // the configuration's state.
        let checked = service::api(
            &client,
            &base,
            &format!("/v1/stores/{store}/connectors/{id}/test"),
            json!({}),
        )
        .await?;
        anyhow::ensure!(
            checked["status"] == "ok",
            "{} connection check: {checked}",
            target.label
        );

        // Untimed: list the SKUs the inventory updates name.
        service::send_batches(&client, &base, SKUS, move |from, count| {
            envelopes(store, "product-", "product.updated", from, count, product)
        })
        .await?;
        wait_for_writes(
            &client,
            &base,
            store,
            fake,
            SKUS * fake.writes_per_listing(),
        )
        .await?;

        let total = scaled(2_000);
        let (writes, exchanges) = (fake.writes(), fake.token_exchanges());
        let started = Instant::now();
        service::send_batches(&client, &base, total, move |from, count| {
            envelopes(
                store,
                "stock-",
                "inventory.updated",
                from,
                count,
                |i| json!({"sku": sku(i % SKUS), "quantity": i % 100}),
            )
        })
        .await?;
        wait_for_writes(&client, &base, store, fake, writes + total).await?;
        let per_second = total as f64 / started.elapsed().as_secs_f64();
        // One write per event, not more: none was counted twice.
        tokio::time::sleep(Duration::from_millis(200)).await;
        anyhow::ensure!(
            fake.writes() == writes + total,
            "{} accepted {} writes for {total} events",
            target.label,
            fake.writes() - writes
        );
        let all = fake.token_exchanges();
        println!(
            "marketplace: {} connector deliveries end to end {per_second:.0}/s ({total} inventory.updated over {SKUS} SKUs); token exchanges at the fake: {} during the run, {all} in all",
            target.label,
            all - exchanges,
        );
        let name = format!("marketplace.{}", slug(target.label));
        let sqlite = Some(Backend::Sqlite);
        figure(
            format!("{name}.deliveries_per_s"),
            per_second,
            "per_s",
            sqlite,
        );
        figure(
            format!("{name}.token_exchanges_during_run"),
            (all - exchanges) as f64,
            "count",
            sqlite,
        );
        figure(
            format!("{name}.token_exchanges_total"),
            all as f64,
            "count",
            sqlite,
        );
    }
    Ok(())
}

async fn sync() -> anyhow::Result<()> {
    let ca = TestCa::new()?;
    let clock: SharedClock = Arc::new(SystemClock);
    // Every order changed at its own whole minute, the newest an hour ago.
    let newest = clock.now_ms() / MINUTE_MS * MINUTE_MS - 60 * MINUTE_MS;
    let changed_at = |i: usize| newest - (ORDERS - 1 - i) as i64 * MINUTE_MS;

    let amazon = FakeAmazon::start(&ca, AmazonOptions::unthrottled()).await?;
    let seller = amazon.onboard_seller(&[MARKETPLACE_US]);
    for i in 0..ORDERS {
        amazon.seed_order(
            &seller.seller_id,
            OrderSeed::new(MARKETPLACE_US, changed_at(i) - 30 * MINUTE_MS)
                .last_updated(changed_at(i))
                .item("MUG-1", 2, "19.99"),
        );
    }
    let runtime = sandbox::runtime(&ca, amazon.egress_overrides());
    let (manifest, wasm) = guest("connectors/amazon");
    let connector = runtime.load(manifest, wasm).await?;
    let mut batches = sync_batches(
        &runtime,
        &connector,
        &[
            ("seller_id", &seller.seller_id),
            ("marketplace_id", MARKETPLACE_US),
        ],
        &[
            ("client_id", &seller.client_id),
            ("client_secret", &seller.client_secret),
            ("refresh_token", &seller.refresh_token),
        ],
        &clock,
    )
    .await?;
    report_sync("Amazon", &mut batches);

    let ebay = FakeEbay::start(&ca, EbayOptions::unthrottled()).await?;
    let ebay_seller = ebay.onboard_seller();
    for i in 0..ORDERS {
        ebay.seed_order(
            EbayOrderSeed::new(changed_at(i) - 30 * MINUTE_MS)
                .last_modified(changed_at(i))
                .line_item("MUG-1", 2, "19.99"),
        );
    }
    let runtime = sandbox::runtime(&ca, ebay.egress_overrides());
    let (manifest, wasm) = guest("connectors/ebay");
    let connector = runtime.load(manifest, wasm).await?;
    let policies = &ebay_seller.policies;
    let mut batches = sync_batches(
        &runtime,
        &connector,
        &[
            ("environment", "production"),
            ("marketplace_id", "EBAY_US"),
            ("content_language", "en-US"),
            ("merchant_location_key", &ebay_seller.merchant_location_key),
            ("category_id", "15687"),
            ("fulfillment_policy_id", &policies.fulfillment_policy_id),
            ("payment_policy_id", &policies.payment_policy_id),
            ("return_policy_id", &policies.return_policy_id),
        ],
        &[
            ("client_id", &ebay_seller.app.client_id),
            ("client_secret", &ebay_seller.app.client_secret),
            ("refresh_token", &ebay_seller.refresh_token),
        ],
        &clock,
    )
    .await?;
    report_sync("eBay", &mut batches);
    Ok(())
}

fn report_sync(label: &str, batches: &mut [f64]) {
    let count = batches.len();
    let (p50, p99) = percentiles(batches);
    println!(
        "marketplace: {label} order sync, batches of {SYNC_BATCH} from {ORDERS} orders: p50 {p50:.2} ms, p99 {p99:.2} ms per batch ({count} batches, fresh instance each)"
    );
    let name = format!("marketplace.{}", slug(label));
    figure(format!("{name}.sync_batch_p50_ms"), p50, "ms", None);
    figure(format!("{name}.sync_batch_p99_ms"), p99, "ms", None);
}

/// Syncs all `ORDERS` orders from the start, `SYNC_BATCH` at a time, several
/// times over, after one untimed batch that caches the token; returns the ms
/// each full batch took.
async fn sync_batches(
    runtime: &Runtime,
    connector: &Arc<LoadedConnector>,
    settings: &[(&str, &str)],
    credentials: &[(&str, &str)],
    clock: &SharedClock,
) -> anyhow::Result<Vec<f64>> {
    let state = MemoryState::default();
    let once = |cursor: Option<String>| {
        let mut context = call_context(settings, credentials, &state, clock.clone());
        context.delivery_id = None;
        context.attempt = 0;
        let request = SyncRequest {
            entity: "orders".into(),
            cursor,
            max_records: SYNC_BATCH,
        };
        runtime.sync(connector, context, request)
    };
    let warm = once(None).await;
    anyhow::ensure!(
        matches!(warm.result, Ok(Ok(_))),
        "sync failed: {:?}",
        warm.result
    );
    let mut samples = Vec::new();
    for _ in 0..scaled(10) {
        let (mut cursor, mut pulled) = (None, 0);
        loop {
            let started = Instant::now();
            let invocation = once(cursor).await;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let batch = match invocation.result {
                Ok(Ok(batch)) => batch,
                other => anyhow::bail!("sync failed: {other:?}"),
            };
            if batch.records.len() == SYNC_BATCH as usize {
                samples.push(ms);
            }
            pulled += batch.records.len();
            cursor = batch.next_cursor;
            if !batch.has_more {
                break;
            }
        }
        anyhow::ensure!(
            pulled == ORDERS,
            "a pass pulled {pulled} of {ORDERS} orders"
        );
    }
    Ok(samples)
}
