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
//! A message that cannot be parsed is recorded as `bad`, logged and counted;
//! it never stops the sync.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::authortext;
use crate::bounce;
use crate::classify::{self, Class, ClassifySettings, FolderKind, Trigger};
use crate::config::Config;
use crate::imap::{FetchedHeader, ImapError, ImapSession};
use crate::message::MessageMeta;
use crate::store::{FolderState, NewMessage, Store, StoreError};
use crate::submission;
use crate::thread;
use crate::tracker::Pending;

/// Headers fetched per round trip and recorded per transaction.
pub const BATCH: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a folder sync did.
#[derive(Debug, Default, Clone)]
pub struct SyncStats {
    pub fetched: u64,
    pub recorded: u64,
    pub duplicates: u64,
    pub history: u64,
    pub bad: u64,
    pub uidvalidity_reset: bool,
}

impl SyncStats {
    pub fn add(&mut self, o: &SyncStats) {
        self.fetched += o.fetched;
        self.recorded += o.recorded;
        self.duplicates += o.duplicates;
        self.history += o.history;
        self.bad += o.bad;
        self.uidvalidity_reset |= o.uidvalidity_reset;
    }
}

/// What the sync needs besides the session and the store.
pub struct Ingest<'a> {
    pub cfg: &'a Config,
    pub settings: ClassifySettings,
    /// Mail received before this is history (SPEC §2 first start).
    pub cutoff: DateTime<Utc>,
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
        for chunk in uids.chunks(BATCH) {
            let headers = session.fetch_headers_for(chunk).await?;
            stats.fetched += headers.len() as u64;
            let mut rows = Vec::with_capacity(headers.len());
            for h in &headers {
                if store.read().has_location(folder, status.uidvalidity, h.uid)? {
                    continue;
                }
                rows.push(self.row(session, h, kind, folder, &mut stats).await?);
            }
            let max_uid = chunk.iter().copied().max().unwrap_or(last_uid).max(last_uid);
            let st = FolderState {
                uidvalidity: status.uidvalidity,
                last_uid: max_uid,
            };
            let dup = store.transaction(|tx| -> Result<u64, StoreError> {
                let mut dup = 0;
                for r in &rows {
                    let existing = tx
                        .reader()
                        .known_message(r.message_id.as_deref(), &r.fingerprint)?;
                    if existing.is_some() {
                        dup += 1;
                    }
                    tx.insert_message(
                        &NewMessage {
                            folder,
                            uidvalidity: status.uidvalidity,
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
                            role: None,
                        },
                        existing,
                    )?;
                    if r.class == "bad" {
                        tx.bump_counter("messages_bad", 1)?;
                    }
                }
                tx.set_folder_state(folder, kind_s, &st, now)?;
                Ok(dup)
            })?;
            stats.duplicates += dup;
            stats.recorded += rows.len() as u64 - dup;
            stats.history += rows.iter().filter(|r| r.history).count() as u64;
            last_uid = max_uid;
        }
        Ok(stats)
    }

    async fn row(
        &self,
        session: &mut ImapSession,
        h: &FetchedHeader,
        kind: FolderKind,
        folder: &str,
        stats: &mut SyncStats,
    ) -> Result<Row, SyncError> {
        let history = h.internaldate < self.cutoff;
        let mut meta = match MessageMeta::parse(&h.header) {
            Ok(m) => m,
            Err(e) => {
                stats.bad += 1;
                tracing::warn!(folder, uid = h.uid, error = %e, "message cannot be read; recorded as bad and skipped");
                return Ok(Row {
                    uid: h.uid,
                    message_id: None,
                    fingerprint: hex::encode(&Sha256::digest(&h.header)[..16]),
                    internaldate: h.internaldate,
                    from_addr: None,
                    subject: String::new(),
                    norm_subject: String::new(),
                    recipients: vec![],
                    class: "bad".into(),
                    reason: Some(e.to_string()),
                    pending: None,
                    history,
                });
            }
        };
        if meta.attachments.is_empty() {
            meta.attachments = h.attachments.clone();
        }
        if meta.calendar_method.is_none() {
            meta.calendar_method = h.calendar_method.clone();
        }
        if meta.content_type.is_empty() || meta.content_type == "text/plain" {
            meta.content_type = h.content_type.clone();
        }
        let class = classify::classify(&meta, kind, &self.settings);
        let reason = match &class {
            Class::Automatic(t) => Some(t.iter().map(Trigger::as_str).collect::<Vec<_>>().join(",")),
            Class::Client => {
                let t = classify::automatic_triggers(&meta, &self.settings);
                (!t.is_empty()).then(|| t.iter().map(Trigger::as_str).collect::<Vec<_>>().join(","))
            }
            _ => None,
        };
        if meta.from.is_none() {
            tracing::warn!(
                folder,
                uid = h.uid,
                "message has no From; recorded, cannot open a case"
            );
        }
        let recipients: Vec<String> = meta.recipients().map(|a| a.email.clone()).collect();
        let mut p = Pending {
            history,
            from_name: meta.from.as_ref().and_then(|a| a.name.clone()),
            reply_to: meta.reply_to.first().map(|a| a.email.clone()),
            referenced: thread::referenced_ids(&meta),
            references: meta.references.clone(),
            submission: submission::is_submission(
                &meta.subject,
                &meta.attachments,
                &self.cfg.reply.submission_extensions,
                &self.cfg.reply.submission_subject_words,
            ),
            ..Pending::default()
        };
        if !history {
            match &class {
                Class::Staff => {
                    p.external = recipients.iter().any(|r| !self.settings.is_org_address(r));
                    if let Some(raw) = session.fetch_full(h.uid).await? {
                        p.author_text = Some(authortext::author_text(&raw));
                    }
                }
                Class::Automatic(t) if t.contains(&Trigger::DeliveryReport) => {
                    if let Some(raw) = session.fetch_full(h.uid).await? {
                        if let Some(b) = bounce::parse_bounce(&raw) {
                            p.bounce_recipients = b.failed_recipients;
                            p.bounce_message_ids = b.original_message_ids;
                        }
                    }
                }
                _ => {}
            }
        }
        let class_s = match &class {
            Class::Client if meta.from.is_none() => "bad".to_string(),
            c => c.as_str().to_string(),
        };
        let pending = serde_json::to_string(&p).ok();
        Ok(Row {
            uid: h.uid,
            fingerprint: fingerprint(&meta, &h.header),
            message_id: meta.message_id.clone(),
            internaldate: h.internaldate,
            from_addr: meta.from.as_ref().map(|a| a.email.clone()),
            norm_subject: thread::normalize_subject(&meta.subject),
            subject: meta.subject,
            recipients,
            class: class_s,
            reason,
            pending,
            history,
        })
    }
}
