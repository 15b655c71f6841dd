//! The connectors written in languages other than Rust, as `make polyglot`
//! builds them into `build/polyglot/<id>/` (`connector.toml` and
//! `connector.wasm`), and the suite the Slack incoming-webhook connector
//! runs in each of its languages.
//!
//! [`SlackWebhook`] names one build of that connector: Python
//! (`guests/python/slack-webhook`, componentize-py) or JavaScript
//! (`guests/js/slack-webhook`, StarlingMonkey).
//! [`slack_webhook_suite!`](crate::slack_webhook_suite) instantiates the
//! tests of [`suite`] for one of them: run in the real host runtime against
//! the fake Slack over TLS, each of Slack's answers maps to the outcome the
//! Rust connector gives; requests the host refuses or cannot connect end as
//! outcomes carrying the host's error code, never as a trap; the component
//! never holds the webhook URL; and it delivers end to end through the
//! service. What differs between the languages (the layout of their
//! messages) stays with each language's test file, on the same [`Harness`].
//!
//! Components are compiled once for all tests: the runtimes here keep them
//! on disk where the service tests do ([`runtime_config`]), and [`load`]
//! loads one at a time so that the first compiles and the others find it.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use sluice_core::ManualClock;
use sluice_egress::{Egress, EgressSettings, Resolve, SystemResolver};
use sluice_manifest::Manifest;
use sluice_runtime::types::{ConnectionCheck, DeliveryOutcome, Event};
use sluice_runtime::{
    Invocation, LoadedConnector, MemoryInspector, MemoryState, Runtime, RuntimeConfig,
};

use crate::TestCa;
use crate::fakes::slack::{FakeSlack, Membership, PostedMessage, PostedVia, SlackOptions};
use crate::sandbox::{call_context, delivered, egress_settings, event, failed};

/// The origin of every request to an incoming webhook, as reports show it.
pub const WEBHOOK_ORIGIN: &str = "https://hooks.slack.com:443";

/// How the report shows a request to the webhook URL, whose path is the
/// secret: by the credential's name.
pub const WEBHOOK_RECORDED: &str = "(the URL of credential webhook_url)";

/// Where `make polyglot` leaves connector `id`: `connector.toml` and
/// `connector.wasm`, as the service installs them.
pub fn built_dir(id: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../build/polyglot")
        .join(id)
}

/// One file of built connector `id`; fails saying how to build it.
fn built_file(id: &str, file: &str) -> Vec<u8> {
    let path = built_dir(id).join(file);
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; `make polyglot` (make test runs it) builds {id}",
            path.display()
        )
    })
}

/// The text of built connector `id`'s manifest.
pub fn built_manifest_text(id: &str) -> String {
    String::from_utf8(built_file(id, "connector.toml"))
        .unwrap_or_else(|error| panic!("{id}/connector.toml: {error}"))
}

/// Built connector `id`'s manifest.
pub fn built_manifest(id: &str) -> Manifest {
    Manifest::parse(&built_manifest_text(id))
        .unwrap_or_else(|error| panic!("{id}/connector.toml: {error}"))
}

/// Built connector `id`'s component.
pub fn built_component(id: &str) -> Vec<u8> {
    built_file(id, "connector.wasm")
}

/// A runtime configuration keeping compiled components on disk (keyed by
/// digest and engine settings) where the service tests keep theirs: a
/// component of 13 to 18 MB is compiled once, not once per test.
pub fn runtime_config() -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("sluice-tests-compiled")),
        ..RuntimeConfig::default()
    }
}

/// Loads `component` under `manifest` into `runtime`, one load at a time,
/// so that the first compiles it and the others find it in the cache.
pub async fn load(
    runtime: &Runtime,
    manifest: Manifest,
    component: Vec<u8>,
) -> Arc<LoadedConnector> {
    static LOADING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let id = manifest.id.clone();
    let _one_at_a_time = LOADING.lock().await;
    runtime
        .load(manifest, component)
        .await
        .unwrap_or_else(|error| panic!("{id} does not load: {error}"))
}

/// A runtime whose egress has `settings` and resolves names with
/// `resolver`, with built connector `id` loaded.
pub async fn loaded_runtime(
    id: &str,
    settings: EgressSettings,
    resolver: Arc<dyn Resolve>,
) -> (Runtime, Arc<LoadedConnector>) {
    let egress = Egress::new(settings, resolver).expect("valid egress settings");
    let runtime = Runtime::new(runtime_config(), egress).expect("a runtime");
    let connector = load(&runtime, built_manifest(id), built_component(id)).await;
    (runtime, connector)
}

/// A connectors directory for the service holding built connector `id`
/// alone.
pub fn connectors_dir(id: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a connectors directory");
    let target = dir.path().join(id);
    std::fs::create_dir_all(&target).expect("a connector folder");
    for file in ["connector.toml", "connector.wasm"] {
        std::fs::write(target.join(file), built_file(id, file)).expect("a connector file");
    }
    dir
}

