//! Configuration: the one TOML file an admin edits (SPEC §8).
//!
//! The structs mirror the file exactly; every key has its default here, and
//! unknown keys are refused (`deny_unknown_fields`). Loading, validation and
//! error reporting with file/line/key live in [`load`].

pub mod secret;

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

/// A date written either as a TOML date (`2027-01-09`) or as a string
/// (`"2027-01-09"`): admins write both.
fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
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

/// Text, or a TOML date/datetime taken as its text.
fn de_opt_datetime_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a date (YYYY-MM-DD) or an RFC 3339 instant")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<String, E> {
            Ok(s.to_string())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<String, A::Error> {
            match m.next_entry::<String, String>()? {
                Some((_, v)) => Ok(v),
                None => Err(serde::de::Error::custom(
                    "expected a date (YYYY-MM-DD) or an RFC 3339 instant",
                )),
            }
        }
    }
    d.deserialize_any(V).map(Some)
}

fn de_dates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "de_date")] NaiveDate);
    Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
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
    /// A date (`2026-12-01`, local midnight) or an RFC 3339 instant; as a
    /// string or a TOML date/datetime. Use [`Config::start_from`].
    #[serde(default, deserialize_with = "de_opt_datetime_text")]
    pub start_from: Option<String>,
    #[serde(default)]
    pub trusted_authserv_id: Option<String>,
    /// SPEC §11.2: believe `X-MS-Exchange-Organization-AuthAs: Internal` as
    /// proof that an inbox message from the organisation is internal (only
    /// when the mailbox is on Exchange, which strips it from inbound mail).
    #[serde(default)]
    pub trust_exchange_headers: bool,
    /// SPEC §11.2: a header (`"X-Internal-Origin: yes"`, or just a name) that
    /// the institution's own server adds to internal mail and strips from
    /// inbound mail: proof of internal origin.
    #[serde(default)]
    pub internal_header: Option<String>,
    /// SPEC §11.3: public mail providers; sharing one of these domains with a
    /// case's client does not make a stranger a participant.
    #[serde(default = "default_public_domains")]
    pub public_domains: Vec<String>,
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
            trust_exchange_headers: false,
            internal_header: None,
            public_domains: default_public_domains(),
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
/// SPEC §11.3's default list of public mail providers, plus the big
/// providers' sibling domains a client may write from.
pub fn default_public_domains() -> Vec<String> {
    [
        "gmail.com",
        "googlemail.com",
        "inbox.lv",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "mail.ru",
        "list.ru",
        "bk.ru",
        "yandex.ru",
        "yandex.com",
        "one.lv",
        "apollo.lv",
        "tvnet.lv",
        "gmx.com",
        "gmx.de",
        "web.de",
        "proton.me",
        "protonmail.com",
        "aol.com",
    ]
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

// ---------------------------------------------------------------------------
// Loading, validation and error reporting
// ---------------------------------------------------------------------------

/// Parse a config from text without semantic validation (for tests that
/// build a config inline). Use [`load`] or [`parse_str`] for real input.
pub fn from_str(text: &str) -> Result<Config, toml::de::Error> {
    toml::from_str(text)
}

/// How serious a [`Problem`] is: an error refuses the config, a warning is
/// only reported by `check-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong in the configuration, with where it is.
///
/// Displayed as `FILE:LINE:COLUMN: KEY: MESSAGE` (parts that are unknown are
/// left out). `key` is a dotted path such as `reply.ack_min_interval` or
/// `staff[1].email` (array indexes count from 0). Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if let Some(k) = &self.key {
            write!(f, ": {k}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{}: cannot read the configuration file: {source} (give another one with -c FILE)", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration: every problem
    /// found, one per line.
    #[error("{}", ProblemList(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The problems as a list (a read failure becomes one problem).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            ConfigError::Read { path, source } => vec![Problem {
                severity: Severity::Error,
                file: path.clone(),
                line: None,
                column: None,
                key: None,
                message: format!(
                    "cannot read the configuration file: {source} (give another one with -c FILE)"
                ),
            }],
            ConfigError::Invalid(p) => p.clone(),
        }
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl std::fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Read, parse and validate the configuration file.
///
/// Besides parsing it checks everything that can be checked without secrets
/// (see [`validate`]), and collects every problem before refusing. Relative
/// `ca_file` paths, and relative `password_file` paths when
/// `$CREDENTIALS_DIRECTORY` is not set, are made relative to the directory
/// of the configuration file. Secrets are not read here: commands that need
/// no server (`calendar`, `deadline`, `status`) must work for an admin who
/// cannot read them; `check-config` ([`check`]) and the daemon read them.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with_text(path).map(|(c, _)| c)
}

