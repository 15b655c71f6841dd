//! Fair claims, circuit breakers, 429 pauses and rate-limit slots.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use sluice_storage::{
    CircuitChange, CircuitPolicy, CircuitState, CircuitTransition, Circuits, ClaimedDelivery,
    DeliveryFilter, DeliveryStatus, EventSource, NewEvent, PageRequest, TargetCaps, TargetKind,
    TargetSignal, Verdict, WebhookSubscription, WebhookSubscriptionUpdate,
};

use crate::support::{T0, TestDb, attempted, event, webhook};

const LEASE: Duration = Duration::from_secs(60);

/// `count` events of `store_id`, ingested at `at`.
async fn backlog(db: &TestDb, store_id: &str, prefix: &str, count: usize, at: i64) {
    let events: Vec<_> = (0..count)
        .map(|i| event(store_id, &format!("{prefix}_{i}"), "order.placed"))
        .collect();
    db.ingest(&events, at).await.unwrap();
}

/// A webhook of `store_id` for every order event, declaring at most `rate`
/// requests per second.
async fn rate_limited_webhook(db: &TestDb, store_id: &str, rate: u32) -> WebhookSubscription {
    let limited = webhook(db, store_id, &["order.*"]).await;
    db.update_webhook_subscription(
        store_id,
        &limited.id,
        &WebhookSubscriptionUpdate {
            rate_limit_per_second: Some(Some(rate)),
            ..Default::default()
        },
        T0,
    )
    .await
    .unwrap()
}

/// How many of `claimed` went to each target.
fn per_target(claimed: &[ClaimedDelivery]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for claim in claimed {
        *counts.entry(claim.delivery.target_id.clone()).or_default() += 1;
    }
    counts
}

fn circuits() -> Circuits {
    Circuits {
        policy: CircuitPolicy {
            failure_threshold: 3,
            open_ms: 10_000,
            max_open_ms: 60_000,
            disable_after_ms: 100_000,
        },
        raise: |transition: &CircuitTransition| {
            let name = match transition.change {
                CircuitChange::Opened => "webhook.circuit_opened",
                CircuitChange::Closed => "webhook.circuit_closed",
                CircuitChange::Disabled => "webhook.endpoint_disabled",
            };
            Some(NewEvent {
                source: EventSource::System,
                ..event(
                    &transition.state.store_id,
                    &format!("{}.{name}.{}", transition.state.target_id, transition.at),
                    name,
                )
            })
        },
    }
}

/// Records every claim in `claimed` as ending with `signal`.
async fn finish(
    db: &TestDb,
    claimed: &[ClaimedDelivery],
    verdict: Verdict,
    signal: TargetSignal,
    now: i64,
) -> Vec<CircuitTransition> {
    let results: Vec<_> = claimed
        .iter()
        .map(|claim| sluice_storage::AttemptResult {
            signal,
            ..attempted(claim, verdict.clone(), now)
        })
        .collect();
    db.complete(&results, &[], &circuits(), now)
        .await
        .unwrap()
        .transitions
}

