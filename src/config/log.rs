//! `[log]`: the tracing filter.

use serde::Deserialize;

use super::problem::Checker;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as "info" or "replygate=debug"; RUST_LOG wins.
    #[serde(default)]
    pub level: Option<String>,
}

impl LogConfig {
    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        if let Some(l) = &self.level {
            if let Err(e) = tracing_subscriber::EnvFilter::try_new(l) {
                c.error(
                    "log.level",
                    format!("\"{l}\" is not a log filter ({e}): use e.g. \"info\" or \"replygate=debug\""),
                );
            }
        }
    }
}
