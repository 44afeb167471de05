//! The SQLite store: folder sync state, message metadata, cases, the audit
//! log, the outbox and signature verdicts.
//!
//! One file, WAL journal, created with mode 0600, schema migrations applied
//! in order at open (`PRAGMA user_version`). Instants are stored as RFC 3339
//! UTC text with second precision, which sorts as time does.
//!
//! Nothing here decides anything: the tracker and the engine do; this module
//! only reads and writes rows.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Savepoint, Transaction, TransactionBehavior};

pub use crate::cases::case::{Case, CaseState};
use crate::rules::deadline::CaseKind;

pub mod evidence;
pub mod facts;
mod feedback;
pub use feedback::FeedbackMark;

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

/// Migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE folders (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        synced_at TEXT NOT NULL
    );
    -- Every message seen, by location; the metadata the rules need, no bodies.
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        message_id TEXT,
        fingerprint TEXT NOT NULL,
        internaldate TEXT NOT NULL,
        from_addr TEXT,
        subject TEXT NOT NULL,
        norm_subject TEXT NOT NULL,
        recipients TEXT NOT NULL,
        class TEXT NOT NULL,
        reason TEXT,
        case_id TEXT,
        role TEXT,
        duplicate_of INTEGER,
        processed INTEGER NOT NULL DEFAULT 0,
        -- kept only until processed: the parsed extras the tracker needs
        pending TEXT,
        UNIQUE (folder, uidvalidity, uid)
    );
    CREATE INDEX messages_msgid ON messages (message_id);
    CREATE INDEX messages_fp ON messages (fingerprint);
    CREATE INDEX messages_pending ON messages (processed, internaldate);
    CREATE INDEX messages_norm ON messages (norm_subject);
    -- Message-IDs that belong to a thread: client mail, staff replies and the
    -- gateway's own messages. case_id NULL: a known history thread.
    CREATE TABLE thread_ids (message_id TEXT PRIMARY KEY, case_id TEXT);
    CREATE TABLE case_seq (year INTEGER PRIMARY KEY, last INTEGER NOT NULL);
    CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        client TEXT NOT NULL,
        client_name TEXT,
        reply_to TEXT NOT NULL,
        subject TEXT NOT NULL,
        norm_subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        received TEXT NOT NULL,
        deadline TEXT NOT NULL,
        state TEXT NOT NULL,
        extended INTEGER NOT NULL DEFAULT 0,
        cycle INTEGER NOT NULL DEFAULT 1,
        last_client_msgid TEXT,
        last_client_refs TEXT NOT NULL DEFAULT '',
        acked_cycle INTEGER NOT NULL DEFAULT 0,
        acknowledged_at TEXT,
        answered_at TEXT,
        closed_at TEXT,
        close_reason TEXT,
        reminded_for TEXT,
        escalated_for TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX cases_state ON cases (state);
    CREATE INDEX cases_norm ON cases (norm_subject);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        case_id TEXT,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        actor TEXT NOT NULL
    );
    CREATE INDEX audit_case ON audit (case_id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        case_id TEXT,
        dedup_key TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL,
        mail_from TEXT NOT NULL,
        rcpts TEXT NOT NULL,
        raw BLOB NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before TEXT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        copy_saved INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_state ON outbox (state, next_attempt_at);
    CREATE TABLE signature_checks (
        message_id TEXT PRIMARY KEY,
        author TEXT NOT NULL,
        case_id TEXT,
        compliant INTEGER NOT NULL,
        missing TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        checked_at TEXT NOT NULL
    );
    CREATE TABLE bounces (address TEXT NOT NULL, at TEXT NOT NULL, message_id TEXT);
    CREATE INDEX bounces_addr ON bounces (address);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    "#,
    // 2: the engine asks for the last acknowledgement to each open case's
    // address every cycle; without this index each is a full outbox scan
    // (minutes per cycle at 10 000 open cases).
    r#"
    CREATE INDEX outbox_ack_to ON outbox (kind, rcpts, created_at);
    "#,
    // 3: the compliance report's facts (facts.rs) and the evidence log's
    // hash chain (evidence.rs); existing audit rows are chained by
    // `after_migration`.
    r#"
    CREATE TABLE case_facts (
        case_id TEXT PRIMARY KEY,
        first_deadline TEXT,
        ack_due_at TEXT,
        ack_sent_at TEXT,
        ack_suppressed TEXT,
        first_response_at TEXT,
        first_response_kind TEXT,
        first_response_by TEXT,
        first_response_ref TEXT,
        hand_closed_at TEXT
    );
    ALTER TABLE audit ADD COLUMN content_hash TEXT;
    ALTER TABLE audit ADD COLUMN prev_hash TEXT;
    ALTER TABLE audit ADD COLUMN entry_hash TEXT;
    ALTER TABLE audit ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX signature_checks_sent ON signature_checks (sent_at);
    "#,
    // 4: client feedback about the service (SPEC §14), see feedback.rs.
    r#"
    CREATE TABLE feedback (
        case_id TEXT PRIMARY KEY,
        feedback INTEGER NOT NULL,
        source TEXT NOT NULL,
        detail TEXT NOT NULL,
        at TEXT NOT NULL
    );
    "#,
    // 5: SPEC §11.3 asks who took part in a case (its messages) and §5.2
    // whether a delivery report names a message the gateway sent.
    r#"
    CREATE INDEX IF NOT EXISTS messages_case ON messages (case_id);
    CREATE INDEX IF NOT EXISTS outbox_msgid ON outbox (message_id);
    "#,
];

