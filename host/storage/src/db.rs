//! Connecting to SQLite or PostgreSQL and bringing the schema up to date.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sluice_secrets::SecretBox;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};

use crate::{Result, StorageError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Read connections to an SQLite file. WAL lets them read while the writer writes.
const SQLITE_READERS: u32 = 4;
/// Connections to PostgreSQL, shared by reads and writes.
const POSTGRES_CONNECTIONS: u32 = 16;
/// Connections to PostgreSQL for redoable transactions: the claim loop and
/// the recorder each hold one at a time.
const POSTGRES_REDOABLE_CONNECTIONS: u32 = 4;
/// How the sessions of those connections commit and plan; see
/// [`RedoableBegin::PostgresSessions`].
const POSTGRES_REDOABLE_SESSION: &str =
    "SET synchronous_commit = off; SET plan_cache_mode = force_generic_plan";
/// How long a statement waits for a PostgreSQL connection, including the
/// attempts to open one. While the database is down, a request fails after
/// this (503 with Retry-After) instead of holding its client for sqlx's
/// default of 30 s; SQLite's in-process writer queue keeps the default.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The WAL size, in pages, at which the SQLite writer checkpoints it itself,
/// as the pragmas set it: 40 MB, a bound for when [`Db::checkpoint_wal`] does
/// not run or falls behind. SQLite's default of 1,000 pages made the writer
/// stop to copy and sync several times a second under load.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// What an acknowledged write survives on SQLite.
///
/// Ingest commits concurrent requests as one group, so `Full` costs one
/// fsync per group, not per event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SqliteDurability {
    /// Every commit is synced to disk before it is acknowledged
    /// (`synchronous = FULL`): an accepted event survives a crash of the
    /// process, of the operating system and a power loss.
    #[default]
    Full,
    /// Commits are synced only at WAL checkpoints (`synchronous = NORMAL`):
    /// an accepted event survives a crash of the process, but the last
    /// commits may be lost on a power loss or an operating-system crash.
    ProcessCrashOnly,
}

impl SqliteDurability {
    /// The pragmas applied to every SQLite connection.
    ///
    /// The writer checkpoints the WAL itself only once it is far behind
    /// ([`WAL_AUTOCHECKPOINT_PAGES`]); [`Db::checkpoint_wal`] does it
    /// otherwise, off the writer's path.
    fn pragmas(self) -> String {
        let synchronous = match self {
            Self::Full => "FULL",
            Self::ProcessCrashOnly => "NORMAL",
        };
        format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
             PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
        )
    }
}

/// How a redoable transaction (see [`Db::redoable_writer`]) begins.
#[derive(Debug, Clone)]
enum RedoableBegin {
    /// The connection already commits without syncing.
    Plain,
    /// SQLite syncing every commit: this transaction's commit is synced only
    /// by the next synced one. The flag tells the writer pool to make its
    /// connection sync again when it is returned, whatever happened.
    SqliteUnsynced(Arc<AtomicBool>),
    /// PostgreSQL: a pool of its own whose sessions commit asynchronously
    /// (flushed by the WAL writer or by the next synchronous commit) and run
    /// statements on generic plans: the claim's plan does not depend on its
    /// parameters, and planning it anew for every claim cost more than
    /// running it. Set once per session, not per transaction, a statement
    /// can also commit on its own, saving the round trips of BEGIN and
    /// COMMIT.
    PostgresSessions(AnyPool),
}

impl RedoableBegin {
    /// The statements that begin the transaction.
    fn statement(&self) -> &'static str {
        match self {
            Self::Plain | Self::PostgresSessions(_) => "BEGIN",
            Self::SqliteUnsynced(_) => "PRAGMA synchronous = NORMAL; BEGIN",
        }
    }
}

/// The database engine behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite, the default for a single node.
    Sqlite,
    /// PostgreSQL, for several nodes sharing one queue.
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StorageError::UnsupportedUrl)
        }
    }

    /// The row-locking clause that serialises writers of one row. SQLite has
    /// one writer, so it needs none.
    pub(crate) fn lock_row(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }
}

