//! `[smtp]`: the relay the gateway sends through and its own address.

use std::path::PathBuf;

use serde::Deserialize;

use super::connection::{check_ca_file, check_password_source, is_loopback_host, Security};
use super::organization::OrganizationConfig;
use super::problem::Checker;

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
    /// SMTP connections used at once when several messages are due (each
    /// carries one transaction at a time).
    #[serde(default = "default_smtp_connections")]
    pub connections: usize,
}

/// The most SMTP connections `smtp.connections` may ask for (submission
/// servers limit connections per client, often to 10 or 20).
pub const MAX_SMTP_CONNECTIONS: usize = 16;

fn default_smtp_connections() -> usize {
    4
}

fn default_smtp_port() -> u16 {
    587
}
fn default_starttls() -> Security {
    Security::Starttls
}

impl SmtpConfig {
    /// True when a password source is configured (SMTP with
    /// authentication).
    pub fn authenticates(&self) -> bool {
        self.password_file.is_some() || self.password_env.is_some()
    }

    pub(super) fn validate(&self, org: &OrganizationConfig, c: &mut Checker<'_>) {
        self.validate_server(c);
        self.validate_login(c);
        check_password_source(
            c,
            "smtp",
            self.password_file.as_deref(),
            self.password_env.as_deref(),
        );
        if let Some(ca) = &self.ca_file {
            check_ca_file(c, "smtp.ca_file", ca);
        }
        self.validate_from(org, c);
        if !(1..=MAX_SMTP_CONNECTIONS).contains(&self.connections) {
            c.error(
                "smtp.connections",
                format!(
                    "{} is out of range: give 1 to {MAX_SMTP_CONNECTIONS} (default 4; 1 sends one message at a time)",
                    self.connections
                ),
            );
        }
        if self.save_copy_to.as_deref().is_some_and(|f| f.trim().is_empty()) {
            c.error(
                "smtp.save_copy_to",
                "must be a folder name, e.g. \"Sent\", or left out",
            );
        }
    }

    fn validate_server(&self, c: &mut Checker<'_>) {
        if self.host.trim().is_empty() {
            c.error("smtp.host", "must not be empty: the SMTP server's host name");
        }
        if self.security == Security::Plain && !is_loopback_host(&self.host) {
            c.error(
                "smtp.security",
                format!(
                    "\"plain\" is unencrypted and allowed only to a loopback host (127.0.0.1, ::1, localhost), not to \"{}\": use \"starttls\" or \"tls\"",
                    self.host
                ),
            );
        }
        if self.port == 0 {
            c.error(
                "smtp.port",
                "must be a TCP port 1-65535 (usually 587 for starttls, 465 for tls)",
            );
        }
    }

    /// Username and password source go together, or neither is set.
    fn validate_login(&self, c: &mut Checker<'_>) {
        let has_user = self.username.as_deref().is_some_and(|u| !u.trim().is_empty());
        let has_pw = self.authenticates();
        if self.password_file.is_some() && self.password_env.is_some() {
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
        if self.username.as_deref().is_some_and(|u| u.trim().is_empty()) {
            c.error("smtp.username", "must not be empty when given");
        }
    }

    fn validate_from(&self, org: &OrganizationConfig, c: &mut Checker<'_>) {
        use std::str::FromStr;
        match lettre::message::Mailbox::from_str(self.from.trim()) {
            Ok(mb) => {
                if !org.owns(mb.email.as_ref()) {
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
                    self.from
                ),
            ),
        }
    }
}
