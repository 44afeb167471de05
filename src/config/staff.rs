//! `[[staff]]`: the institution's people, whose replies carry their
//! signature.

use serde::Deserialize;

use super::organization::OrganizationConfig;
use super::problem::Checker;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffMember {
    pub email: String,
    pub name: String,
    pub surname: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// Each address valid, listed once and in the organization's domains; names
/// given.
pub(super) fn validate(staff: &[StaffMember], org: &OrganizationConfig, c: &mut Checker<'_>) {
    use std::str::FromStr;
    let mut seen = std::collections::HashMap::new();
    for (i, s) in staff.iter().enumerate() {
        let key = format!("staff[{i}].email");
        match lettre::Address::from_str(s.email.trim()) {
            Ok(_) => {
                let lower = s.email.trim().to_lowercase();
                if let Some(first) = seen.insert(lower, i) {
                    c.error(
                        &key,
                        format!(
                            "{} is listed twice (also staff[{first}]): keep one entry",
                            s.email
                        ),
                    );
                }
                if !org.owns(&s.email) {
                    c.error(
                        &key,
                        format!(
                            "{} is not in organization.domains ({}): staff are people of the institution",
                            s.email,
                            org.domains.join(", ")
                        ),
                    );
                }
            }
            Err(_) => c.error(
                &key,
                format!(
                    "\"{}\" is not an e-mail address: write it bare, e.g. \"janis.berzins@sif.gov.lv\"",
                    s.email
                ),
            ),
        }
        if s.name.trim().is_empty() {
            c.error(&format!("staff[{i}].name"), "must not be empty");
        }
        if s.surname.trim().is_empty() {
            c.error(&format!("staff[{i}].surname"), "must not be empty");
        }
    }
}
