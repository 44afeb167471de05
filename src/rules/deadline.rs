//! Reply deadlines and acknowledgement timing (SPEC §4, §5.1) on a
//! [`Calendar`]. Pure: every instant is an input.
//!
//! Decisions:
//! - The "day of receipt" is the local calendar day (calendar time zone) of
//!   the receipt instant.
//! - Month arithmetic (submissions, the four-month limit) keeps the day
//!   number and clamps to the month's last day (31 Jan → 28/29 Feb), as the
//!   Administrative Procedure Law §42–43 count terms; a term ending on a
//!   non-working day moves to the next working day. A worked Saturday is a
//!   working day and can end a term; a Cabinet-transferred day off cannot.
//! - `working_days = 0` for e-mail means "by the closing time of the day of
//!   receipt, or of the next working day when that is not one".
//! - [`submission_limit`] is moved to the next working day too, like every
//!   term end.

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::AckMode;
use crate::rules::calendar::Calendar;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseKind {
    Email,
    Submission,
}

impl CaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Email => "email",
            CaseKind::Submission => "submission",
        }
    }
}

impl std::fmt::Display for CaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CaseKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "email" => Ok(CaseKind::Email),
            "submission" => Ok(CaseKind::Submission),
            _ => Err(format!(
                "unknown case kind \"{s}\": expected \"email\" or \"submission\""
            )),
        }
    }
}

