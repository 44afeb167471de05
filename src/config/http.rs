//! `[http]`: the optional listener for `/healthz`, `/metrics` and the
//! dashboard (SPEC §12), and the token that guards it.

use std::path::PathBuf;

use serde::Deserialize;

use super::problem::Checker;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default)]
    pub listen: Option<String>,
    /// A file holding the token every request must carry (`Authorization:
    /// Bearer …` or `?token=`); required for a non-loopback `listen`.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

impl HttpConfig {
    /// Whether `listen` is a loopback address (or absent).
    pub fn loopback(&self) -> bool {
        self.listen
            .as_deref()
            .and_then(|l| l.trim().parse::<std::net::SocketAddr>().ok())
            .is_none_or(|a| a.ip().is_loopback())
    }

    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        if let Some(l) = &self.listen {
            if l.trim().parse::<std::net::SocketAddr>().is_err() {
                c.error(
                    "http.listen",
                    format!("\"{l}\" is not an address:port such as \"127.0.0.1:9187\""),
                );
            } else if !self.loopback() && self.token_file.is_none() {
                c.error(
                    "http.listen",
                    format!(
                        "\"{l}\" is reachable from other machines: set http.token_file (a file holding a long random token) \
                         or listen on 127.0.0.1 and reach it through an SSH tunnel"
                    ),
                );
            }
        }
        if self.token_file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
            c.error("http.token_file", "must be a file path such as \"http-token\"");
        }
    }
}