fn load_with_text(path: &Path) -> Result<(Config, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut cfg = parse_only(&text, path).map_err(ConfigError::Invalid)?;
    let base = path.parent().unwrap_or(Path::new(""));
    resolve_relative_paths(&mut cfg, base);
    let mut problems: Vec<Problem> = validate(&cfg, &text, path)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    sort_problems(&mut problems);
    if problems.is_empty() {
        Ok((cfg, text))
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// Parse and validate configuration text; `file` is only used in messages.
/// Relative paths stay as written.
pub fn parse_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let cfg = parse_only(text, file).map_err(ConfigError::Invalid)?;
    let mut problems: Vec<Problem> = validate(&cfg, text, file)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    sort_problems(&mut problems);
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// Errors before warnings, each in file order (problems without a line
/// last).
fn sort_problems(p: &mut [Problem]) {
    p.sort_by_key(|p| {
        (
            p.severity == Severity::Warning,
            p.line.unwrap_or(usize::MAX),
            p.column.unwrap_or(0),
        )
    });
}

fn resolve_relative_paths(cfg: &mut Config, base: &Path) {
    let creds = std::env::var_os("CREDENTIALS_DIRECTORY").is_some_and(|v| !v.is_empty());
    let fix = |p: &mut Option<PathBuf>| {
        if let Some(x) = p {
            if x.is_relative() && !x.as_os_str().is_empty() {
                *x = base.join(&*x);
            }
        }
    };
    fix(&mut cfg.imap.ca_file);
    fix(&mut cfg.smtp.ca_file);
    if !creds {
        fix(&mut cfg.imap.password_file);
        fix(&mut cfg.smtp.password_file);
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// TOML syntax and type errors (serde stops at the first one).
fn parse_only(text: &str, file: &Path) -> Result<Config, Vec<Problem>> {
    let problem = |span: Option<std::ops::Range<usize>>, key: Option<String>, message: String| {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(text, s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Problem {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            key,
            message,
        }
    };
    let de = match toml::de::Deserializer::parse(text) {
        Ok(d) => d,
        Err(first) => {
            // Report every syntax error the recovering parser finds. Never
            // quote the offending line: it could hold a password pasted where
            // it does not belong; only a key name at the error is shown.
            let (_, mut errors) = toml::de::DeTable::parse_recoverable(text);
            if errors.is_empty() {
                errors.push(first);
            }
            let mut out: Vec<Problem> = Vec::new();
            for e in errors {
                let key = e.span().and_then(|s| key_at(text, s.start));
                let p = problem(
                    e.span(),
                    key,
                    format!("TOML syntax error: {}", e.message().trim()),
                );
                if !out.iter().any(|q| q.line == p.line && q.message == p.message) {
                    out.push(p);
                }
            }
            return Err(out);
        }
    };
    serde_path_to_error::deserialize::<_, Config>(de).map_err(|e| {
        // serde stops at the first error; look at each table on its own to
        // report one error per table instead of one per file.
        let more = section_errors(text);
        if !more.is_empty() {
            return more
                .into_iter()
                .map(|(span, key, message)| problem(span, key, message))
                .collect();
        }
        let path = e.path().to_string();
        let inner = e.inner();
        let msg = inner.message().trim().to_string();
        let (key, message) = explain_serde_error(&path, &msg);
        vec![problem(inner.span(), key, message)]
    })
}

type Span = Option<std::ops::Range<usize>>;

/// Deserialize each top-level table separately and collect the first error
/// of each (plus unknown top-level keys and missing required tables).
fn section_errors(text: &str) -> Vec<(Span, Option<String>, String)> {
    let Ok(root) = toml::de::DeTable::parse(text) else {
        return vec![];
    };
    fn one<'a, T: serde::de::DeserializeOwned>(
        name: &str,
        v: &toml::Spanned<toml::de::DeValue<'a>>,
    ) -> Option<(Span, Option<String>, String)> {
        let de = toml::de::ValueDeserializer::from(v.clone());
        let e = serde_path_to_error::deserialize::<_, T>(de).err()?;
        let inner_path = e.path().to_string();
        let path = match inner_path.as_str() {
            "." => name.to_string(),
            p if p.starts_with('[') => format!("{name}{p}"),
            p => format!("{name}.{p}"),
        };
        let inner = e.inner();
        let (key, message) = explain_serde_error(&path, inner.message().trim());
        Some((inner.span().or_else(|| Some(v.span())), key, message))
    }
    let mut out = Vec::new();
    let table = root.get_ref();
    for (k, v) in table.iter() {
        let name: &str = k.get_ref();
        let err = match name {
            "organization" => one::<OrganizationConfig>(name, v),
            "imap" => one::<ImapConfig>(name, v),
            "smtp" => one::<SmtpConfig>(name, v),
            "calendar" => one::<CalendarConfig>(name, v),
            "reply" => one::<ReplyConfig>(name, v),
            "reminders" => one::<RemindersConfig>(name, v),
            "signature" => one::<SignatureConfig>(name, v),
            "storage" => one::<StorageConfig>(name, v),
            "http" => one::<HttpConfig>(name, v),
            "templates" => one::<TemplatesConfig>(name, v),
            "log" => one::<LogConfig>(name, v),
            "staff" => one::<Vec<StaffMember>>(name, v),
            other => {
                let msg = format!("unknown field `{other}`, expected one of {TOP_LEVEL_KEYS}");
                let (key, message) = explain_serde_error(".", &msg);
                Some((Some(k.span()), key, message))
            }
        };
        out.extend(err);
    }
    for required in ["organization", "imap", "smtp", "reminders"] {
        if table.get(required).is_none() {
            let (key, message) = explain_serde_error(".", &format!("missing field `{required}`"));
            out.push((Some(0..0), key, message));
        }
    }
    out.sort_by_key(|(span, _, _)| span.as_ref().map_or(usize::MAX, |s| s.start));
    out
}

const TOP_LEVEL_KEYS: &str = "`organization`, `imap`, `smtp`, `calendar`, `reply`, `reminders`, `signature`, `storage`, `http`, `templates`, `log`, `staff`";

/// The bare key starting at `offset`, when there is one (for messages such
/// as "duplicate key").
fn key_at(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let k: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let after = rest[k.len()..].trim_start();
    (!k.is_empty() && (after.starts_with('=') || after.starts_with(']') || after.starts_with('.')))
        .then_some(k)
}

/// Turn serde's wording into an admin's: name the key and the table.
fn explain_serde_error(path: &str, msg: &str) -> (Option<String>, String) {
    let table = if path == "." { None } else { Some(path.to_string()) };
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return match &table {
            None => (
                Some(field.to_string()),
                format!(
                    "the required table [{field}] is missing: add it (see config/replygate.toml for an example)"
                ),
            ),
            Some(t) => (
                Some(format!("{t}.{field}")),
                format!("the required key `{field}` is missing from [{t}]: add `{field} = ...`"),
            ),
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let allowed = rest.split_once(", expected ").map(|(_, a)| a).unwrap_or("");
        let (key, place) = match &table {
            // serde_path_to_error records the unknown key itself as the
            // last path segment; keep the path as it is.
            Some(t) if t.ends_with(field) => (t.clone(), parent_of(t)),
            Some(t) => (format!("{t}.{field}"), Some(t.clone())),
            None => (field.to_string(), None),
        };
        let place = match place {
            Some(p) => format!("in [{p}]"),
            None => "at the top level".to_string(),
        };
        let allowed = if allowed.is_empty() {
            String::new()
        } else {
            format!("; allowed keys: {}", allowed.trim_start_matches("one of "))
        };
        return (
            Some(key),
            format!("unknown key `{field}` {place} (check the spelling){allowed}"),
        );
    }
    (table, msg.to_string())
}

fn parent_of(path: &str) -> Option<String> {
    let cut = path.rfind(['.', '['])?;
    Some(path[..cut].to_string())
}

/// Finds where a dotted key is in the TOML text, for semantic problems.
struct Locator<'a> {
    text: &'a str,
    root: Option<toml::Spanned<toml::de::DeTable<'a>>>,
}

#[derive(Debug, PartialEq)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_key(key: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Seg::Key(name));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { break };
            if let Ok(i) = r[..end].parse() {
                out.push(Seg::Index(i));
            }
            rest = &r[end + 1..];
        }
    }
    out
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Locator {
            text,
            root: toml::de::DeTable::parse(text).ok(),
        }
    }

    /// Line and column of the key's value; of the nearest enclosing key
    /// present in the file when the key itself is absent (a default).
    fn find(&self, key: &str) -> Option<(usize, usize)> {
        let root = self.root.as_ref()?;
        let mut best: Option<usize> = None;
        let mut cur: Option<&toml::Spanned<toml::de::DeValue<'a>>> = None;
        let mut complete = true;
        for seg in split_key(key) {
            match seg {
                Seg::Key(k) => {
                    let table = match cur {
                        None => Some(root.get_ref()),
                        Some(c) => c.get_ref().as_table(),
                    };
                    match table.and_then(|t| t.get_key_value(k)) {
                        Some((kk, vv)) => {
                            best = Some(kk.span().start);
                            cur = Some(vv);
                        }
                        None => {
                            complete = false;
                            break;
                        }
                    }
                }
                Seg::Index(i) => match cur.and_then(|c| c.get_ref().as_array()).and_then(|a| a.get(i)) {
                    Some(v) => {
                        best = Some(v.span().start);
                        cur = Some(v);
                    }
                    None => {
                        complete = false;
                        break;
                    }
                },
            }
        }
        // Point at the value itself when the whole path was found and it is
        // not a table (a table's span is less helpful than its key).
        if let (true, Some(v)) = (complete, cur) {
            if !v.get_ref().is_table() {
                best = Some(v.span().start);
            }
        }
        best.map(|o| line_col(self.text, o))
    }
}

