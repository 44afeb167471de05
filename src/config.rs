//! Configuration: the one TOML file an admin edits (SPEC §8).
//!
//! The structs mirror the file exactly; every key has its default here, and
//! unknown keys are refused (`deny_unknown_fields`). Loading, validation and
//! error reporting with file/line/key live in [`load`].

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
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
            let secs = match unit.as_str() {
                "s" | "sec" | "secs" | "second" | "seconds" => 1,
                "m" | "min" | "mins" | "minute" | "minutes" => 60,
                "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
                "d" | "day" | "days" => 86400,
                "w" | "week" | "weeks" => 7 * 86400,
                _ => {
                    return Err(format!(
                        "unknown unit \"{unit}\" in duration \"{s}\": use s, m, h, d or w (e.g. \"90s\", \"4h\", \"1d\")"
                    ))
                }
            };
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

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HumanDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

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
        let s = String::deserialize(d)?;
        TimeRange::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    Tls,
    Starttls,
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    #[default]
    EndOfDay,
    Immediate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub organization: OrganizationConfig,
    pub imap: ImapConfig,
    pub smtp: SmtpConfig,
    #[serde(default)]
    pub calendar: CalendarConfig,
    #[serde(default)]
    pub reply: ReplyConfig,
    pub reminders: RemindersConfig,
    #[serde(default)]
    pub signature: SignatureConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub templates: TemplatesConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub staff: Vec<StaffMember>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub domains: Vec<String>,
    #[serde(default = "default_case_prefix")]
    pub case_prefix: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub website: String,
}

fn default_case_prefix() -> String {
    "SIF".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    #[serde(default = "default_imap_port")]
    pub port: u16,
    #[serde(default = "default_tls")]
    pub security: Security,
    pub username: String,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_inbox")]
    pub inbox: Vec<String>,
    #[serde(default = "default_sent")]
    pub sent: Vec<String>,
    #[serde(default = "default_poll")]
    pub poll_interval: HumanDuration,
}

fn default_imap_port() -> u16 {
    993
}
fn default_tls() -> Security {
    Security::Tls
}
fn default_inbox() -> Vec<String> {
    vec!["INBOX".into()]
}
fn default_sent() -> Vec<String> {
    vec!["Sent".into()]
}
fn default_poll() -> HumanDuration {
    HumanDuration(chrono::Duration::seconds(60))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default = "default_starttls")]
    pub security: Security,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The gateway's own address, with an optional display name.
    pub from: String,
    #[serde(default)]
    pub save_copy_to: Option<String>,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_starttls() -> Security {
    Security::Starttls
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default = "default_holidays")]
    pub holidays: String,
    #[serde(default = "default_shorten")]
    pub shorten_before_holiday: HumanDuration,
    #[serde(default = "default_true")]
    pub cabinet_transfers: bool,
    #[serde(default)]
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
            holidays: default_holidays(),
            shorten_before_holiday: default_shorten(),
            cabinet_transfers: true,
            extra_holidays: vec![],
            extra_working_days: vec![],
            hours: WeekHours::default(),
        }
    }
}

fn default_tz() -> String {
    "Europe/Riga".into()
}
fn default_holidays() -> String {
    "LV".into()
}
fn default_shorten() -> HumanDuration {
    HumanDuration(chrono::Duration::hours(1))
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraWorkingDay {
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyConfig {
    #[serde(default = "default_working_days")]
    pub working_days: u32,
    #[serde(default)]
    pub ack: AckMode,
    #[serde(default = "default_ack_interval")]
    pub ack_min_interval: HumanDuration,
    #[serde(default = "default_never_ack")]
    pub never_ack: Vec<String>,
    #[serde(default = "default_ack_max")]
    pub ack_max_per_hour: u32,
    #[serde(default = "default_sub_ext")]
    pub submission_extensions: Vec<String>,
    #[serde(default = "default_sub_words")]
    pub submission_subject_words: Vec<String>,
    #[serde(default)]
    pub interim_pattern: Option<String>,
    /// A date (`2026-12-01`, local midnight) or an RFC 3339 instant.
    #[serde(default)]
    pub start_from: Option<String>,
    #[serde(default)]
    pub trusted_authserv_id: Option<String>,
}

impl Default for ReplyConfig {
    fn default() -> Self {
        ReplyConfig {
            working_days: default_working_days(),
            ack: AckMode::EndOfDay,
            ack_min_interval: default_ack_interval(),
            never_ack: default_never_ack(),
            ack_max_per_hour: default_ack_max(),
            submission_extensions: default_sub_ext(),
            submission_subject_words: default_sub_words(),
            interim_pattern: None,
            start_from: None,
            trusted_authserv_id: None,
        }
    }
}

fn default_working_days() -> u32 {
    2
}
fn default_ack_interval() -> HumanDuration {
    HumanDuration(chrono::Duration::days(1))
}
fn default_never_ack() -> Vec<String> {
    ["noreply", "no-reply", "donotreply", "mailer-daemon"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}
fn default_ack_max() -> u32 {
    200
}
fn default_sub_ext() -> Vec<String> {
    ["edoc", "asice", "asics", "sce"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}
fn default_sub_words() -> Vec<String> {
    vec!["iesniegums".into()]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindersConfig {
    pub team: String,
    #[serde(default = "default_before")]
    pub before: HumanDuration,
    #[serde(default)]
    pub escalate_to: Vec<String>,
    #[serde(default = "default_digest_at")]
    pub digest_at: String,
}

fn default_before() -> HumanDuration {
    HumanDuration(chrono::Duration::hours(4))
}
fn default_digest_at() -> String {
    "09:15".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureConfig {
    #[serde(default = "default_require")]
    pub require: Vec<SignatureElement>,
    #[serde(default)]
    pub cc: Vec<String>,
}

impl Default for SignatureConfig {
    fn default() -> Self {
        SignatureConfig {
            require: default_require(),
            cc: vec![],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SignatureElement {
    Organization,
    Name,
    Surname,
    Contact,
}

fn default_require() -> Vec<SignatureElement> {
    use SignatureElement::*;
    vec![Organization, Name, Surname, Contact]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(default = "default_db")]
    pub database: PathBuf,
    #[serde(default = "default_retention")]
    pub retention: HumanDuration,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            database: default_db(),
            retention: default_retention(),
        }
    }
}

fn default_db() -> PathBuf {
    PathBuf::from("/var/lib/replygate/replygate.db")
}
/// Closed cases are kept for two years by default: long enough for an
/// annual report and an appeal, short enough to honour data minimisation.
fn default_retention() -> HumanDuration {
    HumanDuration(chrono::Duration::days(730))
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default)]
    pub listen: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TemplatesConfig {
    #[serde(default)]
    pub directory: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as "info" or "replygate=debug"; RUST_LOG wins.
    #[serde(default)]
    pub level: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffMember {
    pub email: String,
    pub name: String,
    pub surname: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// Parse a config from text, for tests and for `load`.
pub fn from_str(text: &str) -> Result<Config, toml::de::Error> {
    toml::from_str(text)
}

/// Placeholder until the loader lands: read and parse a file.
pub fn load(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)?;
    Ok(from_str(&text)?)
}