/// Work a migration needs beyond SQL, run in the same transaction right
/// after migration `version` (1-based).
fn after_migration(version: usize, tx: &Connection) -> Result<()> {
    if version == 3 {
        tx.execute_batch(facts::BACKFILL)?;
        evidence::seal_unchained(tx)?;
    }
    Ok(())
}

/// The schema migrations in order (index + 1 = schema version), for
/// tests/store_upgrade.rs, which builds a database as every earlier
/// replygate left it (the list cut at version k) and opens it with this
/// code. Append new migrations to `MIGRATIONS`; never edit a released one.
#[doc(hidden)]
pub fn migrations() -> &'static [&'static str] {
    MIGRATIONS
}

/// Brings a database at any earlier version to schema version `k`: each
/// migration's SQL and its [`after_migration`] work, in one transaction.
/// `Store::open` calls it with the newest version; tests/store_upgrade.rs
/// with older ones, to make databases as earlier replygates left them.
#[doc(hidden)]
pub fn migrate_to(conn: &mut Connection, k: usize) -> Result<()> {
    // IMMEDIATE, and the version read under the write lock: two processes
    // opening a new database at once migrate it once.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(k)
        .skip(version.max(0) as usize)
    {
        tx.execute_batch(sql)?;
        after_migration(i + 1, &tx)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

/// The store: one SQLite connection.
pub struct Store {
    conn: Connection,
}

/// The `cases.state` column.
fn case_state(s: &str) -> Result<CaseState> {
    CaseState::parse(s).ok_or_else(|| StoreError::BadValue {
        column: "cases.state",
        value: s.to_string(),
    })
}

/// A case as read from its row.
fn case_from_row(r: &Row) -> Result<Case> {
    let kind: String = r.get("kind")?;
    let state: String = r.get("state")?;
    let refs: String = r.get("last_client_refs")?;
    Ok(Case {
        id: r.get("id")?,
        client: r.get("client")?,
        client_name: r.get("client_name")?,
        reply_to: r.get("reply_to")?,
        subject: r.get("subject")?,
        norm_subject: r.get("norm_subject")?,
        kind: match kind.as_str() {
            "submission" => CaseKind::Submission,
            "email" => CaseKind::Email,
            _ => {
                return Err(StoreError::BadValue {
                    column: "cases.kind",
                    value: kind,
                })
            }
        },
        opened_at: parse_ts("cases.opened_at", &r.get::<_, String>("opened_at")?)?,
        received: parse_ts("cases.received", &r.get::<_, String>("received")?)?,
        deadline: parse_ts("cases.deadline", &r.get::<_, String>("deadline")?)?,
        state: case_state(&state)?,
        extended: r.get::<_, i64>("extended")? != 0,
        cycle: r.get("cycle")?,
        last_client_msgid: r.get("last_client_msgid")?,
        last_client_refs: refs.split_whitespace().map(str::to_string).collect(),
        acked_cycle: r.get("acked_cycle")?,
        acknowledged_at: opt_ts("cases.acknowledged_at", r.get("acknowledged_at")?)?,
        answered_at: opt_ts("cases.answered_at", r.get("answered_at")?)?,
        closed_at: opt_ts("cases.closed_at", r.get("closed_at")?)?,
        close_reason: r.get("close_reason")?,
        reminded_for: opt_ts("cases.reminded_for", r.get("reminded_for")?)?,
        escalated_for: opt_ts("cases.escalated_for", r.get("escalated_for")?)?,
    })
}

/// What an outbox entry is (the `outbox.kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    Ack,
    Reminder,
    Escalation,
    Digest,
    SignatureWarning,
    InterimRefused,
    /// The quality owner's notice of client feedback (SPEC §14).
    Feedback,
}

impl OutboxKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            OutboxKind::Ack => "ack",
            OutboxKind::Reminder => "reminder",
            OutboxKind::Escalation => "escalation",
            OutboxKind::Digest => "digest",
            OutboxKind::SignatureWarning => "signature_warning",
            OutboxKind::InterimRefused => "interim_refused",
            OutboxKind::Feedback => "feedback",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "ack" => OutboxKind::Ack,
            "reminder" => OutboxKind::Reminder,
            "escalation" => OutboxKind::Escalation,
            "digest" => OutboxKind::Digest,
            "signature_warning" => OutboxKind::SignatureWarning,
            "interim_refused" => OutboxKind::InterimRefused,
            "feedback" => OutboxKind::Feedback,
            _ => {
                return Err(StoreError::BadValue {
                    column: "outbox.kind",
                    value: s.into(),
                })
            }
        })
    }
    /// Mail about one case, pointless once the case is no longer open.
    pub fn about_open_case(&self) -> bool {
        matches!(
            self,
            OutboxKind::Ack | OutboxKind::Reminder | OutboxKind::Escalation
        )
    }
}

