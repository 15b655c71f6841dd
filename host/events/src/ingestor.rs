//! Group commit: events from concurrent requests share transactions.
//!
//! One transaction per request caps ingest at the database's commit rate
//! (about 2,000 per second on SQLite here); batching whatever arrived while
//! the previous transaction ran lifts it to tens of thousands, while a lone
//! request still commits at once. A caller is answered only after its
//! events are committed: an acknowledged event is durable.

use std::sync::Arc;

use sluice_core::SharedClock;
use sluice_metrics::Metrics;
use sluice_storage::{Db, IngestOutcome, IngestStatus, NewEvent, StorageError};
use tokio::sync::{mpsc, oneshot};

/// Events per transaction, at most.
const MAX_EVENTS_PER_COMMIT: usize = 5_000;

type Reply = oneshot::Sender<Result<Vec<IngestOutcome>, Arc<StorageError>>>;

/// Called after each commit that created deliveries, to wake the workers.
pub type OnCommit = Box<dyn Fn() + Send + Sync>;

/// The ingest queue of this node. Cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    jobs: mpsc::Sender<(Vec<NewEvent>, Reply)>,
}

impl Ingestor {
    /// Starts the committing task.
    pub fn start(db: Db, clock: SharedClock, metrics: Arc<Metrics>, on_commit: OnCommit) -> Self {
        let (jobs, receiver) = mpsc::channel(1_024);
        tokio::spawn(commit_loop(db, clock, metrics, on_commit, receiver));
        Self { jobs }
    }

    /// Stores `events` (idempotently) with their deliveries and returns what
    /// happened to each, in order, once committed.
    pub async fn ingest(
        &self,
        events: Vec<NewEvent>,
    ) -> Result<Vec<IngestOutcome>, Arc<StorageError>> {
        let (reply, answer) = oneshot::channel();
        let stopped = || {
            Arc::new(StorageError::Conflict(
                "the service is shutting down".into(),
            ))
        };
        self.jobs
            .send((events, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn commit_loop(
    db: Db,
    clock: SharedClock,
    metrics: Arc<Metrics>,
    on_commit: OnCommit,
    mut receiver: mpsc::Receiver<(Vec<NewEvent>, Reply)>,
) {
    let mut jobs = Vec::new();
    while receiver.recv_many(&mut jobs, 256).await > 0 {
        let mut events: Vec<NewEvent> = Vec::new();
        let mut replies: Vec<(usize, Reply)> = Vec::new();
        for (batch, reply) in jobs.drain(..) {
            // Each caller's outcomes start where its events start.
            replies.push((events.len(), reply));
            events.extend(batch);
            if events.len() >= MAX_EVENTS_PER_COMMIT {
                let full = (std::mem::take(&mut events), std::mem::take(&mut replies));
                commit(&db, &*clock, &metrics, &on_commit, full.0, full.1).await;
            }
        }
        if !replies.is_empty() {
            commit(&db, &*clock, &metrics, &on_commit, events, replies).await;
        }
    }
}

async fn commit(
    db: &Db,
    clock: &dyn sluice_core::Clock,
    metrics: &Metrics,
    on_commit: &OnCommit,
    events: Vec<NewEvent>,
    replies: Vec<(usize, Reply)>,
) {
    match db.ingest(&events, clock.now_ms()).await {
        Ok(mut outcomes) => {
            let mut created_deliveries = false;
            for (outcome, event) in outcomes.iter().zip(&events) {
                match outcome.status {
                    IngestStatus::Created => {
                        metrics
                            .events_accepted
                            .with_label_values(&[event.source.as_str()])
                            .inc();
                        created_deliveries |= outcome.deliveries > 0;
                    }
                    _ => metrics
                        .events_not_accepted
                        .with_label_values(&["duplicate"])
                        .inc(),
                }
            }
            if created_deliveries {
                on_commit();
            }
            // Hand each caller its slice, last first so each split is cheap.
            for (start, reply) in replies.into_iter().rev() {
                let _ = reply.send(Ok(outcomes.split_off(start)));
            }
        }
        Err(error) => {
            tracing::error!(%error, events = events.len(), "ingest failed");
            let error = Arc::new(error);
            for (_, reply) in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
