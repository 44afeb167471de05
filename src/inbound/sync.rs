//! Folder sync: new messages of an IMAP folder → recorded messages.
//!
//! Incremental by UIDVALIDITY and the last UID seen: only new UIDs are
//! fetched, in batches of [`BATCH`] headers (INTERNALDATE, BODYSTRUCTURE,
//! `BODY.PEEK[HEADER]`), so memory stays bounded whatever the mailbox size.
//! Staff replies (for the signature and interim check) and delivery reports
//! (for bounce suppression) are also read whole, with `BODY.PEEK[]`.
//!
//! Each batch is one SQLite transaction together with the folder's new
//! last UID: a crash never half-records a batch, and a re-run records
//! nothing twice. When UIDVALIDITY changes (the folder was recreated), the
//! folder is read again from the start and every message already known by
//! its Message-ID (or, without one, by a hash of From/Date/Subject) is
//! recorded as a duplicate, never processed again.
//!
//! Mail received before the history cutoff (SPEC §2 first start) is final
//! when recorded: its Message-ID is tied to "history" for threading in the
//! same transaction and it never waits for the tracker, so a first start on
//! a large mailbox keeps no pending rows.
//!
//! A message that cannot be parsed is recorded as `bad`, logged and counted;
//! it never stops the sync. Nor does one that kills the process while it
//! is read (an abort the panic guard cannot catch, an out-of-memory kill):
//! marks in `meta` say which batch was being read; a run that finds the
//! last one died in the same batch reads it one message at a time, each
//! recorded at once, and a message that was being read at
//! [`SET_ASIDE_AFTER`] deaths is recorded as `bad` unread, so a restart loop
//! never holds the mailbox. Nor does one the server cannot deliver: when a
//! batch FETCH fails or comes back short (Dovecot ends the connection with
//! BYE when it cannot read a message file, and a response the IMAP library
//! cannot parse breaks the connection), the session is replaced by a fresh
//! one and the missing UIDs are fetched one at a time (each tried twice);
//! one that still exists but cannot be fetched is recorded as `bad` with the
//! error, one that no longer exists was expunged meanwhile. The folder's
//! last UID only moves past UIDs that were recorded or are gone, so no
//! message is ever skipped silently.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::cases::feedback::Recogniser;
use crate::cases::tracker::Pending;
use crate::config::Config;
use crate::inbound::authortext;
use crate::inbound::bounce;
use crate::inbound::classify::{self, Class, ClassifySettings, FolderKind, Trigger};
use crate::inbound::imap::{FetchedHeader, ImapError, ImapSession, HEADER_CAP};
use crate::inbound::message::MessageMeta;
use crate::inbound::submission;
use crate::inbound::thread;
use crate::store::{FolderState, NewMessage, Store, StoreError};

/// Headers fetched per round trip and recorded per transaction.
pub const BATCH: usize = 200;

/// How much of a client mail is read to judge feedback (SPEC §14): the
/// header and the start of the text, where a client says what the mail is.
pub const FEEDBACK_READ: u32 = 32 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("IMAP folder \"{folder}\" was recreated during the sync (UIDVALIDITY changed); the next run reads it again")]
    Changed { folder: String },
}

/// What a folder sync did.
#[derive(Debug, Default, Clone)]
pub struct SyncStats {
    pub fetched: u64,
    pub recorded: u64,
    pub duplicates: u64,
    pub history: u64,
    pub bad: u64,
    /// Header blocks cut at [`HEADER_CAP`] (SPEC §11.1).
    pub truncated: u64,
    pub uidvalidity_reset: bool,
}

impl SyncStats {
    pub fn add(&mut self, o: &SyncStats) {
        self.fetched += o.fetched;
        self.recorded += o.recorded;
        self.duplicates += o.duplicates;
        self.history += o.history;
        self.bad += o.bad;
        self.truncated += o.truncated;
        self.uidvalidity_reset |= o.uidvalidity_reset;
    }
}

/// What the sync needs besides the session and the store.
pub struct Ingest<'a> {
    pub cfg: &'a Config,
    pub settings: ClassifySettings,
    /// Mail received before this is history (SPEC §2 first start).
    pub cutoff: DateTime<Utc>,
    /// The IMAP credentials, to reconnect after a message broke the session.
    pub login: &'a crate::auth::Login,
}

