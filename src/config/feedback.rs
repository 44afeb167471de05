//! `[feedback]`: client feedback about the service (SPEC §14): who hears of
//! it, and the words that recognise it.

use serde::Deserialize;

use super::address::check_mailbox;
use super::problem::Checker;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackConfig {
    /// The quality owner(s): told of every feedback case, within working hours.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Replaces the built-in phrases and words (`None`: the built-in list).
    #[serde(default)]
    pub words: Option<Vec<String>>,
    /// Added to the list in use (built-in or `words`).
    #[serde(default)]
    pub extra_words: Vec<String>,
}

impl FeedbackConfig {
    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        for (i, a) in self.notify.iter().enumerate() {
            check_mailbox(c, &format!("feedback.notify[{i}]"), a);
        }
        if let Some(words) = &self.words {
            if words.iter().all(|w| w.trim().is_empty()) {
                c.error(
                    "feedback.words",
                    "an empty list would recognise no feedback at all: remove the key to use the built-in list, or name the words".to_string(),
                );
            }
        }
        for (i, w) in self
            .words
            .iter()
            .flatten()
            .chain(self.extra_words.iter())
            .enumerate()
        {
            if w.trim().chars().count() < 3 {
                c.error(
                    &format!("feedback.words[{i}]"),
                    format!("\"{w}\" is too short to recognise feedback by: use a word or phrase of 3 or more letters"),
                );
            }
        }
    }

    /// The recogniser for this configuration.
    pub fn recogniser(&self) -> crate::cases::feedback::Recogniser {
        crate::cases::feedback::Recogniser::new(self.words.as_deref(), &self.extra_words)
    }
}