impl std::fmt::Display for OutboxKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an outbox entry is in its life (the `outbox.state` column):
/// `pending` → `sending` (committed before its SMTP transaction) → `sent`,
/// or back to `pending` (temporary failure), `failed` (permanent),
/// `cancelled` (its case closed first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    Pending,
    Sending,
    Sent,
    Failed,
    Cancelled,
}

impl OutboxState {
    pub fn as_str(&self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Cancelled => "cancelled",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => OutboxState::Pending,
            "sending" => OutboxState::Sending,
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            "cancelled" => OutboxState::Cancelled,
            _ => {
                return Err(StoreError::BadValue {
                    column: "outbox.state",
                    value: s.into(),
                })
            }
        })
    }
}

impl std::fmt::Display for OutboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message as recorded by the sync, before or after processing.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: i64,
    pub folder: String,
    pub uid: u32,
    pub message_id: Option<String>,
    pub internaldate: DateTime<Utc>,
    pub from_addr: Option<String>,
    pub subject: String,
    pub norm_subject: String,
    pub recipients: Vec<String>,
    pub class: String,
    pub reason: Option<String>,
    /// JSON with what the tracker needs beyond the columns (see tracker).
    pub pending: Option<String>,
    /// Before processing: [`ROLE_RETRY`] after one failed attempt.
    pub role: Option<String>,
}

/// The role of a message whose processing failed once: it is tried once
/// more, then set aside as `error` (SPEC §11.1).
pub const ROLE_RETRY: &str = "retry";

impl StoredMessage {
    fn from_row(r: &Row) -> Result<StoredMessage> {
        let rcpts: String = r.get("recipients")?;
        Ok(StoredMessage {
            id: r.get("id")?,
            folder: r.get("folder")?,
            uid: r.get::<_, i64>("uid")? as u32,
            message_id: r.get("message_id")?,
            internaldate: parse_ts("messages.internaldate", &r.get::<_, String>("internaldate")?)?,
            from_addr: r.get("from_addr")?,
            subject: r.get("subject")?,
            norm_subject: r.get("norm_subject")?,
            recipients: rcpts.split_whitespace().map(str::to_string).collect(),
            class: r.get("class")?,
            reason: r.get("reason")?,
            pending: r.get("pending")?,
            role: r.get("role")?,
        })
    }
}

/// A new message row for [`Store::insert_message`].
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub folder: &'a str,
    pub uidvalidity: u32,
    pub uid: u32,
    pub message_id: Option<&'a str>,
    pub fingerprint: &'a str,
    pub internaldate: DateTime<Utc>,
    pub from_addr: Option<&'a str>,
    pub subject: &'a str,
    pub norm_subject: &'a str,
    pub recipients: &'a [String],
    pub class: &'a str,
    pub reason: Option<&'a str>,
    /// `None`: recorded as already processed (history); `Some(json)`: waits
    /// for the tracker.
    pub pending: Option<&'a str>,
    pub role: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: OutboxKind,
    pub case_id: Option<String>,
    pub dedup_key: String,
    pub message_id: String,
    pub mail_from: String,
    pub rcpts: Vec<String>,
    pub raw: Vec<u8>,
    pub state: OutboxState,
    pub attempts: i64,
    pub not_before: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub copy_saved: bool,
}

impl OutboxEntry {
    fn from_row(r: &Row) -> Result<OutboxEntry> {
        let rcpts: String = r.get("rcpts")?;
        Ok(OutboxEntry {
            id: r.get("id")?,
            kind: OutboxKind::parse(&r.get::<_, String>("kind")?)?,
            case_id: r.get("case_id")?,
            dedup_key: r.get("dedup_key")?,
            message_id: r.get("message_id")?,
            mail_from: r.get("mail_from")?,
            rcpts: rcpts.split_whitespace().map(str::to_string).collect(),
            raw: r.get("raw")?,
            state: OutboxState::parse(&r.get::<_, String>("state")?)?,
            attempts: r.get("attempts")?,
            not_before: parse_ts("outbox.not_before", &r.get::<_, String>("not_before")?)?,
            next_attempt_at: parse_ts("outbox.next_attempt_at", &r.get::<_, String>("next_attempt_at")?)?,
            last_error: r.get("last_error")?,
            created_at: parse_ts("outbox.created_at", &r.get::<_, String>("created_at")?)?,
            sent_at: opt_ts("outbox.sent_at", r.get("sent_at")?)?,
            copy_saved: r.get::<_, i64>("copy_saved")? != 0,
        })
    }
}

/// A new outbox row.
#[derive(Debug, Clone)]
pub struct NewOutbox<'a> {
    pub kind: OutboxKind,
    pub case_id: Option<&'a str>,
    pub dedup_key: &'a str,
    pub message_id: &'a str,
    pub mail_from: &'a str,
    pub rcpts: &'a [String],
    pub raw: &'a [u8],
    pub not_before: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// One line of a case's audit log.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: DateTime<Utc>,
    pub action: String,
    pub detail: String,
    pub actor: String,
}

