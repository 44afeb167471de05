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
//! - every staff mail to a non-organisation address is signature-checked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::interim::{self, InterimFinding, InterimMatcher};
use crate::cases::signature;
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
    /// In-Reply-To, then References newest first.
    #[serde(default)]
    pub referenced: Vec<String>,
    /// The References header as written (for the acknowledgement's References).
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub submission: bool,
    /// Staff mail: the author's own text (quotes removed).
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
}

/// What the tracker needs to know.
pub struct Tracker<'a> {
    pub cfg: &'a Config,
    pub cal: &'a Calendar,
    pub interim: &'a InterimMatcher,
}

impl Tracker<'_> {
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
                "client" => self.client_mail(tx, m, &p, now)?,
                "staff" => self.staff_mail(tx, m, &p, now, &mut notices)?,
                "automatic" => {
                    self.bounce(tx, m, &p)?;
                    Outcome::Ignored
                }
                _ => Outcome::Ignored,
            }
        };
        tx.finish_message(m.id, outcome.case_id(), outcome.role())?;
        Ok((outcome, notices))
    }

    /// The case a message's references point to: Ok(Some(Some)) a case,
    /// Ok(Some(None)) only history, Ok(None) nothing known.
    fn referenced_case(&self, tx: &Tx, p: &Pending) -> Result<Option<Option<Case>>, StoreError> {
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

    fn client_mail(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        p: &Pending,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let from = m.from_addr.clone().unwrap_or_default();
        let case = match self.referenced_case(tx, p)? {
            Some(Some(c)) => Some(c),
            Some(None) => None,
            None => self.subject_match(tx, m, |c| c.client.eq_ignore_ascii_case(&from))?,
        };
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
                c.reply_to = p.reply_to.clone().unwrap_or_else(|| from.clone());
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
                    reply_to: p.reply_to.clone().unwrap_or_else(|| from.clone()),
                    // The stored subject key is the sync's, computed once.
                    norm_subject: m.norm_subject.clone(),
                    last_client_msgid: m.message_id.clone(),
                    last_client_refs: p.references.clone(),
                    ..Case::open(id.clone(), &from, &m.subject, kind, m.internaldate, deadline)
                };
                tx.save_case(&c, now)?;
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
        let case = match self.referenced_case(tx, p)? {
            Some(Some(c)) => Some(c),
            Some(None) => None,
            None => self.subject_match(tx, m, |c| {
                rcpts
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&c.client) || r.eq_ignore_ascii_case(&c.reply_to))
            })?,
        };
        let author = Address {
            name: p.from_name.clone(),
            email: m.from_addr.clone().unwrap_or_default(),
        };
        let text = p.author_text.clone().unwrap_or_default();

        // The signature check's key, also the first response's reference.
        let key = m
            .message_id
            .clone()
            .unwrap_or_else(|| format!("uid:{}:{}", m.folder, m.uid));
        // R3: every staff mail to a non-organisation address.
        if p.external {
            let v = signature::check(
                &text,
                &author,
                &self.cfg.staff,
                &self.cfg.organization,
                &self.cfg.signature.require,
            );
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
                    to: rcpts.clone(),
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
        if c.state == CaseState::Closed {
            tx.audit(
                m.internaldate,
                Some(&c.id),
                "staff-mail",
                &format!("{} wrote on a closed case", author.email),
                "replygate",
            )?;
            return Ok(Outcome::Ignored);
        }
        if c.state == CaseState::Open {
            let received_day = self.cal.local_date(c.received);
            // A date without a year ("līdz 10. decembrim") is the first such
            // date on or after the case's receipt: one just before the reply
            // is then refused as past (and the author told), not silently
            // moved a year ahead.
            if let Some(found) = self.interim.find_after(&text, received_day) {
                let sent_day = self.cal.local_date(m.internaldate);
                let limit = (c.kind == CaseKind::Submission)
                    .then(|| deadline::submission_limit(self.cal, c.opened_at));
                let verdict = match found {
                    InterimFinding::Date(d) => {
                        interim::is_acceptable(d, received_day, sent_day, limit).map(|_| d)
                    }
                    InterimFinding::Unparseable(_) => Err(interim::Refusal::Unparseable),
                };
                return match verdict {
                    Ok(d) => {
                        c.deadline = deadline::date_deadline(self.cal, d);
                        c.extended = true;
                        tx.save_case(&c, now)?;
                        self.first_response(tx, &c.id, m, ResponseKind::Interim, &author.email, &key)?;
                        tx.audit(
                            m.internaldate,
                            Some(&c.id),
                            "extended",
                            &format!(
                                "interim reply by {} promises an answer by {d}; deadline {}",
                                author.email,
                                self.local(c.deadline)
                            ),
                            "replygate",
                        )?;
                        Ok(Outcome::Extended(c.id))
                    }
                    Err(refusal) => {
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
                };
            }
        }
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

    /// Subject fallback: the newest case with the same normalised subject,
    /// opened before this message, that `fits`.
    fn subject_match(
        &self,
        tx: &Tx,
        m: &StoredMessage,
        fits: impl Fn(&Case) -> bool,
    ) -> Result<Option<Case>, StoreError> {
        if m.norm_subject.trim().is_empty() {
            return Ok(None);
        }
        Ok(tx
            .reader()
            .cases_by_subject(&m.norm_subject)?
            .into_iter()
            .find(|c| c.opened_at <= m.internaldate && fits(c)))
    }

    fn bounce(&self, tx: &Tx, m: &StoredMessage, p: &Pending) -> Result<(), StoreError> {
        let mut addrs: Vec<String> = p.bounce_recipients.iter().map(|a| a.to_lowercase()).collect();
        // A report carrying one of our acknowledgements' Message-IDs names
        // its recipient even when the failed address is not given.
        for id in &p.bounce_message_ids {
            let rcpt: Option<String> = tx
                .query_row(
                    "SELECT rcpts FROM outbox WHERE message_id = ?1 AND kind = 'ack'",
                    [id],
                    |r| r.get(0),
                )
                .ok();
            if let Some(r) = rcpt {
                addrs.extend(r.split_whitespace().map(str::to_string));
            }
        }
        addrs.sort();
        addrs.dedup();
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
