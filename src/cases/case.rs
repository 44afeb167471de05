//! A case: one client question, its deadline and what has been sent and
//! answered for it. A plain value: the store reads and writes it
//! (`store`), the tracker changes it, the rules engine only
//! reads it.

use chrono::{DateTime, Utc};

use crate::rules::deadline::CaseKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseState {
    Open,
    Answered,
    Closed,
}

impl CaseState {
    pub fn as_str(&self) -> &'static str {
        match self {
            CaseState::Open => "open",
            CaseState::Answered => "answered",
            CaseState::Closed => "closed",
        }
    }
    /// The state named as in the store and in `status` output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => CaseState::Open,
            "answered" => CaseState::Answered,
            "closed" => CaseState::Closed,
            _ => return None,
        })
    }
}

/// A client question and where it stands: the one case type that the
/// tracker, the rules engine, the admin commands and the store share.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    /// The From address of the mail that opened the case.
    pub client: String,
    pub client_name: Option<String>,
    /// Where acknowledgements go: Reply-To if present, else From.
    pub reply_to: String,
    pub subject: String,
    pub norm_subject: String,
    pub kind: CaseKind,
    pub opened_at: DateTime<Utc>,
    /// Receipt of the mail that started the current cycle (opened or reopened).
    pub received: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub state: CaseState,
    pub extended: bool,
    /// 1 when opened, +1 on every reopening.
    pub cycle: i64,
    pub last_client_msgid: Option<String>,
    pub last_client_refs: Vec<String>,
    /// The cycle the last acknowledgement was sent for (0: none).
    pub acked_cycle: i64,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    /// The deadline a reminder was sent for.
    pub reminded_for: Option<DateTime<Utc>>,
    /// The deadline an escalation was sent for.
    pub escalated_for: Option<DateTime<Utc>>,
}

impl Case {
    /// A newly opened case: the mail that opens it sets the client, the
    /// subject, the receipt time and (through the caller) the deadline;
    /// nothing has been sent or answered yet.
    pub fn open(
        id: String,
        client: &str,
        subject: &str,
        kind: CaseKind,
        received: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Case {
        Case {
            id,
            client: client.to_string(),
            client_name: None,
            reply_to: client.to_string(),
            subject: subject.to_string(),
            norm_subject: crate::inbound::thread::normalize_subject(subject),
            kind,
            opened_at: received,
            received,
            deadline,
            state: CaseState::Open,
            extended: false,
            cycle: 1,
            last_client_msgid: None,
            last_client_refs: vec![],
            acked_cycle: 0,
            acknowledged_at: None,
            answered_at: None,
            closed_at: None,
            close_reason: None,
            reminded_for: None,
            escalated_for: None,
        }
    }
}