/// Collects problems with their location.
struct Checker<'a> {
    file: &'a Path,
    loc: Locator<'a>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn push(&mut self, severity: Severity, key: &str, message: String) {
        let (line, column) = match self.loc.find(key) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        self.problems.push(Problem {
            severity,
            file: self.file.to_path_buf(),
            line,
            column,
            key: Some(key.to_string()),
            message,
        });
    }
    fn error(&mut self, key: &str, message: impl Into<String>) {
        self.push(Severity::Error, key, message.into());
    }
    fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.push(Severity::Warning, key, message.into());
    }
}

/// True for 127.0.0.0/8, ::1 and `localhost`, by name (no DNS lookup).
///
/// The one rule for `security = "plain"` (config check, IMAP and SMTP):
/// `localhost` itself or a loopback IP literal (127.0.0.0/8, ::1). Other
/// `*.localhost` names are not trusted: a resolver need not map them to
/// loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Parse `reply.start_from`: a `YYYY-MM-DD` date (local midnight in `tz`) or
/// an RFC 3339 instant.
pub fn parse_start_from(s: &str, tz: chrono_tz::Tz) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::TimeZone;
    let t = s.trim();
    if let Ok(i) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(i.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let midnight = d.and_time(NaiveTime::MIN);
        // Midnight can fall in a DST gap in some zones: take the first
        // instant of the day that exists.
        let local = tz.from_local_datetime(&midnight).earliest().or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        });
        return local
            .map(|l| l.with_timezone(&chrono::Utc))
            .ok_or_else(|| format!("the start of {d} does not exist in {tz}"));
    }
    Err(format!(
        "expected a date \"YYYY-MM-DD\" (e.g. \"2026-12-01\") or an RFC 3339 instant (e.g. \"2026-12-01T09:00:00+02:00\"), found \"{s}\""
    ))
}

fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let t = s.trim();
    if t.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(t, "%H:%M").ok()
}

impl Config {
    /// The calendar time zone (`calendar.timezone`); Europe/Riga if it does
    /// not parse, which [`load`] refuses anyway.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.calendar
            .timezone
            .trim()
            .parse()
            .unwrap_or(chrono_tz::Europe::Riga)
    }

    /// `reply.start_from` as an instant: a date means local midnight in the
    /// calendar time zone. `None` when unset (or invalid, which [`load`]
    /// refuses).
    pub fn start_from(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let s = self.reply.start_from.as_deref()?;
        parse_start_from(s, self.timezone()).ok()
    }

    /// `reminders.digest_at` as a time of day (09:15 if invalid, which
    /// [`load`] refuses).
    pub fn digest_time(&self) -> NaiveTime {
        parse_hhmm(&self.reminders.digest_at)
            .unwrap_or_else(|| NaiveTime::from_hms_opt(9, 15, 0).unwrap_or(NaiveTime::MIN))
    }

    /// The IMAP password from `imap.password_file` or `imap.password_env`.
    pub fn imap_password(&self) -> Result<crate::config::secret::Secret, crate::config::secret::SecretError> {
        crate::config::secret::read_secret(
            self.imap.password_file.as_deref(),
            self.imap.password_env.as_deref(),
        )
    }

    /// The SMTP password; `Ok(None)` when SMTP is used without
    /// authentication (no password source configured).
    pub fn smtp_password(
        &self,
    ) -> Result<Option<crate::config::secret::Secret>, crate::config::secret::SecretError> {
        if self.smtp.password_file.is_none() && self.smtp.password_env.is_none() {
            return Ok(None);
        }
        crate::config::secret::read_secret(
            self.smtp.password_file.as_deref(),
            self.smtp.password_env.as_deref(),
        )
        .map(Some)
    }
}

