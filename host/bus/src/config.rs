//! The `[bus]` section of the service's configuration. Off unless a URL and
//! at least one of its two halves are given.

use std::time::Duration;

use serde::Deserialize;

/// The message bus (`[bus]`): where it is, what Sluice consumes from it and
/// where it publishes its own outcomes.
///
/// ```toml
/// [bus]
/// url = "nats://127.0.0.1:4222"
///
/// [bus.consume]
/// stream = "PLATFORM"
/// subject = "platform.events.>"
/// durable = "sluice"
///
/// [bus.publish]
/// subject = "sluice.outcomes"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// The NATS server, such as `nats://127.0.0.1:4222` (several separated
    /// by commas); none turns the bus off.
    pub url: Option<String>,
    /// Consuming platform events; none consumes nothing.
    pub consume: Option<ConsumeConfig>,
    /// Publishing Sluice's own outcomes; none publishes nothing.
    pub publish: Option<PublishConfig>,
}

/// Consuming platform events from a JetStream stream (`[bus.consume]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumeConfig {
    /// The stream holding the platform's events; it must exist.
    pub stream: String,
    /// The subjects of that stream to consume, wildcards allowed, such as
    /// `platform.events.>`.
    pub subject: String,
    /// The durable consumer's name, shared by every node so that they split
    /// the messages and the server remembers what was acknowledged.
    #[serde(default = "default_durable")]
    pub durable: String,
    /// Messages pulled per fetch, at most.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Fetched batches being stored at once on one node, at most: a node
    /// holds at most `batch × max_in_flight_batches` unacknowledged
    /// messages, so a slow database slows the pulling instead of filling
    /// memory.
    #[serde(default = "default_in_flight")]
    pub max_in_flight_batches: usize,
    /// How long the server waits for an acknowledgement before it
    /// redelivers a message, in milliseconds; longer than storing a batch.
    #[serde(default = "default_ack_wait_ms")]
    pub ack_wait_ms: u64,
    /// How long one pull waits for a message when the stream is idle, in
    /// milliseconds.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

/// Publishing Sluice's own outcomes (`[bus.publish]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// The subject outcomes are published to; a stream must capture it
    /// (JetStream acknowledges each publication).
    pub subject: String,
    /// Outcomes published per round, at most.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// How often the outbox is read when no commit woke the publisher
    /// (outcomes another node left), in milliseconds.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// How long a claimed outcome is held by one publisher before another
    /// may publish it, in milliseconds.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
}

fn default_durable() -> String {
    "sluice".to_owned()
}

fn default_batch() -> usize {
    100
}

fn default_in_flight() -> usize {
    4
}

fn default_ack_wait_ms() -> u64 {
    30_000
}

fn default_max_wait_ms() -> u64 {
    5_000
}

fn default_poll_interval_ms() -> u64 {
    1_000
}

fn default_lease_ms() -> u64 {
    30_000
}

impl ConsumeConfig {
    /// A consumer of `subject` on `stream` with the default settings.
    pub fn new(stream: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            stream: stream.into(),
            subject: subject.into(),
            durable: default_durable(),
            batch: default_batch(),
            max_in_flight_batches: default_in_flight(),
            ack_wait_ms: default_ack_wait_ms(),
            max_wait_ms: default_max_wait_ms(),
        }
    }

    /// How long the server waits for an acknowledgement.
    pub fn ack_wait(&self) -> Duration {
        Duration::from_millis(self.ack_wait_ms)
    }

    /// How long one pull waits on an idle stream.
    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(self.max_wait_ms)
    }
}

impl PublishConfig {
    /// Publishing to `subject` with the default settings.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            batch: default_batch(),
            poll_interval_ms: default_poll_interval_ms(),
            lease_ms: default_lease_ms(),
        }
    }

    /// How long a claimed outcome is held.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }
}

impl BusConfig {
    /// Whether anything is consumed or published.
    pub fn is_on(&self) -> bool {
        self.consume.is_some() || self.publish.is_some()
    }

    /// Checks the settings; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.is_on() && self.url.as_deref().is_none_or(|url| url.trim().is_empty()) {
            return Err(
                "bus.url: required when [bus.consume] or [bus.publish] is set, such as \"nats://127.0.0.1:4222\""
                    .into(),
            );
        }
        if let Some(consume) = &self.consume {
            for (field, value) in [
                ("stream", &consume.stream),
                ("subject", &consume.subject),
                ("durable", &consume.durable),
            ] {
                if value.trim().is_empty() {
                    return Err(format!("bus.consume.{field}: must not be empty"));
                }
            }
            if consume.durable.contains(['.', '*', '>', ' ']) {
                return Err(format!(
                    "bus.consume.durable: {:?} may not contain '.', '*', '>' or spaces",
                    consume.durable
                ));
            }
            for (field, value) in [
                ("batch", consume.batch as u64),
                (
                    "max_in_flight_batches",
                    consume.max_in_flight_batches as u64,
                ),
                ("ack_wait_ms", consume.ack_wait_ms),
                ("max_wait_ms", consume.max_wait_ms),
            ] {
                if value == 0 {
                    return Err(format!("bus.consume.{field}: must be at least 1"));
                }
            }
        }
        if let Some(publish) = &self.publish {
            if publish.subject.trim().is_empty() || publish.subject.contains(['*', '>']) {
                return Err(
                    "bus.publish.subject: must be one subject without wildcards, such as \"sluice.outcomes\""
                        .into(),
                );
            }
            for (field, value) in [
                ("batch", publish.batch as u64),
                ("poll_interval_ms", publish.poll_interval_ms),
                ("lease_ms", publish.lease_ms),
            ] {
                if value == 0 {
                    return Err(format!("bus.publish.{field}: must be at least 1"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> BusConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_bus_is_off_by_default() {
        let config = BusConfig::default();
        assert!(!config.is_on());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn a_consumer_needs_a_url_and_gets_working_defaults() {
        let config = parse("[consume]\nstream = \"PLATFORM\"\nsubject = \"platform.>\"\n");
        let error = config.validate().unwrap_err();
        assert!(error.starts_with("bus.url"), "{error}");
        let config = parse(
            "url = \"nats://127.0.0.1:4222\"\n[consume]\nstream = \"PLATFORM\"\nsubject = \"platform.>\"\n",
        );
        assert!(config.validate().is_ok());
        let consume = config.consume.unwrap();
        assert_eq!(consume, ConsumeConfig::new("PLATFORM", "platform.>"));
        assert_eq!(consume.durable, "sluice");
    }

    #[test]
    fn bad_values_are_named_by_their_field() {
        let mut config = BusConfig {
            url: Some("nats://127.0.0.1:4222".into()),
            consume: Some(ConsumeConfig {
                batch: 0,
                ..ConsumeConfig::new("S", "s.>")
            }),
            publish: None,
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .starts_with("bus.consume.batch")
        );
        config.consume = None;
        config.publish = Some(PublishConfig::new("sluice.>"));
        assert!(
            config
                .validate()
                .unwrap_err()
                .starts_with("bus.publish.subject")
        );
    }
}
