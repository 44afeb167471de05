//! The working calendar (SPEC §3): which days are working days, their
//! effective hours, and working-time arithmetic on UTC instants.
//!
//! A [`Calendar`] is built once from `[calendar]` and then asked a lot, so
//! [`Calendar::day`] is a handful of hash look-ups (the built-in Latvian
//! holidays are computed once per process for 1900–2200).
//!
//! Decisions (where SPEC §3 leaves room):
//! - Precedence for one date: `extra_working_days` (config) > `extra_holidays`
//!   (config) > built-in public holidays > Cabinet transfers > weekday hours.
//! - Cabinet transfers are Latvian: they apply only when `holidays = "LV"`
//!   and `cabinet_transfers = true`.
//! - Shortening (Labour Law §135): a working day whose next calendar day is a
//!   built-in public holiday closes `shorten_before_holiday` earlier. This
//!   includes worked Saturdays (Sat 10 May 2025 before Mother's Day, a
//!   public holiday by law) and the Monday days off for 4 May/18 Nov (they
//!   follow a Sunday, so it never matters with the default hours). Cabinet
//!   transferred days off are not holidays and do not shorten the day before
//!   them. A worked Saturday also takes the shortening of the day it replaces
//!   when that day was the day before a public holiday (Sat 27 Jun 2026).
//! - `extra_holidays` are an admin's closure days, not public holidays in the
//!   sense of the law: they do not shorten the day before. An admin who wants
//!   that writes the shortened day as an `extra_working_days` entry.
//! - `extra_working_days` hours are taken exactly as written (never
//!   shortened); such an entry may also override a weekday's hours.
//! - A shortening that leaves no working time makes the day a non-working day.
//! - Searches for the next working day are bounded by [`SEARCH_DAYS`] (about
//!   ten years). [`Calendar::from_config`] refuses hours without any working
//!   weekday, so the bound is never reached with a valid config; if it were,
//!   the functions return the date (or instant) [`SEARCH_DAYS`] days later
//!   instead of looping forever.
//! - Local times that do not exist (a DST gap) move forward to the first
//!   existing minute; ambiguous ones (the repeated hour) take the earlier
//!   instant. In Europe/Riga the switches are at 03:00/04:00, outside any
//!   sensible working hours.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::config::{CalendarConfig, HolidaySet, TimeRange, WeekHours};
use crate::rules::holidays;

/// How far (in days) searches for a working day look before giving up.
pub const SEARCH_DAYS: i64 = 3660;

/// The reason given for a day shortened before a public holiday.
pub const SHORTENED: &str = "shortened: day before a public holiday";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("calendar.hours gives no weekday any working hours: give at least one weekday hours such as monday = \"09:00-17:00\"")]
    NoWorkingWeekday,
}

/// One calendar day as the calendar sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayInfo {
    pub date: NaiveDate,
    pub working: bool,
    /// Effective hours (after shortening); `None` on a non-working day.
    pub hours: Option<TimeRange>,
    /// Why the day is what it is; `None` for an ordinary working day.
    pub reason: Option<String>,
}

/// Why a day is what it is (text is made only by [`Calendar::day`]).
#[derive(Debug, Clone, Copy)]
enum Why {
    Ordinary,
    ExtraWorking,
    ExtraHoliday,
    Holiday(&'static str),
    /// A Cabinet-transferred day off; the Saturday worked instead.
    TransferOff(NaiveDate),
    /// A worked Saturday; the day off it replaces.
    TransferSat(NaiveDate),
    TransferSatNoHours(NaiveDate),
    NoHours(Weekday),
}

#[derive(Debug, Clone, Copy)]
struct Class {
    hours: Option<TimeRange>,
    why: Why,
    shortened: bool,
    /// Shortening left no working time.
    vanished: bool,
}

#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    hours: WeekHours,
    lv: bool,
    shorten: Duration,
    extra_holidays: HashSet<NaiveDate>,
    extra_working: HashMap<NaiveDate, TimeRange>,
    /// Cabinet transfers: day off -> worked Saturday.
    transfer_off: HashMap<NaiveDate, NaiveDate>,
    /// Cabinet transfers: worked Saturday -> day off.
    transfer_sat: HashMap<NaiveDate, NaiveDate>,
}

const TABLE_FIRST_YEAR: i32 = 1900;
const TABLE_LAST_YEAR: i32 = 2200;

fn lv_table() -> &'static HashMap<NaiveDate, &'static str> {
    static TABLE: OnceLock<HashMap<NaiveDate, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::with_capacity(((TABLE_LAST_YEAR - TABLE_FIRST_YEAR + 1) * 18) as usize);
        for y in TABLE_FIRST_YEAR..=TABLE_LAST_YEAR {
            for h in holidays::lv_holidays(y) {
                m.entry(h.date).or_insert(h.name);
            }
        }
        m
    })
}

