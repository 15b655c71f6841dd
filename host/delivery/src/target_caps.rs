//! Per-target caps that grow for targets that answer fast and well.
//!
//! The cap bounds how many workers one target can hold, so that a slow
//! receiver cannot starve the others. A receiver that answers in
//! milliseconds gives its workers back at once, and a cap sized for slow
//! ones only limits its throughput (at most the cap over its answer time).
//! So every target starts at `slow_target_concurrency`; while a target uses
//! its whole cap, each attempt that succeeds within `fast_attempt_ms` adds
//! 1/cap to it (one slot more per cap's worth of fast successes, TCP's
//! additive increase), up to `per_target_concurrency`; a slow success halves
//! what it gained, and a failure or a 429 sets it back to the start at once.
//!
//! Only a target that fills its cap grows it (as TCP grows only a window it
//! fills), and a raised cap lapses once its target has been idle for
//! [`IDLE`]: the caps a claim carries are those of targets with a backlog.
//! They are this node's view, from its own attempts; the claim counts every
//! node's leases against them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_storage::{TargetCaps, TargetSignal};

use crate::config::DeliveryConfig;

/// How long a raised cap outlives its target's last attempt.
pub(crate) const IDLE: Duration = Duration::from_secs(10);

/// The caps of the targets this node attempts.
pub(crate) struct AdaptiveCaps {
    start: usize,
    ceiling: usize,
    fast: Duration,
    targets: Mutex<HashMap<String, Target>>,
}

/// What this node knows of one target it is attempting or has raised.
struct Target {
    /// Fractional while it grows; never below the start.
    cap: f64,
    /// This node's attempts at it under way.
    in_flight: usize,
    /// Whether its last claim filled its cap: only then may it grow.
    filled: bool,
    last_ended: Instant,
}

impl AdaptiveCaps {
    pub(crate) fn new(config: &DeliveryConfig) -> Self {
        Self {
            start: config
                .slow_target_concurrency
                .min(config.per_target_concurrency),
            ceiling: config.per_target_concurrency,
            fast: Duration::from_millis(config.fast_attempt_ms),
            targets: Mutex::default(),
        }
    }

