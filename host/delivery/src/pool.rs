//! The worker pool: claims due deliveries fairly, runs them with bounded
//! concurrency, and records their attempts in batches.
//!
//! ```text
//!  claim loop ──claim_due──▶ attempt tasks ──results──▶ recorder ──complete──▶ db
//!      ▲                      (global permits)                 │
//!      └── woken by new events, manual retries, recorded attempts, or the poll interval
//! ```
//!
//! Fairness is the claim's: it never hands out more than a target's share
//! (its cap, raised while it answers fast, see `target_caps`, counted over
//! every node's leases, less this node's attempts that succeeded and wait
//! for the recorder; its rate limit, one probe for a circuit ending its
//! back-off, nothing for an open circuit or a paused target), and stores
//! take turns within each claim. So every row
//! claimed can run at once: no claimed row waits behind a busy target, and a
//! slow target holds at most `slow_target_concurrency` of the workers.
//!
//! Nothing is lost on a crash: a delivery is only finished by the recorder's
//! transaction; until then its lease lapses and another worker claims it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_storage::{CircuitChange, ClaimedDelivery, Lease, NewEvent, TargetSignal};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::attempt::{Attempted, Deliverer};
use crate::config::DeliveryConfig;
use crate::target_caps::AdaptiveCaps;

/// A handle to wake the workers when deliveries become due.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    /// Tells the workers that deliveries may be due now.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// The running delivery workers of this node.
pub struct DeliveryWorkers {
    waker: Waker,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl DeliveryWorkers {
    /// Starts claiming and delivering.
    pub fn start(deliverer: Arc<Deliverer>, config: DeliveryConfig) -> Self {
        let waker = Waker::default();
        let stop = CancellationToken::new();
        let task = tokio::spawn(
            ClaimLoop {
                deliverer,
                config,
                waker: waker.clone(),
                stop: stop.clone(),
            }
            .run(),
        );
        Self { waker, stop, task }
    }

    /// A handle that wakes the workers.
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Stops claiming, lets attempts in flight finish within the grace
    /// period, releases the leases of those that did not, and records every
    /// finished attempt before returning.
    pub async fn shutdown(self) {
        self.stop.cancel();
        if let Err(error) = self.task.await {
            tracing::error!(%error, "delivery workers ended abnormally");
        }
    }
}

struct ClaimLoop {
    deliverer: Arc<Deliverer>,
    config: DeliveryConfig,
    waker: Waker,
    stop: CancellationToken,
}

impl ClaimLoop {
    async fn run(self) {
        let global = Arc::new(Semaphore::new(self.config.concurrency));
        let (results, receiver) = mpsc::channel::<Attempted>(self.config.completion_batch * 4);
        // Deliveries whose attempt ended in a way that cannot hold its target
        // back (a success, or a refusal of the payload alone) and whose
        // result waits for the recorder: their target is free of them, so
        // they do not count against its cap.
        let finished: Finished = Arc::default();
        let recorder = tokio::spawn(record(
            self.deliverer.clone(),
            receiver,
            self.config.completion_batch,
            self.waker.clone(),
            finished.clone(),
        ));
        let mut attempts: JoinSet<()> = JoinSet::new();
        let in_flight: Arc<Mutex<HashMap<String, Lease>>> = Arc::default();
        let caps = Arc::new(AdaptiveCaps::new(&self.config));

        while !self.stop.is_cancelled() {
            // Reap finished tasks so the set does not grow without bound.
            while attempts.try_join_next().is_some() {}

            let Some(permits) = self.take_permits(&global).await else {
                break;
            };
            let now = self.deliverer.clock.now_ms();
            let claim_started = Instant::now();
            let claimed = match self
                .deliverer
                .db
                .claim_due_beside_finished(
                    now,
                    permits.len(),
                    &caps.current(Instant::now()),
                    self.config.lease(),
                    || finished.lock().iter().cloned().collect(),
                )
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(%error, "claiming deliveries failed; retrying shortly");
                    self.idle(now, Some(claim_started)).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                drop(permits);
                // Nothing was due: the next wake-up brings new work, which
                // waits for no interval.
                self.idle(now, None).await;
                continue;
            }
            // A claim that filled fewer slots than it had took everything
            // due within every target's allowance: claiming again before a
            // wake-up (new events, recorded attempts) or the poll would find
            // nothing, and on SQLite would hold the only writer for it.
            let took_all_due = claimed.len() < permits.len();
            let small = claimed.len() < SMALL_CLAIM;
            caps.claimed(
                claimed
                    .iter()
                    .map(|claim| claim.delivery.target_id.as_str()),
                Instant::now(),
            );

            let mut permits = permits.into_iter();
            for delivery in claimed {
                let permit = permits
                    .next()
                    .expect("claimed no more than the permits held");
                in_flight
                    .lock()
                    .insert(delivery.lease.delivery_id.clone(), delivery.lease.clone());
                let deliverer = self.deliverer.clone();
                let results = results.clone();
                let in_flight = in_flight.clone();
                let finished = finished.clone();
                let caps = caps.clone();
                attempts.spawn(async move {
                    if let Some(until) = deliverer.waits_for_loading(&delivery).await {
                        defer(&deliverer, &delivery.lease, until).await;
                        caps.ended(
                            &delivery.delivery.target_id,
                            TargetSignal::Neutral,
                            Duration::ZERO,
                            Instant::now(),
                        );
                        in_flight.lock().remove(&delivery.lease.delivery_id);
                        drop(permit);
                        return;
                    }
                    let target_id = delivery.delivery.target_id.clone();
                    let started = Instant::now();
                    let attempted = attempt(&deliverer, delivery).await;
                    let ended_at = Instant::now();
                    caps.ended(
                        &target_id,
                        attempted.result.signal,
                        ended_at - started,
                        ended_at,
                    );
                    let id = &attempted.result.lease.delivery_id;
                    in_flight.lock().remove(id);
                    // A failure or a throttle has to reach the target's
                    // circuit or pause before the target gets another
                    // attempt, so only those results free the slot early.
                    if matches!(
                        attempted.result.signal,
                        TargetSignal::Healthy | TargetSignal::Neutral
                    ) {
                        finished.lock().insert(id.clone());
                    }
                    // The recorder outlives every attempt task.
                    let _ = results.send(attempted).await;
                    drop(permit);
                });
            }
            if took_all_due {
                self.idle(now, small.then_some(claim_started)).await;
            }
        }

