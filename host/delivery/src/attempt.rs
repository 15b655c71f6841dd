//! One attempt of one delivery, to a webhook or through a connector, and
//! what it decides for the delivery.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sluice_core::SharedClock;
use sluice_core::clock::format_rfc3339;
use sluice_metrics::Metrics;
use sluice_runtime::types::DeliveryOutcome;
use sluice_runtime::{Catalog, Invocation, Runtime};
use sluice_storage::{
    AttemptRecord, AttemptResult, Circuits, ClaimedDelivery, ConnectorTarget, Db, Delivery,
    StorageError, TargetKind, TargetSignal, Verdict, WebhookTarget,
};
use sluice_webhooks::{Classification, Outgoing, WebhookSecret, WebhookSender, event_body};

use crate::retry::{NextStep, RetryPolicy};
use crate::system_events::{self, SystemEvent};
use crate::targets::{Target, TargetCache};

/// Everything an attempt needs, shared by every worker task.
pub struct Deliverer {
    pub(crate) db: Db,
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) sender: WebhookSender,
    pub(crate) clock: SharedClock,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) targets: Arc<TargetCache>,
    pub(crate) retry: RetryPolicy,
    pub(crate) circuits: Circuits,
    rng: Mutex<StdRng>,
}

/// How long a delivery whose connector is still loading waits before it is
/// claimed again, in milliseconds.
const LOADING_RECHECK_MS: i64 = 1_000;

/// An attempt's result, with the system event it raises, if any.
pub(crate) struct Attempted {
    pub result: AttemptResult,
    pub system_event: Option<SystemEvent>,
}

/// How an attempt ended, before the retry policy turns it into a verdict.
enum Ending {
    Delivered(Option<String>),
    /// Failed; may succeed later, optionally after the delay the target asked
    /// for; with what the failure says about the target.
    Retry(Option<Duration>, Health),
    /// Failed; cannot succeed.
    Permanent,
}

/// What a retryable failure says about its target.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Health {
    /// The target is down: 5xx, timeout, refused or reset connection.
    Failing,
    /// The target asked us to slow down (429).
    Throttled,
    /// Nothing about the target (for example, a 4xx about this payload).
    Neutral,
}

impl Health {
    /// What an answer with `status` (none: no answer came) says.
    fn of(status: Option<u16>) -> Self {
        match status {
            Some(429) => Self::Throttled,
            None | Some(500..) => Self::Failing,
            Some(_) => Self::Neutral,
        }
    }
}