/// Every semantic problem of a parsed config (errors and warnings), located
/// in `text`. Does not read secrets; does read `ca_file`s.
pub fn validate(cfg: &Config, text: &str, file: &Path) -> Vec<Problem> {
    use std::str::FromStr;
    let mut c = Checker {
        file,
        loc: Locator::new(text),
        problems: Vec::new(),
    };

    // [organization]
    let org = &cfg.organization;
    if org.name.trim().is_empty() {
        c.error(
            "organization.name",
            "must not be empty: the institution's name as it appears in signatures",
        );
    }
    if org.domains.is_empty() {
        c.error(
            "organization.domains",
            "must list at least one mail domain of the institution, e.g. [\"sif.gov.lv\"]",
        );
    }
    for (i, d) in org.domains.iter().enumerate() {
        let d = d.trim();
        if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
            c.error(
                &format!("organization.domains[{i}]"),
                format!("\"{d}\" is not a mail domain: write only the part after @, e.g. \"sif.gov.lv\""),
            );
        }
    }
    if org.case_prefix.is_empty() || !org.case_prefix.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        c.error(
            "organization.case_prefix",
            format!(
                "\"{}\" is not a valid case prefix: use only letters A-Z and digits, e.g. \"SIF\"",
                org.case_prefix
            ),
        );
    }
    let in_org = |addr: &str| -> bool {
        let dom = addr.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
        org.domains.iter().any(|d| d.trim().eq_ignore_ascii_case(&dom))
    };

    // [imap]
    let imap = &cfg.imap;
    if imap.host.trim().is_empty() {
        c.error("imap.host", "must not be empty: the IMAP server's host name");
    }
    if imap.security == Security::Plain && !is_loopback_host(&imap.host) {
        c.error(
            "imap.security",
            format!(
                "\"plain\" sends the password unencrypted and is allowed only to a loopback host (127.0.0.1, ::1, localhost), not to \"{}\": use \"tls\" or \"starttls\"",
                imap.host
            ),
        );
    }
    if imap.port == 0 {
        c.error(
            "imap.port",
            "must be a TCP port 1-65535 (usually 993 for tls, 143 for starttls)",
        );
    }
    if imap.username.trim().is_empty() {
        c.error("imap.username", "must not be empty: the mailbox login");
    }
    match (&imap.password_file, &imap.password_env) {
        (Some(_), Some(_)) => c.error(
            "imap.password_env",
            "both imap.password_file and imap.password_env are set: keep only one",
        ),
        (None, None) => c.error(
            "imap",
            "no password source: set imap.password_file = \"/etc/replygate/imap-password\" or imap.password_env = \"VARIABLE\"",
        ),
        _ => {}
    }
    check_password_source(
        &mut c,
        "imap",
        imap.password_file.as_deref(),
        imap.password_env.as_deref(),
    );
    if let Some(ca) = &imap.ca_file {
        check_ca_file(&mut c, "imap.ca_file", ca);
    }
    if imap.inbox.is_empty() {
        c.error(
            "imap.inbox",
            "must name at least one folder to watch, e.g. [\"INBOX\"]",
        );
    }
    for (list, name) in [(&imap.inbox, "imap.inbox"), (&imap.sent, "imap.sent")] {
        let mut seen = std::collections::HashSet::new();
        for (i, f) in list.iter().enumerate() {
            if f.trim().is_empty() {
                c.error(&format!("{name}[{i}]"), "a folder name must not be empty");
            } else if !seen.insert(f.as_str()) {
                c.error(&format!("{name}[{i}]"), format!("folder \"{f}\" is listed twice"));
            }
        }
    }
    if imap.poll_interval.0 < chrono::Duration::seconds(1) {
        c.error("imap.poll_interval", "must be at least \"1s\" (e.g. \"60s\")");
    }

    // [smtp]
    let smtp = &cfg.smtp;
    if smtp.host.trim().is_empty() {
        c.error("smtp.host", "must not be empty: the SMTP server's host name");
    }
    if smtp.security == Security::Plain && !is_loopback_host(&smtp.host) {
        c.error(
            "smtp.security",
            format!(
                "\"plain\" is unencrypted and allowed only to a loopback host (127.0.0.1, ::1, localhost), not to \"{}\": use \"starttls\" or \"tls\"",
                smtp.host
            ),
        );
    }
    if smtp.port == 0 {
        c.error(
            "smtp.port",
            "must be a TCP port 1-65535 (usually 587 for starttls, 465 for tls)",
        );
    }
    let has_user = smtp.username.as_deref().is_some_and(|u| !u.trim().is_empty());
    let has_pw = smtp.password_file.is_some() || smtp.password_env.is_some();
    if smtp.password_file.is_some() && smtp.password_env.is_some() {
        c.error(
            "smtp.password_env",
            "both smtp.password_file and smtp.password_env are set: keep only one",
        );
    }
    if has_user && !has_pw {
        c.error(
            "smtp.username",
            "a username is set but no password source: add smtp.password_file or smtp.password_env, or remove smtp.username to send without authentication",
        );
    }
    if has_pw && !has_user {
        c.error(
            "smtp.username",
            "a password source is set but no username: add smtp.username",
        );
    }
    if smtp.username.as_deref().is_some_and(|u| u.trim().is_empty()) {
        c.error("smtp.username", "must not be empty when given");
    }
    check_password_source(
        &mut c,
        "smtp",
        smtp.password_file.as_deref(),
        smtp.password_env.as_deref(),
    );
    if let Some(ca) = &smtp.ca_file {
        check_ca_file(&mut c, "smtp.ca_file", ca);
    }
    match lettre::message::Mailbox::from_str(smtp.from.trim()) {
        Ok(mb) => {
            if !in_org(mb.email.as_ref()) {
                c.warn(
                    "smtp.from",
                    format!(
                        "the gateway's address {} is not in organization.domains: its own mail may be taken for client mail",
                        mb.email
                    ),
                );
            }
        }
        Err(e) => c.error(
            "smtp.from",
            format!(
                "\"{}\" is not a valid sender ({e}): write an address, optionally with a name, e.g. \"Sabiedrības integrācijas fonds <pasts@sif.gov.lv>\"",
                smtp.from
            ),
        ),
    }
    if smtp.save_copy_to.as_deref().is_some_and(|f| f.trim().is_empty()) {
        c.error(
            "smtp.save_copy_to",
            "must be a folder name, e.g. \"Sent\", or left out",
        );
    }

    // [calendar]
    let cal = &cfg.calendar;
    if chrono_tz::Tz::from_str(cal.timezone.trim()).is_err() {
        c.error(
            "calendar.timezone",
            format!(
                "unknown time zone \"{}\": use an IANA name such as \"Europe/Riga\"",
                cal.timezone
            ),
        );
    }
    if !matches!(cal.holidays.as_str(), "LV" | "none") {
        c.error(
            "calendar.holidays",
            format!(
                "unknown holiday set \"{}\": use \"LV\" (Latvian public holidays) or \"none\"",
                cal.holidays
            ),
        );
    }
    if cal.shorten_before_holiday.0 >= chrono::Duration::hours(8) {
        c.warn(
            "calendar.shorten_before_holiday",
            "shortens the day before a holiday by 8 hours or more: the Labour Law's figure is \"1h\"",
        );
    }
    {
        let mut seen = std::collections::HashSet::new();
        for (i, d) in cal.extra_holidays.iter().enumerate() {
            if !seen.insert(*d) {
                c.error(
                    &format!("calendar.extra_holidays[{i}]"),
                    format!("{d} is listed twice"),
                );
            }
        }
    }
    {
        let mut seen = std::collections::HashSet::new();
        for (i, w) in cal.extra_working_days.iter().enumerate() {
            let key = format!("calendar.extra_working_days[{i}].date");
            if !seen.insert(w.date) {
                c.error(
                    &key,
                    format!("{} is listed twice in [[calendar.extra_working_days]]", w.date),
                );
            }
            if cal.extra_holidays.contains(&w.date) {
                c.error(
                    &key,
                    format!(
                        "{} is both an extra holiday and an extra working day: keep one",
                        w.date
                    ),
                );
            }
        }
    }
    let h = &cal.hours;
    if [
        h.monday,
        h.tuesday,
        h.wednesday,
        h.thursday,
        h.friday,
        h.saturday,
        h.sunday,
    ]
    .iter()
    .all(Option::is_none)
    {
        c.error(
            "calendar.hours",
            "no weekday has working hours: give at least one, e.g. monday = \"09:00-17:00\"",
        );
    }

    // [reply]
    let r = &cfg.reply;
    if r.working_days < 1 {
        c.error("reply.working_days", "must be at least 1 (the guidelines say 2)");
    }
    if r.ack_max_per_hour < 1 {
        c.error(
            "reply.ack_max_per_hour",
            "must be at least 1: 0 would stop every acknowledgement",
        );
    }
    for (i, w) in r.never_ack.iter().enumerate() {
        if w.trim().is_empty() {
            c.error(
                &format!("reply.never_ack[{i}]"),
                "an empty pattern would match every sender",
            );
        }
    }
    for (i, e) in r.submission_extensions.iter().enumerate() {
        let e = e.trim();
        if e.is_empty() || e.starts_with('.') || e.contains(['/', '\\', ' ']) {
            c.error(
                &format!("reply.submission_extensions[{i}]"),
                format!("\"{e}\" is not a file extension: write it without the dot, e.g. \"edoc\""),
            );
        }
    }
    for (i, w) in r.submission_subject_words.iter().enumerate() {
        if w.trim().is_empty() {
            c.error(
                &format!("reply.submission_subject_words[{i}]"),
                "an empty word would make every mail a submission",
            );
        }
    }
    if let Some(p) = &r.interim_pattern {
        match regex::Regex::new(p) {
            Ok(re) => {
                if !re.capture_names().flatten().any(|n| n == "date") {
                    c.error(
                        "reply.interim_pattern",
                        "the regex has no named group `date`: mark the promised date with (?P<date>...)",
                    );
                }
            }
            Err(e) => c.error(
                "reply.interim_pattern",
                format!("not a valid regular expression: {e}"),
            ),
        }
    }
    if let Some(s) = &r.start_from {
        let tz = chrono_tz::Tz::from_str(cal.timezone.trim()).unwrap_or(chrono_tz::Europe::Riga);
        if let Err(e) = parse_start_from(s, tz) {
            c.error("reply.start_from", e);
        }
    }
    if r.trusted_authserv_id
        .as_deref()
        .is_some_and(|s| s.trim().is_empty())
    {
        c.error(
            "reply.trusted_authserv_id",
            "must be your receiving server's authserv-id (e.g. \"mx.sif.gov.lv\") or left out",
        );
    }
    if let Some(h) = &r.internal_header {
        let name = h.split_once(':').map_or(h.as_str(), |(n, _)| n).trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            c.error(
                "reply.internal_header",
                "must be a header name, optionally with its value, such as \"X-Internal-Origin: yes\"",
            );
        }
    }
    for (i, d) in r.public_domains.iter().enumerate() {
        let d = d.trim().trim_start_matches('@');
        if d.is_empty() || !d.contains('.') || d.contains(char::is_whitespace) || d.contains('@') {
            c.error(
                &format!("reply.public_domains[{i}]"),
                "must be a mail domain such as \"gmail.com\"",
            );
        }
    }

    // [reminders]
    let rem = &cfg.reminders;
    check_mailbox(&mut c, "reminders.team", &rem.team);
    for (i, a) in rem.escalate_to.iter().enumerate() {
        check_mailbox(&mut c, &format!("reminders.escalate_to[{i}]"), a);
    }
    if parse_hhmm(&rem.digest_at).is_none() {
        c.error(
            "reminders.digest_at",
            format!(
                "expected a time of day as \"HH:MM\" (e.g. \"09:15\"), found \"{}\"",
                rem.digest_at
            ),
        );
    }

    // [signature]
    for (i, a) in cfg.signature.cc.iter().enumerate() {
        check_mailbox(&mut c, &format!("signature.cc[{i}]"), a);
    }

    // [storage]
    let db = &cfg.storage.database;
    if db.as_os_str().is_empty() || db.file_name().is_none() {
        c.error(
            "storage.database",
            "must be a file path such as \"/var/lib/replygate/replygate.db\"",
        );
    } else if db.parent().is_none_or(|p| p.as_os_str().is_empty()) {
        c.error(
            "storage.database",
            format!(
                "\"{}\" has no directory: give a full path such as \"/var/lib/replygate/replygate.db\"",
                db.display()
            ),
        );
    }
    if cfg.storage.retention.0 < chrono::Duration::days(1) {
        c.error("storage.retention", "must be at least \"1d\" (default \"730d\")");
    }

    // [http]
    if let Some(l) = &cfg.http.listen {
        if l.trim().parse::<std::net::SocketAddr>().is_err() {
            c.error(
                "http.listen",
                format!("\"{l}\" is not an address:port such as \"127.0.0.1:9187\""),
            );
        }
    }

    // [log]
    if let Some(l) = &cfg.log.level {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(l) {
            c.error(
                "log.level",
                format!("\"{l}\" is not a log filter ({e}): use e.g. \"info\" or \"replygate=debug\""),
            );
        }
    }

    // [[staff]]
    let mut seen = std::collections::HashMap::new();
    for (i, s) in cfg.staff.iter().enumerate() {
        let key = format!("staff[{i}].email");
        match lettre::Address::from_str(s.email.trim()) {
            Ok(_) => {
                let lower = s.email.trim().to_lowercase();
                if let Some(first) = seen.insert(lower, i) {
                    c.error(
                        &key,
                        format!(
                            "{} is listed twice (also staff[{first}]): keep one entry",
                            s.email
                        ),
                    );
                }
                if !in_org(&s.email) {
                    c.error(
                        &key,
                        format!(
                            "{} is not in organization.domains ({}): staff are people of the institution",
                            s.email,
                            org.domains.join(", ")
                        ),
                    );
                }
            }
            Err(_) => c.error(
                &key,
                format!(
                    "\"{}\" is not an e-mail address: write it bare, e.g. \"janis.berzins@sif.gov.lv\"",
                    s.email
                ),
            ),
        }
        if s.name.trim().is_empty() {
            c.error(&format!("staff[{i}].name"), "must not be empty");
        }
        if s.surname.trim().is_empty() {
            c.error(&format!("staff[{i}].surname"), "must not be empty");
        }
    }

    c.problems
}

