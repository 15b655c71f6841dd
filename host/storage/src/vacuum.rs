//! Vacuuming the queue on PostgreSQL, so that claims stay cheap.
//!
//! Every delivery rewrites its row twice (the claim, the record), and each
//! rewrite leaves a dead entry in the indexes a claim walks. Until VACUUM
//! runs, a claim steps through those entries and, because VACUUM is also
//! what marks pages all-visible, checks each against the table. PostgreSQL's
//! autovacuum waits by default for a fifth of a table to be dead, looks once
//! a minute, and may be off altogether: measured here, 50,000 dead rows made
//! deliveries several times slower (146/s against 1,650/s right after a
//! VACUUM of 0.3 s). So a node vacuums Sluice's tables itself as soon as they
//! pass a small share of dead rows. SQLite has no dead rows to keep.

use std::collections::HashMap;

use sqlx::Row;

use crate::{Backend, Db, Result};

/// A table is vacuumed once it has this many new dead rows...
const MIN_DEAD_ROWS: i64 = 2_000;
/// ...and they are at least this share of its live rows, so that a large
/// table is not scanned again for a few rows.
const MIN_DEAD_SHARE: f64 = 0.05;

/// What the last vacuums could not remove, by table: rows an open
/// transaction may still see. Only dead rows beyond those count, so a long
/// transaction does not make every pass vacuum in vain.
#[derive(Debug, Default)]
pub struct VacuumMemory(HashMap<String, i64>);

impl Db {
    /// On PostgreSQL, vacuums each of Sluice's tables (those of the current
    /// schema) whose dead rows, beyond what its last vacuum left in `memory`,
    /// passed the threshold; a table another node is vacuuming is skipped.
    /// Returns the tables vacuumed, each with its dead rows before. On
    /// SQLite, does nothing.
    pub async fn vacuum_bloated(&self, memory: &mut VacuumMemory) -> Result<Vec<(String, i64)>> {
        if self.backend() != Backend::Postgres {
            return Ok(Vec::new());
        }
        let tables = sqlx::query(
            "SELECT relname::text AS relname, n_dead_tup, n_live_tup FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND n_dead_tup >= $1 \
             ORDER BY n_dead_tup DESC",
        )
        .bind(MIN_DEAD_ROWS)
        .fetch_all(self.writer())
        .await?;
        let mut vacuumed = Vec::new();
        for row in tables {
            let table: String = row.try_get("relname")?;
            let dead: i64 = row.try_get("n_dead_tup")?;
            let live: i64 = row.try_get("n_live_tup")?;
            // Fewer dead rows than remembered: some were removed since (by
            // autovacuum, or another node), so only what is left can be held.
            let held = memory.0.get(&table).map_or(0, |held| *held.min(&dead));
            memory.0.insert(table.clone(), held);
            let new_dead = dead - held;
            if new_dead < MIN_DEAD_ROWS || (new_dead as f64) < live as f64 * MIN_DEAD_SHARE {
                continue;
            }
            // The name comes from the catalog; quoting keeps it one identifier.
            let quoted = format!("\"{}\"", table.replace('"', "\"\""));
            sqlx::raw_sql(&format!("VACUUM (SKIP_LOCKED) {quoted}"))
                .execute(self.writer())
                .await?;
            let left: i64 = sqlx::query(
                "SELECT n_dead_tup FROM pg_stat_user_tables \
                 WHERE schemaname = current_schema() AND relname = $1",
            )
            .bind(table.as_str())
            .fetch_optional(self.writer())
            .await?
            .map(|row| row.try_get("n_dead_tup"))
            .transpose()?
            .unwrap_or(0);
            memory.0.insert(table.clone(), left);
            vacuumed.push((table, dead));
        }
        Ok(vacuumed)
    }
}
