//! What the compliance report (SPEC §12) needs to know about a case and
//! that the case row itself does not keep: the deadline first set, when the
//! acknowledgement was due and what became of it, the first response (time,
//! kind, who, which message) and a close by hand before any response.
//!
//! One `case_facts` row per case. Every setter writes a value only when it
//! is not set yet (`COALESCE`): these are *first* facts, and later events
//! (a reopening, a second reply, another acknowledgement cycle) never
//! overwrite them.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{opt_ts, ts, Result};

/// How a case was first responded to (SPEC §12 "first response").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// A staff reply by e-mail that answered the case (or a refused interim).
    Reply,
    /// An interim reply by e-mail that moved the deadline (§4.3).
    Interim,
    /// `replygate extend`: an interim reply made outside e-mail.
    Extend,
}

impl ResponseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseKind::Reply => "reply",
            ResponseKind::Interim => "interim",
            ResponseKind::Extend => "extend",
        }
    }
    pub fn parse(s: &str) -> Option<ResponseKind> {
        match s {
            "reply" => Some(ResponseKind::Reply),
            "interim" => Some(ResponseKind::Interim),
            "extend" => Some(ResponseKind::Extend),
            _ => None,
        }
    }
}

/// One case's facts as stored (every field may be unknown for cases
/// recorded before the facts existed and not derivable by the migration).
#[derive(Debug, Clone, Default)]
pub struct CaseFacts {
    pub case_id: String,
    pub first_deadline: Option<DateTime<Utc>>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub ack_sent_at: Option<DateTime<Utc>>,
    /// Why the first acknowledgement was not sent: `interval`, `bounced`,
    /// `interim`, `stale`, or another reason word.
    pub ack_suppressed: Option<String>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub first_response_kind: Option<ResponseKind>,
    /// The author address (e-mail replies) or the admin (`extend`).
    pub first_response_by: Option<String>,
    /// The key of the first response's signature check (its Message-ID).
    pub first_response_ref: Option<String>,
    /// Closed with `close` before any first response.
    pub hand_closed_at: Option<DateTime<Utc>>,
}

/// A first response to record.
#[derive(Debug, Clone)]
pub struct FirstResponse<'a> {
    pub at: DateTime<Utc>,
    pub kind: ResponseKind,
    pub by: &'a str,
    pub reference: Option<&'a str>,
}

fn ensure(conn: &Connection, case_id: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO case_facts (case_id) VALUES (?1) ON CONFLICT(case_id) DO NOTHING")?
        .execute([case_id])?;
    Ok(())
}

/// A new case: its first deadline and acknowledgement time.
pub fn opened(
    conn: &Connection,
    case_id: &str,
    deadline: DateTime<Utc>,
    ack_due: DateTime<Utc>,
) -> Result<()> {
    ensure(conn, case_id)?;
    conn.prepare_cached(
        "UPDATE case_facts SET first_deadline = COALESCE(first_deadline, ?2), ack_due_at = COALESCE(ack_due_at, ?3) \
         WHERE case_id = ?1",
    )?
    .execute(params![case_id, ts(deadline), ts(ack_due)])?;
    Ok(())
}

/// The first response, unless one is recorded already.
pub fn responded(conn: &Connection, case_id: &str, r: &FirstResponse) -> Result<()> {
    ensure(conn, case_id)?;
    conn.prepare_cached(
        "UPDATE case_facts SET first_response_at = ?2, first_response_kind = ?3, first_response_by = ?4, \
         first_response_ref = ?5 WHERE case_id = ?1 AND first_response_at IS NULL",
    )?
    .execute(params![case_id, ts(r.at), r.kind.as_str(), r.by, r.reference])?;
    Ok(())
}

/// The first cycle's acknowledgement was accepted by the SMTP server at `at`.
pub fn acknowledged(conn: &Connection, case_id: &str, at: DateTime<Utc>) -> Result<()> {
    ensure(conn, case_id)?;
    conn.prepare_cached("UPDATE case_facts SET ack_sent_at = COALESCE(ack_sent_at, ?2) WHERE case_id = ?1")?
        .execute(params![case_id, ts(at)])?;
    Ok(())
}

/// The first cycle's acknowledgement will not be sent, for `reason`.
pub fn ack_suppressed(conn: &Connection, case_id: &str, reason: &str) -> Result<()> {
    ensure(conn, case_id)?;
    conn.prepare_cached(
        "UPDATE case_facts SET ack_suppressed = COALESCE(ack_suppressed, ?2) WHERE case_id = ?1",
    )?
    .execute(params![case_id, reason])?;
    Ok(())
}

