//! The case tracker: turns recorded messages into case changes (SPEC §2,
//! §4.3, §7).
//!
//! The sync records every new message with what the rules need (see
//! [`Pending`]); the tracker then takes them in INTERNALDATE order, across
//! all folders, up to `now`, so that a staff reply in Sent and a client
//! follow-up in INBOX are seen in the order they really happened. Mail
//! received after `now` waits for a later run.
//!
//! Decisions (SPEC §2 and the README's "Decisions" section):
//! - a client mail whose In-Reply-To/References name a message of a case
//!   joins it when open, reopens it when answered or closed (new deadline
//!   counted from this mail); one that names only history opens a new case;
//! - without a known reference, the fallback is the same normalised subject
//!   from the case's client (client mail), or with the case's client among
//!   the recipients (staff mail), after the case was opened;
//! - a staff reply answers the case at its INTERNALDATE unless its own text
//!   is an interim reply (§4.3), which moves the deadline instead;
//! - every staff mail to a non-organisation address is signature-checked;
//! - a client mail joins or reopens a case (through references or the
//!   subject) only when its sender takes part in the case or shares a
//!   participant's non-public domain (SPEC §11.3, [`may_join`]); otherwise
//!   it opens a case of its own, so no client sees another's case;
//! - staff mail is decided by the pure [`decide_staff`] and carried out by
//!   `apply_staff` (the decision tables are unit-tested without a store);
//! - no interim reply extends any case past four months after its receipt,
//!   or to a date before it (SPEC §4.3);
//! - a delivery report counts only for mail the gateway sent (SPEC §5.2,
//!   `bounce`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::interim::{self, InterimFinding};
use crate::cases::signature;
use crate::cases::staff_reply::{StaffRead, StaffReader};
use crate::config::Config;
use crate::inbound::message::Address;
use crate::rules::calendar::Calendar;
use crate::rules::deadline::{self, CaseKind};
use crate::store::facts::{self, FirstResponse, ResponseKind};
use crate::store::{Case, CaseState, SignatureRecord, StoreError, StoredMessage, Tx};

/// What the sync keeps about a message until the tracker has processed it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pending {
    /// Received before the history cutoff: known for threading only.
    #[serde(default)]
    pub history: bool,
    #[serde(default)]
    pub from_name: Option<String>,
    /// Reply-To (first address), if any.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Who gets the acknowledgement (SPEC §5.3), decided by the sync.
    #[serde(default)]
    pub ack_to: Option<String>,
    /// Why nobody gets an acknowledgement (SPEC §5.3), when so.
    #[serde(default)]
    pub no_ack: Option<String>,
    /// In-Reply-To, then References newest first.
    #[serde(default)]
    pub referenced: Vec<String>,
    /// The References header as written (for the acknowledgement's References).
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub submission: bool,
    /// Staff mail: its signature verdict and interim promise, read by the
    /// sync from the author's own text (see [`crate::cases::staff_reply`]).
    #[serde(default)]
    pub staff_read: Option<StaffRead>,
    /// Staff mail recorded by an earlier build carries the author's own
    /// text (quotes removed) instead, read when it is processed.
    #[serde(default)]
    pub author_text: Option<String>,
    /// Staff mail: sent to at least one address outside the organisation.
    #[serde(default)]
    pub external: bool,
    /// Delivery reports: failed recipients.
    #[serde(default)]
    pub bounce_recipients: Vec<String>,
    /// Delivery reports: Message-IDs of the returned original.
    #[serde(default)]
    pub bounce_message_ids: Vec<String>,
    /// Client mail: the words that judged it feedback about the service
    /// (SPEC §14), if it is.
    #[serde(default)]
    pub feedback: Option<String>,
}

/// Something the tracker asks the pipeline to tell a person.
#[derive(Debug, Clone)]
pub enum Notice {
    SignatureWarning {
        case_id: Option<String>,
        author: Address,
        message_id: String,
        subject: String,
        to: Vec<String>,
        sent_at: DateTime<Utc>,
        missing: Vec<crate::config::SignatureElement>,
    },
    /// A client gave feedback on the service: tell the quality owner.
    Feedback { case_id: String, matched: String },
    InterimRefused {
        case_id: String,
        author: Address,
        message_id: String,
        subject: String,
        sent_at: DateTime<Utc>,
        reason: String,
    },
}

/// What happened to one message, for logs and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    History,
    Opened(String),
    Joined(String),
    Reopened(String),
    Answered(String),
    Extended(String),
    InterimRefused(String),
    StaffUnmatched,
    /// An inbox message with an organisation From and no proof of internal
    /// origin (SPEC §11.2): changes nothing.
    UnverifiedInternal,
    Ignored,
}