/// A hash of From/Date/Subject for mail without a Message-ID.
pub fn fingerprint(meta: &MessageMeta, raw_header: &[u8]) -> String {
    let mut h = Sha256::new();
    let from = meta.from.as_ref().map(|a| a.email.as_str()).unwrap_or("");
    h.update(from.as_bytes());
    h.update([0]);
    h.update(meta.header("date").unwrap_or("").trim().as_bytes());
    h.update([0]);
    h.update(meta.subject.as_bytes());
    if from.is_empty() && meta.header("date").is_none() {
        // Nothing identifies it: fall back to the whole header block.
        h.update(raw_header);
    }
    hex::encode(&h.finalize()[..16])
}

/// One message ready to be recorded.
struct Row {
    uid: u32,
    message_id: Option<String>,
    fingerprint: String,
    internaldate: DateTime<Utc>,
    from_addr: Option<String>,
    subject: String,
    norm_subject: String,
    recipients: Vec<String>,
    class: String,
    reason: Option<String>,
    pending: Option<String>,
    history: bool,
}

impl Ingest<'_> {
    /// Sync one folder.
    pub async fn folder(
        &self,
        session: &mut ImapSession,
        store: &mut Store,
        folder: &str,
        kind: FolderKind,
        now: DateTime<Utc>,
    ) -> Result<SyncStats, SyncError> {
        let mut stats = SyncStats::default();
        let status = session.examine(folder).await?;
        let known = store.read().folder_state(folder)?;
        let from_uid = match &known {
            Some(st) if st.uidvalidity == status.uidvalidity => st.last_uid.saturating_add(1),
            Some(st) => {
                tracing::warn!(
                    folder,
                    old = st.uidvalidity,
                    new = status.uidvalidity,
                    "UIDVALIDITY changed (folder recreated or restored): reading it again; known messages are matched by Message-ID and not processed twice"
                );
                stats.uidvalidity_reset = true;
                1
            }
            None => 1,
        };
        let kind_s = match kind {
            FolderKind::Inbox => "inbox",
            FolderKind::Sent => "sent",
        };
        let mut last_uid = if stats.uidvalidity_reset {
            0
        } else {
            known.as_ref().map_or(0, |k| k.last_uid)
        };
        let uids: Vec<u32> = session
            .uids_from(from_uid)
            .await?
            .into_iter()
            .filter(|&u| u >= from_uid)
            .collect();
        if uids.is_empty() {
            if known.as_ref().is_none_or(|k| k.uidvalidity != status.uidvalidity) {
                let st = FolderState {
                    uidvalidity: status.uidvalidity,
                    last_uid,
                };
                store.transaction(|tx| tx.set_folder_state(folder, kind_s, &st, now))?;
            }
            return Ok(stats);
        }
        let recogniser = Arc::new(self.cfg.feedback.recogniser());
        for chunk in uids.chunks(BATCH) {
            // One message the server or the IMAP library cannot handle can
            // fail the whole batch or end the connection mid-response
            // (Dovecot answers an unreadable message file with BYE): whatever
            // the batch did not return is fetched again one UID at a time on
            // a fresh connection, and what still cannot be fetched is recorded
            // as bad, so the rest of the mailbox is never blocked.
            let (headers, missing) = match session.fetch_headers_for(chunk).await {
                Ok(h) => {
                    let missing: Vec<u32> = chunk
                        .iter()
                        .copied()
                        .filter(|u| h.binary_search_by_key(u, |x| x.uid).is_err())
                        .collect();
                    (h, missing)
                }
                Err(e) => {
                    tracing::warn!(folder, first = chunk[0], count = chunk.len(), error = %e, "batch fetch failed; fetching these messages one by one");
                    (Vec::new(), chunk.to_vec())
                }
            };
            let mut broken = !missing.is_empty();
            let truncated_before = stats.truncated;
            stats.fetched += headers.len() as u64;
            // A process that died reading this batch before (an abort the
            // panic guard cannot catch, an out-of-memory kill) reads it one
            // message at a time, each recorded at once, and sets aside the
            // one it keeps dying on (SPEC §11.1): a restart loop never holds
            // the mailbox.
            let batch = Breadcrumb::batch(folder, status.uidvalidity, chunk);
            let careful = batch.arrive(store)? > 1;
            let suspect = careful
                .then(|| Breadcrumb::in_flight(store))
                .transpose()?
                .flatten();
            if careful {
                tracing::warn!(
                    folder,
                    first = chunk[0],
                    count = chunk.len(),
                    "the last run stopped while reading these messages; reading them one at a time"
                );
            }
            let mut rows = Vec::with_capacity(chunk.len());
            let mut early = Early::default();
            let todo: Vec<Result<&FetchedHeader, u32>> = headers
                .iter()
                .map(Ok)
                .chain(missing.iter().copied().map(Err))
                .collect();
            for item in todo {
                let uid = match item {
                    Ok(h) => h.uid,
                    Err(u) => u,
                };
                if store.read().has_location(folder, status.uidvalidity, uid)? {
                    continue;
                }
                let deaths = suspect
                    .as_ref()
                    .filter(|s| careful && s.0 == uid)
                    .map_or(0, |s| s.1);
                let row = if deaths >= SET_ASIDE_AFTER {
                    stats.bad += 1;
                    tracing::error!(folder, uid, deaths, "replygate stopped {deaths} times while reading this message; recorded as bad and set aside");
                    let mut row = set_aside(folder, status.uidvalidity, uid, now);
                    row.reason = Some(format!("reading it stopped replygate {deaths} times"));
                    Some(row)
                } else {
                    if careful {
                        Breadcrumb::mark_in_flight(store, uid, deaths + 1)?;
                    }
                    self.read_one(
                        session,
                        item,
                        folder,
                        status.uidvalidity,
                        kind,
                        now,
                        &mut stats,
                        &mut broken,
                    )
                    .await?
                };
                let Some(row) = row else { continue };
                if careful {
                    if broken {
                        self.reconnect(session, folder, status.uidvalidity).await?;
                        broken = false;
                    }
                    self.judge_and_record(
                        store,
                        session,
                        &recogniser,
                        folder,
                        status.uidvalidity,
                        vec![row],
                        &mut early,
                    )
                    .await?;
                } else {
                    rows.push(row);
                }
            }
            if broken {
                self.reconnect(session, folder, status.uidvalidity).await?;
            }
            self.judge_feedback(session, &recogniser, &mut rows).await;
            let max_uid = chunk.iter().copied().max().unwrap_or(last_uid).max(last_uid);
            let st = FolderState {
                uidvalidity: status.uidvalidity,
                last_uid: max_uid,
            };
            let dup = early.dup
                + store.transaction(|tx| -> Result<u64, StoreError> {
                    let dup = record(tx, folder, status.uidvalidity, &rows)?;
                    if stats.truncated > truncated_before {
                        tx.bump_counter("headers_truncated", (stats.truncated - truncated_before) as i64)?;
                    }
                    tx.set_folder_state(folder, kind_s, &st, now)?;
                    batch.leave(tx)?;
                    Ok(dup)
                })?;
            stats.history += rows.iter().filter(|r| r.history).count() as u64 + early.history;
            let rows_len = rows.len() as u64 + early.recorded;
            stats.duplicates += dup;
            stats.recorded += rows_len - dup;
            last_uid = max_uid;
        }
        Ok(stats)
    }

    /// Client mail that opens or joins cases: is it feedback about the
    /// service (SPEC §14)? Judged on the subject and the client's own text,
    /// read from the first [`FEEDBACK_READ`] bytes of every such message of
    /// the batch in one FETCH. When the text cannot be fetched the subject
    /// alone is judged (logged; the mail is never held back for this).
    async fn judge_feedback(
        &self,
        session: &mut ImapSession,
        recogniser: &Arc<Recogniser>,
        rows: &mut [Row],
    ) {
        let wanted: Vec<u32> = rows
            .iter()
            .filter(|r| r.class == "client" && !r.history && r.pending.is_some())
            .map(|r| r.uid)
            .collect();
        if wanted.is_empty() {
            return;
        }
        let mut texts: HashMap<u32, Vec<u8>> = match session.fetch_prefixes(&wanted, FEEDBACK_READ).await {
            Ok(t) => t.into_iter().collect(),
            Err(e) => {
                tracing::warn!(count = wanted.len(), error = %e, "client texts cannot be fetched; feedback judged on the subject only");
                HashMap::new()
            }
        };
        // Reading the text is work on the sender's bytes: off the async
        // worker, a panic caught (SPEC §11.1); a failure leaves the mail
        // judged as not feedback (an admin can `mark` it).
        let jobs: Vec<(u32, String, Vec<u8>)> = rows
            .iter()
            .filter(|r| wanted.contains(&r.uid))
            .map(|r| (r.uid, r.subject.clone(), texts.remove(&r.uid).unwrap_or_default()))
            .collect();
        let rec = Arc::clone(recogniser);
        let verdicts: HashMap<u32, String> = match off_worker(move || {
            jobs.into_iter()
                .filter_map(|(uid, subject, raw)| {
                    let own = if raw.is_empty() {
                        String::new()
                    } else {
                        authortext::author_text(&raw)
                    };
                    rec.judge(&subject, &own).map(|f| (uid, f.matched))
                })
                .collect()
        })
        .await
        {
            Ok(v) => v,
            Err(panic) => {
                tracing::error!(count = wanted.len(), error = %panic, "judging client feedback failed; these mails are taken as not feedback");
                HashMap::new()
            }
        };
        for r in rows.iter_mut() {
            let Some(matched) = verdicts.get(&r.uid) else {
                continue;
            };
            let Some(mut p) = r
                .pending
                .as_deref()
                .and_then(|j| serde_json::from_str::<Pending>(j).ok())
            else {
                continue;
            };
            p.feedback = Some(matched.clone());
            r.pending = serde_json::to_string(&p).ok();
        }
    }

    /// Replace a session that may be dead with a fresh one on `folder`.
    /// Fails (and so ends the run, to be retried) when the server cannot be
    /// reached or the folder was recreated meanwhile.
    async fn reconnect(
        &self,
        session: &mut ImapSession,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<(), SyncError> {
        let mut fresh = crate::inbound::imap::connect_with(&self.cfg.imap, self.login).await?;
        let st = fresh.examine(folder).await?;
        if st.uidvalidity != uidvalidity {
            return Err(SyncError::Changed {
                folder: folder.to_string(),
            });
        }
        let old = std::mem::replace(session, fresh);
        drop(old);
        Ok(())
    }

    /// Fetch one UID the batch did not return: retried once on a fresh
    /// connection; `None` when the message is gone (expunged meanwhile), a
    /// `bad` row when it exists but cannot be fetched.
    #[allow(clippy::too_many_arguments)]
    async fn one_by_one(
        &self,
        session: &mut ImapSession,
        folder: &str,
        uidvalidity: u32,
        uid: u32,
        kind: FolderKind,
        now: DateTime<Utc>,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Result<Option<Row>, SyncError> {
        let mut last_error = String::from("the server returned nothing for it");
        for _attempt in 0..2 {
            if *broken {
                self.reconnect(session, folder, uidvalidity).await?;
                *broken = false;
            }
            match session.fetch_headers_for(&[uid]).await {
                Ok(h) if !h.is_empty() => {
                    stats.fetched += 1;
                    return Ok(Some(self.row(session, &h[0], kind, folder, stats, broken).await));
                }
                Ok(_) => {}
                Err(e) => last_error = e.to_string(),
            }
            *broken = true;
        }
        self.reconnect(session, folder, uidvalidity).await?;
        *broken = false;
        if !session.uids_from(uid).await?.contains(&uid) {
            return Ok(None); // expunged meanwhile
        }
        stats.fetched += 1;
        stats.bad += 1;
        tracing::warn!(folder, uid, error = %last_error, "message cannot be fetched from the server; recorded as bad and skipped");
        let mut row = set_aside(folder, uidvalidity, uid, now);
        row.reason = Some(format!("cannot be fetched: {last_error}"));
        Ok(Some(row))
    }

    /// Read one message: from its fetched header, or (when the batch did
    /// not return it) fetched alone; `None` when it is gone.
    #[allow(clippy::too_many_arguments)]
    async fn read_one(
        &self,
        session: &mut ImapSession,
        item: Result<&FetchedHeader, u32>,
        folder: &str,
        uidvalidity: u32,
        kind: FolderKind,
        now: DateTime<Utc>,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Result<Option<Row>, SyncError> {
        match item {
            Ok(h) => {
                if *broken {
                    self.reconnect(session, folder, uidvalidity).await?;
                    *broken = false;
                }
                Ok(Some(self.row(session, h, kind, folder, stats, broken).await))
            }
            Err(uid) => {
                self.one_by_one(session, folder, uidvalidity, uid, kind, now, stats, broken)
                    .await
            }
        }
    }

    /// Careful mode: judge one row's feedback and record it at once.
    #[allow(clippy::too_many_arguments)]
    async fn judge_and_record(
        &self,
        store: &mut Store,
        session: &mut ImapSession,
        recogniser: &Arc<Recogniser>,
        folder: &str,
        uidvalidity: u32,
        mut rows: Vec<Row>,
        early: &mut Early,
    ) -> Result<(), SyncError> {
        self.judge_feedback(session, recogniser, &mut rows).await;
        early.dup += store.transaction(|tx| record(tx, folder, uidvalidity, &rows))?;
        early.recorded += rows.len() as u64;
        early.history += rows.iter().filter(|r| r.history).count() as u64;
        Ok(())
    }

    /// Fetch a whole message (or, with `readable_only`, its readable
    /// parts: see [`ImapSession::fetch_readable`]) for `row`; an error marks
    /// the session broken.
    async fn full(
        &self,
        session: &mut ImapSession,
        folder: &str,
        h: &FetchedHeader,
        readable_only: bool,
        broken: &mut bool,
    ) -> Result<Option<Vec<u8>>, String> {
        let uid = h.uid;
        let got = if readable_only {
            session.fetch_readable(h).await
        } else {
            session.fetch_full(uid).await
        };
        match got {
            Ok(r) => Ok(r),
            Err(e) => {
                *broken = true;
                tracing::warn!(folder, uid, error = %e, "whole message cannot be fetched");
                Err(e.to_string())
            }
        }
    }

    async fn row(
        &self,
        session: &mut ImapSession,
        h: &FetchedHeader,
        kind: FolderKind,
        folder: &str,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Row {
        let history = h.internaldate < self.cutoff;
        let bad = |reason: String| Row {
            uid: h.uid,
            message_id: None,
            fingerprint: hex::encode(&Sha256::digest(&h.header)[..16]),
            internaldate: h.internaldate,
            from_addr: None,
            subject: String::new(),
            norm_subject: String::new(),
            recipients: vec![],
            class: "bad".into(),
            reason: Some(reason),
            pending: None,
            history,
        };
        if h.header.len() >= HEADER_CAP {
            stats.truncated += 1;
            tracing::warn!(
                folder,
                uid = h.uid,
                cap = HEADER_CAP,
                "message header block is larger than the cap; the rest is ignored"
            );
        }
        // Parsing and classifying is CPU work on attacker-controlled bytes:
        // it runs on the blocking pool, so the async worker (IDLE, the
        // watchdog, /healthz) keeps running, and a panic in it is caught
        // (SPEC §11.1).
        let job = PrepareJob {
            shared: self.shared(),
            header: h.header.clone(),
            attachments: h.attachments.clone(),
            calendar_method: h.calendar_method.clone(),
            content_type: h.content_type.clone(),
            kind,
            history,
        };
        test_abort_on(&h.header);
        let prepared = match off_worker(move || job.run()).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                stats.bad += 1;
                tracing::warn!(folder, uid = h.uid, error = %e, "message cannot be read; recorded as bad and skipped");
                return bad(e);
            }
            Err(panic) => {
                stats.bad += 1;
                tracing::error!(folder, uid = h.uid, error = %panic, "reading the message failed; recorded as bad and set aside");
                return bad(format!("processing failed: {panic}"));
            }
        };
        let Prepared {
            mut row,
            mut pending,
            mut whole,
            no_from,
            body_check,
        } = prepared;
        // A client mail with a report-like subject or a robot-like sender is
        // read whole once: a delivery report without the standard markers
        // is recognised by the phrases of its MTA (SPEC §5.2).
        let mut have_raw: Option<Vec<u8>> = None;
        if body_check {
            if let Ok(Some(raw)) = self.full(session, folder, h, false, broken).await {
                let (robot, raw) = off_worker(move || (bounce::is_robot_notice(&raw), raw))
                    .await
                    .unwrap_or((false, Vec::new()));
                if robot {
                    row.class = "automatic".into();
                    row.reason = Some(Trigger::DeliveryReport.as_str().into());
                    whole = Some(Whole::Bounce);
                    have_raw = Some(raw);
                }
            }
        }
        row.uid = h.uid;
        row.internaldate = h.internaldate;
        if no_from {
            tracing::warn!(
                folder,
                uid = h.uid,
                "message has no From; recorded, cannot open a case"
            );
        }
        if row.class == "bad" {
            stats.bad += 1;
        }
        if row.class == Class::UnverifiedInternal.as_str() {
            tracing::warn!(
                folder,
                uid = h.uid,
                from = row.from_addr.as_deref().unwrap_or("-"),
                "unverified_internal: an organisation From without proof of internal origin (SPEC §11.2); it answers, extends and opens nothing"
            );
        }
        if let (Some(p), Some(w)) = (pending.as_mut(), whole) {
            let fetched = match have_raw.take() {
                Some(raw) => Ok(Some(raw)),
                None => self.full(session, folder, h, w == Whole::Staff, broken).await,
            };
            let raw = match fetched {
                Ok(r) => r,
                Err(e) if w == Whole::Staff => {
                    stats.bad += 1;
                    return bad(format!("staff mail cannot be fetched whole: {e}"));
                }
                Err(_) => None,
            };
            if let Some(raw) = raw {
                match off_worker(move || w.read(&raw)).await {
                    Ok(WholeRead::Author(t)) => p.author_text = Some(t),
                    Ok(WholeRead::Bounce(Some(b))) => {
                        p.bounce_recipients = b.failed_recipients;
                        p.bounce_message_ids = b.original_message_ids;
                    }
                    Ok(WholeRead::Bounce(None)) => {}
                    Err(panic) => {
                        stats.bad += 1;
                        tracing::error!(folder, uid = h.uid, error = %panic, "reading the whole message failed; recorded as bad and set aside");
                        return bad(format!("processing failed: {panic}"));
                    }
                }
            }
        }
        row.pending = pending.and_then(|p| serde_json::to_string(&p).ok());
        row
    }

    /// What the blocking part of reading a message needs, owned.
    fn shared(&self) -> std::sync::Arc<Shared> {
        std::sync::Arc::new(Shared {
            settings: self.settings.clone(),
            submission_extensions: self.cfg.reply.submission_extensions.clone(),
            submission_subject_words: self.cfg.reply.submission_subject_words.clone(),
        })
    }
}

/// Test-only: a message whose header contains the value of
/// `REPLYGATE_TEST_ABORT_ON` aborts the process (an uncatchable crash, as a
/// stack overflow or an out-of-memory kill would be), for the careful-mode
/// test. Compiled only into debug builds, which `cargo test` runs.
#[inline]
fn test_abort_on(header: &[u8]) {
    #[cfg(debug_assertions)]
    if let Some(needle) = std::env::var_os("REPLYGATE_TEST_ABORT_ON") {
        let needle = needle.to_string_lossy().into_owned();
        if !needle.is_empty() && header.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            eprintln!("REPLYGATE_TEST_ABORT_ON: aborting on purpose (test crash hook)");
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = header;
}

/// Rows recorded one at a time (careful mode) in a batch.
#[derive(Debug, Default)]
struct Early {
    dup: u64,
    recorded: u64,
    history: u64,
}

/// How many deaths while reading one message set it aside.
pub const SET_ASIDE_AFTER: u32 = 3;

/// Marks in `meta` that survive a process that died mid-batch: which batch
/// was being read (and how many runs arrived at it), and in careful mode
/// which message (and how many runs died reading it).
struct Breadcrumb {
    key: String,
}

const BATCH_MARK: &str = "sync.batch_in_flight";
const MESSAGE_MARK: &str = "sync.message_in_flight";

impl Breadcrumb {
    /// A batch is known by its folder and first UID (new mail arriving
    /// meanwhile may lengthen a last, short batch).
    fn batch(folder: &str, uidvalidity: u32, chunk: &[u32]) -> Breadcrumb {
        let first = chunk.first().copied().unwrap_or(0);
        Breadcrumb {
            key: format!("{folder}\u{1}{uidvalidity}\u{1}{first}"),
        }
    }

    /// Record the arrival at this batch; returns how many runs arrived at
    /// it without leaving (this one included).
    fn arrive(&self, store: &mut Store) -> Result<u32, StoreError> {
        let before = store
            .read()
            .meta(BATCH_MARK)?
            .and_then(|v| {
                let (key, n) = v.rsplit_once('\u{1}')?;
                (key == self.key).then(|| n.parse::<u32>().ok()).flatten()
            })
            .unwrap_or(0);
        let n = before.saturating_add(1);
        store.transaction(|tx| tx.set_meta(BATCH_MARK, &format!("{}\u{1}{n}", self.key)))?;
        Ok(n)
    }

    /// The batch is recorded: the marks go in the same transaction.
    fn leave(&self, tx: &crate::store::Tx) -> Result<(), StoreError> {
        tx.set_meta(BATCH_MARK, "")?;
        tx.set_meta(MESSAGE_MARK, "")
    }

    /// The message a previous run died reading, and how many runs did.
    fn in_flight(store: &Store) -> Result<Option<(u32, u32)>, StoreError> {
        Ok(store.read().meta(MESSAGE_MARK)?.and_then(|v| {
            let (uid, n) = v.split_once(' ')?;
            Some((uid.parse().ok()?, n.parse().ok()?))
        }))
    }

    fn mark_in_flight(store: &mut Store, uid: u32, deaths: u32) -> Result<(), StoreError> {
        store.transaction(|tx| tx.set_meta(MESSAGE_MARK, &format!("{uid} {deaths}")))
    }
}

/// The row of a message recorded as `bad` without being read.
fn set_aside(folder: &str, uidvalidity: u32, uid: u32, now: DateTime<Utc>) -> Row {
    let mut h = Sha256::new();
    h.update(format!("unfetchable\0{folder}\0{uidvalidity}\0{uid}").as_bytes());
    Row {
        uid,
        message_id: None,
        fingerprint: hex::encode(&h.finalize()[..16]),
        internaldate: now,
        from_addr: None,
        subject: String::new(),
        norm_subject: String::new(),
        recipients: vec![],
        class: "bad".into(),
        reason: None,
        pending: None,
        history: false,
    }
}

/// Insert a batch's rows; returns how many were duplicates.
fn record(tx: &crate::store::Tx, folder: &str, uidvalidity: u32, rows: &[Row]) -> Result<u64, StoreError> {
    let mut dup = 0;
    for r in rows {
        let existing = tx
            .reader()
            .known_message(r.message_id.as_deref(), &r.fingerprint)?;
        if existing.is_some() {
            dup += 1;
        }
        tx.insert_message(
            &NewMessage {
                folder,
                uidvalidity,
                uid: r.uid,
                message_id: r.message_id.as_deref(),
                fingerprint: &r.fingerprint,
                internaldate: r.internaldate,
                from_addr: r.from_addr.as_deref(),
                subject: &r.subject,
                norm_subject: &r.norm_subject,
                recipients: &r.recipients,
                class: &r.class,
                reason: r.reason.as_deref(),
                pending: r.pending.as_deref(),
                role: (r.history && r.class != "bad").then_some("history"),
            },
            existing,
        )?;
        if r.history {
            if let Some(id) = &r.message_id {
                tx.link_thread(id, None)?;
            }
        }
        if r.class == "bad" {
            tx.bump_counter("messages_bad", 1)?;
        }
    }
    Ok(dup)
}

/// Run CPU work on attacker-controlled bytes off the async worker, with
/// panics caught: `Err` carries the panic message.
async fn off_worker<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let caught =
        move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| panic_text(p.as_ref()));
    match tokio::task::spawn_blocking(caught).await {
        Ok(r) => r,
        Err(e) => Err(format!("the worker thread ended: {e}")),
    }
}

