//! What an admin does by hand: `status`, `close`, `extend` (SPEC §9).
//! Every manual change is written to the audit log with who did it.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use crate::cases::{Case, CaseState};
use crate::cli::escape::escape_controls;
use crate::rules::calendar::Calendar;
use crate::rules::deadline::{self, CaseKind};
use crate::store::{OutboxState, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no case {0}; `replygate status --all` lists the cases")]
    NoCase(String),
    #[error("case {id} is {state}: {what}")]
    State {
        id: String,
        state: &'static str,
        what: String,
    },
    #[error("{0}")]
    Refused(String),
}

/// One case as `status --json` shows it (SPEC §9; fields may be added).
#[derive(Debug, Serialize)]
pub struct CaseJson {
    pub id: String,
    pub client: String,
    pub subject: String,
    /// Receipt of the mail that opened the case.
    pub received: String,
    pub deadline: String,
    pub state: &'static str,
    pub kind: CaseKind,
    pub acknowledged_at: Option<String>,
    pub answered_at: Option<String>,
    pub extended: bool,
    pub overdue: bool,
    /// Receipt of the mail the current deadline counts from (differs from
    /// `received` after a reopening).
    pub cycle_received: String,
    pub reopened: u32,
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
    /// Client feedback about the service (SPEC §14), recognised or marked.
    pub feedback: bool,
}

#[derive(Debug, Serialize)]
pub struct OutboxProblem {
    pub kind: String,
    pub case: Option<String>,
    pub to: String,
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
    /// Staff notices wait for working hours: the earliest time this may go.
    pub not_before: String,
}

#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub cases: Vec<CaseJson>,
    /// Outbox entries not (yet) sent: notices waiting for working hours,
    /// pending retries and permanent failures.
    pub outbox: Vec<OutboxProblem>,
    /// Mail that changed nothing because of what it is (SPEC §11).
    pub messages: MessageProblems,
}

/// Counts of mail the gateway could not or would not act on (SPEC §11).
#[derive(Debug, Default, Serialize)]
pub struct MessageProblems {
    /// Processing failed twice: set aside for good (role `error`).
    pub errors: i64,
    /// Processing failed once: tried again in the next cycle.
    pub retrying: i64,
    /// Could not be read or fetched at all (class `bad`).
    pub unreadable: i64,
    /// Inbox mail with an organisation From and no proof of internal
    /// origin (§11.2): changed nothing.
    pub unverified_internal: i64,
    /// Header blocks cut at 256 KiB (§11.1).
    pub headers_truncated: i64,
}

fn message_problems(r: &crate::store::Reader<'_>) -> Result<MessageProblems, StoreError> {
    let (errors, retrying) = r.failed_message_counts()?;
    let mut p = MessageProblems {
        errors,
        retrying,
        headers_truncated: r.counter("headers_truncated")?,
        ..MessageProblems::default()
    };
    for (class, _, n) in r.message_counts()? {
        match class.as_str() {
            "bad" => p.unreadable += n,
            "unverified_internal" => p.unverified_internal += n,
            _ => {}
        }
    }
    Ok(p)
}

fn local(cal: &Calendar, t: DateTime<Utc>) -> String {
    cal.to_local(t).to_rfc3339_opts(SecondsFormat::Secs, false)
}

pub fn case_json(cal: &Calendar, c: &Case, now: DateTime<Utc>) -> CaseJson {
    CaseJson {
        id: c.id.clone(),
        client: c.client.clone(),
        subject: c.subject.clone(),
        received: local(cal, c.opened_at),
        deadline: local(cal, c.deadline),
        state: c.state.as_str(),
        kind: c.kind,
        acknowledged_at: c.acknowledged_at.map(|t| local(cal, t)),
        answered_at: c.answered_at.map(|t| local(cal, t)),
        extended: c.state == CaseState::Open && c.extended,
        overdue: c.state == CaseState::Open && now > c.deadline,
        cycle_received: local(cal, c.received),
        reopened: (c.cycle - 1).max(0) as u32,
        closed_at: c.closed_at.map(|t| local(cal, t)),
        close_reason: c.close_reason.clone(),
        feedback: false,
    }
}

