//! The rules engine: (open cases, what was sent, calendar, config, now) →
//! the actions due now. Pure: no I/O, no clock; the pipeline feeds it and
//! carries its actions out.
//!
//! What it decides (SPEC §5, §6):
//! - acknowledgements: at `ack_at` (end of the receipt day, or at once),
//!   once per case cycle (a reopened case may get another), at most one per
//!   sender address per `ack_min_interval`, none for 7 days to an address
//!   whose acknowledgement bounced, at most `ack_max_per_hour` in all (the
//!   rest wait for a later run); none for a case that already has an
//!   interim reply or whose deadline has passed;
//! - a reminder `reminders.before` of working time before the deadline, an
//!   escalation once the deadline has passed, each once per deadline;
//! - the daily digest at `reminders.digest_at` on working days;
//! - staff notifications only within working hours.
//!
//! Cases that are answered or closed never reach the engine: only open
//! cases are passed in, so nothing is decided about them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::cases::Case;
use crate::config::AckMode;
use crate::rules::calendar::Calendar;
use crate::rules::deadline;

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
    /// More escalations than this due at once go out as one
    /// [`Action::EscalationList`] (`reminders.combine_escalations_over`;
    /// 0: never combined).
    pub combine_escalations_over: usize,
}

impl Settings {
    pub fn from_config(cfg: &crate::config::Config) -> Settings {
        Settings {
            ack: cfg.reply.ack,
            ack_min_interval: cfg.reply.ack_min_interval.0,
            ack_max_per_hour: cfg.reply.ack_max_per_hour,
            remind_before: cfg.reminders.before.0,
            digest_at: cfg.reminders.digest_at,
            escalate: !cfg.reminders.escalate_to.is_empty(),
            combine_escalations_over: cfg.reminders.combine_escalations_over,
        }
    }
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
    /// Staff already sent an interim reply: the client has a human answer.
    InterimSent,
    /// The reply deadline has passed: an acknowledgement would promise a
    /// date already gone (the daemon was down at the acknowledgement time).
    Stale,
    /// No acceptable address to send it to (SPEC §5.3; the case's audit
    /// says why).
    NoRecipient,
}

