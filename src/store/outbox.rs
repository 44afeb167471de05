//! The `outbox` table: every message the gateway sends, queued with a
//! dedup key, then `pending` → `sending` → `sent` (or `failed`,
//! `cancelled`). Acknowledgements are outbox rows of kind `ack`, so the
//! "when was this address last acknowledged" questions are asked here too.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::{opt_ts, parse_ts, ts, Reader, Result, StoreError, Tx};

/// What an outbox entry is (the `outbox.kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    Ack,
    Reminder,
    Escalation,
    /// One escalation listing several cases (`outbox_cases`).
    EscalationList,
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
            OutboxKind::EscalationList => "escalation_list",
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
            "escalation_list" => OutboxKind::EscalationList,
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

impl Reader<'_> {
    /// The cases an entry about several is about (see
    /// [`Tx::link_outbox_cases`]), in case order.
    pub fn outbox_cases(&self, outbox_id: i64) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT case_id FROM outbox_cases WHERE outbox_id = ?1 ORDER BY case_id")?;
        let rows = st.query_map([outbox_id], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
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

    /// Acknowledgements created in `[since, until]`.
    pub fn acks_between(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'ack' AND created_at >= ?1 AND created_at <= ?2",
            [ts(since), ts(until)],
            |r| r.get(0),
        )?)
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
    /// At most `limit` of them, after the entry `after` (by id): the flush
    /// reads the outbox page by page, so a backlog of thousands of queued
    /// messages is never all in memory at once.
    pub fn outbox_sendable(&self, now: DateTime<Utc>, after: i64, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut st = self.conn.prepare_cached(
            "SELECT * FROM outbox WHERE state IN ('pending', 'sending') AND not_before <= ?1 AND id > ?2 \
             ORDER BY id LIMIT ?3",
        )?;
        let rows = st.query_map(rusqlite::params![ts(now), after, limit as i64], |r| {
            Ok(OutboxEntry::from_row(r))
        })?;
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
}

impl Tx<'_> {
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

    /// Record the cases outbox entry `outbox_id` is about (an entry about
    /// several; one about one case has it in `case_id`).
    pub fn link_outbox_cases(&self, outbox_id: i64, case_ids: &[String]) -> Result<()> {
        for id in case_ids {
            self.execute(
                "INSERT OR IGNORE INTO outbox_cases (outbox_id, case_id) VALUES (?1, ?2)",
                params![outbox_id, id],
            )?;
        }
        Ok(())
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
}