/// One build of the Slack incoming-webhook connector (the Rust Slack
/// connector's `incoming-webhook` mode), by the language it is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackWebhook {
    /// `guests/python/slack-webhook`, with the Python guest SDK.
    Python,
    /// `guests/js/slack-webhook`, with the JavaScript guest SDK.
    JavaScript,
}

impl SlackWebhook {
    /// The connector's id, which is also its folder under `build/polyglot`.
    pub const fn id(self) -> &'static str {
        match self {
            Self::Python => "slack-webhook-python",
            Self::JavaScript => "slack-webhook-js",
        }
    }

    /// How the language's guest SDK names the `wasi:http` error code
    /// `case` (as WIT spells it, `destination-IP-prohibited`) in the
    /// reasons it gives: `ErrorCode::DestinationIpProhibited` in Python
    /// (componentize-py's class name), the WIT name in JavaScript.
    pub fn error_code(self, case: &str) -> String {
        match self {
            Self::Python => {
                let name: String = case
                    .split('-')
                    .map(|word| {
                        let mut chars = word.chars();
                        chars.next().map_or_else(String::new, |first| {
                            first
                                .to_uppercase()
                                .chain(chars.flat_map(char::to_lowercase))
                                .collect()
                        })
                    })
                    .collect();
                format!("ErrorCode::{name}")
            }
            Self::JavaScript => case.to_owned(),
        }
    }
}

/// The fake Slack and a runtime reaching it over TLS, with one build of the
/// connector loaded.
pub struct Harness {
    /// The fake Slack the runtime's egress reaches.
    pub slack: FakeSlack,
    /// The runtime, with the fake's test CA trusted.
    pub runtime: Runtime,
    /// Every linear memory the connector's instances had.
    pub memory: Arc<MemoryInspector>,
    /// The connector under test.
    pub connector: Arc<LoadedConnector>,
    /// The clock of every call.
    pub clock: Arc<ManualClock>,
    _ca: TestCa,
}

impl Harness {
    /// The built `connector` against an unthrottled fake Slack.
    pub async fn start(connector: SlackWebhook) -> Self {
        Self::new(
            SlackOptions::unthrottled(),
            built_manifest(connector.id()),
            connector,
        )
        .await
    }

    /// The built `connector` against a fake Slack with `options`.
    pub async fn with_options(connector: SlackWebhook, options: SlackOptions) -> Self {
        Self::new(options, built_manifest(connector.id()), connector).await
    }

    /// The built component of `connector` under `manifest`, which may
    /// differ from the built one to provoke a refusal.
    pub async fn with_manifest(connector: SlackWebhook, manifest: Manifest) -> Self {
        Self::new(SlackOptions::unthrottled(), manifest, connector).await
    }

    async fn new(options: SlackOptions, manifest: Manifest, connector: SlackWebhook) -> Self {
        let ca = TestCa::new().expect("a test CA");
        let slack = FakeSlack::start(&ca, options)
            .await
            .expect("the fake Slack starts");
        let egress = Egress::new(
            egress_settings(&ca, slack.egress_overrides()),
            Arc::new(SystemResolver),
        )
        .expect("valid egress settings");
        let memory = MemoryInspector::new();
        let runtime =
            Runtime::with_memory_inspector(runtime_config(), egress, &memory).expect("a runtime");
        let loaded = load(&runtime, manifest, built_component(connector.id())).await;
        Self {
            slack,
            runtime,
            memory,
            connector: loaded,
            clock: Arc::new(ManualClock::starting_now()),
            _ca: ca,
        }
    }

    /// An incoming webhook into a new channel: (channel, webhook URL).
    pub fn webhook(&self) -> (String, String) {
        let channel = self.slack.create_channel("orders", Membership::Member);
        let url = self.slack.register_webhook(&channel);
        (channel, url)
    }

    /// Delivers `event` to the webhook at `url`.
    pub async fn deliver(&self, url: &str, event: Event) -> Invocation<DeliveryOutcome> {
        self.deliver_with(&[("webhook_url", url)], event).await
    }

    /// Delivers `event` with these credentials.
    pub async fn deliver_with(
        &self,
        credentials: &[(&str, &str)],
        event: Event,
    ) -> Invocation<DeliveryOutcome> {
        let context = call_context(
            &[],
            credentials,
            &MemoryState::default(),
            self.clock.clone(),
        );
        self.runtime.deliver(&self.connector, context, event).await
    }

    /// Checks the connection with these credentials.
    pub async fn check(&self, credentials: &[(&str, &str)]) -> Invocation<ConnectionCheck> {
        let context = call_context(
            &[],
            credentials,
            &MemoryState::default(),
            self.clock.clone(),
        );
        self.runtime.test_connection(&self.connector, context).await
    }

