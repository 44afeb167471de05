//! The IMAP edge: read-only access to the shared mailbox.
//!
//! Only these commands are ever sent: LOGIN (AUTHENTICATE PLAIN when the
//! credentials are not ASCII), STARTTLS, EXAMINE (never
//! SELECT), `UID SEARCH`, `UID FETCH` with `BODY.PEEK` (never a plain `BODY[`,
//! which would set \Seen), LIST, APPEND (to the save-copy folder only),
//! IDLE/DONE and LOGOUT. Nothing here can STORE, COPY, MOVE or EXPUNGE.
//!
//! Memory stays bounded: headers are fetched in batches of at most
//! [`MAX_BATCH`] messages, whole messages are capped at
//! about [`FULL_FETCH_LIMIT`] bytes, and the unsolicited-response channel is
//! drained after every command.
//!
//! Folder names are given in readable form (`Nosūtītās`) and sent in IMAP
//! modified UTF-7.
//!
//! After any error other than [`ImapError::FolderMissing`] the session may
//! be mid-command: drop it and [`connect`] again.

mod bodystructure;
mod connect;
pub mod decode;
pub mod utf7;

use std::future::Future;
use std::time::Duration;

use async_imap::imap_proto::{MailboxDatum, MessageSection, NameAttribute, Response, SectionPath, Status};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;

pub use bodystructure::{summarize, text_sections, Summary};
pub use connect::{connect, connect_with, Stream, CONNECT_TIMEOUT};

/// Most messages asked for in one `UID FETCH` of headers.
pub const MAX_BATCH: usize = 200;

/// Largest message fetched whole; see [`ImapSession::fetch_full`] for what
/// larger ones give.
pub const FULL_FETCH_LIMIT: u32 = 2 * 1024 * 1024;

/// Time allowed for one command and its whole response.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Everything that can go wrong at the IMAP edge. Messages never contain
/// the password.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to IMAP server {host}:{port}: {source}; check imap.host and imap.port")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {secs} s {what} IMAP server {host}:{port}")]
    Timeout {
        host: String,
        port: u16,
        what: &'static str,
        secs: u64,
    },
    #[error("TLS with IMAP server {host}:{port} failed: {reason} (an internal CA? set imap.ca_file)")]
    Tls { host: String, port: u16, reason: String },
    #[error("IMAP server {host}:{port} refused STARTTLS: {reason}; try security = \"tls\" on port 993")]
    NoStartTls { host: String, port: u16, reason: String },
    #[error(transparent)]
    TlsConfig(#[from] crate::tls::TlsError),
    #[error("security = \"plain\" sends the password unencrypted and is allowed only to a loopback host; {host} is not one: use \"tls\" or \"starttls\"")]
    PlainRefused { host: String },
    #[error("IMAP server {host}:{port} refused the login of {user}: {reason}; check imap.username and the password file/variable")]
    Auth {
        host: String,
        port: u16,
        user: String,
        reason: String,
    },
    #[error("IMAP server {host}:{port} refused the {mechanism} token for {user}: {reason}; check that the application may use this mailbox (Microsoft 365: IMAP.AccessAsApp and Add-MailboxPermission, see README)")]
    TokenRefused {
        host: String,
        port: u16,
        user: String,
        mechanism: &'static str,
        reason: String,
    },
    #[error("no OAuth 2.0 token for IMAP: {0}")]
    Token(String),
    #[error("IMAP folder \"{folder}\" does not exist on {server}; existing folders: {}", existing.join(", "))]
    FolderMissing {
        folder: String,
        server: String,
        existing: Vec<String>,
    },
    #[error("IMAP {op} on {server} timed out after {secs} s")]
    CommandTimeout { op: String, server: String, secs: u64 },
    #[error("IMAP {op} on {server} failed: {}", short(source))]
    Protocol {
        op: String,
        server: String,
        #[source]
        source: async_imap::error::Error,
    },
    #[error("IMAP server sent something unexpected during {op}: {detail}")]
    Unexpected { op: String, detail: String },
}

/// An error's text cut to a readable length: async-imap puts the whole
/// unparsable buffer (mail headers and all) into its parse errors.
fn short(e: &dyn std::fmt::Display) -> String {
    const MAX: usize = 300;
    let s = e.to_string();
    if s.chars().count() <= MAX {
        return s;
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}… ({} more characters)", s.chars().count() - MAX)
}

/// State of an EXAMINE'd folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderStatus {
    pub uidvalidity: u32,
    /// 0 when the server did not say (then UIDs are found by SEARCH anyway).
    pub uidnext: u32,
    pub exists: u32,
}

