//! `[organization]`: who the institution is and which mail domains are its
//! own.

use serde::Deserialize;

use super::problem::Checker;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub domains: Vec<String>,
    #[serde(default = "default_case_prefix")]
    pub case_prefix: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub website: String,
}

fn default_case_prefix() -> String {
    "SIF".into()
}

impl OrganizationConfig {
    /// True when the address's domain is one of `domains` (ASCII case
    /// ignored).
    pub(super) fn owns(&self, addr: &str) -> bool {
        let dom = addr.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
        self.domains.iter().any(|d| d.trim().eq_ignore_ascii_case(&dom))
    }

    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        if self.name.trim().is_empty() {
            c.error(
                "organization.name",
                "must not be empty: the institution's name as it appears in signatures",
            );
        }
        if self.domains.is_empty() {
            c.error(
                "organization.domains",
                "must list at least one mail domain of the institution, e.g. [\"sif.gov.lv\"]",
            );
        }
        for (i, d) in self.domains.iter().enumerate() {
            let d = d.trim();
            if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
                c.error(
                    &format!("organization.domains[{i}]"),
                    format!("\"{d}\" is not a mail domain: write only the part after @, e.g. \"sif.gov.lv\""),
                );
            }
        }
        let p = &self.case_prefix;
        if p.is_empty() || !p.chars().all(|ch| ch.is_ascii_alphanumeric()) {
            c.error(
                "organization.case_prefix",
                format!("\"{p}\" is not a valid case prefix: use only letters A-Z and digits, e.g. \"SIF\""),
            );
        }
    }
}
