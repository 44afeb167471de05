//! The outbox: every message replygate sends is first rendered, composed
//! with its final Message-ID and written to SQLite (in the same transaction
//! as the case change that caused it), then sent, then marked sent.
//!
//! - Nothing is queued twice: each entry has a dedup key (`ack:CASE:CYCLE`,
//!   `reminder:CASE:DEADLINE`, `escalation:CASE:DEADLINE`, `digest:DATE`,
//!   `sigwarn:MESSAGE-ID`, `interim:MESSAGE-ID`) with a UNIQUE constraint.
//! - Each entry has its own two commits: `sending` before its SMTP
//!   transaction, `sent` right after the server's 250 to the final `.`
//!   (never batched: batching would widen the crash window).
//! - Temporary failures are retried with capped exponential backoff (1 min
//!   doubling to 1 h) by the daemon; `run --once` retries everything due.
//!   An unreachable server stops the flush (the rest would fail the same
//!   way); the cycle still succeeds (`run --once` exits 0 with a warning):
//!   an SMTP outage only delays. Permanent failures (5xx) are marked
//!   `failed`, logged, shown by `status` and never retried.
//! - Acknowledgements, reminders and escalations whose case is no longer
//!   open when their turn comes are `cancelled`, not sent.
//!
//! # Crashes
//!
//! What a crash (kill -9, power loss, OOM) at each point leaves, and what
//! the next start does:
//!
//! 1. before the queueing transaction commits: nothing queued, the case not
//!    marked; the next cycle decides again and queues it;
//! 2. queued (`pending`), not yet `sending`: sent by the next flush;
//! 3. `sending` committed, SMTP transaction not finished (the server has not
//!    answered the final `.`): the server discards an unfinished
//!    transaction, so nothing was delivered;
//! 4. the server answered 250, `sent` not yet committed: delivered, but the
//!    outbox does not know.
//!
//! Cases 3 and 4 both leave the entry `sending` and cannot be told apart
//! locally. On the next start, [`recover_interrupted`] (called by
//! [`crate::pipeline::run_once`] before the flush) looks for the entry's
//! Message-ID in the IMAP sent folders (`imap.sent` and
//! `smtp.save_copy_to`) with a read-only `UID SEARCH HEADER Message-ID`:
//! servers that file submitted mail in Sent (Exchange, Gmail, many
//! submission setups with Sieve/BCC-to-Sent) show case 4 there, and the
//! entry is marked sent without resending. Otherwise it is sent again with
//! the same Message-ID, so a case-4 crash on a server that files nothing
//! repeats that one message (recipients' clients that thread by Message-ID
//! show it once). The remaining window is therefore: the time between the
//! server's 250 and the commit of `sent` (one small SQLite WAL commit,
//! well under a millisecond), on a server that does not file submitted
//! mail, for the one message in flight. SMTP allows no better: there is no
//! way to ask a server whether it accepted a transaction.
//!
//! Test hooks (debug builds only, see [`test_crash_point`]):
//! `REPLYGATE_TEST_CRASH_BEFORE_SEND=1` aborts after `sending` is committed,
//! before SMTP (case 3); `REPLYGATE_TEST_CRASH_AFTER_SENDING=1` aborts right
//! after the server accepted the first message (case 4). tests/e2e_crash.rs
//! uses them.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

use crate::cases::signature;
use crate::cases::tracker::Notice;
use crate::config::Config;
use crate::inbound::message::Address;
use crate::outbound::compose::{self, AutoReply, Outgoing};
use crate::outbound::smtp::{Mailer, SendError};
use crate::outbound::templates::{
    self, AckContext, CaseNoticeContext, DigestCase, DigestContext, SignatureWarningContext, Templates,
};
use crate::rules::calendar::Calendar;
use crate::rules::deadline::CaseKind;
use crate::rules::engine::Action;
use crate::store::{Case, CaseState, NewOutbox, OutboxEntry, Store, StoreError, Tx};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("template {name}: {source}")]
    Template {
        name: &'static str,
        source: templates::TemplateError,
    },
    #[error("composing {what}: {source}")]
    Compose {
        what: String,
        source: compose::ComposeError,
    },
}

