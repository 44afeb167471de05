//! `[imap]`: the shared mailbox the gateway reads.

use std::path::PathBuf;

use serde::Deserialize;

use super::connection::{check_ca_file, check_password_source, is_loopback_host, Security};
use super::duration::HumanDuration;
use super::problem::Checker;

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

impl ImapConfig {
    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        if self.host.trim().is_empty() {
            c.error("imap.host", "must not be empty: the IMAP server's host name");
        }
        if self.security == Security::Plain && !is_loopback_host(&self.host) {
            c.error(
                "imap.security",
                format!(
                    "\"plain\" sends the password unencrypted and is allowed only to a loopback host (127.0.0.1, ::1, localhost), not to \"{}\": use \"tls\" or \"starttls\"",
                    self.host
                ),
            );
        }
        if self.port == 0 {
            c.error(
                "imap.port",
                "must be a TCP port 1-65535 (usually 993 for tls, 143 for starttls)",
            );
        }
        if self.username.trim().is_empty() {
            c.error("imap.username", "must not be empty: the mailbox login");
        }
        match (&self.password_file, &self.password_env) {
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
            c,
            "imap",
            self.password_file.as_deref(),
            self.password_env.as_deref(),
        );
        if let Some(ca) = &self.ca_file {
            check_ca_file(c, "imap.ca_file", ca);
        }
        if self.inbox.is_empty() {
            c.error(
                "imap.inbox",
                "must name at least one folder to watch, e.g. [\"INBOX\"]",
            );
        }
        for (list, name) in [(&self.inbox, "imap.inbox"), (&self.sent, "imap.sent")] {
            let mut seen = std::collections::HashSet::new();
            for (i, f) in list.iter().enumerate() {
                if f.trim().is_empty() {
                    c.error(&format!("{name}[{i}]"), "a folder name must not be empty");
                } else if !seen.insert(f.as_str()) {
                    c.error(&format!("{name}[{i}]"), format!("folder \"{f}\" is listed twice"));
                }
            }
        }
        if self.poll_interval.0 < chrono::Duration::seconds(1) {
            c.error("imap.poll_interval", "must be at least \"1s\" (e.g. \"60s\")");
        }
    }
}