    /// Delivers [`order_created`] to a new webhook and returns the one
    /// message it posted, after asserting what every language's connector
    /// does with it: delivered without an external id, after one request to
    /// the webhook answered 200, as one message into the webhook's channel
    /// whose text is the order's title.
    pub async fn deliver_an_order(&self) -> PostedMessage {
        let (channel, url) = self.webhook();

        let invocation = self.deliver(&url, order_created()).await;

        assert_eq!(delivered(&invocation).external_id, None);
        assert_one_webhook_post(&invocation, 200);
        let messages = self.slack.messages();
        let [message] = messages.as_slice() else {
            panic!("expected one message, got {messages:?}");
        };
        assert_eq!(message.channel, channel);
        assert_eq!(message.via, PostedVia::Webhook { url });
        assert_eq!(
            message.text.as_deref(),
            Some("Order 12-03456-78901 created")
        );
        message.clone()
    }
}

/// An eBay order with one line item, as `order.created`.
pub fn order_created() -> Event {
    event(
        "order.created",
        &json!({
            "marketplace": "ebay",
            "order_id": "12-03456-78901",
            "status": "unshipped",
            "purchased_at": "2026-11-21T18:04:11Z",
            "line_items": [{"line_item_id": "10001", "sku": "TSHIRT-RED-M", "quantity": 2}],
            "total": {"amount": "39.98", "currency": "USD"}
        })
        .to_string(),
    )
}

/// Asserts the report holds exactly one request: a POST to the webhook
/// answered with `status`.
pub fn assert_one_webhook_post<T>(invocation: &Invocation<T>, status: u16) {
    let [record] = invocation.report.egress.as_slice() else {
        panic!(
            "expected one egress record, got {:?}",
            invocation.report.egress
        );
    };
    assert_eq!(record.method, "POST");
    assert_eq!(record.origin, WEBHOOK_ORIGIN);
    assert_eq!(record.path, WEBHOOK_RECORDED);
    assert_eq!(record.status, Some(status));
    assert_eq!(record.credential.as_deref(), Some("webhook_url"));
    assert_eq!(record.refused, None);
    assert_eq!(record.error, None);
}

/// Asserts a permanent failure carrying Slack's `code`, answered with
/// `status`.
pub fn assert_refused_with(invocation: &Invocation<DeliveryOutcome>, status: u16, code: &str) {
    let failure = failed(invocation);
    assert!(
        failure.reason.starts_with("Slack refused the message") && failure.reason.contains(code),
        "{}",
        failure.reason
    );
    let remote = failure.remote.as_ref().expect("Slack's answer");
    assert_eq!(remote.status, Some(status));
    assert_eq!(remote.code.as_deref(), Some(code));
    assert_eq!(remote.message.as_deref(), Some(code));
}

/// The tests every build of the Slack incoming-webhook connector passes,
/// each a function of the build;
/// [`slack_webhook_suite!`](crate::slack_webhook_suite) makes them tests of
/// one build.
pub mod suite {
    /// Slack's answers to a post, and the outcomes they map to.
    pub mod webhook_delivery {
        use std::sync::Arc;
        use std::time::Duration;

        use sluice_core::ManualClock;
        use sluice_runtime::Invocation;
        use sluice_runtime::types::DeliveryOutcome;

        use crate::RateLimit;
        use crate::fakes::slack::{FakeSlack, SlackOptions, WebhookFailure};
        use crate::polyglot::{
            Harness, SlackWebhook, assert_one_webhook_post, assert_refused_with, order_created,
        };
        use crate::sandbox::{delivered, failed, retry};

        /// A 429 retries after the `Retry-After` seconds.
        pub async fn a_429_retries_after_the_retry_after_seconds(connector: SlackWebhook) {
            let harness = Harness::start(connector).await;
            let (_, url) = harness.webhook();
            harness.slack.fail_webhook_posts(
                WebhookFailure::RateLimited {
                    retry_after_secs: 7,
                },
                1,
            );

            let invocation = harness.deliver(&url, order_created()).await;

            let retry = retry(&invocation);
            assert_eq!(retry.after_seconds, Some(7));
            assert_eq!(retry.reason, "Slack is rate limiting this webhook");
            let remote = retry.remote.as_ref().unwrap();
            assert_eq!(remote.status, Some(429));
            assert_eq!(remote.code.as_deref(), Some("rate_limited"));
            assert_one_webhook_post(&invocation, 429);
            assert!(harness.slack.messages().is_empty());
        }

        /// A webhook posted to faster than Slack allows retries after the
        /// wait Slack announces, and then delivers.
        pub async fn a_throttled_webhook_retries_after_the_wait_slack_announces(
            connector: SlackWebhook,
        ) {
            let clock = ManualClock::starting_now();
            let harness = Harness::with_options(
                connector,
                SlackOptions {
                    webhook_rate: RateLimit::per_second(0.2, 1),
                    post_message_rate: RateLimit::Unlimited,
                    clock: Arc::new(clock.clone()),
                },
            )
            .await;
            let (_, url) = harness.webhook();

            let first = harness.deliver(&url, order_created()).await;
            let second = harness.deliver(&url, order_created()).await;

            delivered(&first);
            assert_eq!(retry(&second).after_seconds, Some(5));
            assert_one_webhook_post(&second, 429);
            clock.advance(Duration::from_secs(5));
            delivered(&harness.deliver(&url, order_created()).await);
            assert_eq!(harness.slack.messages().len(), 2);
        }

