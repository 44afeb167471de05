//! What `[imap]` and `[smtp]` share: the transport security, the loopback
//! rule for `security = "plain"`, and the checks of a password source and a
//! CA file.

use std::path::Path;

use serde::Deserialize;

use super::problem::Checker;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    Tls,
    Starttls,
    Plain,
}

impl Security {
    /// The name as written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::Plain => "plain",
        }
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

/// `password_file` / `password_env` look like a file and a variable name
/// (whether they can be read is [`super::load::check`]'s business).
pub(super) fn check_password_source(
    c: &mut Checker<'_>,
    table: &str,
    file: Option<&Path>,
    env: Option<&str>,
) {
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

/// The CA file is readable PEM with at least one certificate.
pub(super) fn check_ca_file(c: &mut Checker<'_>, key: &str, path: &Path) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
