//! The address check shared by `[reminders]`, `[signature]` and others.

use super::problem::Checker;

/// An e-mail address with an optional display name.
pub(super) fn check_mailbox(c: &mut Checker<'_>, key: &str, value: &str) {
    use std::str::FromStr;
    if let Err(e) = lettre::message::Mailbox::from_str(value.trim()) {
        c.error(
            key,
            format!("\"{value}\" is not an e-mail address ({e}): write e.g. \"klienti@sif.gov.lv\""),
        );
    }
}
