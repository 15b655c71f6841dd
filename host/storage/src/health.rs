//! What every node knows about a target's health: its circuit breaker, the
//! pause a `429 Retry-After` asked for, and its rate limit's next send slot.
//!
//! A target failing consecutively (5xx, timeouts, refused connections) opens
//! its circuit: the claim skips its deliveries, so they wait without using
//! their retries or a worker. When the back-off ends, one claim is granted a
//! single probe (the circuit is `half_open` under that claim's lease token);
//! the probe's result closes the circuit or opens it again for twice as long.
//! An outage longer than the policy allows disables the target with a reason
//! and dead-letters its pending deliveries, which a bulk retry revives.
//!
//! The state lives in `target_states`, so it survives restarts and every
//! node sees the same circuit. Changes are decided in the transaction that
//! records the attempts (see [`Db::complete`](crate::Db::complete)).

use sluice_core::UnixMillis;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::sql::{stored, stored_enum};
use crate::{Backend, Db, NewEvent, Result, TargetKind};

stored_enum! {
    /// Where a target's circuit breaker stands.
    pub enum CircuitState {
        /// Deliveries flow.
        Closed = "closed",
        /// Deliveries wait until the back-off ends, then one probe is made.
        Open = "open",
        /// The probe is out; its result decides.
        HalfOpen = "half_open",
    }
}

/// When circuits open, how long they stay open, and when a target is given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitPolicy {
    /// Consecutive failures that open a closed circuit.
    pub failure_threshold: u32,
    /// The first back-off, in milliseconds; each failed probe doubles it.
    pub open_ms: i64,
    /// The longest back-off, in milliseconds.
    pub max_open_ms: i64,
    /// An outage this long (from the circuit's first opening to a failed
    /// probe) disables the target, in milliseconds.
    pub disable_after_ms: i64,
}

impl Default for CircuitPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_ms: 30_000,
            max_open_ms: 3_600_000,
            disable_after_ms: 5 * 86_400_000,
        }
    }
}

/// What an attempt says about its target's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSignal {
    /// The target answered as a working target does.
    Healthy,
    /// The target failed: 5xx, timeout, refused or reset connection.
    Failing,
    /// The target asked for no requests before this time (429 Retry-After).
    Throttled(UnixMillis),
    /// Nothing about the target's health (for example, the payload was refused).
    Neutral,
}

/// A target's health as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetState {
    /// The subscription or configuration id.
    pub target_id: String,
    /// Its store.
    pub store_id: String,
    /// Webhook or connector.
    pub target_kind: TargetKind,
    /// Its circuit.
    pub circuit: CircuitState,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// No attempt before this time (back-off, probe lease, or 429 pause).
    pub blocked_until: UnixMillis,
    /// When the current outage began.
    pub opened_at: Option<UnixMillis>,
    /// Probes failed in the current outage.
    pub failed_probes: u32,
    /// The last failure's error.
    pub last_error: Option<String>,
    /// Why Sluice disabled the target, if it did.
    pub disabled_reason: Option<String>,
    /// When it last changed.
    pub updated_at: UnixMillis,
}

const STATE_COLUMNS: &str = "target_id, store_id, target_kind, circuit, consecutive_failures, \
    blocked_until, opened_at, failed_probes, last_error, disabled_reason, updated_at";

impl TargetState {
    fn healthy(store_id: &str, kind: TargetKind, target_id: &str) -> Self {
        Self {
            target_id: target_id.to_owned(),
            store_id: store_id.to_owned(),
            target_kind: kind,
            circuit: CircuitState::Closed,
            consecutive_failures: 0,
            blocked_until: 0,
            opened_at: None,
            failed_probes: 0,
            last_error: None,
            disabled_reason: None,
            updated_at: 0,
        }
    }

    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            target_id: row.try_get("target_id")?,
            store_id: row.try_get("store_id")?,
            target_kind: stored(row, "target_kind")?,
            circuit: stored(row, "circuit")?,
            consecutive_failures: crate::sql::narrow(row, "consecutive_failures")?,
            blocked_until: row.try_get("blocked_until")?,
            opened_at: row.try_get("opened_at")?,
            failed_probes: crate::sql::narrow(row, "failed_probes")?,
            last_error: row.try_get("last_error")?,
            disabled_reason: row.try_get("disabled_reason")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// How a circuit changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitChange {
    /// It opened: deliveries to the target wait.
    Opened,
    /// A probe succeeded: deliveries flow again.
    Closed,
    /// The outage lasted too long: the target was disabled.
    Disabled,
}

