//! The SQLite store: folder sync state, message metadata, cases, the audit
//! log, the outbox and signature verdicts.
//!
//! One file, WAL journal, created with mode 0600, schema migrations applied
//! in order at open (`PRAGMA user_version`). Instants are stored as RFC 3339
//! UTC text with second precision, which sorts as time does.
//!
//! Nothing here decides anything: the tracker and the engine do; this module
//! only reads and writes rows.
//!
//! This file holds the plumbing: [`Store`] (open, transactions, rehearsal,
//! checkpoint), the [`Reader`] and [`Tx`] views and the timestamp helpers.
//! The tables are read and written, each through `impl Reader` / `impl Tx`
//! blocks, in one file per table group:
//!
//! | file | tables |
//! | --- | --- |
//! | `schema.rs` | the schema itself: every `CREATE TABLE`, the migrations |
//! | `messages.rs` | `folders`, `messages`, `thread_ids` |
//! | `cases.rs` | `cases`, `case_seq` |
//! | `facts.rs` | `case_facts` (the compliance report's first facts) |
//! | `feedback.rs` | `feedback` |
//! | `evidence.rs` | `audit` (the hash-chained evidence log) |
//! | `outbox.rs` | `outbox` (also: acknowledgements sent, by recipient) |
//! | `bounces.rs` | `bounces` |
//! | `signatures.rs` | `signature_checks` |
//! | `meta.rs` | `meta`, `counters` |
//! | `retention.rs` | all of them: the retention purge (SPEC §11.5) |

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, Savepoint, Transaction, TransactionBehavior};

pub use crate::cases::case::{Case, CaseState};

mod bounces;
mod cases;
mod checkpoint;
pub mod evidence;
pub mod facts;
mod feedback;
mod messages;
mod meta;
mod outbox;
mod retention;
mod schema;
mod signatures;

pub use evidence::AuditRow;
pub use feedback::FeedbackMark;
pub use messages::{FolderState, NewMessage, StoredMessage, ROLE_RETRY};
pub use outbox::{NewOutbox, OutboxEntry, OutboxKind, OutboxState};
use schema::MIGRATIONS;
pub use schema::{migrate_to, migrations};
pub use signatures::SignatureRecord;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database {path}: cannot set permissions: {source}")]
    Permissions { path: String, source: std::io::Error },
    #[error("database {path}: directory cannot be created: {source}")]
    Dir { path: String, source: std::io::Error },
    #[error(
        "database has schema version {found}, newer than this replygate knows ({known}); upgrade replygate"
    )]
    TooNew { found: i64, known: i64 },
    #[error("bad value in database column {column}: {value}")]
    BadValue { column: &'static str, value: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn parse_ts(column: &'static str, s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::BadValue {
            column,
            value: s.to_string(),
        })
}

pub(crate) fn opt_ts(column: &'static str, s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.map(|s| parse_ts(column, &s)).transpose()
}

/// The store: one SQLite connection (and, for a file, the checkpoint
/// thread's).
pub struct Store {
    /// Checkpoints the write-ahead log on a thread of its own (a file
    /// opened for writing; `None` in memory and read-only). Before `conn`:
    /// dropped first, so that `conn` is the last connection to close.
    _checkpointer: Option<checkpoint::Checkpointer>,
    conn: Connection,
}