on_both_backends! {
    async fn a_backlog_on_one_target_never_fills_the_claim(db: TestDb) {
        let slow = webhook(&db, "store_a", &["order.*"]).await;
        let fast = webhook(&db, "store_b", &["order.*"]).await;
        backlog(&db, "store_a", "a", 300, T0).await;
        backlog(&db, "store_b", "b", 1, T0 + 1).await;

        let claimed = db.claim_due(T0 + 1, 20, 5, LEASE).await.unwrap();
        let counts = per_target(&claimed);
        assert_eq!(counts.get(&slow.id), Some(&5), "the backlog gets its cap");
        assert_eq!(counts.get(&fast.id), Some(&1), "the other store's row is in the same claim");

        // Its five leases are held: another claim (another node) gets none of
        // its rows, however many are due.
        backlog(&db, "store_b", "b2", 1, T0 + 2).await;
        let again = db.claim_due(T0 + 2, 20, 5, LEASE).await.unwrap();
        assert_eq!(per_target(&again), HashMap::from([(fast.id.clone(), 1)]));

        // Two finish: two more may go.
        finish(&db, &claimed[..2], Verdict::Delivered { external_id: None }, TargetSignal::Healthy, T0 + 3).await;
        let more = db.claim_due(T0 + 3, 20, 5, LEASE).await.unwrap();
        let finished_slow = claimed[..2].iter().filter(|c| c.delivery.target_id == slow.id).count();
        assert_eq!(per_target(&more).get(&slow.id).copied().unwrap_or(0), finished_slow);
    }

    async fn attempts_that_ended_do_not_count_against_the_cap_while_they_wait_to_be_recorded(db: TestDb) {
        let target = webhook(&db, "store_a", &["order.*"]).await;
        backlog(&db, "store_a", "a", 20, T0).await;
        let claimed = db.claim_due(T0, 20, 5, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 5);
        assert!(db.claim_due(T0, 20, 5, LEASE).await.unwrap().is_empty(), "at its cap");

        // Two attempts ended on this node; their results are not recorded yet.
        let ended: Vec<String> = claimed[..2].iter().map(|c| c.lease.delivery_id.clone()).collect();
        let more = db.claim_due_beside_finished(T0, 20, &TargetCaps::uniform(5), LEASE, || ended.clone()).await.unwrap();
        assert_eq!(per_target(&more), HashMap::from([(target.id.clone(), 2)]));

        // Once recorded, naming them frees nothing more: five attempts run.
        finish(&db, &claimed[..2], Verdict::Delivered { external_id: None }, TargetSignal::Healthy, T0 + 1).await;
        let again = db.claim_due_beside_finished(T0 + 1, 20, &TargetCaps::uniform(5), LEASE, || ended.clone()).await.unwrap();
        assert!(again.is_empty(), "five attempts are running: {again:?}");
    }

    async fn a_raised_cap_lets_its_target_alone_hold_more_leases(db: TestDb) {
        let raised = webhook(&db, "store_a", &["order.*"]).await;
        let other = webhook(&db, "store_b", &["order.*"]).await;
        backlog(&db, "store_a", "a", 30, T0).await;
        backlog(&db, "store_b", "b", 30, T0).await;
        let caps = TargetCaps { default: 4, raised: BTreeMap::from([(raised.id.clone(), 12)]) };

        let claimed = db.claim_due_beside_finished(T0, 50, &caps, LEASE, Vec::new).await.unwrap();
        assert_eq!(per_target(&claimed), HashMap::from([(raised.id.clone(), 12), (other.id.clone(), 4)]));

        // Its leases count up to its own cap, not the default: it is full.
        let again = db.claim_due_beside_finished(T0, 50, &caps, LEASE, Vec::new).await.unwrap();
        assert!(again.is_empty(), "both targets are at their caps: {again:?}");

        // Lowered back to the default, it gets nothing until it holds fewer than 4.
        finish(&db, &claimed[..6], Verdict::Delivered { external_id: None }, TargetSignal::Healthy, T0 + 1).await;
        let lowered = db.claim_due(T0 + 1, 50, 4, LEASE).await.unwrap();
        assert!(lowered.is_empty(), "6 leases are held, over the default of 4: {lowered:?}");
    }

    async fn a_declared_rate_limit_bounds_a_raised_cap(db: TestDb) {
        let limited = rate_limited_webhook(&db, "store_a", 3).await;
        backlog(&db, "store_a", "a", 20, T0).await;
        let caps = TargetCaps { default: 2, raised: BTreeMap::from([(limited.id.clone(), 10)]) };
        let claimed = db.claim_due_beside_finished(T0, 20, &caps, LEASE, Vec::new).await.unwrap();
        assert_eq!(claimed.len(), 3);
    }

    async fn stores_take_turns_before_any_store_gets_a_second_row(db: TestDb) {
        for _ in 0..10 {
            webhook(&db, "store_a", &["order.*"]).await;
        }
        let lone = webhook(&db, "store_b", &["order.*"]).await;
        backlog(&db, "store_a", "a", 20, T0).await;
        backlog(&db, "store_b", "b", 1, T0 + 1).await;

        let claimed = db.claim_due(T0 + 1, 3, 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 3);
        assert!(
            claimed.iter().any(|c| c.delivery.target_id == lone.id),
            "200 deliveries of store_a did not starve store_b's first"
        );
        assert_eq!(per_target(&claimed).len(), 3, "store_a's two rows come from two targets");
    }

    async fn a_rate_limited_target_holds_no_more_leases_than_its_rate(db: TestDb) {
        rate_limited_webhook(&db, "store_a", 2).await;
        backlog(&db, "store_a", "a", 10, T0).await;
        assert_eq!(db.claim_due(T0, 10, 5, LEASE).await.unwrap().len(), 2);
        assert!(db.claim_due(T0, 10, 5, LEASE).await.unwrap().is_empty());
    }

    async fn failures_open_the_circuit_and_its_deliveries_wait_for_a_single_probe(db: TestDb) {
        let failing = webhook(&db, "store_a", &["order.*"]).await;
        let watcher = webhook(&db, "store_a", &["webhook.circuit_opened", "webhook.circuit_closed"]).await;
        let healthy = webhook(&db, "store_b", &["order.*"]).await;
        backlog(&db, "store_a", "a", 20, T0).await;

        let first = db.claim_due(T0, 50, 3, LEASE).await.unwrap();
        assert_eq!(first.len(), 3);
        let retry = Verdict::RetryAt(T0 + 600_000);
        let transitions = finish(&db, &first, retry.clone(), TargetSignal::Failing, T0 + 1).await;
        assert_eq!(transitions.len(), 1);
        assert_eq!(transitions[0].change, CircuitChange::Opened);
        assert_eq!(transitions[0].state.blocked_until, T0 + 10_001);
        let state = db.target_state("store_a", TargetKind::Webhook, &failing.id).await.unwrap();
        assert_eq!(state.circuit, CircuitState::Open);
        assert_eq!(state.last_error.as_deref(), Some("HTTP 503"));

        // While open: nothing of the failing target is claimed (17 are due);
        // the watcher's event and other stores' deliveries flow.
        backlog(&db, "store_b", "b", 2, T0 + 2).await;
        let during = db.claim_due(T0 + 2, 50, 3, LEASE).await.unwrap();
        assert_eq!(
            per_target(&during),
            HashMap::from([(healthy.id.clone(), 2), (watcher.id.clone(), 1)])
        );
        assert_eq!(during.iter().find(|c| c.delivery.target_id == watcher.id).unwrap().delivery.event_type, "webhook.circuit_opened");
        finish(&db, &during, Verdict::Delivered { external_id: None }, TargetSignal::Healthy, T0 + 3).await;

        // The back-off ends: one probe, to one claimer only.
        let probe = db.claim_due(T0 + 10_001, 50, 3, LEASE).await.unwrap();
        assert_eq!(probe.len(), 1);
        assert!(probe[0].probe);
        assert_eq!(probe[0].delivery.target_id, failing.id);
        assert!(db.claim_due(T0 + 10_002, 50, 3, LEASE).await.unwrap().is_empty(), "one probe at a time");

        // A failed probe doubles the back-off.
        assert!(finish(&db, &probe, retry.clone(), TargetSignal::Failing, T0 + 10_010).await.is_empty());
        assert!(db.claim_due(T0 + 30_009, 50, 3, LEASE).await.unwrap().is_empty());
        let probe = db.claim_due(T0 + 30_010, 50, 3, LEASE).await.unwrap();
        assert_eq!(probe.len(), 1);
        assert!(probe[0].probe);

        // A successful probe closes it and the backlog flows again, up to the cap.
        let transitions = finish(&db, &probe, Verdict::Delivered { external_id: None }, TargetSignal::Healthy, T0 + 30_020).await;
        assert_eq!(transitions.len(), 1);
        assert_eq!(transitions[0].change, CircuitChange::Closed);
        let after = db.claim_due(T0 + 30_020, 50, 3, LEASE).await.unwrap();
        assert_eq!(per_target(&after).get(&failing.id), Some(&3));
        assert!(after.iter().all(|c| !c.probe));
        let state = db.target_state("store_a", TargetKind::Webhook, &failing.id).await.unwrap();
        assert_eq!((state.circuit, state.consecutive_failures), (CircuitState::Closed, 0));
        let closed = after.iter().find(|c| c.delivery.target_id == watcher.id).expect("the closing was raised");
        assert_eq!(closed.delivery.event_type, "webhook.circuit_closed");
    }

    async fn claimers_at_once_share_a_single_probe(db: TestDb) {
        let failing = webhook(&db, "store_a", &["order.*"]).await;
        backlog(&db, "store_a", "a", 20, T0).await;
        let first = db.claim_due(T0, 50, 3, LEASE).await.unwrap();
        finish(&db, &first, Verdict::RetryAt(T0 + 600_000), TargetSignal::Failing, T0 + 1).await;

        let claim = || db.claim_due(T0 + 10_001, 50, 3, LEASE);
        let (a, b, c, d) = tokio::join!(claim(), claim(), claim(), claim());
        let claimed: Vec<ClaimedDelivery> = [a, b, c, d].into_iter().flat_map(Result::unwrap).collect();
        assert_eq!(claimed.len(), 1, "one probe among all the claimers");
        assert!(claimed[0].probe);
        assert_eq!(claimed[0].delivery.target_id, failing.id);
        let state = db.target_state("store_a", TargetKind::Webhook, &failing.id).await.unwrap();
        assert_eq!(state.circuit, CircuitState::HalfOpen, "the probe is held, not given back");
    }

    async fn a_probe_that_is_not_used_is_given_back(db: TestDb) {
        let failing = webhook(&db, "store_a", &["order.*"]).await;
        backlog(&db, "store_a", "a", 3, T0).await;
        let first = db.claim_due(T0, 50, 3, LEASE).await.unwrap();
        // Scheduled far beyond the back-off: nothing is due when it ends.
        finish(&db, &first, Verdict::RetryAt(T0 + 600_000), TargetSignal::Failing, T0 + 1).await;
        assert!(db.claim_due(T0 + 10_001, 50, 3, LEASE).await.unwrap().is_empty());
        let state = db.target_state("store_a", TargetKind::Webhook, &failing.id).await.unwrap();
        assert_eq!(state.circuit, CircuitState::Open, "the unused probe was given back");
        let probe = db.claim_due(T0 + 600_000, 50, 3, LEASE).await.unwrap();
        assert_eq!(probe.len(), 1);
        assert!(probe[0].probe);
    }

    async fn a_long_outage_disables_the_target_and_its_waiting_deliveries_are_recoverable(db: TestDb) {
        let failing = webhook(&db, "store_a", &["order.*"]).await;
        backlog(&db, "store_a", "a", 10, T0).await;
        let first = db.claim_due(T0, 50, 3, LEASE).await.unwrap();
        finish(&db, &first, Verdict::RetryAt(T0 + 1_000), TargetSignal::Failing, T0).await;
        let mut now = T0 + 10_000;
        let transitions = loop {
            let probe = db.claim_due(now, 50, 3, LEASE).await.unwrap();
            assert_eq!(probe.len(), 1, "at {now}");
            let transitions = finish(&db, &probe, Verdict::RetryAt(now + 1_000), TargetSignal::Failing, now).await;
            if !transitions.is_empty() {
                break transitions;
            }
            now = db.target_state("store_a", TargetKind::Webhook, &failing.id).await.unwrap().blocked_until;
        };
        assert_eq!(transitions[0].change, CircuitChange::Disabled);
        assert!(now - T0 >= 100_000);
        let subscription = db.get_webhook_subscription("store_a", &failing.id).await.unwrap();
        assert!(!subscription.active);
        let reason = subscription.disabled_reason.expect("a reason");
        assert!(reason.contains("HTTP 503"), "{reason}");

        let filter = DeliveryFilter { target_id: Some(failing.id.clone()), ..Default::default() };
        let page = PageRequest { cursor: None, limit: 100 };
        let deliveries = db.list_deliveries("store_a", &filter, &page).await.unwrap().items;
        assert_eq!(deliveries.len(), 10);
        assert!(deliveries.iter().all(|d| d.status == DeliveryStatus::Dead), "{deliveries:#?}");
        assert!(deliveries.iter().all(|d| d.last_error.as_deref() == Some(reason.as_str())));

        // The admin enables it again and retries in bulk.
        db.update_webhook_subscription("store_a", &failing.id, &WebhookSubscriptionUpdate { active: Some(true), ..Default::default() }, now).await.unwrap();
        db.reset_target_state("store_a", &failing.id).await.unwrap();
        assert_eq!(db.retry_dead_deliveries("store_a", &filter, now).await.unwrap(), 10);
        assert_eq!(db.claim_due(now, 50, 20, LEASE).await.unwrap().len(), 10);
    }

    async fn a_throttled_target_pauses_alone(db: TestDb) {
        let throttled = webhook(&db, "store_a", &["order.*"]).await;
        let other = webhook(&db, "store_a", &["order.*"]).await;
        backlog(&db, "store_a", "a", 5, T0).await;
        let first = db.claim_due(T0, 2, 1, LEASE).await.unwrap();
        let mine: Vec<_> = first.iter().filter(|c| c.delivery.target_id == throttled.id).cloned().collect();
        finish(&db, &mine, Verdict::RetryAt(T0 + 30_000), TargetSignal::Throttled(T0 + 30_000), T0 + 1).await;
        let theirs: Vec<_> = first.iter().filter(|c| c.delivery.target_id == other.id).cloned().collect();
        finish(&db, &theirs, Verdict::Delivered { external_id: None }, TargetSignal::Healthy, T0 + 1).await;

        let during = db.claim_due(T0 + 29_999, 50, 5, LEASE).await.unwrap();
        assert_eq!(per_target(&during), HashMap::from([(other.id.clone(), 4)]));
        let after = db.claim_due(T0 + 30_000, 50, 5, LEASE).await.unwrap();
        assert_eq!(per_target(&after), HashMap::from([(throttled.id.clone(), 5)]));
    }

    async fn send_slots_are_spaced_for_every_handle(db: TestDb) {
        let limited = webhook(&db, "store_a", &["order.*"]).await;
        let other_node = db.reconnect(crate::support::secret_box()).await;
        let take = |db: sluice_storage::Db, now| {
            let id = limited.id.clone();
            async move { db.take_send_slot("store_a", TargetKind::Webhook, &id, 200, now).await.unwrap() }
        };
        assert_eq!(take((*db).clone(), T0).await, Ok(()));
        assert_eq!(take(other_node.clone(), T0 + 199).await, Err(T0 + 200));
        assert_eq!(take(other_node.clone(), T0 + 200).await, Ok(()));
        assert_eq!(take((*db).clone(), T0 + 300).await, Err(T0 + 400));
        other_node.close().await;
    }
}
