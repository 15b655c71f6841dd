//! The ingest queue, fair across stores.
//!
//! A first-in-first-out queue lets one store's burst (a hundred requests of
//! a thousand events, sent at once) stand in front of another store's first
//! event for as long as the burst takes to commit. Here each store has its
//! own queue, bounded (a store whose queue is full waits, alone, for room),
//! and every commit group takes one request from each waiting store in turn
//! before any store gets a second: another store's request is always in the
//! next group, whatever the size of the burst.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Requests one store may have waiting; beyond it, that store's callers
/// wait for room (and only they).
pub const PER_STORE_JOBS: usize = 64;
/// Requests waiting in all, whatever their store.
pub const TOTAL_JOBS: usize = 1_024;

/// Something to commit: a request's events, and how many there are.
pub trait Job {
    /// Events it carries, counted against a group's budget.
    fn events(&self) -> usize;
}

#[derive(Debug)]
struct Queues<J> {
    by_store: HashMap<String, VecDeque<J>>,
    /// Stores with waiting jobs, in the order they take their turns.
    turns: VecDeque<String>,
    waiting: usize,
    closed: bool,
}

/// Per-store queues with round-robin grouping; see the module docs.
#[derive(Debug)]
pub struct FairQueue<J> {
    queues: Mutex<Queues<J>>,
    work: Notify,
    room: Notify,
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl<J: Job> Default for FairQueue<J> {
    fn default() -> Self {
        Self::new()
    }
}

impl<J: Job> FairQueue<J> {
    /// An empty, open queue.
    pub fn new() -> Self {
        Self {
            queues: Mutex::new(Queues {
                by_store: HashMap::new(),
                turns: VecDeque::new(),
                waiting: 0,
                closed: false,
            }),
            work: Notify::new(),
            room: Notify::new(),
        }
    }

    /// Queues `job` for `store`, waiting while that store's queue (or the
    /// whole queue) is full.
    pub async fn push(&self, store: &str, job: J) -> Result<(), Closed> {
        let mut job = Some(job);
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut queues = self.queues.lock();
                if queues.closed {
                    return Err(Closed);
                }
                let held = queues.by_store.get(store).map_or(0, VecDeque::len);
                if held < PER_STORE_JOBS && queues.waiting < TOTAL_JOBS {
                    if held == 0 {
                        queues.turns.push_back(store.to_owned());
                    }
                    let job = job.take().expect("pushed once");
                    queues
                        .by_store
                        .entry(store.to_owned())
                        .or_default()
                        .push_back(job);
                    queues.waiting += 1;
                    drop(queues);
                    self.work.notify_one();
                    return Ok(());
                }
            }
            room.await;
        }
    }

    /// The next commit group: one job from each waiting store in turn, until
    /// the group holds `budget` events or nothing waits. Always at least
    /// one job when any waits. Waits for work; `None` once closed and empty.
    pub async fn next_group(&self, budget: usize) -> Option<Vec<J>> {
        loop {
            let work = self.work.notified();
            {
                let mut queues = self.queues.lock();
                let group = take_group(&mut queues, budget);
                if !group.is_empty() {
                    drop(queues);
                    self.room.notify_waiters();
                    return Some(group);
                }
                if queues.closed {
                    return None;
                }
            }
            work.await;
        }
    }

    /// Jobs waiting now.
    pub fn waiting(&self) -> usize {
        self.queues.lock().waiting
    }

    /// Refuses new jobs; the waiting ones are still handed out.
    pub fn close(&self) {
        self.queues.lock().closed = true;
        self.work.notify_one();
        self.room.notify_waiters();
    }
}