/// The message of a caught panic.
pub fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Configuration the blocking part reads.
struct Shared {
    settings: ClassifySettings,
    submission_extensions: Vec<String>,
    submission_subject_words: Vec<String>,
}

/// One header block to parse and classify.
struct PrepareJob {
    shared: std::sync::Arc<Shared>,
    header: Vec<u8>,
    attachments: Vec<String>,
    calendar_method: Option<String>,
    content_type: String,
    kind: FolderKind,
    history: bool,
}

/// Which whole message must be read, and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whole {
    Staff,
    Bounce,
}

enum WholeRead {
    Author(String),
    Bounce(Option<bounce::Bounce>),
}

impl Whole {
    fn read(self, raw: &[u8]) -> WholeRead {
        match self {
            Whole::Staff => WholeRead::Author(authortext::author_text(raw)),
            Whole::Bounce => WholeRead::Bounce(bounce::parse_bounce(raw)),
        }
    }
}

/// The header-only result: the row (uid and INTERNALDATE filled in by the
/// caller), what the tracker needs, and whether the whole message is needed.
struct Prepared {
    row: Row,
    pending: Option<Pending>,
    whole: Option<Whole>,
    no_from: bool,
    /// A client mail to read whole for robot-notice phrases.
    body_check: bool,
}