/// Renders and composes the gateway's messages.
pub struct Composer<'a> {
    pub cfg: &'a Config,
    pub cal: &'a Calendar,
    pub templates: &'a Templates,
    /// Domain of generated Message-IDs (the first organisation domain).
    pub domain: String,
}

impl<'a> Composer<'a> {
    pub fn new(cfg: &'a Config, cal: &'a Calendar, templates: &'a Templates) -> Self {
        let domain = cfg
            .organization
            .domains
            .first()
            .cloned()
            .unwrap_or_else(|| "localhost".into());
        Composer {
            cfg,
            cal,
            templates,
            domain,
        }
    }

    fn dt(&self, t: DateTime<Utc>) -> String {
        templates::format_datetime(&self.cal.to_local(t))
    }

    fn render(
        &self,
        name: &'static str,
        ctx: &impl serde::Serialize,
    ) -> Result<templates::Rendered, OutboxError> {
        self.templates
            .render(name, ctx)
            .map_err(|source| OutboxError::Template { name, source })
    }

    fn submission(c: &Case) -> bool {
        c.kind == CaseKind::Submission
    }

    pub fn ack(&self, c: &Case, now: DateTime<Utc>) -> Result<Outgoing, OutboxError> {
        let ctx = AckContext::new(
            &c.id,
            &self.cal.to_local(c.received),
            &self.cal.to_local(c.deadline),
            &c.subject,
            Self::submission(c),
            &self.cfg.organization,
            &self.cfg.calendar.hours,
        );
        let r = self.render("ack", &ctx)?;
        let mid = compose::new_message_id(&self.domain);
        compose::auto_reply(&AutoReply {
            from: &self.cfg.smtp.from,
            to: &c.reply_to,
            subject: &r.subject,
            text: &r.text,
            in_reply_to: c.last_client_msgid.as_deref(),
            references: &c.last_client_refs,
            message_id: &mid,
            date: now,
        })
        .map_err(|source| OutboxError::Compose {
            what: format!("the acknowledgement of {}", c.id),
            source,
        })
    }

    fn notice(
        &self,
        what: String,
        to: &[String],
        cc: &[String],
        r: &templates::Rendered,
        now: DateTime<Utc>,
        related: Option<&str>,
    ) -> Result<Outgoing, OutboxError> {
        let mid = compose::new_message_id(&self.domain);
        compose::staff_notice(
            &self.cfg.smtp.from,
            to,
            cc,
            &r.subject,
            &r.text,
            &mid,
            now,
            related,
        )
        .map_err(|source| OutboxError::Compose { what, source })
    }

    pub fn reminder(&self, c: &Case, now: DateTime<Utc>) -> Result<Outgoing, OutboxError> {
        let ctx = CaseNoticeContext::reminder(
            &c.id,
            &c.client,
            &c.subject,
            &self.cal.to_local(c.received),
            &self.cal.to_local(c.deadline),
            working_time_between(self.cal, now, c.deadline),
            Self::submission(c),
            &self.cfg.organization.name,
        );
        let r = self.render("reminder", &ctx)?;
        let to = vec![self.cfg.reminders.team.clone()];
        self.notice(
            format!("the reminder for {}", c.id),
            &to,
            &[],
            &r,
            now,
            c.last_client_msgid.as_deref(),
        )
    }

    pub fn escalation(&self, c: &Case, now: DateTime<Utc>) -> Result<Outgoing, OutboxError> {
        let ctx = CaseNoticeContext::escalation(
            &c.id,
            &c.client,
            &c.subject,
            &self.cal.to_local(c.received),
            &self.cal.to_local(c.deadline),
            now - c.deadline,
            Self::submission(c),
            &self.cfg.organization.name,
        );
        let r = self.render("escalation", &ctx)?;
        let to = self.cfg.reminders.escalate_to.clone();
        let cc = vec![self.cfg.reminders.team.clone()];
        self.notice(
            format!("the escalation for {}", c.id),
            &to,
            &cc,
            &r,
            now,
            c.last_client_msgid.as_deref(),
        )
    }