fn check_mailbox(c: &mut Checker<'_>, key: &str, value: &str) {
    use std::str::FromStr;
    if let Err(e) = lettre::message::Mailbox::from_str(value.trim()) {
        c.error(
            key,
            format!("\"{value}\" is not an e-mail address ({e}): write e.g. \"klienti@sif.gov.lv\""),
        );
    }
}

fn check_password_source(c: &mut Checker<'_>, table: &str, file: Option<&Path>, env: Option<&str>) {
    if file.is_some_and(|f| f.as_os_str().is_empty()) {
        c.error(
            &format!("{table}.password_file"),
            "must be a file path, not empty",
        );
    }
    if let Some(e) = env {
        if e.is_empty() || e.contains('=') || e.contains('\0') {
            c.error(
                &format!("{table}.password_env"),
                format!("\"{e}\" is not an environment variable name"),
            );
        }
    }
}

fn check_ca_file(c: &mut Checker<'_>, key: &str, path: &Path) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            c.error(key, format!("cannot read {}: {e}", path.display()));
            return;
        }
    };
    let mut rd = std::io::BufReader::new(bytes.as_slice());
    let mut n = 0usize;
    for item in rustls_pemfile::certs(&mut rd) {
        match item {
            Ok(_) => n += 1,
            Err(e) => {
                c.error(key, format!("{} is not a valid PEM file: {e}", path.display()));
                return;
            }
        }
    }
    if n == 0 {
        c.error(
            key,
            format!(
                "{} holds no certificate: expected PEM (\"-----BEGIN CERTIFICATE-----\")",
                path.display()
            ),
        );
    }
}