/// SPEC §11.1: a message's header block is read up to this many bytes
/// (`BODY.PEEK[HEADER]<0.262144>`); the rest is ignored and counted.
pub const HEADER_CAP: usize = 262_144;

/// What the gateway knows of a message without reading its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedHeader {
    pub uid: u32,
    /// The server's delivery time (INTERNALDATE), the case's receipt time.
    pub internaldate: DateTime<Utc>,
    /// RFC822.SIZE in bytes.
    pub size: u32,
    /// The raw header block (`BODY.PEEK[HEADER]<0.262144>`: at most
    /// [`HEADER_CAP`] bytes; a block of exactly that size was cut).
    pub header: Vec<u8>,
    /// Attachment file names, decoded (RFC 2231 / RFC 2047).
    pub attachments: Vec<String>,
    /// At least one readable text part (text/plain or text/html, not an attachment).
    pub has_text_parts: bool,
    /// Top-level content type, lower case, e.g. `multipart/mixed`.
    pub content_type: String,
    /// iTIP method of the first text/calendar part (see [`summarize`]).
    pub calendar_method: Option<String>,
    /// Section paths and sizes of the readable text parts of a multipart
    /// message (see [`text_sections`]); empty for a single-part one.
    pub text_parts: Vec<(Vec<u32>, u32)>,
}

/// How an [`ImapSession::idle_wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleOutcome {
    /// The server reported a change (new message, expunge, flags).
    Changed,
    /// Nothing happened within the timeout.
    Timeout,
}

type Session = async_imap::Session<Stream>;

/// An authenticated IMAP session (see the module doc for what it may send).
pub struct ImapSession {
    session: Session,
    server: String,
}

impl std::fmt::Debug for ImapSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSession")
            .field("server", &self.server)
            .finish()
    }
}

