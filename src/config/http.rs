//! `[http]`: the optional listener for `/healthz` and `/metrics`.

use serde::Deserialize;

use super::problem::Checker;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default)]
    pub listen: Option<String>,
}

impl HttpConfig {
    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        if let Some(l) = &self.listen {
            if l.trim().parse::<std::net::SocketAddr>().is_err() {
                c.error(
                    "http.listen",
                    format!("\"{l}\" is not an address:port such as \"127.0.0.1:9187\""),
                );
            }
        }
    }
}