/// The status report: open cases, or all with `all`.
pub fn status(
    store: &Store,
    cal: &Calendar,
    now: DateTime<Utc>,
    all: bool,
) -> Result<StatusJson, AdminError> {
    let r = store.read();
    let cases = if all { r.all_cases()? } else { r.open_cases()? };
    let outbox = r
        .outbox_all()?
        .into_iter()
        .filter(|e| {
            matches!(e.state, OutboxState::Failed | OutboxState::Sending)
                || (e.state == OutboxState::Pending && (e.attempts > 0 || e.not_before > now))
        })
        .map(|e| OutboxProblem {
            kind: e.kind.to_string(),
            case: e.case_id,
            to: e.rcpts.join(", "),
            state: e.state.to_string(),
            attempts: e.attempts,
            error: e.last_error,
            not_before: local(cal, e.not_before),
        })
        .collect();
    let feedback: std::collections::HashSet<String> = r.feedback_cases()?.into_iter().collect();
    Ok(StatusJson {
        cases: cases
            .iter()
            .map(|c| CaseJson {
                feedback: feedback.contains(&c.id),
                ..case_json(cal, c, now)
            })
            .collect(),
        outbox,
        messages: message_problems(&r)?,
    })
}

/// Human-readable status.
pub fn status_text(s: &StatusJson) -> String {
    let mut out = String::new();
    if s.cases.is_empty() {
        out.push_str("No cases.\n");
    } else {
        out.push_str(&format!(
            "{:<16} {:<9} {:<10} {:<17} {:<17} {:<30} {}\n",
            "CASE", "STATE", "KIND", "RECEIVED", "DEADLINE", "CLIENT", "SUBJECT"
        ));
        for c in &s.cases {
            let mut state = c.state.to_string();
            if c.overdue {
                state = "OVERDUE".into();
            } else if c.extended {
                state = "extended".into();
            }
            if c.feedback {
                state.push('*');
            }
            let short = |t: &str| t.get(..16).unwrap_or(t).replace('T', " ");
            let subject: String = c.subject.chars().take(50).collect();
            let subject = escape_controls(&subject);
            out.push_str(&format!(
                "{:<16} {:<9} {:<10} {:<17} {:<17} {:<30} {}\n",
                c.id,
                state,
                c.kind.to_string(),
                short(&c.received),
                short(&c.deadline),
                escape_controls(&c.client),
                subject
            ));
        }
    }
    if s.cases.iter().any(|c| c.feedback) {
        out.push_str("\n* client feedback about the service (atsauksme vai sūdzība)\n");
    }
    if !s.outbox.is_empty() {
        out.push_str("\nOutbox (not sent yet):\n");
        for p in &s.outbox {
            let what = match (&p.error, p.state.as_str()) {
                (Some(e), _) => format!("{} attempts: {}", p.attempts, escape_controls(e)),
                (None, _) => format!(
                    "waits for working hours: not before {}",
                    p.not_before.replace('T', " ")
                ),
            };
            out.push_str(&format!(
                "  {} {} to {}: {what}\n",
                p.state,
                p.kind,
                escape_controls(&p.to)
            ));
        }
    }
    let m = &s.messages;
    if m.errors + m.retrying + m.unreadable + m.unverified_internal + m.headers_truncated > 0 {
        out.push_str(&format!(
            "\nMail not acted on: {} failed and set aside, {} to be tried again, {} unreadable, {} unverified internal, {} headers cut at 256 KiB\n",
            m.errors, m.retrying, m.unreadable, m.unverified_internal, m.headers_truncated
        ));
    }
    out
}

/// Who runs a manual command, for the audit log.
pub fn actor() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("admin:{user}")
}