/// A signature verdict to record.
#[derive(Debug, Clone)]
pub struct SignatureRecord<'a> {
    pub message_id: &'a str,
    pub author: &'a str,
    pub case_id: Option<&'a str>,
    pub compliant: bool,
    pub missing: &'a str,
    pub sent_at: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct FolderState {
    pub uidvalidity: u32,
    pub last_uid: u32,
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
        Self::init(conn)
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
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version != known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        Ok(Store { conn })
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
        // Statements are prepared once per connection and reused (the send
        // path runs the same few statements per message).
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        if version == known {
            return Ok(());
        }
        migrate_to(&mut self.conn, MIGRATIONS.len())
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

const CASE_COLS: &str =
    "id, client, client_name, reply_to, subject, norm_subject, kind, opened_at, received, \
    deadline, state, extended, cycle, last_client_msgid, last_client_refs, acked_cycle, acknowledged_at, \
    answered_at, closed_at, close_reason, reminded_for, escalated_for";

impl Reader<'_> {
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn folder_state(&self, name: &str) -> Result<Option<FolderState>> {
        Ok(self
            .conn
            .query_row(
                "SELECT uidvalidity, last_uid FROM folders WHERE name = ?1",
                [name],
                |r| {
                    Ok(FolderState {
                        uidvalidity: r.get::<_, i64>(0)? as u32,
                        last_uid: r.get::<_, i64>(1)? as u32,
                    })
                },
            )
            .optional()?)
    }

    /// The id of an already recorded message with this Message-ID, or (for
    /// mail without one) this fingerprint.
    pub fn known_message(&self, message_id: Option<&str>, fingerprint: &str) -> Result<Option<i64>> {
        let q = match message_id {
            Some(id) => self
                .conn
                .prepare_cached(
                    "SELECT id FROM messages WHERE message_id = ?1 AND duplicate_of IS NULL ORDER BY id LIMIT 1",
                )?
                .query_row(
                    [id],
                    |r| r.get(0),
                )
                .optional()?,
            None => self
                .conn
                .prepare_cached(
                    "SELECT id FROM messages WHERE message_id IS NULL AND fingerprint = ?1 \
                     AND duplicate_of IS NULL ORDER BY id LIMIT 1",
                )?
                .query_row(
                    [fingerprint],
                    |r| r.get(0),
                )
                .optional()?,
        };
        Ok(q)
    }

    /// Whether this location was recorded already (a re-run after a crash).
    pub fn has_location(&self, folder: &str, uidvalidity: u32, uid: u32) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM messages WHERE folder = ?1 AND uidvalidity = ?2 AND uid = ?3")?
            .query_row(params![folder, uidvalidity as i64, uid as i64], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The oldest `limit` unprocessed messages received at or before
    /// `until`, oldest first (the tracker takes them page by page, so a
    /// backlog of thousands is never all in memory).
    pub fn pending_messages(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<StoredMessage>> {
        let mut st = self.conn.prepare_cached(
            "SELECT * FROM messages WHERE processed = 0 AND internaldate <= ?1 \
             ORDER BY internaldate, id LIMIT ?2",
        )?;
        let rows = st.query_map(params![ts(until), limit as i64], |r| {
            Ok(StoredMessage::from_row(r))
        })?;
        rows.map(|r| r?).collect()
    }

    pub fn pending_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM messages WHERE processed = 0", [], |r| {
                r.get(0)
            })?)
    }

    /// The case a Message-ID belongs to: `Some(Some(id))` a case,
    /// `Some(None)` a known history thread, `None` unknown.
    pub fn thread_case(&self, message_id: &str) -> Result<Option<Option<String>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT case_id FROM thread_ids WHERE message_id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn case(&self, id: &str) -> Result<Option<Case>> {
        let sql = format!("SELECT {CASE_COLS} FROM cases WHERE id = ?1");
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query([id])?;
        match rows.next()? {
            Some(r) => Ok(Some(case_from_row(r)?)),
            None => Ok(None),
        }
    }

    /// A case's state alone (the flush's check that a case is still open).
    pub fn case_state(&self, id: &str) -> Result<Option<CaseState>> {
        let s: Option<String> = self
            .conn
            .prepare_cached("SELECT state FROM cases WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        s.map(|s| case_state(&s)).transpose()
    }

    fn cases_where(&self, clause: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Case>> {
        let sql = format!("SELECT {CASE_COLS} FROM cases {clause}");
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query(p)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(case_from_row(r)?);
        }
        Ok(out)
    }

    /// Open cases, oldest first.
    pub fn open_cases(&self) -> Result<Vec<Case>> {
        self.cases_where("WHERE state = 'open' ORDER BY received, id", &[])
    }

    pub fn all_cases(&self) -> Result<Vec<Case>> {
        self.cases_where("ORDER BY opened_at, id", &[])
    }

    /// Cases with this normalised subject, newest first (subject fallback).
    pub fn cases_by_subject(&self, norm_subject: &str) -> Result<Vec<Case>> {
        self.cases_where(
            "WHERE norm_subject = ?1 ORDER BY opened_at DESC, id DESC",
            &[&norm_subject],
        )
    }

    /// The client participants of a case as its messages show them (SPEC
    /// §11.3): the senders of its client mail and the recipients of its
    /// staff mail, lower-case, unfiltered (organisation addresses included;
    /// the caller filters).
    pub fn case_participants(&self, case_id: &str) -> Result<Vec<String>> {
        let mut st = self.conn.prepare_cached(
            "SELECT class, from_addr, recipients FROM messages WHERE case_id = ?1 AND class IN ('client', 'staff') LIMIT 1000",
        )?;
        let rows = st.query_map([case_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (class, from, rcpts) = row?;
            if class == "client" {
                out.extend(from);
            } else {
                out.extend(rcpts.split_whitespace().map(str::to_string));
            }
        }
        Ok(out)
    }

    /// Id, client, acknowledgement address and opening of every case with
    /// this normalised subject (the tracker's subject fallback index).
    #[allow(clippy::type_complexity)]
    pub fn subject_keys(&self, norm_subject: &str) -> Result<Vec<(String, String, String, DateTime<Utc>)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, client, reply_to, opened_at FROM cases WHERE norm_subject = ?1")?;
        let mut rows = st.query([norm_subject])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let opened: String = r.get(3)?;
            out.push((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                parse_ts("cases.opened_at", &opened)?,
            ));
        }
        Ok(out)
    }

    /// The recipients of a message the gateway sent (or queued), by its
    /// Message-ID.
    pub fn outbox_rcpts_by_message_id(&self, message_id: &str) -> Result<Option<Vec<String>>> {
        let r: Option<String> = self
            .conn
            .prepare_cached("SELECT rcpts FROM outbox WHERE message_id = ?1 LIMIT 1")?
            .query_row([message_id], |r| r.get(0))
            .optional()?;
        Ok(r.map(|s| s.split_whitespace().map(str::to_string).collect()))
    }

    /// Did the gateway send (or queue) an acknowledgement to `address` in
    /// `[since, until]`?
    pub fn acked_between(&self, address: &str, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM outbox WHERE kind = 'ack' AND rcpts = ?1 AND created_at >= ?2 AND created_at <= ?3 LIMIT 1",
            )?
            .query_row(params![address, ts(since), ts(until)], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Message-IDs of a case's thread.
    pub fn case_message_ids(&self, case_id: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT message_id FROM thread_ids WHERE case_id = ?1")?;
        let rows = st.query_map([case_id], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// When the gateway last sent (or queued) an acknowledgement to this address.
    pub fn last_ack_to(&self, address: &str) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> = self
            .conn
            .prepare_cached("SELECT MAX(created_at) FROM outbox WHERE kind = 'ack' AND rcpts = ?1")?
            .query_row([address], |r| r.get(0))
            .optional()?
            .flatten();
        opt_ts("outbox.created_at", s)
    }

    /// The last acknowledgement per recipient (as stored), in one pass
    /// over the index (the engine needs it for every open case).
    pub fn last_acks(&self) -> Result<std::collections::HashMap<String, DateTime<Utc>>> {
        let mut st = self
            .conn
            .prepare("SELECT rcpts, MAX(created_at) FROM outbox WHERE kind = 'ack' GROUP BY rcpts")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (a, t) = row?;
            out.insert(a, parse_ts("outbox.created_at", &t)?);
        }
        Ok(out)
    }

    /// The latest bounce per address, in one pass.
    pub fn last_bounces(&self) -> Result<std::collections::HashMap<String, DateTime<Utc>>> {
        let mut st = self
            .conn
            .prepare("SELECT address, MAX(at) FROM bounces GROUP BY address")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (a, t) = row?;
            out.insert(a, parse_ts("bounces.at", &t)?);
        }
        Ok(out)
    }

    /// Acknowledgements created in `[since, until]`.
    pub fn acks_between(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'ack' AND created_at >= ?1 AND created_at <= ?2",
            [ts(since), ts(until)],
            |r| r.get(0),
        )?)
    }

    /// The latest bounce naming this address.
    pub fn last_bounce(&self, address: &str) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> = self
            .conn
            .prepare_cached("SELECT MAX(at) FROM bounces WHERE address = ?1")?
            .query_row([address], |r| r.get(0))
            .optional()?
            .flatten();
        opt_ts("bounces.at", s)
    }

    pub fn outbox_has(&self, dedup_key: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM outbox WHERE dedup_key = ?1", [dedup_key], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Outbox entries that may be sent at `now` (pending and due, or left
    /// `sending` by a crash).
    pub fn outbox_due(&self, now: DateTime<Utc>) -> Result<Vec<OutboxEntry>> {
        let mut st = self.conn.prepare_cached(
            "SELECT * FROM outbox WHERE state IN ('pending', 'sending') AND not_before <= ?1 \
             AND next_attempt_at <= ?1 ORDER BY id",
        )?;
        let rows = st.query_map([ts(now)], |r| Ok(OutboxEntry::from_row(r)))?;
        rows.map(|r| r?).collect()
    }

    /// Pending (or interrupted) entries whose `not_before` has come, whatever
    /// their retry time: the caller applies the backoff on the wall clock
    /// (so `run --once --now T` with T in the past still retries).
    pub fn outbox_sendable(&self, now: DateTime<Utc>) -> Result<Vec<OutboxEntry>> {
        let mut st = self.conn.prepare_cached(
            "SELECT * FROM outbox WHERE state IN ('pending', 'sending') AND not_before <= ?1 ORDER BY id",
        )?;
        let rows = st.query_map([ts(now)], |r| Ok(OutboxEntry::from_row(r)))?;
        rows.map(|r| r?).collect()
    }

    /// Entries left `sending` by a crash (see [`crate::outbound::outbox::recover_interrupted`]).
    pub fn outbox_interrupted(&self) -> Result<Vec<OutboxEntry>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT * FROM outbox WHERE state = 'sending' ORDER BY id")?;
        let rows = st.query_map([], |r| Ok(OutboxEntry::from_row(r)))?;
        rows.map(|r| r?).collect()
    }

    /// The earliest instant a pending (or interrupted) outbox entry may be
    /// tried: the later of its `not_before` and its retry time.
    pub fn outbox_next_attempt(&self) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> = self.conn.query_row(
            "SELECT MIN(MAX(not_before, next_attempt_at)) FROM outbox WHERE state IN ('pending', 'sending')",
            [],
            |r| r.get(0),
        )?;
        opt_ts("outbox.next_attempt_at", s)
    }

    pub fn outbox_all(&self) -> Result<Vec<OutboxEntry>> {
        let mut st = self.conn.prepare_cached("SELECT * FROM outbox ORDER BY id")?;
        let rows = st.query_map([], |r| Ok(OutboxEntry::from_row(r)))?;
        rows.map(|r| r?).collect()
    }

    /// Sent entries whose copy is still to be saved to `smtp.save_copy_to`.
    pub fn outbox_copies_pending(&self) -> Result<Vec<OutboxEntry>> {
        let mut st = self.conn.prepare_cached(
            "SELECT * FROM outbox WHERE state = 'sent' AND copy_saved = 0 AND kind = 'ack' ORDER BY id",
        )?;
        let rows = st.query_map([], |r| Ok(OutboxEntry::from_row(r)))?;
        rows.map(|r| r?).collect()
    }

    pub fn outbox_counts(&self) -> Result<Vec<(String, String, i64)>> {
        let mut st = self
            .conn
            .prepare("SELECT kind, state, COUNT(*) FROM outbox GROUP BY kind, state")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn message_counts(&self) -> Result<Vec<(String, Option<String>, i64)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT class, reason, COUNT(*) FROM messages WHERE duplicate_of IS NULL GROUP BY class, reason",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Messages set aside after failing twice (`error`) and waiting for
    /// their second try (`retry`), SPEC §11.1.
    pub fn failed_message_counts(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(role = 'error'), 0), COALESCE(SUM(role = 'retry' AND processed = 0), 0) \
             FROM messages WHERE role IN ('error', 'retry')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    pub fn counter(&self, name: &str) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    pub fn audit_for(&self, case_id: &str) -> Result<Vec<AuditRow>> {
        let mut st = self
            .conn
            .prepare("SELECT at, action, detail, actor FROM audit WHERE case_id = ?1 ORDER BY id")?;
        let rows = st.query_map([case_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, a, d, who) = row?;
            out.push(AuditRow {
                at: parse_ts("audit.at", &at)?,
                action: a,
                detail: d,
                actor: who,
            });
        }
        Ok(out)
    }

    pub fn signature_checks(&self) -> Result<Vec<(String, String, bool, String)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT message_id, author, compliant, missing FROM signature_checks ORDER BY sent_at",
        )?;
        let rows = st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0, r.get(3)?))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}

