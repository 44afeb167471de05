//! Latvian public holidays and Cabinet working-day transfers (SPEC §3).
//!
//! Pure data and date arithmetic: no configuration, no time zones. The
//! holidays follow the law "Par svētku, atceres un atzīmējamām dienām" as in
//! force now, applied to every year (the calendar is meant for current and
//! future dates, not for reconstructing historical calendars):
//!
//! - fixed days: 1 Jan, 1 May, 4 May, 23 and 24 Jun, 18 Nov, 24, 25, 26 and
//!   31 Dec;
//! - Easter based: Good Friday, Easter Sunday and Monday, Pentecost Sunday;
//! - Mother's Day, the second Sunday of May;
//! - when 4 May, 18 Nov or the Song and Dance Festival closing day falls on a
//!   Saturday or Sunday, the following Monday (the next working day) is a day
//!   off, listed here as a holiday named `brīvdiena: … iekrīt nedēļas nogalē`;
//! - the one-off holidays known so far: 24 Sep 2018 (papal visit), 29 May 2023
//!   (hockey bronze) and the festival closing days 8 Jul 2018 and 9 Jul 2023.
//!   Future festival closing days (the next is expected in 2028) are not
//!   known yet: the admin adds the day off with `calendar.extra_holidays`.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// One public holiday (or a day off that the law attaches to one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    /// The Latvian name, as in the law.
    pub name: &'static str,
}

/// A Cabinet order moving a working day: `day_off` becomes a day off and
/// `worked_saturday` a working day (with the hours of `day_off`'s weekday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub day_off: NaiveDate,
    pub worked_saturday: NaiveDate,
}

pub const NEW_YEAR: &str = "Jaunais gads";
pub const GOOD_FRIDAY: &str = "Lielā Piektdiena";
pub const EASTER: &str = "Lieldienas";
pub const EASTER_MONDAY: &str = "Otrās Lieldienas";
pub const LABOUR_DAY: &str = "Darba svētki; Latvijas Republikas Satversmes sapulces sasaukšanas diena";
pub const RESTORATION_DAY: &str = "Latvijas Republikas Neatkarības atjaunošanas diena";
pub const MOTHERS_DAY: &str = "Mātes diena";
pub const PENTECOST: &str = "Vasarsvētki";
pub const LIGO: &str = "Līgo diena";
pub const JANI: &str = "Jāņu diena";
pub const PROCLAMATION_DAY: &str = "Latvijas Republikas proklamēšanas diena";
pub const CHRISTMAS_EVE: &str = "Ziemassvētku vakars";
pub const CHRISTMAS: &str = "Pirmie Ziemassvētki";
pub const CHRISTMAS_2: &str = "Otrie Ziemassvētki";
pub const NEW_YEARS_EVE: &str = "Vecgada vakars";
pub const FESTIVAL_CLOSING: &str = "Vispārējo latviešu Dziesmu un deju svētku noslēguma diena";
pub const RESTORATION_DAY_OFF: &str =
    "brīvdiena: Latvijas Republikas Neatkarības atjaunošanas diena iekrīt nedēļas nogalē";
pub const PROCLAMATION_DAY_OFF: &str =
    "brīvdiena: Latvijas Republikas proklamēšanas diena iekrīt nedēļas nogalē";
pub const FESTIVAL_DAY_OFF: &str =
    "brīvdiena: Vispārējo latviešu Dziesmu un deju svētku noslēguma diena iekrīt nedēļas nogalē";
pub const PAPAL_VISIT: &str = "Romas pāvesta Franciska pastorālās vizītes Latvijā diena";
pub const HOCKEY_BRONZE: &str = "Latvijas hokeja komandas bronzas medaļas izcīnīšanas diena";

const fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, day) {
        Some(x) => x,
        None => panic!("invalid built-in date"),
    }
}

/// Festival closing days known so far (they are set by law case by case).
const FESTIVAL_CLOSING_DAYS: &[NaiveDate] = &[d(2018, 7, 8), d(2023, 7, 9)];