/// `mark CASE --feedback | --not-feedback --reason TEXT` (SPEC §14): an
/// admin's verdict on whether the case is client feedback about the
/// service. It is final (the recogniser never overrides it), audited, and
/// `--not-feedback` withdraws a quality-owner notice that has not left yet.
/// Marking by hand sends no notice: the case shows in `status`, the digest
/// and the report.
pub fn mark(
    store: &mut Store,
    id: &str,
    feedback: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<bool>, AdminError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AdminError::Refused(
            "--reason must say why the verdict is changed".into(),
        ));
    }
    store.transaction(|tx| {
        let c = tx
            .reader()
            .case(id)?
            .ok_or_else(|| AdminError::NoCase(id.into()))?;
        let before = tx.mark_feedback(&c.id, feedback, reason, now)?;
        if !feedback {
            tx.cancel_feedback_notice(&c.id)?;
        }
        let verdict = if feedback { "feedback" } else { "not feedback" };
        tx.audit(
            now,
            Some(&c.id),
            "marked",
            &format!("{verdict}: {reason}"),
            &actor(),
        )?;
        Ok(before)
    })
}

/// `close CASE --reason TEXT`.
pub fn close(store: &mut Store, id: &str, reason: &str, now: DateTime<Utc>) -> Result<Case, AdminError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AdminError::Refused(
            "--reason must say why the case is closed".into(),
        ));
    }
    store.transaction(|tx| {
        let mut c = tx
            .reader()
            .case(id)?
            .ok_or_else(|| AdminError::NoCase(id.into()))?;
        if c.state == CaseState::Closed {
            return Err(AdminError::State {
                id: c.id,
                state: "closed",
                what: "already closed".into(),
            });
        }
        c.state = CaseState::Closed;
        c.closed_at = Some(now);
        c.close_reason = Some(reason.to_string());
        tx.save_case(&c, now)?;
        crate::store::facts::closed_by_hand(tx, &c.id, now)?;
        tx.audit(now, Some(&c.id), "closed", reason, &actor())?;
        Ok(c)
    })
}

/// `extend CASE --until D --reason TEXT`: an interim reply made outside
/// e-mail. Refused for a case that is not open, a date in the past, and for
/// a submission a date past four months after receipt.
pub fn extend(
    store: &mut Store,
    cal: &Calendar,
    id: &str,
    until: NaiveDate,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Case, AdminError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AdminError::Refused(
            "--reason must say how the client was told".into(),
        ));
    }
    store.transaction(|tx| {
        let mut c = tx.reader().case(id)?.ok_or_else(|| AdminError::NoCase(id.into()))?;
        if c.state != CaseState::Open {
            return Err(AdminError::State {
                id: c.id.clone(),
                state: c.state.as_str(),
                what: "only an open case can be extended".into(),
            });
        }
        let today = cal.local_date(now);
        if until < today {
            return Err(AdminError::Refused(format!("{until} is in the past (today is {today})")));
        }
        if c.kind == CaseKind::Submission {
            let limit = deadline::submission_limit(cal, c.opened_at);
            if until > limit {
                return Err(AdminError::Refused(format!(
                    "a submission must be answered within four months of receipt (Iesniegumu likums §5): the latest date for {} is {limit}",
                    c.id
                )));
            }
        }
        let old = c.deadline;
        c.deadline = deadline::date_deadline(cal, until);
        c.extended = true;
        tx.save_case(&c, now)?;
        let who = actor();
        crate::store::facts::responded(
            tx,
            &c.id,
            &crate::store::facts::FirstResponse {
                at: now,
                kind: crate::store::facts::ResponseKind::Extend,
                by: &who,
                reference: None,
            },
        )?;
        tx.audit(
            now,
            Some(&c.id),
            "extended",
            &format!("deadline {} → {}: {reason}", local(cal, old), local(cal, c.deadline)),
            &actor(),
        )?;
        Ok(c)
    })
}