    /// Takes in the targets of a claim's deliveries (one each), whose
    /// attempts start now.
    pub(crate) fn claimed<'a>(&self, target_ids: impl IntoIterator<Item = &'a str>, now: Instant) {
        let mut targets = self.targets.lock();
        for target_id in target_ids {
            let target = targets.entry(target_id.to_owned()).or_insert(Target {
                cap: self.start as f64,
                in_flight: 0,
                filled: false,
                last_ended: now,
            });
            target.in_flight += 1;
            target.filled = target.in_flight >= target.cap as usize;
        }
    }

    /// Takes in how an attempt at `target_id` ended and how long it took.
    pub(crate) fn ended(
        &self,
        target_id: &str,
        signal: TargetSignal,
        took: Duration,
        now: Instant,
    ) {
        let mut targets = self.targets.lock();
        let Some(target) = targets.get_mut(target_id) else {
            return;
        };
        target.in_flight = target.in_flight.saturating_sub(1);
        target.last_ended = now;
        let start = self.start as f64;
        match signal {
            TargetSignal::Healthy if took <= self.fast => {
                if target.filled {
                    target.cap = (target.cap + 1.0 / target.cap).min(self.ceiling as f64);
                }
            }
            TargetSignal::Healthy => {
                target.cap = (start + target.cap) / 2.0;
                if target.cap < start + 1.0 {
                    target.cap = start;
                }
            }
            // The payload was refused: nothing about the target's speed.
            TargetSignal::Neutral => {}
            TargetSignal::Failing | TargetSignal::Throttled(_) => target.cap = start,
        }
        if target.cap <= start && target.in_flight == 0 {
            targets.remove(target_id);
        }
    }

    /// The caps a claim applies now; forgets the raised caps of targets
    /// idle for [`IDLE`].
    pub(crate) fn current(&self, now: Instant) -> TargetCaps {
        let mut targets = self.targets.lock();
        targets.retain(|_, target| {
            target.in_flight > 0 || now.duration_since(target.last_ended) < IDLE
        });
        let raised: BTreeMap<String, usize> = targets
            .iter()
            .map(|(target_id, target)| (target_id.clone(), target.cap as usize))
            .filter(|(_, cap)| *cap > self.start)
            .collect();
        TargetCaps {
            default: self.start,
            raised,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_millis(5);
    const SLOW: Duration = Duration::from_secs(2);

    fn caps(slow_target: usize, per_target: usize) -> AdaptiveCaps {
        AdaptiveCaps::new(&DeliveryConfig {
            slow_target_concurrency: slow_target,
            per_target_concurrency: per_target,
            fast_attempt_ms: 250,
            ..DeliveryConfig::default()
        })
    }

    fn claim(target_id: &str, count: usize) -> impl Iterator<Item = &str> {
        std::iter::repeat_n(target_id, count)
    }

    fn cap_of(caps: &AdaptiveCaps, target_id: &str) -> usize {
        let current = caps.current(Instant::now());
        current
            .raised
            .get(target_id)
            .copied()
            .unwrap_or(current.default)
    }

    /// Claims of `target_id` at its whole cap, each attempt ending with
    /// `signal` after `took`, until `attempts` have ended.
    fn run(
        caps: &AdaptiveCaps,
        target_id: &str,
        attempts: usize,
        signal: TargetSignal,
        took: Duration,
    ) {
        let mut ended = 0;
        while ended < attempts {
            let batch = cap_of(caps, target_id).min(attempts - ended);
            caps.claimed(claim(target_id, batch), Instant::now());
            for _ in 0..batch {
                caps.ended(target_id, signal, took, Instant::now());
            }
            ended += batch;
        }
    }

    #[test]
    fn every_target_starts_at_the_slow_target_cap() {
        let caps = caps(4, 16);
        assert_eq!(caps.current(Instant::now()), TargetCaps::uniform(4));
    }

    #[test]
    fn a_target_filling_its_cap_with_fast_successes_grows_a_slot_per_caps_worth_up_to_the_ceiling()
    {
        let caps = caps(4, 8);
        run(&caps, "fast", 4, TargetSignal::Healthy, FAST);
        assert_eq!(cap_of(&caps, "fast"), 4, "not yet a whole slot more");
        run(&caps, "fast", 4, TargetSignal::Healthy, FAST);
        assert_eq!(
            cap_of(&caps, "fast"),
            5,
            "a slot more after a cap's worth, and a little"
        );
        assert_eq!(cap_of(&caps, "other"), 4, "only the target that answered");
        run(&caps, "fast", 1_000, TargetSignal::Healthy, FAST);
        assert_eq!(cap_of(&caps, "fast"), 8);
    }

    #[test]
    fn a_target_below_its_cap_does_not_grow_it() {
        let caps = caps(4, 16);
        for _ in 0..1_000 {
            caps.claimed(claim("light", 3), Instant::now());
            for _ in 0..3 {
                caps.ended("light", TargetSignal::Healthy, FAST, Instant::now());
            }
        }
        assert_eq!(caps.current(Instant::now()), TargetCaps::uniform(4));
    }

    #[test]
    fn slow_successes_never_raise_a_target() {
        let caps = caps(4, 16);
        run(&caps, "slow", 1_000, TargetSignal::Healthy, SLOW);
        assert_eq!(caps.current(Instant::now()), TargetCaps::uniform(4));
    }

    #[test]
    fn a_slow_success_halves_what_a_target_gained() {
        let caps = caps(4, 16);
        run(&caps, "t", 10_000, TargetSignal::Healthy, FAST);
        assert_eq!(cap_of(&caps, "t"), 16);
        caps.claimed(claim("t", 4), Instant::now());
        caps.ended("t", TargetSignal::Healthy, SLOW, Instant::now());
        assert_eq!(cap_of(&caps, "t"), 10);
        for _ in 0..3 {
            caps.ended("t", TargetSignal::Healthy, SLOW, Instant::now());
        }
        assert_eq!(caps.current(Instant::now()), TargetCaps::uniform(4));
    }

    #[test]
    fn a_failure_or_a_throttle_sets_a_target_back_to_the_start() {
        let caps = caps(4, 16);
        run(&caps, "failing", 10_000, TargetSignal::Healthy, FAST);
        run(&caps, "throttling", 10_000, TargetSignal::Healthy, FAST);
        run(&caps, "failing", 1, TargetSignal::Failing, FAST);
        run(&caps, "throttling", 1, TargetSignal::Throttled(1), FAST);
        assert_eq!(caps.current(Instant::now()), TargetCaps::uniform(4));
    }

    #[test]
    fn a_refused_payload_leaves_the_cap_as_it_is() {
        let caps = caps(4, 16);
        run(&caps, "t", 10_000, TargetSignal::Healthy, FAST);
        run(&caps, "t", 1, TargetSignal::Neutral, SLOW);
        assert_eq!(cap_of(&caps, "t"), 16);
    }

    #[test]
    fn a_raised_cap_lapses_once_its_target_is_idle() {
        let caps = caps(4, 16);
        run(&caps, "t", 10_000, TargetSignal::Healthy, FAST);
        assert_eq!(cap_of(&caps, "t"), 16);
        let later = Instant::now() + IDLE;
        assert_eq!(caps.current(later), TargetCaps::uniform(4));
    }

    #[test]
    fn a_ceiling_at_or_below_the_start_holds_every_target_there() {
        let caps = caps(16, 1);
        run(&caps, "t", 1_000, TargetSignal::Healthy, FAST);
        assert_eq!(caps.current(Instant::now()), TargetCaps::uniform(1));
    }
}