/// One-off holidays declared by law amendments.
const ONE_OFFS: &[Holiday] = &[
    Holiday {
        date: d(2018, 9, 24),
        name: PAPAL_VISIT,
    },
    Holiday {
        date: d(2023, 5, 29),
        name: HOCKEY_BRONZE,
    },
];

const TRANSFERS: &[Transfer] = &[
    Transfer {
        day_off: d(2024, 12, 23),
        worked_saturday: d(2024, 12, 14),
    },
    Transfer {
        day_off: d(2024, 12, 30),
        worked_saturday: d(2024, 12, 28),
    },
    Transfer {
        day_off: d(2025, 5, 2),
        worked_saturday: d(2025, 5, 10),
    },
    Transfer {
        day_off: d(2025, 11, 17),
        worked_saturday: d(2025, 11, 8),
    },
    Transfer {
        day_off: d(2026, 1, 2),
        worked_saturday: d(2026, 1, 17),
    },
    Transfer {
        day_off: d(2026, 6, 22),
        worked_saturday: d(2026, 6, 27),
    },
];

/// The Cabinet transfers for state institutions ordered so far (SPEC §3).
/// New orders are added by the admin with `extra_holidays` and
/// `extra_working_days`.
pub fn cabinet_transfers() -> &'static [Transfer] {
    TRANSFERS
}

/// Easter Sunday of `year` (Gregorian calendar), by the anonymous Gregorian
/// computus (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let dd = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - dd - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction of the algorithm.
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(NaiveDate::MIN)
}

/// The Monday after `date` when `date` falls on a weekend.
fn monday_after_weekend(date: NaiveDate) -> Option<NaiveDate> {
    match date.weekday() {
        Weekday::Sat => Some(date + Duration::days(2)),
        Weekday::Sun => Some(date + Duration::days(1)),
        _ => None,
    }
}

