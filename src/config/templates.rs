//! `[templates]`: where the admin's own mail templates are (the built-in
//! ones otherwise). Rendered and checked by `outbound::templates`.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TemplatesConfig {
    #[serde(default)]
    pub directory: Option<PathBuf>,
}