/// Run one command future under [`COMMAND_TIMEOUT`], mapping errors.
async fn timed<T, F>(server: &str, op: &str, fut: F) -> Result<T, ImapError>
where
    F: Future<Output = Result<T, async_imap::error::Error>>,
{
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Err(_) => Err(ImapError::CommandTimeout {
            op: op.to_string(),
            server: server.to_string(),
            secs: COMMAND_TIMEOUT.as_secs(),
        }),
        Ok(Err(source)) => Err(ImapError::Protocol {
            op: op.to_string(),
            server: server.to_string(),
            source,
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

/// `1:5,7,9:12` from sorted, deduplicated UIDs.
/// The UIDs to ask for: real ones (0 is none), ascending, each once.
/// A section path as IMAP writes it: `[2, 1]` → `2.1`.
fn section_name(path: &[u32]) -> String {
    path.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// The MIME header and body of the part `path` in a FETCH response that
/// asked for `BODY.PEEK[path.MIME]` and `BODY.PEEK[path]`, when both came.
fn part_with_mime<'f>(f: &'f async_imap::types::Fetch, path: &[u32]) -> Option<(&'f [u8], &'f [u8])> {
    let mime = f.section(&SectionPath::Part(path.to_vec(), Some(MessageSection::Mime)))?;
    let body = f.section(&SectionPath::Part(path.to_vec(), None))?;
    Some((mime, body))
}

fn valid_uids(uids: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut v: Vec<u32> = uids.into_iter().filter(|u| *u > 0).collect();
    v.sort_unstable();
    v.dedup();
    v
}

pub fn uid_set(uids: &[u32]) -> String {
    let mut v: Vec<u32> = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut end = start;
        while i + 1 < v.len() && v[i + 1] == end + 1 {
            end += 1;
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Boundary of a reassembled text-parts message ("=_" never occurs in
/// base64 or quoted-printable text).
const PARTIAL_BOUNDARY: &str = "=_replygate_text_parts_=";

/// A MIME message from the original `header` and `(MIME header, body)` of
/// some parts: the original Content-Type/Content-Transfer-Encoding are
/// replaced by a multipart/mixed holding the parts.
pub fn reassemble(header: &[u8], parts: &[(&[u8], &[u8])], original_size: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + 256);
    let mut dropping = false;
    for line in header.split_inclusive(|b| *b == b'\n') {
        let trimmed = line.strip_suffix(b"\n").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if trimmed.is_empty() {
            continue; // the blank line ending the header
        }
        if !matches!(line[0], b' ' | b'\t') {
            let name = trimmed.split(|b| *b == b':').next().unwrap_or_default();
            let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
            dropping = name == "content-type" || name == "content-transfer-encoding";
        }
        if !dropping {
            out.extend_from_slice(trimmed);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(
        format!(
            "Content-Type: multipart/mixed; boundary=\"{PARTIAL_BOUNDARY}\"\r\n\
             X-Replygate-Partial: text parts only; the message has {original_size} bytes\r\n\r\n"
        )
        .as_bytes(),
    );
    for (mime, body) in parts {
        out.extend_from_slice(format!("--{PARTIAL_BOUNDARY}\r\n").as_bytes());
        out.extend_from_slice(mime);
        if !mime.ends_with(b"\r\n\r\n") && !mime.ends_with(b"\n\n") {
            out.extend_from_slice(if mime.ends_with(b"\n") {
                b"\r\n"
            } else {
                b"\r\n\r\n"
            });
        }
        out.extend_from_slice(body);
        // The CRLF before a boundary belongs to the boundary (RFC 2046).
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{PARTIAL_BOUNDARY}--\r\n").as_bytes());
    out
}

/// `"24-Nov-2026 10:00:00 +0000"` with the quotes, as APPEND wants it.
pub fn imap_date(t: DateTime<Utc>) -> String {
    format!("\"{}\"", t.format("%d-%b-%Y %H:%M:%S %z"))
}

fn is_no(e: &ImapError) -> bool {
    matches!(
        e,
        ImapError::Protocol {
            source: async_imap::error::Error::No(_) | async_imap::error::Error::Append,
            ..
        }
    )
}

impl ImapSession {
    fn new(session: Session, host: String, port: u16) -> ImapSession {
        ImapSession {
            session,
            server: format!("{host}:{port}"),
        }
    }

    /// `host:port` of the server, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Throw away unsolicited responses (the channel holds 100 and then
    /// silently drops); the gateway re-reads state by UID instead.
    /// One `UID FETCH` under the command timeout, every response
    /// collected; the unsolicited responses it left are drained.
    async fn uid_fetch(
        &mut self,
        op: &str,
        set: &str,
        query: &str,
    ) -> Result<Vec<async_imap::types::Fetch>, ImapError> {
        let session = &mut self.session;
        let res = timed(&self.server, op, async {
            let stream = session.uid_fetch(set, query).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await;
        self.drain();
        res
    }

    fn drain(&mut self) {
        while self.session.unsolicited_responses.try_recv().is_ok() {}
    }

    /// After a NO on `folder`: FolderMissing if it is not in LIST, else `err`.
    async fn missing_or(&mut self, folder: &str, err: ImapError) -> ImapError {
        if !is_no(&err) {
            return err;
        }
        match self.list_folders().await {
            Ok(existing) if !existing.iter().any(|f| f == folder) => ImapError::FolderMissing {
                folder: folder.to_string(),
                server: self.server.clone(),
                existing,
            },
            _ => err,
        }
    }

    /// Open `folder` read-only (EXAMINE). Flags and \Recent stay untouched.
    pub async fn examine(&mut self, folder: &str) -> Result<FolderStatus, ImapError> {
        let op = format!("EXAMINE {folder}");
        let wire = utf7::encode(folder);
        let res = timed(&self.server, &op, self.session.examine(&wire)).await;
        self.drain();
        let mbox = match res {
            Ok(m) => m,
            Err(e) => return Err(self.missing_or(folder, e).await),
        };
        let uidvalidity = mbox.uid_validity.ok_or_else(|| ImapError::Unexpected {
            op: op.clone(),
            detail: "no UIDVALIDITY in the response".into(),
        })?;
        Ok(FolderStatus {
            uidvalidity,
            uidnext: mbox.uid_next.unwrap_or(0),
            exists: mbox.exists,
        })
    }

    /// Whether `folder` holds a message whose Message-ID header contains
    /// `message_id` (`EXAMINE` + `UID SEARCH HEADER Message-ID "<id>"`;
    /// read-only: no flag changes). Used to find out whether a message
    /// interrupted by a crash was in fact submitted (servers such as
    /// Exchange and Gmail file submitted mail in Sent). The search is a
    /// substring match as IMAP defines it; Message-IDs are unique enough
    /// for that. A Message-ID with CR, LF or NUL is refused.
    pub async fn has_message_id(&mut self, folder: &str, message_id: &str) -> Result<bool, ImapError> {
        if message_id.is_empty() || message_id.contains(['\r', '\n', '\0']) {
            return Err(ImapError::Unexpected {
                op: format!("UID SEARCH HEADER Message-ID in {folder}"),
                detail: format!("unusable Message-ID {message_id:?}"),
            });
        }
        self.examine(folder).await?;
        let quoted = format!("\"{}\"", message_id.replace('\\', "\\\\").replace('"', "\\\""));
        let query = format!("HEADER Message-ID {quoted}");
        let op = format!("UID SEARCH {query} in {folder}");
        let res = timed(&self.server, &op, self.session.uid_search(query)).await;
        self.drain();
        Ok(!res?.is_empty())
    }

    /// UIDs >= `from_uid` in the examined folder, ascending (`UID SEARCH`).
    pub async fn uids_from(&mut self, from_uid: u32) -> Result<Vec<u32>, ImapError> {
        let from = from_uid.max(1);
        let op = format!("UID SEARCH UID {from}:*");
        let res = timed(
            &self.server,
            &op,
            self.session.uid_search(format!("UID {from}:*")),
        )
        .await;
        self.drain();
        // `n:*` matches the last message even when n > its UID: filter.
        let mut uids: Vec<u32> = res?.into_iter().filter(|u| *u >= from).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Headers of the given UIDs (any order, fetched in chunks of at most
    /// [`MAX_BATCH`]), ascending by UID. UIDs that no longer exist are
    /// simply missing from the result.
    pub async fn fetch_headers_for(&mut self, uids: &[u32]) -> Result<Vec<FetchedHeader>, ImapError> {
        let wanted = valid_uids(uids.iter().copied());
        let mut out = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(MAX_BATCH) {
            let set = uid_set(chunk);
            let op = format!("UID FETCH {set} headers");
            let fetches = self
                .uid_fetch(
                    &op,
                    &set,
                    "(UID INTERNALDATE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER]<0.262144>)",
                )
                .await?;
            for f in fetches {
                let Some(uid) = f.uid else { continue };
                if chunk.binary_search(&uid).is_err() {
                    continue; // an unsolicited FETCH for another message
                }
                let Some(header) = f.header() else {
                    continue; // e.g. a flags update for a requested UID
                };
                let internaldate = f.internal_date().ok_or_else(|| ImapError::Unexpected {
                    op: op.clone(),
                    detail: format!("no readable INTERNALDATE for UID {uid}"),
                })?;
                let summary = f.bodystructure().map(summarize).unwrap_or_default();
                let text_parts = f.bodystructure().map(text_sections).unwrap_or_default();
                out.push(FetchedHeader {
                    text_parts,
                    uid,
                    internaldate: internaldate.with_timezone(&Utc),
                    size: f.size.unwrap_or(0),
                    header: header.to_vec(),
                    attachments: summary.attachments,
                    has_text_parts: summary.has_text_parts,
                    content_type: summary.content_type,
                    calendar_method: summary.calendar_method,
                });
            }
        }
        out.sort_by_key(|h| h.uid);
        out.dedup_by_key(|h| h.uid);
        Ok(out)
    }

    /// The next at most `batch` (capped at [`MAX_BATCH`]) messages with
    /// UID >= `from_uid`, ascending. Continue from the last UID + 1.
    pub async fn fetch_headers(
        &mut self,
        from_uid: u32,
        batch: u32,
    ) -> Result<Vec<FetchedHeader>, ImapError> {
        let n = (batch as usize).clamp(1, MAX_BATCH);
        let uids = self.uids_from(from_uid).await?;
        let take = &uids[..uids.len().min(n)];
        if take.is_empty() {
            return Ok(Vec::new());
        }
        self.fetch_headers_for(take).await
    }

    /// The first `limit` bytes of each of the given messages (header and
    /// the start of the body, `BODY.PEEK[]<0.limit>`), in one command per
    /// [`MAX_BATCH`] UIDs. Enough to read what a client wrote (the text
    /// comes first); UIDs that no longer exist are missing from the result.
    pub async fn fetch_prefixes(
        &mut self,
        uids: &[u32],
        limit: u32,
    ) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        let wanted = valid_uids(uids.iter().copied());
        let mut out = Vec::with_capacity(wanted.len());
        let query = format!("(UID BODY.PEEK[]<0.{limit}>)");
        for chunk in wanted.chunks(MAX_BATCH) {
            let set = uid_set(chunk);
            let op = format!("UID FETCH {set} text");
            for f in self.uid_fetch(&op, &set, &query).await? {
                let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                    continue;
                };
                if chunk.binary_search(&uid).is_ok() {
                    out.push((uid, body.to_vec()));
                }
            }
        }
        Ok(out)
    }

    /// The section a client mail's text is read from for the feedback
    /// judge (SPEC §14), instead of the start of the whole message: for a
    /// mail with attachments, its first readable text part (so a PDF's
    /// base64 does not fill the bytes read); `None` for the start of the
    /// message (no attachment, or no readable text part).
    pub fn client_text_part(h: &FetchedHeader) -> Option<Vec<u32>> {
        if h.attachments.is_empty() {
            return None;
        }
        h.text_parts.first().map(|(path, _)| path.clone())
    }

    /// What the feedback judge reads of each client mail `(uid, part)`
    /// ([`ImapSession::client_text_part`]), at most `limit` bytes of it:
    /// the start of the message (`BODY.PEEK[]<0.limit>`, see
    /// [`ImapSession::fetch_prefixes`]), or the start of that text part with
    /// its MIME header, as a small MIME message of that part (see
    /// [`reassemble`]). One command per section path; UIDs that no longer
    /// exist are missing.
    pub async fn fetch_client_texts(
        &mut self,
        msgs: &[(u32, Option<Vec<u32>>)],
        limit: u32,
    ) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        let starts: Vec<u32> = msgs
            .iter()
            .filter(|(_, p)| p.is_none())
            .map(|(u, _)| *u)
            .collect();
        let mut out = self.fetch_prefixes(&starts, limit).await?;
        let mut by_part: Vec<(&Vec<u32>, Vec<u32>)> = Vec::new();
        for (uid, part) in msgs {
            let Some(part) = part else { continue };
            match by_part.iter_mut().find(|(p, _)| *p == part) {
                Some((_, uids)) => uids.push(*uid),
                None => by_part.push((part, vec![*uid])),
            }
        }
        let mut seen: std::collections::HashSet<u32> = out.iter().map(|(u, _)| *u).collect();
        for (part, uids) in by_part {
            let uids = valid_uids(uids);
            let name = section_name(part);
            let query = format!("(UID BODY.PEEK[{name}.MIME] BODY.PEEK[{name}]<0.{limit}>)");
            for chunk in uids.chunks(MAX_BATCH) {
                let set = uid_set(chunk);
                let op = format!("UID FETCH {set} text part {name}");
                for f in self.uid_fetch(&op, &set, &query).await? {
                    let Some(uid) = f.uid.filter(|u| chunk.binary_search(u).is_ok()) else {
                        continue;
                    };
                    if let Some(part) = part_with_mime(&f, part) {
                        if seen.insert(uid) {
                            out.push((uid, reassemble(b"", &[part], 0)));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The whole message (`BODY.PEEK[]`, so \\Seen stays as it was); `None`
    /// if the UID no longer exists.
    ///
    /// A message larger than [`FULL_FETCH_LIMIT`] is not fetched whole:
    /// for a multipart one the result is a small valid MIME message made of
    /// the original header and only its readable text parts (from
    /// BODYSTRUCTURE, in order, while they fit the limit), marked with
    /// `X-Replygate-Partial`; a large single-part message is cut at the
    /// limit. So a staff reply whose signature follows a big attachment is
    /// still read whole.
    pub async fn fetch_full(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        Ok(self
            .fetch_full_many(&[uid])
            .await?
            .into_iter()
            .next()
            .map(|(_, b)| b))
    }

    /// [`ImapSession::fetch_full`] of several messages in one `UID FETCH`
    /// (the ones over the limit then read one by one, as text parts),
    /// ascending by UID; UIDs that no longer exist are missing. The caller
    /// bounds the memory: each message costs up to [`FULL_FETCH_LIMIT`].
    pub async fn fetch_full_many(&mut self, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        let wanted_uids = valid_uids(uids.iter().copied());
        if wanted_uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uid_set(&wanted_uids);
        let op = if wanted_uids.len() == 1 {
            format!("UID FETCH {set} BODY.PEEK[]")
        } else {
            format!("UID FETCH {set} BODY.PEEK[] ({} messages)", wanted_uids.len())
        };
        let query = format!("(UID RFC822.SIZE BODYSTRUCTURE BODY.PEEK[]<0.{FULL_FETCH_LIMIT}>)");
        let fetches = self.uid_fetch(&op, &set, &query).await?;
        let mut out: Vec<(u32, Vec<u8>)> = Vec::with_capacity(wanted_uids.len());
        // Over the limit: (uid, size, text parts to read instead).
        let mut large: Vec<(u32, u32, Vec<Vec<u32>>)> = Vec::new();
        for f in &fetches {
            let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                continue;
            };
            if wanted_uids.binary_search(&uid).is_err()
                || out.iter().any(|(u, _)| *u == uid)
                || large.iter().any(|(u, _, _)| *u == uid)
            {
                continue; // another message's or a repeated FETCH
            }
            let size = f.size.unwrap_or(0);
            if size <= FULL_FETCH_LIMIT {
                out.push((uid, body.to_vec()));
                continue;
            }
            let mut budget = FULL_FETCH_LIMIT;
            let mut wanted: Vec<Vec<u32>> = Vec::new();
            for (path, octets) in f.bodystructure().map(text_sections).unwrap_or_default() {
                if octets <= budget {
                    budget -= octets;
                    wanted.push(path);
                }
            }
            if wanted.is_empty() {
                out.push((uid, body.to_vec()));
            } else {
                large.push((uid, size, wanted));
            }
        }
        drop(fetches);
        for (uid, size, wanted) in large {
            out.extend(self.fetch_text_parts_many(&[(uid, size)], &wanted).await?);
        }
        out.sort_by_key(|(u, _)| *u);
        Ok(out)
    }

    /// The text parts [`ImapSession::fetch_readable`] reads instead of the
    /// whole message (`None`: it reads the whole message).
    pub fn readable_parts(h: &FetchedHeader) -> Option<Vec<Vec<u32>>> {
        if h.attachments.is_empty() || h.text_parts.is_empty() {
            return None;
        }
        let mut budget = FULL_FETCH_LIMIT;
        let mut wanted: Vec<Vec<u32>> = Vec::new();
        for (path, octets) in &h.text_parts {
            if *octets <= budget {
                budget -= octets;
                wanted.push(path.clone());
            }
        }
        (!wanted.is_empty()).then_some(wanted)
    }

    /// What the author wrote, without the bytes of attachments: for a
    /// multipart message with attachments and readable text parts (known
    /// from the header fetch's BODYSTRUCTURE), only its header and text
    /// parts, reassembled as in [`ImapSession::fetch_full`]; otherwise the
    /// whole message. A staff reply with a 400 KB PDF costs a few KB.
    pub async fn fetch_readable(&mut self, h: &FetchedHeader) -> Result<Option<Vec<u8>>, ImapError> {
        match Self::readable_parts(h) {
            None => self.fetch_full(h.uid).await,
            Some(wanted) => Ok(self
                .fetch_text_parts_many(&[(h.uid, h.size)], &wanted)
                .await?
                .into_iter()
                .next()
                .map(|(_, b)| b)),
        }
    }

    /// The header and the text parts `wanted` (the same section paths for
    /// every message) of the messages `(uid, size)` in one `UID FETCH`,
    /// each reassembled as one MIME message (see [`reassemble`]), ascending
    /// by UID; UIDs that no longer exist are missing.
    pub async fn fetch_text_parts_many(
        &mut self,
        msgs: &[(u32, u32)],
        wanted: &[Vec<u32>],
    ) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        let uids = valid_uids(msgs.iter().map(|(u, _)| *u));
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = wanted.iter().map(|p| section_name(p)).collect();
        let mut query = String::from("(UID BODY.PEEK[HEADER]<0.262144>");
        for n in &names {
            query.push_str(&format!(" BODY.PEEK[{n}.MIME] BODY.PEEK[{n}]"));
        }
        query.push(')');
        let set = uid_set(&uids);
        let op = if uids.len() == 1 {
            format!("UID FETCH {set} text parts")
        } else {
            format!("UID FETCH {set} text parts ({} messages)", uids.len())
        };
        let fetches = self.uid_fetch(&op, &set, &query).await?;
        let mut out: Vec<(u32, Vec<u8>)> = Vec::with_capacity(uids.len());
        for f in &fetches {
            let (Some(uid), Some(header)) = (f.uid, f.header()) else {
                continue;
            };
            if uids.binary_search(&uid).is_err() || out.iter().any(|(u, _)| *u == uid) {
                continue;
            }
            let size = msgs.iter().find(|(u, _)| *u == uid).map_or(0, |(_, s)| *s);
            let parts: Vec<(&[u8], &[u8])> =
                wanted.iter().filter_map(|path| part_with_mime(f, path)).collect();
            out.push((uid, reassemble(header, &parts, size)));
        }
        out.sort_by_key(|(u, _)| *u);
        Ok(out)
    }

    /// APPEND `raw` to `folder`, optionally \Seen and with an INTERNALDATE
    /// (for `smtp.save_copy_to`). The folder must exist.
    pub async fn append(
        &mut self,
        folder: &str,
        raw: &[u8],
        seen: bool,
        internaldate: Option<DateTime<Utc>>,
    ) -> Result<(), ImapError> {
        let op = format!("APPEND {folder}");
        let wire = utf7::encode(folder);
        let date = internaldate.map(imap_date);
        let flags = if seen { Some("(\\Seen)") } else { None };
        let res = timed(
            &self.server,
            &op,
            self.session.append(&wire, flags, date.as_deref(), raw),
        )
        .await;
        self.drain();
        match res {
            Ok(()) => Ok(()),
            Err(e) => Err(self.missing_or(folder, e).await),
        }
    }

    /// Names of all selectable folders (decoded from modified UTF-7).
    pub async fn list_folders(&mut self) -> Result<Vec<String>, ImapError> {
        let session = &mut self.session;
        let res = timed(&self.server, "LIST", async {
            let stream = session.list(Some(""), Some("*")).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await;
        self.drain();
        let mut names: Vec<String> = res?
            .iter()
            .filter(|n| {
                !n.attributes().iter().any(|a| match a {
                    NameAttribute::NoSelect => true,
                    NameAttribute::Extension(x) => x.eq_ignore_ascii_case("\\NonExistent"),
                    _ => false,
                })
            })
            .map(|n| utf7::decode(n.name()))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Whether the server advertises `IDLE` in its CAPABILITY (RFC 2177).
    /// A server that does not is polled: some (Dovecot with a trimmed
    /// `imap_capability`) still accept the command, so it is never sent
    /// unless advertised.
    pub async fn supports_idle(&mut self) -> Result<bool, ImapError> {
        let res = timed(&self.server, "CAPABILITY", self.session.capabilities()).await;
        self.drain();
        Ok(res?.has_str("IDLE"))
    }

    /// Wait up to `timeout` for a change in the examined folder with IDLE,
    /// then end IDLE. Call again to keep waiting (servers drop IDLE after
    /// ~30 minutes, so keep `timeout` below that). A connection that drops
    /// while idling is an error, never a quiet wake-up.
    pub async fn idle_wait(&mut self, timeout: Duration) -> Result<IdleOutcome, ImapError> {
        let server = self.server.clone();
        let proto = |op: &str, source: async_imap::error::Error| ImapError::Protocol {
            op: op.to_string(),
            server: server.clone(),
            source,
        };
        let lost = |op: &str| ImapError::Protocol {
            op: op.to_string(),
            server: server.clone(),
            source: async_imap::error::Error::ConnectionLost,
        };
        let tag = self
            .session
            .run_command("IDLE")
            .await
            .map_err(|e| proto("IDLE", e))?;
        // Wait for the continuation.
        loop {
            let resp = tokio::time::timeout(COMMAND_TIMEOUT, self.session.read_response())
                .await
                .map_err(|_| ImapError::CommandTimeout {
                    op: "IDLE".into(),
                    server: server.clone(),
                    secs: COMMAND_TIMEOUT.as_secs(),
                })?
                .map_err(|e| proto("IDLE", e.into()))?
                .ok_or_else(|| lost("IDLE"))?;
            match resp.parsed() {
                Response::Continue(_) => break,
                Response::Done { tag: t, outcome, .. } if *t == tag => {
                    return Err(ImapError::Unexpected {
                        op: "IDLE".into(),
                        detail: format!("refused: {}", outcome.information.as_deref().unwrap_or("")),
                    })
                }
                _ => {}
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut outcome = IdleOutcome::Timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.session.read_response()).await;
            let Ok(read) = next else { break };
            let resp = read
                .map_err(|e| proto("IDLE", e.into()))?
                .ok_or_else(|| lost("IDLE"))?;
            match resp.parsed() {
                Response::Data {
                    status: Status::Bye, ..
                } => return Err(lost("IDLE (server said BYE)")),
                Response::Data { .. } | Response::Continue(_) => {} // "* OK Still here"
                Response::MailboxData(MailboxDatum::Exists(_))
                | Response::MailboxData(MailboxDatum::Recent(_))
                | Response::Expunge(_)
                | Response::Vanished { .. }
                | Response::Fetch(..) => {
                    outcome = IdleOutcome::Changed;
                    break;
                }
                _ => {}
            }
        }
        self.session
            .run_command_untagged("DONE")
            .await
            .map_err(|e| proto("DONE", e))?;
        loop {
            let resp = tokio::time::timeout(COMMAND_TIMEOUT, self.session.read_response())
                .await
                .map_err(|_| ImapError::CommandTimeout {
                    op: "DONE".into(),
                    server: server.clone(),
                    secs: COMMAND_TIMEOUT.as_secs(),
                })?
                .map_err(|e| proto("DONE", e.into()))?
                .ok_or_else(|| lost("DONE"))?;
            if let Response::Done { tag: t, status, .. } = resp.parsed() {
                if *t == tag {
                    if *status != Status::Ok {
                        return Err(ImapError::Unexpected {
                            op: "DONE".into(),
                            detail: format!("status {status:?}"),
                        });
                    }
                    break;
                }
            }
        }
        self.drain();
        Ok(outcome)
    }

    /// LOGOUT, best effort (errors ignored, 5 s at most).
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn uid_sets() {
        let cases: &[(&[u32], &str)] = &[
            (&[], ""),
            (&[7], "7"),
            (&[1, 2, 3], "1:3"),
            (&[5, 1, 2, 3, 9, 10, 12], "1:3,5,9:10,12"),
            (&[4, 4, 5], "4:5"),
        ];
        for (uids, want) in cases {
            assert_eq!(uid_set(uids), *want, "{uids:?}");
        }
    }

    #[test]
    fn append_date_format() {
        let t = Utc.with_ymd_and_hms(2026, 11, 5, 8, 3, 9).unwrap();
        assert_eq!(imap_date(t), "\"05-Nov-2026 08:03:09 +0000\"");
    }

    #[test]
    fn reassembled_text_parts_parse_as_mime() {
        let header = b"From: J\xc4\x81nis <j@example.lv>\r\nSubject: Atbilde\r\n\
            Content-Type: multipart/mixed;\r\n boundary=\"orig\"\r\n\
            Content-Transfer-Encoding: 7bit\r\nMessage-ID: <a@b>\r\n\r\n";
        let parts: Vec<(&[u8], &[u8])> = vec![
            (
                b"Content-Type: text/plain; charset=utf-8\r\n\r\n",
                b"Labdien!\r\n",
            ),
            (
                b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                b"PHA+QXIgY2llxYZ1PC9wPg==",
            ),
        ];
        let raw = reassemble(header, &parts, 3_000_000);
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("orig"), "{text}");
        assert!(text.contains("Message-ID: <a@b>\r\n"), "{text}");
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(m.subject(), Some("Atbilde"));
        assert_eq!(m.body_text(0).as_deref(), Some("Labdien!\r\n"));
        let html: Vec<String> = (0..3)
            .filter_map(|i| m.body_html(i))
            .map(|h| h.into_owned())
            .collect();
        assert!(html.iter().any(|h| h.contains("<p>Ar cieņu</p>")), "{html:?}");
        assert_eq!(
            m.header_raw("X-Replygate-Partial").map(str::trim),
            Some("text parts only; the message has 3000000 bytes")
        );
    }

    #[test]
    fn protocol_errors_are_cut_short() {
        let long = "x".repeat(5000);
        let e = ImapError::Protocol {
            op: "UID FETCH 1:200 headers".into(),
            server: "h:993".into(),
            source: async_imap::error::Error::Bad(long),
        };
        let m = e.to_string();
        assert!(m.len() < 500 && m.contains("more characters"), "{m}");
        assert!(m.starts_with("IMAP UID FETCH 1:200 headers on h:993 failed: "));
    }

    /// async-imap parses INTERNALDATE with this chrono format; servers may
    /// space-pad the day (RFC 3501 `date-day-fixed`).
    #[test]
    fn internaldate_forms_parse() {
        let want = Utc.with_ymd_and_hms(2026, 11, 5, 6, 0, 0).unwrap();
        for s in [
            "05-Nov-2026 08:00:00 +0200",
            " 5-Nov-2026 08:00:00 +0200",
            "5-Nov-2026 08:00:00 +0200",
        ] {
            let t = DateTime::parse_from_str(s, "%d-%b-%Y %H:%M:%S %z");
            assert_eq!(t.map(|t| t.with_timezone(&Utc)), Ok(want), "{s:?}");
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = ImapError::FolderMissing {
            folder: "Iesūtne".into(),
            server: "127.0.0.1:143".into(),
            existing: vec!["INBOX".into(), "Sent".into()],
        };
        let m = e.to_string();
        assert!(m.contains("\"Iesūtne\"") && m.contains("INBOX, Sent"), "{m}");
        let e = ImapError::PlainRefused {
            host: "imap.example.lv".into(),
        };
        assert!(e.to_string().contains("imap.example.lv"));
    }
}
