//! `[reminders]`: who is reminded of due cases, when, and to whom they are
//! escalated.

use chrono::NaiveTime;
use serde::Deserialize;

use super::address::check_mailbox;
use super::duration::HumanDuration;
use super::problem::Checker;
use super::time::de_time_of_day;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindersConfig {
    pub team: String,
    #[serde(default = "default_before")]
    pub before: HumanDuration,
    #[serde(default)]
    pub escalate_to: Vec<String>,
    /// The daily digest's local time, written `"HH:MM"`.
    #[serde(default = "default_digest_at", deserialize_with = "de_time_of_day")]
    pub digest_at: NaiveTime,
    /// More escalations than this falling due at once (a first start on a
    /// backlog, a long outage) go out as one mail listing the cases; 0:
    /// always one mail per case.
    #[serde(default = "default_combine_escalations_over")]
    pub combine_escalations_over: usize,
}

fn default_combine_escalations_over() -> usize {
    10
}

fn default_before() -> HumanDuration {
    HumanDuration(chrono::Duration::hours(4))
}
fn default_digest_at() -> NaiveTime {
    NaiveTime::from_hms_opt(9, 15, 0).unwrap_or(NaiveTime::MIN)
}

impl RemindersConfig {
    pub(super) fn validate(&self, c: &mut Checker<'_>) {
        check_mailbox(c, "reminders.team", &self.team);
        for (i, a) in self.escalate_to.iter().enumerate() {
            check_mailbox(c, &format!("reminders.escalate_to[{i}]"), a);
        }
    }
}
