//! What the intake needs from a message bus: a small trait, so that another
//! bus (Kafka, say) plugs in beside JetStream without touching ingest.

use std::future::Future;

/// A failure talking to the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus could not be reached, or refused a request.
    #[error("{context}: {source}")]
    Bus {
        /// What was being done, naming the server, stream or subject.
        context: String,
        /// What the bus client said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl BusError {
    /// A [`BusError::Bus`] with its context.
    pub fn new(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Bus {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// A source of platform event messages that are acknowledged one by one,
/// such as a durable JetStream pull consumer.
///
/// The intake asks for a batch only when it has room for one, so an
/// implementation must not pull more than it is asked for: that is the
/// back-pressure.
pub trait MessageSource: Send + 'static {
    /// The messages this source hands out.
    type Message: SourceMessage;

    /// The bus's name, as the rejected-message log shows it (`nats`).
    fn name(&self) -> &'static str;

    /// Waits a bounded time for messages and returns at most `max` of them;
    /// none when the bus stayed idle.
    fn fetch(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Self::Message>, BusError>> + Send;
}

/// One message of a [`MessageSource`]: its bytes, where it came from, and how
/// to acknowledge it. A message not acknowledged is delivered again.
pub trait SourceMessage: Send + Sync + 'static {
    /// The raw message.
    fn payload(&self) -> &[u8];

    /// The subject (or topic) it came on.
    fn subject(&self) -> &str;

    /// Where it is in the bus, for people, such as `stream PLATFORM sequence 42`.
    fn position(&self) -> String;

    /// Tells the bus the message is dealt with and must not come again.
    fn ack(&self) -> impl Future<Output = Result<(), BusError>> + Send;

    /// Tells the bus the message could not be dealt with now: it is to be
    /// delivered again (to this node or another), and no longer counts as
    /// held here.
    fn nak(&self) -> impl Future<Output = Result<(), BusError>> + Send;
}
