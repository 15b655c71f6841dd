//! Runs each test body on a fresh SQLite file and on a fresh PostgreSQL
//! schema, plus the fixtures the tests share.
//!
//! PostgreSQL is found at `SLUICE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test gets its own schema,
//! selected with `options=-csearch_path=...` and dropped at the end, so tests
//! run in parallel. An unreachable server fails the PostgreSQL variants unless
//! `SLUICE_SKIP_POSTGRES=1`.

use std::future::Future;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use sluice_core::{EventTypePattern, UnixMillis, new_id};
use sluice_secrets::{MasterKey, SecretBox, SecretString};
use sluice_storage::{
    AttemptRecord, AttemptResult, ClaimedDelivery, ConnectorConfig, Credentials, Db, EventSource,
    NewConnectorConfig, NewEvent, NewWebhookSubscription, TargetSignal, Verdict,
    WebhookSubscription,
};
use sqlx::{Connection, Executor};

const POSTGRES_URL_ENV: &str = "SLUICE_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A plausible start of time for tests.
pub const T0: UnixMillis = 1_700_000_000_000;

/// Declares tests whose body runs once on each backend: for each
/// `async fn name(db: TestDb) { ... }`, a module `name` with the tests
/// `sqlite` and `postgres`.
macro_rules! on_both_backends {
    ($(
        $(#[$meta:meta])*
        async fn $name:ident($db:ident: TestDb) $body:block
    )+) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($db: $crate::support::TestDb) $body

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::support::on_sqlite(body).await;
            }

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::support::on_postgres(body).await;
            }
        }
    )+};
}

/// A database for one test: derefs to its [`Db`].
pub struct TestDb {
    db: Db,
    url: String,
}

impl Deref for TestDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl TestDb {
    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another handle on the same database, sealing with `secrets`.
    pub async fn reconnect(&self, secrets: SecretBox) -> Db {
        Db::connect(&self.url, secrets).await.expect("reconnect")
    }
}

/// Runs `body` on a new SQLite database file.
pub async fn on_sqlite<F, Fut>(body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("sluice.db").display()
    );
    let db = Db::connect(&url, secret_box()).await.expect("open SQLite");
    body(TestDb {
        db: db.clone(),
        url,
    })
    .await;
    db.close().await;
}

/// Runs `body` on a new schema of the test PostgreSQL database, dropped after.
pub async fn on_postgres<F, Fut>(body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    if std::env::var("SLUICE_SKIP_POSTGRES").is_ok_and(|value| value == "1") {
        eprintln!("PostgreSQL variant skipped: SLUICE_SKIP_POSTGRES=1");
        return;
    }
    let base = std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    let mut admin = connect_admin(&base).await;
    let schema = new_id("test");
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .expect("create test schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    let db = Db::connect(&url, secret_box())
        .await
        .expect("open PostgreSQL");
    let outcome = AssertUnwindSafe(body(TestDb {
        db: db.clone(),
        url,
    }))
    .catch_unwind()
    .await;
    db.close().await;
    admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await
        .expect("drop test schema");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn connect_admin(url: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let unreachable = |reason: String| -> ! {
        panic!(
            "PostgreSQL is unreachable at {url}: {reason}. The PostgreSQL variants of the \
             storage tests need it (CI starts one; set {POSTGRES_URL_ENV} to point elsewhere), \
             or set SLUICE_SKIP_POSTGRES=1 to skip them."
        )
    };
    match tokio::time::timeout(Duration::from_secs(10), sqlx::AnyConnection::connect(url)).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => unreachable(error.to_string()),
        Err(_) => unreachable("no answer within 10 s".into()),
    }
}

/// A box sealing under a fresh random key.
pub fn secret_box() -> SecretBox {
    SecretBox::new(&MasterKey::generate())
}

/// Parses event-type patterns.
pub fn patterns(texts: &[&str]) -> Vec<EventTypePattern> {
    texts
        .iter()
        .map(|text| EventTypePattern::parse(text).expect("valid pattern"))
        .collect()
}

/// An API event of `store_id` with a small payload.
pub fn event(store_id: &str, id: &str, event_type: &str) -> NewEvent {
    NewEvent {
        store_id: store_id.into(),
        id: id.into(),
        event_type: event_type.into(),
        occurred_at: T0 - 1_000,
        payload: format!(r#"{{"id":"{id}"}}"#),
        source: EventSource::Api,
    }
}

/// Creates an active webhook subscription of `store_id`.
pub async fn webhook(db: &Db, store_id: &str, event_types: &[&str]) -> WebhookSubscription {
    db.create_webhook_subscription(
        store_id,
        &NewWebhookSubscription {
            name: "orders".into(),
            url: "https://example.com/hooks".into(),
            event_types: patterns(event_types),
            signing_secret: SecretString::new("whsec_first"),
            rate_limit_per_second: None,
        },
        T0,
    )
    .await
    .expect("create webhook subscription")
}

/// Creates a connector configuration of `store_id`.
pub async fn connector(
    db: &Db,
    store_id: &str,
    event_types: &[&str],
    active: bool,
) -> ConnectorConfig {
    db.create_connector_config(
        store_id,
        &NewConnectorConfig {
            connector_id: "slack".into(),
            name: "team channel".into(),
            event_types: patterns(event_types),
            settings: [("channel".to_owned(), "#orders".to_owned())].into(),
            credentials: Credentials::from([("bot_token".to_owned(), SecretString::new("xoxb-1"))]),
            active,
            rate_limit_per_second: None,
        },
        T0,
    )
    .await
    .expect("create connector configuration")
}

/// The result of attempting `claimed` with `verdict`, started at `now`.
pub fn attempted(claimed: &ClaimedDelivery, verdict: Verdict, now: UnixMillis) -> AttemptResult {
    let error = match verdict {
        Verdict::Delivered { .. } => None,
        _ => Some("HTTP 503".to_owned()),
    };
    AttemptResult {
        lease: claimed.lease.clone(),
        verdict,
        attempt: AttemptRecord {
            trigger: claimed.delivery.next_trigger,
            started_at: now,
            duration_ms: 12,
            http_status: Some(if error.is_some() { 503 } else { 200 }),
            request_url: Some("https://example.com/hooks".into()),
            request_headers: serde_json::value::to_raw_value(
                &serde_json::json!({"webhook-id": claimed.delivery.id}),
            )
            .ok(),
            response_body: Some("ok".into()),
            error,
            report: None,
            connector_version: None,
            component_digest: None,
        },
        signal: TargetSignal::Neutral,
    }
}