fn take_group<J: Job>(queues: &mut Queues<J>, budget: usize) -> Vec<J> {
    let mut group = Vec::new();
    let mut events = 0;
    while events < budget {
        let Some(store) = queues.turns.pop_front() else {
            break;
        };
        let queue = queues
            .by_store
            .get_mut(&store)
            .expect("a store takes turns while it has jobs");
        let job = queue
            .pop_front()
            .expect("a store takes turns while it has jobs");
        if queue.is_empty() {
            queues.by_store.remove(&store);
        } else {
            queues.turns.push_back(store);
        }
        queues.waiting -= 1;
        events += job.events();
        group.push(job);
    }
    group
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    struct Request {
        store: &'static str,
        n: usize,
        events: usize,
    }

    impl Job for Request {
        fn events(&self) -> usize {
            self.events
        }
    }

    async fn push(queue: &FairQueue<Request>, store: &'static str, n: usize, events: usize) {
        queue
            .push(store, Request { store, n, events })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn another_stores_first_request_is_in_the_next_group_whatever_the_burst_before_it() {
        let queue = FairQueue::new();
        for n in 0..PER_STORE_JOBS {
            push(&queue, "a", n, 1_000).await;
        }
        push(&queue, "b", 0, 1).await;
        let group = queue.next_group(5_000).await.unwrap();
        let stores: Vec<_> = group.iter().map(|r| (r.store, r.n)).collect();
        assert_eq!(
            stores,
            [("a", 0), ("b", 0), ("a", 1), ("a", 2), ("a", 3), ("a", 4)]
        );
        assert_eq!(queue.waiting(), PER_STORE_JOBS - 5);
    }

    #[tokio::test]
    async fn stores_take_one_request_each_before_any_takes_a_second() {
        let queue = FairQueue::new();
        for n in 0..3 {
            push(&queue, "a", n, 1).await;
        }
        push(&queue, "b", 0, 1).await;
        push(&queue, "c", 0, 1).await;
        push(&queue, "b", 1, 1).await;
        let group = queue.next_group(100).await.unwrap();
        let order: Vec<_> = group.iter().map(|r| (r.store, r.n)).collect();
        assert_eq!(
            order,
            [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("a", 2)]
        );
    }

    #[tokio::test]
    async fn a_request_larger_than_the_budget_still_goes_alone() {
        let queue = FairQueue::new();
        push(&queue, "a", 0, 9_000).await;
        push(&queue, "a", 1, 1).await;
        let group = queue.next_group(5_000).await.unwrap();
        assert_eq!(group.len(), 1);
        assert_eq!(group[0].n, 0);
    }

    #[tokio::test]
    async fn a_store_at_its_cap_waits_alone_while_others_still_enter() {
        let queue = Arc::new(FairQueue::new());
        for n in 0..PER_STORE_JOBS {
            push(&queue, "a", n, 1).await;
        }
        let blocked = tokio::spawn({
            let queue = queue.clone();
            async move { push(&queue, "a", PER_STORE_JOBS, 1).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!blocked.is_finished(), "store a waits for room");
        tokio::time::timeout(Duration::from_secs(5), push(&queue, "b", 0, 1))
            .await
            .expect("store b is not held up by store a's full queue");

        let group = queue.next_group(2).await.unwrap();
        assert_eq!(group.len(), 2);
        tokio::time::timeout(Duration::from_secs(5), blocked)
            .await
            .expect("a group taken makes room")
            .unwrap();
    }

    #[tokio::test]
    async fn a_closed_queue_hands_out_what_waits_then_ends() {
        let queue = FairQueue::new();
        push(&queue, "a", 0, 1).await;
        queue.close();
        assert_eq!(
            queue
                .push(
                    "a",
                    Request {
                        store: "a",
                        n: 1,
                        events: 1
                    }
                )
                .await,
            Err(Closed)
        );
        assert_eq!(queue.next_group(10).await.unwrap().len(), 1);
        assert!(queue.next_group(10).await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_committer_wakes_for_a_new_request() {
        let queue = Arc::new(FairQueue::new());
        let committer = tokio::spawn({
            let queue = queue.clone();
            async move { queue.next_group(10).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        push(&queue, "a", 0, 1).await;
        let group = tokio::time::timeout(Duration::from_secs(5), committer)
            .await
            .expect("the committer wakes")
            .unwrap()
            .unwrap();
        assert_eq!(group.len(), 1);
    }
}