        self.drain(attempts, &in_flight).await;
        drop(results);
        if let Err(error) = recorder.await {
            tracing::error!(%error, "the attempt recorder ended abnormally");
        }
    }

    /// Waits for at least one free slot, then takes as many more as are free,
    /// up to a claim batch. None when stopping.
    async fn take_permits(&self, global: &Arc<Semaphore>) -> Option<Vec<OwnedSemaphorePermit>> {
        let first = tokio::select! {
            permit = global.clone().acquire_owned() => permit.ok()?,
            _ = self.stop.cancelled() => return None,
        };
        let mut permits = vec![first];
        while permits.len() < self.config.claim_batch {
            match global.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        Some(permits)
    }

    /// Waits for a wake-up, the poll interval (on the injected clock, so a
    /// test that moves time forward wakes the workers), or the stop signal;
    /// then, after a small claim that began at `small_claim`, until
    /// `min_claim_interval` after it.
    ///
    /// Under a stream of one-event requests every ingest wakes the workers
    /// and each claim finds 2 or 3 rows, yet pays what every claim pays: two
    /// statements, a lease count per target, a wake-up of the service.
    /// Spacing the small claims lets each take what arrived meanwhile, for
    /// at most that much latency. A claim that took many rows is not
    /// followed by a wait, so a busy target gets its freed slots back at
    /// once.
    async fn idle(&self, now: sluice_core::UnixMillis, small_claim: Option<Instant>) {
        let poll = now + self.config.poll_interval_ms as i64;
        tokio::select! {
            _ = self.waker.0.notified() => {}
            _ = self.deliverer.clock.sleep_until(poll) => {}
            _ = self.stop.cancelled() => return,
        }
        let Some(small_claim) = small_claim else {
            return;
        };
        let next_claim = small_claim + self.config.min_claim_interval();
        if next_claim > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(next_claim.into()) => {}
                _ = self.stop.cancelled() => {}
            }
        }
    }

    async fn drain(&self, mut attempts: JoinSet<()>, in_flight: &Mutex<HashMap<String, Lease>>) {
        let grace = Duration::from_millis(self.config.shutdown_grace_ms);
        let finished = tokio::time::timeout(grace, async {
            while attempts.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            attempts.abort_all();
            while attempts.join_next().await.is_some() {}
        }
        let unfinished: Vec<Lease> = in_flight.lock().drain().map(|(_, lease)| lease).collect();
        if !unfinished.is_empty() {
            let now = self.deliverer.clock.now_ms();
            match self.deliverer.db.release(&unfinished, now).await {
                Ok(released) => tracing::info!(released, "released unfinished deliveries"),
                Err(error) => {
                    tracing::warn!(%error, "releasing unfinished deliveries failed; their leases will lapse")
                }
            }
        }
    }
}