impl Outcome {
    pub fn role(&self) -> &'static str {
        match self {
            Outcome::History => "history",
            Outcome::Opened(_) => "opened",
            Outcome::Joined(_) => "joined",
            Outcome::Reopened(_) => "reopened",
            Outcome::Answered(_) => "answered",
            Outcome::Extended(_) => "extended",
            Outcome::InterimRefused(_) => "interim-refused",
            Outcome::StaffUnmatched => "unmatched",
            Outcome::UnverifiedInternal => "unverified_internal",
            Outcome::Ignored => "ignored",
        }
    }
    pub fn case_id(&self) -> Option<&str> {
        match self {
            Outcome::Opened(c)
            | Outcome::Joined(c)
            | Outcome::Reopened(c)
            | Outcome::Answered(c)
            | Outcome::Extended(c)
            | Outcome::InterimRefused(c) => Some(c),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("message {id}: pending data unreadable: {source}")]
    Pending { id: i64, source: serde_json::Error },
    #[error("message {id}: processing failed: {what}")]
    Panicked { id: i64, what: String },
}

/// What the tracker needs to know.
pub struct Tracker<'a> {
    pub cfg: &'a Config,
    pub cal: &'a Calendar,
    /// The subject fallback's view of the cases, per normalised subject,
    /// read from the store the first time a subject is needed in this
    /// cycle and kept up to date as cases open and reopen (see
    /// [`SubjectIndex`]).
    pub subjects: std::cell::RefCell<SubjectIndex>,
    /// Reads a staff reply whose pending record carries its text rather
    /// than what the sync read in it (an older record); made on first use.
    reader: std::cell::OnceCell<StaffReader>,
}

/// One case as the subject fallback sees it.
#[derive(Debug, Clone)]
struct SubjectEntry {
    id: String,
    opened_at: DateTime<Utc>,
}

/// The cases of one normalised subject, by client address and by
/// acknowledgement address (both ASCII-lowercased, as the fallback compares
/// them case-insensitively).
#[derive(Debug, Default)]
struct SubjectCases {
    by_client: HashMap<String, Vec<SubjectEntry>>,
    by_reply_to: HashMap<String, Vec<SubjectEntry>>,
}

/// An in-memory index for the subject fallback. Without it every client
/// mail without a known reference read (and parsed) every case with its
/// subject: quadratic in a backlog, where a few subjects are shared by
/// thousands of cases (3.5 s of a 10 000-case first sync). Loaded per
/// subject on first use, so a daemon cycle with one new mail reads one
/// subject's keys. The pipeline calls [`Tracker::forget`] when a message's
/// changes are rolled back, so the index never holds a case the store does
/// not.
#[derive(Debug, Default)]
pub struct SubjectIndex {
    subjects: HashMap<String, SubjectCases>,
}

impl SubjectIndex {
    fn load<'s>(&'s mut self, tx: &Tx, subject: &str) -> Result<&'s mut SubjectCases, StoreError> {
        if !self.subjects.contains_key(subject) {
            let mut sc = SubjectCases::default();
            for (id, client, reply_to, opened_at) in tx.reader().subject_keys(subject)? {
                let e = SubjectEntry { id, opened_at };
                sc.by_client
                    .entry(client.to_ascii_lowercase())
                    .or_default()
                    .push(e.clone());
                sc.by_reply_to
                    .entry(reply_to.to_ascii_lowercase())
                    .or_default()
                    .push(e);
            }
            self.subjects.insert(subject.to_string(), sc);
        }
        Ok(self.subjects.entry(subject.to_string()).or_default())
    }

    /// Record a case newly opened (or its acknowledgement address changed
    /// from `old_reply_to`).
    fn note(&mut self, c: &Case, old_reply_to: Option<&str>) {
        let Some(sc) = self.subjects.get_mut(&c.norm_subject) else {
            return; // not loaded: the store is read when it is needed
        };
        let e = SubjectEntry {
            id: c.id.clone(),
            opened_at: c.opened_at,
        };
        match old_reply_to {
            Some(old) => {
                if let Some(v) = sc.by_reply_to.get_mut(&old.to_ascii_lowercase()) {
                    v.retain(|x| x.id != c.id);
                }
            }
            None => sc
                .by_client
                .entry(c.client.to_ascii_lowercase())
                .or_default()
                .push(e.clone()),
        }
        sc.by_reply_to
            .entry(c.reply_to.to_ascii_lowercase())
            .or_default()
            .push(e);
    }
}

/// The newest (by opening, then id, as the store orders them) of
/// `candidates` opened at or before `before`.
fn newest_before<'e>(
    candidates: impl Iterator<Item = &'e SubjectEntry>,
    before: DateTime<Utc>,
) -> Option<&'e SubjectEntry> {
    candidates
        .filter(|e| e.opened_at <= before)
        .max_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)))
}

impl<'a> Tracker<'a> {
    pub fn new(cfg: &'a Config, cal: &'a Calendar) -> Self {
        Tracker {
            cfg,
            cal,
            subjects: Default::default(),
            reader: Default::default(),
        }
    }

    /// Drop what the tracker keeps between messages (after a message's
    /// changes were rolled back).
    pub fn forget(&self) {
        *self.subjects.borrow_mut() = SubjectIndex::default();
    }