fn security_name(s: Security) -> &'static str {
    match s {
        Security::Tls => "tls",
        Security::Starttls => "starttls",
        Security::Plain => "plain",
    }
}

/// A configuration that `check-config` accepted.
#[derive(Debug)]
pub struct CheckReport {
    pub path: PathBuf,
    pub config: Config,
    /// Things worth fixing that do not stop the daemon.
    pub warnings: Vec<Problem>,
}

impl CheckReport {
    /// A short human summary; never holds a secret.
    pub fn summary(&self) -> String {
        let c = &self.config;
        let smtp_auth = if c.smtp.password_file.is_some() || c.smtp.password_env.is_some() {
            "with authentication"
        } else {
            "without authentication"
        };
        format!(
            "{}: configuration OK\n  organization: {} (case prefix {}, domains {})\n  IMAP: {}:{} ({}), inbox {:?}, sent {:?}\n  SMTP: {}:{} ({}, {}), from {}\n  calendar: {}, holidays {}, reply within {} working day(s)\n  staff: {} listed\n  database: {}",
            self.path.display(),
            c.organization.name,
            c.organization.case_prefix,
            c.organization.domains.join(", "),
            c.imap.host,
            c.imap.port,
            security_name(c.imap.security),
            c.imap.inbox,
            c.imap.sent,
            c.smtp.host,
            c.smtp.port,
            security_name(c.smtp.security),
            smtp_auth,
            c.smtp.from,
            c.calendar.timezone,
            c.calendar.holidays,
            c.reply.working_days,
            c.staff.len(),
            c.storage.database.display(),
        )
    }
}

/// Everything `check-config` checks that is about the config file and its
/// secrets: [`load`]'s checks, then the secret files/variables (readable,
/// non-empty; a warning when a file is readable by group or others), and
/// warnings (missing database directory). On failure the list holds every
/// problem, errors and warnings.
///
/// Hook: the CLI arm runs further checks (templates) on the returned
/// [`CheckReport::config`] and adds their problems.
pub fn check(path: &Path) -> Result<CheckReport, Vec<Problem>> {
    let (cfg, text) = match load_with_text(path) {
        Ok(x) => x,
        Err(e) => {
            let mut all = e.problems();
            // Warnings are worth showing next to the errors when the file
            // parsed at all.
            if let Ok(text) = std::fs::read_to_string(path) {
                if let Ok(mut cfg) = parse_only(&text, path) {
                    resolve_relative_paths(&mut cfg, path.parent().unwrap_or(Path::new("")));
                    all.extend(
                        validate(&cfg, &text, path)
                            .into_iter()
                            .filter(|p| p.severity == Severity::Warning),
                    );
                    all.extend(secret_problems(&cfg, &text, path));
                }
            }
            sort_problems(&mut all);
            return Err(all);
        }
    };
    let mut all: Vec<Problem> = validate(&cfg, &text, path)
        .into_iter()
        .filter(|p| p.severity == Severity::Warning)
        .collect();
    all.extend(secret_problems(&cfg, &text, path));
    sort_problems(&mut all);
    if all.iter().any(|p| p.severity == Severity::Error) {
        return Err(all);
    }
    Ok(CheckReport {
        path: path.to_path_buf(),
        config: cfg,
        warnings: all,
    })
}