/// Gives a delivery back until `until` without attempting it; if that
/// fails, its lease lapses and it is claimed again all the same.
async fn defer(deliverer: &Deliverer, lease: &Lease, until: sluice_core::UnixMillis) {
    let now = deliverer.clock.now_ms();
    if let Err(error) = deliverer
        .db
        .defer(std::slice::from_ref(lease), until, now)
        .await
    {
        tracing::warn!(%error, delivery = %lease.delivery_id, "deferring a delivery failed; its lease will lapse");
    }
}

async fn attempt(deliverer: &Deliverer, claimed: ClaimedDelivery) -> Attempted {
    let kind = claimed.delivery.target_kind.as_str();
    let gauge = deliverer
        .metrics
        .attempts_in_flight
        .with_label_values(&[kind]);
    gauge.inc();
    let attempted = deliverer.attempt(&claimed).await;
    gauge.dec();
    attempted
}

/// A claim of at least one but fewer rows than this makes the next one wait
/// for `min_claim_interval` (see [`ClaimLoop::idle`]).
const SMALL_CLAIM: usize = 8;

/// The ids of deliveries whose attempt ended without holding its target back
/// (see [`ClaimLoop::run`]), until their result is recorded.
type Finished = Arc<Mutex<HashSet<String>>>;

/// Records finished attempts in batches: whatever has arrived while the
/// previous transaction ran goes into the next one. Each commit frees its
/// targets' leases (and may fan system events out), so it wakes the claim
/// loop.
async fn record(
    deliverer: Arc<Deliverer>,
    mut receiver: mpsc::Receiver<Attempted>,
    batch: usize,
    waker: Waker,
    finished: Finished,
) {
    let mut buffer = Vec::with_capacity(batch);
    while receiver.recv_many(&mut buffer, batch).await > 0 {
        let (results, events): (Vec<_>, Vec<Option<NewEvent>>) = buffer
            .drain(..)
            .map(|attempted| (attempted.result, attempted.system_event))
            .unzip();
        let events: Vec<NewEvent> = events.into_iter().flatten().collect();
        let mut delay = Duration::from_millis(50);
        loop {
            let now = deliverer.clock.now_ms();
            match deliverer
                .db
                .complete(&results, &events, &deliverer.circuits, now)
                .await
            {
                Ok(completion) => {
                    // After the commit: a claim that read the set before
                    // sees these leases either held and excluded, or gone.
                    let mut ended = finished.lock();
                    for result in &results {
                        ended.remove(&result.lease.delivery_id);
                    }
                    drop(ended);
                    waker.wake();
                    for transition in &completion.transitions {
                        observe_transition(&deliverer, transition);
                    }
                    for lease in &completion.stale {
                        tracing::warn!(delivery = %lease.delivery_id, "attempt finished after its lease lapsed; not recorded");
                    }
                    break;
                }
                Err(error) => {
                    // Keep the results: until they are recorded the deliveries
                    // stay leased, and a lapsed lease only means a repeat.
                    tracing::error!(%error, "recording attempts failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Counts and logs a circuit transition; a disabled target is forgotten by
/// the target cache so its next delivery sees it inactive.
fn observe_transition(deliverer: &Deliverer, transition: &sluice_storage::CircuitTransition) {
    let state = &transition.state;
    let change = match transition.change {
        CircuitChange::Opened => "opened",
        CircuitChange::Closed => "closed",
        CircuitChange::Disabled => "disabled",
    };
    deliverer
        .metrics
        .circuit_transitions
        .with_label_values(&[state.target_kind.as_str(), change])
        .inc();
    tracing::warn!(
        target_id = %state.target_id,
        store = %state.store_id,
        failures = state.consecutive_failures,
        error = state.last_error.as_deref().unwrap_or_default(),
        "circuit {change}"
    );
    if transition.change == CircuitChange::Disabled {
        deliverer
            .targets
            .invalidate(&state.store_id, state.target_kind, &state.target_id);
    }
}
