//! Reads the report's inputs from the store: every case with its facts
//! (`store::facts`) and every signature verdict. Facts that cases recorded
//! before the facts existed lack are worked out here from the calendar
//! (the first deadline from the receipt and kind, the acknowledgement's due
//! time from `reply.ack`), the way the tracker would have set them.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{CaseInput, FirstResponse, SignatureInput};
use crate::config::AckMode;
use crate::rules::calendar::Calendar;
use crate::rules::deadline::{self, CaseKind};
use crate::store::{opt_ts, parse_ts, Result, StoreError};

/// What the fallbacks need from the config.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub working_days: u32,
    pub ack: AckMode,
}

/// Every case with its facts.
pub fn cases(conn: &Connection, cal: &Calendar, d: Defaults) -> Result<Vec<CaseInput>> {
    let mut st = conn.prepare(
        "SELECT c.id, c.kind, c.client, c.opened_at, f.first_deadline, f.ack_due_at, f.ack_sent_at, \
         f.ack_suppressed, f.first_response_at, f.first_response_kind, f.first_response_by, \
         f.first_response_ref, f.hand_closed_at, coalesce(fb.feedback, 0) \
         FROM cases c LEFT JOIN case_facts f ON f.case_id = c.id \
         LEFT JOIN feedback fb ON fb.case_id = c.id ORDER BY c.opened_at, c.id",
    )?;
    type Raw = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
    );
    let rows = st.query_map([], |r| -> rusqlite::Result<Raw> {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, client, opened, fd, due, sent, supp, fr_at, fr_kind, fr_by, fr_ref, closed, feedback) =
            row?;
        let kind: CaseKind = kind.parse().map_err(|_| StoreError::BadValue {
            column: "cases.kind",
            value: kind.clone(),
        })?;
        let received = parse_ts("cases.opened_at", &opened)?;
        let first_deadline = opt_ts("case_facts.first_deadline", fd)?
            .unwrap_or_else(|| deadline::reply_deadline(cal, received, kind, d.working_days));
        let ack_due =
            opt_ts("case_facts.ack_due_at", due)?.unwrap_or_else(|| deadline::ack_at(cal, received, d.ack));
        let first_response = match (opt_ts("case_facts.first_response_at", fr_at)?, fr_kind.as_deref()) {
            (Some(at), Some(k)) => crate::store::facts::ResponseKind::parse(k).map(|kind| FirstResponse {
                at,
                kind,
                by: fr_by.unwrap_or_default(),
                reference: fr_ref,
            }),
            _ => None,
        };
        out.push(CaseInput {
            id,
            kind,
            client,
            received,
            first_deadline,
            ack_due,
            ack_sent: opt_ts("case_facts.ack_sent_at", sent)?,
            ack_suppressed: supp,
            first_response,
            hand_closed: opt_ts("case_facts.hand_closed_at", closed)?,
            feedback,
        });
    }
    Ok(out)
}

/// Every signature verdict.
pub fn signatures(conn: &Connection) -> Result<Vec<SignatureInput>> {
    let mut st = conn.prepare(
        "SELECT message_id, author, compliant, missing, sent_at FROM signature_checks ORDER BY sent_at, message_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (reference, author, compliant, missing, sent) = row?;
        let sent_at: DateTime<Utc> = parse_ts("signature_checks.sent_at", &sent)?;
        out.push(SignatureInput {
            reference,
            author: author.to_lowercase(),
            compliant: compliant != 0,
            missing: missing
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
            sent_at,
        });
    }
    Ok(out)
}

/// The whole report from the store.
pub fn report(
    conn: &Connection,
    cal: &Calendar,
    d: Defaults,
    period: super::Period,
) -> Result<super::Report> {
    let cases = cases(conn, cal, d)?;
    let sigs = signatures(conn)?;
    Ok(super::compute(cal, period, &cases, &sigs))
}