    pub fn digest(
        &self,
        date: NaiveDate,
        due: &[&Case],
        overdue: &[&Case],
        now: DateTime<Utc>,
    ) -> Result<Outgoing, OutboxError> {
        let line = |c: &&Case| {
            DigestCase::new(
                &c.id,
                &c.client,
                &c.subject,
                &self.cal.to_local(c.received),
                &self.cal.to_local(c.deadline),
                Self::submission(c),
            )
        };
        let ctx = DigestContext {
            date: date.format("%d.%m.%Y").to_string(),
            due_today: due.iter().map(line).collect(),
            overdue: overdue.iter().map(line).collect(),
            org_name: self.cfg.organization.name.clone(),
        };
        let r = self.render("digest", &ctx)?;
        let to = vec![self.cfg.reminders.team.clone()];
        self.notice(format!("the digest of {date}"), &to, &[], &r, now, None)
    }

    pub fn signature_warning(
        &self,
        author: &Address,
        subject: &str,
        to: &[String],
        sent_at: DateTime<Utc>,
        missing: &[crate::config::SignatureElement],
        now: DateTime<Utc>,
    ) -> Result<Outgoing, OutboxError> {
        let codes: Vec<String> = missing.iter().map(element_code).collect();
        let ctx = SignatureWarningContext::new(
            &author.email,
            author.name.as_deref().unwrap_or_default(),
            subject,
            to,
            &self.cal.to_local(sent_at),
            &codes,
            &signature::expected_signature(author, &self.cfg.staff, &self.cfg.organization),
            &self.cfg.organization.name,
        );
        let r = self.render("signature_warning", &ctx)?;
        let rcpt = vec![author.email.clone()];
        self.notice(
            format!("the signature warning to {}", author.email),
            &rcpt,
            &self.cfg.signature.cc,
            &r,
            now,
            None,
        )
    }
}

/// The code of a signature element as in JSON (`organization`, `name`, ...).
pub fn element_code(e: &crate::config::SignatureElement) -> String {
    use crate::config::SignatureElement::*;
    match e {
        Organization => "organization",
        Name => "name",
        Surname => "surname",
        Contact => "contact",
    }
    .to_string()
}

