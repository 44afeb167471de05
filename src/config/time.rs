//! Times and dates as the file writes them, each parsed once into the type
//! the rest of the code uses: working hours (`"09:00-17:00"`), a time of day
//! (`"09:15"`), dates (`2027-01-09` or `"2027-01-09"`), the IANA time zone,
//! and `reply.start_from` (a date or an instant).

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

/// Opening and closing time of a working day: `"09:00-17:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub open: NaiveTime,
    pub close: NaiveTime,
}

impl TimeRange {
    pub fn parse(s: &str) -> Result<Self, String> {
        let err =
            || format!("expected working hours as \"HH:MM-HH:MM\" (e.g. \"09:00-17:00\"), found \"{s}\"");
        let (a, b) = s.split_once('-').ok_or_else(err)?;
        let open = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| err())?;
        let close = NaiveTime::parse_from_str(b.trim(), "%H:%M").map_err(|_| err())?;
        if close <= open {
            return Err(format!("working hours \"{s}\" close before they open: the closing time must be later than the opening time"));
        }
        Ok(TimeRange { open, close })
    }
}

impl std::fmt::Display for TimeRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.open.format("%H:%M"), self.close.format("%H:%M"))
    }
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TimeRange;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("working hours in quotes as \"HH:MM-HH:MM\" (e.g. \"09:00-17:00\")")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<TimeRange, E> {
                TimeRange::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A time of day written exactly as `"HH:MM"` (`"9:15"` is refused so that
/// the file reads the same everywhere).
pub fn parse_time_of_day(s: &str) -> Result<NaiveTime, String> {
    let t = s.trim();
    let err = || format!("expected a time of day as \"HH:MM\" (e.g. \"09:15\"), found \"{s}\"");
    if t.len() != 5 {
        return Err(err());
    }
    NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| err())
}

pub(super) fn de_time_of_day<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let s = String::deserialize(d)?;
    parse_time_of_day(&s).map_err(serde::de::Error::custom)
}

/// An IANA time zone name such as `"Europe/Riga"`; an unknown name is an
/// error, never a silent fallback.
pub fn parse_timezone(s: &str) -> Result<Tz, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("unknown time zone \"{s}\": use an IANA name such as \"Europe/Riga\""))
}

pub(super) fn de_timezone<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let s = String::deserialize(d)?;
    parse_timezone(&s).map_err(serde::de::Error::custom)
}

/// A date written either as a TOML date (`2027-01-09`) or as a string
/// (`"2027-01-09"`): admins write both.
pub(super) fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = NaiveDate;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a date as YYYY-MM-DD, e.g. 2027-01-09")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<NaiveDate, E> {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                E::custom(format!(
                    "expected a date as YYYY-MM-DD (e.g. \"2027-01-09\"), found \"{s}\""
                ))
            })
        }
        // toml hands its own date values over as a one-entry map.
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<NaiveDate, A::Error> {
            let Some((_, v)) = m.next_entry::<String, String>()? else {
                return Err(serde::de::Error::custom(
                    "expected a date as YYYY-MM-DD, e.g. 2027-01-09",
                ));
            };
            self.visit_str(&v)
        }
    }
    d.deserialize_any(V)
}

pub(super) fn de_dates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "de_date")] NaiveDate);
    Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
}

/// `reply.start_from`: a date (local midnight in the calendar's time zone)
/// or an RFC 3339 instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

impl StartFrom {
    pub fn parse(s: &str) -> Result<StartFrom, String> {
        let t = s.trim();
        if let Ok(i) = DateTime::parse_from_rfc3339(t) {
            return Ok(StartFrom::Instant(i.with_timezone(&Utc)));
        }
        if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            return Ok(StartFrom::Date(d));
        }
        Err(format!(
            "expected a date \"YYYY-MM-DD\" (e.g. \"2026-12-01\") or an RFC 3339 instant (e.g. \"2026-12-01T09:00:00+02:00\"), found \"{s}\""
        ))
    }

    /// The instant: a date is the first instant of that day in `tz`.
    pub fn at(self, tz: Tz) -> Result<DateTime<Utc>, String> {
        let d = match self {
            StartFrom::Instant(i) => return Ok(i),
            StartFrom::Date(d) => d,
        };
        let midnight = d.and_time(NaiveTime::MIN);
        // Midnight can fall in a DST gap in some zones: take the first
        // instant of the day that exists.
        let local = tz.from_local_datetime(&midnight).earliest().or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        });
        local
            .map(|l| l.with_timezone(&Utc))
            .ok_or_else(|| format!("the start of {d} does not exist in {tz}"))
    }
}