        /// A 500 retries, and the next attempt is delivered.
        pub async fn a_5xx_answer_retries_and_the_next_attempt_is_delivered(
            connector: SlackWebhook,
        ) {
            let harness = Harness::start(connector).await;
            let (_, url) = harness.webhook();
            harness
                .slack
                .fail_webhook_posts(WebhookFailure::RollupError, 1);

            let invocation = harness.deliver(&url, order_created()).await;

            let retry = retry(&invocation);
            assert_eq!(retry.reason, "Slack answered HTTP 500");
            assert_eq!(retry.after_seconds, None);
            let remote = retry.remote.as_ref().unwrap();
            assert_eq!(remote.status, Some(500));
            assert_eq!(remote.code.as_deref(), Some("rollup_error"));
            assert_one_webhook_post(&invocation, 500);
            delivered(&harness.deliver(&url, order_created()).await);
        }

        /// Delivers an order to a new webhook once `refuse` (given the fake
        /// Slack, the webhook's channel and its URL) has set Slack up to
        /// refuse it, and asserts a permanent failure carrying Slack's
        /// `code`, answered with `status` to the one post, and no message.
        async fn refused(
            connector: SlackWebhook,
            refuse: impl FnOnce(&FakeSlack, &str, &str),
            status: u16,
            code: &str,
        ) -> Invocation<DeliveryOutcome> {
            let harness = Harness::start(connector).await;
            let (channel, url) = harness.webhook();
            refuse(&harness.slack, &channel, &url);

            let invocation = harness.deliver(&url, order_created()).await;

            assert_refused_with(&invocation, status, code);
            assert_one_webhook_post(&invocation, status);
            assert!(harness.slack.messages().is_empty());
            invocation
        }

        /// A removed webhook fails permanently with `no_service`, saying so.
        pub async fn a_removed_webhook_fails_with_no_service(connector: SlackWebhook) {
            let remove = |slack: &FakeSlack, _: &str, url: &str| slack.remove_webhook(url);

            let invocation = refused(connector, remove, 404, "no_service").await;

            let reason = &failed(&invocation).reason;
            assert!(
                reason.contains("the incoming webhook was removed or disabled"),
                "{reason}"
            );
        }

        /// A deleted channel fails permanently with `channel_not_found`.
        pub async fn a_deleted_channel_fails_with_channel_not_found(connector: SlackWebhook) {
            let delete = |slack: &FakeSlack, channel: &str, _: &str| slack.delete_channel(channel);

            refused(connector, delete, 404, "channel_not_found").await;
        }

        /// An archived channel fails permanently with `channel_is_archived`.
        pub async fn an_archived_channel_fails_with_channel_is_archived(connector: SlackWebhook) {
            let archive =
                |slack: &FakeSlack, channel: &str, _: &str| slack.archive_channel(channel);

            refused(connector, archive, 410, "channel_is_archived").await;
        }

        /// `400 invalid_payload` fails permanently and posts nothing.
        pub async fn an_invalid_payload_answer_fails_permanently(connector: SlackWebhook) {
            let invalid = |slack: &FakeSlack, _: &str, _: &str| {
                slack.fail_webhook_posts(WebhookFailure::InvalidPayload, 1);
            };

            refused(connector, invalid, 400, "invalid_payload").await;
        }

        /// Every request reaches Slack once and is reported as answered:
        /// componentize-py's own body writer once turned half of such
        /// requests into `StreamError_Closed`, a retry, and so a duplicate
        /// message.
        pub async fn every_answered_request_is_reported_as_answered(connector: SlackWebhook) {
            let harness = Harness::start(connector).await;
            let (_, url) = harness.webhook();
            let (_, removed) = harness.webhook();
            harness.slack.remove_webhook(&removed);

            for round in 0..5 {
                let ok = harness.deliver(&url, order_created()).await;
                delivered(&ok);
                assert_one_webhook_post(&ok, 200);
                let gone = harness.deliver(&removed, order_created()).await;
                assert_refused_with(&gone, 404, "no_service");
                assert_eq!(harness.slack.messages().len(), round + 1);
            }
            assert_eq!(harness.slack.recorder().requests().len(), 10);
        }

        /// Without a webhook URL nothing is sent, and the delivery fails
        /// naming the credential.
        pub async fn a_delivery_without_a_webhook_url_fails_without_sending(
            connector: SlackWebhook,
        ) {
            let harness = Harness::start(connector).await;

            let invocation = harness.deliver_with(&[], order_created()).await;

            assert_eq!(
                failed(&invocation).reason,
                "credential `webhook_url` is not set"
            );
            assert!(invocation.report.egress.is_empty());
            assert!(harness.slack.recorder().requests().is_empty());
        }
    }