impl PrepareJob {
    fn run(self) -> Result<Prepared, String> {
        let s = &self.shared;
        let mut meta = MessageMeta::parse(&self.header).map_err(|e| e.to_string())?;
        if meta.attachments.is_empty() {
            meta.attachments = self.attachments;
        }
        if meta.calendar_method.is_none() {
            meta.calendar_method = self.calendar_method;
        }
        if meta.content_type.is_empty() || meta.content_type == "text/plain" {
            meta.content_type = self.content_type;
        }
        let class = classify::classify(&meta, self.kind, &s.settings);
        let reason = match &class {
            Class::Automatic(t) => Some(t.iter().map(Trigger::as_str).collect::<Vec<_>>().join(",")),
            Class::Client => {
                let t = classify::automatic_triggers(&meta, &s.settings);
                (!t.is_empty()).then(|| t.iter().map(Trigger::as_str).collect::<Vec<_>>().join(","))
            }
            _ => None,
        };
        let recipients: Vec<String> = meta.recipients().map(|a| a.email.clone()).collect();
        let body_check = !self.history
            && self.kind == FolderKind::Inbox
            && class == Class::Client
            && classify::needs_body_check(&meta);
        // History is final at once (known for threading, nothing to track):
        // it needs none of what the tracker would read.
        let mut pending = None;
        let mut whole = None;
        if !self.history {
            let (ack_to, no_ack) = match classify::ack_recipient(&meta, &s.settings) {
                Ok(a) => (Some(a), None),
                Err(why) => (None, Some(why)),
            };
            let mut p = Pending {
                history: false,
                from_name: meta.from.as_ref().and_then(|a| a.name.clone()),
                reply_to: meta.reply_to.first().map(|a| a.email.clone()),
                ack_to,
                no_ack,
                referenced: thread::referenced_ids(&meta),
                references: meta.references.clone(),
                submission: submission::is_submission(
                    &meta.subject,
                    &meta.attachments,
                    &s.submission_extensions,
                    &s.submission_subject_words,
                ),
                ..Pending::default()
            };
            match &class {
                Class::Staff => {
                    p.external = recipients.iter().any(|r| !s.settings.is_org_address(r));
                    whole = Some(Whole::Staff);
                }
                Class::Automatic(t) if t.contains(&Trigger::DeliveryReport) => {
                    whole = Some(Whole::Bounce);
                }
                _ => {}
            }
            pending = Some(p);
        }
        let no_from = meta.from.is_none();
        let class_s = match &class {
            Class::Client if no_from => "bad".to_string(),
            c => c.as_str().to_string(),
        };
        let row = Row {
            uid: 0,
            fingerprint: fingerprint(&meta, &self.header),
            message_id: meta.message_id.clone(),
            internaldate: DateTime::<Utc>::MIN_UTC,
            from_addr: meta.from.as_ref().map(|a| a.email.clone()),
            norm_subject: thread::normalize_subject(&meta.subject),
            subject: meta.subject,
            recipients,
            class: class_s,
            reason,
            pending: None,
            history: self.history,
        };
        Ok(Prepared {
            row,
            pending,
            whole,
            no_from,
            body_check,
        })
    }
}
