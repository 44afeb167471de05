//! Configuration: the one TOML file an admin edits (SPEC §8).
//!
//! One file per section of the file (`organization.rs`, `imap.rs`, …
//! `staff.rs`), each with its struct, its defaults and its checks; the
//! structs mirror the file exactly and unknown keys are refused
//! (`deny_unknown_fields`). Every value is parsed once, when the file is
//! read, into the type the rest of the code uses (durations, times, dates,
//! the time zone, the holiday set). Reading and locating errors is in
//! `read.rs` and `locate.rs`, loading and checking in `load.rs`, secrets in
//! `secret.rs`.

mod address;
mod auth;
mod calendar;
mod connection;
mod duration;
mod feedback;
mod http;
mod imap;
mod load;
mod locate;
mod log;
mod organization;
mod problem;
mod read;
mod reminders;
mod reply;
pub mod secret;
mod signature;
mod smtp;
mod staff;
mod storage;
mod templates;
mod time;

#[cfg(test)]
mod tests;

use serde::Deserialize;

pub use auth::{AuthMethod, OAuth2Config};
pub use calendar::{CalendarConfig, ExtraWorkingDay, HolidaySet, WeekHours};
pub use connection::{is_loopback_host, Security};
pub use duration::HumanDuration;
pub use feedback::FeedbackConfig;
pub use http::HttpConfig;
pub use imap::ImapConfig;
pub use load::{check, load, parse_str, validate, CheckReport};
pub use log::LogConfig;
pub use organization::OrganizationConfig;
pub use problem::{ConfigError, Problem, Severity};
pub use reminders::RemindersConfig;
pub use reply::{default_public_domains, AckMode, ReplyConfig};
pub use signature::{SignatureConfig, SignatureElement};
pub use smtp::SmtpConfig;
pub use staff::StaffMember;
pub use storage::StorageConfig;
pub use templates::TemplatesConfig;
pub use time::{parse_start_from, parse_time_of_day, parse_timezone, StartFrom, TimeRange};

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
    pub feedback: FeedbackConfig,
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
    /// The client-credentials grant for `auth = "xoauth2"` / `"oauthbearer"`.
    #[serde(default)]
    pub oauth2: Option<OAuth2Config>,
}

/// Parse a config from text without semantic validation (for tests that
/// build a config inline). Use [`load`] or [`parse_str`] for real input.
pub fn from_str(text: &str) -> Result<Config, toml::de::Error> {
    toml::from_str(text)
}

impl Config {
    /// The calendar time zone (`calendar.timezone`).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.calendar.timezone
    }

    /// `reply.start_from` as an instant: a date means local midnight in the
    /// calendar time zone. `None` when unset (or when the date has no
    /// start in that zone, which [`load`] refuses).
    pub fn start_from(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.reply.start_from?.at(self.timezone()).ok()
    }

    /// `reminders.digest_at`, the daily digest's local time.
    pub fn digest_time(&self) -> chrono::NaiveTime {
        self.reminders.digest_at
    }

    /// The IMAP password from `imap.password_file` or `imap.password_env`.
    pub fn imap_password(&self) -> Result<secret::Secret, secret::SecretError> {
        secret::read_secret(
            self.imap.password_file.as_deref(),
            self.imap.password_env.as_deref(),
        )
    }

    /// The SMTP password; `Ok(None)` when SMTP is used without
    /// authentication (no password source configured).
    pub fn smtp_password(&self) -> Result<Option<secret::Secret>, secret::SecretError> {
        if !self.smtp.authenticates() {
            return Ok(None);
        }
        secret::read_secret(
            self.smtp.password_file.as_deref(),
            self.smtp.password_env.as_deref(),
        )
        .map(Some)
    }
}