    /// Requests the host refuses or cannot connect: outcomes carrying the
    /// host's error code, never a trap.
    pub mod host_errors {
        use std::net::{IpAddr, SocketAddr};
        use std::sync::Arc;

        use sluice_egress::{EgressSettings, Resolve, StaticResolver, SystemResolver};
        use sluice_manifest::Manifest;
        use sluice_runtime::types::DeliveryOutcome;
        use sluice_runtime::{Invocation, MemoryState};

        use crate::TestCa;
        use crate::polyglot::{
            Harness, SlackWebhook, built_manifest_text, loaded_runtime, order_created,
        };
        use crate::sandbox::{call_context, clock, egress_settings, failed, retry};

        /// How often [`a_refused_post_ends_as_a_permanent_failure_every_time_never_a_trap`]
        /// posts: the trap it guards against (in StarlingMonkey, the
        /// JavaScript engine) came in about 6 runs of 7.
        pub const REFUSAL_RUNS: usize = 20;

        /// An order delivered to a webhook URL by a runtime whose egress has
        /// `settings` and resolves names with `resolver`: no fake Slack
        /// behind it.
        async fn deliver_without_slack(
            connector: SlackWebhook,
            settings: EgressSettings,
            resolver: Arc<dyn Resolve>,
        ) -> Invocation<DeliveryOutcome> {
            let (runtime, loaded) = loaded_runtime(connector.id(), settings, resolver).await;
            let context = call_context(
                &[],
                &[("webhook_url", "https://hooks.slack.com/services/T1/B1/x")],
                &MemoryState::default(),
                clock(),
            );
            runtime.deliver(&loaded, context, order_created()).await
        }

        /// A webhook whose name resolves, as DNS would, to a private
        /// address is refused by the host and fails permanently.
        pub async fn a_forbidden_address_is_refused_by_the_host_and_fails_permanently(
            connector: SlackWebhook,
        ) {
            let ca = TestCa::new().unwrap();
            // No operator mapping: the name resolves to a private address,
            // which the host refuses to connect to.
            let dns = StaticResolver::default().with(
                "hooks.slack.com",
                &["10.20.30.40".parse::<IpAddr>().unwrap()],
            );
            let settings = egress_settings(&ca, Default::default());

            let invocation = deliver_without_slack(connector, settings, Arc::new(dns)).await;

            let failure = failed(&invocation);
            let code = connector.error_code("destination-IP-prohibited");
            assert!(
                failure
                    .reason
                    .starts_with("Sluice refused to send the message to Slack")
                    && failure.reason.contains(&code),
                "{} (expected {code})",
                failure.reason
            );
            let [record] = invocation.report.egress.as_slice() else {
                panic!("{:?}", invocation.report.egress);
            };
            assert!(record.refused.is_some(), "{record:?}");
            assert_eq!(record.status, None);
        }

        /// Slack unreachable (nothing listens where the host sends its
        /// requests): the delivery retries, with the host's error code.
        pub async fn a_refused_connection_retries_with_the_hosts_error_code(
            connector: SlackWebhook,
        ) {
            let ca = TestCa::new().unwrap();
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let address: SocketAddr = closed.local_addr().unwrap();
            drop(closed);
            let settings = egress_settings(
                &ca,
                [("hooks.slack.com:443".to_owned(), address)]
                    .into_iter()
                    .collect(),
            );

            let invocation =
                deliver_without_slack(connector, settings, Arc::new(SystemResolver)).await;

            let retry = retry(&invocation);
            let code = connector.error_code("connection-refused");
            assert!(
                retry.reason.starts_with("could not reach Slack: ") && retry.reason.contains(&code),
                "{} (expected {code})",
                retry.reason
            );
            assert!(invocation.report.egress[0].error.is_some());
        }

        /// The built manifest of `connector` with Slack's origin neither
        /// allowed nor bound to the webhook URL: every post the component
        /// makes is refused.
        fn manifest_without_slack(connector: SlackWebhook) -> Manifest {
            let text = built_manifest_text(connector.id());
            let elsewhere =
                text.replace("https://hooks.slack.com\"", "https://hooks.example.com\"");
            assert_ne!(
                elsewhere, text,
                "the manifest no longer names Slack's origin"
            );
            Manifest::parse(&elsewhere).unwrap()
        }

