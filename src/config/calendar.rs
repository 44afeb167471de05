//! `[calendar]`: the working calendar — time zone, public holidays, the
//! institution's own closures and extra working days, and weekday hours.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use super::duration::HumanDuration;
use super::problem::Checker;
use super::time::{de_date, de_dates, de_timezone, TimeRange};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// Parsed when the file is read: an unknown name refuses the file.
    #[serde(default = "default_tz", deserialize_with = "de_timezone")]
    pub timezone: Tz,
    #[serde(default)]
    pub holidays: HolidaySet,
    #[serde(default = "default_shorten")]
    pub shorten_before_holiday: HumanDuration,
    #[serde(default = "default_true")]
    pub cabinet_transfers: bool,
    #[serde(default, deserialize_with = "de_dates")]
    pub extra_holidays: Vec<NaiveDate>,
    #[serde(default)]
    pub extra_working_days: Vec<ExtraWorkingDay>,
    #[serde(default)]
    pub hours: WeekHours,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        CalendarConfig {
            timezone: default_tz(),
            holidays: HolidaySet::default(),
            shorten_before_holiday: default_shorten(),
            cabinet_transfers: true,
            extra_holidays: vec![],
            extra_working_days: vec![],
            hours: WeekHours::default(),
        }
    }
}

fn default_tz() -> Tz {
    chrono_tz::Europe::Riga
}
fn default_shorten() -> HumanDuration {
    HumanDuration(chrono::Duration::hours(1))
}
fn default_true() -> bool {
    true
}

/// `calendar.holidays`: which public holidays the calendar knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HolidaySet {
    /// `"LV"`: Latvian public holidays (and the Cabinet's transfers).
    #[default]
    Latvia,
    /// `"none"`: only `extra_holidays`.
    None,
}

impl HolidaySet {
    pub fn parse(s: &str) -> Result<HolidaySet, String> {
        match s {
            "LV" => Ok(HolidaySet::Latvia),
            "none" => Ok(HolidaySet::None),
            _ => Err(format!(
                "unknown holiday set \"{s}\": use \"LV\" (Latvian public holidays) or \"none\""
            )),
        }
    }
}

impl std::fmt::Display for HolidaySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HolidaySet::Latvia => "LV",
            HolidaySet::None => "none",
        })
    }
}

impl<'de> Deserialize<'de> for HolidaySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HolidaySet::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraWorkingDay {
    #[serde(deserialize_with = "de_date")]
    pub date: NaiveDate,
    pub hours: TimeRange,
}

/// Working hours per weekday; a weekday that is absent is not a working day.
/// When the `[calendar.hours]` table is given, it replaces the defaults whole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekHours {
    #[serde(default)]
    pub monday: Option<TimeRange>,
    #[serde(default)]
    pub tuesday: Option<TimeRange>,
    #[serde(default)]
    pub wednesday: Option<TimeRange>,
    #[serde(default)]
    pub thursday: Option<TimeRange>,
    #[serde(default)]
    pub friday: Option<TimeRange>,
    #[serde(default)]
    pub saturday: Option<TimeRange>,
    #[serde(default)]
    pub sunday: Option<TimeRange>,
}

impl Default for WeekHours {
    fn default() -> Self {
        let r = |a: &str| TimeRange::parse(a).ok();
        WeekHours {
            monday: r("09:00-18:00"),
            tuesday: r("09:00-17:00"),
            wednesday: r("09:00-17:00"),
            thursday: r("09:00-17:00"),
            friday: r("09:00-16:00"),
            saturday: None,
            sunday: None,
        }
    }
}

impl WeekHours {
    /// Hours for a weekday (Monday = 0 .. Sunday = 6).
    pub fn for_weekday(&self, wd: chrono::Weekday) -> Option<TimeRange> {
        use chrono::Weekday::*;
        match wd {
            Mon => self.monday,
            Tue => self.tuesday,
            Wed => self.wednesday,
            Thu => self.thursday,
            Fri => self.friday,
            Sat => self.saturday,
            Sun => self.sunday,
        }
    }

    /// True when at least one weekday has working hours.
    pub fn any(&self) -> bool {
        [
            self.monday,
            self.tuesday,
            self.wednesday,
            self.thursday,
            self.friday,
            self.saturday,
            self.sunday,
        ]
        .iter()
        .any(Option::is_some)
    }
}

impl CalendarConfig {
    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        if self.shorten_before_holiday.0 >= chrono::Duration::hours(8) {
            c.warn(
                "calendar.shorten_before_holiday",
                "shortens the day before a holiday by 8 hours or more: the Labour Law's figure is \"1h\"",
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, d) in self.extra_holidays.iter().enumerate() {
            if !seen.insert(*d) {
                c.error(
                    &format!("calendar.extra_holidays[{i}]"),
                    format!("{d} is listed twice"),
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, w) in self.extra_working_days.iter().enumerate() {
            let key = format!("calendar.extra_working_days[{i}].date");
            if !seen.insert(w.date) {
                c.error(
                    &key,
                    format!("{} is listed twice in [[calendar.extra_working_days]]", w.date),
                );
            }
            if self.extra_holidays.contains(&w.date) {
                c.error(
                    &key,
                    format!(
                        "{} is both an extra holiday and an extra working day: keep one",
                        w.date
                    ),
                );
            }
        }
        if !self.hours.any() {
            c.error(
                "calendar.hours",
                "no weekday has working hours: give at least one, e.g. monday = \"09:00-17:00\"",
            );
        }
    }
}
