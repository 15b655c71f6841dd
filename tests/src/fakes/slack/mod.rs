//! A fake Slack: incoming webhooks on `hooks.slack.com`, `chat.postMessage`
//! and `auth.test` on `slack.com`, over TLS with certificates for those names.
//!
//! Tests set up the workspace (tokens, channels, webhooks), point the host's
//! egress overrides at [`FakeSlack::egress_overrides`], and then look at what
//! arrived: the parsed messages ([`FakeSlack::messages`]) or the raw requests
//! ([`FakeSlack::recorder`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sluice_tests::TestCa;
//! use sluice_tests::fakes::slack::{FakeSlack, Membership, SlackOptions, TokenStatus, WebhookFailure};
//!
//! let ca = TestCa::new()?;
//! let slack = FakeSlack::start(&ca, SlackOptions::unthrottled()).await?;
//! let channel = slack.create_channel("orders", Membership::Member);
//! let webhook_url = slack.register_webhook(&channel);
//! let bot_token = slack.register_token(TokenStatus::Valid);
//! slack.fail_webhook_posts(WebhookFailure::RollupError, 1);
//! // ... configure the host with slack.egress_overrides() and ca.pem_path(),
//! // install the connector with webhook_url / bot_token, send events ...
//! let posted = slack.wait_for_messages(1, Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```

mod block_kit;
mod body;
mod message;
mod signing;
mod web_api;
mod webhook;
mod workspace;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;
use sluice_core::{SharedClock, SystemClock};

use crate::failures::{FailureScript, RequestMatch};
use crate::hosts::route_by_host;
use crate::journal::{Journal, WaitTimeout};
use crate::rate_limit::{RateLimit, RateLimiter};
use crate::recorder::RequestRecorder;
use crate::server::{FakeServer, StartError};
use crate::tls::TestCa;

pub use signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_request};
pub use web_api::{ApiError, ApiFailure};
pub use webhook::WebhookFailure;
pub use workspace::{Membership, TokenStatus};

/// Where incoming webhooks are posted.
pub const WEBHOOK_HOST: &str = "hooks.slack.com";
/// Where the Web API lives.
pub const API_HOST: &str = "slack.com";
/// Every hostname the fake answers for.
pub const HOSTNAMES: [&str; 2] = [WEBHOOK_HOST, API_HOST];

/// The fake workspace's team id (also in webhook URLs).
pub const TEAM_ID: &str = "T123";
/// The fake workspace's name.
pub const TEAM: &str = "Acme";
/// The fake workspace's URL, as `auth.test` reports it.
pub const TEAM_URL: &str = "https://acme.slack.com/";
/// The bot user's name.
pub const USER: &str = "sluice-bot";
/// The bot user's id.
pub const USER_ID: &str = "U123";
/// The bot's id.
pub const BOT_ID: &str = "B123";

/// How the fake throttles and tells time.
#[derive(Clone)]
pub struct SlackOptions {
    /// Per incoming webhook.
    pub webhook_rate: RateLimit,
    /// Per channel, for `chat.postMessage`.
    pub post_message_rate: RateLimit,
    /// The clock the rate limits refill on and message timestamps come from.
    pub clock: SharedClock,
}

impl Default for SlackOptions {
    /// Slack's documented pace: about one message per second, with short
    /// bursts (three here) allowed; the system clock.
    fn default() -> Self {
        let slack_pace = RateLimit::per_second(1.0, 3);
        Self {
            webhook_rate: slack_pace,
            post_message_rate: slack_pace,
            clock: Arc::new(SystemClock),
        }
    }
}

impl SlackOptions {
    /// No throttling at all, for throughput tests and benchmarks.
    pub fn unthrottled() -> Self {
        Self {
            webhook_rate: RateLimit::Unlimited,
            post_message_rate: RateLimit::Unlimited,
            ..Self::default()
        }
    }
}

/// How a message reached the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostedVia {
    /// Through the incoming webhook at `url`.
    Webhook {
        /// The webhook's full URL.
        url: String,
    },
    /// Through `chat.postMessage` with `token`.
    PostMessage {
        /// The bot token used.
        token: String,
    },
}

/// A message Slack accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedMessage {
    /// The channel id.
    pub channel: String,
    /// Slack's timestamp id for the message (`"1503435956.000247"`).
    pub ts: String,
    /// The `text` field, if one was sent.
    pub text: Option<String>,
    /// The Block Kit blocks, already validated.
    pub blocks: Vec<Value>,
    /// Webhook or Web API.
    pub via: PostedVia,
}

/// What the handlers share.
#[derive(Clone)]
struct SlackState {
    workspace: Arc<Mutex<workspace::Workspace>>,
    messages: Journal<PostedMessage>,
    webhook_limiter: Arc<RateLimiter<String>>,
    channel_limiter: Arc<RateLimiter<String>>,
    clock: SharedClock,
}

impl SlackState {
    fn post(
        &self,
        channel: String,
        content: message::MessageContent,
        via: PostedVia,
    ) -> PostedMessage {
        // The journal is appended under the workspace lock so that its order
        // is the order of the timestamps.
        let mut workspace = self.workspace.lock();
        let posted = PostedMessage {
            channel,
            ts: workspace.next_ts(self.clock.now_ms()),
            text: content.text,
            blocks: content.blocks,
            via,
        };
        self.messages.push(posted.clone());
        posted
    }
}

/// A running fake Slack; it stops when dropped.
pub struct FakeSlack {
    server: FakeServer,
    state: SlackState,
    webhook_failures: FailureScript<WebhookFailure>,
    api_failures: FailureScript<ApiFailure>,
}