/// `date` plus `months`, same day number, clamped to the month's last day.
fn add_months_clamped(date: NaiveDate, months: u32) -> NaiveDate {
    // chrono's checked_add_months already clamps to the last day of the month.
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// Closing time of `date`, or of the next working day when `date` is not
/// one (interim replies, `extend --until`).
pub fn date_deadline(cal: &Calendar, date: NaiveDate) -> DateTime<Utc> {
    let day = cal.next_working_day_on_or_after(date);
    cal.closing(day)
        // Only when no working day exists within the search bound.
        .unwrap_or_else(|| far_closing(day))
}

fn far_closing(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(23, 59, 59)
        .map(|n| n.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The reply deadline of a case received at `received` (SPEC §4.1, §4.2).
pub fn reply_deadline(
    cal: &Calendar,
    received: DateTime<Utc>,
    kind: CaseKind,
    working_days: u32,
) -> DateTime<Utc> {
    let day = cal.local_date(received);
    match kind {
        CaseKind::Email => {
            let end = cal.nth_working_day_after(day, working_days);
            cal.closing(end).unwrap_or_else(|| far_closing(end))
        }
        CaseKind::Submission => date_deadline(cal, add_months_clamped(day, 1)),
    }
}

/// The latest date an interim reply may promise for a submission: four
/// months after the day of receipt (clamped to the month's end), moved to
/// the next working day when not one.
pub fn submission_limit(cal: &Calendar, received: DateTime<Utc>) -> NaiveDate {
    let day = cal.local_date(received);
    cal.next_working_day_on_or_after(add_months_clamped(day, 4))
}

/// When the acknowledgement of a case received at `received` is due
/// (SPEC §5.1). `EndOfDay`: received on a working day before its closing
/// time (also before opening) → that closing time; otherwise at once.
pub fn ack_at(cal: &Calendar, received: DateTime<Utc>, mode: AckMode) -> DateTime<Utc> {
    match mode {
        AckMode::Immediate => received,
        AckMode::EndOfDay => match cal.closing(cal.local_date(received)) {
            Some(close) if received < close => close,
            _ => received,
        },
    }
}

/// Whether a date is past the submission limit (convenience for §4.3).
pub fn exceeds_submission_limit(cal: &Calendar, received: DateTime<Utc>, promised: NaiveDate) -> bool {
    promised > submission_limit(cal, received)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CalendarConfig;

    fn cal() -> Calendar {
        Calendar::from_config(&CalendarConfig::default()).unwrap()
    }
    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn email_deadlines() {
        let c = cal();
        let cases: &[(&str, u32, &str)] = &[
            // SPEC §9 example.
            ("2026-11-17T10:00:00+02:00", 2, "2026-11-20T16:00:00+02:00"),
            // Mon 10:00 -> Wed closing.
            ("2026-11-23T10:00:00+02:00", 2, "2026-11-25T17:00:00+02:00"),
            // Fri 20:00 -> Tue closing; Sat -> Tue closing.
            ("2026-11-27T20:00:00+02:00", 2, "2026-12-01T17:00:00+02:00"),
            ("2026-11-28T12:00:00+02:00", 2, "2026-12-01T17:00:00+02:00"),
            // Midnight counts as that day.
            ("2026-11-23T00:00:00+02:00", 2, "2026-11-25T17:00:00+02:00"),
            // 23:59:59 Sunday local is still Sunday even though UTC is earlier.
            ("2026-11-22T23:59:59+02:00", 2, "2026-11-24T17:00:00+02:00"),
            // 00:30 local Monday is Sunday 22:30 UTC: counted from Monday.
            ("2026-11-22T22:30:00Z", 2, "2026-11-25T17:00:00+02:00"),
            // On a holiday: 18 Nov -> Thu 19 (1), Fri 20 (2).
            ("2026-11-18T11:00:00+02:00", 2, "2026-11-20T16:00:00+02:00"),
            // Before Līgo with a transferred day off: Fri 19 Jun -> Thu 25, Fri 26.
            ("2026-06-19T10:00:00+03:00", 2, "2026-06-26T16:00:00+03:00"),
            // The worked Saturday counts: Thu 25 Jun -> Fri 26, Sat 27 (9-17).
            ("2026-06-25T10:00:00+03:00", 2, "2026-06-27T17:00:00+03:00"),
            // Received on the worked Saturday: Mon 29, Tue 30.
            ("2026-06-27T10:00:00+03:00", 2, "2026-06-30T17:00:00+03:00"),
            // Christmas: 23 Dec -> Mon 28, Tue 29.
            ("2026-12-23T15:00:00+02:00", 2, "2026-12-29T17:00:00+02:00"),
            // Deadline on a shortened day: Mon 28 Dec -> Tue 29, Wed 30 (9-16).
            ("2026-12-28T10:00:00+02:00", 2, "2026-12-30T16:00:00+02:00"),
            // Across DST start: Fri 27 Mar 2026 -> Mon 30, Tue 31 (EEST).
            ("2026-03-27T10:00:00+02:00", 2, "2026-03-31T17:00:00+03:00"),
            // Other N.
            ("2026-11-23T10:00:00+02:00", 1, "2026-11-24T17:00:00+02:00"),
            ("2026-11-23T10:00:00+02:00", 5, "2026-11-30T18:00:00+02:00"),
            ("2026-11-23T10:00:00+02:00", 0, "2026-11-23T18:00:00+02:00"),
            ("2026-11-21T10:00:00+02:00", 0, "2026-11-23T18:00:00+02:00"),
        ];
        for (r, n, want) in cases {
            assert_eq!(
                reply_deadline(&c, t(r), CaseKind::Email, *n),
                t(want),
                "{r} N={n}"
            );
        }
    }

    #[test]
    fn submission_deadlines() {
        let c = cal();
        let cases: &[(&str, &str)] = &[
            // SPEC §4.2 examples.
            ("2025-01-31T10:00:00+02:00", "2025-02-28T16:00:00+02:00"),
            ("2025-10-23T10:00:00+03:00", "2025-11-24T18:00:00+02:00"),
            ("2025-04-04T10:00:00+03:00", "2025-05-06T17:00:00+03:00"),
            // Leap year: 31 Jan 2028 -> Tue 29 Feb 2028.
            ("2028-01-31T10:00:00+02:00", "2028-02-29T17:00:00+02:00"),
            // 30 Jan 2027 -> 28 Feb 2027 is a Sunday -> Mon 1 Mar.
            ("2027-01-30T10:00:00+02:00", "2027-03-01T18:00:00+02:00"),
            // 31 Mar 2026 -> 30 Apr 2026 (shortened Thu 9-16).
            ("2026-03-31T10:00:00+03:00", "2026-04-30T16:00:00+03:00"),
            // Ends on a holiday: 18 Oct 2026 -> 18 Nov (Wed) -> Thu 19 Nov.
            ("2026-10-18T10:00:00+03:00", "2026-11-19T17:00:00+02:00"),
            // Ends on a transferred day off: 22 May -> Mon 22 Jun -> Thu 25 Jun.
            ("2026-05-22T10:00:00+03:00", "2026-06-25T17:00:00+03:00"),
            // Ends on a worked Saturday: 27 May -> Sat 27 Jun 2026 (9-17).
            ("2026-05-27T10:00:00+03:00", "2026-06-27T17:00:00+03:00"),
            // Ends on an ordinary Saturday: 21 Oct -> Sat 21 Nov -> Mon 23 Nov.
            ("2026-10-21T23:30:00+03:00", "2026-11-23T18:00:00+02:00"),
            // Local day decides: 30 Nov 22:30Z is 1 Dec 00:30 local -> 1 Jan 2027 -> Mon 4 Jan.
            ("2026-11-30T22:30:00Z", "2027-01-04T18:00:00+02:00"),
            // Month ends: 31 Jan 2026 -> Sat 28 Feb -> Mon 2 Mar.
            ("2026-01-31T10:00:00+02:00", "2026-03-02T18:00:00+02:00"),
            // 29 and 30 Jan 2028 -> 29 Feb 2028 (leap year).
            ("2028-01-29T10:00:00+02:00", "2028-02-29T17:00:00+02:00"),
            ("2028-01-30T10:00:00+02:00", "2028-02-29T17:00:00+02:00"),
            // 31 Aug 2026 -> Wed 30 Sep 2026.
            ("2026-08-31T10:00:00+03:00", "2026-09-30T17:00:00+03:00"),
            // 31 Dec 2026 -> 31 Jan 2027 (Sunday) -> Mon 1 Feb.
            ("2026-12-31T10:00:00+02:00", "2027-02-01T18:00:00+02:00"),
            // 31 May 2026 -> 30 Jun 2026 (Tue).
            ("2026-05-31T10:00:00+03:00", "2026-06-30T17:00:00+03:00"),
            // Christmas: 24 Nov -> 24 Dec (holiday) -> Mon 28 Dec.
            ("2026-11-24T10:00:00+02:00", "2026-12-28T18:00:00+02:00"),
        ];
        for (r, want) in cases {
            assert_eq!(reply_deadline(&c, t(r), CaseKind::Submission, 2), t(want), "{r}");
        }
    }

    #[test]
    fn submission_limits() {
        let c = cal();
        let cases: &[(&str, &str)] = &[
            ("2026-11-17T10:00:00+02:00", "2027-03-17"),
            // 31 Oct -> 28 Feb 2027 (Sunday) -> Mon 1 Mar.
            ("2026-10-31T10:00:00+02:00", "2027-03-01"),
            // 29 Feb 2028 is reached from 31 Oct 2027 and is a Tuesday.
            ("2027-10-31T10:00:00+02:00", "2028-02-29"),
            // 18 Jul 2026 -> 18 Nov 2026 (holiday) -> 19 Nov.
            ("2026-07-18T10:00:00+03:00", "2026-11-19"),
        ];
        for (r, want) in cases {
            assert_eq!(submission_limit(&c, t(r)), date(want), "{r}");
        }
        assert!(!exceeds_submission_limit(
            &c,
            t("2026-07-18T10:00:00+03:00"),
            date("2026-11-19")
        ));
        assert!(exceeds_submission_limit(
            &c,
            t("2026-07-18T10:00:00+03:00"),
            date("2026-11-20")
        ));
    }

    #[test]
    fn date_deadlines() {
        let c = cal();
        let cases: &[(&str, &str)] = &[
            ("2026-12-03", "2026-12-03T17:00:00+02:00"),
            ("2026-12-04", "2026-12-04T16:00:00+02:00"),
            ("2026-12-05", "2026-12-07T18:00:00+02:00"),
            ("2026-12-24", "2026-12-28T18:00:00+02:00"),
            ("2026-11-17", "2026-11-17T16:00:00+02:00"),
            ("2026-06-22", "2026-06-25T17:00:00+03:00"),
            ("2026-06-27", "2026-06-27T17:00:00+03:00"),
        ];
        for (d, want) in cases {
            assert_eq!(date_deadline(&c, date(d)), t(want), "{d}");
        }
    }

    #[test]
    fn ack_times() {
        let c = cal();
        let eod = AckMode::EndOfDay;
        let cases: &[(&str, &str)] = &[
            // SPEC example: shortened Tue 17 Nov closes 16:00.
            ("2026-11-17T10:00:00+02:00", "2026-11-17T16:00:00+02:00"),
            // At midnight / before opening on a working day: that day's closing.
            ("2026-11-23T00:00:00+02:00", "2026-11-23T18:00:00+02:00"),
            ("2026-11-23T08:59:59+02:00", "2026-11-23T18:00:00+02:00"),
            // At opening.
            ("2026-11-23T09:00:00+02:00", "2026-11-23T18:00:00+02:00"),
            // A second before closing.
            ("2026-11-23T17:59:59+02:00", "2026-11-23T18:00:00+02:00"),
            // Exactly at closing: not before it, so at once.
            ("2026-11-23T18:00:00+02:00", "2026-11-23T18:00:00+02:00"),
            // After closing: at once.
            ("2026-11-23T19:30:00+02:00", "2026-11-23T19:30:00+02:00"),
            // On a holiday and on a weekend: at once.
            ("2026-11-18T10:00:00+02:00", "2026-11-18T10:00:00+02:00"),
            ("2026-11-21T10:00:00+02:00", "2026-11-21T10:00:00+02:00"),
            // On a transferred day off: at once.
            ("2026-06-22T10:00:00+03:00", "2026-06-22T10:00:00+03:00"),
            // On a worked Saturday: its (shortened) closing 17:00.
            ("2026-06-27T10:00:00+03:00", "2026-06-27T17:00:00+03:00"),
            // Friday: 16:00.
            ("2026-11-20T15:00:00+02:00", "2026-11-20T16:00:00+02:00"),
        ];
        for (r, want) in cases {
            assert_eq!(ack_at(&c, t(r), eod), t(want), "{r}");
            assert_eq!(ack_at(&c, t(r), AckMode::Immediate), t(r), "{r}");
        }
    }

    /// Invariants over every hour of 2026 (e-mail, N = 2): the deadline is
    /// the closing time of a working day that has exactly one other working
    /// day between the receipt day and it; the ack is never before receipt
    /// and is either receipt itself or the receipt day's closing.
    #[test]
    fn invariants_over_2026() {
        let c = cal();
        let mut t = t("2026-01-01T00:00:00+02:00");
        let end = t + chrono::Duration::days(365);
        while t < end {
            let day = c.local_date(t);
            let due = reply_deadline(&c, t, CaseKind::Email, 2);
            let due_day = c.local_date(due);
            assert_eq!(c.closing(due_day), Some(due), "{t}");
            let between = day
                .iter_days()
                .skip(1)
                .take_while(|d| *d < due_day)
                .filter(|d| c.is_working_day(*d))
                .count();
            assert_eq!(between, 1, "{t} -> {due}");
            let ack = ack_at(&c, t, AckMode::EndOfDay);
            assert!(ack >= t, "{t}");
            assert!(ack == t || Some(ack) == c.closing(day), "{t}");
            t += chrono::Duration::hours(1);
        }
    }

    #[test]
    fn case_kind_text() {
        assert_eq!(CaseKind::Email.to_string(), "email");
        assert_eq!(CaseKind::Submission.to_string(), "submission");
        assert_eq!(
            serde_json::to_string(&CaseKind::Submission).unwrap(),
            "\"submission\""
        );
        assert_eq!(
            serde_json::from_str::<CaseKind>("\"email\"").unwrap(),
            CaseKind::Email
        );
        assert_eq!("submission".parse::<CaseKind>().unwrap(), CaseKind::Submission);
        assert!("mail".parse::<CaseKind>().is_err());
    }
}
