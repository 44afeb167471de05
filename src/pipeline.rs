//! One cycle of replygate: sync every folder, update the cases, decide what
//! is due at `now`, queue it, send it. `run --once` runs one cycle; the
//! daemon runs cycles when mail arrives or something falls due.
//!
//! The flow of a message: IMAP ([`crate::inbound::imap`]) → [`crate::inbound::sync`] (parse,
//! classify, record) → [`crate::cases::tracker`] (cases) → [`crate::rules::engine`]
//! (actions) → [`crate::outbound::outbox`] (queue, send) → SMTP.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::auth::{Login, Logins};
use crate::cases::interim::InterimMatcher;
use crate::cases::tracker::{Outcome, Tracker};
use crate::config::Config;
use crate::inbound::classify::{ClassifySettings, FolderKind};
use crate::inbound::imap::{self, ImapSession};
use crate::inbound::sync::{Ingest, SyncStats};
use crate::outbound::outbox::{self, Composer};
use crate::outbound::smtp::Mailer;
use crate::outbound::templates::Templates;
use crate::rules::calendar::Calendar;
use crate::rules::engine::{self, History};
use crate::store::{Store, StoreError, StoredMessage, Tx};

/// Everything a cycle needs that does not change between cycles.
pub struct Context {
    pub cfg: Config,
    pub cal: Calendar,
    pub templates: Templates,
    pub settings: engine::Settings,
    /// How to log in to IMAP (password or OAuth 2.0 token).
    pub imap_login: Login,
    pub mailer: Mailer,
    /// The OAuth 2.0 token cache shared by IMAP and SMTP, when used.
    pub tokens: Option<std::sync::Arc<crate::auth::TokenSource>>,
}

impl Context {
    pub fn new(cfg: Config) -> anyhow::Result<Context> {
        use anyhow::Context as _;
        let cal = Calendar::from_config(&cfg.calendar).context("[calendar]")?;
        let templates = Templates::load(cfg.templates.directory.as_deref()).context("templates")?;
        // A custom pattern is tried here, so a bad one stops the start; the
        // staff replies' readers make their own when they first need one
        // (see `StaffReader`), and an idle daemon keeps none.
        if let Some(p) = &cfg.reply.interim_pattern {
            InterimMatcher::new(Some(p)).context("reply.interim_pattern")?;
        }
        let settings = engine::Settings::from_config(&cfg);
        let logins = Logins::from_config(&cfg)?;
        let mailer = Mailer::with_login(&cfg.smtp, logins.smtp.clone()).context("[smtp]")?;
        Ok(Context {
            cfg,
            cal,
            templates,
            settings,
            imap_login: logins.imap,
            mailer,
            tokens: logins.tokens,
        })
    }

    /// The instant before which mail is history (SPEC §2 first start).
    pub fn cutoff(&self, store: &mut Store, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
        if let Some(t) = self.cfg.start_from() {
            return Ok(t);
        }
        let first = store.read().meta("first_run_at")?;
        match first {
            Some(s) => Ok(crate::store::parse_ts("meta.first_run_at", &s)?),
            None => {
                store.transaction(|tx| tx.set_meta("first_run_at", &crate::store::ts(now)))?;
                tracing::info!(
                    at = %crate::store::ts(now),
                    "first start: mail received before now is recorded as history (no cases, no acknowledgements)"
                );
                Ok(now)
            }
        }
    }
}