impl FakeSlack {
    /// Starts the fake on `127.0.0.1:0` with a certificate from `ca` for
    /// [`HOSTNAMES`]. The workspace starts empty.
    pub async fn start(ca: &TestCa, options: SlackOptions) -> Result<Self, StartError> {
        let state = SlackState {
            workspace: Arc::default(),
            messages: Journal::new(),
            webhook_limiter: Arc::new(RateLimiter::new(
                options.webhook_rate,
                options.clock.clone(),
            )),
            channel_limiter: Arc::new(RateLimiter::new(
                options.post_message_rate,
                options.clock.clone(),
            )),
            clock: options.clock,
        };
        let webhook_failures = FailureScript::new();
        let api_failures = FailureScript::new();
        let app = route_by_host([
            (
                WEBHOOK_HOST,
                webhook_failures.guard(webhook::routes(state.clone())),
            ),
            (API_HOST, api_failures.guard(web_api::routes(state.clone()))),
        ]);
        let server = FakeServer::start_tls(ca, &HOSTNAMES, app).await?;
        Ok(Self {
            server,
            state,
            webhook_failures,
            api_failures,
        })
    }

    /// The local address both hostnames are served on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `{"hooks.slack.com:443": addr, "slack.com:443": addr}` for the host's
    /// egress settings.
    pub fn egress_overrides(&self) -> BTreeMap<String, SocketAddr> {
        self.server.egress_overrides()
    }

    /// Every request received, including refused ones.
    pub fn recorder(&self) -> &RequestRecorder {
        self.server.recorder()
    }

    /// Creates a bot token (`xoxb-...`) that the fake treats per `status`.
    pub fn register_token(&self, status: TokenStatus) -> String {
        self.state.workspace.lock().add_token(status)
    }

    /// Changes how an existing token is treated, e.g. revokes it mid-test.
    ///
    /// # Panics
    /// If the fake never issued `token`.
    pub fn set_token_status(&self, token: &str, status: TokenStatus) {
        self.state.workspace.lock().set_token_status(token, status);
    }

    /// Creates a channel named `name` and returns its id (`C...`).
    /// `chat.postMessage` takes either.
    pub fn create_channel(&self, name: &str, membership: Membership) -> String {
        self.state.workspace.lock().add_channel(name, membership)
    }

    /// Archives a channel: webhooks answer 410 `channel_is_archived`,
    /// `chat.postMessage` answers `is_archived`.
    ///
    /// # Panics
    /// If there is no channel `id`.
    pub fn archive_channel(&self, id: &str) {
        self.state.workspace.lock().archive_channel(id);
    }

    /// Deletes a channel: its webhooks answer 404 `channel_not_found`, as
    /// does `chat.postMessage`.
    ///
    /// # Panics
    /// If there is no channel `id`.
    pub fn delete_channel(&self, id: &str) {
        self.state.workspace.lock().delete_channel(id);
    }

    /// Creates an incoming webhook into channel `id` and returns its URL
    /// (`https://hooks.slack.com/services/T123/B.../...`).
    ///
    /// # Panics
    /// If there is no channel `id`.
    pub fn register_webhook(&self, channel_id: &str) -> String {
        let path = self.state.workspace.lock().add_webhook(channel_id);
        format!("https://{WEBHOOK_HOST}{path}")
    }

    /// Removes a webhook: posts to it answer 404 `no_service`.
    ///
    /// # Panics
    /// If `url` is not a webhook this fake registered.
    pub fn remove_webhook(&self, url: &str) {
        self.state
            .workspace
            .lock()
            .remove_webhook(webhook_path(url));
    }

    /// Makes the next `times` posts to any webhook fail with `failure`.
    pub fn fail_webhook_posts(&self, failure: WebhookFailure, times: usize) {
        self.webhook_failures
            .push(RequestMatch::path_prefix("/services/"), failure, times);
    }

    /// Makes the next `times` posts to the webhook at `url` fail with `failure`.
    ///
    /// # Panics
    /// If `url` is not on `hooks.slack.com`.
    pub fn fail_webhook_posts_to(&self, url: &str, failure: WebhookFailure, times: usize) {
        self.webhook_failures
            .push(RequestMatch::post(webhook_path(url)), failure, times);
    }

    /// Makes the next `times` calls of Web API `method` (`"chat.postMessage"`)
    /// fail with `failure`.
    pub fn fail_api_calls(&self, method: &str, failure: ApiFailure, times: usize) {
        self.api_failures
            .push(RequestMatch::post(format!("/api/{method}")), failure, times);
    }

    /// Every message accepted so far, in timestamp order.
    pub fn messages(&self) -> Vec<PostedMessage> {
        self.state.messages.entries()
    }

    /// How many messages were accepted so far, without copying them.
    pub fn message_count(&self) -> usize {
        self.state.messages.len()
    }

    /// The messages accepted in channel `id`, in timestamp order.
    pub fn messages_in(&self, id: &str) -> Vec<PostedMessage> {
        let mut messages = self.messages();
        messages.retain(|message| message.channel == id);
        messages
    }

    /// Waits until at least `count` messages were accepted, over all channels.
    pub async fn wait_for_messages(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<PostedMessage>, WaitTimeout> {
        self.state.messages.wait_for(count, timeout).await
    }
}

fn webhook_path(url: &str) -> &str {
    url.strip_prefix("https://")
        .and_then(|rest| rest.strip_prefix(WEBHOOK_HOST))
        .unwrap_or_else(|| panic!("{url:?} is not a https://{WEBHOOK_HOST}/ URL"))
}