impl Deliverer {
    /// A deliverer over these parts.
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of the service it joins"
    )]
    pub fn new(
        db: Db,
        runtime: Arc<Runtime>,
        catalog: Arc<Catalog>,
        sender: WebhookSender,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        targets: Arc<TargetCache>,
        retry: RetryPolicy,
        circuits: sluice_storage::CircuitPolicy,
    ) -> Self {
        Self {
            db,
            runtime,
            catalog,
            sender,
            clock,
            metrics,
            targets,
            retry,
            circuits: Circuits {
                policy: circuits,
                raise: system_events::for_transition,
            },
            rng: Mutex::new(StdRng::from_os_rng()),
        }
    }

    /// When `claimed` goes to a connector still loading (compiling) on this
    /// node: when to claim it again. It is not attempted meanwhile, so the
    /// wait costs it no attempt.
    pub(crate) async fn waits_for_loading(
        &self,
        claimed: &ClaimedDelivery,
    ) -> Option<sluice_core::UnixMillis> {
        if claimed.delivery.target_kind != TargetKind::Connector {
            return None;
        }
        let target = self.target_of(claimed).await;
        let Ok(Target::Connector(target)) = target else {
            return None;
        };
        let id = &target.config.connector_id;
        (self.catalog.get(id).is_none() && self.catalog.is_loading(id))
            .then(|| self.clock.now_ms() + LOADING_RECHECK_MS)
    }

    /// The target of `claimed`, from the cache or the database.
    async fn target_of(&self, claimed: &ClaimedDelivery) -> sluice_storage::Result<Target> {
        let delivery = &claimed.delivery;
        self.targets
            .get(
                &self.db,
                &delivery.store_id,
                delivery.target_kind,
                &delivery.target_id,
                self.clock.now_ms(),
            )
            .await
    }

    /// Runs one attempt of `claimed`: waits for its target's rate-limit
    /// slot if it declared one, then sends.
    pub(crate) async fn attempt(&self, claimed: &ClaimedDelivery) -> Attempted {
        let delivery = &claimed.delivery;
        let target = self.target_of(claimed).await;
        let rate = match &target {
            Ok(Target::Webhook(target)) => target.subscription.rate_limit_per_second,
            Ok(Target::Connector(target)) => target.config.rate_limit_per_second,
            _ => None,
        };
        let paced = self.pace(delivery, rate).await;
        let started_at = *paced.as_ref().unwrap_or(&self.clock.now_ms());
        let started = Instant::now();
        let mut record = AttemptRecord {
            trigger: delivery.next_trigger,
            started_at,
            duration_ms: 0,
            http_status: None,
            request_url: None,
            request_headers: None,
            response_body: None,
            error: None,
            report: None,
            connector_version: None,
            component_digest: None,
        };
        let (ending, target_name) = match (target, paced) {
            (_, Err(error)) => {
                record.error = Some(format!("could not take a rate-limit slot: {error}"));
                (Ending::Retry(None, Health::Neutral), None)
            }
            (Ok(Target::Webhook(target)), Ok(_)) => {
                let name = target.subscription.name.clone();
                (
                    self.to_webhook(claimed, &target, &mut record).await,
                    Some(name),
                )
            }
            (Ok(Target::Connector(target)), Ok(_)) => {
                let name = target.config.name.clone();
                (
                    self.to_connector(claimed, &target, &mut record).await,
                    Some(name),
                )
            }
            (Ok(Target::Gone), Ok(_)) => {
                record.error = Some(format!("the {} target was deleted", delivery.target_kind));
                (Ending::Permanent, None)
            }
            (Err(error), Ok(_)) => {
                record.error = Some(format!("could not load the target: {error}"));
                (Ending::Retry(None, Health::Neutral), None)
            }
        };
        record.duration_ms = started.elapsed().as_millis() as i64;
        let attempt = delivery.attempt_count + 1;
        let now = self.clock.now_ms();
        let signal = match &ending {
            Ending::Delivered(_) => TargetSignal::Healthy,
            Ending::Permanent | Ending::Retry(_, Health::Neutral) => TargetSignal::Neutral,
            Ending::Retry(_, Health::Failing) => TargetSignal::Failing,
            Ending::Retry(requested, Health::Throttled) => {
                TargetSignal::Throttled(now + self.retry.honoured(*requested).as_millis() as i64)
            }
        };
        let verdict = self.verdict(ending, attempt, claimed.probe, started_at);
        self.observe(delivery.target_kind, &verdict, started, delivery.created_at);
        let system_event =
            system_events::for_verdict(claimed, &verdict, &record, target_name, attempt);
        Attempted {
            result: AttemptResult {
                lease: claimed.lease.clone(),
                verdict,
                attempt: record,
                signal,
            },
            system_event,
        }
    }

    /// Waits until a request to the delivery's target keeps within its
    /// declared rate (on every node); returns the time of the slot taken.
    async fn pace(
        &self,
        delivery: &Delivery,
        per_second: Option<u32>,
    ) -> Result<sluice_core::UnixMillis, StorageError> {
        let Some(per_second) = per_second.filter(|rate| *rate > 0) else {
            return Ok(self.clock.now_ms());
        };
        // Requests at least this far apart never exceed the rate in any
        // one-second window.
        let spacing = i64::from(1_000_u32.div_ceil(per_second));
        loop {
            let now = self.clock.now_ms();
            let slot = self
                .db
                .take_send_slot(
                    &delivery.store_id,
                    delivery.target_kind,
                    &delivery.target_id,
                    spacing,
                    now,
                )
                .await?;
            match slot {
                Ok(()) => return Ok(now),
                Err(next) => self.clock.sleep_until(next).await,
            }
        }
    }

    fn verdict(
        &self,
        ending: Ending,
        attempt: u32,
        probe: bool,
        now: sluice_core::UnixMillis,
    ) -> Verdict {
        match ending {
            Ending::Delivered(external_id) => Verdict::Delivered { external_id },
            Ending::Permanent => Verdict::Failed,
            // A failed probe only tells that the target is still down: the
            // circuit keeps the delivery waiting, and it is never
            // dead-lettered for time spent with the circuit open.
            Ending::Retry(_, Health::Failing) if probe => {
                let delay = self.retry.after_probe(attempt, &mut *self.rng.lock());
                Verdict::RetryAt(now + delay.as_millis() as i64)
            }
            Ending::Retry(requested, _) => {
                let step = self
                    .retry
                    .after_failure(attempt, requested, &mut *self.rng.lock());
                match step {
                    NextStep::RetryAfter(delay) => Verdict::RetryAt(now + delay.as_millis() as i64),
                    NextStep::GiveUp => Verdict::Exhausted,
                }
            }
        }
    }

    fn observe(
        &self,
        kind: TargetKind,
        verdict: &Verdict,
        started: Instant,
        accepted_at: sluice_core::UnixMillis,
    ) {
        let outcome = verdict.outcome().as_str();
        self.metrics
            .attempts
            .with_label_values(&[kind.as_str(), outcome])
            .inc();
        self.metrics
            .attempt_seconds
            .with_label_values(&[kind.as_str(), outcome])
            .observe(started.elapsed().as_secs_f64());
        if matches!(verdict, Verdict::Delivered { .. }) {
            let latency = (self.clock.now_ms() - accepted_at).max(0) as f64 / 1_000.0;
            self.metrics
                .delivery_latency_seconds
                .with_label_values(&[kind.as_str()])
                .observe(latency);
        }
    }

    async fn to_webhook(
        &self,
        claimed: &ClaimedDelivery,
        target: &WebhookTarget,
        record: &mut AttemptRecord,
    ) -> Ending {
        let delivery = &claimed.delivery;
        let subscription = &target.subscription;
        record.request_url = Some(subscription.url.clone());
        if !subscription.active {
            record.error = Some(match &subscription.disabled_reason {
                Some(reason) => format!("the subscription is disabled: {reason}"),
                None => "the subscription is inactive".to_owned(),
            });
            return Ending::Permanent;
        }
        let secrets: Result<Vec<WebhookSecret>, _> = target
            .signing_secrets
            .iter()
            .map(|s| WebhookSecret::parse(s.expose()))
            .collect();
        let secrets = match secrets {
            Ok(secrets) => secrets,
            Err(error) => {
                record.error = Some(format!("stored signing secret is unusable: {error}"));
                return Ending::Permanent;
            }
        };
        let body = Bytes::from(event_body(
            &delivery.event_id,
            &delivery.event_type,
            &delivery.store_id,
            &format_rfc3339(claimed.occurred_at),
            &claimed.payload,
        ));
        let sent = self
            .sender
            .send(Outgoing {
                url: &subscription.url,
                delivery_id: &delivery.id,
                event_type: &delivery.event_type,
                body,
                secrets: &secrets,
                // The time of the rate-limit slot, so a receiver counting by
                // this header sees the declared rate.
                timestamp: record.started_at / 1_000,
            })
            .await;
        record.http_status = sent.status;
        record.request_headers = serde_json::value::to_raw_value(&sent.request_headers).ok();
        record.response_body = sent.response_body;
        record.error = sent.error;
        match sent.classification {
            Classification::Delivered => Ending::Delivered(None),
            Classification::Retry => Ending::Retry(sent.retry_after, Health::of(sent.status)),
            Classification::Refused => {
                self.metrics
                    .egress_refusals
                    .with_label_values(&["webhook", "policy"])
                    .inc();
                Ending::Permanent
            }
            Classification::Gone => {
                let reason = "the endpoint answered 410 Gone";
                let now = self.clock.now_ms();
                if let Err(error) = self
                    .db
                    .deactivate_webhook_subscription(
                        &delivery.store_id,
                        &subscription.id,
                        reason,
                        now,
                    )
                    .await
                {
                    tracing::warn!(%error, subscription = %subscription.id, "could not deactivate subscription");
                }
                self.targets
                    .invalidate(&delivery.store_id, TargetKind::Webhook, &subscription.id);
                Ending::Permanent
            }
        }
    }

    async fn to_connector(
        &self,
        claimed: &ClaimedDelivery,
        target: &ConnectorTarget,
        record: &mut AttemptRecord,
    ) -> Ending {
        let delivery = &claimed.delivery;
        let config = &target.config;
        if !config.active {
            record.error = Some("the connector configuration is inactive".to_owned());
            return Ending::Permanent;
        }
        let Some(connector) = self.catalog.get(&config.connector_id) else {
            // Perhaps being installed on this node; the retry schedule gives
            // the operator time to install it.
            record.error = Some(format!(
                "connector '{}' is not installed",
                config.connector_id
            ));
            return Ending::Retry(None, Health::Neutral);
        };
        let context = sluice_connectors::call_context(
            ConnectorTarget::clone(target),
            &self.db,
            self.clock.clone(),
            Some((&delivery.id, delivery.attempt_count + 1)),
        );
        let event = sluice_connectors::wit_event(
            &delivery.store_id,
            &delivery.event_id,
            &delivery.event_type,
            claimed.occurred_at,
            claimed.payload.clone(),
        );
        let Invocation { result, report } = self.runtime.deliver(&connector, context, event).await;
        self.observe_guest(&report);
        record.connector_version = Some(report.version.clone());
        record.component_digest = Some(report.component_digest.clone());
        record.http_status = report.egress.iter().rev().find_map(|r| r.status);
        record.report = serde_json::value::to_raw_value(&report).ok();
        match result {
            Ok(DeliveryOutcome::Delivered(delivered)) => Ending::Delivered(delivered.external_id),
            Ok(DeliveryOutcome::Retry(retry)) => {
                record.error = Some(describe(&retry.reason, retry.remote.as_ref()));
                Ending::Retry(
                    retry
                        .after_seconds
                        .map(|s| Duration::from_secs(u64::from(s))),
                    Health::of(record.http_status),
                )
            }
            Ok(DeliveryOutcome::Failed(failure)) => {
                record.error = Some(describe(&failure.reason, failure.remote.as_ref()));
                Ending::Permanent
            }
            Err(failure) => {
                self.metrics
                    .guest_failures
                    .with_label_values(&[&report.connector, failure_cause(&failure)])
                    .inc();
                record.error = Some(failure.to_string());
                if failure.is_retryable() {
                    let timed_out =
                        matches!(failure, sluice_runtime::InvocationFailure::Timeout { .. });
                    let health = if timed_out {
                        Health::Failing
                    } else {
                        Health::Neutral
                    };
                    Ending::Retry(None, health)
                } else {
                    Ending::Permanent
                }
            }
        }
    }

    fn observe_guest(&self, report: &sluice_runtime::InvocationReport) {
        self.metrics
            .guest_fuel
            .with_label_values(&[&report.connector, &report.export])
            .observe(report.fuel_consumed as f64);
        self.metrics
            .guest_memory_bytes
            .with_label_values(&[&report.connector])
            .observe(report.memory_peak_bytes as f64);
        let refusals = report.egress.iter().filter(|r| r.refused.is_some()).count();
        if refusals > 0 {
            self.metrics
                .egress_refusals
                .with_label_values(&["connector", "policy"])
                .inc_by(refusals as u64);
        }
    }
}

fn failure_cause(failure: &sluice_runtime::InvocationFailure) -> &'static str {
    use sluice_runtime::InvocationFailure as F;
    match failure {
        F::Timeout { .. } => "timeout",
        F::OutOfMemory { .. } => "memory",
        F::OutOfFuel { .. } => "fuel",
        F::Trap { .. } => "trap",
        F::Unsupported { .. } => "unsupported",
        F::Host { .. } => "host",
    }
}

/// The connector's reason, followed by what the remote system said.
fn describe(reason: &str, remote: Option<&sluice_runtime::types::RemoteError>) -> String {
    let Some(remote) = remote else {
        return reason.to_owned();
    };
    let mut parts = Vec::new();
    if let Some(status) = remote.status {
        parts.push(format!("HTTP {status}"));
    }
    if let Some(code) = &remote.code {
        parts.push(code.clone());
    }
    if let Some(message) = &remote.message {
        parts.push(message.clone());
    }
    if parts.is_empty() {
        reason.to_owned()
    } else {
        format!("{reason} (remote: {})", parts.join(", "))
    }
}
