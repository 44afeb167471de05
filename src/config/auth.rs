//! `imap.auth` / `smtp.auth` and the `[oauth2]` section (SPEC §13.1): how
//! replygate logs in where a server refuses passwords (Exchange Online),
//! and the checks of those keys.

use std::path::PathBuf;

use serde::Deserialize;

use super::connection::{check_ca_file, is_loopback_host};
use super::problem::Checker;
use super::Config;

/// How replygate logs in to a server (`imap.auth`, `smtp.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// LOGIN / AUTH PLAIN with `password_file` or `password_env`.
    #[default]
    Password,
    /// SASL XOAUTH2 (Microsoft, Google) with a token from `[oauth2]`.
    Xoauth2,
    /// SASL OAUTHBEARER (RFC 7628) with a token from `[oauth2]`.
    Oauthbearer,
}

impl AuthMethod {
    /// True for the token-based mechanisms.
    pub fn is_oauth(self) -> bool {
        !matches!(self, AuthMethod::Password)
    }

    /// The config value, for messages.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Xoauth2 => "xoauth2",
            AuthMethod::Oauthbearer => "oauthbearer",
        }
    }
}

/// `[oauth2]`: the client-credentials grant (RFC 6749 §4.4) that yields the
/// access tokens for `auth = "xoauth2"` / `"oauthbearer"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// The token endpoint, e.g.
    /// `https://login.microsoftonline.com/TENANT/oauth2/v2.0/token`.
    /// `http://` only to a loopback host.
    pub token_url: String,
    pub client_id: String,
    /// The client secret: a file (relative: `$CREDENTIALS_DIRECTORY` or the
    /// config file's directory) or an environment variable; exactly one.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Space-separated scopes; Microsoft 365:
    /// `https://outlook.office365.com/.default`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Also trust this CA (PEM) for the token endpoint.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl Config {
    /// The `[oauth2]` client secret.
    pub fn oauth2_secret(&self) -> Result<super::secret::Secret, super::secret::SecretError> {
        let (f, e) = match &self.oauth2 {
            Some(o) => (o.client_secret_file.as_deref(), o.client_secret_env.as_deref()),
            None => (None, None),
        };
        super::secret::read_secret(f, e)
    }

    /// True when either server logs in with a token.
    pub fn uses_oauth2(&self) -> bool {
        self.imap.auth.is_oauth() || self.smtp.auth.is_oauth()
    }
}