    /// [`Tracker::process`] with a panic caught and returned as an error,
    /// so one poisonous message never takes the cycle down (SPEC §11.1).
    pub fn process_caught(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Vec<Notice>), TrackError> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.process(tx, m, now))) {
            Ok(r) => r,
            Err(p) => Err(TrackError::Panicked {
                id: m.id,
                what: crate::inbound::sync::panic_text(p.as_ref()),
            }),
        }
    }

    /// Process one recorded message inside the caller's transaction.
    pub fn process(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Vec<Notice>), TrackError> {
        let p: Pending = match &m.pending {
            Some(s) => serde_json::from_str(s).map_err(|source| TrackError::Pending { id: m.id, source })?,
            None => Pending::default(),
        };
        let mut notices = Vec::new();
        let outcome = if p.history {
            if let Some(id) = &m.message_id {
                tx.link_thread(id, None)?;
            }
            Outcome::History
        } else {
            match m.class.as_str() {
                "client" => {
                    let outcome = self.client_mail(tx, m, &p, now)?;
                    self.feedback(tx, m, &p, &outcome, &mut notices)?;
                    outcome
                }
                "staff" => self.staff_mail(tx, m, &p, now, &mut notices)?,
                "automatic" => {
                    self.bounce(tx, m, &p)?;
                    Outcome::Ignored
                }
                "unverified_internal" => Outcome::UnverifiedInternal,
                _ => Outcome::Ignored,
            }
        };
        tx.finish_message(m.id, outcome.case_id(), outcome.role())?;
        Ok((outcome, notices))
    }

    /// A client mail judged feedback (SPEC §14) marks its case; the first
    /// mark tells the quality owner (`feedback.notify`), none after it, and
    /// an admin's verdict is never overridden.
    fn feedback(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        p: &Pending,
        outcome: &Outcome,
        notices: &mut Vec<Notice>,
    ) -> Result<(), StoreError> {
        let (Some(matched), Some(case_id)) = (&p.feedback, outcome.case_id()) else {
            return Ok(());
        };
        if tx.flag_feedback(case_id, matched, m.internaldate)? {
            tx.audit(
                m.internaldate,
                Some(case_id),
                "feedback",
                &format!("client feedback about the service recognised (\"{matched}\")"),
                "replygate",
            )?;
            if !self.cfg.feedback.notify.is_empty() {
                notices.push(Notice::Feedback {
                    case_id: case_id.to_string(),
                    matched: matched.clone(),
                });
            }
        }
        Ok(())
    }

    /// The case a client mail's references point to, for its sender
    /// (SPEC §11.3): `Found` a case the sender may join, `Foreign` only
    /// cases of other people, `History` only history, `None` nothing known.
    fn referenced_case(&self, tx: &Tx, p: &Pending, sender: &str) -> Result<Referenced, StoreError> {
        let r = tx.reader();
        let mut found = Referenced::None;
        let mut checked = std::collections::HashSet::new();
        for id in &p.referenced {
            match r.thread_case(id)? {
                Some(Some(case_id)) => {
                    if !checked.insert(case_id.clone()) {
                        continue;
                    }
                    if let Some(c) = r.case(&case_id)? {
                        if self.may_join_case(tx, &c, sender)? {
                            return Ok(Referenced::Found(Box::new(c)));
                        }
                        found = Referenced::Foreign(c.id);
                    }
                }
                Some(None) if matches!(found, Referenced::None) => found = Referenced::History,
                _ => {}
            }
        }
        Ok(found)
    }

    /// The case a staff mail's references point to (staff may write in any).
    fn staff_referenced_case(&self, tx: &Tx, p: &Pending) -> Result<Option<Option<Case>>, StoreError> {
        let r = tx.reader();
        let mut history = false;
        for id in &p.referenced {
            match r.thread_case(id)? {
                Some(Some(case_id)) => {
                    if let Some(c) = r.case(&case_id)? {
                        return Ok(Some(Some(c)));
                    }
                }
                Some(None) => history = true,
                None => {}
            }
        }
        Ok(if history { Some(None) } else { None })
    }

    /// May `sender` join or reopen case `c` (SPEC §11.3)?
    fn may_join_case(&self, tx: &Tx, c: &Case, sender: &str) -> Result<bool, StoreError> {
        let mut participants = vec![c.client.clone(), c.reply_to.clone()];
        if participants.iter().any(|a| a.eq_ignore_ascii_case(sender)) {
            return Ok(true);
        }
        participants.extend(tx.reader().case_participants(&c.id)?);
        Ok(may_join(
            sender,
            &participants,
            &self.cfg.organization.domains,
            &self.cfg.reply.public_domains,
        ))
    }

    fn client_mail(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        p: &Pending,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let from = m.from_addr.clone().unwrap_or_default();
        // Subject fallback: only the case's own client — stricter than
        // §11.3 allows, as a subject alone is weak evidence.
        let case = match self.referenced_case(tx, p, &from)? {
            Referenced::Found(c) => Some(*c),
            Referenced::History => None,
            Referenced::Foreign(other) => {
                tracing::warn!(
                    folder = %m.folder,
                    uid = m.uid,
                    from = %from,
                    case = %other,
                    "a mail refers to another client's case; it opens a case of its own (SPEC §11.3)"
                );
                None
            }
            Referenced::None => self.subject_match(tx, m, std::slice::from_ref(&from), false)?,
        };
        let ack_to = ack_address(p, &from);
        if let Some(why) = &p.no_ack {
            tracing::warn!(folder = %m.folder, uid = m.uid, from = %from, reason = %why, "no acceptable address for an acknowledgement (SPEC §5.3)");
        }
        let kind = if p.submission {
            CaseKind::Submission
        } else {
            CaseKind::Email
        };
        match case {
            Some(mut c) if c.state == CaseState::Open => {
                if let Some(id) = &m.message_id {
                    tx.link_thread(id, Some(&c.id))?;
                }
                // A follow-up that is itself a submission makes the case one.
                if kind == CaseKind::Submission && c.kind == CaseKind::Email {
                    c.kind = CaseKind::Submission;
                    let d =
                        deadline::reply_deadline(self.cal, c.received, c.kind, self.cfg.reply.working_days);
                    if d > c.deadline && !c.extended {
                        c.deadline = d;
                    }
                }
                tx.save_case(&c, now)?;
                tx.audit(
                    m.internaldate,
                    Some(&c.id),
                    "joined",
                    &format!("follow-up from {from} joins the open case"),
                    "replygate",
                )?;
                Ok(Outcome::Joined(c.id))
            }
            Some(mut c) => {
                let was = c.state;
                c.state = CaseState::Open;
                c.kind = kind;
                c.received = m.internaldate;
                c.deadline =
                    deadline::reply_deadline(self.cal, m.internaldate, kind, self.cfg.reply.working_days);
                c.extended = false;
                c.cycle += 1;
                c.closed_at = None;
                c.close_reason = None;
                let old_reply_to = std::mem::replace(&mut c.reply_to, ack_to.clone());
                if old_reply_to != c.reply_to {
                    self.subjects.borrow_mut().note(&c, Some(&old_reply_to));
                }
                c.last_client_msgid = m.message_id.clone();
                c.last_client_refs = p.references.clone();
                if let Some(id) = &m.message_id {
                    tx.link_thread(id, Some(&c.id))?;
                }
                tx.save_case(&c, now)?;
                tx.audit(
                    m.internaldate,
                    Some(&c.id),
                    "reopened",
                    &format!(
                        "client {from} wrote again to a case that was {}; new deadline {}",
                        was.as_str(),
                        self.local(c.deadline)
                    ),
                    "replygate",
                )?;
                Ok(Outcome::Reopened(c.id))
            }
            None => {
                let year = self.cal.to_local(m.internaldate).format("%Y").to_string();
                let year: i32 = year.parse().unwrap_or(0);
                let seq = tx.next_case_seq(year)?;
                let id = format!("{}-{}-{:05}", self.cfg.organization.case_prefix, year, seq);
                let deadline =
                    deadline::reply_deadline(self.cal, m.internaldate, kind, self.cfg.reply.working_days);
                let c = Case {
                    client_name: p.from_name.clone(),
                    reply_to: ack_to.clone(),
                    // The stored subject key is the sync's, computed once.
                    norm_subject: m.norm_subject.clone(),
                    last_client_msgid: m.message_id.clone(),
                    last_client_refs: p.references.clone(),
                    ..Case::open(id.clone(), &from, &m.subject, kind, m.internaldate, deadline)
                };
                tx.save_case(&c, now)?;
                self.subjects.borrow_mut().note(&c, None);
                facts::opened(
                    tx,
                    &id,
                    deadline,
                    deadline::ack_at(self.cal, m.internaldate, self.cfg.reply.ack),
                )?;
                if let Some(mid) = &m.message_id {
                    tx.link_thread(mid, Some(&id))?;
                }
                tx.audit(
                    m.internaldate,
                    Some(&id),
                    "opened",
                    &format!("{kind} from {from}; reply due {}", self.local(deadline)),
                    "replygate",
                )?;
                if let Some(why) = &p.no_ack {
                    tx.audit(
                        m.internaldate,
                        Some(&id),
                        "no-ack-recipient",
                        &format!("no acknowledgement will be sent: {why}"),
                        "replygate",
                    )?;
                }
                Ok(Outcome::Opened(id))
            }
        }
    }

    fn staff_mail(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        p: &Pending,
        now: DateTime<Utc>,
        notices: &mut Vec<Notice>,
    ) -> Result<Outcome, StoreError> {
        let rcpts = m.recipients.clone();
        let case = match self.staff_referenced_case(tx, p)? {
            Some(Some(c)) => Some(c),
            Some(None) => None,
            None => self.subject_match(tx, m, &rcpts, true)?,
        };
        let author = Address {
            name: p.from_name.clone(),
            email: m.from_addr.clone().unwrap_or_default(),
        };
        let read = match &p.staff_read {
            Some(read) => read.clone(),
            None => self.reader.get_or_init(|| StaffReader::new(self.cfg)).read(
                p.author_text.as_deref().unwrap_or(""),
                &author,
                p.external,
            ),
        };
        let decision = decide_staff(case.as_ref(), read.promise.as_deref(), m.internaldate, self.cal);
        self.apply_staff(tx, m, case, author, read.signature, decision, now, notices)
    }

    /// Carry out a [`StaffDecision`]: the signature record and warning, the
    /// thread link, the case change and its audit row.
    #[allow(clippy::too_many_arguments)]
    fn apply_staff(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        case: Option<Case>,
        author: Address,
        signature: Option<signature::Verdict>,
        decision: StaffDecision,
        now: DateTime<Utc>,
        notices: &mut Vec<Notice>,
    ) -> Result<Outcome, StoreError> {
        // The signature check's key, also the first response's reference.
        let key = m
            .message_id
            .clone()
            .unwrap_or_else(|| format!("uid:{}:{}", m.folder, m.uid));
        // R3: every staff mail to a non-organisation address.
        if let Some(v) = signature {
            let missing: Vec<String> = v
                .missing
                .iter()
                .map(|e| format!("{e:?}").to_lowercase())
                .collect();
            let first = tx.record_signature(&SignatureRecord {
                message_id: &key,
                author: &author.email,
                case_id: case.as_ref().map(|c| c.id.as_str()),
                compliant: v.compliant,
                missing: &missing.join(","),
                sent_at: m.internaldate,
                checked_at: now,
            })?;
            if first && !v.compliant {
                notices.push(Notice::SignatureWarning {
                    case_id: case.as_ref().map(|c| c.id.clone()),
                    author: author.clone(),
                    message_id: key.clone(),
                    subject: m.subject.clone(),
                    to: m.recipients.clone(),
                    sent_at: m.internaldate,
                    missing: v.missing.clone(),
                });
            }
        }
        let Some(mut c) = case else {
            return Ok(Outcome::StaffUnmatched);
        };
        if let Some(id) = &m.message_id {
            tx.link_thread(id, Some(&c.id))?;
        }
        match decision {
            StaffDecision::Unmatched => Ok(Outcome::StaffUnmatched),
            StaffDecision::OnClosedCase => {
                tx.audit(
                    m.internaldate,
                    Some(&c.id),
                    "staff-mail",
                    &format!("{} wrote on a closed case", author.email),
                    "replygate",
                )?;
                Ok(Outcome::Ignored)
            }
            StaffDecision::Extend { until, deadline } => {
                c.deadline = deadline;
                c.extended = true;
                tx.save_case(&c, now)?;
                self.first_response(tx, &c.id, m, ResponseKind::Interim, &author.email, &key)?;
                tx.audit(
                    m.internaldate,
                    Some(&c.id),
                    "extended",
                    &format!(
                        "interim reply by {} promises an answer by {until}; deadline {}",
                        author.email,
                        self.local(c.deadline)
                    ),
                    "replygate",
                )?;
                Ok(Outcome::Extended(c.id))
            }
            StaffDecision::RefuseInterim(refusal) => {
                // Still a staff reply to the client: a first response.
                self.first_response(tx, &c.id, m, ResponseKind::Reply, &author.email, &key)?;
                let reason = refusal.to_string();
                tx.audit(
                    m.internaldate,
                    Some(&c.id),
                    "interim-refused",
                    &format!("interim reply by {} not taken: {reason}", author.email),
                    "replygate",
                )?;
                notices.push(Notice::InterimRefused {
                    case_id: c.id.clone(),
                    author,
                    message_id: m.message_id.clone().unwrap_or_default(),
                    subject: m.subject.clone(),
                    sent_at: m.internaldate,
                    reason,
                });
                Ok(Outcome::InterimRefused(c.id))
            }
            StaffDecision::Answer => {
                c.state = CaseState::Answered;
                if c.answered_at.is_none_or(|a| a < m.internaldate) {
                    c.answered_at = Some(m.internaldate);
                }
                tx.save_case(&c, now)?;
                self.first_response(tx, &c.id, m, ResponseKind::Reply, &author.email, &key)?;
                tx.audit(
                    m.internaldate,
                    Some(&c.id),
                    "answered",
                    &format!("reply by {}", author.email),
                    "replygate",
                )?;
                Ok(Outcome::Answered(c.id))
            }
        }
    }

    /// Subject fallback: the newest case with the same normalised subject,
    /// opened before this message, whose client is one of `addrs` (or, with
    /// `or_reply_to`, whose acknowledgement address is).
    fn subject_match(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        addrs: &[String],
        or_reply_to: bool,
    ) -> Result<Option<Case>, StoreError> {
        if m.norm_subject.trim().is_empty() {
            return Ok(None);
        }
        let id = {
            let mut idx = self.subjects.borrow_mut();
            let sc = idx.load(tx, &m.norm_subject)?;
            let keys: Vec<String> = addrs.iter().map(|a| a.to_ascii_lowercase()).collect();
            let by_client = keys.iter().filter_map(|k| sc.by_client.get(k)).flatten();
            let by_reply_to = keys
                .iter()
                .filter(|_| or_reply_to)
                .filter_map(|k| sc.by_reply_to.get(k))
                .flatten();
            newest_before(by_client.chain(by_reply_to), m.internaldate).map(|e| e.id.clone())
        };
        match id {
            Some(id) => tx.reader().case(&id),
            None => Ok(None),
        }
    }

    /// A delivery report silences acknowledgements to an address only when
    /// it is about mail the gateway sent there (SPEC §5.2): it carries or
    /// references the Message-ID of a message the gateway sent to that
    /// address, or names as failed an address the gateway sent an
    /// acknowledgement to within the last 7 days. Anything else changes
    /// nothing (a forged report must not silence a client).
    fn bounce(&self, tx: &Tx, m: &StoredMessage, p: &Pending) -> Result<(), StoreError> {
        /// Bounded work whatever the report lists.
        const MAX_ITEMS: usize = 100;
        let r = tx.reader();
        let mut addrs: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let ids = p
            .bounce_message_ids
            .iter()
            .take(MAX_ITEMS)
            .chain(p.referenced.iter().take(MAX_ITEMS));
        for id in ids {
            if let Some(rcpts) = r.outbox_rcpts_by_message_id(id)? {
                for a in rcpts {
                    let a = a.to_lowercase();
                    if seen.insert(a.clone()) {
                        addrs.push(a);
                    }
                }
            }
        }
        let since = m.internaldate - Duration::days(crate::rules::engine::BOUNCE_SILENCE_DAYS);
        let mut ignored = 0usize;
        for a in p.bounce_recipients.iter().take(MAX_ITEMS) {
            let a = a.to_lowercase();
            if seen.contains(&a) {
                continue;
            }
            if r.acked_between(&a, since, m.internaldate)? {
                seen.insert(a.clone());
                addrs.push(a);
            } else {
                ignored += 1;
            }
        }
        if addrs.is_empty() {
            tracing::info!(
                folder = %m.folder,
                uid = m.uid,
                named = ignored,
                "a delivery report about no mail the gateway sent; it changes nothing"
            );
        }
        for a in addrs {
            tx.record_bounce(&a, m.internaldate, m.message_id.as_deref())?;
        }
        Ok(())
    }

    /// Record a staff reply as the case's first response (kept only when
    /// it is the first).
    fn first_response(
        &self,
        tx: &Tx,
        case_id: &str,
        m: &StoredMessage,
        kind: ResponseKind,
        by: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        facts::responded(
            tx,
            case_id,
            &FirstResponse {
                at: m.internaldate,
                kind,
                by: &by.to_lowercase(),
                reference: Some(key),
            },
        )
    }

    fn local(&self, t: DateTime<Utc>) -> String {
        self.cal.to_local(t).format("%Y-%m-%d %H:%M").to_string()
    }
}