/// A circuit change, with the target's state after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitTransition {
    /// What happened.
    pub change: CircuitChange,
    /// The target's state afterwards.
    pub state: TargetState,
    /// The target's name, if it still exists.
    pub target_name: Option<String>,
    /// When it happened.
    pub at: UnixMillis,
}

/// How [`Db::complete`](crate::Db::complete) treats target health.
#[derive(Debug, Clone)]
pub struct Circuits {
    /// When circuits open and close.
    pub policy: CircuitPolicy,
    /// The system event a transition raises, if any; it is stored and fanned
    /// out in the same transaction.
    pub raise: fn(&CircuitTransition) -> Option<NewEvent>,
}

impl Default for Circuits {
    fn default() -> Self {
        Self {
            policy: CircuitPolicy::default(),
            raise: |_| None,
        }
    }
}

/// Applies one attempt's `signal` to `state`; returns the change it makes.
/// `probe` tells whether the attempt was the circuit's probe.
fn apply(
    state: &mut TargetState,
    signal: TargetSignal,
    probe: bool,
    error: Option<&str>,
    policy: &CircuitPolicy,
    now: UnixMillis,
) -> Option<CircuitChange> {
    match signal {
        TargetSignal::Neutral => None,
        TargetSignal::Throttled(until) => {
            state.blocked_until = state.blocked_until.max(until);
            None
        }
        TargetSignal::Healthy => {
            let was_open = state.circuit != CircuitState::Closed;
            state.consecutive_failures = 0;
            state.failed_probes = 0;
            state.last_error = None;
            if !was_open {
                return None;
            }
            state.circuit = CircuitState::Closed;
            state.opened_at = None;
            state.blocked_until = now;
            Some(CircuitChange::Closed)
        }
        TargetSignal::Failing => {
            state.consecutive_failures = state.consecutive_failures.saturating_add(1);
            state.last_error = error.map(str::to_owned);
            match state.circuit {
                CircuitState::Closed => {
                    if state.consecutive_failures < policy.failure_threshold {
                        return None;
                    }
                    state.circuit = CircuitState::Open;
                    state.opened_at = Some(now);
                    state.failed_probes = 0;
                    state.blocked_until = now.saturating_add(policy.open_ms);
                    Some(CircuitChange::Opened)
                }
                // A straggler that started before the circuit opened.
                _ if !probe => None,
                _ => {
                    state.failed_probes = state.failed_probes.saturating_add(1);
                    state.circuit = CircuitState::Open;
                    let opened_at = *state.opened_at.get_or_insert(now);
                    if now - opened_at >= policy.disable_after_ms {
                        let hours = (now - opened_at) / 3_600_000;
                        state.disabled_reason = Some(format!(
                            "disabled after failing for {hours} hours: {}",
                            error.unwrap_or("every attempt failed")
                        ));
                        state.blocked_until = UnixMillis::MAX;
                        return Some(CircuitChange::Disabled);
                    }
                    let doubled = policy
                        .open_ms
                        .saturating_mul(1 << state.failed_probes.min(30));
                    state.blocked_until = now.saturating_add(doubled.min(policy.max_open_ms));
                    None
                }
            }
        }
    }
}

/// One recorded attempt's news about its target.
pub(crate) struct Report<'a> {
    pub store_id: &'a str,
    pub kind: TargetKind,
    pub target_id: &'a str,
    pub lease_token: &'a str,
    pub signal: TargetSignal,
    pub error: Option<&'a str>,
}

