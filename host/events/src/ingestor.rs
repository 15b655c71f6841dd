//! Group commit: events from concurrent requests share transactions.
//!
//! One transaction per request caps ingest at the database's commit rate
//! (about 2,000 per second on SQLite here); batching whatever arrived while
//! the previous transaction ran lifts it to tens of thousands, while a lone
//! request still commits at once. A caller is answered only after its
//! events are committed: an acknowledged event is durable. Requests wait in
//! a queue fair across stores ([`crate::fair_queue`]).

use std::sync::Arc;

use sluice_core::SharedClock;
use sluice_metrics::Metrics;
use sluice_storage::{Db, IngestOutcome, IngestStatus, NewEvent, StorageError};
use tokio::sync::oneshot;

use crate::fair_queue::{FairQueue, Job};

/// Events per transaction, at most (a single larger request goes alone).
const MAX_EVENTS_PER_COMMIT: usize = 5_000;

type Reply = oneshot::Sender<Result<Vec<IngestOutcome>, Arc<StorageError>>>;

/// Called after each commit that created deliveries, to wake the workers.
pub type OnCommit = Box<dyn Fn() + Send + Sync>;

/// One request's events and where its answer goes.
struct Request {
    events: Vec<NewEvent>,
    reply: Reply,
}

impl Job for Request {
    fn events(&self) -> usize {
        self.events.len()
    }
}

/// The ingest queue of this node. Cheap to clone; the committing task ends
/// once every clone is dropped and the queue is empty.
#[derive(Clone)]
pub struct Ingestor {
    handle: Arc<Handle>,
}

struct Handle {
    queue: Arc<FairQueue<Request>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Ingestor {
    /// Starts the committing task.
    pub fn start(db: Db, clock: SharedClock, metrics: Arc<Metrics>, on_commit: OnCommit) -> Self {
        let queue: Arc<FairQueue<Request>> = Arc::new(FairQueue::new());
        tokio::spawn(commit_loop(db, clock, metrics, on_commit, queue.clone()));
        Self {
            handle: Arc::new(Handle { queue }),
        }
    }

    /// Stores `events` (idempotently) with their deliveries and returns what
    /// happened to each, in order, once committed. Requests wait their turn
    /// by store (the store of the first event), so one store's burst never
    /// holds back another store's events.
    pub async fn ingest(
        &self,
        events: Vec<NewEvent>,
    ) -> Result<Vec<IngestOutcome>, Arc<StorageError>> {
        let Some(store) = events.first().map(|e| e.store_id.clone()) else {
            return Ok(Vec::new());
        };
        let (reply, answer) = oneshot::channel();
        let stopped = || {
            Arc::new(StorageError::Conflict(
                "the service is shutting down".into(),
            ))
        };
        self.handle
            .queue
            .push(&store, Request { events, reply })
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
    queue: Arc<FairQueue<Request>>,
) {
    while let Some(group) = queue.next_group(MAX_EVENTS_PER_COMMIT).await {
        let mut events: Vec<NewEvent> = Vec::new();
        let mut replies: Vec<(usize, Reply)> = Vec::with_capacity(group.len());
        for request in group {
            // Each caller's outcomes start where its events start.
            replies.push((events.len(), request.reply));
            events.extend(request.events);
        }
        commit(&db, &*clock, &metrics, &on_commit, events, replies).await;
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
