//! Every Prometheus metric Sluice exports, registered in one registry.
//!
//! Components take an `Arc<Metrics>` and record through its typed fields;
//! the API renders the registry at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Buckets for call and attempt latencies, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The metrics of one Sluice process.
pub struct Metrics {
    registry: Registry,
    /// Events accepted, by source (`api`, `sync`, `inbound`, `system`).
    pub events_accepted: IntCounterVec,
    /// Events refused or already known, by reason (`duplicate`, `invalid`).
    pub events_not_accepted: IntCounterVec,
    /// Deliveries by state (`pending`, `delivered`, `dead`) and target kind,
    /// refreshed from the database when scraped.
    pub deliveries: IntGaugeVec,
    /// Finished attempts, by target kind and outcome (`delivered`, `retry`, `failed`).
    pub attempts: IntCounterVec,
    /// Attempt duration, by target kind and outcome.
    pub attempt_seconds: HistogramVec,
    /// Time from an event's acceptance to its delivery, by target kind.
    pub delivery_latency_seconds: HistogramVec,
    /// Attempts running now, by target kind.
    pub attempts_in_flight: IntGaugeVec,
    /// Fuel consumed per connector call, by connector and export.
    pub guest_fuel: HistogramVec,
    /// Peak linear memory per connector call, by connector.
    pub guest_memory_bytes: HistogramVec,
    /// Connector calls that ended without a result, by connector and cause.
    pub guest_failures: IntCounterVec,
    /// Outbound requests refused by the egress policy, by caller kind and reason.
    pub egress_refusals: IntCounterVec,
    /// Sync batches, by connector and status.
    pub sync_batches: IntCounterVec,
    /// Circuit breaker changes, by target kind and change (`opened`,
    /// `closed`, `disabled`).
    pub circuit_transitions: IntCounterVec,
    /// Targets whose circuit is not closed, by state (`open`, `half_open`)
    /// and target kind, refreshed from the database when scraped.
    pub circuits: IntGaugeVec,
    /// Requests refused by credential checks, by reason (`unknown`,
    /// `mismatch`, `revoked`, `expired`, `throttled` for a source over its
    /// failure limit, `busy` when the hash queue is full).
    pub auth_refusals: IntCounterVec,
    /// Verified-credential cache lookups, by result (`hit`, `revalidated`, `miss`).
    pub credential_cache_lookups: IntCounterVec,
    /// Slow credential hashes verified, by result (`match`, `mismatch`).
    pub credential_hashes: IntCounterVec,
    /// `last_used_at` rows written by the coalesced flushes.
    pub credential_last_used_writes: IntCounterVec,
    /// Messages taken from the message bus, by outcome (`created`,
    /// `duplicate`, `rejected`).
    pub bus_messages: IntCounterVec,
    /// Messages pulled from the bus and not yet acknowledged.
    pub bus_messages_in_flight: IntGaugeVec,
    /// Outcomes published on the bus, by result (`published`, or
    /// `duplicate` when the bus had the id already).
    pub bus_outcomes_published: IntCounterVec,
    /// Outcomes waiting in the outbox, read from the database when scraped.
    pub bus_outbox_backlog: IntGaugeVec,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("sluice".into()), None).expect("a valid metric prefix");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
            registry
                .register(Box::new(metric.clone()))
                .expect("unique metric");
            metric
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge");
            registry
                .register(Box::new(metric.clone()))
                .expect("unique metric");
            metric
        };
        let histogram = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
            let opts = HistogramOpts::new(name, help).buckets(buckets);
            let metric = HistogramVec::new(opts, labels).expect("valid histogram");
            registry
                .register(Box::new(metric.clone()))
                .expect("unique metric");
            metric
        };
        let latency = LATENCY_BUCKETS.to_vec();
        Self {
            events_accepted: counter("events_accepted_total", "Events accepted.", &["source"]),
            events_not_accepted: counter(
                "events_not_accepted_total",
                "Events refused or already known.",
                &["reason"],
            ),
            deliveries: gauge(
                "deliveries",
                "Deliveries by state and target kind.",
                &["state", "target_kind"],
            ),
            attempts: counter(
                "attempts_total",
                "Finished delivery attempts.",
                &["target_kind", "outcome"],
            ),
            attempt_seconds: histogram(
                "attempt_duration_seconds",
                "Duration of delivery attempts.",
                &["target_kind", "outcome"],
                latency.clone(),
            ),
            delivery_latency_seconds: histogram(
                "delivery_latency_seconds",
                "Time from an event's acceptance to its delivery.",
                &["target_kind"],
                latency,
            ),
            attempts_in_flight: gauge(
                "attempts_in_flight",
                "Attempts running now.",
                &["target_kind"],
            ),
            guest_fuel: histogram(
                "guest_fuel_consumed",
                "Fuel consumed per connector call.",
                &["connector", "export"],
                prometheus::exponential_buckets(10_000.0, 4.0, 12).expect("valid buckets"),
            ),
            guest_memory_bytes: histogram(
                "guest_memory_peak_bytes",
                "Peak linear memory per connector call.",
                &["connector"],
                prometheus::exponential_buckets(65_536.0, 2.0, 14).expect("valid buckets"),
            ),
            guest_failures: counter(
                "guest_failures_total",
                "Connector calls that ended without a result.",
                &["connector", "cause"],
            ),
            egress_refusals: counter(
                "egress_refusals_total",
                "Outbound requests refused by the egress policy.",
                &["caller", "reason"],
            ),
            sync_batches: counter(
                "sync_batches_total",
                "Sync batches run.",
                &["connector", "status"],
            ),
            circuit_transitions: counter(
                "circuit_transitions_total",
                "Target circuit breakers opened, closed or giving their target up.",
                &["target_kind", "change"],
            ),
            circuits: gauge(
                "circuits",
                "Targets whose circuit breaker is open or probing.",
                &["state", "target_kind"],
            ),
            auth_refusals: counter(
                "auth_refusals_total",
                "Requests refused by credential checks.",
                &["reason"],
            ),
            credential_cache_lookups: counter(
                "credential_cache_lookups_total",
                "Verified-credential cache lookups.",
                &["result"],
            ),
            credential_hashes: counter(
                "credential_hash_verifications_total",
                "Slow credential hashes verified.",
                &["result"],
            ),
            credential_last_used_writes: counter(
                "credential_last_used_writes_total",
                "last_used_at rows written by coalesced flushes.",
                &[],
            ),
            bus_messages: counter(
                "bus_messages_total",
                "Messages taken from the message bus.",
                &["outcome"],
            ),
            bus_messages_in_flight: gauge(
                "bus_messages_in_flight",
                "Messages pulled from the bus and not yet acknowledged.",
                &[],
            ),
            bus_outcomes_published: counter(
                "bus_outcomes_published_total",
                "Outcomes published on the message bus.",
                &["result"],
            ),
            bus_outbox_backlog: gauge("bus_outbox_backlog", "Outcomes waiting in the outbox.", &[]),
            registry,
        }
    }

    /// The registry in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("encoding metrics into memory cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_appear_in_the_text_format() {
        let metrics = Metrics::new();
        metrics
            .events_accepted
            .with_label_values(&["api"])
            .inc_by(3);
        metrics
            .attempt_seconds
            .with_label_values(&["webhook", "delivered"])
            .observe(0.02);
        let text = metrics.render();
        assert!(
            text.contains("sluice_events_accepted_total{source=\"api\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("sluice_attempt_duration_seconds_bucket"),
            "{text}"
        );
    }
}
