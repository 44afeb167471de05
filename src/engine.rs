//! The rules engine: (open cases, what was sent, calendar, config, now) →
//! the actions due now. Pure: no I/O, no clock; the pipeline feeds it and
//! carries its actions out.
//!
//! What it decides (SPEC §5, §6):
//! - acknowledgements: at `ack_at` (end of the receipt day, or at once),
//!   once per case cycle (a reopened case may get another), at most one per
//!   sender address per `ack_min_interval`, none for 7 days to an address
//!   whose acknowledgement bounced, at most `ack_max_per_hour` in all (the
//!   rest wait for a later run);
//! - a reminder `reminders.before` of working time before the deadline, an
//!   escalation once the deadline has passed, each once per deadline;
//! - the daily digest at `reminders.digest_at` on working days;
//! - staff notifications only within working hours.
//!
//! Cases that are answered or closed never reach the engine: only open
//! cases are passed in, so nothing is decided about them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::calendar::Calendar;
use crate::config::AckMode;
use crate::deadline;
use crate::store::Case;

/// How long a bounced acknowledgement silences acknowledgements to that address.
pub const BOUNCE_SILENCE_DAYS: i64 = 7;

/// The settings the engine reads (from the config).
#[derive(Debug, Clone)]
pub struct Settings {
    pub ack: AckMode,
    pub ack_min_interval: Duration,
    pub ack_max_per_hour: u32,
    pub remind_before: Duration,
    pub digest_at: NaiveTime,
    /// No escalation recipients configured: escalations are not produced.
    pub escalate: bool,
}

/// What the engine knows beyond the cases.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Last acknowledgement sent (or queued) per address (lower-case).
    pub last_ack_to: HashMap<String, DateTime<Utc>>,
    /// Last bounce per address (lower-case).
    pub last_bounce: HashMap<String, DateTime<Utc>>,
    /// Acknowledgements created in the hour up to now.
    pub acks_last_hour: u32,
    /// The last local date a digest was decided for (sent or found empty).
    pub last_digest_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuppressReason {
    /// Another acknowledgement went to this address within the interval.
    Interval { last: DateTime<Utc> },
    /// An acknowledgement to this address bounced recently.
    Bounced { at: DateTime<Utc> },
}

impl std::fmt::Display for SuppressReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SuppressReason::Interval { last } => {
                write!(
                    f,
                    "an acknowledgement went to this address at {last} (reply.ack_min_interval)"
                )
            }
            SuppressReason::Bounced { at } => {
                write!(f, "an acknowledgement to this address bounced at {at}")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send the acknowledgement for the case's current cycle.
    Ack {
        case_id: String,
    },
    /// The acknowledgement for this cycle is not to be sent at all.
    AckSuppressed {
        case_id: String,
        reason: SuppressReason,
    },
    /// The hourly cap is reached: this acknowledgement waits.
    AckDeferred {
        case_id: String,
    },
    Reminder {
        case_id: String,
    },
    Escalation {
        case_id: String,
    },
    /// The digest for `date`: cases due that day and overdue ones. Empty
    /// lists mean "decided, nothing to send".
    Digest {
        date: NaiveDate,
        due_today: Vec<String>,
        overdue: Vec<String>,
    },
}

/// Decide what is due at `now`. `open` are the open cases.
pub fn decide(
    open: &[Case],
    history: &History,
    cal: &Calendar,
    s: &Settings,
    now: DateTime<Utc>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut last_ack = history.last_ack_to.clone();
    let mut acks_left = s.ack_max_per_hour.saturating_sub(history.acks_last_hour);

    // Acknowledgements, oldest cases first.
    for c in open {
        if c.acked_cycle >= c.cycle {
            continue;
        }
        let due = deadline::ack_at(cal, c.received, s.ack);
        if due > now {
            continue;
        }
        let addr = c.reply_to.to_lowercase();
        if let Some(&at) = history.last_bounce.get(&addr) {
            if at <= now && now < at + Duration::days(BOUNCE_SILENCE_DAYS) {
                actions.push(Action::AckSuppressed {
                    case_id: c.id.clone(),
                    reason: SuppressReason::Bounced { at },
                });
                continue;
            }
        }
        if let Some(&last) = last_ack.get(&addr) {
            if last <= now && now < last + s.ack_min_interval {
                actions.push(Action::AckSuppressed {
                    case_id: c.id.clone(),
                    reason: SuppressReason::Interval { last },
                });
                continue;
            }
        }
        if acks_left == 0 {
            actions.push(Action::AckDeferred {
                case_id: c.id.clone(),
            });
            continue;
        }
        acks_left -= 1;
        last_ack.insert(addr, now);
        actions.push(Action::Ack {
            case_id: c.id.clone(),
        });
    }

    // Staff notifications: only within working hours.
    if !cal.is_working_time(now) {
        return actions;
    }
    for c in open {
        if now >= c.deadline {
            if s.escalate && c.escalated_for != Some(c.deadline) {
                actions.push(Action::Escalation {
                    case_id: c.id.clone(),
                });
            }
        } else if c.reminded_for != Some(c.deadline) {
            let at = cal.subtract_working_time(c.deadline, s.remind_before);
            if now >= at {
                actions.push(Action::Reminder {
                    case_id: c.id.clone(),
                });
            }
        }
    }

    let today = cal.local_date(now);
    if history.last_digest_date.is_none_or(|d| d < today) {
        let digest_time = today.and_time(s.digest_at);
        let local_now = cal.to_local(now).naive_local();
        if local_now >= digest_time {
            let mut due_today = Vec::new();
            let mut overdue = Vec::new();
            for c in open {
                if c.deadline <= now {
                    overdue.push(c.id.clone());
                } else if cal.local_date(c.deadline) == today {
                    due_today.push(c.id.clone());
                }
            }
            actions.push(Action::Digest {
                date: today,
                due_today,
                overdue,
            });
        }
    }
    actions
}
