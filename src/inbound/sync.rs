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
//! marks in `meta` say which batch was being read (the oldest not yet
//! recorded: a batch is read while the one before is still being judged,
//! see `Ingest::ready`); a run that finds the last one died in the same
//! batch reads it one message at a time, each recorded at once (and
//! records its end before the next batch is read), and a message that was
//! being read at [`SET_ASIDE_AFTER`] deaths is recorded as `bad` unread, so
//! a restart loop never holds the mailbox. Nor does one the server cannot deliver: when a
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

use crate::cases::feedback::{Finding, Recogniser};
use crate::cases::staff_reply::{StaffRead, StaffReader};
use crate::cases::tracker::Pending;
use crate::config::Config;
use crate::inbound::authortext;
use crate::inbound::bounce;
use crate::inbound::classify::{self, Class, ClassifySettings, FolderKind, Trigger};
use crate::inbound::imap::{FetchedHeader, ImapError, ImapSession, HEADER_CAP};
use crate::inbound::message::{Address, MessageMeta};
use crate::inbound::submission;
use crate::inbound::thread;
use crate::store::{FolderState, NewMessage, Store, StoreError};

/// Headers fetched per round trip and recorded per transaction.
pub const BATCH: usize = 200;

/// Batches read ahead and waiting (see [`Ingest::folder`]). One: with the
/// client texts a batch holds up to 200 × 32 KiB, and a second one waiting
/// measured no faster.
const READ_AHEAD: usize = 1;

/// A batch read ahead on the second connection: its headers and, of its
/// mails received after the history cutoff, in an inbox folder the first
/// [`FEEDBACK_READ`] bytes of each (the client texts the feedback judge
/// reads; `None` when they were not read), in a sent folder the staff
/// replies as [`Ingest::fetch_wholes`] reads them (up to [`AHEAD_BYTES`]).
struct AheadBatch {
    headers: Vec<FetchedHeader>,
    texts: Option<HashMap<u32, Vec<u8>>>,
    wholes: HashMap<u32, Vec<u8>>,
}

/// Most bytes of staff replies a batch read ahead holds (counted as in
/// [`body_fetches`]); the rest is read when the batch is processed.
const AHEAD_BYTES: u64 = 4 * 1024 * 1024;

/// Most bytes of message bodies asked for in one `UID FETCH` of whole
/// messages (each counted at its size, capped at
/// [`crate::inbound::imap::FULL_FETCH_LIMIT`]): the memory a batch of staff
/// replies may hold at once.
pub const BODY_BATCH_BYTES: u64 = 8 * 1024 * 1024;

/// A whole message fetched for a row: `Ok(None)` when it is gone, `Err`
/// with the reason when it cannot be fetched.
type FetchResult = Result<Option<Vec<u8>>, String>;

/// A message of a batch being read: finished, or waiting for its whole
/// message.
enum Slot {
    Done(Row),
    Open {
        row: Row,
        pending: Option<Box<Pending>>,
        whole: Option<Whole>,
        raw: Option<FetchResult>,
    },
}

/// What is read of a message fetched whole: `None` the whole message,
/// `Some` these text parts.
type Plan = Option<Vec<Vec<u32>>>;

/// How much of a client mail is read to judge feedback (SPEC §14): the
/// header and the start of the text, where a client says what the mail is;
/// of a mail with attachments, the start of its first text part
/// ([`ImapSession::client_text_part`]), so an attachment's base64 does not
/// take the place of the text.
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
    /// Where a client text is read for the feedback judge
    /// ([`ImapSession::client_text_part`]).
    text_part: Option<Vec<u32>>,
}

/// One sync of a folder: what every step of it needs.
struct Pass<'f> {
    folder: &'f str,
    uidvalidity: u32,
    kind: FolderKind,
    now: DateTime<Utc>,
    /// The feedback judge (SPEC §14), shared with its blocking tasks.
    recogniser: Arc<Recogniser>,
    /// Reads staff replies' signatures and promises, on the blocking tasks.
    staff: Arc<StaffReader>,
}

/// A batch, the UIDs `chunk`: its headers as fetched (by the read-ahead or
/// here), the texts and staff replies read ahead, and the UIDs the fetch
/// did not return.
struct Fetched<'c> {
    chunk: &'c [u32],
    headers: Vec<FetchedHeader>,
    texts: Option<HashMap<u32, Vec<u8>>>,
    wholes: HashMap<u32, Vec<u8>>,
    missing: Vec<u32>,
}