/// Sluice's database: a handle that is cheap to clone and share.
///
/// On SQLite all writes go through one connection, so writers queue in the
/// process instead of failing with `SQLITE_BUSY`; reads use a separate pool.
/// On PostgreSQL one pool serves both. Every operation takes the current time
/// as a parameter; storage never reads a clock.
#[derive(Debug, Clone)]
pub struct Db {
    backend: Backend,
    writer: AnyPool,
    reader: AnyPool,
    secrets: Arc<SecretBox>,
    redoable_begin: RedoableBegin,
    /// Set when Sluice's own outcomes also go to the bus outbox.
    pub(crate) outbox: Option<crate::OutboxSignal>,
}

/// The writer's connection, held for one redoable transaction.
pub(crate) struct RedoableWriter {
    connection: PoolConnection<Any>,
    begin: &'static str,
    /// Whether a statement outside a transaction commits unsynced too, and
    /// committing each statement on its own saves round trips (PostgreSQL;
    /// on SQLite one transaction costs less than several commits).
    autocommits_unsynced: bool,
}

impl RedoableWriter {
    /// Begins the transaction.
    pub(crate) async fn begin(&mut self) -> Result<Transaction<'_, Any>> {
        Ok(self.connection.begin_with(self.begin).await?)
    }

    /// The connection, where each statement commits on its own without
    /// waiting for the disk; `None` where a transaction is the better way
    /// (SQLite).
    pub(crate) fn autocommitting(&mut self) -> Option<&mut AnyConnection> {
        self.autocommits_unsynced.then_some(&mut *self.connection)
    }
}

impl Db {
    /// Connects to `url` and applies pending migrations.
    ///
    /// `url` is `sqlite://<path>?mode=rwc` (the file is created if missing),
    /// `sqlite::memory:` (a private in-memory database, for tests), or
    /// `postgres://...`. `secrets` seals and opens connector credentials and
    /// webhook signing secrets.
    pub async fn connect(url: &str, secrets: SecretBox) -> Result<Self> {
        Self::connect_with(url, secrets, SqliteDurability::default()).await
    }

