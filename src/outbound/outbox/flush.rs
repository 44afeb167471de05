//! Flushing: due outbox entries go to the SMTP server, up to
//! `smtp.connections` transactions at once, each committed `sending`
//! before its transaction starts and `sent` as soon as the server accepted
//! it (see the crash table in [`super`]).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;

use super::OutboxError;
use crate::outbound::compose::Outgoing;
use crate::outbound::smtp::{Mailer, SendError};
use crate::store::{CaseState, OutboxEntry, OutboxKind, OutboxState, Store, Tx};

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

/// Mark `e` sent (and its case acknowledged, for an acknowledgement). The
/// caller counts it (`sent_<kind>`).
pub(super) fn mark_sent(tx: &Tx, e: &OutboxEntry, now: DateTime<Utc>) -> Result<(), OutboxError> {
    tx.outbox_mark(e.id, OutboxState::Sent, now, None)?;
    if e.kind == OutboxKind::Ack {
        if let Some(cid) = &e.case_id {
            tx.case_acknowledged(cid, now)?;
            if e.dedup_key == format!("ack:{cid}:1") {
                crate::store::facts::acknowledged(tx, cid, now)?;
            }
        }
    }
    // The evidence log's events for what reached the SMTP server.
    let event = match e.kind {
        OutboxKind::Ack => Some(("acknowledged", "acknowledgement")),
        OutboxKind::Reminder => Some(("reminded", "reminder to the team")),
        OutboxKind::Escalation => Some(("escalated", "escalation")),
        _ => None,
    };
    if e.kind == OutboxKind::EscalationList {
        let detail = format!(
            "escalation {} (one mail listing several cases) accepted by the SMTP server for {}",
            e.message_id,
            e.rcpts.join(",")
        );
        for cid in tx.reader().outbox_cases(e.id)? {
            tx.audit(now, Some(&cid), "escalated", &detail, "replygate")?;
        }
    }
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

/// The message of an outbox entry as the mailer takes it.
fn outgoing(e: &OutboxEntry) -> Outgoing {
    Outgoing {
        message_id: e.message_id.clone(),
        from: e.mail_from.clone(),
        to: e.rcpts.clone(),
        cc: vec![],
        subject: String::new(),
        raw: e.raw.clone(),
    }
}

/// Send what is due at `now`. With `ignore_backoff` (one-shot runs) every
/// pending entry is tried, else only those whose retry time has come by
/// `wall` (the wall clock, passed in: retries are scheduled on it).
///
/// The first transaction runs alone; once it succeeded, up to
/// `smtp.connections` run at once (a server that is down or refusing is
/// learnt from one message, not from one per connection). A temporary
/// failure stops starting new ones (the rest would fail the same way); those
/// in flight finish.
pub async fn flush(
    store: &mut Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
    wall: DateTime<Utc>,
    ignore_backoff: bool,
) -> Result<Flushed, OutboxError> {
    let mut f = Flushed::default();
    let mut ramped = false;
    let mut after = 0;
    loop {
        let page = store.read().outbox_sendable(now, after, FLUSH_PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let full = page.len() == FLUSH_PAGE;
        let due: Vec<OutboxEntry> = page
            .into_iter()
            .filter(|e| ignore_backoff || e.attempts == 0 || e.next_attempt_at <= wall)
            .collect();
        let stopped = flush_page(store, mailer, now, wall, due, &mut ramped, &mut f).await?;
        if stopped || !full {
            break;
        }
    }
    Ok(f)
}

/// Record what the SMTP server said to each finished transaction: `sent`,
/// `failed` for good, or a retry at [`retry_time`].
fn record_outcomes(
    tx: &Tx,
    done: &[(OutboxEntry, Result<(), SendError>)],
    now: DateTime<Utc>,
    wall: DateTime<Utc>,
) -> Result<(), OutboxError> {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for (e, res) in done {
        match res {
            Ok(()) => {
                mark_sent(tx, e, now)?;
                *counts.entry(format!("sent_{}", e.kind)).or_default() += 1;
            }
            Err(SendError::Permanent(msg)) => {
                tx.outbox_mark(e.id, OutboxState::Failed, now, Some(msg))?;
                tx.audit(
                    now,
                    e.case_id.as_deref(),
                    "send-failed",
                    &format!("{} to {}: {msg}", e.kind, e.rcpts.join(",")),
                    "replygate",
                )?;
                *counts.entry("outbox_failed".into()).or_default() += 1;
            }
            Err(SendError::Temporary(msg)) => {
                tx.outbox_retry(e.id, retry_time(e, wall), msg)?;
            }
        }
    }
    for (name, n) in counts {
        tx.bump_counter(&name, n)?;
    }
    Ok(())
}

/// When an entry that failed for now is tried again: its backoff after
/// `wall`.
fn retry_time(e: &OutboxEntry, wall: DateTime<Utc>) -> DateTime<Utc> {
    wall + backoff(e.attempts)
}

/// Log and count the outcomes [`record_outcomes`] committed.
fn log_outcomes(done: Vec<(OutboxEntry, Result<(), SendError>)>, wall: DateTime<Utc>, f: &mut Flushed) {
    for (e, res) in done {
        match res {
            Ok(()) => {
                tracing::info!(kind = %e.kind, case = e.case_id.as_deref().unwrap_or("-"), to = %e.rcpts.join(","), message_id = %e.message_id, "sent");
                f.sent += 1;
            }
            Err(SendError::Permanent(msg)) => {
                tracing::error!(kind = %e.kind, to = %e.rcpts.join(","), error = %msg, "SMTP server refused the message for good; see `replygate status`");
                f.failed += 1;
            }
            Err(SendError::Temporary(msg)) => {
                let next = retry_time(&e, wall);
                tracing::warn!(kind = %e.kind, to = %e.rcpts.join(","), error = %msg, retry_at = %next, "sending failed, will retry");
                f.retry += 1;
            }
        }
    }
}

/// Whether a transaction among `done` failed for now.
fn any_temporary(done: &[(OutboxEntry, Result<(), SendError>)]) -> bool {
    done.iter()
        .any(|(_, r)| matches!(r, Err(SendError::Temporary(_))))
}

/// Outbox entries read per page (see [`flush`]).
const FLUSH_PAGE: usize = 500;

/// Entries marked `sending` ahead of their transaction, per connection:
/// fewer commits carry marks, and a crash leaves at most
/// `smtp.connections` × (this + 1) entries to look up in the sent folders.
const MARKED_AHEAD: usize = 4;

/// Send one page of due entries; `true` when a temporary failure stopped
/// it (the rest would fail the same way). `ramped`: a transaction has
/// succeeded in this flush, so several may run at once.
#[allow(clippy::too_many_arguments)]
async fn flush_page(
    store: &mut Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
    wall: DateTime<Utc>,
    due: Vec<OutboxEntry>,
    ramped: &mut bool,
    f: &mut Flushed,
) -> Result<bool, OutboxError> {
    if due.is_empty() {
        return Ok(false);
    }

    // Nothing about a case that is answered or closed by now: cancelled in
    // one transaction.
    let mut sendable = Vec::with_capacity(due.len());
    let mut cancel = Vec::new();
    {
        let r = store.read();
        for e in due {
            let closed = match (&e.case_id, e.kind.about_open_case()) {
                (Some(cid), true) => r.case_state(cid)? != Some(CaseState::Open),
                // A list: pointless once none of its cases is open.
                (None, _) if e.kind == OutboxKind::EscalationList => {
                    let mut none_open = true;
                    for cid in r.outbox_cases(e.id)? {
                        if r.case_state(&cid)? == Some(CaseState::Open) {
                            none_open = false;
                            break;
                        }
                    }
                    none_open
                }
                _ => false,
            };
            if closed {
                cancel.push(e);
            } else {
                sendable.push(e);
            }
        }
    }
    if !cancel.is_empty() {
        store.transaction(|tx| -> Result<(), OutboxError> {
            for e in &cancel {
                tx.outbox_mark(
                    e.id,
                    OutboxState::Cancelled,
                    now,
                    Some("the case is no longer open"),
                )?;
                tx.audit(
                    now,
                    e.case_id.as_deref(),
                    "cancelled",
                    &format!("{} not sent: the case is no longer open", e.kind),
                    "replygate",
                )?;
            }
            Ok(())
        })?;
        f.cancelled += cancel.len() as u32;
    }

    let width = mailer.connections().max(1);
    let mut queue = sendable.into_iter();
    // Entries committed `sending` whose transaction has not started yet:
    // marked a few at a time, so a transaction that finishes is replaced
    // at once, before its outcome's commit, not after it.
    let mut marked: VecDeque<OutboxEntry> = VecDeque::new();
    let mut inflight = FuturesUnordered::new();
    let mut stop = false;
    // Transactions that finished and whose outcome is not yet committed.
    let mut done: Vec<(OutboxEntry, Result<(), SendError>)> = Vec::new();
    loop {
        // The server is unreachable: the rest would fail the same way.
        stop = stop || any_temporary(&done);
        let room = if *ramped { width } else { 1 };
        if !stop && inflight.len() < room && !marked.is_empty() {
            test_crash_point("REPLYGATE_TEST_CRASH_BEFORE_SEND");
            while inflight.len() < room {
                let Some(e) = marked.pop_front() else { break };
                inflight.push(async move {
                    let res = mailer.send(&outgoing(&e)).await;
                    (e, res)
                });
            }
            // Their first turn: their first commands go out and the server
            // answers them while the commit below runs.
            while let Some(Some(x)) = inflight.next().now_or_never() {
                done.push(x);
            }
            // (What finished in that turn is committed below: look now.)
            stop = stop || any_temporary(&done);
        }
        // One commit: the outcomes of the transactions that finished (none
        // waits for a transaction still running), the next entries marked
        // `sending` (until a transaction has succeeded, one at a time), and
        // once stopped, those marked and not started back to `pending`.
        let mark: Vec<OutboxEntry> = if stop {
            Vec::new()
        } else if *ramped && marked.len() < width {
            queue.by_ref().take(width * MARKED_AHEAD - marked.len()).collect()
        } else if marked.is_empty() && inflight.is_empty() {
            queue.by_ref().take(1).collect()
        } else {
            Vec::new()
        };
        let unmark: Vec<OutboxEntry> = if stop {
            marked.drain(..).collect()
        } else {
            Vec::new()
        };
        if !done.is_empty() || !mark.is_empty() || !unmark.is_empty() {
            store.transaction(|tx| -> Result<(), OutboxError> {
                record_outcomes(tx, &done, now, wall)?;
                for e in &mark {
                    tx.outbox_mark(e.id, OutboxState::Sending, now, None)?;
                }
                for e in &unmark {
                    tx.outbox_mark(e.id, OutboxState::Pending, now, None)?;
                }
                Ok(())
            })?;
            log_outcomes(std::mem::take(&mut done), wall, f);
            let more = !mark.is_empty();
            marked.extend(mark);
            if more && inflight.len() < room {
                continue; // start them
            }
        }
        let Some(first) = inflight.next().await else {
            break;
        };
        // Whatever else finished meanwhile is recorded in the same commit.
        done.push(first);
        while let Some(Some(x)) = inflight.next().now_or_never() {
            done.push(x);
        }
        if done.iter().any(|(_, r)| r.is_ok()) {
            test_crash_point("REPLYGATE_TEST_CRASH_AFTER_SENDING");
            *ramped = true;
        }
    }
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::config::SmtpConfig;
    use crate::store::NewOutbox;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A server that fails for now after one message, in a flush of many
    /// over four connections: the flush stops; the one accepted is `sent`;
    /// those refused wait for their retry; those marked `sending` ahead
    /// and never started are `pending` again, not tried (no attempt
    /// counted); nothing is left `sending` (which the next start would
    /// take for a crash) and nothing is lost.
    #[tokio::test]
    async fn a_server_failing_mid_flush_leaves_nothing_sending() {
        let failing = |accept| {
            crate::outbound::smtp::scripted::start(crate::outbound::smtp::scripted::Script {
                pipelining: true,
                accept,
                refuse_rcpt: "",
            })
        };
        let server = failing(1).await;
        let (port, accepted) = (server.port, server.accepted);
        let cfg = crate::outbound::smtp::scripted::config(port);
        let mailer = Mailer::new(&cfg, None).unwrap();
        let now = t("2026-11-25T10:00:00+02:00");
        let mut store = Store::open_in_memory().unwrap();
        let n = 40;
        store
            .transaction(|tx| -> Result<(), crate::store::StoreError> {
                for i in 0..n {
                    let mid = format!("m{i}@sif.gov.lv");
                    let raw = format!(
                        "From: pasts@sif.gov.lv\r\nTo: k{i}@example.lv\r\nMessage-ID: <{mid}>\r\nSubject: {i}\r\n\r\nlabdien\r\n"
                    );
                    tx.enqueue(&NewOutbox {
                        kind: OutboxKind::Reminder,
                        case_id: None,
                        dedup_key: &format!("k{i}"),
                        message_id: &mid,
                        mail_from: "pasts@sif.gov.lv",
                        rcpts: &[format!("k{i}@example.lv")],
                        raw: raw.as_bytes(),
                        not_before: now,
                        created_at: now,
                    })?;
                }
                Ok(())
            })
            .unwrap();
        let f = flush(&mut store, &mailer, now, now, false).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(f.sent, 1);
        assert!((1..=4).contains(&f.retry), "{f:?}");
        let all = store.read().outbox_all().unwrap();
        assert_eq!(all.len(), n);
        let state = |s: OutboxState| all.iter().filter(|e| e.state == s).count();
        assert_eq!(state(OutboxState::Sent), 1);
        assert_eq!(state(OutboxState::Sending), 0, "nothing left for crash recovery");
        assert_eq!(state(OutboxState::Pending), n - 1);
        let tried = all.iter().filter(|e| e.attempts > 0).count();
        assert_eq!(tried, f.retry as usize, "only those refused count an attempt");
        // The next flush (the server back) sends the rest, once each.
        let back = failing(usize::MAX).await;
        let (port2, accepted2) = (back.port, back.accepted);
        let mailer2 = Mailer::new(&SmtpConfig { port: port2, ..cfg }, None).unwrap();
        let f2 = flush(&mut store, &mailer2, now, now, true).await.unwrap();
        assert_eq!(f2.sent as usize, n - 1);
        assert_eq!(accepted2.load(Ordering::SeqCst), n - 1);
        assert!(store
            .read()
            .outbox_all()
            .unwrap()
            .iter()
            .all(|e| e.state == OutboxState::Sent));
    }
}
