//! The mail the sync has seen: `folders` (each folder's UIDVALIDITY and the
//! last UID fetched), `messages` (one row per message location, the
//! metadata the rules need, no bodies) and `thread_ids` (Message-IDs that
//! belong to a case's thread or to known history).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::{parse_ts, ts, Reader, Result, Tx};

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

/// The columns [`StoredMessage::from_row`] reads, in its order.
const MESSAGE_COLS: &str = "id, folder, uid, message_id, internaldate, from_addr, subject, norm_subject, \
    recipients, class, reason, pending, role";

/// [`Reader::known_message`]'s two look-ups, the sync's duplicate check
/// for every message.
pub(super) const KNOWN_BY_ID: &str =
    "SELECT id FROM messages WHERE message_id = ?1 AND duplicate_of IS NULL ORDER BY id LIMIT 1";
pub(super) const KNOWN_BY_FINGERPRINT: &str = "SELECT id FROM messages WHERE message_id IS NULL \
    AND fingerprint = ?1 AND duplicate_of IS NULL ORDER BY id LIMIT 1";

impl StoredMessage {
    /// By position, as [`crate::store::cases`] reads a case: a name costs
    /// a scan of the row's names per value.
    fn from_row(r: &Row) -> Result<StoredMessage> {
        let rcpts: String = r.get(8)?;
        Ok(StoredMessage {
            id: r.get(0)?,
            folder: r.get(1)?,
            uid: r.get::<_, i64>(2)? as u32,
            message_id: r.get(3)?,
            internaldate: parse_ts("messages.internaldate", &r.get::<_, String>(4)?)?,
            from_addr: r.get(5)?,
            subject: r.get(6)?,
            norm_subject: r.get(7)?,
            recipients: rcpts.split_whitespace().map(str::to_string).collect(),
            class: r.get(9)?,
            reason: r.get(10)?,
            pending: r.get(11)?,
            role: r.get(12)?,
        })
    }
}

/// A new message row for [`Tx::insert_message`](crate::store::Tx::insert_message).
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
pub struct FolderState {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

impl Reader<'_> {
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
        let (sql, key) = match message_id {
            Some(id) => (KNOWN_BY_ID, id),
            None => (KNOWN_BY_FINGERPRINT, fingerprint),
        };
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_row([key], |r| r.get(0))
            .optional()?)
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
    /// backlog of thousands is never all in memory); with `after`, only
    /// those after that message in this order (the next page: a message of
    /// the page before that waits for a retry is not taken again).
    pub fn pending_messages(
        &self,
        until: DateTime<Utc>,
        after: Option<&StoredMessage>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE processed = 0 AND internaldate <= ?1 \
             AND (?3 IS NULL OR internaldate > ?3 OR (internaldate = ?3 AND id > ?4)) \
             ORDER BY internaldate, id LIMIT ?2"
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let (at, id) = match after {
            Some(m) => (Some(ts(m.internaldate)), m.id),
            None => (None, 0),
        };
        let rows = st.query_map(params![ts(until), limit as i64, at, id], |r| {
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
        // Cached: asked for every referenced Message-ID of every message.
        Ok(self
            .conn
            .prepare_cached("SELECT case_id FROM thread_ids WHERE message_id = ?1")?
            .query_row([message_id], |r| r.get(0))
            .optional()?)
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

    /// Message-IDs of a case's thread.
    pub fn case_message_ids(&self, case_id: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT message_id FROM thread_ids WHERE case_id = ?1")?;
        let rows = st.query_map([case_id], |r| r.get(0))?;
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
}

impl Tx<'_> {
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
}