        /// A post to an origin the manifest does not allow is refused by the
        /// host and ends as a permanent failure, every one of
        /// [`REFUSAL_RUNS`] times.
        pub async fn a_refused_post_ends_as_a_permanent_failure_every_time_never_a_trap(
            connector: SlackWebhook,
        ) {
            let harness =
                Harness::with_manifest(connector, manifest_without_slack(connector)).await;
            let (_, url) = harness.webhook();
            let expected = format!(
                "Sluice refused to send the message to Slack: \
                 request refused by the host's egress policy: {}",
                connector.error_code("HTTP-request-denied")
            );

            for run in 1..=REFUSAL_RUNS {
                let invocation = harness.deliver(&url, order_created()).await;

                let failure = match &invocation.result {
                    Ok(DeliveryOutcome::Failed(failure)) => failure,
                    other => panic!(
                        "run {run} of {REFUSAL_RUNS}: expected a permanent failure, got {other:?}; stderr: {}",
                        invocation.report.stderr
                    ),
                };
                assert_eq!(failure.reason, expected, "run {run}");
                let [record] = invocation.report.egress.as_slice() else {
                    panic!("run {run}: {:?}", invocation.report.egress);
                };
                assert!(record.refused.is_some(), "run {run}: {record:?}");
                assert_eq!(record.status, None, "run {run}");
            }
            assert!(harness.slack.recorder().requests().is_empty());
        }
    }

    /// The connection check, which cannot test a webhook without posting.
    pub mod connection_check {
        use sluice_runtime::types::CheckStatus;

        use crate::polyglot::{Harness, SlackWebhook};
        use crate::sandbox::check_result;

        /// A set webhook URL is reported ok, untestable without posting, and
        /// nothing is sent.
        pub async fn a_set_webhook_url_is_ok_and_nothing_is_sent(connector: SlackWebhook) {
            let harness = Harness::start(connector).await;
            let (_, url) = harness.webhook();

            let invocation = harness.check(&[("webhook_url", &url)]).await;

            let check = check_result(&invocation);
            assert_eq!(check.status, CheckStatus::Ok, "{check:?}");
            assert!(
                check.message.contains(
                    "Slack offers no way to test an incoming webhook without posting a message"
                ),
                "{}",
                check.message
            );
            assert_eq!(
                check.steps,
                [(
                    "webhook_url".to_owned(),
                    "set; applied by the host".to_owned()
                )]
            );
            assert!(invocation.report.egress.is_empty());
            assert!(harness.slack.recorder().requests().is_empty());
            assert!(harness.slack.messages().is_empty());
        }

        /// Without a webhook URL the configuration is misconfigured.
        pub async fn a_missing_webhook_url_is_misconfigured(connector: SlackWebhook) {
            let harness = Harness::start(connector).await;

            let invocation = harness.check(&[]).await;

            let check = check_result(&invocation);
            assert_eq!(check.status, CheckStatus::Misconfigured, "{check:?}");
            assert_eq!(check.message, "credential `webhook_url` is not set");
        }
    }

    /// The webhook URL, whose path is the secret, stays with the host.
    pub mod credentials {
        use sluice_runtime::types::CheckStatus;

        use crate::polyglot::{Harness, SlackWebhook, built_manifest, order_created};
        use crate::sandbox::{assert_no_secret_in_guest_memory, check_result, delivered};

        /// The manifest binds every credential to an origin (`auth`) and
        /// lets the component read none.
        pub fn the_manifest_lets_the_component_read_no_credential(connector: SlackWebhook) {
            let manifest = built_manifest(connector.id());
            assert!(!manifest.credentials.is_empty());
            for credential in &manifest.credentials {
                assert!(!credential.readable, "{} is readable", credential.key);
                assert!(
                    credential.auth.is_some(),
                    "{} has no auth table",
                    credential.key
                );
            }
        }

        /// Neither a delivery nor a check reads a credential, and the
        /// component's memory never holds the webhook URL's path.
        pub async fn the_component_never_reads_or_holds_the_webhook_url(connector: SlackWebhook) {
            let harness = Harness::start(connector).await;
            let (_, url) = harness.webhook();

            let delivery = harness.deliver(&url, order_created()).await;
            let check = harness.check(&[("webhook_url", &url)]).await;

            delivered(&delivery);
            assert_eq!(check_result(&check).status, CheckStatus::Ok);
            for report in [&delivery.report, &check.report] {
                assert!(report.credentials_read.is_empty(), "{report:?}");
                assert!(report.credentials_refused.is_empty(), "{report:?}");
            }
            let manifest = harness.connector.manifest();
            let [credential] = manifest.credentials.as_slice() else {
                panic!("{:?}", manifest.credentials);
            };
            assert_eq!(credential.key, "webhook_url");
            assert!(!credential.readable);
            assert!(credential.auth.is_some());
            // The URL's origin is public (the connector sends to it); its
            // path is the secret.
            assert_no_secret_in_guest_memory(
                &harness.memory,
                &[
                    (
                        "the webhook URL's path",
                        url.strip_prefix("https://hooks.slack.com").unwrap(),
                    ),
                    ("the webhook URL's secret", url.rsplit('/').next().unwrap()),
                ],
            );
        }
    }

    /// What a call costs.
    pub mod limits {
        use crate::polyglot::{Harness, SlackWebhook, order_created};
        use crate::sandbox::delivered;