/// What a cycle did, for logs and `run --once` output.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub sync: SyncStats,
    pub opened: u32,
    pub joined: u32,
    pub reopened: u32,
    pub answered: u32,
    pub extended: u32,
    pub ignored: u32,
    /// Messages whose processing failed this cycle (SPEC §11.1).
    pub errors: u32,
    /// Inbox mail from an organisation address without proof (SPEC §11.2).
    pub unverified_internal: u32,
    pub applied: outbox::Applied,
    pub notices: u32,
    pub flushed: outbox::Flushed,
    pub copies_saved: u32,
    pub recovered: outbox::Recovered,
    /// When the rules next have something to do (after this cycle's
    /// actions), from [`engine::next_due`]; the outbox's own times are not
    /// included (see [`next_due`]).
    pub rules_next_due: Option<DateTime<Utc>>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fetched {} (new {}, duplicates {}, history {}, unreadable {}, headers cut {}); cases opened {}, joined {}, reopened {}, answered {}, extended {}; failed {}, unverified internal {}; queued acks {} (suppressed {}, waiting {}), reminders {}, escalations {}, digests {}, notices {}; sent {}, retry {}, failed {}, cancelled {}",
            self.sync.fetched,
            self.sync.recorded,
            self.sync.duplicates,
            self.sync.history,
            self.sync.bad,
            self.sync.truncated,
            self.opened,
            self.joined,
            self.reopened,
            self.answered,
            self.extended,
            self.errors,
            self.unverified_internal,
            self.applied.acks,
            self.applied.acks_suppressed,
            self.applied.acks_deferred,
            self.applied.reminders,
            self.applied.escalations,
            self.applied.digests,
            self.notices,
            self.flushed.sent,
            self.flushed.retry,
            self.flushed.failed,
            self.flushed.cancelled
        )
    }
}

