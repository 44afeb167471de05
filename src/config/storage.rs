//! `[storage]`: the SQLite database and how long closed cases are kept.

use std::path::PathBuf;

use serde::Deserialize;

use super::duration::HumanDuration;
use super::problem::Checker;

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

impl StorageConfig {
    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        let db = &self.database;
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
        if self.retention.0 < chrono::Duration::days(1) {
            c.error("storage.retention", "must be at least \"1d\" (default \"730d\")");
        }
    }
}
