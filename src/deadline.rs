//! STUB (replaced by the calendar branch).
#![allow(unused)]
use crate::calendar::Calendar;
use chrono::{DateTime, NaiveDate, Utc};
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseKind {
    Email,
    Submission,
}
impl std::fmt::Display for CaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CaseKind::Email => "email",
            CaseKind::Submission => "submission",
        })
    }
}
pub fn reply_deadline(_c: &Calendar, _r: DateTime<Utc>, _k: CaseKind, _n: u32) -> DateTime<Utc> {
    todo!()
}
pub fn submission_limit(_c: &Calendar, _r: DateTime<Utc>) -> NaiveDate {
    todo!()
}
pub fn date_deadline(_c: &Calendar, _d: NaiveDate) -> DateTime<Utc> {
    todo!()
}
pub fn ack_at(_c: &Calendar, _r: DateTime<Utc>, _m: crate::config::AckMode) -> DateTime<Utc> {
    todo!()
}