/// Working time between two instants (for "4 h left").
fn working_time_between(cal: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    if to <= from {
        return Duration::zero();
    }
    // Binary search on subtract_working_time would be exact; walking back by
    // minutes is plenty for a reminder text and bounded by `before`.
    let mut lo = Duration::zero();
    let mut hi = to - from;
    while hi - lo > Duration::minutes(1) {
        let mid = lo + (hi - lo) / 2;
        if cal.subtract_working_time(to, mid) >= from {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// What `apply` did.
#[derive(Debug, Default, Clone)]
pub struct Applied {
    pub acks: u32,
    pub acks_suppressed: u32,
    pub acks_deferred: u32,
    pub reminders: u32,
    pub escalations: u32,
    pub digests: u32,
    pub notices: u32,
}

fn enqueue(
    tx: &Tx,
    kind: &str,
    case_id: Option<&str>,
    key: &str,
    out: &Outgoing,
    not_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let rcpts: Vec<String> = out.to.iter().chain(out.cc.iter()).cloned().collect();
    tx.enqueue(&NewOutbox {
        kind,
        case_id,
        dedup_key: key,
        message_id: &out.message_id,
        mail_from: &out.from,
        rcpts: &rcpts,
        raw: &out.raw,
        not_before,
        created_at: now,
    })
}

/// Carry the engine's actions out inside one transaction: queue the mail
/// and mark the cases, so a crash leaves either both or neither.
pub fn apply_actions(
    tx: &Tx,
    actions: &[Action],
    composer: &Composer,
    now: DateTime<Utc>,
) -> Result<Applied, OutboxError> {
    let mut done = Applied::default();
    for a in actions {
        if let Err(e) = tx.isolated(|tx| apply_action(tx, a, composer, now, &mut done)) {
            // One bad action (say, a client address lettre refuses) must not
            // block the others, nor come back every cycle.
            tracing::error!(action = ?a, error = %e, "action failed; skipped");
            give_up(tx, a, &e.to_string(), now)?;
        }
    }
    Ok(done)
}

/// Mark a failed action as done so it is not retried every cycle.
fn give_up(tx: &Tx, a: &Action, why: &str, now: DateTime<Utc>) -> Result<(), OutboxError> {
    let r = tx.reader();
    let (id, what) = match a {
        Action::Ack { case_id } | Action::AckSuppressed { case_id, .. } => (case_id, "acknowledgement"),
        Action::Reminder { case_id } => (case_id, "reminder"),
        Action::Escalation { case_id } => (case_id, "escalation"),
        Action::AckDeferred { .. } => return Ok(()),
        Action::Digest { date, .. } => {
            tx.set_meta("last_digest_date", &date.to_string())?;
            return Ok(());
        }
    };
    if let Some(mut c) = r.case(id)? {
        match a {
            Action::Reminder { .. } => c.reminded_for = Some(c.deadline),
            Action::Escalation { .. } => c.escalated_for = Some(c.deadline),
            _ => c.acked_cycle = c.cycle,
        }
        tx.save_case(&c, now)?;
        tx.audit(
            now,
            Some(id),
            "failed",
            &format!("{what} not sent: {why}"),
            "replygate",
        )?;
    }
    Ok(())
}

fn apply_action(
    tx: &Tx,
    a: &Action,
    composer: &Composer,
    now: DateTime<Utc>,
    done: &mut Applied,
) -> Result<(), OutboxError> {
    let r = tx.reader();
    {
        match a {
            Action::Ack { case_id } => {
                let Some(mut c) = r.case(case_id)? else {
                    return Ok(());
                };
                let out = composer.ack(&c, now)?;
                let key = format!("ack:{}:{}", c.id, c.cycle);
                if enqueue(tx, "ack", Some(&c.id), &key, &out, now, now)? {
                    tx.link_thread(&out.message_id, Some(&c.id))?;
                    done.acks += 1;
                }
                c.acked_cycle = c.cycle;
                tx.save_case(&c, now)?;
                tx.audit(
                    now,
                    Some(&c.id),
                    "ack-queued",
                    &format!("acknowledgement to {} queued", c.reply_to),
                    "replygate",
                )?;
            }
            Action::AckSuppressed { case_id, reason } => {
                let Some(mut c) = r.case(case_id)? else {
                    return Ok(());
                };
                c.acked_cycle = c.cycle;
                tx.save_case(&c, now)?;
                if c.cycle == 1 {
                    crate::store::facts::ack_suppressed(tx, &c.id, reason.word())?;
                }
                tx.audit(
                    now,
                    Some(&c.id),
                    "ack-suppressed",
                    &format!("no acknowledgement to {}: {reason}", c.reply_to),
                    "replygate",
                )?;
                done.acks_suppressed += 1;
            }
            Action::AckDeferred { case_id } => {
                tracing::info!(case = %case_id, "acknowledgement waits: reply.ack_max_per_hour reached");
                done.acks_deferred += 1;
            }
            Action::Reminder { case_id } => {
                let Some(mut c) = r.case(case_id)? else {
                    return Ok(());
                };
                let out = composer.reminder(&c, now)?;
                let key = format!("reminder:{}:{}", c.id, crate::store::ts(c.deadline));
                if enqueue(tx, "reminder", Some(&c.id), &key, &out, now, now)? {
                    done.reminders += 1;
                }
                c.reminded_for = Some(c.deadline);
                tx.save_case(&c, now)?;
                tx.audit(
                    now,
                    Some(&c.id),
                    "reminder-queued",
                    "reminder to the team queued",
                    "replygate",
                )?;
            }
            Action::Escalation { case_id } => {
                let Some(mut c) = r.case(case_id)? else {
                    return Ok(());
                };
                let out = composer.escalation(&c, now)?;
                let key = format!("escalation:{}:{}", c.id, crate::store::ts(c.deadline));
                if enqueue(tx, "escalation", Some(&c.id), &key, &out, now, now)? {
                    done.escalations += 1;
                }
                c.escalated_for = Some(c.deadline);
                tx.save_case(&c, now)?;
                tx.audit(
                    now,
                    Some(&c.id),
                    "escalation-queued",
                    "escalation queued: the deadline has passed",
                    "replygate",
                )?;
            }
            Action::Digest {
                date,
                due_today,
                overdue,
            } => {
                tx.set_meta("last_digest_date", &date.to_string())?;
                if due_today.is_empty() && overdue.is_empty() {
                    return Ok(());
                }
                let load = |ids: &[String]| -> Result<Vec<Case>, StoreError> {
                    let mut v = Vec::new();
                    for id in ids {
                        if let Some(c) = r.case(id)? {
                            v.push(c);
                        }
                    }
                    Ok(v)
                };
                let due = load(due_today)?;
                let over = load(overdue)?;
                let out = composer.digest(
                    *date,
                    &due.iter().collect::<Vec<_>>(),
                    &over.iter().collect::<Vec<_>>(),
                    now,
                )?;
                if enqueue(tx, "digest", None, &format!("digest:{date}"), &out, now, now)? {
                    done.digests += 1;
                }
            }
        }
    }
    Ok(())
}

/// Queue what the tracker asked to tell people. Staff notices wait for
/// working hours.
pub fn apply_notices(
    tx: &Tx,
    notices: &[Notice],
    composer: &Composer,
    now: DateTime<Utc>,
) -> Result<u32, OutboxError> {
    let mut n = 0;
    let not_before = composer.cal.next_opening(now);
    for notice in notices {
        match notice {
            Notice::SignatureWarning {
                case_id,
                author,
                message_id,
                subject,
                to,
                sent_at,
                missing,
            } => {
                let out = composer.signature_warning(author, subject, to, *sent_at, missing, now)?;
                if enqueue(
                    tx,
                    "signature_warning",
                    case_id.as_deref(),
                    &format!("sigwarn:{message_id}"),
                    &out,
                    not_before,
                    now,
                )? {
                    n += 1;
                }
            }
            Notice::InterimRefused {
                case_id,
                author,
                message_id,
                subject,
                sent_at,
                reason,
            } => {
                let ctx = json!({
                    "case_id": case_id,
                    "author": author.email,
                    "author_name": author.name.clone().unwrap_or_default(),
                    "subject": subject,
                    "sent_at": composer.dt(*sent_at),
                    "reason": reason,
                    "org_name": composer.cfg.organization.name,
                });
                let r = composer.render("interim_refused", &ctx)?;
                let rcpt = vec![author.email.clone()];
                let out = composer.notice(
                    format!("the interim-reply notice to {}", author.email),
                    &rcpt,
                    &[],
                    &r,
                    now,
                    None,
                )?;
                if enqueue(
                    tx,
                    "interim_refused",
                    Some(case_id),
                    &format!("interim:{message_id}"),
                    &out,
                    not_before,
                    now,
                )? {
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

/// Mark `e` sent (and its case acknowledged, for an acknowledgement).
fn mark_sent(tx: &Tx, e: &OutboxEntry, now: DateTime<Utc>) -> Result<(), OutboxError> {
    tx.outbox_mark(e.id, "sent", now, None)?;
    if e.kind == "ack" {
        if let Some(cid) = &e.case_id {
            if let Some(mut c) = tx.reader().case(cid)? {
                c.acknowledged_at = Some(now);
                tx.save_case(&c, now)?;
            }
            if e.dedup_key == format!("ack:{cid}:1") {
                crate::store::facts::acknowledged(tx, cid, now)?;
            }
        }
    }
    // The evidence log's events for what reached the SMTP server.
    let event = match e.kind.as_str() {
        "ack" => Some(("acknowledged", "acknowledgement")),
        "reminder" => Some(("reminded", "reminder to the team")),
        "escalation" => Some(("escalated", "escalation")),
        _ => None,
    };
    if let (Some((action, what)), Some(cid)) = (event, &e.case_id) {
        tx.audit(
            now,
            Some(cid),
            action,
            &format!(
                "{what} {} accepted by the SMTP server for {}",
                e.message_id,
                e.rcpts.join(",")
            ),
            "replygate",
        )?;
    }
    tx.bump_counter(&format!("sent_{}", e.kind), 1)?;
    Ok(())
}

/// Test-only crash points for the end-to-end crash tests: when the
/// environment variable `var` is `1`, abort the process at once (no unwinding,
/// no destructors, no SQLite commit: as close to `kill -9` as a process can do
/// to itself). Compiled only into debug builds (`cfg(debug_assertions)`),
/// which is what `cargo test` runs; a release build has no such hook, so a
/// stray variable in production cannot stop the gateway.
#[inline]
fn test_crash_point(var: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os(var).is_some_and(|v| v == "1") {
        eprintln!("{var}=1: aborting on purpose (test crash hook)");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = var;
}

/// What [`recover_interrupted`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Interrupted entries whose copy was found in a sent folder: marked sent.
    pub found: u32,
    /// Interrupted entries not found: left for [`flush`] to send again with
    /// the same Message-ID.
    pub resend: u32,
}

/// Entries left `sending` by a crash (between marking `sending` and marking
/// `sent`): the SMTP server may or may not have accepted them. Look for each
/// one's Message-ID in `folders` (the IMAP sent folders: `imap.sent` and
/// `smtp.save_copy_to`, where servers such as Exchange and Gmail file
/// submitted mail); found → mark it sent without sending again; not found
/// (or the search failed) → leave it for [`flush`], which sends it again
/// with the same Message-ID (a duplicate acknowledgement is better than a
/// lost escalation). Read-only on the mailbox (EXAMINE + UID SEARCH).
pub async fn recover_interrupted(
    store: &mut Store,
    session: &mut crate::inbound::imap::ImapSession,
    folders: &[String],
    now: DateTime<Utc>,
) -> Result<Recovered, OutboxError> {
    let mut r = Recovered::default();
    let interrupted = store.read().outbox_interrupted()?;
    for e in interrupted {
        let mut found_in = None;
        for folder in folders {
            match session.has_message_id(folder, &e.message_id).await {
                Ok(true) => {
                    found_in = Some(folder.clone());
                    break;
                }
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(folder = %folder, message_id = %e.message_id, error = %err, "cannot search the sent folder for an interrupted message");
                }
            }
        }
        match found_in {
            Some(folder) => {
                store.transaction(|tx| -> Result<(), OutboxError> {
                    mark_sent(tx, &e, now)?;
                    tx.audit(
                        now,
                        e.case_id.as_deref(),
                        "sent-recovered",
                        &format!(
                            "{} to {} was interrupted by a crash; its copy {} is in {folder}: not sent again",
                            e.kind,
                            e.rcpts.join(","),
                            e.message_id
                        ),
                        "replygate",
                    )?;
                    Ok(())
                })?;
                tracing::info!(kind = %e.kind, message_id = %e.message_id, folder = %folder, "interrupted message found in a sent folder: marked sent, not sent again");
                r.found += 1;
            }
            None => {
                tracing::warn!(kind = %e.kind, message_id = %e.message_id, to = %e.rcpts.join(","), "interrupted message not found in any sent folder: sending it again with the same Message-ID");
                r.resend += 1;
            }
        }
    }
    Ok(r)
}

/// What a flush did.
#[derive(Debug, Default, Clone)]
pub struct Flushed {
    pub sent: u32,
    pub retry: u32,
    pub failed: u32,
    pub cancelled: u32,
}

/// The backoff after `attempts` temporary failures: 1 min doubling, at most 1 h.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(0, 6) as u32;
    Duration::minutes((1i64 << exp).min(60))
}

/// Send what is due at `now`. With `ignore_backoff` (one-shot runs) every
/// pending entry is tried, else only those whose retry time has come
/// (measured on the wall clock).
pub async fn flush(
    store: &mut Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
    ignore_backoff: bool,
) -> Result<Flushed, OutboxError> {
    let mut f = Flushed::default();
    let wall = Utc::now();
    let due: Vec<OutboxEntry> = store.read().outbox_sendable(now)?;
    for e in due {
        if !ignore_backoff && e.next_attempt_at > wall && e.attempts > 0 {
            continue;
        }
        // Nothing about a case that is answered or closed by now.
        if matches!(e.kind.as_str(), "ack" | "reminder" | "escalation") {
            if let Some(cid) = &e.case_id {
                let c = store.read().case(cid)?;
                if c.as_ref().is_none_or(|c| c.state != CaseState::Open) {
                    store.transaction(|tx| -> Result<(), OutboxError> {
                        tx.outbox_mark(e.id, "cancelled", now, Some("the case is no longer open"))?;
                        tx.audit(
                            now,
                            Some(cid),
                            "cancelled",
                            &format!("{} not sent: the case is no longer open", e.kind),
                            "replygate",
                        )?;
                        Ok(())
                    })?;
                    f.cancelled += 1;
                    continue;
                }
            }
        }
        store.transaction(|tx| {
            tx.outbox_mark(e.id, "sending", now, None)
                .map_err(OutboxError::from)
        })?;
        test_crash_point("REPLYGATE_TEST_CRASH_BEFORE_SEND");
        let out = Outgoing {
            message_id: e.message_id.clone(),
            from: e.mail_from.clone(),
            to: e.rcpts.clone(),
            cc: vec![],
            subject: String::new(),
            raw: e.raw.clone(),
        };
        match mailer.send(&out).await {
            Ok(()) => {
                test_crash_point("REPLYGATE_TEST_CRASH_AFTER_SENDING");
                store.transaction(|tx| mark_sent(tx, &e, now))?;
                tracing::info!(kind = %e.kind, case = e.case_id.as_deref().unwrap_or("-"), to = %e.rcpts.join(","), message_id = %e.message_id, "sent");
                f.sent += 1;
            }
            Err(SendError::Permanent(msg)) => {
                store.transaction(|tx| -> Result<(), OutboxError> {
                    tx.outbox_mark(e.id, "failed", now, Some(&msg))?;
                    tx.audit(
                        now,
                        e.case_id.as_deref(),
                        "send-failed",
                        &format!("{} to {}: {msg}", e.kind, e.rcpts.join(",")),
                        "replygate",
                    )?;
                    tx.bump_counter("outbox_failed", 1)?;
                    Ok(())
                })?;
                tracing::error!(kind = %e.kind, to = %e.rcpts.join(","), error = %msg, "SMTP server refused the message for good; see `replygate status`");
                f.failed += 1;
            }
            Err(SendError::Temporary(msg)) => {
                let next = wall + backoff(e.attempts);
                store.transaction(|tx| tx.outbox_retry(e.id, next, &msg).map_err(OutboxError::from))?;
                tracing::warn!(kind = %e.kind, to = %e.rcpts.join(","), error = %msg, retry_at = %next, "sending failed, will retry");
                f.retry += 1;
                // The server is unreachable: the rest would fail the same way.
                break;
            }
        }
    }
    Ok(f)
}
