//! `[reply]`: the reply rules — the deadline in working days, when and how
//! often to acknowledge, what counts as a formal submission, and where the
//! gateway starts.

use chrono_tz::Tz;
use serde::Deserialize;

use super::duration::HumanDuration;
use super::problem::Checker;
use super::time::{de_start_from, StartFrom};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    #[default]
    EndOfDay,
    Immediate,
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
    /// string or a TOML date/datetime. Use [`super::Config::start_from`]
    /// for the instant.
    #[serde(default, deserialize_with = "de_start_from")]
    pub start_from: Option<StartFrom>,
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

impl ReplyConfig {
    /// `tz` is the calendar's: `start_from` as a date must exist there.
    pub(super) fn validate(&self, tz: Tz, c: &mut Checker<'_>) {
        if self.working_days < 1 {
            c.error("reply.working_days", "must be at least 1 (the guidelines say 2)");
        }
        if self.ack_max_per_hour < 1 {
            c.error(
                "reply.ack_max_per_hour",
                "must be at least 1: 0 would stop every acknowledgement",
            );
        }
        for (i, w) in self.never_ack.iter().enumerate() {
            if w.trim().is_empty() {
                c.error(
                    &format!("reply.never_ack[{i}]"),
                    "an empty pattern would match every sender",
                );
            }
        }
        self.validate_submission(c);
        self.validate_interim_pattern(c);
        if let Some(s) = self.start_from {
            if let Err(e) = s.at(tz) {
                c.error("reply.start_from", e);
            }
        }
        if self
            .trusted_authserv_id
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            c.error(
                "reply.trusted_authserv_id",
                "must be your receiving server's authserv-id (e.g. \"mx.sif.gov.lv\") or left out",
            );
        }
        if let Some(h) = &self.internal_header {
            let name = h.split_once(':').map_or(h.as_str(), |(n, _)| n).trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                c.error(
                    "reply.internal_header",
                    "must be a header name, optionally with its value, such as \"X-Internal-Origin: yes\"",
                );
            }
        }
        for (i, d) in self.public_domains.iter().enumerate() {
            let d = d.trim().trim_start_matches('@');
            if d.is_empty() || !d.contains('.') || d.contains(char::is_whitespace) || d.contains('@') {
                c.error(
                    &format!("reply.public_domains[{i}]"),
                    "must be a mail domain such as \"gmail.com\"",
                );
            }
        }
    }

    fn validate_submission(&self, c: &mut Checker<'_>) {
        for (i, e) in self.submission_extensions.iter().enumerate() {
            let e = e.trim();
            if e.is_empty() || e.starts_with('.') || e.contains(['/', '\\', ' ']) {
                c.error(
                    &format!("reply.submission_extensions[{i}]"),
                    format!("\"{e}\" is not a file extension: write it without the dot, e.g. \"edoc\""),
                );
            }
        }
        for (i, w) in self.submission_subject_words.iter().enumerate() {
            if w.trim().is_empty() {
                c.error(
                    &format!("reply.submission_subject_words[{i}]"),
                    "an empty word would make every mail a submission",
                );
            }
        }
    }

    fn validate_interim_pattern(&self, c: &mut Checker<'_>) {
        let Some(p) = &self.interim_pattern else {
            return;
        };
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
}