        /// A delivery peaks at no more than three quarters of the
        /// manifest's memory limit, and burns fuel.
        pub async fn a_delivery_stays_well_within_the_manifests_memory_limit(
            connector: SlackWebhook,
        ) {
            let harness = Harness::start(connector).await;
            let (_, url) = harness.webhook();

            let invocation = harness.deliver(&url, order_created()).await;

            delivered(&invocation);
            let limit = u64::from(harness.connector.manifest().limits.memory_mib) * 1024 * 1024;
            let peak = invocation.report.memory_peak_bytes;
            assert!(
                peak > 0 && peak <= limit * 3 / 4,
                "peak {peak} B against a limit of {limit} B"
            );
            assert!(invocation.report.fuel_consumed > 0);
        }
    }

    /// The checks the service runs before installing.
    pub mod registry {
        use sluice_registry::{OperatorMaxima, pack_dir, verify_bundled};

        use crate::polyglot::{SlackWebhook, built_dir};

        /// What the service runs before installing a bundled connector: the
        /// manifest, the component's imports (within the platform world and
        /// the WASI the runtime links) and its exports (world `delivery`).
        pub fn the_built_connector_passes_every_check_the_service_runs_before_installing(
            connector: SlackWebhook,
        ) {
            let package = pack_dir(&built_dir(connector.id())).expect("the built connector packs");

            let verified = verify_bundled(&package, &OperatorMaxima::default())
                .unwrap_or_else(|error| panic!("{error}"));

            assert_eq!(verified.manifest.id, connector.id());
            assert_eq!(verified.worlds, ["delivery"]);
        }
    }

    /// The connector installed in the service, from configuration to
    /// dead letter.
    pub mod service {
        use std::sync::Arc;
        use std::time::Duration;

        use serde_json::json;

        use crate::TestCa;
        use crate::fakes::slack::{FakeSlack, Membership, SlackOptions};
        use crate::polyglot::{SlackWebhook, WEBHOOK_RECORDED, built_manifest, connectors_dir};
        use crate::service::{Options, TestService};

        /// The service installs the built connector; a configuration with a
        /// malformed webhook URL is refused; a valid one tests ok, delivers
        /// an event (with its report in the delivery's attempt) and, once
        /// the webhook is removed, dead-letters the next at the first
        /// attempt.
        pub async fn events_are_delivered_end_to_end_and_a_removed_webhook_dead_letters(
            connector: SlackWebhook,
        ) {
            let id = connector.id();
            let ca = Arc::new(TestCa::new().unwrap());
            let slack = FakeSlack::start(&ca, SlackOptions::unthrottled())
                .await
                .unwrap();
            let channel = slack.create_channel("ops", Membership::Member);
            let webhook_url = slack.register_webhook(&channel);
            let connectors = connectors_dir(id);
            let dir = connectors.path().to_owned();
            let service = TestService::start(Options {
                resolve: slack.egress_overrides(),
                ca: Some(ca.clone()),
                configure: Box::new(move |config| config.connectors_dir = Some(dir)),
                ..Options::default()
            })
            .await;
            let installed = service.get(&format!("/v1/connectors/{id}")).await;
            assert_eq!(
                installed.status, 200,
                "the service did not install {id} (the registry test says why): {:?}",
                installed.body
            );

            // The host checks the URL's form; the component never sees it.
            let configuration = |webhook_url: &str| {
                json!({
                    "connector_id": id, "name": "ops", "event_types": ["order.*"],
                    "settings": {}, "credentials": {"webhook_url": webhook_url},
                })
            };
            let malformed = service
                .post(
                    "/v1/stores/s1/connectors",
                    configuration("https://example.com/hook"),
                )
                .await;
            assert_eq!(malformed.status, 422, "{:?}", malformed.body);
            assert!(
                malformed.body.to_string().contains("webhook_url"),
                "{:?}",
                malformed.body
            );
            let created = service
                .post("/v1/stores/s1/connectors", configuration(&webhook_url))
                .await;
            assert_eq!(created.status, 201, "{:?}", created.body);
            let config = created.body["id"].as_str().unwrap().to_owned();
            let tested = service
                .post(
                    &format!("/v1/stores/s1/connectors/{config}/test"),
                    json!({}),
                )
                .await;
            assert_eq!(tested.status, 200, "{:?}", tested.body);
            assert_eq!(tested.body["status"], "ok", "{:#}", tested.body);

            service
                .send_events(json!([{
                    "id": "evt_1", "type": "order.placed", "store_id": "s1",
                    "occurred_at": "2026-11-30T10:00:00Z",
                    "payload": {
                        "marketplace": "web", "order_id": "1001", "status": "pending",
                        "line_items": [], "total": {"amount": "19.99", "currency": "USD"},
                    },
                }]))
                .await;

            let messages = slack
                .wait_for_messages(1, Duration::from_secs(30))
                .await
                .unwrap();
            assert_eq!(messages[0].channel, channel);
            assert_eq!(messages[0].text.as_deref(), Some("Order 1001 placed"));
            let done = service
                .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), 1)
                .await;
            let detail = service
                .delivery("s1", done[0]["id"].as_str().unwrap())
                .await;
            let report = &detail["attempts"][0]["report"];
            assert_eq!(report["connector"], id, "{report:#}");
            assert_eq!(report["egress"][0]["status"], 200, "{report:#}");
            assert_eq!(report["egress"][0]["path"], WEBHOOK_RECORDED, "{report:#}");
            assert_eq!(report["egress"][0]["credential"], "webhook_url");
            assert_eq!(report["credentials_read"], json!([]), "{report:#}");
            assert!(report["fuel_consumed"].as_u64().unwrap() > 0);
            let limit = u64::from(built_manifest(id).limits.memory_mib) * 1024 * 1024;
            let peak = report["memory_peak_bytes"].as_u64().unwrap();
            assert!(
                peak > 0 && peak <= limit,
                "peak {peak} B against a limit of {limit} B"
            );