/// Sync every configured folder on an open session.
pub async fn sync_all(
    ctx: &Context,
    session: &mut ImapSession,
    store: &mut Store,
    now: DateTime<Utc>,
) -> anyhow::Result<SyncStats> {
    let cutoff = ctx.cutoff(store, now)?;
    let ingest = Ingest {
        cfg: &ctx.cfg,
        settings: ClassifySettings::from_config(&ctx.cfg),
        cutoff,
        login: &ctx.imap_login,
    };
    let mut total = SyncStats::default();
    let folders = ctx
        .cfg
        .imap
        .inbox
        .iter()
        .map(|f| (f, FolderKind::Inbox))
        .chain(ctx.cfg.imap.sent.iter().map(|f| (f, FolderKind::Sent)));
    for (folder, kind) in folders {
        let s = match ingest.folder(session, store, folder, kind, now).await {
            Ok(s) => s,
            // A misnamed folder must not stop the others: say so every cycle.
            Err(crate::inbound::sync::SyncError::Imap(
                e @ crate::inbound::imap::ImapError::FolderMissing { .. },
            )) => {
                tracing::error!(
                    "{e}; fix imap.inbox / imap.sent in the config (the other folders are still watched)"
                );
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if s.fetched > 0 {
            tracing::info!(folder = %folder, fetched = s.fetched, new = s.recorded, duplicates = s.duplicates, history = s.history, unreadable = s.bad, "folder synced");
        }
        total.add(&s);
    }
    Ok(total)
}

/// Process recorded messages up to `now` and carry out what is due.
pub fn track_and_decide(
    ctx: &Context,
    store: &mut Store,
    now: DateTime<Utc>,
    r: &mut Report,
) -> anyhow::Result<()> {
    let tracker = Tracker::new(&ctx.cfg, &ctx.cal);
    let composer = Composer::new(&ctx.cfg, &ctx.cal, &ctx.templates, &rand::random::<u128>);
    // Page by page, one transaction each: every message of a page is
    // marked processed (or to be retried) in it, and the next page starts
    // after it, so a message that failed waits for the next cycle.
    let mut after = None;
    loop {
        let chunk = store.read().pending_messages(now, after.as_ref(), 500)?;
        let Some(last) = chunk.last().cloned() else {
            break;
        };
        // A page runs at once, without a savepoint per message (each copies
        // every database page it changes into the sub-journal: 5 % of a
        // backlog's time). A message that fails rolls the whole page back,
        // and the page runs again message by message, each in its savepoint.
        let at_once = store.transaction(|tx| -> anyhow::Result<()> {
            let mut done = Vec::with_capacity(chunk.len());
            for m in &chunk {
                let Ok((outcome, notices)) = tracker.process_caught(tx, m, now) else {
                    return Err(RedoPage.into());
                };
                let Ok(n) = outbox::apply_notices(tx, &notices, &composer, now) else {
                    return Err(RedoPage.into());
                };
                done.push((outcome, n));
            }
            for (m, (outcome, n)) in chunk.iter().zip(&done) {
                account(tx, m, outcome, r)?;
                r.notices += n;
            }
            Ok(())
        });
        match at_once {
            Ok(()) => {
                after = Some(last);
                continue;
            }
            Err(e) if e.is::<RedoPage>() => tracker.forget(),
            Err(e) => return Err(e),
        }
        store.transaction(|tx| -> anyhow::Result<()> {
            for m in &chunk {
                let (outcome, notices) = match tx.isolated(|tx| tracker.process_caught(tx, m, now)) {
                    Ok(x) => x,
                    Err(e) => {
                        tracker.forget();
                        // A bad message never blocks the rest: it is
                        // tried once more in the next cycle (a passing
                        // fault), then set aside for good (SPEC §11.1).
                        if m.role.as_deref() == Some(crate::store::ROLE_RETRY) {
                            tracing::error!(folder = %m.folder, uid = m.uid, error = %e, "message could not be processed again; recorded as error and set aside");
                            tx.finish_message(m.id, None, "error")?;
                            tx.bump_counter("messages_failed", 1)?;
                        } else {
                            tracing::error!(folder = %m.folder, uid = m.uid, error = %e, "message could not be processed; it is tried once more in the next cycle");
                            tx.mark_retry(m.id)?;
                            tx.bump_counter("messages_retried", 1)?;
                        }
                        r.errors += 1;
                        continue;
                    }
                };
                account(tx, m, &outcome, r)?;
                match tx.isolated(|tx| outbox::apply_notices(tx, &notices, &composer, now)) {
                    Ok(n) => r.notices += n,
                    Err(e) => tracing::error!(folder = %m.folder, uid = m.uid, error = %e, "a staff notice could not be queued; skipped"),
                }
            }
            Ok(())
        })?;
        after = Some(last);
    }
    // The tracker's subject index (every case of the cycle's subjects:
    // 15 MB after a backlog of 14 000 cases) is not needed by the engine.
    drop(tracker);

    let mut open = store.read().open_cases()?;
    let mut history = history(store, &open, now)?;
    let actions = engine::decide(&open, &history, &ctx.cal, &ctx.settings, now);
    for a in &actions {
        log_due(a);
    }
    if !actions.is_empty() {
        r.applied = store.transaction(|tx| outbox::apply_actions(tx, &actions, &composer, now))?;
    }
    after_actions(&mut open, &mut history, &actions);
    r.rules_next_due = engine::next_due(&open, &history, &ctx.cal, &ctx.settings, now);
    Ok(())
}

/// A page of the tracker to run again message by message: one of them
/// failed while it ran at once.
#[derive(Debug, thiserror::Error)]
#[error("a message of the page failed; the page runs again message by message")]
struct RedoPage;

/// Count a processed message in the cycle's report, and log a case it
/// opened or reopened.
fn account(tx: &Tx, m: &StoredMessage, outcome: &Outcome, r: &mut Report) -> Result<(), StoreError> {
    match outcome {
        Outcome::Opened(c) => {
            r.opened += 1;
            // A case and an address at `info`, never the subject (SPEC §11.5).
            tracing::info!(case = %c, from = m.from_addr.as_deref().unwrap_or("-"), "case opened");
            tracing::debug!(case = %c, subject = %m.subject, "subject of the opened case");
        }
        Outcome::Joined(_) => r.joined += 1,
        Outcome::Reopened(c) => {
            r.reopened += 1;
            tracing::info!(case = %c, "case reopened by a client follow-up");
        }
        Outcome::Answered(_) => r.answered += 1,
        Outcome::Extended(_) => r.extended += 1,
        Outcome::UnverifiedInternal => {
            r.unverified_internal += 1;
            tx.bump_counter("messages_unverified_internal", 1)?;
            r.ignored += 1;
        }
        _ => r.ignored += 1,
    }
    Ok(())
}

/// One line for an admin (and a dry run's reader) per action decided.
fn log_due(a: &engine::Action) {
    use engine::Action;
    match a {
        Action::Ack { case_id } => tracing::info!(case = %case_id, "due: acknowledgement"),
        Action::AckSuppressed { case_id, reason } => tracing::info!(
            case = %case_id,
            reason = reason.word(),
            "due: no acknowledgement, as {reason}"
        ),
        Action::AckDeferred { case_id } => tracing::info!(
            case = %case_id,
            "due: acknowledgement waits, the hourly cap (reply.ack_max_per_hour) is reached"
        ),
        Action::Reminder { case_id } => tracing::info!(case = %case_id, "due: reminder to staff"),
        Action::Escalation { case_id } => tracing::info!(case = %case_id, "due: escalation"),
        Action::EscalationList { case_ids } => tracing::info!(
            cases = case_ids.len(),
            first = case_ids.first().map(String::as_str).unwrap_or("-"),
            last = case_ids.last().map(String::as_str).unwrap_or("-"),
            "due: one escalation listing these cases"
        ),
        Action::Digest {
            date,
            due_today,
            overdue,
        } if due_today.is_empty() && overdue.is_empty() => {
            tracing::info!(%date, "due: the daily digest, with nothing to list: not sent")
        }
        Action::Digest {
            date,
            due_today,
            overdue,
        } => tracing::info!(
            %date,
            due_today = due_today.len(),
            overdue = overdue.len(),
            "due: the daily digest"
        ),
    }
}

/// What the engine needs to know about past sends. Two grouped queries
/// rather than two per open case (10 000 open cases made that the
/// slowest part of a cycle).
fn history(store: &Store, open: &[crate::store::Case], now: DateTime<Utc>) -> Result<History, StoreError> {
    let r = store.read();
    let mut h = History::default();
    let acks = r.last_acks()?;
    let bounces = r.last_bounces()?;
    for c in open {
        let a = c.reply_to.to_lowercase();
        if h.last_ack_to.contains_key(&a) || h.last_bounce.contains_key(&a) {
            continue;
        }
        if let Some(t) = acks.get(&a) {
            h.last_ack_to.insert(a.clone(), *t);
        }
        if let Some(t) = bounces.get(&a) {
            h.last_bounce.insert(a, *t);
        }
    }
    h.acks_last_hour = r.acks_between(now - Duration::hours(1), now)? as u32;
    h.last_digest_date = r
        .meta("last_digest_date")?
        .and_then(|s| s.parse::<NaiveDate>().ok());
    Ok(h)
}

/// The open cases and history as they are once `actions` are carried out
/// (mirrors [`outbox::apply_actions`]: an acknowledgement, sent or
/// suppressed, closes the case's cycle; a reminder or escalation is
/// recorded for the current deadline; a digest for its date), so the next
/// due instant is found without reading the store again.
fn after_actions(open: &mut [crate::store::Case], h: &mut History, actions: &[engine::Action]) {
    use engine::Action;
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, c) in open.iter().enumerate() {
        by_id.insert(c.id.as_str(), i);
    }
    let mut changes: Vec<(usize, &Action)> = Vec::new();
    for a in actions {
        match a {
            Action::Ack { case_id }
            | Action::AckSuppressed { case_id, .. }
            | Action::Reminder { case_id }
            | Action::Escalation { case_id } => {
                if let Some(&i) = by_id.get(case_id.as_str()) {
                    changes.push((i, a));
                }
            }
            Action::EscalationList { case_ids } => {
                for id in case_ids {
                    if let Some(&i) = by_id.get(id.as_str()) {
                        changes.push((i, a));
                    }
                }
            }
            Action::Digest { date, .. } => h.last_digest_date = Some(*date),
            Action::AckDeferred { .. } => {}
        }
    }
    for (i, a) in changes {
        let c = &mut open[i];
        match a {
            Action::Ack { .. } | Action::AckSuppressed { .. } => c.acked_cycle = c.cycle,
            Action::Reminder { .. } => c.reminded_for = Some(c.deadline),
            Action::Escalation { .. } | Action::EscalationList { .. } => c.escalated_for = Some(c.deadline),
            _ => {}
        }
    }
}

/// Save copies of sent acknowledgements to `smtp.save_copy_to`.
pub async fn save_copies(ctx: &Context, session: &mut ImapSession, store: &mut Store) -> anyhow::Result<u32> {
    let Some(folder) = &ctx.cfg.smtp.save_copy_to else {
        return Ok(0);
    };
    let mut n = 0;
    for e in store.read().outbox_copies_pending()? {
        match session.append(folder, &e.raw, true, e.sent_at).await {
            Ok(()) => {
                store.transaction(|tx| tx.outbox_copy_saved(e.id))?;
                n += 1;
            }
            Err(err) => {
                tracing::warn!(folder = %folder, error = %err, "cannot save a copy of a sent acknowledgement; will retry");
                break;
            }
        }
    }
    Ok(n)
}

/// The folders where a copy of a sent message may be: `imap.sent` and
/// `smtp.save_copy_to`, each once.
pub fn sent_folders(cfg: &Config) -> Vec<String> {
    let mut v: Vec<String> = cfg.imap.sent.clone();
    if let Some(f) = &cfg.smtp.save_copy_to {
        if !v.contains(f) {
            v.push(f.clone());
        }
    }
    v
}

/// Before a flush: settle entries left `sending` by a crash (found in a
/// sent folder → sent; else sent again by the flush). Call it on every
/// start before the first flush (the daemon too).
pub async fn recover_interrupted(
    ctx: &Context,
    session: &mut ImapSession,
    store: &mut Store,
    now: DateTime<Utc>,
) -> anyhow::Result<outbox::Recovered> {
    if store.read().outbox_interrupted()?.is_empty() {
        return Ok(outbox::Recovered::default());
    }
    Ok(outbox::recover_interrupted(store, session, &sent_folders(&ctx.cfg), now).await?)
}

/// Purge by `storage.retention`, at most once a day.
pub fn retention(ctx: &Context, store: &mut Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    let today = now.date_naive().to_string();
    if store.read().meta("last_purge")?.as_deref() == Some(today.as_str()) {
        return Ok(());
    }
    let before = now - ctx.cfg.storage.retention.0;
    let n = store.transaction(|tx| -> Result<usize, StoreError> {
        let n = tx.purge(before, now)?;
        tx.set_meta("last_purge", &today)?;
        Ok(n)
    })?;
    if n > 0 {
        tracing::info!(cases = n, before = %crate::store::ts(before), "closed cases past storage.retention purged");
    }
    // Old copies of the purged rows leave the write-ahead log too. A busy
    // reader (an admin's `status`) only delays it to the next purge.
    if let Err(e) = store.checkpoint() {
        tracing::warn!(error = %e, "write-ahead log not emptied after the purge; tried again after the next one");
    }
    Ok(())
}

/// One cycle on an open session: sync, track, decide, queue, send, save
/// copies, purge (daily). `ignore_backoff` tries every pending outbox entry
/// (one-shot runs); the daemon honours the retry times.
pub async fn cycle(
    ctx: &Context,
    session: &mut ImapSession,
    store: &mut Store,
    now: DateTime<Utc>,
    dry_run: bool,
    ignore_backoff: bool,
) -> anyhow::Result<Report> {
    let mut r = Report {
        sync: sync_all(ctx, session, store, now).await?,
        ..Report::default()
    };
    if dry_run {
        // Decide and log as a real run would, then undo: the fetched mail
        // stays recorded and waits for a real run, which then does exactly
        // what this one showed.
        store.rehearse(|store| track_and_decide(ctx, store, now, &mut r))??;
        tracing::info!(
            "dry run: every case change and queued message above was rolled back; nothing was sent"
        );
    } else {
        track_and_decide(ctx, store, now, &mut r)?;
        r.recovered = recover_interrupted(ctx, session, store, now).await?;
        r.flushed = outbox::flush(store, &ctx.mailer, now, Utc::now(), ignore_backoff).await?;
        r.copies_saved = save_copies(ctx, session, store).await?;
        retention(ctx, store, now)?;
    }
    Ok(r)
}

/// The next instant something falls due (see [`engine::next_due`]), or an
/// outbox entry may be sent (its `not_before` or retry time), whichever
/// comes first. `None`: nothing scheduled. Reads the open cases; after a
/// cycle, [`next_due_after`] with its report is cheaper.
pub fn next_due(ctx: &Context, store: &Store, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
    let open = store.read().open_cases()?;
    let history = history(store, &open, now)?;
    let rules = engine::next_due(&open, &history, &ctx.cal, &ctx.settings, now);
    next_due_after(rules, store)
}

/// The earlier of the rules' next instant (`Report::rules_next_due`) and
/// the outbox's next attempt.
pub fn next_due_after(rules: Option<DateTime<Utc>>, store: &Store) -> anyhow::Result<Option<DateTime<Utc>>> {
    let outbox = store.read().outbox_next_attempt()?;
    Ok(match (rules, outbox) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// One whole cycle (`run --once`).
pub async fn run_once(
    ctx: &Context,
    store: &mut Store,
    now: DateTime<Utc>,
    dry_run: bool,
) -> anyhow::Result<Report> {
    // A token endpoint that fails is a fault of the cycle (SPEC §13.1),
    // also when only SMTP uses it.
    if let Some(t) = &ctx.tokens {
        t.token().await?;
    }
    let mut session = imap::connect_with(&ctx.cfg.imap, &ctx.imap_login).await?;
    let r = cycle(ctx, &mut session, store, now, dry_run, true).await;
    ctx.mailer.close().await;
    session.logout().await;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::deadline::CaseKind;
    use crate::store::Case;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn case(id: &str, client: &str, received: &str, deadline: &str) -> Case {
        Case {
            last_client_msgid: Some(format!("{id}@example.lv")),
            ..Case::open(
                id.into(),
                client,
                "Jautājums",
                CaseKind::Email,
                t(received),
                t(deadline),
            )
        }
    }

    /// The next due instant worked out in memory after the actions equals
    /// the one read back from the store once they are carried out.
    #[test]
    fn next_due_in_memory_matches_the_store() {
        let cfg = crate::config::parse_str(
            include_str!("../config/replygate.toml"),
            std::path::Path::new("replygate.toml"),
        )
        .unwrap();
        let cal = Calendar::from_config(&cfg.calendar).unwrap();
        let templates = Templates::load(None).unwrap();
        let ids = std::cell::Cell::new(0u128);
        let next = || {
            ids.set(ids.get() + 1);
            ids.get()
        };
        let composer = Composer::new(&cfg, &cal, &templates, &next);
        let settings = engine::Settings::from_config(&cfg);
        // Wed 25 Nov 2026, 16:30 Riga: acks due at 17:00 closing, one
        // reminder due now, one escalation due now, the digest due.
        let now = t("2026-11-25T16:30:00+02:00");
        let mut s = Store::open_in_memory().unwrap();
        let mut due_now = case(
            "A",
            "anna@example.lv",
            "2026-11-23T10:00:00+02:00",
            "2026-11-26T12:00:00+02:00",
        );
        due_now.acked_cycle = 1;
        let mut overdue = case(
            "B",
            "bruno@example.lv",
            "2026-11-20T10:00:00+02:00",
            "2026-11-24T17:00:00+02:00",
        );
        overdue.acked_cycle = 1;
        overdue.reminded_for = Some(overdue.deadline);
        let fresh = case(
            "C",
            "cilda@example.lv",
            "2026-11-25T16:00:00+02:00",
            "2026-11-27T16:00:00+02:00",
        );
        let late = case(
            "D",
            "dainis@example.lv",
            "2026-11-24T19:00:00+02:00",
            "2026-11-26T17:00:00+02:00",
        );
        s.transaction(|tx| -> Result<(), StoreError> {
            for c in [&due_now, &overdue, &fresh, &late] {
                tx.save_case(c, now)?;
            }
            Ok(())
        })
        .unwrap();

        let mut open = s.read().open_cases().unwrap();
        let mut h = history(&s, &open, now).unwrap();
        let actions = engine::decide(&open, &h, &cal, &settings, now);
        assert!(actions.len() >= 4, "{actions:?}");
        s.transaction(|tx| outbox::apply_actions(tx, &actions, &composer, now))
            .unwrap();
        after_actions(&mut open, &mut h, &actions);
        let in_memory = engine::next_due(&open, &h, &cal, &settings, now);

        let stored = s.read().open_cases().unwrap();
        let h2 = history(&s, &stored, now).unwrap();
        let from_store = engine::next_due(&stored, &h2, &cal, &settings, now);
        assert_eq!(in_memory, from_store);
        assert!(in_memory.is_some_and(|t| t > now));
        // Nothing decided at `now` is decided again.
        assert!(engine::decide(&stored, &h2, &cal, &settings, now).is_empty());
    }

    /// A message the tracker cannot process (here a pending record no
    /// build can read) does not hold back the others of its page: they
    /// open their cases in this cycle, it is tried once more in the next
    /// one and then set aside (SPEC §11.1); nothing is counted twice.
    #[test]
    fn a_failing_message_leaves_the_rest_of_its_page_processed() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("password");
        std::fs::write(&secret, "x").unwrap();
        let mut cfg = crate::config::parse_str(
            include_str!("../config/replygate.toml"),
            std::path::Path::new("replygate.toml"),
        )
        .unwrap();
        cfg.imap.password_file = Some(secret.clone());
        cfg.smtp.password_file = Some(secret);
        let ctx = Context::new(cfg).unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let received = t("2026-11-24T10:00:00+02:00");
        let mails = [
            ("anna@example.lv", "{}"),
            ("bruno@example.lv", "{not json"),
            ("cilda@example.lv", "{}"),
        ];
        store
            .transaction(|tx| -> Result<(), StoreError> {
                for (i, (from, pending)) in mails.iter().enumerate() {
                    let id = format!("m{i}@example.lv");
                    tx.insert_message(
                        &crate::store::NewMessage {
                            folder: "INBOX",
                            uidvalidity: 1,
                            uid: i as u32 + 1,
                            message_id: Some(&id),
                            fingerprint: &id,
                            internaldate: received + Duration::minutes(i as i64),
                            from_addr: Some(from),
                            subject: "Jautājums",
                            norm_subject: "jautājums",
                            recipients: &[],
                            class: "client",
                            reason: None,
                            pending: Some(pending),
                            role: None,
                        },
                        None,
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let clients = |s: &Store| -> Vec<String> {
            let mut v: Vec<String> = s
                .read()
                .all_cases()
                .unwrap()
                .into_iter()
                .map(|c| c.client)
                .collect();
            v.sort();
            v
        };
        let now = t("2026-11-24T12:00:00+02:00");
        let mut r = Report::default();
        track_and_decide(&ctx, &mut store, now, &mut r).unwrap();
        assert_eq!((r.opened, r.errors), (2, 1));
        assert_eq!(clients(&store), ["anna@example.lv", "cilda@example.lv"]);
        assert_eq!(store.read().failed_message_counts().unwrap(), (0, 1));
        assert_eq!(store.read().counter("messages_retried").unwrap(), 1);

        let mut r = Report::default();
        track_and_decide(&ctx, &mut store, now, &mut r).unwrap();
        assert_eq!((r.opened, r.errors), (0, 1));
        assert_eq!(store.read().failed_message_counts().unwrap(), (1, 0));
        assert_eq!(store.read().counter("messages_failed").unwrap(), 1);
        assert_eq!(store.read().pending_count().unwrap(), 0);

        let mut r = Report::default();
        track_and_decide(&ctx, &mut store, now, &mut r).unwrap();
        assert_eq!((r.opened, r.errors), (0, 0));
        assert_eq!(clients(&store), ["anna@example.lv", "cilda@example.lv"]);
    }
}