    /// Like [`Db::connect`], with the durability of SQLite commits chosen by
    /// the operator (PostgreSQL keeps its own `synchronous_commit`).
    pub async fn connect_with(
        url: &str,
        secrets: SecretBox,
        durability: SqliteDurability,
    ) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let (writer, reader, redoable_begin) = match backend {
            Backend::Sqlite => connect_sqlite(url, durability).await?,
            Backend::Postgres => {
                let pool = pool_options(POSTGRES_CONNECTIONS)
                    .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                    .connect(url)
                    .await?;
                let redoable = pool_options(POSTGRES_REDOABLE_CONNECTIONS)
                    .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                    .after_connect(|connection: &mut AnyConnection, _| {
                        Box::pin(async move {
                            connection.execute(POSTGRES_REDOABLE_SESSION).await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(url)
                    .map_err(StorageError::Database)?;
                (
                    pool.clone(),
                    pool,
                    RedoableBegin::PostgresSessions(redoable),
                )
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&writer)
            .await
            .map_err(StorageError::Migration)?;
        Ok(Self {
            backend,
            writer,
            reader,
            secrets: Arc::new(secrets),
            redoable_begin,
            outbox: None,
        })
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
        if let RedoableBegin::PostgresSessions(redoable) = &self.redoable_begin {
            redoable.close().await;
        }
    }

    /// Checks that the database answers, for readiness probes.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.writer).await?;
        Ok(())
    }

    /// The pool for statements that write.
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// The writer's connection for a transaction whose every change is
    /// redone if it is lost: claims, and attempt records with what they
    /// derive (circuits, and system events whose ids are deterministic).
    ///
    /// Its commit does not wait for the disk. A crash of the machine may lose
    /// it, and it is then redone: a lost claim leaves its deliveries due, a
    /// lost record leaves its delivery leased until the lease lapses, when it
    /// is attempted again, which at-least-once delivery allows. Events
    /// accepted from outside never go through such a transaction, and a
    /// later synced commit syncs every commit before it.
    pub(crate) async fn redoable_writer(&self) -> Result<RedoableWriter> {
        let connection = match &self.redoable_begin {
            RedoableBegin::PostgresSessions(redoable) => redoable.acquire().await?,
            _ => self.writer().acquire().await?,
        };
        if let RedoableBegin::SqliteUnsynced(unsynced) = &self.redoable_begin {
            // Set while holding the only writer connection, so the pool
            // resets the connection this transaction changes.
            unsynced.store(true, Ordering::Release);
        }
        Ok(RedoableWriter {
            connection,
            begin: self.redoable_begin.statement(),
            autocommits_unsynced: matches!(self.redoable_begin, RedoableBegin::PostgresSessions(_)),
        })
    }

    /// On SQLite, copies the pages the write-ahead log holds into the
    /// database file (a passive checkpoint, on a read connection), so that
    /// the writer does not stop for it; returns the pages the log held and
    /// those copied. On PostgreSQL, does nothing.
    pub async fn checkpoint_wal(&self) -> Result<(i64, i64)> {
        if self.backend != Backend::Sqlite {
            return Ok((0, 0));
        }
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(self.reader())
            .await?;
        Ok((sqlx::Row::try_get(&row, 1)?, sqlx::Row::try_get(&row, 2)?))
    }

    /// The pool for statements that only read.
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// The box sealing and opening secrets.
    pub(crate) fn secrets(&self) -> &SecretBox {
        &self.secrets
    }
}

fn pool_options(max_connections: u32) -> AnyPoolOptions {
    // A ping before each checkout would double the round trips of short
    // statements; a broken connection fails its statement instead.
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
}

async fn connect_sqlite(
    url: &str,
    durability: SqliteDurability,
) -> Result<(AnyPool, AnyPool, RedoableBegin)> {
    let with_pragmas = |options: AnyPoolOptions| {
        options.after_connect(move |connection: &mut AnyConnection, _| {
            Box::pin(async move {
                connection.execute(durability.pragmas().as_str()).await?;
                Ok(())
            })
        })
    };
    let (redoable_begin, writer_options) = match durability {
        SqliteDurability::ProcessCrashOnly => (RedoableBegin::Plain, pool_options(1)),
        SqliteDurability::Full => {
            let unsynced = Arc::new(AtomicBool::new(false));
            let reset = unsynced.clone();
            let options = pool_options(1).after_release(move |connection, _| {
                let reset = reset.clone();
                Box::pin(async move {
                    if reset.swap(false, Ordering::AcqRel) {
                        connection.execute("PRAGMA synchronous = FULL").await?;
                    }
                    Ok(true)
                })
            });
            (RedoableBegin::SqliteUnsynced(unsynced), options)
        }
    };
    // The writer's connection lives as long as the pool: it holds the
    // statement cache, and for `sqlite::memory:` the database itself.
    let writer = with_pragmas(writer_options)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect(url)
        .await?;
    // The `Any` driver opens every `:memory:` connection on a database of its
    // own, so an in-memory database is read through the writer.
    let reader = if url.contains(":memory:") {
        writer.clone()
    } else {
        with_pragmas(pool_options(SQLITE_READERS))
            .connect_lazy(url)
            .map_err(StorageError::Database)?
    };
    Ok((writer, reader, redoable_begin))
}

#[cfg(test)]
pub(crate) mod tests {
    use sluice_secrets::MasterKey;

    use super::*;

    #[tokio::test]
    async fn an_in_memory_database_reads_what_it_wrote() {
        let db = Db::connect("sqlite::memory:", SecretBox::new(&MasterKey::generate()))
            .await
            .unwrap();
        db.insert_admin_token("hash", "first", 1).await.unwrap();
        assert_eq!(db.count_admin_tokens().await.unwrap(), 1);
        assert!(db.find_admin_token("hash").await.unwrap().is_some());
    }

    /// A database in a fresh file, and the directory that keeps it.
    pub(crate) async fn file_db(durability: SqliteDurability) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let db = Db::connect_with(&url, SecretBox::new(&MasterKey::generate()), durability)
            .await
            .unwrap();
        (dir, db)
    }

    /// The value of the SQLite pragma `name` on `connection`.
    async fn pragma(connection: &mut AnyConnection, name: &str) -> i64 {
        let row = sqlx::query(&format!("PRAGMA {name}"))
            .fetch_one(connection)
            .await
            .unwrap();
        sqlx::Row::try_get(&row, 0).unwrap()
    }

    /// The writer's pragma `name`, as the next write would see it.
    async fn writer_pragma(db: &Db, name: &str) -> i64 {
        pragma(&mut db.writer().acquire().await.unwrap(), name).await
    }

    #[tokio::test]
    async fn a_redoable_transaction_commits_unsynced_and_the_writer_syncs_again_afterwards() {
        let (_dir, db) = file_db(SqliteDurability::Full).await;
        let writer_setting = || writer_pragma(&db, "synchronous");

        let mut writer = db.redoable_writer().await.unwrap();
        let mut tx = writer.begin().await.unwrap();
        assert_eq!(pragma(&mut tx, "synchronous").await, 1, "NORMAL inside");
        tx.commit().await.unwrap();
        drop(writer);
        assert_eq!(writer_setting().await, 2, "FULL after a commit");

        let mut writer = db.redoable_writer().await.unwrap();
        let tx = writer.begin().await.unwrap();
        drop(tx);
        drop(writer);
        assert_eq!(writer_setting().await, 2, "FULL after a rollback");

        // Cancelled between the pragma and the end of the transaction.
        let mut writer = db.redoable_writer().await.unwrap();
        let tx = writer.begin().await.unwrap();
        std::mem::forget(tx);
        drop(writer);
        assert_eq!(
            writer_setting().await,
            2,
            "FULL after an abandoned transaction"
        );
    }

    async fn setting(connection: &mut AnyConnection, name: &str) -> String {
        let row = sqlx::query("SELECT current_setting($1)")
            .bind(name)
            .fetch_one(connection)
            .await
            .unwrap();
        sqlx::Row::try_get(&row, 0).unwrap()
    }

    #[tokio::test]
    async fn on_postgres_only_redoable_work_commits_asynchronously_on_generic_plans() {
        if std::env::var("SLUICE_SKIP_POSTGRES").is_ok_and(|value| value == "1") {
            return;
        }
        sqlx::any::install_default_drivers();
        let base = std::env::var("SLUICE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = sluice_core::new_id("unit").to_lowercase();
        let mut admin = AnyConnection::connect(&base).await.unwrap();
        admin
            .execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        let db = Db::connect(&url, SecretBox::new(&MasterKey::generate()))
            .await
            .unwrap();

        let mut redoable = db.redoable_writer().await.unwrap();
        let connection = redoable.autocommitting().expect("statements commit alone");
        assert_eq!(setting(connection, "synchronous_commit").await, "off");
        assert_eq!(
            setting(connection, "plan_cache_mode").await,
            "force_generic_plan"
        );
        let mut tx = redoable.begin().await.unwrap();
        assert_eq!(setting(&mut tx, "synchronous_commit").await, "off");
        tx.commit().await.unwrap();

        let mut other = db.writer().acquire().await.unwrap();
        assert_eq!(setting(&mut other, "synchronous_commit").await, "on");
        assert_eq!(setting(&mut other, "plan_cache_mode").await, "auto");
        drop((redoable, other));
        db.close().await;
        admin
            .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn on_sqlite_a_claim_or_record_is_one_transaction() {
        for durability in [SqliteDurability::Full, SqliteDurability::ProcessCrashOnly] {
            let (_dir, db) = file_db(durability).await;
            let mut writer = db.redoable_writer().await.unwrap();
            assert!(writer.autocommitting().is_none(), "{durability:?}");
        }
    }

    #[tokio::test]
    async fn a_wal_checkpoint_copies_the_log_into_the_database_file() {
        let (_dir, db) = file_db(SqliteDurability::Full).await;
        assert_eq!(
            writer_pragma(&db, "wal_autocheckpoint").await,
            WAL_AUTOCHECKPOINT_PAGES,
            "the writer leaves it to us"
        );

        db.insert_admin_token("hash", "first", 1).await.unwrap();
        let (logged, copied) = db.checkpoint_wal().await.unwrap();
        assert!(logged > 0, "the write is in the log");
        assert_eq!(copied, logged);
    }

    #[tokio::test]
    async fn sqlite_syncs_every_commit_by_default() {
        // 2 is FULL, 1 is NORMAL.
        for (durability, expected) in [
            (SqliteDurability::default(), 2),
            (SqliteDurability::ProcessCrashOnly, 1),
        ] {
            let (_dir, db) = file_db(durability).await;
            assert_eq!(writer_pragma(&db, "synchronous").await, expected);
        }
    }

    #[test]
    fn urls_select_their_backend() {
        assert_eq!(
            Backend::from_url("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("sqlite://data/sluice.db?mode=rwc").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(matches!(
            Backend::from_url("mysql://u@h/db"),
            Err(StorageError::UnsupportedUrl)
        ));
    }
}