impl Tx<'_> {
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    pub fn set_folder_state(
        &self,
        name: &str,
        kind: &str,
        st: &FolderState,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO folders (name, kind, uidvalidity, last_uid, synced_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, uidvalidity = excluded.uidvalidity, \
             last_uid = excluded.last_uid, synced_at = excluded.synced_at",
        )?
        .execute(params![
            name,
            kind,
            st.uidvalidity as i64,
            st.last_uid as i64,
            ts(now)
        ])?;
        Ok(())
    }

    /// Record a message. Returns its row id.
    pub fn insert_message(&self, m: &NewMessage, duplicate_of: Option<i64>) -> Result<i64> {
        let processed = m.pending.is_none() || duplicate_of.is_some();
        self.prepare_cached(
            "INSERT INTO messages (folder, uidvalidity, uid, message_id, fingerprint, internaldate, from_addr, \
             subject, norm_subject, recipients, class, reason, role, duplicate_of, processed, pending) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
             ON CONFLICT (folder, uidvalidity, uid) DO NOTHING")?.execute(
            params![
                m.folder,
                m.uidvalidity as i64,
                m.uid as i64,
                m.message_id,
                m.fingerprint,
                ts(m.internaldate),
                m.from_addr,
                m.subject,
                m.norm_subject,
                m.recipients.join(" "),
                m.class,
                m.reason,
                m.role,
                duplicate_of,
                processed as i64,
                if processed { None } else { m.pending },
            ],
        )?;
        Ok(self.last_insert_rowid())
    }

    /// Mark a message processed, dropping its pending extras.
    pub fn finish_message(&self, id: i64, case_id: Option<&str>, role: &str) -> Result<()> {
        self.prepare_cached(
            "UPDATE messages SET processed = 1, pending = NULL, case_id = ?2, role = ?3 WHERE id = ?1",
        )?
        .execute(params![id, case_id, role])?;
        Ok(())
    }

    /// Remember that processing a message failed once (it stays pending).
    pub fn mark_retry(&self, id: i64) -> Result<()> {
        self.prepare_cached("UPDATE messages SET role = ?2 WHERE id = ?1 AND processed = 0")?
            .execute(params![id, ROLE_RETRY])?;
        Ok(())
    }

    /// Tie a Message-ID to a case (or, with `None`, to known history).
    /// An existing tie to a case is never replaced by a history one.
    pub fn link_thread(&self, message_id: &str, case_id: Option<&str>) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO thread_ids (message_id, case_id) VALUES (?1, ?2) \
             ON CONFLICT(message_id) DO UPDATE SET case_id = COALESCE(excluded.case_id, thread_ids.case_id)",
        )?
        .execute(params![message_id, case_id])?;
        Ok(())
    }

    /// The next case number of a year.
    pub fn next_case_seq(&self, year: i32) -> Result<i64> {
        self.execute(
            "INSERT INTO case_seq (year, last) VALUES (?1, 1) ON CONFLICT(year) DO UPDATE SET last = last + 1",
            [year],
        )?;
        Ok(self.query_row("SELECT last FROM case_seq WHERE year = ?1", [year], |r| r.get(0))?)
    }

    /// Write a case: insert a new one, or write back every mutable field of
    /// an existing one (what the opening mail said never changes).
    pub fn save_case(&self, c: &Case, now: DateTime<Utc>) -> Result<()> {
        self.execute(
            "INSERT INTO cases (id, client, client_name, reply_to, subject, norm_subject, kind, opened_at, \
             received, deadline, state, extended, cycle, last_client_msgid, last_client_refs, acked_cycle, \
             acknowledged_at, answered_at, closed_at, close_reason, reminded_for, escalated_for, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
             ?20, ?21, ?22, ?23) \
             ON CONFLICT(id) DO UPDATE SET reply_to = excluded.reply_to, kind = excluded.kind, \
             received = excluded.received, deadline = excluded.deadline, state = excluded.state, \
             extended = excluded.extended, cycle = excluded.cycle, last_client_msgid = excluded.last_client_msgid, \
             last_client_refs = excluded.last_client_refs, acked_cycle = excluded.acked_cycle, \
             acknowledged_at = excluded.acknowledged_at, answered_at = excluded.answered_at, \
             closed_at = excluded.closed_at, close_reason = excluded.close_reason, \
             reminded_for = excluded.reminded_for, escalated_for = excluded.escalated_for, \
             updated_at = excluded.updated_at",
            params![
                c.id,
                c.client,
                c.client_name,
                c.reply_to,
                c.subject,
                c.norm_subject,
                c.kind.to_string(),
                ts(c.opened_at),
                ts(c.received),
                ts(c.deadline),
                c.state.as_str(),
                c.extended as i64,
                c.cycle,
                c.last_client_msgid,
                c.last_client_refs.join(" "),
                c.acked_cycle,
                c.acknowledged_at.map(ts),
                c.answered_at.map(ts),
                c.closed_at.map(ts),
                c.close_reason,
                c.reminded_for.map(ts),
                c.escalated_for.map(ts),
                ts(now),
            ],
        )?;
        Ok(())
    }

    /// Record that a case's acknowledgement was accepted by the server.
    pub fn case_acknowledged(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.execute(
            "UPDATE cases SET acknowledged_at = ?2, updated_at = ?2 WHERE id = ?1",
            params![id, ts(at)],
        )?;
        Ok(())
    }

    pub fn audit(
        &self,
        at: DateTime<Utc>,
        case_id: Option<&str>,
        action: &str,
        detail: &str,
        actor: &str,
    ) -> Result<()> {
        evidence::append(self, at, case_id, action, detail, actor)?;
        Ok(())
    }

    /// Queue a message. Returns false when an entry with this dedup key
    /// exists already (nothing is queued twice).
    pub fn enqueue(&self, o: &NewOutbox) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO outbox (kind, case_id, dedup_key, message_id, mail_from, rcpts, raw, state, \
             not_before, next_attempt_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8, ?9) ON CONFLICT(dedup_key) DO NOTHING",
            params![
                o.kind.as_str(),
                o.case_id,
                o.dedup_key,
                o.message_id,
                o.mail_from,
                o.rcpts.join(" "),
                o.raw,
                ts(o.not_before),
                ts(o.created_at),
            ],
        )?;
        Ok(n == 1)
    }

    pub fn outbox_mark(
        &self,
        id: i64,
        state: OutboxState,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        self.execute(
            "UPDATE outbox SET state = ?2, sent_at = CASE WHEN ?2 = 'sent' THEN ?3 ELSE sent_at END, \
             last_error = COALESCE(?4, last_error) WHERE id = ?1",
            params![id, state.as_str(), ts(at), error],
        )?;
        Ok(())
    }

    pub fn outbox_retry(&self, id: i64, next: DateTime<Utc>, error: &str) -> Result<()> {
        self.execute(
            "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?2, \
             last_error = ?3 WHERE id = ?1",
            params![id, ts(next), error],
        )?;
        Ok(())
    }

    pub fn outbox_copy_saved(&self, id: i64) -> Result<()> {
        self.execute("UPDATE outbox SET copy_saved = 1 WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn record_bounce(&self, address: &str, at: DateTime<Utc>, message_id: Option<&str>) -> Result<()> {
        self.execute(
            "INSERT INTO bounces (address, at, message_id) VALUES (?1, ?2, ?3)",
            params![address, ts(at), message_id],
        )?;
        Ok(())
    }

    /// Record a signature verdict; false when this message was checked before.
    pub fn record_signature(&self, r: &SignatureRecord) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO signature_checks (message_id, author, case_id, compliant, missing, sent_at, checked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(message_id) DO NOTHING",
            params![r.message_id, r.author, r.case_id, r.compliant as i64, r.missing, ts(r.sent_at), ts(r.checked_at)],
        )?;
        Ok(n == 1)
    }

    pub fn bump_counter(&self, name: &str, by: i64) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO counters (name, value) VALUES (?1, ?2) \
             ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        )?
        .execute(params![name, by])?;
        Ok(())
    }

    /// Delete finished cases — closed, or answered and not reopened — whose
    /// closing or last answer is older than `before`, with every row about
    /// them (SPEC §11.5): their messages' rows (and rows of duplicates of
    /// those messages), thread ids, outbox rows in any state (the rendered
    /// acknowledgements and notices hold the client's address and subject),
    /// signature verdicts and report facts; their audit entries are redacted
    /// by the evidence log (`evidence::purge`, which keeps the hash chain).
    /// Then the history older than
    /// `before` that belongs to no case: processed message rows, thread ids
    /// of history threads whose messages are gone, finished outbox rows
    /// (sent, failed, cancelled), signature verdicts and bounce records. Open cases and pending or sending mail are never touched.
    /// Returns the number of cases purged.
    pub fn purge(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<usize> {
        let b = ts(before);
        let ids: Vec<String> = {
            let mut st = self.prepare(
                "SELECT id FROM cases WHERE (state = 'closed' AND COALESCE(closed_at, updated_at) < ?1) \
                 OR (state = 'answered' AND COALESCE(answered_at, updated_at) < ?1)",
            )?;
            let rows = st.query_map([&b], |r| r.get(0))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        for id in &ids {
            // Message-IDs of the case's mail: their thread ids go even
            // where a row was recorded without the case.
            self.execute(
                "DELETE FROM thread_ids WHERE case_id = ?1 OR message_id IN \
                 (SELECT message_id FROM messages WHERE case_id = ?1 AND message_id IS NOT NULL) \
                 OR message_id IN (SELECT message_id FROM outbox WHERE case_id = ?1)",
                [id],
            )?;
            self.execute(
                "DELETE FROM messages WHERE duplicate_of IN (SELECT id FROM messages WHERE case_id = ?1)",
                [id],
            )?;
            self.execute("DELETE FROM messages WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM outbox WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM signature_checks WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM case_facts WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM feedback WHERE case_id = ?1", [id])?;
            self.execute("DELETE FROM cases WHERE id = ?1", [id])?;
        }
        // History older than the retention that belongs to no live case.
        let live = "SELECT id FROM cases";
        self.execute(
            &format!(
                "DELETE FROM messages WHERE processed = 1 AND internaldate < ?1 \
                 AND (case_id IS NULL OR case_id NOT IN ({live}))"
            ),
            [&b],
        )?;
        self.execute(
            &format!(
                "DELETE FROM thread_ids WHERE (case_id IS NULL OR case_id NOT IN ({live})) \
                 AND message_id NOT IN (SELECT message_id FROM messages WHERE message_id IS NOT NULL)"
            ),
            [],
        )?;
        self.execute(
            &format!(
                "DELETE FROM outbox WHERE state IN ('sent', 'failed', 'cancelled') AND created_at < ?1 \
                 AND (case_id IS NULL OR case_id NOT IN ({live}))"
            ),
            [&b],
        )?;
        self.execute(
            &format!(
                "DELETE FROM signature_checks WHERE checked_at < ?1 \
                 AND (case_id IS NULL OR case_id NOT IN ({live}))"
            ),
            [&b],
        )?;
        self.execute("DELETE FROM bounces WHERE at < ?1", [&b])?;
        // The evidence log keeps a verifiable chain: the purged cases'
        // entries are redacted and a purge entry says so (evidence.rs).
        evidence::purge(self, &ids, now)?;
        Ok(ids.len())
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
        self.execute_batch("SAVEPOINT isolated")
            .map_err(StoreError::from)?;
        match f(self) {
            Ok(v) => {
                self.execute_batch("RELEASE isolated").map_err(StoreError::from)?;
                Ok(v)
            }
            Err(e) => {
                self.execute_batch("ROLLBACK TO isolated; RELEASE isolated")
                    .map_err(StoreError::from)?;
                Err(e)
            }
        }
    }
}