impl<'c> Fetched<'c> {
    /// What a batch's fetch returned; when it failed, every UID is missing.
    fn of(chunk: &'c [u32], got: Result<AheadBatch, ImapError>, folder: &str) -> Self {
        match got {
            Ok(AheadBatch {
                headers,
                texts,
                wholes,
            }) => {
                let missing = chunk
                    .iter()
                    .copied()
                    .filter(|u| headers.binary_search_by_key(u, |x| x.uid).is_err())
                    .collect();
                Fetched {
                    chunk,
                    headers,
                    texts,
                    wholes,
                    missing,
                }
            }
            Err(e) => {
                tracing::warn!(folder, first = chunk[0], count = chunk.len(), error = %e, "batch fetch failed; fetching these messages one by one");
                Fetched {
                    chunk,
                    headers: Vec::new(),
                    texts: None,
                    wholes: HashMap::new(),
                    missing: chunk.to_vec(),
                }
            }
        }
    }
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
                store.transaction(|tx| tx.set_folder_state(folder, kind.as_str(), &st, now))?;
            }
            return Ok(stats);
        }
        // Made only when there is mail to read: the feedback judge compiles
        // its patterns, which an IDLE wake with nothing new must not pay
        // for (nor keep their caches' memory).
        let pass = Pass {
            folder,
            uidvalidity: status.uidvalidity,
            kind,
            now,
            recogniser: Arc::new(self.cfg.feedback.recogniser()),
            staff: Arc::new(StaffReader::new(self.cfg)),
        };
        // A folder of more than one batch (a first start, a long outage):
        // the header batches, and in an inbox the texts of its new mail,
        // are read ahead on a second connection while this one reads
        // staff replies and the batch before is processed, so the server
        // and replygate work at the same time. The read-ahead stops at its
        // first error; what it did not read is read here.
        let mut ahead = None;
        if uids.len() > BATCH {
            ahead = self.reader_ahead(folder, status.uidvalidity).await;
            if ahead.is_some() {
                tracing::info!(
                    folder,
                    messages = uids.len(),
                    "many new messages: reading header batches ahead on a second connection"
                );
            }
        }
        let (ahead_tx, ahead_rx) = tokio::sync::mpsc::channel::<Result<AheadBatch, ImapError>>(READ_AHEAD);
        let read_ahead = async {
            let Some(mut reader) = ahead else { return };
            for chunk in uids.chunks(BATCH) {
                let (res, failed) = match reader.fetch_headers_for(chunk).await {
                    Ok(headers) => {
                        let (texts, failed) = self.texts_ahead(&mut reader, kind, &headers).await;
                        let (wholes, failed) = match failed {
                            false => self.wholes_ahead(&mut reader, kind, &headers).await,
                            true => (HashMap::new(), true),
                        };
                        (
                            Ok(AheadBatch {
                                headers,
                                texts,
                                wholes,
                            }),
                            failed,
                        )
                    }
                    Err(e) => (Err(e), true),
                };
                if ahead_tx.send(res).await.is_err() || failed {
                    break;
                }
            }
            drop(ahead_tx);
            reader.logout().await;
        };
        let process = async {
            // Dropped with this future, so a read-ahead waiting to hand
            // over a batch ends when processing stops early.
            let mut ahead_rx = ahead_rx;
            // A batch read, its feedback judge and its staff mail's
            // reading running on the blocking pool while the next batch is
            // read (the stages took turns before: the pool idle while a
            // batch's headers were read, the reading waiting for the
            // pool), recorded once that one is.
            let mut waiting: Option<Readied<'_>> = None;
            for chunk in uids.chunks(BATCH) {
                let fetched = match ahead_rx.recv().await {
                    Some(res) => res,
                    None => session.fetch_headers_for(chunk).await.map(|headers| AheadBatch {
                        headers,
                        texts: None,
                        wholes: HashMap::new(),
                    }),
                };
                let fetched = Fetched::of(chunk, fetched, folder);
                let readied = match self
                    .ready(session, store, &pass, fetched, waiting.is_some(), &mut stats)
                    .await
                {
                    Ok(r) => r,
                    Err(e) => {
                        // What was read before is not lost with this batch.
                        if let Some(w) = waiting.take() {
                            last_uid = self.finish(store, &pass, w, None, last_uid, &mut stats).await?;
                        }
                        return Err(e);
                    }
                };
                if let Some(w) = waiting.take() {
                    last_uid = self
                        .finish(store, &pass, w, Some(&readied.batch), last_uid, &mut stats)
                        .await?;
                }
                if readied.careful {
                    // Its messages are recorded; its end is too before the
                    // next batch is read, or a message there that kills
                    // the process would bring every run back to this one.
                    last_uid = self
                        .finish(store, &pass, readied, None, last_uid, &mut stats)
                        .await?;
                } else {
                    waiting = Some(readied);
                }
            }
            if let Some(w) = waiting.take() {
                last_uid = self.finish(store, &pass, w, None, last_uid, &mut stats).await?;
            }
            Ok::<(), SyncError>(())
        };
        let ((), processed) = tokio::join!(read_ahead, process);
        processed?;
        Ok(stats)
    }

    /// Read one batch up to its record: its rows, with the reading of its
    /// staff mail and delivery reports and its client texts' feedback
    /// judge started on the blocking pool ([`Ingest::finish`] waits for
    /// both and records the batch in one transaction with the folder's new
    /// last UID).
    ///
    /// One message the server or the IMAP library cannot handle can fail
    /// the whole batch fetch or end the connection mid-response (Dovecot
    /// answers an unreadable message file with BYE): whatever the fetch did
    /// not return is fetched again one UID at a time on a fresh connection,
    /// and what still cannot be fetched is recorded as bad, so the rest of
    /// the mailbox is never blocked.
    ///
    /// `behind`: the batch before is read and not yet recorded. Its
    /// breadcrumb stays then (a process that dies now starts again from
    /// that batch, carefully), and this batch's is set when that one is
    /// recorded ([`Breadcrumb::enter`]).
    async fn ready<'c>(
        &self,
        session: &mut ImapSession,
        store: &mut Store,
        pass: &Pass<'_>,
        mut fetched: Fetched<'c>,
        behind: bool,
        stats: &mut SyncStats,
    ) -> Result<Readied<'c>, SyncError> {
        let chunk = fetched.chunk;
        let texts = fetched.texts.take();
        let mut broken = !fetched.missing.is_empty();
        let truncated_before = stats.truncated;
        stats.fetched += fetched.headers.len() as u64;
        // A process that died reading this batch before (an abort the
        // panic guard cannot catch, an out-of-memory kill) reads it one
        // message at a time, each recorded at once, and sets aside the
        // one it keeps dying on (SPEC §11.1): a restart loop never holds
        // the mailbox.
        let batch = Breadcrumb::batch(pass.folder, pass.uidvalidity, chunk);
        let careful = !behind && batch.arrive(store)? > 1;
        let (rows, early, wholes) = if careful {
            tracing::warn!(
                folder = pass.folder,
                first = chunk[0],
                count = chunk.len(),
                "the last run stopped while reading these messages; reading them one at a time"
            );
            let early = self
                .one_at_a_time(session, store, pass, fetched, stats, &mut broken)
                .await?;
            (Vec::new(), early, WholeReads::default())
        } else {
            let (rows, wholes) = self
                .all_at_once(session, store, pass, fetched, stats, &mut broken)
                .await?;
            (rows, Early::default(), wholes)
        };
        self.mend(session, pass, &mut broken).await?;
        let judging = self.start_judge(session, &pass.recogniser, &rows, texts).await;
        Ok(Readied {
            chunk,
            batch,
            careful,
            rows,
            early,
            truncated: stats.truncated - truncated_before,
            judging,
            wholes,
        })
    }

    /// Wait for a batch's whole reads and feedback judge and record it in one
    /// transaction with the folder's new last UID (returned), its
    /// breadcrumb left and `next`'s (a batch read meanwhile) entered.
    async fn finish(
        &self,
        store: &mut Store,
        pass: &Pass<'_>,
        readied: Readied<'_>,
        next: Option<&Breadcrumb>,
        last_uid: u32,
        stats: &mut SyncStats,
    ) -> Result<u32, SyncError> {
        let Readied {
            chunk,
            batch,
            careful: _,
            mut rows,
            early,
            truncated,
            judging,
            wholes,
        } = readied;
        wholes.complete(&mut rows, pass.folder, stats).await;
        apply_judgements(&mut rows, judging.join().await);
        let max_uid = chunk.iter().copied().max().unwrap_or(last_uid).max(last_uid);
        let st = FolderState {
            uidvalidity: pass.uidvalidity,
            last_uid: max_uid,
        };
        let dup = early.dup
            + store.transaction(|tx| -> Result<u64, StoreError> {
                let dup = record(tx, pass.folder, pass.uidvalidity, &rows)?;
                if truncated > 0 {
                    tx.bump_counter("headers_truncated", truncated as i64)?;
                }
                tx.set_folder_state(pass.folder, pass.kind.as_str(), &st, pass.now)?;
                batch.leave(tx)?;
                if let Some(next) = next {
                    next.enter(tx)?;
                }
                Ok(dup)
            })?;
        stats.history += rows.iter().filter(|r| r.history).count() as u64 + early.history;
        let rows_len = rows.len() as u64 + early.recorded;
        stats.duplicates += dup;
        stats.recorded += rows_len - dup;
        Ok(max_uid)
    }

    /// The usual way through a batch: the rows of the messages not yet
    /// recorded, read together (see [`Ingest::rows`]), and of those the
    /// fetch did not return, fetched one by one.
    async fn all_at_once(
        &self,
        session: &mut ImapSession,
        store: &Store,
        pass: &Pass<'_>,
        mut fetched: Fetched<'_>,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Result<(Vec<Row>, WholeReads), SyncError> {
        let mut todo = Vec::with_capacity(fetched.headers.len());
        for h in std::mem::take(&mut fetched.headers) {
            if !store.read().has_location(pass.folder, pass.uidvalidity, h.uid)? {
                todo.push(h);
            }
        }
        if !todo.is_empty() {
            self.mend(session, pass, broken).await?;
        }
        let (mut rows, reads) = self
            .rows_reading(session, &todo, pass, &mut fetched.wholes, stats, broken)
            .await?;
        drop(todo);
        for uid in fetched.missing {
            if store.read().has_location(pass.folder, pass.uidvalidity, uid)? {
                continue;
            }
            if let Some(row) = self.one_by_one(session, pass, uid, stats, broken).await? {
                rows.push(row);
            }
        }
        Ok((rows, reads))
    }

    /// Careful mode, for a batch a previous run died reading: each message
    /// read and recorded at once, marked in flight while it is read, and
    /// one that was being read at [`SET_ASIDE_AFTER`] deaths recorded as
    /// `bad` unread.
    async fn one_at_a_time(
        &self,
        session: &mut ImapSession,
        store: &mut Store,
        pass: &Pass<'_>,
        fetched: Fetched<'_>,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Result<Early, SyncError> {
        let mut early = Early::default();
        let suspect = Breadcrumb::in_flight(store)?;
        let todo = fetched
            .headers
            .into_iter()
            .map(Ok)
            .chain(fetched.missing.into_iter().map(Err));
        for item in todo {
            let uid = match &item {
                Ok(h) => h.uid,
                Err(u) => *u,
            };
            if store.read().has_location(pass.folder, pass.uidvalidity, uid)? {
                continue;
            }
            let deaths = suspect.as_ref().filter(|s| s.0 == uid).map_or(0, |s| s.1);
            let row = if deaths >= SET_ASIDE_AFTER {
                stats.bad += 1;
                tracing::error!(folder = pass.folder, uid, deaths, "replygate stopped {deaths} times while reading this message; recorded as bad and set aside");
                let mut row = set_aside(pass, uid);
                row.reason = Some(format!("reading it stopped replygate {deaths} times"));
                Some(row)
            } else {
                Breadcrumb::mark_in_flight(store, uid, deaths + 1)?;
                self.read_one(session, item, pass, stats, broken).await?
            };
            let Some(row) = row else { continue };
            self.mend(session, pass, broken).await?;
            let mut rows = vec![row];
            self.judge_feedback(session, &pass.recogniser, &mut rows, None)
                .await;
            early.dup += store.transaction(|tx| record(tx, pass.folder, pass.uidvalidity, &rows))?;
            early.recorded += 1;
            early.history += u64::from(rows[0].history);
        }
        Ok(early)
    }

    /// A second session on `folder` for reading header batches ahead
    /// (see [`Ingest::folder`]); `None` (and reading on the one session)
    /// when it cannot be had or the folder changed meanwhile.
    async fn reader_ahead(&self, folder: &str, uidvalidity: u32) -> Option<ImapSession> {
        match self.session_on(folder, uidvalidity).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::info!(folder, error = %e, "no second IMAP connection for reading ahead; reading on one");
                None
            }
        }
    }

    /// The staff replies of a batch read ahead in a sent folder (see
    /// [`AheadBatch`]): of the mail received after the history cutoff (a
    /// superset of the staff replies checked), the fetches of
    /// [`body_fetches`] that fit in [`AHEAD_BYTES`]. Also whether reading
    /// them failed, which ends the read-ahead; what is not here is read by
    /// the main connection.
    async fn wholes_ahead(
        &self,
        reader: &mut ImapSession,
        kind: FolderKind,
        headers: &[FetchedHeader],
    ) -> (HashMap<u32, Vec<u8>>, bool) {
        let mut out = HashMap::new();
        if kind != FolderKind::Sent {
            return (out, false);
        }
        let want: Vec<(usize, bool)> = (0..headers.len())
            .filter(|&i| headers[i].internaldate >= self.cutoff)
            .map(|i| (i, true))
            .collect();
        let mut spent = 0;
        for (plan, part, bytes) in body_fetches(headers, &want) {
            spent += bytes;
            if spent > AHEAD_BYTES {
                break;
            }
            match fetch_bodies(reader, headers, &plan, &part).await {
                Ok(got) => out.extend(got),
                Err(e) => {
                    tracing::info!(count = part.len(), error = %e, "staff replies cannot be read ahead; reading them on the main connection");
                    return (out, true);
                }
            }
        }
        (out, false)
    }

    /// The texts the feedback judge will read of a batch read ahead (see
    /// [`AheadBatch`]): in an inbox folder, those of the mail received
    /// after the history cutoff (a superset of the client mail judged).
    /// Also whether reading them failed, which ends the read-ahead (its
    /// connection may be gone); the batch's texts are then read by the
    /// main connection.
    async fn texts_ahead(
        &self,
        reader: &mut ImapSession,
        kind: FolderKind,
        headers: &[FetchedHeader],
    ) -> (Option<HashMap<u32, Vec<u8>>>, bool) {
        if kind != FolderKind::Inbox {
            return (None, false);
        }
        let wanted: Vec<(u32, Option<Vec<u32>>)> = headers
            .iter()
            .filter(|h| h.internaldate >= self.cutoff)
            .map(|h| (h.uid, ImapSession::client_text_part(h)))
            .collect();
        if wanted.is_empty() {
            return (Some(HashMap::new()), false);
        }
        match reader.fetch_client_texts(&wanted, FEEDBACK_READ).await {
            Ok(t) => (Some(t.into_iter().collect()), false),
            Err(e) => {
                tracing::info!(count = wanted.len(), error = %e, "client texts cannot be read ahead; reading them on the main connection");
                (None, true)
            }
        }
    }

    /// Client mail that opens or joins cases: is it feedback about the
    /// service (SPEC §14)? [`Ingest::start_judge`], waited for.
    async fn judge_feedback(
        &self,
        session: &mut ImapSession,
        recogniser: &Arc<Recogniser>,
        rows: &mut [Row],
        ahead: Option<HashMap<u32, Vec<u8>>>,
    ) {
        let judging = self.start_judge(session, recogniser, rows, ahead).await;
        apply_judgements(rows, judging.join().await);
    }

    /// Start judging whether the client mail among `rows` that opens or
    /// joins cases is feedback about the service (SPEC §14), on the
    /// blocking pool: on the subject and the client's own text, read from
    /// the first [`FEEDBACK_READ`] bytes of every such message of the
    /// batch (of its first text part when it has attachments): those in
    /// `ahead` (read ahead on the second connection), the others fetched
    /// here together ([`ImapSession::fetch_client_texts`]). When the text
    /// cannot be fetched the subject alone is judged (logged; the mail is
    /// never held back for this). [`apply_judgements`] takes the results.
    async fn start_judge(
        &self,
        session: &mut ImapSession,
        recogniser: &Arc<Recogniser>,
        rows: &[Row],
        ahead: Option<HashMap<u32, Vec<u8>>>,
    ) -> Judging {
        // Client mail that opens or joins a case (history changes nothing).
        let judged = |r: &Row| r.class == "client" && !r.history && r.pending.is_some();
        let mut texts = ahead.unwrap_or_default();
        if !rows.iter().any(judged) {
            return Spawned::default();
        }
        let unread: Vec<(u32, Option<Vec<u32>>)> = rows
            .iter()
            .filter(|r| judged(r) && !texts.contains_key(&r.uid))
            .map(|r| (r.uid, r.text_part.clone()))
            .collect();
        if !unread.is_empty() {
            match session.fetch_client_texts(&unread, FEEDBACK_READ).await {
                Ok(t) => texts.extend(t),
                Err(e) => {
                    tracing::warn!(count = unread.len(), error = %e, "client texts cannot be fetched; feedback judged on the subject only");
                }
            }
        }
        // Reading the texts is CPU work on the client's bytes: off the async
        // worker, a panic costing only its message's judgement (the mail
        // then counts as not feedback).
        let jobs: Vec<(usize, String, Option<Vec<u8>>)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| judged(r))
            .map(|(i, r)| (i, r.subject.clone(), texts.remove(&r.uid)))
            .collect();
        drop(texts);
        let recogniser = recogniser.clone();
        spawn_each(jobs, JUDGE_SHARES, move |(i, subject, raw)| {
            let own = raw.map(|raw| authortext::author_text(&raw)).unwrap_or_default();
            (i, recogniser.judge(&subject, &own))
        })
    }

    /// Replace a session that may be dead with a fresh one on the
    /// folder. Fails (and so ends the run, to be retried) when the server
    /// cannot be reached or the folder was recreated meanwhile.
    async fn reconnect(&self, session: &mut ImapSession, pass: &Pass<'_>) -> Result<(), SyncError> {
        let fresh = self.session_on(pass.folder, pass.uidvalidity).await?;
        let old = std::mem::replace(session, fresh);
        drop(old);
        Ok(())
    }

    /// Replace the session if the last step left it `broken` (an error
    /// may have ended the connection mid-response).
    async fn mend(
        &self,
        session: &mut ImapSession,
        pass: &Pass<'_>,
        broken: &mut bool,
    ) -> Result<(), SyncError> {
        if *broken {
            self.reconnect(session, pass).await?;
            *broken = false;
        }
        Ok(())
    }

    /// A new session with `folder` examined, still at `uidvalidity`.
    async fn session_on(&self, folder: &str, uidvalidity: u32) -> Result<ImapSession, SyncError> {
        let mut fresh = crate::inbound::imap::connect_with(&self.cfg.imap, self.login).await?;
        let st = fresh.examine(folder).await?;
        if st.uidvalidity != uidvalidity {
            return Err(SyncError::Changed {
                folder: folder.to_string(),
            });
        }
        Ok(fresh)
    }

    /// Fetch one UID the batch did not return: retried once on a fresh
    /// connection; `None` when the message is gone (expunged meanwhile), a
    /// `bad` row when it exists but cannot be fetched.
    async fn one_by_one(
        &self,
        session: &mut ImapSession,
        pass: &Pass<'_>,
        uid: u32,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Result<Option<Row>, SyncError> {
        let mut last_error = String::from("the server returned nothing for it");
        for _attempt in 0..2 {
            self.mend(session, pass, broken).await?;
            match session.fetch_headers_for(&[uid]).await {
                Ok(h) if !h.is_empty() => {
                    stats.fetched += 1;
                    let rows = self
                        .rows(session, &h[..1], pass, &mut HashMap::new(), stats, broken)
                        .await?;
                    return Ok(rows.into_iter().next());
                }
                Ok(_) => {}
                Err(e) => last_error = e.to_string(),
            }
            *broken = true;
        }
        self.reconnect(session, pass).await?;
        *broken = false;
        if !session.uids_from(uid).await?.contains(&uid) {
            return Ok(None); // expunged meanwhile
        }
        stats.fetched += 1;
        stats.bad += 1;
        tracing::warn!(folder = pass.folder, uid, error = %last_error, "message cannot be fetched from the server; recorded as bad and skipped");
        let mut row = set_aside(pass, uid);
        row.reason = Some(format!("cannot be fetched: {last_error}"));
        Ok(Some(row))
    }

    /// Read one message: from its fetched header, or (when the batch did
    /// not return it) fetched alone; `None` when it is gone.
    async fn read_one(
        &self,
        session: &mut ImapSession,
        item: Result<FetchedHeader, u32>,
        pass: &Pass<'_>,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Result<Option<Row>, SyncError> {
        match item {
            Ok(h) => {
                self.mend(session, pass, broken).await?;
                let rows = self
                    .rows(
                        session,
                        std::slice::from_ref(&h),
                        pass,
                        &mut HashMap::new(),
                        stats,
                        broken,
                    )
                    .await?;
                Ok(rows.into_iter().next())
            }
            Err(uid) => self.one_by_one(session, pass, uid, stats, broken).await,
        }
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

    /// Read, classify and (where needed) fetch the rest of a batch of
    /// messages: the header-only work of the whole batch runs on the
    /// blocking pool, spread over the cores (each message's failure or panic
    /// its own: it is recorded as `bad`); the staff replies and delivery
    /// reports the batch needs whole are then fetched together (see
    /// [`Ingest::fetch_wholes`]) and read on the blocking pool the same way.
    async fn rows(
        &self,
        session: &mut ImapSession,
        hs: &[FetchedHeader],
        pass: &Pass<'_>,
        ahead: &mut HashMap<u32, Vec<u8>>,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Result<Vec<Row>, SyncError> {
        let (mut rows, reads) = self.rows_reading(session, hs, pass, ahead, stats, broken).await?;
        reads.complete(&mut rows, pass.folder, stats).await;
        Ok(rows)
    }

    /// [`Ingest::rows`], the messages read whole still being read on the
    /// blocking pool: their rows are placeholders (nothing pending) until
    /// [`WholeReads::complete`] puts in what was read.
    async fn rows_reading(
        &self,
        session: &mut ImapSession,
        hs: &[FetchedHeader],
        pass: &Pass<'_>,
        ahead: &mut HashMap<u32, Vec<u8>>,
        stats: &mut SyncStats,
        broken: &mut bool,
    ) -> Result<(Vec<Row>, WholeReads), SyncError> {
        let folder = pass.folder;
        let bad = |h: &FetchedHeader, reason: String| Row {
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
            history: h.internaldate < self.cutoff,
            text_part: None,
        };
        for h in hs.iter().filter(|h| h.header.len() >= HEADER_CAP) {
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
        let shared = self.shared();
        let jobs: Vec<PrepareJob> = hs
            .iter()
            .map(|h| PrepareJob {
                shared: shared.clone(),
                header: h.header.clone(),
                attachments: h.attachments.clone(),
                calendar_method: h.calendar_method.clone(),
                content_type: h.content_type.clone(),
                kind: pass.kind,
                history: h.internaldate < self.cutoff,
            })
            .collect();
        hs.iter().for_each(|h| test_abort_on(&h.header));
        let prepared = off_worker_each(jobs, SHARES, PrepareJob::run).await;
        let mut slots: Vec<Slot> = Vec::with_capacity(hs.len());
        for (h, p) in hs.iter().zip(prepared) {
            let prepared = match p {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    stats.bad += 1;
                    tracing::warn!(folder, uid = h.uid, error = %e, "message cannot be read; recorded as bad and skipped");
                    slots.push(Slot::Done(bad(h, e)));
                    continue;
                }
                Err(panic) => {
                    stats.bad += 1;
                    tracing::error!(folder, uid = h.uid, error = %panic, "reading the message failed; recorded as bad and set aside");
                    slots.push(Slot::Done(bad(h, format!("processing failed: {panic}"))));
                    continue;
                }
            };
            let Prepared {
                mut row,
                pending,
                mut whole,
                no_from,
                body_check,
            } = prepared;
            // A client mail with a report-like subject or a robot-like sender is
            // read whole once: a delivery report without the standard markers
            // is recognised by the phrases of its MTA (SPEC §5.2).
            let mut have_raw: Option<Vec<u8>> = None;
            if body_check {
                self.mend(session, pass, broken).await?;
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
            row.text_part = ImapSession::client_text_part(h);
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
            let whole = if pending.is_some() { whole } else { None };
            slots.push(Slot::Open {
                row,
                pending: pending.map(Box::new),
                whole,
                raw: have_raw.map(|r| Ok(Some(r))),
            });
        }
        // The messages to read whole, fetched together.
        let want: Vec<(usize, bool)> = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Open {
                    whole: Some(w),
                    raw: None,
                    ..
                } => Some((i, *w == Whole::Staff)),
                _ => None,
            })
            .collect();
        if !want.is_empty() {
            let got = self.fetch_wholes(session, pass, hs, &want, ahead, broken).await?;
            for (i, r) in got {
                if let Slot::Open { raw, .. } = &mut slots[i] {
                    *raw = Some(r);
                }
            }
        }
        // Read them on the blocking pool.
        let mut reads: Vec<(usize, WholeJob, Vec<u8>)> = Vec::new();
        for (i, slot) in slots.iter_mut().enumerate() {
            let Slot::Open {
                whole: Some(w),
                raw,
                row,
                pending,
            } = slot
            else {
                continue;
            };
            match raw.take() {
                Some(Ok(Some(r))) => reads.push((i, WholeJob::of(*w, row, pending.as_deref()), r)),
                Some(Err(e)) if *w == Whole::Staff => {
                    stats.bad += 1;
                    *slot = Slot::Done(bad(&hs[i], format!("staff mail cannot be fetched whole: {e}")));
                }
                _ => {}
            }
        }
        let read_at: Vec<usize> = reads.iter().map(|(i, _, _)| *i).collect();
        let staff = pass.staff.clone();
        let mut wholes = WholeReads {
            rows: Vec::with_capacity(reads.len()),
            reading: spawn_each(reads, WHOLE_SHARES, move |(_, job, raw)| job.read(&raw, &staff)),
        };
        let mut read_at = read_at.into_iter().peekable();
        let mut out = Vec::with_capacity(slots.len());
        for (i, slot) in slots.into_iter().enumerate() {
            let (mut row, pending) = match slot {
                Slot::Done(row) => {
                    out.push(row);
                    continue;
                }
                Slot::Open { row, pending, .. } => (row, pending.map(|p| *p)),
            };
            if read_at.next_if_eq(&i).is_some() {
                // Read whole (staff mail, a delivery report: never judged
                // for feedback); its row is complete once it is read.
                // Until then its place holds it as `bad`, which it becomes
                // if the reading fails.
                out.push(bad(&hs[i], String::new()));
                wholes.rows.push(WholeRow { at: i, row, pending });
                continue;
            }
            row.pending = pending.and_then(|p| serde_json::to_string(&p).ok());
            out.push(row);
        }
        Ok((out, wholes))
    }

    /// Fetch the messages `want` (index into `hs`, and whether only its
    /// readable parts are needed: a staff reply) in the `UID FETCH`es of
    /// [`body_fetches`], except those read ahead (taken from `ahead`). A
    /// fetch that fails is done again one message at a time on a fresh
    /// connection, so one message the server cannot deliver costs only
    /// itself. Returns `(index, result)` for each of `want`: `Ok(None)`
    /// when the message is gone.
    async fn fetch_wholes(
        &self,
        session: &mut ImapSession,
        pass: &Pass<'_>,
        hs: &[FetchedHeader],
        want: &[(usize, bool)],
        ahead: &mut HashMap<u32, Vec<u8>>,
        broken: &mut bool,
    ) -> Result<Vec<(usize, FetchResult)>, SyncError> {
        let mut out = Vec::with_capacity(want.len());
        let mut unread = Vec::with_capacity(want.len());
        for &(i, readable) in want {
            match ahead.remove(&hs[i].uid) {
                Some(raw) if readable => out.push((i, Ok(Some(raw)))),
                _ => unread.push((i, readable)),
            }
        }
        for (plan, part, _) in body_fetches(hs, &unread) {
            self.mend(session, pass, broken).await?;
            match fetch_bodies(session, hs, &plan, &part).await {
                Ok(mut got) => {
                    for &i in &part {
                        match got.binary_search_by_key(&hs[i].uid, |(u, _)| *u) {
                            Ok(k) => out.push((i, Ok(Some(std::mem::take(&mut got[k].1))))),
                            // Not returned: gone, or asked again alone
                            // to tell.
                            Err(_) => {
                                let readable = plan.is_some() || unread.iter().any(|&(w, r)| w == i && r);
                                self.mend(session, pass, broken).await?;
                                out.push((
                                    i,
                                    self.full(session, pass.folder, &hs[i], readable, broken).await,
                                ));
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(folder = pass.folder, first = hs[part[0]].uid, count = part.len(), error = %e, "batch fetch of whole messages failed; fetching them one by one");
                    *broken = true;
                    for &i in &part {
                        let readable = unread.iter().any(|&(w, r)| w == i && r);
                        self.mend(session, pass, broken).await?;
                        out.push((i, self.full(session, pass.folder, &hs[i], readable, broken).await));
                    }
                }
            }
        }
        Ok(out)
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

    /// This batch was read while the one before was not yet recorded
    /// (whose mark covered it: a run that died then started again from
    /// that one); in the transaction that records that one, this one's
    /// mark, as the first run to arrive at it.
    fn enter(&self, tx: &crate::store::Tx) -> Result<(), StoreError> {
        tx.set_meta(BATCH_MARK, &format!("{}\u{1}1", self.key))
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
fn set_aside(pass: &Pass<'_>, uid: u32) -> Row {
    let mut h = Sha256::new();
    h.update(format!("unfetchable\0{}\0{}\0{uid}", pass.folder, pass.uidvalidity).as_bytes());
    Row {
        uid,
        message_id: None,
        fingerprint: hex::encode(&h.finalize()[..16]),
        internaldate: pass.now,
        from_addr: None,
        subject: String::new(),
        norm_subject: String::new(),
        recipients: vec![],
        class: "bad".into(),
        reason: None,
        pending: None,
        history: false,
        text_part: None,
    }
}

/// The `UID FETCH`es that read the messages `want` (index into `hs`, and
/// whether only its readable parts are needed: a staff reply, see
/// [`ImapSession::readable_parts`]) in as few round trips as memory allows:
/// grouped by what is read of them (whole, or the same text parts), each
/// fetch at most [`BODY_BATCH_BYTES`] (every message counted at its size,
/// capped at [`crate::inbound::imap::FULL_FETCH_LIMIT`]) and [`BATCH`]
/// messages. Each is the plan, the indexes it reads and their bytes so
/// counted.
fn body_fetches(hs: &[FetchedHeader], want: &[(usize, bool)]) -> Vec<(Plan, Vec<usize>, u64)> {
    use crate::inbound::imap::FULL_FETCH_LIMIT;
    // Group by plan: None = whole, Some(parts) = those text parts.
    let mut groups: Vec<(Plan, Vec<usize>)> = Vec::new();
    for &(i, readable) in want {
        let plan = if readable {
            ImapSession::readable_parts(&hs[i])
        } else {
            None
        };
        match groups.iter_mut().find(|(p, _)| *p == plan) {
            Some((_, members)) => members.push(i),
            None => groups.push((plan, vec![i])),
        }
    }
    let mut fetches = Vec::new();
    for (plan, members) in groups {
        let mut part: Vec<usize> = Vec::new();
        let mut bytes = 0u64;
        for i in members {
            let h = &hs[i];
            let cost = match &plan {
                None => u64::from(h.size.min(FULL_FETCH_LIMIT)),
                Some(paths) => {
                    h.header.len() as u64
                        + h.text_parts
                            .iter()
                            .filter(|(p, _)| paths.contains(p))
                            .map(|(_, o)| u64::from(*o))
                            .sum::<u64>()
                }
            };
            if !part.is_empty() && (part.len() >= BATCH || bytes + cost > BODY_BATCH_BYTES) {
                fetches.push((plan.clone(), std::mem::take(&mut part), bytes));
                bytes = 0;
            }
            bytes += cost;
            part.push(i);
        }
        if !part.is_empty() {
            fetches.push((plan, part, bytes));
        }
    }
    fetches
}

/// One fetch of [`body_fetches`]: `(uid, bytes)` in UID order.
async fn fetch_bodies(
    session: &mut ImapSession,
    hs: &[FetchedHeader],
    plan: &Plan,
    part: &[usize],
) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
    match plan {
        None => {
            let uids: Vec<u32> = part.iter().map(|&i| hs[i].uid).collect();
            session.fetch_full_many(&uids).await
        }
        Some(paths) => {
            let msgs: Vec<(u32, u32)> = part.iter().map(|&i| (hs[i].uid, hs[i].size)).collect();
            session.fetch_text_parts_many(&msgs, paths).await
        }
    }
}

/// A batch's feedback judge running on the blocking pool: for each
/// client text, its row's index and what was found.
type Judging = Spawned<(usize, Option<Finding>)>;

/// A batch read and not yet recorded (see [`Ingest::ready`]).
struct Readied<'c> {
    chunk: &'c [u32],
    batch: Breadcrumb,
    /// Read one message at a time, each recorded at once (careful mode).
    careful: bool,
    rows: Vec<Row>,
    early: Early,
    /// Header blocks cut while it was read.
    truncated: u64,
    judging: Judging,
    /// Its staff mail and delivery reports, still being read.
    wholes: WholeReads,
}

/// The messages of a batch read whole (staff mail, delivery reports),
/// being read on the blocking pool (see [`Ingest::rows_reading`]).
#[derive(Default)]
struct WholeReads {
    rows: Vec<WholeRow>,
    /// One result per `rows`, in their order.
    reading: Spawned<WholeRead>,
}

/// A message being read whole: its place among the batch's rows (which
/// holds it as `bad` meanwhile, its reason still to be given), its row and
/// pending record as they are before the reading.
struct WholeRow {
    at: usize,
    row: Row,
    pending: Option<Pending>,
}

impl WholeReads {
    /// Wait for the readings and put what was read into the rows (those
    /// whose reading panicked become `bad`).
    async fn complete(self, rows: &mut [Row], folder: &str, stats: &mut SyncStats) {
        let read = self.reading.join().await;
        for (w, r) in self.rows.into_iter().zip(read) {
            let WholeRow {
                at,
                mut row,
                mut pending,
            } = w;
            let Some(slot) = rows.get_mut(at) else { continue };
            if let Some(p) = pending.as_mut() {
                match r {
                    Ok(WholeRead::Staff(read)) => p.staff_read = Some(read),
                    Ok(WholeRead::Bounce(Some(b))) => {
                        p.bounce_recipients = b.failed_recipients;
                        p.bounce_message_ids = b.original_message_ids;
                    }
                    Ok(WholeRead::Bounce(None)) => {}
                    Err(panic) => {
                        stats.bad += 1;
                        tracing::error!(folder, uid = slot.uid, error = %panic, "reading the whole message failed; recorded as bad and set aside");
                        slot.reason = Some(format!("processing failed: {panic}"));
                        continue;
                    }
                }
            }
            row.pending = pending.and_then(|p| serde_json::to_string(&p).ok());
            *slot = row;
        }
    }
}

/// Mark the rows the feedback judge found feedback in (their pending
/// records), from [`Ingest::start_judge`]'s results.
fn apply_judgements(rows: &mut [Row], judged: Vec<Result<(usize, Option<Finding>), String>>) {
    for j in judged {
        let (i, finding) = match j {
            Ok((i, Some(f))) => (i, f),
            Ok((_, None)) => continue,
            Err(panic) => {
                tracing::error!(error = %panic, "judging a client text failed; judged not feedback");
                continue;
            }
        };
        let Some(r) = rows.get_mut(i) else { continue };
        let Some(mut p) = r
            .pending
            .as_deref()
            .and_then(|j| serde_json::from_str::<Pending>(j).ok())
        else {
            continue;
        };
        p.feedback = Some(finding.matched);
        r.pending = serde_json::to_string(&p).ok();
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

/// Blocking tasks a batch's header reading is split into. One: every
/// thread that runs the classifier's regexes keeps its own regex caches;
/// two shares (when they also read the whole messages) measured +4.7 MB
/// peak RSS on `tests/e2e_sync.rs` `malformed_mailbox` (64.3 MB against
/// its 64 MB bound), and after this round's changes gained nothing
/// measurable. The batch still costs one thread hop, not one per message.
const SHARES: usize = 1;

/// Blocking tasks the messages of a batch read whole (staff replies and
/// reports) are split into: a staff reply's signature check and interim
/// search read every word of its text, the largest part of reading a Sent
/// folder (backlog's Sent phase, 3 974 replies: medians 3.65 s → 3.53 s for
/// the whole run against one share; `malformed_mailbox` stays under its
/// bound).
const WHOLE_SHARES: usize = 2;

/// Blocking tasks the feedback judge of a batch's client texts is split
/// into: the texts are at most [`FEEDBACK_READ`] each, and the judge was
/// the largest part of a backlog's first sync, run while the IMAP server
/// and the async worker wait, so both cores of a small server work on it.
const JUDGE_SHARES: usize = 2;

/// Run `f` on every item off the async worker, the items split into
/// `shares` contiguous shares run at once; each item's panic is caught on
/// its own (its `Err` carries the panic message). Results in the items'
/// order.
async fn off_worker_each<I, T, F>(items: Vec<I>, shares: usize, f: F) -> Vec<Result<T, String>>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> T + Send + Sync + 'static,
{
    spawn_each(items, shares, f).join().await
}

/// Blocking tasks started by [`spawn_each`], each with its number of
/// items.
struct Spawned<T> {
    shares: Vec<(usize, Share<T>)>,
}

/// A blocking task's results, one per item (`Err`: the item's panic).
type Share<T> = tokio::task::JoinHandle<Vec<Result<T, String>>>;

impl<T> Default for Spawned<T> {
    fn default() -> Self {
        Spawned { shares: Vec::new() }
    }
}

impl<T: Send + 'static> Spawned<T> {
    /// The results in the items' order (a task that ended without its
    /// results gives an `Err` for each of its items).
    async fn join(self) -> Vec<Result<T, String>> {
        let mut out = Vec::with_capacity(self.shares.iter().map(|(n, _)| n).sum());
        for (len, task) in self.shares {
            match task.await {
                Ok(r) => out.extend(r),
                Err(e) => out.extend((0..len).map(|_| Err(format!("the worker thread ended: {e}")))),
            }
        }
        out
    }
}

/// [`off_worker_each`]'s tasks started now, to be waited for later.
fn spawn_each<I, T, F>(items: Vec<I>, shares: usize, f: F) -> Spawned<T>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> T + Send + Sync + 'static,
{
    let n = items.len();
    if n == 0 {
        return Spawned::default();
    }
    let per = n.div_ceil(shares.clamp(1, n));
    let f = std::sync::Arc::new(f);
    let mut spawned = Spawned::default();
    let mut items = items.into_iter();
    loop {
        let share: Vec<I> = items.by_ref().take(per).collect();
        if share.is_empty() {
            break;
        }
        let f = f.clone();
        let len = share.len();
        let task = tokio::task::spawn_blocking(move || {
            share
                .into_iter()
                .map(|item| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)))
                        .map_err(|p| panic_text(p.as_ref()))
                })
                .collect::<Vec<_>>()
        });
        spawned.shares.push((len, task));
    }
    spawned
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

/// A message read whole on a blocking task: a staff reply with who wrote
/// it and whether it went outside (for the signature check), or a
/// delivery report.
enum WholeJob {
    Staff { author: Address, external: bool },
    Bounce,
}

enum WholeRead {
    Staff(StaffRead),
    Bounce(Option<bounce::Bounce>),
}

impl WholeJob {
    fn of(whole: Whole, row: &Row, pending: Option<&Pending>) -> Self {
        match whole {
            Whole::Staff => WholeJob::Staff {
                author: Address {
                    name: pending.and_then(|p| p.from_name.clone()),
                    email: row.from_addr.clone().unwrap_or_default(),
                },
                external: pending.is_some_and(|p| p.external),
            },
            Whole::Bounce => WholeJob::Bounce,
        }
    }

    /// A staff reply's own text is read here, where the message is, and
    /// only what it says is kept (the text can be half a megabyte).
    fn read(self, raw: &[u8], staff: &StaffReader) -> WholeRead {
        match self {
            WholeJob::Staff { author, external } => {
                WholeRead::Staff(staff.read(&authortext::author_text(raw), &author, external))
            }
            WholeJob::Bounce => WholeRead::Bounce(bounce::parse_bounce(raw)),
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
            text_part: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(uid: u32, class: &str) -> Row {
        Row {
            uid,
            message_id: None,
            fingerprint: format!("f{uid}"),
            internaldate: DateTime::<Utc>::MIN_UTC,
            from_addr: None,
            subject: String::new(),
            norm_subject: String::new(),
            recipients: vec![],
            class: class.into(),
            reason: None,
            pending: None,
            history: false,
            text_part: None,
        }
    }

    /// Rows read whole get what was read, in their places; one whose
    /// reading panicked stays `bad`, the panic its reason, and is counted;
    /// the other rows are not touched.
    #[tokio::test]
    async fn whole_reads_complete_their_rows_and_a_panic_leaves_bad() {
        // Rows 2 and 3 are being read: their places hold them as `bad`.
        let mut rows = vec![row(1, "client"), row(2, "bad"), row(3, "bad")];
        let reads = WholeReads {
            rows: vec![
                WholeRow {
                    at: 1,
                    row: row(2, "automatic"),
                    pending: Some(Pending::default()),
                },
                WholeRow {
                    at: 2,
                    row: row(3, "automatic"),
                    pending: Some(Pending::default()),
                },
            ],
            reading: spawn_each(vec![false, true], WHOLE_SHARES, |boom: bool| {
                assert!(!boom, "boom");
                WholeRead::Bounce(Some(bounce::Bounce {
                    failed_recipients: vec!["x@example.lv".into()],
                    original_message_ids: vec![],
                }))
            }),
        };
        let mut stats = SyncStats::default();
        reads.complete(&mut rows, "INBOX", &mut stats).await;
        assert_eq!((rows[0].uid, rows[0].class.as_str()), (1, "client"));
        assert!(rows[0].pending.is_none());
        assert_eq!((rows[1].uid, rows[1].class.as_str()), (2, "automatic"));
        let p: Pending = serde_json::from_str(rows[1].pending.as_deref().unwrap()).unwrap();
        assert_eq!(p.bounce_recipients, ["x@example.lv"]);
        assert_eq!((rows[2].uid, rows[2].class.as_str()), (3, "bad"));
        assert!(
            rows[2].reason.as_deref().unwrap().contains("boom"),
            "{:?}",
            rows[2].reason
        );
        assert!(rows[2].pending.is_none());
        assert_eq!(stats.bad, 1);
    }
}
