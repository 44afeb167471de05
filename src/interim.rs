//! STUB (replaced by the signature branch).
#![allow(unused)]
use chrono::NaiveDate;
pub struct InterimMatcher;
pub enum InterimFinding {
    Date(NaiveDate),
    Unparseable(String),
}
pub enum Refusal {
    InPast,
    BeyondLimit(NaiveDate),
    Unparseable,
}
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("x")
    }
}
impl InterimMatcher {
    pub fn new(_p: Option<&str>) -> Result<Self, regex::Error> {
        Ok(InterimMatcher)
    }
    pub fn find(&self, _t: &str) -> Option<InterimFinding> {
        None
    }
}
pub fn is_acceptable(
    _d: NaiveDate,
    _r: NaiveDate,
    _n: NaiveDate,
    _l: Option<NaiveDate>,
) -> Result<(), Refusal> {
    Ok(())
}