impl SuppressReason {
    /// One word for reports and the case facts.
    pub fn word(&self) -> &'static str {
        match self {
            SuppressReason::Interval { .. } => "interval",
            SuppressReason::Bounced { .. } => "bounced",
            SuppressReason::InterimSent => "interim",
            SuppressReason::Stale => "stale",
            SuppressReason::NoRecipient => "no_recipient",
        }
    }
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
            SuppressReason::InterimSent => write!(f, "staff already sent an interim reply"),
            SuppressReason::Stale => write!(f, "the reply deadline has already passed"),
            SuppressReason::NoRecipient => write!(
                f,
                "no acceptable address (Reply-To and From are lists, robots, organisation or invalid addresses)"
            ),
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
    /// The escalations of these cases, due at once and more than
    /// `combine_escalations_over`, as one mail (a first start on a year's
    /// backlog, a long outage): one line per case instead of thousands of
    /// mails to the same people.
    EscalationList {
        case_ids: Vec<String>,
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
        let silent = if c.reply_to.trim().is_empty() {
            Some(SuppressReason::NoRecipient)
        } else if c.extended {
            Some(SuppressReason::InterimSent)
        } else if now >= c.deadline {
            Some(SuppressReason::Stale)
        } else {
            None
        };
        if let Some(reason) = silent {
            actions.push(Action::AckSuppressed {
                case_id: c.id.clone(),
                reason,
            });
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
    let mut escalations = Vec::new();
    for c in open {
        if now >= c.deadline {
            if s.escalate && c.escalated_for != Some(c.deadline) {
                escalations.push(c.id.clone());
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

    if s.combine_escalations_over > 0 && escalations.len() > s.combine_escalations_over {
        actions.push(Action::EscalationList {
            case_ids: escalations,
        });
    } else {
        actions.extend(
            escalations
                .into_iter()
                .map(|case_id| Action::Escalation { case_id }),
        );
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

/// How long to wait before looking again at acknowledgements held back by
/// `ack_max_per_hour` (the window slides; a minute is fine-grained enough).
pub const DEFERRED_ACK_RECHECK: Duration = Duration::minutes(1);

/// The earliest instant after `now` at which [`decide`] may have something
/// new to do for these cases, or `None` when nothing is scheduled (new mail
/// or a manual action will wake the daemon instead).
///
/// Assumes `decide` was just run at `now` and its actions carried out, so
/// what is due at `now` and possible now is done; what is due but waits
/// (staff notifications outside working hours, acknowledgements held by the
/// hourly cap) is scheduled for when it can go. Candidates:
/// - an acknowledgement's time ([`deadline::ack_at`]);
/// - a reminder's time (`remind_before` of working time before the
///   deadline), moved to the next opening;
/// - an escalation: the next opening at or after the deadline;
/// - the digest time of today (if not yet decided) or of the next working
///   day, moved to the next opening;
/// - held-back acknowledgements: `now` + [`DEFERRED_ACK_RECHECK`].
pub fn next_due(
    open: &[Case],
    history: &History,
    cal: &Calendar,
    s: &Settings,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut best: Option<DateTime<Utc>> = None;
    let mut offer = |t: DateTime<Utc>| {
        if t > now && best.is_none_or(|b| t < b) {
            best = Some(t);
        }
    };
    // A staff notification due at `t` goes at the first working instant
    // at or after it (and after now).
    let staff = |t: DateTime<Utc>| cal.next_opening(t.max(now));
    for c in open {
        if c.acked_cycle < c.cycle {
            let at = deadline::ack_at(cal, c.received, s.ack);
            if at > now {
                offer(at);
            } else if !c.extended && now < c.deadline {
                // Due but not done: held back by the hourly cap.
                offer(now + DEFERRED_ACK_RECHECK);
            }
        }
        if c.deadline > now {
            if c.reminded_for != Some(c.deadline) {
                offer(staff(cal.subtract_working_time(c.deadline, s.remind_before)));
            }
            if s.escalate && c.escalated_for != Some(c.deadline) {
                offer(staff(c.deadline));
            }
        } else if s.escalate && c.escalated_for != Some(c.deadline) {
            offer(staff(now));
        }
    }
    // The digest: the first working day from today (tomorrow when today's
    // is decided) whose digest can still go out on that day.
    let today = cal.local_date(now);
    let mut day = if history.last_digest_date.is_none_or(|d| d < today) {
        today
    } else {
        today.succ_opt().unwrap_or(today)
    };
    for _ in 0..14 {
        day = cal.next_working_day_on_or_after(day);
        let t = staff(cal.local_instant(day, s.digest_at));
        if t > now && cal.local_date(t) == day {
            offer(t);
            break;
        }
        day = day.succ_opt().unwrap_or(day);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CalendarConfig;
    use crate::rules::deadline::CaseKind;
    use chrono::DateTime;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cal() -> Calendar {
        Calendar::from_config(&CalendarConfig::default()).unwrap()
    }

    fn settings() -> Settings {
        Settings {
            ack: AckMode::EndOfDay,
            ack_min_interval: Duration::days(1),
            ack_max_per_hour: 200,
            remind_before: Duration::hours(4),
            digest_at: NaiveTime::from_hms_opt(9, 15, 0).unwrap(),
            escalate: true,
            combine_escalations_over: 10,
        }
    }

    fn case(id: &str, client: &str, received: &str, deadline: &str) -> Case {
        Case {
            last_client_msgid: Some("a@b".into()),
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

    fn acks(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Ack { case_id } => Some(case_id.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn acknowledgement_timing() {
        // (received, now, mode, expected ack?)
        let rows = [
            // Monday 23 Nov 2026 closes 18:00.
            (
                "2026-11-23T10:00:00+02:00",
                "2026-11-23T17:59:59+02:00",
                AckMode::EndOfDay,
                false,
            ),
            (
                "2026-11-23T10:00:00+02:00",
                "2026-11-23T18:00:00+02:00",
                AckMode::EndOfDay,
                true,
            ),
            // Before opening on a working day: that day's closing time.
            (
                "2026-11-23T07:00:00+02:00",
                "2026-11-23T09:30:00+02:00",
                AckMode::EndOfDay,
                false,
            ),
            // After closing: at once.
            (
                "2026-11-23T19:00:00+02:00",
                "2026-11-23T19:00:00+02:00",
                AckMode::EndOfDay,
                true,
            ),
            // Saturday: at once.
            (
                "2026-11-28T11:00:00+02:00",
                "2026-11-28T11:00:00+02:00",
                AckMode::EndOfDay,
                true,
            ),
            // 18 Nov is a holiday: at once.
            (
                "2026-11-18T11:00:00+02:00",
                "2026-11-18T11:00:01+02:00",
                AckMode::EndOfDay,
                true,
            ),
            // 17 Nov is shortened to 16:00.
            (
                "2026-11-17T10:00:00+02:00",
                "2026-11-17T16:00:00+02:00",
                AckMode::EndOfDay,
                true,
            ),
            (
                "2026-11-17T10:00:00+02:00",
                "2026-11-17T15:59:00+02:00",
                AckMode::EndOfDay,
                false,
            ),
            // Immediate.
            (
                "2026-11-23T10:00:00+02:00",
                "2026-11-23T10:00:00+02:00",
                AckMode::Immediate,
                true,
            ),
        ];
        let cal = cal();
        for (received, now, mode, want) in rows {
            let mut s = settings();
            s.ack = mode;
            let c = case(
                "SIF-2026-00001",
                "anna@example.lv",
                received,
                "2026-12-31T17:00:00+02:00",
            );
            let got = !acks(&decide(&[c], &History::default(), &cal, &s, t(now))).is_empty();
            assert_eq!(got, want, "received {received}, now {now}, {mode:?}");
        }
    }

    #[test]
    fn one_ack_per_cycle_sender_interval_bounce_and_cap() {
        let cal = cal();
        let now = t("2026-11-23T19:00:00+02:00");
        let mut a = case(
            "A",
            "anna@example.lv",
            "2026-11-23T18:30:00+02:00",
            "2026-11-25T17:00:00+02:00",
        );
        let b = case(
            "B",
            "anna@example.lv",
            "2026-11-23T18:40:00+02:00",
            "2026-11-25T17:00:00+02:00",
        );
        // Two new cases of one sender: one acknowledgement, the other suppressed.
        let got = decide(
            &[a.clone(), b.clone()],
            &History::default(),
            &cal,
            &settings(),
            now,
        );
        assert_eq!(acks(&got), vec!["A"]);
        assert!(got.iter().any(|x| matches!(x, Action::AckSuppressed { case_id, reason: SuppressReason::Interval { .. } } if case_id == "B")));
        // Already acknowledged this cycle: nothing; a new cycle: again.
        a.acked_cycle = 1;
        assert!(acks(&decide(&[a.clone()], &History::default(), &cal, &settings(), now)).is_empty());
        a.cycle = 2;
        a.received = now;
        assert_eq!(
            acks(&decide(&[a.clone()], &History::default(), &cal, &settings(), now)),
            vec!["A"]
        );
        // The interval counts from the last ack in history.
        let mut h = History::default();
        h.last_ack_to
            .insert("anna@example.lv".into(), now - Duration::hours(23));
        assert!(acks(&decide(std::slice::from_ref(&b), &h, &cal, &settings(), now)).is_empty());
        h.last_ack_to
            .insert("anna@example.lv".into(), now - Duration::hours(25));
        assert_eq!(
            acks(&decide(std::slice::from_ref(&b), &h, &cal, &settings(), now)),
            vec!["B"]
        );
        // A bounce silences for 7 days.
        let mut h = History::default();
        h.last_bounce
            .insert("anna@example.lv".into(), now - Duration::days(6));
        assert!(acks(&decide(std::slice::from_ref(&b), &h, &cal, &settings(), now)).is_empty());
        h.last_bounce
            .insert("anna@example.lv".into(), now - Duration::days(8));
        assert_eq!(
            acks(&decide(std::slice::from_ref(&b), &h, &cal, &settings(), now)),
            vec!["B"]
        );
        // No acknowledgement after an interim reply, nor past the deadline.
        let mut x = b.clone();
        x.extended = true;
        assert_eq!(
            decide(
                std::slice::from_ref(&x),
                &History::default(),
                &cal,
                &settings(),
                now
            ),
            vec![Action::AckSuppressed {
                case_id: "B".into(),
                reason: SuppressReason::InterimSent
            }]
        );
        // No acceptable address (SPEC §5.3): suppressed, with the reason.
        let mut x = b.clone();
        x.reply_to = String::new();
        assert_eq!(
            decide(
                std::slice::from_ref(&x),
                &History::default(),
                &cal,
                &settings(),
                now
            ),
            vec![Action::AckSuppressed {
                case_id: "B".into(),
                reason: SuppressReason::NoRecipient
            }]
        );
        let late = t("2026-11-26T09:00:00+02:00");
        assert_eq!(
            decide(
                std::slice::from_ref(&b),
                &History::default(),
                &cal,
                &settings(),
                late
            )[0],
            Action::AckSuppressed {
                case_id: "B".into(),
                reason: SuppressReason::Stale
            }
        );
        // The hourly cap defers.
        let h = History {
            acks_last_hour: 200,
            ..History::default()
        };
        let got = decide(std::slice::from_ref(&b), &h, &cal, &settings(), now);
        assert_eq!(got, vec![Action::AckDeferred { case_id: "B".into() }]);
    }

    #[test]
    fn reminders_escalations_in_working_hours_once_per_deadline() {
        let cal = cal();
        // Deadline Wed 25 Nov 2026 17:00; 4 h of working time before: 13:00.
        let mut c = case(
            "C",
            "x@example.lv",
            "2026-11-23T10:00:00+02:00",
            "2026-11-25T17:00:00+02:00",
        );
        c.acked_cycle = 1;
        let kinds = |c: &Case, now: &str| -> Vec<&'static str> {
            decide(
                std::slice::from_ref(c),
                &History {
                    last_digest_date: Some(NaiveDate::MAX),
                    ..History::default()
                },
                &cal,
                &settings(),
                t(now),
            )
            .iter()
            .map(|a| match a {
                Action::Reminder { .. } => "reminder",
                Action::Escalation { .. } => "escalation",
                _ => "other",
            })
            .collect()
        };
        assert!(kinds(&c, "2026-11-25T12:59:00+02:00").is_empty());
        assert_eq!(kinds(&c, "2026-11-25T13:00:00+02:00"), vec!["reminder"]);
        // The deadline is at closing time: the escalation waits for the next opening.
        assert!(kinds(&c, "2026-11-25T17:00:00+02:00").is_empty());
        assert!(kinds(&c, "2026-11-25T23:00:00+02:00").is_empty());
        assert_eq!(kinds(&c, "2026-11-26T09:00:00+02:00"), vec!["escalation"]);
        c.reminded_for = Some(c.deadline);
        assert!(kinds(&c, "2026-11-25T14:00:00+02:00").is_empty());
        c.escalated_for = Some(c.deadline);
        assert!(kinds(&c, "2026-11-26T10:00:00+02:00").is_empty());
        // A moved deadline (interim reply) earns a new reminder.
        c.deadline = t("2026-12-03T17:00:00+02:00");
        assert_eq!(kinds(&c, "2026-12-03T14:00:00+02:00"), vec!["reminder"]);
    }

    #[test]
    fn many_escalations_due_at_once_are_one_list() {
        let cal = cal();
        let overdue = |n: usize| -> Vec<Case> {
            (0..n)
                .map(|i| {
                    let mut c = case(
                        &format!("C{i}"),
                        &format!("k{i}@example.lv"),
                        "2026-11-19T10:00:00+02:00",
                        "2026-11-23T17:00:00+02:00",
                    );
                    c.acked_cycle = 1;
                    c
                })
                .collect()
        };
        let now = t("2026-11-24T10:00:00+02:00");
        let h = History {
            last_digest_date: Some(NaiveDate::MAX),
            ..History::default()
        };
        let s = settings();
        let kinds = |cases: &[Case], s: &Settings| -> Vec<Action> { decide(cases, &h, &cal, s, now) };
        // Up to the limit: one escalation each.
        let ten = kinds(&overdue(10), &s);
        assert_eq!(ten.len(), 10);
        assert!(ten.iter().all(|a| matches!(a, Action::Escalation { .. })));
        // One more: all of them in one list, in case order, none alone.
        let eleven = kinds(&overdue(11), &s);
        assert_eq!(eleven.len(), 1);
        match &eleven[0] {
            Action::EscalationList { case_ids } => {
                assert_eq!(case_ids.len(), 11);
                assert_eq!(case_ids[0], "C0");
                assert_eq!(case_ids[10], "C10");
            }
            other => panic!("expected a list, got {other:?}"),
        }
        // 0: never combined.
        let never = Settings {
            combine_escalations_over: 0,
            ..settings()
        };
        assert_eq!(kinds(&overdue(50), &never).len(), 50);
        // Escalated cases are not listed again.
        let mut cases = overdue(12);
        for c in &mut cases[..2] {
            c.escalated_for = Some(c.deadline);
        }
        assert_eq!(kinds(&cases, &s).len(), 10);
    }

    #[test]
    fn digest_on_working_days_after_digest_time() {
        let cal = cal();
        let mut due = case(
            "D",
            "x@example.lv",
            "2026-11-23T10:00:00+02:00",
            "2026-11-25T17:00:00+02:00",
        );
        due.acked_cycle = 1;
        due.reminded_for = Some(due.deadline);
        let mut over = case(
            "O",
            "y@example.lv",
            "2026-11-19T10:00:00+02:00",
            "2026-11-23T18:00:00+02:00",
        );
        over.acked_cycle = 1;
        over.escalated_for = Some(over.deadline);
        let cases = [due, over];
        let digest = |now: &str, last: Option<NaiveDate>| {
            decide(
                &cases,
                &History {
                    last_digest_date: last,
                    ..History::default()
                },
                &cal,
                &settings(),
                t(now),
            )
            .into_iter()
            .find_map(|a| match a {
                Action::Digest {
                    date,
                    due_today,
                    overdue,
                } => Some((date, due_today, overdue)),
                _ => None,
            })
        };
        assert!(digest("2026-11-25T09:14:00+02:00", None).is_none());
        let (date, d, o) = digest("2026-11-25T09:15:00+02:00", None).unwrap();
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        assert_eq!(d, vec!["D".to_string()]);
        assert_eq!(o, vec!["O".to_string()]);
        // Missed while down: goes at the next run that day.
        assert!(digest("2026-11-25T15:00:00+02:00", None).is_some());
        // Once a day.
        assert!(digest("2026-11-25T15:00:00+02:00", Some(date)).is_none());
        // Not on a Saturday.
        assert!(digest("2026-11-28T10:00:00+02:00", None).is_none());
    }

    #[test]
    fn next_due_instants() {
        let cal = cal();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let acked = |mut c: Case| {
            c.acked_cycle = c.cycle;
            c
        };
        // (what, cases, last digest date, now, expected)
        type Row<'a> = (&'a str, Vec<Case>, Option<NaiveDate>, &'a str, Option<&'a str>);
        let rows: Vec<Row> = vec![
            (
                "nothing open: today's digest",
                vec![],
                None,
                "2026-11-25T08:00:00+02:00",
                Some("2026-11-25T09:15:00+02:00"),
            ),
            (
                "digest done today: tomorrow's",
                vec![],
                Some(d("2026-11-25")),
                "2026-11-25T10:00:00+02:00",
                Some("2026-11-26T09:15:00+02:00"),
            ),
            (
                "weekend: Monday's digest",
                vec![],
                Some(d("2026-11-27")),
                "2026-11-28T10:00:00+02:00",
                Some("2026-11-30T09:15:00+02:00"),
            ),
            (
                "end-of-day acknowledgement at closing time",
                vec![case(
                    "A",
                    "anna@example.lv",
                    "2026-11-25T10:00:00+02:00",
                    "2026-11-27T16:00:00+02:00",
                )],
                Some(d("2026-11-25")),
                "2026-11-25T10:00:01+02:00",
                Some("2026-11-25T17:00:00+02:00"),
            ),
            (
                "reminder 4 working hours before the deadline",
                vec![acked(case(
                    "A",
                    "anna@example.lv",
                    "2026-11-25T10:00:00+02:00",
                    "2026-11-27T16:00:00+02:00",
                ))],
                Some(d("2026-11-27")),
                "2026-11-27T10:00:00+02:00",
                Some("2026-11-27T12:00:00+02:00"),
            ),
            (
                "escalation at a closing-time deadline waits for the next opening",
                vec![{
                    let mut c = acked(case(
                        "A",
                        "anna@example.lv",
                        "2026-11-25T10:00:00+02:00",
                        "2026-11-27T16:00:00+02:00",
                    ));
                    c.reminded_for = Some(c.deadline);
                    c
                }],
                Some(d("2026-11-27")),
                "2026-11-27T15:00:00+02:00",
                Some("2026-11-30T09:00:00+02:00"),
            ),
            (
                "overdue, not escalated, on a Saturday: Monday's opening",
                vec![acked(case(
                    "A",
                    "anna@example.lv",
                    "2026-11-20T10:00:00+02:00",
                    "2026-11-24T17:00:00+02:00",
                ))],
                Some(d("2026-11-27")),
                "2026-11-28T10:00:00+02:00",
                Some("2026-11-30T09:00:00+02:00"),
            ),
            (
                "overdue and escalated: only the digest",
                vec![{
                    let mut c = acked(case(
                        "A",
                        "anna@example.lv",
                        "2026-11-20T10:00:00+02:00",
                        "2026-11-24T17:00:00+02:00",
                    ));
                    c.escalated_for = Some(c.deadline);
                    c
                }],
                Some(d("2026-11-25")),
                "2026-11-25T11:00:00+02:00",
                Some("2026-11-26T09:15:00+02:00"),
            ),
            (
                "acknowledgement held back by the hourly cap: look again in a minute",
                vec![case(
                    "A",
                    "anna@example.lv",
                    "2026-11-25T18:30:00+02:00",
                    "2026-11-27T16:00:00+02:00",
                )],
                Some(d("2026-11-25")),
                "2026-11-25T19:00:00+02:00",
                Some("2026-11-25T19:01:00+02:00"),
            ),
        ];
        for (what, cases, last, now, want) in rows {
            let mut s = settings();
            s.ack = AckMode::EndOfDay;
            let h = History {
                last_digest_date: last,
                ..History::default()
            };
            let got = next_due(&cases, &h, &cal, &s, t(now));
            assert_eq!(got, want.map(t), "{what}");
        }
    }

    #[test]
    fn next_due_is_always_after_now_and_nothing_is_due_before_it() {
        // Whatever the state, decide() between now and next_due() finds
        // nothing new: walk a week minute by minute after applying actions.
        let cal = cal();
        let s = settings();
        let mut cases = vec![
            case(
                "A",
                "anna@example.lv",
                "2026-11-23T10:00:00+02:00",
                "2026-11-25T17:00:00+02:00",
            ),
            case(
                "B",
                "bruno@example.lv",
                "2026-11-24T19:30:00+02:00",
                "2026-11-27T16:00:00+02:00",
            ),
        ];
        let mut h = History::default();
        let mut now = t("2026-11-23T10:00:00+02:00");
        let end = t("2026-11-30T12:00:00+02:00");
        let mut wakes = 0;
        while now < end {
            // Carry out what is due (as the outbox would).
            for a in decide(&cases, &h, &cal, &s, now) {
                match a {
                    Action::Ack { case_id } | Action::AckSuppressed { case_id, .. } => {
                        let c = cases.iter_mut().find(|c| c.id == case_id).unwrap();
                        c.acked_cycle = c.cycle;
                        h.last_ack_to.insert(c.reply_to.clone(), now);
                    }
                    Action::Reminder { case_id } => {
                        let c = cases.iter_mut().find(|c| c.id == case_id).unwrap();
                        c.reminded_for = Some(c.deadline);
                    }
                    Action::Escalation { case_id } => {
                        let c = cases.iter_mut().find(|c| c.id == case_id).unwrap();
                        c.escalated_for = Some(c.deadline);
                    }
                    Action::EscalationList { case_ids } => {
                        for c in cases.iter_mut().filter(|c| case_ids.contains(&c.id)) {
                            c.escalated_for = Some(c.deadline);
                        }
                    }
                    Action::Digest { date, .. } => h.last_digest_date = Some(date),
                    Action::AckDeferred { .. } => {}
                }
            }
            let next = next_due(&cases, &h, &cal, &s, now).expect("a digest is always ahead");
            assert!(next > now, "next_due {next} not after {now}");
            let mut probe = now + Duration::minutes(1);
            while probe < next {
                assert!(
                    decide(&cases, &h, &cal, &s, probe).is_empty(),
                    "something due at {probe}, before next_due {next} (from {now})"
                );
                probe += Duration::minutes(1);
            }
            now = next;
            wakes += 1;
        }
        // Acks (2), reminders (2), escalations (2), 5 digests, and no more
        // than a handful of extra wake-ups.
        assert!((8..=16).contains(&wakes), "{wakes} wake-ups in a week");
    }
}
