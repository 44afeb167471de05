//! The compliance report (SPEC §12): whether the rules were kept for the
//! cases received in a period, as of an instant.
//!
//! Pure: [`compute`] takes the recorded facts ([`CaseInput`],
//! [`SignatureInput`]), the working calendar and the period, and returns a
//! [`Report`]; `load.rs` reads the facts from the store, `render.rs` prints
//! the table and the CSV, the JSON is the serde form of [`Report`].
//!
//! Definitions are SPEC §12's; where it leaves room (README "Decisions"):
//! - a case's receipt is the mail that *opened* it; a reopening starts no
//!   new case in the report, and only the first cycle's acknowledgement,
//!   first response and first deadline count;
//! - everything is judged as of `as_of`: a response, an acknowledgement or
//!   a close after it has not happened yet, a case received after it is
//!   not counted;
//! - overdue means `as_of` is past the deadline (as in `status`); a
//!   response exactly at the deadline is on time;
//! - the median and the p90 are both nearest-rank (rank ⌈p·n⌉);
//! - a rate whose denominator is 0 is `null`;
//! - `signature` and `by_staff` count every checked staff mail to a
//!   non-organisation address sent in the period, with or without a case;
//! - an interim reply that was refused (date too late or in the past) is a
//!   staff reply to the client and so a first response, of kind `reply`;
//! - `weeks` lists the ISO weeks that have at least one receipt;
//! - `feedback` (SPEC §14) counts the period's cases marked feedback as they
//!   are marked now, with `answered` and `on_time` defined as in `reply`
//!   (a case closed by hand is counted in `cases` only).
//!
//! To extend: add a field to [`CaseInput`] (set by
//! `load.rs`), a block struct here, a field to [`Report`] filled in
//! [`compute`]; the JSON, the web page and the table pick it up from there.

pub mod load;
pub mod render;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::rules::calendar::Calendar;
use crate::rules::deadline::CaseKind;
use crate::store::facts::ResponseKind;

/// An acknowledgement counts as on time up to this long after it was due.
pub const ACK_GRACE: Duration = Duration::minutes(15);

/// The first response to a case.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstResponse {
    pub at: DateTime<Utc>,
    pub kind: ResponseKind,
    /// Author address (lower-case) or the admin who ran `extend`.
    pub by: String,
    /// The signature check's key (Message-ID) of an e-mail response.
    pub reference: Option<String>,
}

/// What the report needs about one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseInput {
    pub id: String,
    pub kind: CaseKind,
    pub client: String,
    /// Receipt of the mail that opened the case.
    pub received: DateTime<Utc>,
    /// The deadline first set for the case.
    pub first_deadline: DateTime<Utc>,
    /// When the first acknowledgement fell due (SPEC §5.1).
    pub ack_due: DateTime<Utc>,
    /// When the SMTP server accepted the first acknowledgement.
    pub ack_sent: Option<DateTime<Utc>>,
    /// Why the first acknowledgement was not sent (a §5.1/§5.2 rule).
    pub ack_suppressed: Option<String>,
    pub first_response: Option<FirstResponse>,
    /// `close` before any first response.
    pub hand_closed: Option<DateTime<Utc>>,
    /// Client feedback about the service (SPEC §14), as the case is marked
    /// now (an admin's `mark` counts from the moment it is made, for every
    /// report after it).
    pub feedback: bool,
}