/// Parse `reply.start_from`: a `YYYY-MM-DD` date (local midnight in `tz`) or
/// an RFC 3339 instant.
pub fn parse_start_from(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    StartFrom::parse(s)?.at(tz)
}

/// Text, or a TOML date/datetime taken as its text, parsed as [`StartFrom`].
pub(super) fn de_start_from<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StartFrom>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = StartFrom;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a date (YYYY-MM-DD) or an RFC 3339 instant")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<StartFrom, E> {
            StartFrom::parse(s).map_err(E::custom)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<StartFrom, A::Error> {
            match m.next_entry::<String, String>()? {
                Some((_, v)) => self.visit_str(&v),
                None => Err(serde::de::Error::custom(
                    "expected a date (YYYY-MM-DD) or an RFC 3339 instant",
                )),
            }
        }
    }
    d.deserialize_any(V).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_range_table() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        type Hm = (u32, u32);
        let ok: &[(&str, Hm, Hm)] = &[
            ("09:00-17:00", (9, 0), (17, 0)),
            ("09:00 - 18:00", (9, 0), (18, 0)),
            ("00:00-23:59", (0, 0), (23, 59)),
            ("8:30-16:15", (8, 30), (16, 15)),
        ];
        for (s, a, b) in ok {
            let r = TimeRange::parse(s).unwrap();
            assert_eq!((r.open, r.close), (t(a.0, a.1), t(b.0, b.1)), "{s:?}");
        }
        assert_eq!(
            TimeRange::parse("09:00-17:00").unwrap().to_string(),
            "09:00-17:00"
        );
        let bad: &[(&str, &str)] = &[
            ("17:00-09:00", "close before they open"),
            ("09:00-09:00", "close before they open"),
            ("9-5", "HH:MM-HH:MM"),
            ("09:00", "HH:MM-HH:MM"),
            ("25:00-26:00", "HH:MM-HH:MM"),
            ("09:00-17:60", "HH:MM-HH:MM"),
            ("", "HH:MM-HH:MM"),
        ];
        for (s, want) in bad {
            let e = TimeRange::parse(s).unwrap_err();
            assert!(e.contains(want), "{s:?}: {e}");
        }
    }

    #[test]
    fn time_of_day_table() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(parse_time_of_day("09:15"), Ok(t(9, 15)));
        assert_eq!(parse_time_of_day(" 23:59 "), Ok(t(23, 59)));
        for bad in ["9:15", "24:00", "09:60", "soon", "", "09:15:00"] {
            let e = parse_time_of_day(bad).unwrap_err();
            assert!(e.contains("HH:MM"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn unknown_time_zone_is_an_error() {
        assert_eq!(parse_timezone("Europe/Riga"), Ok(chrono_tz::Europe::Riga));
        assert_eq!(parse_timezone(" Europe/Tallinn "), Ok(chrono_tz::Europe::Tallinn));
        for bad in ["Europe/Rigaa", "Mars/Base", "", "riga"] {
            let e = parse_timezone(bad).unwrap_err();
            assert!(
                e.contains("unknown time zone") && e.contains("Europe/Riga"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn start_from_date_is_local_midnight() {
        let tz = chrono_tz::Europe::Riga;
        let d = parse_start_from("2026-12-01", tz).unwrap();
        assert_eq!(d.to_rfc3339(), "2026-11-30T22:00:00+00:00");
        let s = parse_start_from("2026-07-01", tz).unwrap();
        assert_eq!(s.to_rfc3339(), "2026-06-30T21:00:00+00:00");
        let i = parse_start_from("2026-12-01T09:00:00+02:00", tz).unwrap();
        assert_eq!(i.to_rfc3339(), "2026-12-01T07:00:00+00:00");
        assert!(parse_start_from("2026-13-01", tz).is_err());
        assert!(parse_start_from("yesterday", tz).is_err());
        // Samoa skipped 30 Dec 2011 whole: that date has no start.
        let e = parse_start_from("2011-12-30", chrono_tz::Pacific::Apia).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
    }
}