/// Checks of `auth` and `[oauth2]` (no secret is read here).
pub(super) fn validate(c: &mut Checker<'_>, cfg: &Config) {
    for (table, auth, has_pw) in [
        (
            "imap",
            cfg.imap.auth,
            cfg.imap.password_file.is_some() || cfg.imap.password_env.is_some(),
        ),
        (
            "smtp",
            cfg.smtp.auth,
            cfg.smtp.password_file.is_some() || cfg.smtp.password_env.is_some(),
        ),
    ] {
        if !auth.is_oauth() {
            continue;
        }
        if has_pw {
            c.error(
                &format!("{table}.auth"),
                format!(
                    "auth = \"{}\" logs in with a token from [oauth2]: remove {table}.password_file / {table}.password_env",
                    auth.name()
                ),
            );
        }
        if cfg.oauth2.is_none() {
            c.error(
                &format!("{table}.auth"),
                format!(
                    "auth = \"{}\" needs an [oauth2] section (token_url, client_id, client_secret_file, scope)",
                    auth.name()
                ),
            );
        }
    }
    if cfg.smtp.auth.is_oauth() && cfg.smtp.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
        c.error(
            "smtp.username",
            "smtp.auth uses a token: set smtp.username to the mailbox the token is for (the SASL user)",
        );
    }
    let Some(o) = &cfg.oauth2 else { return };
    if !cfg.uses_oauth2() {
        c.warn(
            "oauth2",
            "[oauth2] is set but neither imap.auth nor smtp.auth is \"xoauth2\" or \"oauthbearer\": it is not used",
        );
    }
    match url::Url::parse(o.token_url.trim()) {
        Ok(u) => match u.scheme() {
            "https" => {}
            "http" if u.host_str().is_some_and(is_loopback_host) => {}
            "http" => c.error(
                "oauth2.token_url",
                format!(
                    "\"{}\" would send the client secret unencrypted: use https:// (http:// is allowed only to a loopback host)",
                    o.token_url
                ),
            ),
            other => c.error(
                "oauth2.token_url",
                format!("scheme \"{other}\" is not supported: use an https:// URL"),
            ),
        },
        Err(e) => c.error(
            "oauth2.token_url",
            format!(
                "\"{}\" is not a URL ({e}); e.g. \"https://login.microsoftonline.com/TENANT/oauth2/v2.0/token\"",
                o.token_url
            ),
        ),
    }
    if o.client_id.trim().is_empty() {
        c.error(
            "oauth2.client_id",
            "must not be empty: the application (client) id of the app registration",
        );
    }
    match (&o.client_secret_file, &o.client_secret_env) {
        (Some(_), Some(_)) => c.error(
            "oauth2.client_secret_env",
            "both oauth2.client_secret_file and oauth2.client_secret_env are set: keep only one",
        ),
        (None, None) => c.error(
            "oauth2",
            "no client secret: set oauth2.client_secret_file = \"oauth2-secret\" or oauth2.client_secret_env = \"VARIABLE\"",
        ),
        _ => {}
    }
    if o.client_secret_file
        .as_ref()
        .is_some_and(|f| f.as_os_str().is_empty())
    {
        c.error("oauth2.client_secret_file", "must be a file path, not empty");
    }
    if let Some(e) = &o.client_secret_env {
        if e.is_empty() || e.contains('=') || e.contains('\0') {
            c.error(
                "oauth2.client_secret_env",
                format!("\"{e}\" is not an environment variable name"),
            );
        }
    }
    if o.scope.as_deref().is_some_and(|s| s.contains(['\r', '\n'])) {
        c.error("oauth2.scope", "must be one line of space-separated scopes");
    }
    if let Some(ca) = &o.ca_file {
        check_ca_file(c, "oauth2.ca_file", ca);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const BASE: &str = r#"
[organization]
name = "SIF"
domains = ["sif.gov.lv"]
[reminders]
team = "klienti@sif.gov.lv"
[storage]
database = "/tmp/x.db"
"#;

    fn problems(imap: &str, smtp: &str, oauth: &str) -> Vec<String> {
        let text = format!(
            "{BASE}\n[imap]\nhost = \"imap.example.lv\"\nusername = \"pasts@sif.gov.lv\"\n{imap}\n\
             [smtp]\nhost = \"smtp.example.lv\"\nfrom = \"pasts@sif.gov.lv\"\nusername = \"pasts@sif.gov.lv\"\n{smtp}\n{oauth}"
        );
        match crate::config::parse_str(&text, Path::new("t.toml")) {
            Ok(_) => vec![],
            Err(e) => e.problems().into_iter().map(|p| p.to_string()).collect(),
        }
    }

    const OAUTH: &str = "[oauth2]\ntoken_url = \"https://login.microsoftonline.com/T/oauth2/v2.0/token\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\nscope = \"https://outlook.office365.com/.default\"\n";

    #[test]
    fn auth_and_oauth2_checks() {
        let pw = "password_env = \"P\"";
        // (imap, smtp, oauth2, expected fragment of an error or "" for none)
        let cases: &[(&str, &str, &str, &str)] = &[
            (pw, pw, "", ""),
            ("auth = \"xoauth2\"", "auth = \"oauthbearer\"", OAUTH, ""),
            ("auth = \"xoauth2\"", pw, OAUTH, ""),
            ("auth = \"xoauth2\"", pw, "", "needs an [oauth2] section"),
            (
                "auth = \"xoauth2\"\npassword_env = \"P\"",
                pw,
                OAUTH,
                "remove imap.password_file",
            ),
            ("auth = \"kerberos\"", pw, OAUTH, "imap.auth"),
            (
                "auth = \"xoauth2\"",
                pw,
                &OAUTH.replace("https://login.microsoftonline.com", "http://login.example"),
                "unencrypted",
            ),
            (
                "auth = \"xoauth2\"",
                pw,
                &OAUTH.replace("https://login.microsoftonline.com", "http://127.0.0.1:8080"),
                "",
            ),
            (
                "auth = \"xoauth2\"",
                pw,
                &OAUTH.replace("client_secret_env = \"S\"\n", ""),
                "no client secret",
            ),
            (
                "auth = \"xoauth2\"",
                pw,
                &OAUTH.replace(
                    "client_secret_env = \"S\"",
                    "client_secret_env = \"S\"\nclient_secret_file = \"f\"",
                ),
                "keep only one",
            ),
            (
                "auth = \"xoauth2\"",
                pw,
                &OAUTH.replace("client_id = \"id\"", "client_id = \" \""),
                "client_id",
            ),
            (
                "auth = \"xoauth2\"",
                pw,
                &format!("{OAUTH}tenant = \"x\"\n"),
                "tenant",
            ),
        ];
        for (imap, smtp, oauth, want) in cases {
            let p = problems(imap, smtp, oauth);
            if want.is_empty() {
                assert!(p.is_empty(), "{imap} / {smtp} / {oauth}: {p:?}");
            } else {
                assert!(
                    p.iter().any(|x| x.contains(want)),
                    "{imap} / {oauth}: want {want:?} in {p:?}"
                );
            }
        }
    }
}