/// What a client mail's references point to, for its sender (SPEC §11.3).
enum Referenced {
    Found(Box<Case>),
    /// Only cases the sender takes no part in (the id of the first).
    Foreign(String),
    History,
    None,
}

/// The acknowledgement address of a client mail (SPEC §5.3); empty when
/// nobody is acceptable. Rows recorded before the sync decided it fall
/// back to Reply-To, else From.
fn ack_address(p: &Pending, from: &str) -> String {
    if p.no_ack.is_some() {
        return String::new();
    }
    p.ack_to
        .clone()
        .or_else(|| p.reply_to.clone())
        .unwrap_or_else(|| from.to_string())
}

/// Is `domain` one of `list` or a subdomain of one (case-insensitive)?
fn domain_in(domain: &str, list: &[String]) -> bool {
    let d = domain.trim().trim_end_matches('.').to_lowercase();
    list.iter().any(|x| {
        let x = x.trim().trim_start_matches('@').to_lowercase();
        !x.is_empty() && (d == x || d.strip_suffix(&x).is_some_and(|p| p.ends_with('.')))
    })
}

fn domain_of(addr: &str) -> Option<&str> {
    addr.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

/// SPEC §11.3: may `sender` join or reopen a case whose messages show these
/// addresses? Yes when the sender is one of the case's client participants
/// (addresses outside `org_domains`), or shares such an address's domain
/// unless that domain is a public mail provider (`public_domains`).
pub fn may_join(
    sender: &str,
    participants: &[String],
    org_domains: &[String],
    public_domains: &[String],
) -> bool {
    let sender = sender.trim().to_lowercase();
    let Some(sender_domain) = domain_of(&sender) else {
        return false;
    };
    let clients = participants
        .iter()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| domain_of(a).is_some_and(|d| !domain_in(d, org_domains)));
    let mut same_domain = false;
    for a in clients {
        if a == sender {
            return true;
        }
        if domain_of(&a).is_some_and(|d| d.eq_ignore_ascii_case(sender_domain)) {
            same_domain = true;
        }
    }
    same_domain && !domain_in(sender_domain, public_domains) && !domain_in(sender_domain, org_domains)
}

