//! The schema: every table's `CREATE` statement, as the migrations that
//! built it, in order (`PRAGMA user_version` is the number applied), and
//! the code that applies them at open. Reads and writes no rows of its own
//! (migration 3's backfill aside: `case_facts` and the `audit` chain).

use rusqlite::{Connection, TransactionBehavior};

use super::{evidence, facts, Result, Store, StoreError};

/// Migrations, applied in order; the index + 1 is the schema version.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // 6: the cases one outbox entry is about, for an entry about several
    // (the combined escalation, `reminders.combine_escalations_over`).
    r#"
    CREATE TABLE outbox_cases (
        outbox_id INTEGER NOT NULL,
        case_id TEXT NOT NULL,
        PRIMARY KEY (outbox_id, case_id)
    );
    CREATE INDEX outbox_cases_case ON outbox_cases (case_id);
    "#,
    // 7: fewer index entries written per message (a first start records
    // tens of thousands): `messages_norm` was read by no query (subject
    // matching reads `cases`), the fingerprint is looked up only for mail
    // without a Message-ID, and the tracker's queue holds only the messages
    // not yet processed (history is recorded processed, so a first start
    // writes none). The daily retention delete of old processed rows
    // scans the table instead.
    r#"
    DROP INDEX IF EXISTS messages_norm;
    DROP INDEX IF EXISTS messages_fp;
    CREATE INDEX messages_fp ON messages (fingerprint) WHERE message_id IS NULL;
    DROP INDEX IF EXISTS messages_pending;
    CREATE INDEX messages_pending ON messages (internaldate, id) WHERE processed = 0;
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

impl Store {
    /// Apply the migrations this database has not had yet; refuse one newer
    /// than this code.
    pub(super) fn migrate(&mut self) -> Result<()> {
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
}