impl Store {
    /// Open (or create) the database file with mode 0600 and migrate it.
    pub fn open(path: &Path) -> Result<Store> {
        let p = path.display().to_string();
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                    path: p.clone(),
                    source,
                })?;
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Create the file ourselves so it is never world-readable, not
            // even for an instant.
            if !path.exists() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o600)
                    .open(path)
                    .map_err(|source| StoreError::Permissions {
                        path: p.clone(),
                        source,
                    })?;
            }
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: p.clone(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
                StoreError::Permissions {
                    path: p.clone(),
                    source,
                }
            })?;
        }
        let mut store = Self::init(conn)?;
        store._checkpointer = match checkpoint::Checkpointer::start(&mut store.conn, path) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(database = %p, error = %e, "cannot start the checkpoint thread; checkpointing in the commits instead");
                None
            }
        };
        Ok(store)
    }

    /// A read-only connection to an existing database (the dashboard's:
    /// WAL lets it read while the worker writes). No migration: a database
    /// of another schema version is refused.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        use rusqlite::OpenFlags;
        let p = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open { path: p, source })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        keep_plans(&conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version != known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        Ok(Store {
            conn,
            _checkpointer: None,
        })
    }

    /// An in-memory store, for tests.
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows (purged cases: addresses, subjects, rendered mail)
        // are overwritten with zeros, not left in free pages (SPEC §11.5).
        conn.pragma_update(None, "secure_delete", "ON")?;
        // The savepoint of every message and action ([`Tx::isolated`])
        // keeps its sub-journal (the pages it changed) in memory, not in a
        // temporary file: one message's pages, a few KiB; as a file they
        // were a third of a backlog's write system calls.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Statements are prepared once per connection and reused (the send
        // path runs the same few statements per message).
        conn.set_prepared_statement_cache_capacity(64);
        keep_plans(&conn)?;
        let mut store = Store {
            conn,
            _checkpointer: None,
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Copy the write-ahead log into the database and empty it (after a
    /// purge): with `secure_delete` the purged rows are then zeros in the
    /// database file, and the log no longer holds their old copies.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Run `f` in one transaction: all of it lands or none.
    ///
    /// A top-level transaction begins `IMMEDIATE`: it takes SQLite's write
    /// lock at once, waiting up to the busy timeout for another process's
    /// writer (a running cycle, the daemon, an admin command) to finish. A
    /// deferred transaction that reads first and writes later would instead
    /// fail at once with "database is locked" when another connection wrote
    /// in between (SQLite cannot wait there: its snapshot is stale), which is
    /// what `replygate close` during a sending cycle used to hit (SPEC §10).
    pub fn transaction<T, E>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<StoreError>,
    {
        let inner = if self.conn.is_autocommit() {
            TxInner::Top(
                self.conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(StoreError::from)?,
            )
        } else {
            // Inside [`Store::rehearse`] (already holding the write lock): a
            // savepoint nests.
            TxInner::Nested(self.conn.savepoint().map_err(StoreError::from)?)
        };
        let wrapped = Tx { tx: inner };
        let out = f(&wrapped)?;
        match wrapped.tx {
            TxInner::Top(t) => t.commit(),
            TxInner::Nested(s) => s.commit(),
        }
        .map_err(StoreError::from)?;
        Ok(out)
    }

    /// Run `f` and then undo everything it wrote, whatever it returns
    /// (`run --once --dry-run`: decide and log, change nothing). Begins
    /// `IMMEDIATE` like [`Store::transaction`], for the same reason.
    pub fn rehearse<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let out = f(self);
        self.conn.execute_batch("ROLLBACK")?;
        Ok(out)
    }

    /// A read view without a transaction (single statements are atomic).
    pub fn read(&self) -> Reader<'_> {
        Reader { conn: &self.conn }
    }
}

/// Reads, shared by [`Store::read`] and [`Tx`].
pub struct Reader<'c> {
    conn: &'c Connection,
}

/// A write transaction.
pub struct Tx<'c> {
    tx: TxInner<'c>,
}

/// A top-level `IMMEDIATE` transaction, or a savepoint inside a rehearsal.
enum TxInner<'c> {
    Top(Transaction<'c>),
    Nested(Savepoint<'c>),
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match &self.tx {
            TxInner::Top(t) => t,
            TxInner::Nested(s) => s,
        }
    }
}

impl Tx<'_> {
    /// `execute` with the connection's prepared-statement cache (shadows
    /// `Connection::execute` for every write below).
    pub fn execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    pub fn reader(&self) -> Reader<'_> {
        Reader { conn: self }
    }
}

impl Tx<'_> {
    /// Run `f` inside a savepoint: when it fails, everything it wrote is
    /// rolled back and the rest of the transaction stands. This is how one
    /// bad message or action is kept from spoiling a whole batch.
    pub fn isolated<T, E>(
        &self,
        f: impl FnOnce(&Self) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<StoreError>,
    {
        // Cached statements: one savepoint per message, thousands a cycle.
        self.execute("SAVEPOINT isolated", []).map_err(StoreError::from)?;
        match f(self) {
            Ok(v) => {
                self.execute("RELEASE isolated", []).map_err(StoreError::from)?;
                Ok(v)
            }
            Err(e) => {
                self.execute("ROLLBACK TO isolated", [])
                    .and_then(|_| self.execute("RELEASE isolated", []))
                    .map_err(StoreError::from)?;
                Err(e)
            }
        }
    }
}

/// Plan each statement once, whatever values are bound to it (SQLite's
/// query planner stability guarantee). Without it the bundled SQLite (built
/// with STAT4) re-prepares a cached statement every time a new value is
/// bound where the value might change the plan: `message_id = ?1 … ORDER
/// BY id LIMIT 1`, the sync's duplicate check, was compiled again for every
/// message (a backlog's 20 000: 0.6 s). replygate runs no `ANALYZE` and
/// binds no `LIKE` patterns, so no plan is lost.
fn keep_plans(conn: &Connection) -> Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A cached statement keeps its plan when new values are bound: the
    /// sync's duplicate check (`= ?1 … ORDER BY id LIMIT 1`) was compiled
    /// again at every message without the planner stability guarantee.
    #[test]
    fn a_bound_value_never_recompiles_a_statement() {
        let store = Store::open_in_memory().unwrap();
        let r = store.read();
        for key in ["<a@x>", "<b@x>", "<c@x>"] {
            assert_eq!(r.known_message(Some(key), "fp").unwrap(), None);
            assert_eq!(r.known_message(None, key).unwrap(), None);
        }
        for sql in [messages::KNOWN_BY_ID, messages::KNOWN_BY_FINGERPRINT] {
            let st = store.conn().prepare_cached(sql).unwrap();
            assert_eq!(st.get_status(StatementStatus::RePrepare), 0, "{sql}");
        }
    }
}