/// Problems with the secrets and the file system around the config.
fn secret_problems(cfg: &Config, text: &str, file: &Path) -> Vec<Problem> {
    let mut c = Checker {
        file,
        loc: Locator::new(text),
        problems: Vec::new(),
    };
    let sources = [
        (
            "imap",
            cfg.imap.password_file.as_deref(),
            cfg.imap.password_env.as_deref(),
            true,
        ),
        (
            "smtp",
            cfg.smtp.password_file.as_deref(),
            cfg.smtp.password_env.as_deref(),
            false,
        ),
    ];
    for (table, f, e, required) in sources {
        if !required && f.is_none() && e.is_none() {
            continue;
        }
        // Both or neither is already reported by `validate`.
        if f.is_some() == e.is_some() {
            continue;
        }
        let key = if f.is_some() {
            format!("{table}.password_file")
        } else {
            format!("{table}.password_env")
        };
        match crate::config::secret::read_secret(f, e) {
            Ok(_) => {
                if let Some(w) = f.and_then(crate::config::secret::permission_warning) {
                    c.warn(&key, w);
                }
            }
            Err(err) => c.error(&key, err.to_string()),
        }
    }
    if let Some(dir) = cfg.storage.database.parent() {
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            c.warn(
                "storage.database",
                format!(
                    "the directory {} does not exist yet: create it (systemd: StateDirectory=replygate) before starting the daemon",
                    dir.display()
                ),
            );
        }
    }
    c.problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../config/replygate.toml");

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
    fn line_col_counts_lines_and_characters() {
        let text = "a = 1\nbē = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // After the two-byte ē the column counts characters, not bytes.
        let off = text.find('=').map(|_| text.rfind('=').unwrap()).unwrap();
        assert_eq!(line_col(text, off), (2, 4));
        assert_eq!(line_col(text, 10_000), (3, 1));
    }

    #[test]
    fn split_key_handles_indexes() {
        assert_eq!(
            split_key("staff[1].email"),
            vec![Seg::Key("staff"), Seg::Index(1), Seg::Key("email")]
        );
        assert_eq!(split_key("reply"), vec![Seg::Key("reply")]);
    }

    #[test]
    fn locator_points_at_values_and_falls_back_to_tables() {
        let text = "[imap]\nhost = \"x\"\n\n[[staff]]\nemail = \"a\"\n[[staff]]\nemail = \"b\"\n";
        let loc = Locator::new(text);
        assert_eq!(loc.find("imap.host"), Some((2, 8)));
        assert_eq!(loc.find("staff[1].email"), Some((7, 9)));
        // Absent key: the table's header line.
        assert_eq!(loc.find("imap.port").map(|x| x.0), Some(1));
        assert_eq!(loc.find("nothing.here"), None);
    }

    #[test]
    fn example_config_parses_and_validates_without_errors() {
        let cfg = parse_str(EXAMPLE, Path::new("replygate.toml")).unwrap();
        assert_eq!(cfg.organization.case_prefix, "SIF");
        assert_eq!(cfg.reply.working_days, 2);
        assert_eq!(cfg.staff.len(), 1);
        assert_eq!(cfg.timezone(), chrono_tz::Europe::Riga);
        assert_eq!(cfg.digest_time(), NaiveTime::from_hms_opt(9, 15, 0).unwrap());
        assert_eq!(
            cfg.calendar.hours.for_weekday(chrono::Weekday::Mon),
            TimeRange::parse("09:00-18:00").ok()
        );
    }

    /// The example with text replaced (several replacements separated by
    /// `|||`), validated; the problems found.
    fn problems_after(from: &str, to: &str) -> Vec<Problem> {
        let mut text = EXAMPLE.to_string();
        for (f, t) in from.split("|||").zip(to.split("|||")) {
            assert!(text.contains(f), "example lacks {f:?}");
            text = text.replacen(f, t, 1);
        }
        match parse_str(&text, Path::new("x.toml")) {
            Ok(_) => vec![],
            Err(e) => e.problems(),
        }
    }

    #[test]
    fn semantic_checks_table() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("domains = [\"sif.gov.lv\"]", "domains = []", "organization.domains", "at least one"),
            ("case_prefix = \"SIF\"", "case_prefix = \"SIF-X\"", "organization.case_prefix", "letters"),
            ("case_prefix = \"SIF\"", "case_prefix = \"\"", "organization.case_prefix", "letters"),
            ("security = \"tls\"", "security = \"plain\"", "imap.security", "loopback"),
            ("host = \"imap.example.lv\"|||security = \"tls\"", "host = \"127.0.0.1\"|||security = \"plain\"", "", ""),
            ("host = \"smtp.example.lv\"|||security = \"starttls\"", "host = \"localhost\"|||security = \"plain\"", "", ""),
            ("security = \"starttls\"", "security = \"plain\"", "smtp.security", "loopback"),
            ("password_file = \"/etc/replygate/imap-password\"", "", "imap", "no password source"),
            ("password_file = \"/etc/replygate/imap-password\"", "password_file = \"/x\"\npassword_env = \"X\"", "imap.password_env", "only one"),
            ("password_file = \"/etc/replygate/smtp-password\"", "", "smtp.username", "no password source"),
            ("# ca_file = \"/etc/replygate/ca.pem\"", "ca_file = \"/nonexistent/ca.pem\"", "imap.ca_file", "cannot read"),
            ("inbox = [\"INBOX\"]", "inbox = []", "imap.inbox", "at least one"),
            ("inbox = [\"INBOX\"]", "inbox = [\"INBOX\", \"INBOX\"]", "imap.inbox[1]", "twice"),
            ("timezone = \"Europe/Riga\"", "timezone = \"Europe/Rīga\"", "calendar.timezone", "unknown time zone"),
            ("holidays = \"LV\"", "holidays = \"lv\"", "calendar.holidays", "\"LV\""),
            ("holidays = \"LV\"", "holidays = \"none\"", "", ""),
            ("extra_holidays = []", "extra_holidays = [2027-05-03, 2027-05-03]", "calendar.extra_holidays[1]", "twice"),
            ("# [[calendar.extra_working_days]]\n# date = \"2027-01-09\"\n# hours = \"09:00-17:00\"", "[[calendar.extra_working_days]]\ndate = 2027-01-09\nhours = \"09:00-17:00\"\n[[calendar.extra_working_days]]\ndate = 2027-01-09\nhours = \"09:00-13:00\"", "calendar.extra_working_days[1].date", "twice"),
            ("working_days = 2", "working_days = 0", "reply.working_days", "at least 1"),
            ("ack_max_per_hour = 200", "ack_max_per_hour = 0", "reply.ack_max_per_hour", "at least 1"),
            ("# interim_pattern = 'līdz (?P<date>\\d{2}\\.\\d{2}\\.\\d{4})'", "interim_pattern = 'līdz (\\d+'", "reply.interim_pattern", "regular expression"),
            ("# interim_pattern = 'līdz (?P<date>\\d{2}\\.\\d{2}\\.\\d{4})'", "interim_pattern = 'līdz (\\d+)'", "reply.interim_pattern", "named group `date`"),
            ("# interim_pattern = 'līdz (?P<date>\\d{2}\\.\\d{2}\\.\\d{4})'", "interim_pattern = 'līdz (?P<date>\\d{2}\\.\\d{2}\\.\\d{4})'", "", ""),
            ("extra_holidays = []", "extra_holidays = [\"2027-05-03\", 2027-05-04]", "", ""),
            ("extra_holidays = []", "extra_holidays = [\"2027-05-03\", \"3.5.2027\"]", "calendar.extra_holidays[1]", "YYYY-MM-DD"),
            ("extra_holidays = []", "extra_holidays = [2027-05-03T10:00:00]", "calendar.extra_holidays[0]", "YYYY-MM-DD"),
            ("# start_from = \"2026-12-01\"", "start_from = 2026-12-01", "", ""),
            ("# start_from = \"2026-12-01\"", "start_from = 2026-12-01T09:00:00+02:00", "", ""),
            ("# start_from = \"2026-12-01\"", "start_from = 2026-12-01T09:00:00", "reply.start_from", "RFC 3339"),
            ("# start_from = \"2026-12-01\"", "start_from = \"01.12.2026\"", "reply.start_from", "YYYY-MM-DD"),
            ("# start_from = \"2026-12-01\"", "start_from = \"2026-12-01T09:00:00+02:00\"", "", ""),
            ("submission_extensions = [\"edoc\", \"asice\", \"asics\", \"sce\"]", "submission_extensions = [\".edoc\"]", "reply.submission_extensions[0]", "without the dot"),
            ("team = \"klienti@sif.gov.lv\"", "team = \"klienti at sif\"", "reminders.team", "not an e-mail address"),
            ("escalate_to = [\"vaditajs@sif.gov.lv\"]", "escalate_to = [\"ok@sif.gov.lv\", \"bad@\"]", "reminders.escalate_to[1]", "not an e-mail address"),
            ("digest_at = \"09:15\"", "digest_at = \"9:15\"", "reminders.digest_at", "HH:MM"),
            ("digest_at = \"09:15\"", "digest_at = \"24:00\"", "reminders.digest_at", "HH:MM"),
            ("cc = []", "cc = [\"x\"]", "signature.cc[0]", "not an e-mail address"),
            ("from = \"Sabiedrības integrācijas fonds <pasts@sif.gov.lv>\"", "from = \"Fonds <pasts@>\"", "smtp.from", "not a valid sender"),
            ("database = \"/var/lib/replygate/replygate.db\"", "database = \"replygate.db\"", "storage.database", "no directory"),
            ("# listen = \"127.0.0.1:9187\"", "listen = \"localhost\"", "http.listen", "address:port"),
            ("email = \"janis.berzins@sif.gov.lv\"", "email = \"janis@gmail.com\"", "staff[0].email", "not in organization.domains"),
            ("email = \"janis.berzins@sif.gov.lv\"", "email = \"janis\"", "staff[0].email", "not an e-mail address"),
            ("# [[staff]]\n# email = \"anna.liepa@sif.gov.lv\"\n# name = \"Anna\"\n# surname = \"Liepa\"", "[[staff]]\nemail = \"Janis.Berzins@SIF.gov.lv\"\nname = \"J\"\nsurname = \"B\"", "staff[1].email", "listed twice"),
        ];
        for (from, to, key, want) in cases {
            let problems = problems_after(from, to);
            if key.is_empty() {
                assert!(problems.is_empty(), "{to:?} should be fine: {problems:?}");
                continue;
            }
            let hit = problems
                .iter()
                .find(|p| p.key.as_deref() == Some(*key))
                .unwrap_or_else(|| panic!("{to:?}: no problem for {key}: {problems:?}"));
            assert!(hit.message.contains(want), "{to:?}: {hit}");
            assert!(hit.line.is_some(), "{to:?}: no line in {hit}");
        }
    }

    #[test]
    fn every_problem_is_collected_with_its_line() {
        let text = EXAMPLE
            .replacen("timezone = \"Europe/Riga\"", "timezone = \"Mars/Base\"", 1)
            .replacen("working_days = 2", "working_days = 0", 1)
            .replacen("digest_at = \"09:15\"", "digest_at = \"soon\"", 1);
        let e = parse_str(&text, Path::new("x.toml")).unwrap_err();
        let p = e.problems();
        let keys: Vec<_> = p.iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(
            keys,
            ["calendar.timezone", "reply.working_days", "reminders.digest_at"]
        );
        let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
        assert_eq!(p[0].line, Some(line_of("timezone =")));
        assert_eq!(p[1].line, Some(line_of("working_days =")));
        assert_eq!(p[2].line, Some(line_of("digest_at =")));
        let shown = e.to_string();
        assert_eq!(shown.lines().count(), 3, "{shown}");
        assert!(shown.starts_with("x.toml:"), "{shown}");
    }

    #[test]
    fn type_errors_are_reported_once_per_table() {
        let text = EXAMPLE
            .replacen("[organization]", "colour = 1\n[organization]", 1)
            .replacen("poll_interval = \"60s\"", "poll_interval = \"60\"", 1)
            .replacen("monday = \"09:00-18:00\"", "monday = \"18:00-09:00\"", 1)
            .replacen("working_days = 2", "working_days = -1", 1)
            .replacen("surname = \"Bērziņš\"", "", 1);
        let e = parse_str(&text, Path::new("x.toml")).unwrap_err();
        let keys: Vec<_> = e.problems().iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(
            keys,
            [
                "colour",
                "imap.poll_interval",
                "calendar.hours.monday",
                "reply.working_days",
                "staff[0].surname"
            ],
            "{e}"
        );
        assert!(e.problems().iter().all(|p| p.line.is_some()), "{e}");
    }

    #[test]
    fn serde_errors_name_key_and_table() {
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "working_days = 2",
                "working_dayz = 2",
                "reply.working_dayz",
                "unknown key `working_dayz` in [reply]",
            ),
            (
                "ack_min_interval = \"1d\"",
                "ack_min_interval = \"1x\"",
                "reply.ack_min_interval",
                "unknown unit \"x\"",
            ),
            (
                "team = \"klienti@sif.gov.lv\"",
                "",
                "reminders.team",
                "required key `team` is missing from [reminders]",
            ),
            (
                "ack = \"end_of_day\"",
                "ack = \"later\"",
                "reply.ack",
                "unknown variant",
            ),
            (
                "working_days = 2",
                "working_days = \"two\"",
                "reply.working_days",
                "invalid type",
            ),
            (
                "surname = \"Bērziņš\"",
                "surname = \"Bērziņš\"\nmail = \"x\"",
                "staff[0].mail",
                "unknown key `mail` in [staff[0]]",
            ),
        ];
        for (from, to, key, want) in cases {
            let p = problems_after(from, to);
            assert_eq!(p.len(), 1, "{to:?}: {p:?}");
            assert_eq!(p[0].key.as_deref(), Some(*key), "{to:?}: {}", p[0]);
            assert!(p[0].message.contains(want), "{to:?}: {}", p[0]);
            assert!(p[0].line.is_some() && p[0].column.is_some(), "{}", p[0]);
        }
        let p = problems_after("working_days = 2", "working_dayz = 2");
        assert!(
            p[0].message.contains("`working_days`"),
            "lists allowed keys: {}",
            p[0]
        );
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
        for line in ["start_from = 2026-12-01", "start_from = \"2026-12-01\""] {
            let text = EXAMPLE.replacen("# start_from = \"2026-12-01\"", line, 1);
            let cfg = parse_str(&text, Path::new("x.toml")).unwrap();
            assert_eq!(cfg.start_from(), Some(d), "{line}");
        }
        let cfg = parse_str(EXAMPLE, Path::new("x.toml")).unwrap();
        assert_eq!(cfg.start_from(), None);
        assert!(parse_start_from("yesterday", tz).is_err());
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        assert!(!is_loopback_host("imap.localhost"));
        for h in [
            "10.0.0.1",
            "imap.example.lv",
            "localhost.example.lv",
            "::2",
            "128.0.0.1",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn syntax_errors_are_located_and_do_not_quote_the_line() {
        let text = EXAMPLE.replacen("name = \"Jānis\"", "name = Sup3rS3cretPw", 1);
        let e = parse_str(&text, Path::new("x.toml")).unwrap_err().to_string();
        let line = text.lines().position(|l| l.contains("Sup3rS3cretPw")).unwrap() + 1;
        assert!(e.contains(&format!("x.toml:{line}:")), "{e}");
        assert!(!e.contains("Sup3rS3cretPw"), "{e}");
    }
}
