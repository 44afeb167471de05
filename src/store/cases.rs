//! The `cases` table (one row per case, read back as [`Case`]) and
//! `case_seq` (the case numbers of each year). What the report needs
//! beyond the case row is in facts.rs, its events in evidence.rs, who took
//! part (from its messages) in messages.rs.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::{opt_ts, parse_ts, ts, Case, CaseState, Reader, Result, StoreError, Tx};
use crate::rules::deadline::CaseKind;

/// The `cases.state` column.
fn case_state(s: &str) -> Result<CaseState> {
    CaseState::parse(s).ok_or_else(|| StoreError::BadValue {
        column: "cases.state",
        value: s.to_string(),
    })
}

/// A case as read from a row of [`CASE_COLS`], by position: a column
/// looked up by name costs a scan of the row's names (22 here) for each of
/// its 22 values, and the engine reads every open case each cycle.
fn case_from_row(r: &Row) -> Result<Case> {
    let kind: String = r.get(6)?;
    let state: String = r.get(10)?;
    let refs: String = r.get(14)?;
    Ok(Case {
        id: r.get(0)?,
        client: r.get(1)?,
        client_name: r.get(2)?,
        reply_to: r.get(3)?,
        subject: r.get(4)?,
        norm_subject: r.get(5)?,
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
        opened_at: parse_ts("cases.opened_at", &r.get::<_, String>(7)?)?,
        received: parse_ts("cases.received", &r.get::<_, String>(8)?)?,
        deadline: parse_ts("cases.deadline", &r.get::<_, String>(9)?)?,
        state: case_state(&state)?,
        extended: r.get::<_, i64>(11)? != 0,
        cycle: r.get(12)?,
        last_client_msgid: r.get(13)?,
        last_client_refs: refs.split_whitespace().map(str::to_string).collect(),
        acked_cycle: r.get(15)?,
        acknowledged_at: opt_ts("cases.acknowledged_at", r.get(16)?)?,
        answered_at: opt_ts("cases.answered_at", r.get(17)?)?,
        closed_at: opt_ts("cases.closed_at", r.get(18)?)?,
        close_reason: r.get(19)?,
        reminded_for: opt_ts("cases.reminded_for", r.get(20)?)?,
        escalated_for: opt_ts("cases.escalated_for", r.get(21)?)?,
    })
}

/// The columns [`case_from_row`] reads, in its order.
const CASE_COLS: &str =
    "id, client, client_name, reply_to, subject, norm_subject, kind, opened_at, received, \
    deadline, state, extended, cycle, last_client_msgid, last_client_refs, acked_cycle, acknowledged_at, \
    answered_at, closed_at, close_reason, reminded_for, escalated_for";

impl Reader<'_> {
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
}

impl Tx<'_> {
    /// The next case number of a year.
    pub fn next_case_seq(&self, year: i32) -> Result<i64> {
        self.execute(
            "INSERT INTO case_seq (year, last) VALUES (?1, 1) ON CONFLICT(year) DO UPDATE SET last = last + 1",
            [year],
        )?;
        // Cached: a backlog opens thousands of cases in one cycle, and
        // preparing the statement each time was most of this function.
        Ok(self
            .prepare_cached("SELECT last FROM case_seq WHERE year = ?1")?
            .query_row([year], |r| r.get(0))?)
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

    /// Close the acknowledgement question of a case's current cycle
    /// (`acked_cycle = cycle`) without reading the whole case: for an
    /// acknowledgement not sent, thousands at once after a backlog.
    /// Returns the case's cycle and acknowledgement address, `None` when
    /// there is no such case. An `UPDATE` and a narrow read, not `UPDATE …
    /// RETURNING`: SQLite opens a statement journal for that, and closing
    /// it inside the actions' savepoint was 2.5 % of a backlog's profile
    /// (7 400 acknowledgements not sent).
    pub fn close_ack_cycle(&self, id: &str, now: DateTime<Utc>) -> Result<Option<(i64, String)>> {
        if !self.mark_ack_cycle(id, now)? {
            return Ok(None);
        }
        let mut st = self.prepare_cached("SELECT cycle, reply_to FROM cases WHERE id = ?1")?;
        Ok(Some(st.query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?))
    }

    /// Mark a case's present cycle acknowledged (queued or suppressed);
    /// `false` if there is no such case.
    pub fn mark_ack_cycle(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let changed = self.execute(
            "UPDATE cases SET acked_cycle = cycle, updated_at = ?2 WHERE id = ?1",
            params![id, ts(now)],
        )?;
        Ok(changed > 0)
    }

    /// Mark a case escalated for its present deadline and return it as it
    /// is now, or `None` if there is no such case. One narrow `UPDATE`
    /// instead of writing all the case's columns back: a year's escalation
    /// list marks thousands of cases. (Not `UPDATE … RETURNING`: SQLite
    /// opens a statement journal for it, and closing that inside the
    /// list's savepoint cost 0.5 s over 14 000 cases.)
    pub fn mark_escalated(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Case>> {
        let changed = self.execute(
            "UPDATE cases SET escalated_for = deadline, updated_at = ?2 WHERE id = ?1",
            params![id, ts(now)],
        )?;
        if changed == 0 {
            return Ok(None);
        }
        self.reader().case(id)
    }

    /// Record that a case's acknowledgement was accepted by the server.
    pub fn case_acknowledged(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.execute(
            "UPDATE cases SET acknowledged_at = ?2, updated_at = ?2 WHERE id = ?1",
            params![id, ts(at)],
        )?;
        Ok(())
    }
}