            slack.remove_webhook(&webhook_url);
            service
                .send_events(json!([{
                    "id": "evt_2", "type": "order.cancelled", "store_id": "s1",
                    "occurred_at": "2026-11-30T10:05:00Z", "payload": {"order_id": "1001"},
                }]))
                .await;
            let dead = service
                .wait_for_deliveries("s1", &format!("target_id={config}&status=dead"), 1)
                .await;
            assert_eq!(dead[0]["attempt_count"], 1, "{:#}", dead[0]);
            let reason = dead[0]["last_error"].as_str().unwrap();
            assert!(
                reason.starts_with(
                    "Slack refused the message: the incoming webhook was removed or disabled (no_service)"
                ),
                "{reason}"
            );
            assert_eq!(slack.messages().len(), 1);
            service.stop().await;
        }
    }
}

/// Makes the tests of [`polyglot::suite`](crate::polyglot::suite) tests of
/// one build of the Slack incoming-webhook connector, named by its
/// [`SlackWebhook`](crate::polyglot::SlackWebhook) variant: one module per
/// module of the suite (`webhook_delivery`, `host_errors`,
/// `connection_check`, `credentials`, `limits`, `registry`, `service`),
/// one test per function, under the function's name.
///
/// ```ignore
/// sluice_tests::slack_webhook_suite!(Python);
/// ```
#[macro_export]
macro_rules! slack_webhook_suite {
    ($connector:ident) => {
        $crate::slack_webhook_suite! { @modules $connector;
            webhook_delivery {
                async a_429_retries_after_the_retry_after_seconds,
                async a_throttled_webhook_retries_after_the_wait_slack_announces,
                async a_5xx_answer_retries_and_the_next_attempt_is_delivered,
                async a_removed_webhook_fails_with_no_service,
                async a_deleted_channel_fails_with_channel_not_found,
                async an_archived_channel_fails_with_channel_is_archived,
                async an_invalid_payload_answer_fails_permanently,
                async every_answered_request_is_reported_as_answered,
                async a_delivery_without_a_webhook_url_fails_without_sending,
            }
            host_errors {
                async a_forbidden_address_is_refused_by_the_host_and_fails_permanently,
                async a_refused_connection_retries_with_the_hosts_error_code,
                async a_refused_post_ends_as_a_permanent_failure_every_time_never_a_trap,
            }
            connection_check {
                async a_set_webhook_url_is_ok_and_nothing_is_sent,
                async a_missing_webhook_url_is_misconfigured,
            }
            credentials {
                sync the_manifest_lets_the_component_read_no_credential,
                async the_component_never_reads_or_holds_the_webhook_url,
            }
            limits {
                async a_delivery_stays_well_within_the_manifests_memory_limit,
            }
            registry {
                sync the_built_connector_passes_every_check_the_service_runs_before_installing,
            }
            service {
                threads events_are_delivered_end_to_end_and_a_removed_webhook_dead_letters,
            }
        }
    };
    (@modules $connector:ident; $($module:ident { $($kind:tt $test:ident),* $(,)? })*) => {
        $(
            mod $module {
                $($crate::slack_webhook_suite! { @test $connector, $module, $kind $test })*
            }
        )*
    };
    (@test $connector:ident, $module:ident, async $test:ident) => {
        #[tokio::test]
        async fn $test() {
            $crate::polyglot::suite::$module::$test($crate::polyglot::SlackWebhook::$connector)
                .await;
        }
    };
    (@test $connector:ident, $module:ident, threads $test:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            $crate::polyglot::suite::$module::$test($crate::polyglot::SlackWebhook::$connector)
                .await;
        }
    };
    (@test $connector:ident, $module:ident, sync $test:ident) => {
        #[test]
        fn $test() {
            $crate::polyglot::suite::$module::$test($crate::polyglot::SlackWebhook::$connector);
        }
    };
}