/// Closed by hand at `at`: recorded only when no first response came before.
pub fn closed_by_hand(conn: &Connection, case_id: &str, at: DateTime<Utc>) -> Result<()> {
    ensure(conn, case_id)?;
    conn.prepare_cached(
        "UPDATE case_facts SET hand_closed_at = ?2 WHERE case_id = ?1 AND hand_closed_at IS NULL \
         AND (first_response_at IS NULL OR first_response_at > ?2)",
    )?
    .execute(params![case_id, ts(at)])?;
    Ok(())
}

fn from_row(r: &rusqlite::Row) -> Result<CaseFacts> {
    let kind: Option<String> = r.get("first_response_kind")?;
    Ok(CaseFacts {
        case_id: r.get("case_id")?,
        first_deadline: opt_ts("case_facts.first_deadline", r.get("first_deadline")?)?,
        ack_due_at: opt_ts("case_facts.ack_due_at", r.get("ack_due_at")?)?,
        ack_sent_at: opt_ts("case_facts.ack_sent_at", r.get("ack_sent_at")?)?,
        ack_suppressed: r.get("ack_suppressed")?,
        first_response_at: opt_ts("case_facts.first_response_at", r.get("first_response_at")?)?,
        first_response_kind: kind.as_deref().and_then(ResponseKind::parse),
        first_response_by: r.get("first_response_by")?,
        first_response_ref: r.get("first_response_ref")?,
        hand_closed_at: opt_ts("case_facts.hand_closed_at", r.get("hand_closed_at")?)?,
    })
}

/// One case's facts.
pub fn get(conn: &Connection, case_id: &str) -> Result<Option<CaseFacts>> {
    let mut st = conn.prepare_cached("SELECT * FROM case_facts WHERE case_id = ?1")?;
    let row = st.query_row([case_id], |r| Ok(from_row(r))).optional()?;
    row.transpose()
}

/// Every case's facts.
pub fn all(conn: &Connection) -> Result<Vec<CaseFacts>> {
    let mut st = conn.prepare("SELECT * FROM case_facts")?;
    let rows = st.query_map([], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// The migration that introduced the facts: what can be derived for the
/// cases recorded before (messages' roles, the audit log, the outbox).
/// What cannot (the first deadline of a case already extended or reopened,
/// the acknowledgement's due time) stays NULL and the report works it out
/// from the calendar.
pub const BACKFILL: &str = r#"
INSERT INTO case_facts (case_id, first_deadline)
    SELECT id, CASE WHEN cycle = 1 AND extended = 0 THEN deadline END FROM cases;
UPDATE case_facts SET (first_response_at, first_response_kind, first_response_by, first_response_ref) = (
    SELECT m.internaldate, CASE m.role WHEN 'extended' THEN 'interim' ELSE 'reply' END, m.from_addr,
           COALESCE(m.message_id, 'uid:' || m.folder || ':' || m.uid)
    FROM messages m
    WHERE m.case_id = case_facts.case_id AND m.role IN ('answered', 'extended', 'interim-refused')
    ORDER BY m.internaldate, m.id LIMIT 1);
UPDATE case_facts SET (first_response_at, first_response_kind, first_response_by, first_response_ref) = (
    SELECT a.at, 'extend', a.actor, NULL FROM audit a
    WHERE a.case_id = case_facts.case_id AND a.action = 'extended' AND a.actor LIKE 'admin:%'
    ORDER BY a.id LIMIT 1)
WHERE EXISTS (SELECT 1 FROM audit a WHERE a.case_id = case_facts.case_id AND a.action = 'extended'
    AND a.actor LIKE 'admin:%' AND (case_facts.first_response_at IS NULL OR a.at < case_facts.first_response_at));
UPDATE case_facts SET ack_sent_at = COALESCE(
    (SELECT o.sent_at FROM outbox o WHERE o.dedup_key = 'ack:' || case_facts.case_id || ':1' AND o.state = 'sent'),
    (SELECT c.acknowledged_at FROM cases c WHERE c.id = case_facts.case_id AND c.cycle = 1));
UPDATE case_facts SET ack_suppressed = (
    SELECT CASE
        WHEN a.detail LIKE '%ack_min_interval%' THEN 'interval'
        WHEN a.detail LIKE '%bounced%' THEN 'bounced'
        WHEN a.detail LIKE '%interim%' THEN 'interim'
        WHEN a.detail LIKE '%deadline has already passed%' THEN 'stale'
        ELSE 'other' END
    FROM audit a WHERE a.case_id = case_facts.case_id AND a.action = 'ack-suppressed' ORDER BY a.id LIMIT 1)
WHERE ack_sent_at IS NULL;
UPDATE case_facts SET hand_closed_at = (
    SELECT a.at FROM audit a WHERE a.case_id = case_facts.case_id AND a.action = 'closed' AND a.actor LIKE 'admin:%'
    AND (case_facts.first_response_at IS NULL OR a.at < case_facts.first_response_at)
    ORDER BY a.id LIMIT 1);
"#;