/// The built-in Latvian holiday name of `date`, if it is one.
fn lv_holiday_name(date: NaiveDate) -> Option<&'static str> {
    if (TABLE_FIRST_YEAR..=TABLE_LAST_YEAR).contains(&date.year()) {
        lv_table().get(&date).copied()
    } else {
        holidays::lv_holidays(date.year())
            .into_iter()
            .find(|h| h.date == date)
            .map(|h| h.name)
    }
}

fn weekday_name(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

impl Calendar {
    pub fn from_config(cfg: &CalendarConfig) -> Result<Calendar, CalendarError> {
        let tz: Tz = cfg.timezone;
        let lv = cfg.holidays == HolidaySet::Latvia;
        if !cfg.hours.any() {
            return Err(CalendarError::NoWorkingWeekday);
        }
        let mut transfer_off = HashMap::new();
        let mut transfer_sat = HashMap::new();
        if lv && cfg.cabinet_transfers {
            for t in holidays::cabinet_transfers() {
                transfer_off.insert(t.day_off, t.worked_saturday);
                transfer_sat.insert(t.worked_saturday, t.day_off);
            }
        }
        Ok(Calendar {
            tz,
            hours: cfg.hours.clone(),
            lv,
            shorten: cfg.shorten_before_holiday.0,
            extra_holidays: cfg.extra_holidays.iter().copied().collect(),
            extra_working: cfg.extra_working_days.iter().map(|e| (e.date, e.hours)).collect(),
            transfer_off,
            transfer_sat,
        })
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Whether `date` is a public holiday that shortens the day before it.
    fn is_public_holiday(&self, date: NaiveDate) -> bool {
        self.lv && !self.extra_working.contains_key(&date) && lv_holiday_name(date).is_some()
    }

    /// `hours` closed `shorten` earlier; `None` when nothing is left.
    fn shortened(&self, hours: TimeRange) -> Option<TimeRange> {
        let len = hours.close.signed_duration_since(hours.open);
        if len <= self.shorten {
            return None;
        }
        Some(TimeRange {
            open: hours.open,
            close: hours.close - self.shorten,
        })
    }

    /// The effective hours of `date` and why, without building any text:
    /// this is the hot path behind every time helper.
    fn classify(&self, date: NaiveDate) -> Class {
        let plain = |hours, why| Class {
            hours,
            why,
            shortened: false,
            vanished: false,
        };
        if let Some(&h) = self.extra_working.get(&date) {
            return plain(Some(h), Why::ExtraWorking);
        }
        if self.extra_holidays.contains(&date) {
            return plain(None, Why::ExtraHoliday);
        }
        if self.lv {
            if let Some(name) = lv_holiday_name(date) {
                return plain(None, Why::Holiday(name));
            }
        }
        if let Some(&sat) = self.transfer_off.get(&date) {
            return plain(None, Why::TransferOff(sat));
        }
        let before_holiday = |d: NaiveDate| d.succ_opt().is_some_and(|n| self.is_public_holiday(n));
        let (base, why, shorten) = if let Some(&off) = self.transfer_sat.get(&date) {
            match self.hours.for_weekday(off.weekday()) {
                Some(base) => (
                    base,
                    Why::TransferSat(off),
                    before_holiday(date) || before_holiday(off),
                ),
                None => return plain(None, Why::TransferSatNoHours(off)),
            }
        } else {
            match self.hours.for_weekday(date.weekday()) {
                Some(base) => (base, Why::Ordinary, before_holiday(date)),
                None => return plain(None, Why::NoHours(date.weekday())),
            }
        };
        if !shorten || self.shorten <= Duration::zero() {
            return plain(Some(base), why);
        }
        let hours = self.shortened(base);
        Class {
            hours,
            why,
            shortened: true,
            vanished: hours.is_none(),
        }
    }

    /// The effective working hours of `date`, `None` when it is not a
    /// working day.
    pub fn hours(&self, date: NaiveDate) -> Option<TimeRange> {
        self.classify(date).hours
    }

    /// What `date` is: working or not, effective hours, and why.
    pub fn day(&self, date: NaiveDate) -> DayInfo {
        let c = self.classify(date);
        let base: Option<String> = match c.why {
            Why::Ordinary => None,
            Why::ExtraWorking => Some("extra working day (config)".into()),
            Why::ExtraHoliday => Some("extra holiday (config)".into()),
            Why::Holiday(name) => Some(name.into()),
            Why::TransferOff(sat) => Some(format!("day off by Cabinet transfer (worked on Saturday {sat})")),
            Why::TransferSat(off) => Some(format!("worked Saturday by Cabinet transfer (instead of {off})")),
            Why::TransferSatNoHours(off) => Some(format!(
                "worked Saturday by Cabinet transfer (instead of {off}), but {} has no working hours",
                weekday_name(off.weekday())
            )),
            Why::NoHours(Weekday::Sat | Weekday::Sun) => Some("weekend".into()),
            Why::NoHours(wd) => Some(format!(
                "no working hours on {} (calendar.hours)",
                weekday_name(wd)
            )),
        };
        let reason = if c.shortened {
            let mut r = match base {
                Some(b) => format!("{b}; {SHORTENED}"),
                None => SHORTENED.to_string(),
            };
            if c.vanished {
                r.push_str(" (no working time left)");
            }
            Some(r)
        } else {
            base
        };
        DayInfo {
            date,
            working: c.hours.is_some(),
            hours: c.hours,
            reason,
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.classify(date).hours.is_some()
    }

    /// Every day from `from` to `to` inclusive (empty when `from > to`).
    pub fn days(&self, from: NaiveDate, to: NaiveDate) -> Vec<DayInfo> {
        from.iter_days()
            .take_while(|d| *d <= to)
            .map(|d| self.day(d))
            .collect()
    }

    /// The UTC instant of local `date` `time` (see the module doc for DST);
    /// e.g. the daily digest at `reminders.digest_at`.
    pub fn local_instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let mut ndt = date.and_time(time);
        // A DST gap is at most a few hours; walk forward minute by minute.
        for _ in 0..(24 * 60) {
            match self.tz.from_local_datetime(&ndt) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
                LocalResult::None => ndt += Duration::minutes(1),
            }
        }
        Utc.from_utc_datetime(&date.and_time(time))
    }

    /// Opening instant of `date`, `None` when it is not a working day.
    pub fn opening(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.hours(date).map(|h| self.local_instant(date, h.open))
    }

    /// Closing instant of `date` (after shortening), `None` when not working.
    pub fn closing(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.hours(date).map(|h| self.local_instant(date, h.close))
    }

    /// Opening and closing instants of `date`, if it is a working day.
    pub fn working_span(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.hours(date).map(|h| {
            (
                self.local_instant(date, h.open),
                self.local_instant(date, h.close),
            )
        })
    }

    pub fn to_local(&self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.tz)
    }

    /// The local calendar day of instant `t`.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        self.to_local(t).date_naive()
    }

    /// Whether `t` is within working hours (opening <= t < closing).
    pub fn is_working_time(&self, t: DateTime<Utc>) -> bool {
        self.working_span(self.local_date(t))
            .is_some_and(|(o, c)| o <= t && t < c)
    }

    /// `t` itself when it is working time, else the next opening. Gives
    /// `t + SEARCH_DAYS` days if no opening is found within that bound.
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let start = self.local_date(t);
        for date in start.iter_days().take(SEARCH_DAYS as usize + 1) {
            if let Some((o, c)) = self.working_span(date) {
                if o <= t && t < c {
                    return t;
                }
                if o > t {
                    return o;
                }
            }
        }
        t + Duration::days(SEARCH_DAYS)
    }

    /// `date` itself when it is a working day, else the next working day.
    pub fn next_working_day_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        date.iter_days()
            .take(SEARCH_DAYS as usize + 1)
            .find(|d| self.is_working_day(*d))
            .unwrap_or(date + Duration::days(SEARCH_DAYS))
    }

    /// The `n`-th working day after `date` (counting starts the next day;
    /// `date` itself never counts). `n = 0` gives
    /// [`next_working_day_on_or_after`](Self::next_working_day_on_or_after).
    pub fn nth_working_day_after(&self, date: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            return self.next_working_day_on_or_after(date);
        }
        let mut cur = date;
        for _ in 0..n {
            let from = cur.succ_opt().unwrap_or(cur);
            cur = self.next_working_day_on_or_after(from);
        }
        cur
    }

    /// Working time from `a` to `b`: only the calendar's working hours count
    /// (nights, weekends, holidays and the shortened part of a day do not).
    /// Zero when `b <= a`. Bounded by [`SEARCH_DAYS`] days of walking.
    pub fn working_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        if b <= a {
            return Duration::zero();
        }
        let mut total = Duration::zero();
        let last = self.local_date(b);
        for date in self.local_date(a).iter_days().take(SEARCH_DAYS as usize + 1) {
            if date > last {
                break;
            }
            if let Some((open, close)) = self.working_span(date) {
                let from = open.max(a);
                let to = close.min(b);
                if to > from {
                    total += to - from;
                }
            }
        }
        total
    }

    /// The instant `d` of working time before `t`: walks back through
    /// working hours only (nights, weekends and holidays do not count).
    /// When the result falls on an opening it is that opening (not the
    /// previous closing). `d <= 0` gives `t`.
    pub fn subtract_working_time(&self, t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        if d <= Duration::zero() {
            return t;
        }
        let mut remaining = d;
        let mut date = self.local_date(t);
        for _ in 0..=SEARCH_DAYS {
            if let Some((open, close)) = self.working_span(date) {
                let end = close.min(t);
                if end > open {
                    let avail = end - open;
                    if avail >= remaining {
                        return end - remaining;
                    }
                    remaining -= avail;
                }
            }
            match date.pred_opt() {
                Some(p) => date = p,
                None => break,
            }
        }
        t - Duration::days(SEARCH_DAYS)
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // tests tweak one field at a time
mod tests {
    use super::*;
    use crate::config::{ExtraWorkingDay, HumanDuration};
    use std::collections::BTreeSet;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn tr(s: &str) -> TimeRange {
        TimeRange::parse(s).unwrap()
    }
    fn default_cal() -> Calendar {
        Calendar::from_config(&CalendarConfig::default()).unwrap()
    }

    #[test]
    fn working_time_between_counts_only_working_hours() {
        let cal = default_cal();
        let h = |x: f64| Duration::seconds((x * 3600.0) as i64);
        let rows = [
            // same day, inside hours (Tue 17 Nov 2026 is shortened: 9-16)
            ("2026-11-16T10:00:00+02:00", "2026-11-16T12:30:00+02:00", h(2.5)),
            // Mon 17:00 → Tue 10:00: 1 h Monday + 1 h Tuesday
            ("2026-11-16T17:00:00+02:00", "2026-11-17T10:00:00+02:00", h(2.0)),
            // Fri 15:00 → Mon 10:00 across the weekend: 1 h + 1 h
            ("2026-11-13T15:00:00+02:00", "2026-11-16T10:00:00+02:00", h(2.0)),
            // Tue 17 Nov (shortened to 16:00) 15:00 → Thu 19 Nov 10:00; 18 Nov is a holiday
            ("2026-11-17T15:00:00+02:00", "2026-11-19T10:00:00+02:00", h(2.0)),
            // received on Saturday, answered Monday 09:30
            ("2026-11-21T11:00:00+02:00", "2026-11-23T09:30:00+02:00", h(0.5)),
            // reversed: zero
            ("2026-11-23T09:30:00+02:00", "2026-11-21T11:00:00+02:00", h(0.0)),
        ];
        for (a, b, want) in rows {
            assert_eq!(cal.working_time_between(utc(a), utc(b)), want, "{a} → {b}");
        }
    }
    fn dates(list: &[&str]) -> BTreeSet<NaiveDate> {
        list.iter().map(|s| date(s)).collect()
    }
    fn year_days(cal: &Calendar, year: i32) -> Vec<DayInfo> {
        cal.days(date(&format!("{year}-01-01")), date(&format!("{year}-12-31")))
    }
    fn is_weekend(d: NaiveDate) -> bool {
        matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// Non-working weekdays per year, typed from the published Latvian
    /// working-time calendars for state institutions (holidays, Monday days
    /// off, Cabinet transfers).
    const OFF_WEEKDAYS: &[(i32, &[&str])] = &[
        (
            2025,
            &[
                "2025-01-01",
                "2025-04-18",
                "2025-04-21",
                "2025-05-01",
                "2025-05-02",
                "2025-05-05",
                "2025-06-23",
                "2025-06-24",
                "2025-11-17",
                "2025-11-18",
                "2025-12-24",
                "2025-12-25",
                "2025-12-26",
                "2025-12-31",
            ],
        ),
        (
            2026,
            &[
                "2026-01-01",
                "2026-01-02",
                "2026-04-03",
                "2026-04-06",
                "2026-05-01",
                "2026-05-04",
                "2026-06-22",
                "2026-06-23",
                "2026-06-24",
                "2026-11-18",
                "2026-12-24",
                "2026-12-25",
                "2026-12-31",
            ],
        ),
        (
            2027,
            &[
                "2027-01-01",
                "2027-03-26",
                "2027-03-29",
                "2027-05-04",
                "2027-06-23",
                "2027-06-24",
                "2027-11-18",
                "2027-12-24",
                "2027-12-31",
            ],
        ),
        (
            2028,
            &[
                "2028-04-14",
                "2028-04-17",
                "2028-05-01",
                "2028-05-04",
                "2028-06-23",
                "2028-11-20",
                "2028-12-25",
                "2028-12-26",
            ],
        ),
    ];

    /// Worked Saturdays per year (Cabinet transfers).
    const WORKED_WEEKEND: &[(i32, &[&str])] = &[
        (2024, &["2024-12-14", "2024-12-28"]),
        (2025, &["2025-05-10", "2025-11-08"]),
        (2026, &["2026-01-17", "2026-06-27"]),
        (2027, &[]),
        (2028, &[]),
    ];

    /// Shortened days per year.
    const SHORTENED_DAYS: &[(i32, &[&str])] = &[
        (
            2025,
            &[
                "2025-04-17",
                "2025-04-30",
                "2025-05-10",
                "2025-11-08",
                "2025-12-23",
                "2025-12-30",
            ],
        ),
        (
            2026,
            &[
                "2026-04-02",
                "2026-04-30",
                "2026-06-27",
                "2026-11-17",
                "2026-12-23",
                "2026-12-30",
            ],
        ),
        (
            2027,
            &[
                "2027-03-25",
                "2027-04-30",
                "2027-05-03",
                "2027-06-22",
                "2027-11-17",
                "2027-12-23",
                "2027-12-30",
            ],
        ),
    ];

    #[test]
    fn non_working_weekdays_match_published_calendars() {
        let cal = default_cal();
        for (year, want) in OFF_WEEKDAYS {
            let got: BTreeSet<NaiveDate> = year_days(&cal, *year)
                .into_iter()
                .filter(|d| !is_weekend(d.date) && !d.working)
                .map(|d| d.date)
                .collect();
            assert_eq!(got, dates(want), "non-working weekdays of {year}");
        }
    }

    #[test]
    fn worked_weekend_days_match_transfers() {
        let cal = default_cal();
        for (year, want) in WORKED_WEEKEND {
            let got: BTreeSet<NaiveDate> = year_days(&cal, *year)
                .into_iter()
                .filter(|d| is_weekend(d.date) && d.working)
                .map(|d| d.date)
                .collect();
            assert_eq!(got, dates(want), "worked weekend days of {year}");
        }
    }

    #[test]
    fn shortened_days_match() {
        let cal = default_cal();
        for (year, want) in SHORTENED_DAYS {
            let got: BTreeSet<NaiveDate> = year_days(&cal, *year)
                .into_iter()
                .filter(|d| d.reason.as_deref().is_some_and(|r| r.contains(SHORTENED)))
                .map(|d| d.date)
                .collect();
            assert_eq!(got, dates(want), "shortened days of {year}");
            // And every shortened day really closes an hour early.
            for d in &got {
                let info = cal.day(*d);
                assert!(info.working, "{d}");
                let h = info.hours.unwrap();
                let wd = match cal.transfer_sat.get(d) {
                    Some(off) => off.weekday(),
                    None => d.weekday(),
                };
                let normal = WeekHours::default().for_weekday(wd).unwrap();
                assert_eq!(h.open, normal.open, "{d}");
                assert_eq!(normal.close - h.close, Duration::hours(1), "{d}");
            }
        }
    }

    #[test]
    fn easter_dates() {
        for (y, s) in [
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2028, "2028-04-16"),
        ] {
            assert_eq!(holidays::easter_sunday(y), date(s));
            assert_eq!(
                default_cal().day(date(s)).reason.as_deref(),
                Some(holidays::EASTER)
            );
        }
    }

    #[test]
    fn day_reasons_and_hours() {
        let cal = default_cal();
        let cases: &[(&str, bool, Option<&str>, Option<&str>)] = &[
            ("2026-11-16", true, Some("09:00-18:00"), None),
            ("2026-11-17", true, Some("09:00-16:00"), Some(SHORTENED)),
            ("2026-11-18", false, None, Some(holidays::PROCLAMATION_DAY)),
            ("2026-11-20", true, Some("09:00-16:00"), None),
            ("2026-11-21", false, None, Some("weekend")),
            ("2026-06-22", false, None, Some("day off by Cabinet transfer (worked on Saturday 2026-06-27)")),
            (
                "2026-06-27",
                true,
                Some("09:00-17:00"),
                Some("worked Saturday by Cabinet transfer (instead of 2026-06-22); shortened: day before a public holiday"),
            ),
            ("2026-01-17", true, Some("09:00-16:00"), Some("worked Saturday by Cabinet transfer (instead of 2026-01-02)")),
            ("2024-12-14", true, Some("09:00-17:00"), Some("worked Saturday by Cabinet transfer (instead of 2024-12-23); shortened: day before a public holiday")),
            ("2024-12-28", true, Some("09:00-17:00"), Some("worked Saturday by Cabinet transfer (instead of 2024-12-30); shortened: day before a public holiday")),
            ("2025-11-08", true, Some("09:00-17:00"), Some("worked Saturday by Cabinet transfer (instead of 2025-11-17); shortened: day before a public holiday")),
            ("2025-05-10", true, Some("09:00-15:00"), Some("worked Saturday by Cabinet transfer (instead of 2025-05-02); shortened: day before a public holiday")),
            ("2025-05-05", false, None, Some(holidays::RESTORATION_DAY_OFF)),
            ("2024-12-20", true, Some("09:00-16:00"), None),
        ];
        for (d, working, hours, reason) in cases {
            let info = cal.day(date(d));
            assert_eq!(info.working, *working, "{d}");
            assert_eq!(info.hours.map(|h| h.to_string()).as_deref(), *hours, "{d}");
            assert_eq!(info.reason.as_deref(), *reason, "{d}");
        }
    }

    #[test]
    fn config_overrides() {
        let mut cfg = CalendarConfig::default();
        cfg.extra_holidays = vec![date("2026-11-20"), date("2027-01-04")];
        cfg.extra_working_days = vec![
            ExtraWorkingDay {
                date: date("2027-01-09"),
                hours: tr("10:00-14:00"),
            },
            // Overrides a holiday too.
            ExtraWorkingDay {
                date: date("2026-12-31"),
                hours: tr("09:00-12:00"),
            },
        ];
        let cal = Calendar::from_config(&cfg).unwrap();
        let f = cal.day(date("2026-11-20"));
        assert!(!f.working);
        assert_eq!(f.reason.as_deref(), Some("extra holiday (config)"));
        let s = cal.day(date("2027-01-09"));
        assert!(s.working);
        assert_eq!(s.hours, Some(tr("10:00-14:00")));
        assert_eq!(s.reason.as_deref(), Some("extra working day (config)"));
        // An extra holiday does not shorten the day before it.
        assert_eq!(cal.day(date("2026-11-19")).hours, Some(tr("09:00-17:00")));
        // 31 Dec is worked, so 30 Dec is not a day before a holiday any more.
        assert_eq!(cal.day(date("2026-12-30")).hours, Some(tr("09:00-17:00")));
        assert!(cal.day(date("2026-12-31")).working);
        assert_eq!(
            cal.nth_working_day_after(date("2027-01-01"), 2),
            date("2027-01-06")
        );
    }

    #[test]
    fn transfers_off_and_no_holidays() {
        let mut cfg = CalendarConfig::default();
        cfg.cabinet_transfers = false;
        let cal = Calendar::from_config(&cfg).unwrap();
        assert!(cal.day(date("2026-06-22")).working);
        // Now 22 Jun is itself the day before Līgo.
        assert_eq!(cal.day(date("2026-06-22")).hours, Some(tr("09:00-17:00")));
        assert!(!cal.day(date("2026-06-27")).working);

        let mut cfg = CalendarConfig::default();
        cfg.holidays = HolidaySet::None;
        let cal = Calendar::from_config(&cfg).unwrap();
        let d = cal.day(date("2026-11-18"));
        assert!(d.working);
        assert_eq!(d.reason, None);
        assert_eq!(cal.day(date("2026-11-17")).hours, Some(tr("09:00-17:00")));
        assert!(cal.day(date("2026-06-22")).working);
        assert!(!cal.day(date("2026-06-27")).working);
    }

    #[test]
    fn no_shortening_when_zero() {
        let mut cfg = CalendarConfig::default();
        cfg.shorten_before_holiday = HumanDuration(Duration::zero());
        let cal = Calendar::from_config(&cfg).unwrap();
        let d = cal.day(date("2026-11-17"));
        assert_eq!(d.hours, Some(tr("09:00-17:00")));
        assert_eq!(d.reason, None);
    }

    #[test]
    fn shortening_to_nothing_makes_a_day_off() {
        let mut cfg = CalendarConfig::default();
        cfg.shorten_before_holiday = HumanDuration(Duration::hours(8));
        let cal = Calendar::from_config(&cfg).unwrap();
        // Tue 9-17 is 8h: nothing left.
        let d = cal.day(date("2026-11-17"));
        assert!(!d.working);
        assert!(d.reason.unwrap().contains("no working time left"));
        // Mon 9-18 keeps one hour.
        assert_eq!(cal.day(date("2027-05-03")).hours, Some(tr("09:00-10:00")));
    }

    #[test]
    fn config_errors() {
        // An unknown time zone or holiday set cannot reach the calendar:
        // the config refuses it when read (config::time, config::calendar).
        let mut cfg = CalendarConfig::default();
        cfg.hours = WeekHours {
            monday: None,
            tuesday: None,
            wednesday: None,
            thursday: None,
            friday: None,
            saturday: None,
            sunday: None,
        };
        assert_eq!(
            Calendar::from_config(&cfg).unwrap_err(),
            CalendarError::NoWorkingWeekday
        );

        // Other zones are accepted.
        let mut cfg = CalendarConfig::default();
        cfg.timezone = chrono_tz::Europe::Tallinn;
        assert_eq!(
            Calendar::from_config(&cfg).unwrap().tz(),
            chrono_tz::Europe::Tallinn
        );
    }

    #[test]
    fn weekday_without_hours_is_not_working() {
        let mut cfg = CalendarConfig::default();
        cfg.hours.wednesday = None;
        let cal = Calendar::from_config(&cfg).unwrap();
        let d = cal.day(date("2026-11-25"));
        assert!(!d.working);
        assert_eq!(
            d.reason.as_deref(),
            Some("no working hours on Wednesday (calendar.hours)")
        );
    }

    #[test]
    fn opening_and_closing_across_dst() {
        let cal = default_cal();
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            // Winter time (UTC+2).
            (
                "2026-03-27",
                Some(("2026-03-27T07:00:00Z", "2026-03-27T14:00:00Z")),
            ),
            ("2026-03-28", None),
            ("2026-03-29", None), // DST starts
            // Summer time (UTC+3).
            (
                "2026-03-30",
                Some(("2026-03-30T06:00:00Z", "2026-03-30T15:00:00Z")),
            ),
            (
                "2026-03-31",
                Some(("2026-03-31T06:00:00Z", "2026-03-31T14:00:00Z")),
            ),
            (
                "2026-10-23",
                Some(("2026-10-23T06:00:00Z", "2026-10-23T13:00:00Z")),
            ),
            ("2026-10-25", None), // DST ends
            (
                "2026-10-26",
                Some(("2026-10-26T07:00:00Z", "2026-10-26T16:00:00Z")),
            ),
            (
                "2026-10-27",
                Some(("2026-10-27T07:00:00Z", "2026-10-27T15:00:00Z")),
            ),
            // Shortened day in winter: 9-16 local.
            (
                "2026-11-17",
                Some(("2026-11-17T07:00:00Z", "2026-11-17T14:00:00Z")),
            ),
            // Worked Saturday in summer, 9-17.
            (
                "2026-06-27",
                Some(("2026-06-27T06:00:00Z", "2026-06-27T14:00:00Z")),
            ),
        ];
        for (d, want) in cases {
            let got = cal.opening(date(d)).zip(cal.closing(date(d)));
            assert_eq!(got, want.map(|(o, c)| (utc(o), utc(c))), "{d}");
        }
    }

    #[test]
    fn hours_on_the_switch_days_themselves() {
        let mut cfg = CalendarConfig::default();
        cfg.hours.sunday = Some(tr("02:00-05:00"));
        let cal = Calendar::from_config(&cfg).unwrap();
        // Spring: 02:00 EET = 00:00Z, 05:00 EEST = 02:00Z (only 2 real hours).
        assert_eq!(cal.opening(date("2026-03-29")), Some(utc("2026-03-29T00:00:00Z")));
        assert_eq!(cal.closing(date("2026-03-29")), Some(utc("2026-03-29T02:00:00Z")));
        // Autumn: 02:00 EEST = 23:00Z the day before, 05:00 EET = 03:00Z.
        assert_eq!(cal.opening(date("2026-10-25")), Some(utc("2026-10-24T23:00:00Z")));
        assert_eq!(cal.closing(date("2026-10-25")), Some(utc("2026-10-25T03:00:00Z")));
        // Nonexistent 03:30 moves to 04:00 EEST; ambiguous 03:30 takes EEST.
        cfg.hours.sunday = Some(tr("03:30-06:00"));
        let cal = Calendar::from_config(&cfg).unwrap();
        assert_eq!(cal.opening(date("2026-03-29")), Some(utc("2026-03-29T01:00:00Z")));
        assert_eq!(cal.opening(date("2026-10-25")), Some(utc("2026-10-25T00:30:00Z")));
    }

    #[test]
    fn working_time_and_next_opening() {
        let cal = default_cal();
        let cases: &[(&str, bool, &str)] = &[
            // (t, is working time, next opening)
            ("2026-11-16T07:00:00Z", true, "2026-11-16T07:00:00Z"), // Mon 09:00 opening
            ("2026-11-16T06:59:59Z", false, "2026-11-16T07:00:00Z"),
            ("2026-11-16T15:59:59Z", true, "2026-11-16T15:59:59Z"),
            ("2026-11-16T16:00:00Z", false, "2026-11-17T07:00:00Z"), // Mon 18:00 closing
            ("2026-11-17T14:00:00Z", false, "2026-11-19T07:00:00Z"), // shortened Tue 16:00, Wed holiday
            ("2026-11-20T14:00:00Z", false, "2026-11-23T07:00:00Z"), // Fri closing -> Mon
            ("2026-11-21T12:00:00Z", false, "2026-11-23T07:00:00Z"), // Saturday
            ("2026-06-26T20:00:00Z", false, "2026-06-27T06:00:00Z"), // worked Saturday
            ("2026-12-23T14:00:00Z", false, "2026-12-28T07:00:00Z"), // Christmas
            ("2026-03-28T12:00:00Z", false, "2026-03-30T06:00:00Z"), // across DST
        ];
        for (t, working, next) in cases {
            assert_eq!(cal.is_working_time(utc(t)), *working, "{t}");
            assert_eq!(cal.next_opening(utc(t)), utc(next), "{t}");
        }
    }

    #[test]
    fn working_day_counting() {
        let cal = default_cal();
        let cases: &[(&str, u32, &str)] = &[
            ("2026-11-16", 2, "2026-11-19"), // Wed 18 Nov is a holiday
            ("2026-11-09", 2, "2026-11-11"),
            ("2026-11-17", 2, "2026-11-20"),
            ("2026-11-20", 2, "2026-11-24"),
            ("2026-11-21", 2, "2026-11-24"),
            ("2026-06-19", 1, "2026-06-25"), // 22 transferred, 23-24 holidays
            ("2026-06-25", 2, "2026-06-27"), // worked Saturday counts
            ("2026-12-23", 1, "2026-12-28"),
            ("2026-12-23", 3, "2026-12-30"),
            ("2026-11-18", 0, "2026-11-19"),
            ("2026-11-19", 0, "2026-11-19"),
        ];
        for (d, n, want) in cases {
            assert_eq!(cal.nth_working_day_after(date(d), *n), date(want), "{d} + {n}");
        }
        assert_eq!(
            cal.next_working_day_on_or_after(date("2026-12-24")),
            date("2026-12-28")
        );
        assert_eq!(
            cal.next_working_day_on_or_after(date("2026-06-22")),
            date("2026-06-25")
        );
    }

    #[test]
    fn subtract_working_time_cases() {
        let cal = default_cal();
        let h = Duration::hours;
        let cases: &[(&str, Duration, &str)] = &[
            // Same day: Wed 17:00 - 4h = Wed 13:00 (local +02:00).
            ("2026-11-25T17:00:00+02:00", h(4), "2026-11-25T13:00:00+02:00"),
            // Across a night: Wed 10:00 - 4h = Tue 14:00 (Wed 9-10, Tue 14-17).
            ("2026-11-25T10:00:00+02:00", h(4), "2026-11-24T14:00:00+02:00"),
            // Exactly to the opening.
            ("2026-11-25T13:00:00+02:00", h(4), "2026-11-25T09:00:00+02:00"),
            // Across a weekend: Mon 10:00 - 4h = Fri 13:00.
            ("2026-11-23T10:00:00+02:00", h(4), "2026-11-20T13:00:00+02:00"),
            // Across a holiday to a shortened day: Thu 10:00 - 4h = Tue 13:00 (Tue 9-16).
            ("2026-11-19T10:00:00+02:00", h(4), "2026-11-17T13:00:00+02:00"),
            // From outside working hours (Saturday) counts from Friday closing.
            ("2026-11-21T12:00:00+02:00", h(4), "2026-11-20T12:00:00+02:00"),
            // Across the DST end: Mon 26 Oct 10:00 EET - 4h = Fri 23 Oct 13:00 EEST.
            ("2026-10-26T10:00:00+02:00", h(4), "2026-10-23T13:00:00+03:00"),
            // More than a day of working time: Thu 17:00 - 16h = Wed 09:00.
            ("2026-11-26T17:00:00+02:00", h(16), "2026-11-25T09:00:00+02:00"),
            // Zero.
            ("2026-11-21T12:00:00+02:00", h(0), "2026-11-21T12:00:00+02:00"),
            // Across the Christmas holidays: Mon 28 Dec 10:00 - 2h = Wed 23 Dec 15:00 (9-16).
            ("2026-12-28T10:00:00+02:00", h(2), "2026-12-23T15:00:00+02:00"),
        ];
        for (t, d, want) in cases {
            assert_eq!(cal.subtract_working_time(utc(t), *d), utc(want), "{t} - {d}");
        }
    }

    /// Cross-check of `subtract_working_time` by brute force: for every
    /// closing time and every opening+1h of 2026, walking back 4h and 10h
    /// must land on working time and leave exactly that much working time
    /// (counted in quarter hours with `is_working_time`) before `t`.
    #[test]
    fn subtract_working_time_brute_force_2026() {
        let cal = default_cal();
        let q = Duration::minutes(15);
        for day in cal.days(date("2026-01-01"), date("2026-12-31")) {
            let Some((open, close)) = cal.working_span(day.date) else {
                continue;
            };
            for t in [close, open + Duration::hours(1)] {
                for d in [Duration::hours(4), Duration::hours(10)] {
                    let r = cal.subtract_working_time(t, d);
                    assert!(cal.is_working_time(r), "{t} - {d} = {r} is not working time");
                    let mut n = 0;
                    let mut x = r;
                    while x < t {
                        if cal.is_working_time(x) {
                            n += 1;
                        }
                        x += q;
                    }
                    assert_eq!(q * n, d, "{t} - {d} = {r}");
                }
            }
        }
    }

    #[test]
    fn local_date_and_to_local() {
        let cal = default_cal();
        assert_eq!(cal.local_date(utc("2026-11-17T22:30:00Z")), date("2026-11-18"));
        assert_eq!(cal.local_date(utc("2026-07-17T21:00:00Z")), date("2026-07-18"));
        assert_eq!(cal.local_date(utc("2026-07-17T20:59:59Z")), date("2026-07-17"));
        assert_eq!(
            cal.to_local(utc("2026-11-17T08:00:00Z")).to_rfc3339(),
            "2026-11-17T10:00:00+02:00"
        );
    }

    #[test]
    fn far_years_outside_the_table() {
        let cal = default_cal();
        // 18 Nov 2300 is a Sunday -> Monday 19 Nov off; computed on the fly.
        assert_eq!(date("2300-11-18").weekday(), Weekday::Sun);
        assert!(!cal.is_working_day(date("2300-11-19")));
        assert!(!cal.is_working_day(date("2300-01-01")));
    }
}
