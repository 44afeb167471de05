//! Durations as admins write them: `"90s"`, `"15m"`, `"4h"`, `"1d"`, `"1h30m"`.

use serde::{Deserialize, Deserializer};

/// A human-readable duration: `"90s"`, `"15m"`, `"4h"`, `"1d"`, `"1h30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub chrono::Duration);

impl HumanDuration {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err(
                "expected a duration such as \"90s\", \"4h\" or \"1d\", found an empty string".into(),
            );
        }
        let mut total: i64 = 0;
        let mut num = String::new();
        let mut any = false;
        let mut chars = t.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            if c.is_whitespace() {
                continue;
            }
            let mut unit = String::from(c);
            while let Some(&n) = chars.peek() {
                if n.is_ascii_alphabetic() {
                    unit.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            if num.is_empty() {
                return Err(format!("expected a number before \"{unit}\" in duration \"{s}\""));
            }
            let n: i64 = num
                .parse()
                .map_err(|_| format!("number too large in duration \"{s}\""))?;
            let secs = unit_seconds(&unit).ok_or_else(|| {
                format!(
                    "unknown unit \"{unit}\" in duration \"{s}\": use s, m, h, d or w (e.g. \"90s\", \"4h\", \"1d\")"
                )
            })?;
            total = n
                .checked_mul(secs)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("duration \"{s}\" is too large"))?;
            num.clear();
            any = true;
        }
        if !num.is_empty() {
            return Err(format!(
                "duration \"{s}\" lacks a unit after {num}: write e.g. \"{num}s\", \"{num}m\", \"{num}h\" or \"{num}d\""
            ));
        }
        if !any {
            return Err(format!(
                "expected a duration such as \"90s\", \"4h\" or \"1d\", found \"{s}\""
            ));
        }
        Ok(HumanDuration(chrono::Duration::seconds(total)))
    }

    pub fn std(&self) -> std::time::Duration {
        self.0.to_std().unwrap_or_default()
    }
}

/// Seconds in one of a unit's spellings.
fn unit_seconds(unit: &str) -> Option<i64> {
    Some(match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86400,
        "w" | "week" | "weeks" => 7 * 86400,
        _ => return None,
    })
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration in quotes such as \"90s\", \"4h\" or \"1d\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<HumanDuration, E> {
                HumanDuration::parse(s).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "a duration needs a unit and quotes: write e.g. \"{n}s\", \"{n}m\", \"{n}h\" or \"{n}d\""
                )))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<HumanDuration, E> {
                self.visit_i64(n.min(i64::MAX as u64) as i64)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_table() {
        let ok: &[(&str, i64)] = &[
            ("90s", 90),
            ("15m", 900),
            ("4h", 4 * 3600),
            ("1d", 86400),
            ("2w", 14 * 86400),
            ("1h30m", 5400),
            ("1h 30m", 5400),
            (" 10 min ", 600),
            ("0s", 0),
            ("730d", 730 * 86400),
            ("3 days", 3 * 86400),
        ];
        for (s, secs) in ok {
            assert_eq!(
                HumanDuration::parse(s).map(|d| d.0.num_seconds()),
                Ok(*secs),
                "{s:?}"
            );
        }
        let bad: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("1x", "unknown unit \"x\""),
            ("90", "lacks a unit"),
            ("h", "expected a number before \"h\""),
            ("1h30", "lacks a unit"),
            ("-1h", "expected a number before \"-\""),
            ("99999999999999999999s", "too large"),
            ("9999999999999999w", "too large"),
        ];
        for (s, want) in bad {
            let e = HumanDuration::parse(s).unwrap_err();
            assert!(e.contains(want), "{s:?}: {e}");
        }
    }
}