/// One checked staff mail (SPEC §7).
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureInput {
    pub reference: String,
    /// Author address, lower-case.
    pub author: String,
    pub compliant: bool,
    /// Missing elements: `organization`, `name`, `surname`, `contact`.
    pub missing: Vec<String>,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseCounts {
    pub total: u32,
    pub email: u32,
    pub submission: u32,
    pub closed_by_hand: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AckCounts {
    pub due: u32,
    pub sent: u32,
    pub on_time: u32,
    pub suppressed: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReplyCounts {
    pub answered: u32,
    pub on_time: u32,
    pub late: u32,
    pub open_in_time: u32,
    pub open_overdue: u32,
    pub interim: u32,
    pub on_time_rate: Option<f64>,
    pub median_working_hours: Option<f64>,
    pub p90_working_hours: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Missing {
    pub organization: u32,
    pub name: u32,
    pub surname: u32,
    pub contact: u32,
}

/// Client feedback about the service (SPEC §14).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeedbackCounts {
    pub cases: u32,
    pub answered: u32,
    pub on_time: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SignatureCounts {
    pub checked: u32,
    pub compliant: u32,
    pub rate: Option<f64>,
    pub missing: Missing,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StaffRow {
    pub email: String,
    pub replies: u32,
    pub on_time: u32,
    pub signature_checked: u32,
    pub signature_compliant: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WeekRow {
    /// ISO week, `2026-W45`.
    pub week: String,
    pub received: u32,
    pub answered: u32,
    pub on_time: u32,
}

/// The report (SPEC §12 JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// RFC 3339 in the calendar's time zone.
    pub as_of: String,
    pub cases: CaseCounts,
    pub ack: AckCounts,
    pub reply: ReplyCounts,
    pub signature: SignatureCounts,
    pub by_staff: Vec<StaffRow>,
    pub weeks: Vec<WeekRow>,
    pub feedback: FeedbackCounts,
    /// One row per case, for the CSV and the web page (not in the JSON).
    #[serde(skip)]
    pub rows: Vec<CaseRow>,
}

/// One case as the report judged it (the CSV's row).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub id: String,
    pub kind: CaseKind,
    pub client: String,
    pub received: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// `None`: no first response by `as_of` (or closed by hand).
    pub first_response: Option<DateTime<Utc>>,
    pub on_time: Option<bool>,
    pub working_hours: Option<f64>,
    pub acknowledged: bool,
    pub signature_compliant: Option<bool>,
    pub closed_by_hand: bool,
    pub overdue: bool,
    pub feedback: bool,
}

/// The period and the instant the report is made as of.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: DateTime<Utc>,
}

/// Round to `places` decimals.
fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn rate(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| round(num as f64 / den as f64, 4))
}

/// Nearest-rank percentile `p` (0 < p ≤ 1) of sorted values.
pub fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// Working hours between two instants on the calendar, 2 decimals.
pub fn working_hours(cal: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    round(
        cal.working_time_between(from, to).num_seconds() as f64 / 3600.0,
        2,
    )
}

/// An instant as RFC 3339 in the calendar's zone, whole seconds.
pub fn local_rfc3339(cal: &Calendar, t: DateTime<Utc>) -> String {
    let local = cal.to_local(t);
    let fixed: DateTime<FixedOffset> = local.fixed_offset();
    fixed.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// ISO week label of a date: `2026-W45`.
pub fn iso_week(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// Compute the report. `cases` may hold cases outside the period (they are
/// needed for `by_staff`); `signatures` every checked staff mail.
pub fn compute(cal: &Calendar, period: Period, cases: &[CaseInput], signatures: &[SignatureInput]) -> Report {
    let as_of = period.as_of;
    let in_period = |t: DateTime<Utc>| {
        let d = cal.local_date(t);
        d >= period.from && d <= period.to && t <= as_of
    };
    let sig_by_ref: HashMap<&str, &SignatureInput> = signatures
        .iter()
        .filter(|s| s.sent_at <= as_of)
        .map(|s| (s.reference.as_str(), s))
        .collect();

    let mut mine: Vec<&CaseInput> = cases.iter().filter(|c| in_period(c.received)).collect();
    mine.sort_by(|a, b| a.received.cmp(&b.received).then_with(|| a.id.cmp(&b.id)));

    let mut cc = CaseCounts {
        total: 0,
        email: 0,
        submission: 0,
        closed_by_hand: 0,
    };
    let mut ack = AckCounts {
        due: 0,
        sent: 0,
        on_time: 0,
        suppressed: 0,
    };
    let mut rc = ReplyCounts {
        answered: 0,
        on_time: 0,
        late: 0,
        open_in_time: 0,
        open_overdue: 0,
        interim: 0,
        on_time_rate: None,
        median_working_hours: None,
        p90_working_hours: None,
    };
    let mut hours = Vec::new();
    let mut weeks: BTreeMap<(i32, u32), WeekRow> = BTreeMap::new();
    let mut rows = Vec::new();

    for c in &mine {
        cc.total += 1;
        match c.kind {
            CaseKind::Email => cc.email += 1,
            CaseKind::Submission => cc.submission += 1,
        }
        let day = cal.local_date(c.received);
        let iso = day.iso_week();
        let week = weeks.entry((iso.year(), iso.week())).or_insert_with(|| WeekRow {
            week: iso_week(day),
            received: 0,
            answered: 0,
            on_time: 0,
        });
        week.received += 1;
        let acknowledged = c.ack_sent.is_some_and(|t| t <= as_of);
        let response = c.first_response.as_ref().filter(|r| r.at <= as_of);
        let hand_closed = c
            .hand_closed
            .is_some_and(|t| t <= as_of && response.is_none_or(|r| r.at > t));
        if hand_closed {
            cc.closed_by_hand += 1;
            rows.push(CaseRow {
                id: c.id.clone(),
                kind: c.kind,
                client: c.client.clone(),
                received: c.received,
                deadline: c.first_deadline,
                first_response: None,
                on_time: None,
                working_hours: None,
                acknowledged,
                signature_compliant: None,
                closed_by_hand: true,
                overdue: false,
                feedback: c.feedback,
            });
            continue;
        }

        // R1: due when its time has come and no response came by then.
        if c.ack_due <= as_of && response.is_none_or(|r| r.at > c.ack_due) {
            ack.due += 1;
            if acknowledged {
                ack.sent += 1;
                if c.ack_sent.is_some_and(|t| t <= c.ack_due + ACK_GRACE) {
                    ack.on_time += 1;
                }
            } else if c.ack_suppressed.is_some() {
                ack.suppressed += 1;
            }
        }

        let mut row = CaseRow {
            id: c.id.clone(),
            kind: c.kind,
            client: c.client.clone(),
            received: c.received,
            deadline: c.first_deadline,
            first_response: None,
            on_time: None,
            working_hours: None,
            acknowledged,
            signature_compliant: None,
            closed_by_hand: false,
            overdue: false,
            feedback: c.feedback,
        };
        match response {
            Some(r) => {
                rc.answered += 1;
                week.answered += 1;
                let on_time = r.at <= c.first_deadline;
                if on_time {
                    rc.on_time += 1;
                    week.on_time += 1;
                } else {
                    rc.late += 1;
                }
                if matches!(r.kind, ResponseKind::Interim | ResponseKind::Extend) {
                    rc.interim += 1;
                }
                let h = working_hours(cal, c.received, r.at);
                hours.push(cal.working_time_between(c.received, r.at).num_seconds() as f64 / 3600.0);
                row.first_response = Some(r.at);
                row.on_time = Some(on_time);
                row.working_hours = Some(h);
                row.signature_compliant = r
                    .reference
                    .as_deref()
                    .and_then(|k| sig_by_ref.get(k))
                    .map(|s| s.compliant);
            }
            None if as_of > c.first_deadline => {
                rc.open_overdue += 1;
                row.overdue = true;
            }
            None => rc.open_in_time += 1,
        }
        rows.push(row);
    }
    rc.on_time_rate = rate(rc.on_time, rc.answered + rc.open_overdue);
    hours.sort_by(|a, b| a.total_cmp(b));
    rc.median_working_hours = nearest_rank(&hours, 0.5).map(|h| round(h, 2));
    rc.p90_working_hours = nearest_rank(&hours, 0.9).map(|h| round(h, 2));

    // Signatures and staff: the checked staff mail sent in the period.
    let first_of: HashMap<&str, &CaseInput> = cases
        .iter()
        .filter_map(|c| {
            let r = c.first_response.as_ref()?;
            Some((r.reference.as_deref()?, c))
        })
        .collect();
    let mut sig = SignatureCounts {
        checked: 0,
        compliant: 0,
        rate: None,
        missing: Missing {
            organization: 0,
            name: 0,
            surname: 0,
            contact: 0,
        },
    };
    let mut staff: BTreeMap<String, StaffRow> = BTreeMap::new();
    for s in signatures.iter().filter(|s| in_period(s.sent_at)) {
        sig.checked += 1;
        if s.compliant {
            sig.compliant += 1;
        }
        for m in &s.missing {
            match m.as_str() {
                "organization" => sig.missing.organization += 1,
                "name" => sig.missing.name += 1,
                "surname" => sig.missing.surname += 1,
                "contact" => sig.missing.contact += 1,
                _ => {}
            }
        }
        let row = staff.entry(s.author.clone()).or_insert_with(|| StaffRow {
            email: s.author.clone(),
            replies: 0,
            on_time: 0,
            signature_checked: 0,
            signature_compliant: 0,
        });
        row.replies += 1;
        row.signature_checked += 1;
        if s.compliant {
            row.signature_compliant += 1;
        }
        if let Some(c) = first_of.get(s.reference.as_str()) {
            let closed_first = c.hand_closed.is_some_and(|h| h < s.sent_at);
            if !closed_first && s.sent_at <= c.first_deadline {
                row.on_time += 1;
            }
        }
    }
    sig.rate = rate(sig.compliant, sig.checked);

    let mut feedback = FeedbackCounts {
        cases: 0,
        answered: 0,
        on_time: 0,
    };
    for r in rows.iter().filter(|r| r.feedback) {
        feedback.cases += 1;
        if r.first_response.is_some() {
            feedback.answered += 1;
        }
        if r.on_time == Some(true) {
            feedback.on_time += 1;
        }
    }

    Report {
        from: period.from,
        to: period.to,
        as_of: local_rfc3339(cal, as_of),
        cases: cc,
        ack,
        reply: rc,
        signature: sig,
        by_staff: staff.into_values().collect(),
        weeks: weeks.into_values().collect(),
        feedback,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CalendarConfig;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(nearest_rank(&v, 0.5), Some(5.0));
        assert_eq!(nearest_rank(&v, 0.9), Some(9.0));
        assert_eq!(nearest_rank(&[4.0], 0.9), Some(4.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    #[test]
    fn iso_weeks_and_local_times() {
        let cal = Calendar::from_config(&CalendarConfig::default()).unwrap();
        assert_eq!(
            iso_week(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()),
            "2026-W45"
        );
        assert_eq!(iso_week(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()), "2026-W53");
        assert_eq!(
            local_rfc3339(&cal, t("2026-12-03T10:00:00Z")),
            "2026-12-03T12:00:00+02:00"
        );
    }

    fn case(id: &str, received: &str, deadline: &str, ack_due: &str) -> CaseInput {
        CaseInput {
            id: id.into(),
            kind: CaseKind::Email,
            client: format!("{id}@example.lv"),
            received: t(received),
            first_deadline: t(deadline),
            ack_due: t(ack_due),
            ack_sent: None,
            ack_suppressed: None,
            first_response: None,
            hand_closed: None,
            feedback: false,
        }
    }

    fn reply(at: &str, kind: ResponseKind, by: &str, r: &str) -> Option<FirstResponse> {
        Some(FirstResponse {
            at: t(at),
            kind,
            by: by.into(),
            reference: Some(r.into()),
        })
    }

    #[test]
    fn small_period_by_hand() {
        let cal = Calendar::from_config(&CalendarConfig::default()).unwrap();
        // A: Mon 2 Nov 10:00, answered Mon 12:30 (2.5 h), before the ack time: no ack due.
        let mut a = case(
            "A",
            "2026-11-02T10:00:00+02:00",
            "2026-11-04T17:00:00+02:00",
            "2026-11-02T18:00:00+02:00",
        );
        a.first_response = reply(
            "2026-11-02T12:30:00+02:00",
            ResponseKind::Reply,
            "j@sif.gov.lv",
            "<a1>",
        );
        // B: Tue 3 Nov 10:00, acked at 17:05, answered Fri 6 Nov 10:00 (late: due Thu 17:00).
        let mut b = case(
            "B",
            "2026-11-03T10:00:00+02:00",
            "2026-11-05T17:00:00+02:00",
            "2026-11-03T17:00:00+02:00",
        );
        b.ack_sent = Some(t("2026-11-03T17:05:00+02:00"));
        b.first_response = reply(
            "2026-11-06T10:00:00+02:00",
            ResponseKind::Reply,
            "l@sif.gov.lv",
            "<b1>",
        );
        // C: Wed 4 Nov 10:00, ack suppressed, closed by hand Thu.
        let mut c = case(
            "C",
            "2026-11-04T10:00:00+02:00",
            "2026-11-06T16:00:00+02:00",
            "2026-11-04T17:00:00+02:00",
        );
        c.ack_suppressed = Some("interval".into());
        c.hand_closed = Some(t("2026-11-05T09:00:00+02:00"));
        // Feedback (SPEC §14): B (answered late), C (closed by hand), E (on time).
        b.feedback = true;
        c.feedback = true;
        // D: Thu 5 Nov 10:00, ack late (17:30), still open and overdue on 12 Nov.
        let mut d = case(
            "D",
            "2026-11-05T10:00:00+02:00",
            "2026-11-09T18:00:00+02:00",
            "2026-11-05T17:00:00+02:00",
        );
        d.ack_sent = Some(t("2026-11-05T17:30:00+02:00"));
        // E: Thu 12 Nov 09:00, extend by hand at 11:00 (interim, on time).
        let mut e = case(
            "E",
            "2026-11-12T09:00:00+02:00",
            "2026-11-16T18:00:00+02:00",
            "2026-11-12T17:00:00+02:00",
        );
        e.first_response = Some(FirstResponse {
            at: t("2026-11-12T11:00:00+02:00"),
            kind: ResponseKind::Extend,
            by: "admin:root".into(),
            reference: None,
        });
        e.feedback = true;
        let sigs = vec![
            SignatureInput {
                reference: "<a1>".into(),
                author: "j@sif.gov.lv".into(),
                compliant: true,
                missing: vec![],
                sent_at: t("2026-11-02T12:30:00+02:00"),
            },
            SignatureInput {
                reference: "<b1>".into(),
                author: "l@sif.gov.lv".into(),
                compliant: false,
                missing: vec!["contact".into()],
                sent_at: t("2026-11-06T10:00:00+02:00"),
            },
        ];
        let r = compute(
            &cal,
            Period {
                from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                as_of: t("2026-11-12T12:00:00+02:00"),
            },
            &[a, b, c, d, e],
            &sigs,
        );
        assert_eq!(
            r.cases,
            CaseCounts {
                total: 5,
                email: 5,
                submission: 0,
                closed_by_hand: 1
            }
        );
        assert_eq!(
            r.ack,
            AckCounts {
                due: 2,
                sent: 2,
                on_time: 1,
                suppressed: 0
            }
        );
        assert_eq!(r.reply.answered, 3);
        assert_eq!(
            (
                r.reply.on_time,
                r.reply.late,
                r.reply.open_in_time,
                r.reply.open_overdue
            ),
            (2, 1, 0, 1)
        );
        assert_eq!(r.reply.interim, 1);
        assert_eq!(r.reply.on_time_rate, Some(0.5));
        assert_eq!(
            r.feedback,
            FeedbackCounts {
                cases: 3,
                answered: 2,
                on_time: 1
            }
        );
        // Hours: A 2.5; B Tue 10-17 (7) + Wed 8 + Thu 8 + Fri 1 = 24; E 2.
        assert_eq!(r.reply.median_working_hours, Some(2.5));
        assert_eq!(r.reply.p90_working_hours, Some(24.0));
        assert_eq!(r.signature.checked, 2);
        assert_eq!(r.signature.rate, Some(0.5));
        assert_eq!(r.signature.missing.contact, 1);
        assert_eq!(r.by_staff.len(), 2);
        assert_eq!(
            (r.by_staff[0].email.as_str(), r.by_staff[0].on_time),
            ("j@sif.gov.lv", 1)
        );
        assert_eq!(
            (r.by_staff[1].email.as_str(), r.by_staff[1].on_time),
            ("l@sif.gov.lv", 0)
        );
        assert_eq!(
            r.weeks,
            vec![
                WeekRow {
                    week: "2026-W45".into(),
                    received: 4,
                    answered: 2,
                    on_time: 1
                },
                WeekRow {
                    week: "2026-W46".into(),
                    received: 1,
                    answered: 1,
                    on_time: 1
                },
            ]
        );
    }
}