/// Applies `reports` to the stored target states on `conn` (inside the
/// recording transaction) and returns the transitions, with their system
/// events ingested by the caller.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    reports: &[Report<'_>],
    circuits: &Circuits,
    now: UnixMillis,
) -> Result<Vec<CircuitTransition>> {
    let reports: Vec<&Report> = reports
        .iter()
        .filter(|r| r.signal != TargetSignal::Neutral)
        .collect();
    if reports.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<&str> = reports.iter().map(|r| r.target_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut states = std::collections::HashMap::new();
    let mut probes = std::collections::HashMap::new();
    for chunk in ids.chunks(crate::sql::ROWS_PER_STATEMENT) {
        let mut sql = crate::sql::SqlBuilder::new(
            backend,
            &format!("SELECT {STATE_COLUMNS}, probe_token FROM target_states WHERE target_id IN ("),
        );
        sql.bind_list(chunk.iter().copied())
            .push(")")
            .push(backend.lock_row());
        for row in sql.fetch_all(&mut *conn).await? {
            let state = TargetState::from_row(&row)?;
            probes.insert(
                state.target_id.clone(),
                row.try_get::<Option<String>, _>("probe_token")?,
            );
            states.insert(state.target_id.clone(), state);
        }
    }
    let mut changed: Vec<String> = Vec::new();
    let mut transitions = Vec::new();
    for report in reports {
        let state = states
            .entry(report.target_id.to_owned())
            .or_insert_with(|| {
                TargetState::healthy(report.store_id, report.kind, report.target_id)
            });
        if state.disabled_reason.is_some() {
            continue;
        }
        let before = state.clone();
        let probe = state.circuit == CircuitState::HalfOpen
            && probes.get(report.target_id).and_then(Option::as_deref) == Some(report.lease_token);
        let change = apply(
            state,
            report.signal,
            probe,
            report.error,
            &circuits.policy,
            now,
        );
        if *state != before {
            state.updated_at = now;
            if !changed.iter().any(|id| id == report.target_id) {
                changed.push(report.target_id.to_owned());
            }
        }
        if let Some(change) = change {
            transitions.push(CircuitTransition {
                change,
                state: state.clone(),
                target_name: None,
                at: now,
            });
        }
    }
    for id in &changed {
        write_state(conn, &states[id]).await?;
    }
    for transition in &mut transitions {
        transition.target_name = target_name(conn, &transition.state.target_id).await?;
        if transition.change == CircuitChange::Disabled {
            disable(conn, &transition.state, now).await?;
        }
    }
    Ok(transitions)
}

async fn write_state(conn: &mut AnyConnection, state: &TargetState) -> Result<()> {
    // A closed circuit has no probe; an open one's probe ended.
    sqlx::query(
        "INSERT INTO target_states (target_id, store_id, target_kind, circuit, \
         consecutive_failures, blocked_until, opened_at, failed_probes, last_error, \
         disabled_reason, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (target_id) DO UPDATE SET circuit = $4, consecutive_failures = $5, \
         blocked_until = $6, opened_at = $7, failed_probes = $8, last_error = $9, \
         disabled_reason = $10, updated_at = $11, probe_token = CASE WHEN $4 = 'half_open' \
         THEN target_states.probe_token ELSE NULL END",
    )
    .bind(state.target_id.as_str())
    .bind(state.store_id.as_str())
    .bind(state.target_kind.as_str())
    .bind(state.circuit.as_str())
    .bind(i64::from(state.consecutive_failures))
    .bind(state.blocked_until)
    .bind(state.opened_at)
    .bind(i64::from(state.failed_probes))
    .bind(state.last_error.as_deref())
    .bind(state.disabled_reason.as_deref())
    .bind(state.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn target_name(conn: &mut AnyConnection, target_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query(
        "SELECT name FROM webhook_subscriptions WHERE id = $1 \
         UNION ALL SELECT name FROM connector_configs WHERE id = $1",
    )
    .bind(target_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| row.try_get("name"))
    .transpose()?)
}

/// Deactivates a target given up on, and dead-letters its pending
/// deliveries with the reason (a bulk retry revives them). Deliveries a
/// worker holds end when their attempt is recorded.
async fn disable(conn: &mut AnyConnection, state: &TargetState, now: UnixMillis) -> Result<()> {
    let reason = state.disabled_reason.as_deref().unwrap_or("disabled");
    match state.target_kind {
        TargetKind::Webhook => {
            sqlx::query(
                "UPDATE webhook_subscriptions SET active = $1, disabled_reason = $2, \
                 updated_at = $3 WHERE id = $4",
            )
            .bind(false)
            .bind(reason)
            .bind(now)
            .bind(state.target_id.as_str())
            .execute(&mut *conn)
            .await?;
        }
        TargetKind::Connector => {
            sqlx::query("UPDATE connector_configs SET active = $1, updated_at = $2 WHERE id = $3")
                .bind(false)
                .bind(now)
                .bind(state.target_id.as_str())
                .execute(&mut *conn)
                .await?;
        }
    }
    sqlx::query(
        "UPDATE deliveries SET status = 'dead', last_error = $1, finished_at = $2, \
         next_attempt_at = $2, updated_at = $2 WHERE target_id = $3 AND status = 'pending' \
         AND lease_token IS NULL",
    )
    .bind(reason)
    .bind(now)
    .bind(state.target_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Grants one probe per open circuit whose back-off has ended to the claim
/// holding `token` (until `lease_end`); returns their target ids.
pub(crate) async fn grant_probes(
    conn: &mut AnyConnection,
    token: &str,
    lease_end: UnixMillis,
    now: UnixMillis,
) -> Result<Vec<String>> {
    sqlx::query(
        "UPDATE target_states SET circuit = 'half_open', probe_token = $1, blocked_until = $2, \
         updated_at = $3 WHERE circuit <> 'closed' AND blocked_until <= $3 \
         AND disabled_reason IS NULL RETURNING target_id",
    )
    .bind(token)
    .bind(lease_end)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| row.try_get("target_id").map_err(Into::into))
    .collect()
}

/// Gives back probes granted to `token` that the claim did not use, so the
/// next claim on any node may probe at once.
pub(crate) async fn return_probes(
    conn: &mut AnyConnection,
    backend: Backend,
    token: &str,
    unused: &[&str],
    now: UnixMillis,
) -> Result<()> {
    for chunk in unused.chunks(crate::sql::ROWS_PER_STATEMENT) {
        let mut sql = crate::sql::SqlBuilder::new(
            backend,
            "UPDATE target_states SET circuit = 'open', probe_token = NULL, blocked_until = ",
        );
        sql.bind(now)
            .push(" WHERE probe_token = ")
            .bind(token)
            .push(" AND target_id IN (")
            .bind_list(chunk.iter().copied())
            .push(")");
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

impl Db {
    /// Takes the next send slot of a rate-limited target: succeeds when no
    /// request to it was made less than `spacing_ms` ago (on any node), and
    /// holds the slot until `now + spacing_ms`. Otherwise returns when the
    /// next slot opens.
    pub async fn take_send_slot(
        &self,
        store_id: &str,
        kind: TargetKind,
        target_id: &str,
        spacing_ms: i64,
        now: UnixMillis,
    ) -> Result<std::result::Result<(), UnixMillis>> {
        let taken = sqlx::query(
            "INSERT INTO target_states (target_id, store_id, target_kind, next_send_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (target_id) DO UPDATE SET next_send_at = $4 \
             WHERE target_states.next_send_at <= $5 RETURNING target_id",
        )
        .bind(target_id)
        .bind(store_id)
        .bind(kind.as_str())
        .bind(now.saturating_add(spacing_ms))
        .bind(now)
        .fetch_optional(self.writer())
        .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let next: i64 = sqlx::query("SELECT next_send_at FROM target_states WHERE target_id = $1")
            .bind(target_id)
            .fetch_one(self.writer())
            .await?
            .try_get("next_send_at")?;
        Ok(Err(next))
    }

    /// The health of every target of `store_id` that has a recorded state.
    pub async fn target_states(&self, store_id: &str) -> Result<Vec<TargetState>> {
        sqlx::query(&format!(
            "SELECT {STATE_COLUMNS} FROM target_states WHERE store_id = $1 ORDER BY target_id"
        ))
        .bind(store_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(TargetState::from_row)
        .collect()
    }

    /// The health of target `target_id` of `store_id`; a target never seen
    /// failing is healthy.
    pub async fn target_state(
        &self,
        store_id: &str,
        kind: TargetKind,
        target_id: &str,
    ) -> Result<TargetState> {
        let row = sqlx::query(&format!(
            "SELECT {STATE_COLUMNS} FROM target_states WHERE store_id = $1 AND target_id = $2"
        ))
        .bind(store_id)
        .bind(target_id)
        .fetch_optional(self.reader())
        .await?;
        match row {
            Some(row) => TargetState::from_row(&row),
            None => Ok(TargetState::healthy(store_id, kind, target_id)),
        }
    }

    /// Forgets target `target_id`'s health (for example when an admin
    /// enables it again): its circuit is closed and nothing blocks it.
    pub async fn reset_target_state(&self, store_id: &str, target_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM target_states WHERE store_id = $1 AND target_id = $2")
            .bind(store_id)
            .bind(target_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// How many targets of all stores have a circuit in each state other
    /// than closed, by target kind; for the metrics gauge.
    pub async fn count_circuits(&self) -> Result<Vec<(CircuitState, TargetKind, u64)>> {
        sqlx::query(
            "SELECT circuit, target_kind, COUNT(*) AS n FROM target_states \
             WHERE circuit <> 'closed' GROUP BY circuit, target_kind",
        )
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            Ok((
                stored(row, "circuit")?,
                stored(row, "target_kind")?,
                crate::sql::narrow(row, "n")?,
            ))
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CircuitPolicy {
        CircuitPolicy {
            failure_threshold: 3,
            open_ms: 1_000,
            max_open_ms: 5_000,
            disable_after_ms: 20_000,
        }
    }

    fn fail(state: &mut TargetState, probe: bool, now: UnixMillis) -> Option<CircuitChange> {
        apply(
            state,
            TargetSignal::Failing,
            probe,
            Some("HTTP 500"),
            &policy(),
            now,
        )
    }

    #[test]
    fn consecutive_failures_open_the_circuit_and_a_success_resets_the_count() {
        let mut state = TargetState::healthy("s", TargetKind::Webhook, "whk_1");
        assert_eq!(fail(&mut state, false, 10), None);
        assert_eq!(fail(&mut state, false, 11), None);
        apply(
            &mut state,
            TargetSignal::Healthy,
            false,
            None,
            &policy(),
            12,
        );
        assert_eq!(state.consecutive_failures, 0);
        assert_eq!(fail(&mut state, false, 13), None);
        assert_eq!(fail(&mut state, false, 14), None);
        assert_eq!(fail(&mut state, false, 15), Some(CircuitChange::Opened));
        assert_eq!(state.circuit, CircuitState::Open);
        assert_eq!(state.blocked_until, 1_015);
        assert_eq!(state.opened_at, Some(15));
    }

    #[test]
    fn failed_probes_double_the_back_off_up_to_its_cap_and_stragglers_change_nothing() {
        let mut state = TargetState::healthy("s", TargetKind::Webhook, "whk_1");
        for now in 0..3 {
            fail(&mut state, false, now);
        }
        state.circuit = CircuitState::HalfOpen;
        assert_eq!(fail(&mut state, false, 500), None, "a straggler");
        assert_eq!(state.circuit, CircuitState::HalfOpen);
        let mut backoffs = Vec::new();
        let mut now = 1_000;
        for _ in 0..4 {
            state.circuit = CircuitState::HalfOpen;
            assert_eq!(fail(&mut state, true, now), None);
            backoffs.push(state.blocked_until - now);
            now = state.blocked_until;
        }
        assert_eq!(backoffs, [2_000, 4_000, 5_000, 5_000]);
        state.circuit = CircuitState::HalfOpen;
        assert_eq!(
            apply(
                &mut state,
                TargetSignal::Healthy,
                true,
                None,
                &policy(),
                now
            ),
            Some(CircuitChange::Closed)
        );
        assert_eq!(state.circuit, CircuitState::Closed);
        assert_eq!(state.opened_at, None);
        assert_eq!(state.failed_probes, 0);
    }

    #[test]
    fn a_probe_failing_after_the_longest_outage_disables_the_target() {
        let mut state = TargetState::healthy("s", TargetKind::Connector, "cfg_1");
        for now in 0..3 {
            fail(&mut state, false, now);
        }
        state.circuit = CircuitState::HalfOpen;
        assert_eq!(fail(&mut state, true, 19_000), None);
        state.circuit = CircuitState::HalfOpen;
        assert_eq!(
            fail(&mut state, true, 20_002),
            Some(CircuitChange::Disabled)
        );
        assert!(
            state
                .disabled_reason
                .as_deref()
                .is_some_and(|r| r.contains("HTTP 500")),
            "{state:?}"
        );
    }

    #[test]
    fn a_throttle_only_pauses_the_target() {
        let mut state = TargetState::healthy("s", TargetKind::Webhook, "whk_1");
        apply(
            &mut state,
            TargetSignal::Throttled(9_000),
            false,
            None,
            &policy(),
            1,
        );
        assert_eq!(state.blocked_until, 9_000);
        assert_eq!(state.circuit, CircuitState::Closed);
        assert_eq!(state.consecutive_failures, 0);
    }
}