/// What a staff mail does to its case (SPEC §2, §4.3), decided without the
/// store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffDecision {
    /// No case: nothing changes (the signature is still checked).
    Unmatched,
    /// The case is closed: recorded, nothing changes.
    OnClosedCase,
    /// The case is answered at the mail's INTERNALDATE.
    Answer,
    /// An interim reply moves the deadline.
    Extend {
        until: NaiveDate,
        deadline: DateTime<Utc>,
    },
    /// An interim reply that cannot be taken; the author is told why.
    RefuseInterim(interim::Refusal),
}

/// Decide what a staff mail whose text makes the interim `promise` (the
/// date as written, [`interim::InterimMatcher::promise`]), sent at
/// `sent_at`, does to `case`. An interim reply (found on an open case
/// only) may move the deadline to a date from the later of today and the
/// receipt up to four months after the receipt, for every kind of case
/// (SPEC §4.3).
pub fn decide_staff(
    case: Option<&Case>,
    promise: Option<&str>,
    sent_at: DateTime<Utc>,
    cal: &Calendar,
) -> StaffDecision {
    let Some(c) = case else {
        return StaffDecision::Unmatched;
    };
    match c.state {
        CaseState::Closed => return StaffDecision::OnClosedCase,
        CaseState::Answered => return StaffDecision::Answer,
        CaseState::Open => {}
    }
    let received_day = cal.local_date(c.received);
    // A date without a year ("līdz 10. decembrim") is the first such date
    // on or after the case's receipt: one just before the reply is then
    // refused as past (and the author told), not silently moved a year
    // ahead.
    let Some(found) = promise.map(|s| interim::resolve_after(s, received_day)) else {
        return StaffDecision::Answer;
    };
    let sent_day = cal.local_date(sent_at);
    let limit = Some(deadline::submission_limit(cal, c.received));
    match found {
        InterimFinding::Date(d) => match interim::is_acceptable(d, received_day, sent_day, limit) {
            Ok(()) => StaffDecision::Extend {
                until: d,
                deadline: deadline::date_deadline(cal, d),
            },
            Err(r) => StaffDecision::RefuseInterim(r),
        },
        InterimFinding::Unparseable(_) => StaffDecision::RefuseInterim(interim::Refusal::Unparseable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn may_join_table() {
        let org = strings(&["sif.gov.lv"]);
        let public = crate::config::default_public_domains();
        let table: &[(&str, &[&str], bool)] = &[
            ("anna@inbox.lv", &["anna@inbox.lv"], true),
            ("ANNA@inbox.lv", &["anna@INBOX.lv"], true),
            // Another person at a public provider: no.
            ("eve@inbox.lv", &["anna@inbox.lv"], false),
            ("eve@gmail.com", &["anna@gmail.com"], false),
            ("eve@mail.inbox.lv", &["anna@mail.inbox.lv"], false),
            // A colleague at the client's own company: yes.
            ("peteris@firma.lv", &["anna@firma.lv"], true),
            ("peteris@FIRMA.lv", &["anna@firma.lv"], true),
            // Another company: no; a look-alike domain: no.
            ("eve@evil.lv", &["anna@firma.lv"], false),
            ("eve@notfirma.lv", &["anna@firma.lv"], false),
            ("eve@sub.firma.lv", &["anna@firma.lv"], false),
            // Someone staff wrote to in the case.
            (
                "janis@partneris.lv",
                &["anna@inbox.lv", "janis@partneris.lv"],
                true,
            ),
            // Organisation addresses are not client participants: a forged
            // organisation sender, or someone sharing the org domain.
            ("eve@sif.gov.lv", &["klienti@sif.gov.lv", "anna@inbox.lv"], false),
            ("eve@gmail.com", &["klienti@sif.gov.lv"], false),
            // Empty or broken addresses.
            ("", &["anna@inbox.lv"], false),
            ("nodomain", &["nodomain"], false),
            ("eve@firma.lv", &["", "x"], false),
        ];
        for (sender, parts, want) in table {
            assert_eq!(
                may_join(sender, &strings(parts), &org, &public),
                *want,
                "{sender} {parts:?}"
            );
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cal() -> Calendar {
        Calendar::from_config(&crate::config::CalendarConfig::default()).unwrap()
    }

    #[test]
    fn staff_decision_table() {
        let cal = cal();
        let m = interim::InterimMatcher::new(None).unwrap();
        let received = t("2026-11-24T10:00:00+02:00");
        let open = Case::open(
            "SIF-2026-00001".into(),
            "anna@inbox.lv",
            "Jautājums",
            CaseKind::Email,
            received,
            t("2026-11-26T17:00:00+02:00"),
        );
        let sub = Case {
            kind: CaseKind::Submission,
            ..open.clone()
        };
        let answered = Case {
            state: CaseState::Answered,
            ..open.clone()
        };
        let closed = Case {
            state: CaseState::Closed,
            ..open.clone()
        };
        let sent = t("2026-11-25T11:00:00+02:00");
        let d = |y, mo, da| NaiveDate::from_ymd_opt(y, mo, da).unwrap();
        let extend = |until: NaiveDate| StaffDecision::Extend {
            until,
            deadline: deadline::date_deadline(&cal, until),
        };
        let table: Vec<(Option<&Case>, &str, StaffDecision)> = vec![
            (None, "Labdien, atbilde.", StaffDecision::Unmatched),
            (Some(&closed), "Atbilde.", StaffDecision::OnClosedCase),
            (Some(&open), "Labdien, lūk atbilde.", StaffDecision::Answer),
            (
                Some(&answered),
                "Atbildēsim līdz 10.12.2026.",
                StaffDecision::Answer,
            ),
            (
                Some(&open),
                "Atbildēsim līdz 10.12.2026.",
                extend(d(2026, 12, 10)),
            ),
            (Some(&sub), "Atbildēsim līdz 10.12.2026.", extend(d(2026, 12, 10))),
            // Four months after receipt is the limit, for e-mail too.
            (Some(&open), "Atbildēsim līdz 24.03.2027.", extend(d(2027, 3, 24))),
            (
                Some(&open),
                "Atbildēsim līdz 31.12.2099.",
                StaffDecision::RefuseInterim(interim::Refusal::BeyondLimit(d(2027, 3, 24))),
            ),
            (
                Some(&sub),
                "Atbildēsim līdz 25.03.2027.",
                StaffDecision::RefuseInterim(interim::Refusal::BeyondLimit(d(2027, 3, 24))),
            ),
            // Before the receipt (or today) is refused.
            (
                Some(&open),
                "Atbildēsim līdz 01.11.2026.",
                StaffDecision::RefuseInterim(interim::Refusal::InPast),
            ),
        ];
        for (case, text, want) in table {
            assert_eq!(
                decide_staff(case, m.promise(text).as_deref(), sent, &cal),
                want,
                "{text}"
            );
        }
    }

    fn e(id: &str, day: u32) -> SubjectEntry {
        SubjectEntry {
            id: id.into(),
            opened_at: Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap(),
        }
    }

    /// The subject fallback takes the newest case opened at or before the
    /// message, ties broken by the higher id (the store's old order).
    #[test]
    fn newest_before_picks_as_the_store_ordered() {
        let at = |d| Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap();
        let v = [
            e("SIF-2026-00001", 2),
            e("SIF-2026-00003", 5),
            e("SIF-2026-00002", 5),
            e("SIF-2026-00004", 9),
        ];
        let cases: [(u32, Option<&str>); 4] = [
            (1, None),
            (2, Some("SIF-2026-00001")),
            (6, Some("SIF-2026-00003")),
            (30, Some("SIF-2026-00004")),
        ];
        for (day, want) in cases {
            let got = newest_before(v.iter(), at(day)).map(|x| x.id.as_str());
            assert_eq!(got, want, "day {day}");
        }
    }

    /// A staff reply recorded by an earlier build carries its text in the
    /// pending record; one recorded now carries what the sync read in it.
    /// Both decide the case alike: the unsigned interim reply extends the
    /// case to the promised date and is recorded as missing a signature.
    #[test]
    fn staff_reply_records_old_and_new_decide_alike() {
        use crate::store::{NewMessage, Store};
        let cfg = crate::config::parse_str(
            include_str!("../../config/replygate.toml"),
            std::path::Path::new("replygate.toml"),
        )
        .unwrap();
        let cal = cal();
        let received = t("2026-11-24T10:00:00+02:00");
        let sent = t("2026-11-25T11:00:00+02:00");
        let text = "Labdien!\nAtbildi sniegsim līdz 10. decembrim.\nJānis";
        let author = Address {
            name: Some("Jānis Bērziņš".into()),
            email: cfg.staff[0].email.clone(),
        };
        let old = Pending {
            from_name: author.name.clone(),
            referenced: vec!["<q1@inbox.lv>".into()],
            external: true,
            author_text: Some(text.into()),
            ..Pending::default()
        };
        let new = Pending {
            author_text: None,
            staff_read: Some(StaffReader::new(&cfg).read(text, &author, true)),
            ..old.clone()
        };
        let run = |staff: &Pending| {
            let mut store = Store::open_in_memory().unwrap();
            let client = Pending {
                ack_to: Some("anna@inbox.lv".into()),
                ..Pending::default()
            };
            let rows = [
                (
                    "INBOX",
                    1,
                    "<q1@inbox.lv>",
                    received,
                    "anna@inbox.lv",
                    "client",
                    &client,
                ),
                (
                    "Sent",
                    1,
                    "<r1@sif.gov.lv>",
                    sent,
                    author.email.as_str(),
                    "staff",
                    staff,
                ),
            ];
            store
                .transaction(|tx| -> Result<(), StoreError> {
                    for (folder, uid, id, at, from, class, p) in rows {
                        let pending = serde_json::to_string(p).unwrap();
                        tx.insert_message(
                            &NewMessage {
                                folder,
                                uidvalidity: 1,
                                uid,
                                message_id: Some(id),
                                fingerprint: id,
                                internaldate: at,
                                from_addr: Some(from),
                                subject: "Jautājums",
                                norm_subject: "jautājums",
                                recipients: &["anna@inbox.lv".to_string()],
                                class,
                                reason: None,
                                pending: Some(&pending),
                                role: None,
                            },
                            None,
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
            let tracker = Tracker::new(&cfg, &cal);
            let pending = store.read().pending_messages(sent, None, 10).unwrap();
            let outcomes: Vec<Outcome> = store
                .transaction(|tx| -> Result<_, TrackError> {
                    pending
                        .iter()
                        .map(|m| Ok(tracker.process(tx, m, sent)?.0))
                        .collect()
                })
                .unwrap();
            let case = match &outcomes[..] {
                [Outcome::Opened(a), Outcome::Extended(b)] if a == b => {
                    store.read().case(a).unwrap().unwrap()
                }
                other => panic!("outcomes {other:?}"),
            };
            (case.deadline, store.read().signature_checks().unwrap())
        };
        let (deadline, checks) = run(&old);
        assert_eq!(
            deadline,
            deadline::date_deadline(&cal, NaiveDate::from_ymd_opt(2026, 12, 10).unwrap())
        );
        assert!(checks.iter().all(|c| !c.2), "{checks:?}");
        assert_eq!(checks.len(), 1);
        assert_eq!(run(&new), (deadline, checks));
    }
}
