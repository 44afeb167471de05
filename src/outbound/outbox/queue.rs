//! Queueing: the engine's actions and the tracker's notices become outbox
//! entries, in the same transaction as the case changes they cause.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Composer, OutboxError};
use crate::cases::tracker::Notice;
use crate::outbound::compose::Outgoing;
use crate::outbound::templates::DigestCase;
use crate::rules::engine::Action;
use crate::store::{Case, NewOutbox, OutboxKind, StoreError, Tx};

/// What `apply` did.
#[derive(Debug, Default, Clone)]
pub struct Applied {
    pub acks: u32,
    pub acks_suppressed: u32,
    pub acks_deferred: u32,
    pub reminders: u32,
    pub escalations: u32,
    /// Combined escalations (each listing several cases).
    pub escalation_lists: u32,
    pub digests: u32,
    pub notices: u32,
}

fn enqueue(
    tx: &Tx,
    kind: OutboxKind,
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
    // All at once in one savepoint (a savepoint per action copies every
    // database page it changes into the sub-journal, and a backlog decides
    // thousands of actions); an action that fails rolls that back, and the
    // actions run again one by one, each in its own savepoint.
    let mut done = Applied::default();
    if all_at_once(tx, actions, composer, now, &mut done).is_ok() {
        return Ok(done);
    }
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

/// Acknowledgements composed on a thread of their own, ahead of their
/// queueing, from this many on (fewer are not worth a thread).
const COMPOSE_AHEAD_FROM: usize = 16;

/// How many composed acknowledgements may wait for their queueing.
const COMPOSED_WAITING: usize = 64;

/// [`apply_actions`]' first try: every action in one savepoint. The
/// acknowledgements (a backlog's thousands, each a template rendered and a
/// message composed) are composed on a second thread while this one
/// queues them: their cases are read and their Message-IDs drawn here
/// first, in the actions' order, and the messages come back in that order.
fn all_at_once(
    tx: &Tx,
    actions: &[Action],
    composer: &Composer,
    now: DateTime<Utc>,
    done: &mut Applied,
) -> Result<(), OutboxError> {
    let acks = actions.iter().filter(|a| matches!(a, Action::Ack { .. })).count();
    if acks < COMPOSE_AHEAD_FROM {
        return tx.isolated(|tx| {
            actions
                .iter()
                .try_for_each(|a| apply_action(tx, a, composer, now, done))
        });
    }
    // Each acknowledgement's case as it is before any action is carried
    // out: no other action changes what an acknowledgement says (its
    // case's number, dates, subject, addresses, cycle), and the case is
    // marked with a narrow UPDATE (`mark_ack_cycle`), not written back
    // whole, so what the actions before it changed stays.
    let mut jobs: Vec<Option<(Case, String)>> = Vec::with_capacity(acks);
    let r = tx.reader();
    for a in actions {
        if let Action::Ack { case_id } = a {
            jobs.push(r.case(case_id)?.map(|c| (c, composer.message_id())));
        }
    }
    let (cfg, cal, templates) = (composer.cfg, composer.cal, composer.templates);
    std::thread::scope(|s| {
        let (sender, composed) = std::sync::mpsc::sync_channel(COMPOSED_WAITING);
        let jobs = &jobs;
        let worker = s.spawn(move || {
            let composer = Composer::new(cfg, cal, templates, &|| 0);
            for (c, mid) in jobs.iter().flatten() {
                if sender.send(composer.ack_as(c, now, mid)).is_err() {
                    break; // the queueing stopped
                }
            }
        });
        let mut next_job = jobs.iter();
        let res = tx.isolated(|tx| {
            actions.iter().try_for_each(|a| match a {
                Action::Ack { .. } => {
                    let Some(Some((c, _))) = next_job.next() else {
                        return Ok(()); // no such case
                    };
                    let out = composed
                        .recv()
                        .map_err(|_| OutboxError::Composer("the composing thread stopped".into()))??;
                    queue_ack(tx, c, &out, now, done)
                }
                _ => apply_action(tx, a, composer, now, done),
            })
        });
        // A failure stopped the queueing: the thread stops at its next send.
        drop(composed);
        match worker.join() {
            Ok(()) => res,
            Err(_) => Err(OutboxError::Composer("the composing thread panicked".into())),
        }
    })
}

/// Queue the acknowledgement `out` of `c` and mark its cycle acknowledged.
fn queue_ack(
    tx: &Tx,
    c: &Case,
    out: &Outgoing,
    now: DateTime<Utc>,
    done: &mut Applied,
) -> Result<(), OutboxError> {
    let key = format!("ack:{}:{}", c.id, c.cycle);
    if enqueue(tx, OutboxKind::Ack, Some(&c.id), &key, out, now, now)? {
        tx.link_thread(&out.message_id, Some(&c.id))?;
        done.acks += 1;
    }
    tx.mark_ack_cycle(&c.id, now)?;
    tx.audit(
        now,
        Some(&c.id),
        "ack-queued",
        &format!("acknowledgement to {} queued", c.reply_to),
        "replygate",
    )?;
    Ok(())
}

/// Mark a failed action as done so it is not retried every cycle.
fn give_up(tx: &Tx, a: &Action, why: &str, now: DateTime<Utc>) -> Result<(), OutboxError> {
    let r = tx.reader();
    let (id, what) = match a {
        Action::Ack { case_id } | Action::AckSuppressed { case_id, .. } => (case_id, "acknowledgement"),
        Action::Reminder { case_id } => (case_id, "reminder"),
        Action::Escalation { case_id } => (case_id, "escalation"),
        Action::AckDeferred { .. } => return Ok(()),
        Action::EscalationList { case_ids } => {
            for id in case_ids {
                give_up(tx, &Action::Escalation { case_id: id.clone() }, why, now)?;
            }
            return Ok(());
        }
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
                let Some(c) = r.case(case_id)? else {
                    return Ok(());
                };
                let out = composer.ack(&c, now)?;
                queue_ack(tx, &c, &out, now, done)?;
            }
            Action::AckSuppressed { case_id, reason } => {
                let Some((cycle, reply_to)) = tx.close_ack_cycle(case_id, now)? else {
                    return Ok(());
                };
                if cycle == 1 {
                    crate::store::facts::ack_suppressed(tx, case_id, reason.word())?;
                }
                tx.audit(
                    now,
                    Some(case_id),
                    "ack-suppressed",
                    &format!("no acknowledgement to {reply_to}: {reason}"),
                    "replygate",
                )?;
                done.acks_suppressed += 1;
            }
            // Logged as due (pipeline::log_due); nothing is stored: the
            // engine decides it again next hour.
            Action::AckDeferred { .. } => done.acks_deferred += 1,
            Action::Reminder { case_id } => {
                let Some(mut c) = r.case(case_id)? else {
                    return Ok(());
                };
                let out = composer.reminder(&c, now)?;
                let key = format!("reminder:{}:{}", c.id, crate::store::ts(c.deadline));
                if enqueue(tx, OutboxKind::Reminder, Some(&c.id), &key, &out, now, now)? {
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
                if enqueue(tx, OutboxKind::Escalation, Some(&c.id), &key, &out, now, now)? {
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
            Action::EscalationList { case_ids } => {
                // Each case is marked and its line made as it is read, so
                // a list of thousands holds lines, not cases.
                let mut lines = Vec::with_capacity(case_ids.len());
                let mut listed = Vec::with_capacity(case_ids.len());
                for id in case_ids {
                    let Some(c) = tx.mark_escalated(id, now)? else {
                        continue;
                    };
                    lines.push(composer.escalation_line(&c, now));
                    listed.push(c.id);
                }
                let Some(first) = listed.first() else {
                    return Ok(());
                };
                let out = composer.escalation_list(lines, now)?;
                let key = format!("escalation_list:{}:{first}", crate::store::ts(now));
                if enqueue(tx, OutboxKind::EscalationList, None, &key, &out, now, now)? {
                    tx.link_outbox_cases(tx.last_insert_rowid(), &listed)?;
                    done.escalation_lists += 1;
                    done.escalations += listed.len() as u32;
                }
                let detail = format!(
                    "escalation queued: the deadline has passed (one mail listing {} cases)",
                    listed.len()
                );
                for id in &listed {
                    tx.audit(now, Some(id), "escalation-queued", &detail, "replygate")?;
                }
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
                // Lines are made as the cases are read: a digest of
                // thousands holds lines, not cases.
                let feedback: std::collections::HashSet<String> = r.feedback_cases()?.into_iter().collect();
                let lines = |ids: &[String]| -> Result<Vec<DigestCase>, StoreError> {
                    let mut v = Vec::with_capacity(ids.len());
                    for id in ids {
                        if let Some(c) = r.case(id)? {
                            v.push(composer.digest_line(&c, feedback.contains(&c.id)));
                        }
                    }
                    Ok(v)
                };
                let out = composer.digest(*date, lines(due_today)?, lines(overdue)?, now)?;
                if enqueue(
                    tx,
                    OutboxKind::Digest,
                    None,
                    &format!("digest:{date}"),
                    &out,
                    now,
                    now,
                )? {
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
                    OutboxKind::SignatureWarning,
                    case_id.as_deref(),
                    &format!("sigwarn:{message_id}"),
                    &out,
                    not_before,
                    now,
                )? {
                    n += 1;
                }
            }
            Notice::Feedback { case_id, matched } => {
                let Some(c) = tx.reader().case(case_id)? else {
                    continue;
                };
                let out = composer.feedback_notice(&c, matched, now)?;
                if enqueue(
                    tx,
                    OutboxKind::Feedback,
                    Some(case_id),
                    &format!("feedback:{case_id}"),
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
                    OutboxKind::InterimRefused,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::calendar::Calendar;
    use crate::rules::deadline::CaseKind;
    use crate::rules::engine::SuppressReason;
    use crate::store::{Case, Store};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The example config's settings, as the daemon loads them.
    struct Fixture {
        cfg: crate::config::Config,
        cal: Calendar,
        templates: crate::outbound::templates::Templates,
    }

    impl Fixture {
        fn new() -> Self {
            let cfg = crate::config::parse_str(
                include_str!("../../../config/replygate.toml"),
                std::path::Path::new("replygate.toml"),
            )
            .unwrap();
            let cal = Calendar::from_config(&cfg.calendar).unwrap();
            let templates = crate::outbound::templates::Templates::load(None).unwrap();
            Fixture { cfg, cal, templates }
        }
    }

    /// Message-ID randomness that counts 1, 2, 3, …
    fn counting_ids() -> impl Fn() -> u128 {
        let n = std::cell::Cell::new(0u128);
        move || {
            n.set(n.get() + 1);
            n.get()
        }
    }

    /// The instant the tests apply their actions at: Wednesday 16:30 Riga.
    fn now() -> DateTime<Utc> {
        t("2026-11-25T16:30:00+02:00")
    }

    /// A store with three open cases past their deadline, A in its first
    /// cycle, B in its second, C in its first, with their facts.
    fn three_cases() -> (Store, [Case; 3]) {
        let now = now();
        let mut store = Store::open_in_memory().unwrap();
        let case = |id: &str, client: &str, cycle: i64| Case {
            cycle,
            acked_cycle: cycle - 1,
            ..Case::open(
                id.into(),
                client,
                "Jautājums",
                CaseKind::Email,
                t("2026-11-20T10:00:00+02:00"),
                t("2026-11-24T17:00:00+02:00"),
            )
        };
        let cases = [
            case("A", "anna@inbox.lv", 1),
            case("B", "bruno@inbox.lv", 2),
            case("C", "cilda@inbox.lv", 1),
        ];
        store
            .transaction(|tx| -> Result<(), StoreError> {
                for x in &cases {
                    tx.save_case(x, now)?;
                    crate::store::facts::opened(tx, &x.id, x.deadline, x.deadline)?;
                }
                Ok(())
            })
            .unwrap();
        (store, cases)
    }

    /// An acknowledgement not sent closes the cycle's acknowledgement
    /// question of its case alone, says why in the audit, and is a case
    /// fact only for the first cycle (a reopened case keeps its first
    /// cycle's facts); a case that is gone is skipped.
    #[test]
    fn a_suppressed_acknowledgement_marks_only_its_case() {
        let f = Fixture::new();
        let ids = || 1u128;
        let composer = Composer::new(&f.cfg, &f.cal, &f.templates, &ids);
        let now = now();
        let (mut store, [a, b, c]) = three_cases();
        let suppress = |id: &str| Action::AckSuppressed {
            case_id: id.into(),
            reason: SuppressReason::Stale,
        };
        let done = store
            .transaction(|tx| {
                apply_actions(
                    tx,
                    &[suppress("A"), suppress("B"), suppress("gone")],
                    &composer,
                    now,
                )
            })
            .unwrap();
        assert_eq!(done.acks_suppressed, 2);
        let facts = store
            .transaction(|tx| -> Result<_, StoreError> {
                Ok([
                    crate::store::facts::get(tx, "A")?,
                    crate::store::facts::get(tx, "B")?,
                ])
            })
            .unwrap();
        let r = store.read();
        for ((x, first_cycle), facts) in [(&a, true), (&b, false)].into_iter().zip(facts) {
            let got = r.case(&x.id).unwrap().unwrap();
            assert_eq!((got.cycle, got.acked_cycle), (x.cycle, x.cycle), "{}", x.id);
            assert_eq!(
                Case {
                    acked_cycle: x.acked_cycle,
                    ..got
                },
                *x,
                "{}: nothing else changed",
                x.id
            );
            let audit = r.audit_for(&x.id).unwrap();
            let last = audit.last().unwrap();
            assert_eq!(last.action, "ack-suppressed");
            assert!(
                last.detail
                    .starts_with(&format!("no acknowledgement to {}: ", x.reply_to)),
                "{}",
                last.detail
            );
            assert_eq!(facts.unwrap().ack_suppressed.is_some(), first_cycle, "{}", x.id);
        }
        let untouched = r.case("C").unwrap().unwrap();
        assert_eq!(untouched, c);
        assert!(r
            .audit_for("C")
            .unwrap()
            .iter()
            .all(|e| e.action != "ack-suppressed"));
    }

    /// An escalation list marks each listed case escalated for its present
    /// deadline and nothing else, names them in one queued mail linked to
    /// them, and audits each; a case that is gone is skipped, and a case
    /// not listed is untouched.
    #[test]
    fn an_escalation_list_marks_only_its_cases() {
        let f = Fixture::new();
        let ids = || 2u128;
        let composer = Composer::new(&f.cfg, &f.cal, &f.templates, &ids);
        let now = now();
        let (mut store, [a, b, c]) = three_cases();
        let list = Action::EscalationList {
            case_ids: vec!["A".into(), "gone".into(), "B".into()],
        };
        let done = store
            .transaction(|tx| apply_actions(tx, &[list], &composer, now))
            .unwrap();
        assert_eq!((done.escalation_lists, done.escalations), (1, 2));
        let r = store.read();
        for x in [&a, &b] {
            let got = r.case(&x.id).unwrap().unwrap();
            assert_eq!(got.escalated_for, Some(x.deadline), "{}", x.id);
            assert_eq!(
                Case {
                    escalated_for: None,
                    ..got
                },
                *x,
                "{}: nothing else changed",
                x.id
            );
            let audit = r.audit_for(&x.id).unwrap();
            assert_eq!(audit.last().unwrap().action, "escalation-queued", "{}", x.id);
        }
        assert_eq!(r.case("C").unwrap().unwrap(), c);
        assert!(r
            .audit_for("C")
            .unwrap()
            .iter()
            .all(|e| e.action != "escalation-queued"));
        let queued = r.outbox_all().unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].kind, OutboxKind::EscalationList);
        assert_eq!(r.outbox_cases(queued[0].id).unwrap(), ["A", "B"]);
        let m = mail_parser::MessageParser::default()
            .parse(&queued[0].raw)
            .unwrap();
        let body = m.body_text(0).unwrap();
        assert!(
            body.contains("anna@inbox.lv") && body.contains("bruno@inbox.lv"),
            "{body}"
        );
        assert!(!body.contains("cilda@inbox.lv"), "{body}");
    }

    /// An action that fails (here an address the mail library refuses) is
    /// given up alone: the others are queued once each, its case is marked
    /// so that it does not come back every cycle, and its audit says why.
    #[test]
    fn a_failing_action_is_given_up_alone() {
        let f = Fixture::new();
        let ids = counting_ids();
        let composer = Composer::new(&f.cfg, &f.cal, &f.templates, &ids);
        let now = now();
        let (mut store, [a, b, c]) = three_cases();
        let bad = Case {
            reply_to: "bruno at inbox".into(),
            ..b.clone()
        };
        store.transaction(|tx| tx.save_case(&bad, now)).unwrap();
        let ack = |id: &str| Action::Ack { case_id: id.into() };
        let done = store
            .transaction(|tx| apply_actions(tx, &[ack("A"), ack("B"), ack("C")], &composer, now))
            .unwrap();
        assert_eq!(done.acks, 2);
        let r = store.read();
        let queued = r.outbox_all().unwrap();
        let mut cases: Vec<_> = queued.iter().map(|o| o.case_id.clone().unwrap()).collect();
        cases.sort();
        assert_eq!(cases, ["A", "C"]);
        for x in [&a, &c] {
            assert_eq!(r.case(&x.id).unwrap().unwrap().acked_cycle, x.cycle, "{}", x.id);
        }
        let got = r.case("B").unwrap().unwrap();
        assert_eq!(got.acked_cycle, got.cycle, "B is not tried again");
        let last = r.audit_for("B").unwrap().pop().unwrap();
        assert_eq!(last.action, "failed");
        assert!(
            last.detail.starts_with("acknowledgement not sent: "),
            "{}",
            last.detail
        );
    }

    /// A store with `n` open cases past their deadline (K00, K01, …), each
    /// in its first cycle and not acknowledged.
    fn many_cases(n: usize) -> (Store, Vec<Case>) {
        let now = now();
        let mut store = Store::open_in_memory().unwrap();
        let cases: Vec<Case> = (0..n)
            .map(|i| {
                Case::open(
                    format!("K{i:02}"),
                    &format!("klients{i}@inbox.lv"),
                    "Jautājums",
                    CaseKind::Email,
                    t("2026-11-20T10:00:00+02:00"),
                    t("2026-11-24T17:00:00+02:00"),
                )
            })
            .collect();
        store
            .transaction(|tx| -> Result<(), StoreError> {
                for x in &cases {
                    tx.save_case(x, now)?;
                }
                Ok(())
            })
            .unwrap();
        (store, cases)
    }

    /// Enough acknowledgements to be composed on the second thread, among
    /// other actions: each is queued once, to its case's client, with the
    /// Message-ID drawn for it in the actions' order; a case that is gone
    /// is skipped; and a reminder carried out before an acknowledgement of
    /// the same case stays marked (the case read ahead for composing is
    /// not written back over it).
    #[test]
    fn acknowledgements_composed_ahead_are_queued_in_order_once_each() {
        let f = Fixture::new();
        let ids = counting_ids();
        let composer = Composer::new(&f.cfg, &f.cal, &f.templates, &ids);
        let now = now();
        let count = COMPOSE_AHEAD_FROM + 4;
        let (mut store, cases) = many_cases(count);
        let mut actions = vec![Action::Reminder {
            case_id: cases[0].id.clone(),
        }];
        for (i, c) in cases.iter().enumerate() {
            actions.push(Action::Ack {
                case_id: c.id.clone(),
            });
            if i == 3 {
                actions.push(Action::Ack {
                    case_id: "gone".into(),
                });
            }
        }
        let done = store
            .transaction(|tx| apply_actions(tx, &actions, &composer, now))
            .unwrap();
        assert_eq!((done.acks, done.reminders), (count as u32, 1));
        let r = store.read();
        let acks: Vec<_> = r
            .outbox_all()
            .unwrap()
            .into_iter()
            .filter(|o| o.kind == OutboxKind::Ack)
            .collect();
        assert_eq!(acks.len(), count);
        for (i, (o, c)) in acks.iter().zip(&cases).enumerate() {
            assert_eq!(o.case_id.as_deref(), Some(c.id.as_str()));
            assert_eq!(o.rcpts, std::slice::from_ref(&c.reply_to));
            assert_eq!(o.dedup_key, format!("ack:{}:1", c.id));
            // Drawn first, in order: the reminder's comes after them.
            let mid = crate::outbound::compose::message_id(i as u128 + 1, &composer.domain);
            assert_eq!(o.message_id, mid);
            let m = mail_parser::MessageParser::default().parse(&o.raw).unwrap();
            assert_eq!(m.message_id(), Some(mid.as_str()));
            let body = m.body_text(0).unwrap();
            assert!(
                body.contains(&c.id),
                "the acknowledgement of {} names it: {body}",
                c.id
            );
            let got = r.case(&c.id).unwrap().unwrap();
            assert_eq!(got.acked_cycle, got.cycle, "{}", c.id);
            assert_eq!(r.audit_for(&c.id).unwrap().last().unwrap().action, "ack-queued");
        }
        let first = r.case(&cases[0].id).unwrap().unwrap();
        assert_eq!(
            first.reminded_for,
            Some(first.deadline),
            "the reminder's mark stays"
        );
        assert!(r.case("gone").unwrap().is_none());
    }

    /// An acknowledgement composed ahead that fails (an address the mail
    /// library refuses) rolls the batch back, and the actions run again one
    /// by one: the others are queued once each, the bad one is given up.
    #[test]
    fn a_failure_among_acknowledgements_composed_ahead_is_given_up_alone() {
        let f = Fixture::new();
        let ids = counting_ids();
        let composer = Composer::new(&f.cfg, &f.cal, &f.templates, &ids);
        let now = now();
        let count = COMPOSE_AHEAD_FROM * 2;
        let (mut store, mut cases) = many_cases(count);
        cases[5].reply_to = "bruno at inbox".into();
        store.transaction(|tx| tx.save_case(&cases[5], now)).unwrap();
        let actions: Vec<_> = cases
            .iter()
            .map(|c| Action::Ack {
                case_id: c.id.clone(),
            })
            .collect();
        let done = store
            .transaction(|tx| apply_actions(tx, &actions, &composer, now))
            .unwrap();
        assert_eq!(done.acks, count as u32 - 1);
        let r = store.read();
        let queued = r.outbox_all().unwrap();
        assert_eq!(queued.len(), count - 1);
        let mut mids: Vec<_> = queued.iter().map(|o| o.message_id.clone()).collect();
        mids.sort();
        mids.dedup();
        assert_eq!(mids.len(), count - 1, "each queued once");
        assert!(queued.iter().all(|o| o.case_id.as_deref() != Some("K05")));
        let bad = r.case("K05").unwrap().unwrap();
        assert_eq!(bad.acked_cycle, bad.cycle, "not tried again");
        assert_eq!(r.audit_for("K05").unwrap().pop().unwrap().action, "failed");
    }
}