/// All public holidays of `year` (including those on weekends and the
/// Monday days off for 4 May, 18 Nov and festival closing days on a
/// weekend), sorted by date. When two coincide on one date (possible only for
/// Pentecost and Mother's Day, very rarely) both are listed.
pub fn lv_holidays(year: i32) -> Vec<Holiday> {
    let mut out = Vec::with_capacity(24);
    let mut push = |date: Option<NaiveDate>, name: &'static str| {
        if let Some(date) = date {
            out.push(Holiday { date, name });
        }
    };
    let ymd = |m, day| NaiveDate::from_ymd_opt(year, m, day);
    let easter = easter_sunday(year);

    push(ymd(1, 1), NEW_YEAR);
    push(Some(easter - Duration::days(2)), GOOD_FRIDAY);
    push(Some(easter), EASTER);
    push(Some(easter + Duration::days(1)), EASTER_MONDAY);
    push(ymd(5, 1), LABOUR_DAY);
    push(ymd(5, 4), RESTORATION_DAY);
    push(ymd(5, 4).and_then(monday_after_weekend), RESTORATION_DAY_OFF);
    // Second Sunday of May.
    let mothers = ymd(5, 1).map(|first| {
        let to_sunday = (7 - first.weekday().num_days_from_sunday()) % 7;
        first + Duration::days(i64::from(to_sunday) + 7)
    });
    push(mothers, MOTHERS_DAY);
    push(Some(easter + Duration::days(49)), PENTECOST);
    push(ymd(6, 23), LIGO);
    push(ymd(6, 24), JANI);
    push(ymd(11, 18), PROCLAMATION_DAY);
    push(ymd(11, 18).and_then(monday_after_weekend), PROCLAMATION_DAY_OFF);
    push(ymd(12, 24), CHRISTMAS_EVE);
    push(ymd(12, 25), CHRISTMAS);
    push(ymd(12, 26), CHRISTMAS_2);
    push(ymd(12, 31), NEW_YEARS_EVE);
    for &fest in FESTIVAL_CLOSING_DAYS.iter().filter(|f| f.year() == year) {
        push(Some(fest), FESTIVAL_CLOSING);
        push(monday_after_weekend(fest), FESTIVAL_DAY_OFF);
    }
    for h in ONE_OFFS.iter().filter(|h| h.date.year() == year) {
        push(Some(h.date), h.name);
    }
    out.sort_by_key(|h| h.date);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn easter_matches_published_dates() {
        // Independent list (Gregorian Easter, as published).
        let cases = [
            (2000, "2000-04-23"),
            (2008, "2008-03-23"),
            (2011, "2011-04-24"),
            (2018, "2018-04-01"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2028, "2028-04-16"),
            (2029, "2029-04-01"),
            (2030, "2030-04-21"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
        ];
        for (y, want) in cases {
            assert_eq!(easter_sunday(y), date(want), "Easter {y}");
        }
    }

    #[test]
    fn holidays_2026_full_list() {
        let got: Vec<(String, &str)> = lv_holidays(2026)
            .into_iter()
            .map(|h| (h.date.to_string(), h.name))
            .collect();
        let want = vec![
            ("2026-01-01", NEW_YEAR),
            ("2026-04-03", GOOD_FRIDAY),
            ("2026-04-05", EASTER),
            ("2026-04-06", EASTER_MONDAY),
            ("2026-05-01", LABOUR_DAY),
            ("2026-05-04", RESTORATION_DAY),
            ("2026-05-10", MOTHERS_DAY),
            ("2026-05-24", PENTECOST),
            ("2026-06-23", LIGO),
            ("2026-06-24", JANI),
            ("2026-11-18", PROCLAMATION_DAY),
            ("2026-12-24", CHRISTMAS_EVE),
            ("2026-12-25", CHRISTMAS),
            ("2026-12-26", CHRISTMAS_2),
            ("2026-12-31", NEW_YEARS_EVE),
        ];
        let want: Vec<(String, &str)> = want.into_iter().map(|(d, n)| (d.to_string(), n)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn weekend_days_off_and_one_offs() {
        let has =
            |y: i32, s: &str, name: &str| lv_holidays(y).iter().any(|h| h.date == date(s) && h.name == name);
        // 4 May 2025 is a Sunday -> Monday 5 May off.
        assert!(has(2025, "2025-05-05", RESTORATION_DAY_OFF));
        // 4 May 2024 is a Saturday -> Monday 6 May off.
        assert!(has(2024, "2024-05-06", RESTORATION_DAY_OFF));
        // 18 Nov 2028 is a Saturday -> Monday 20 Nov off.
        assert!(has(2028, "2028-11-20", PROCLAMATION_DAY_OFF));
        // 18 Nov 2029 is a Sunday -> Monday 19 Nov off.
        assert!(has(2029, "2029-11-19", PROCLAMATION_DAY_OFF));
        assert!(has(2018, "2018-07-08", FESTIVAL_CLOSING));
        assert!(has(2018, "2018-07-09", FESTIVAL_DAY_OFF));
        assert!(has(2023, "2023-07-10", FESTIVAL_DAY_OFF));
        assert!(has(2018, "2018-09-24", PAPAL_VISIT));
        assert!(has(2023, "2023-05-29", HOCKEY_BRONZE));
        // No day off when 4 May is a weekday.
        assert!(!lv_holidays(2026)
            .iter()
            .any(|h| h.name == RESTORATION_DAY_OFF || h.name == PROCLAMATION_DAY_OFF));
        // Mother's day: second Sunday of May.
        for (y, s) in [(2025, "2025-05-11"), (2027, "2027-05-09"), (2028, "2028-05-14")] {
            assert!(has(y, s, MOTHERS_DAY), "{s}");
        }
    }

    #[test]
    fn transfers_pair_a_weekday_with_a_saturday() {
        assert_eq!(cabinet_transfers().len(), 6);
        for t in cabinet_transfers() {
            assert_eq!(t.worked_saturday.weekday(), Weekday::Sat, "{t:?}");
            assert!(t.day_off.weekday().num_days_from_monday() < 5, "{t:?}");
        }
        assert!(cabinet_transfers().contains(&Transfer {
            day_off: date("2026-06-22"),
            worked_saturday: date("2026-06-27"),
        }));
    }
}
