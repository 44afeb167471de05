//! STUB (replaced by the signature branch).
#![allow(unused)]
use crate::config::{OrganizationConfig, SignatureElement, StaffMember};
use crate::message::Address;
pub struct Verdict {
    pub compliant: bool,
    pub missing: Vec<SignatureElement>,
    pub author: String,
}
pub fn check(
    _t: &str,
    _f: &Address,
    _s: &[StaffMember],
    _o: &OrganizationConfig,
    _r: &[SignatureElement],
) -> Verdict {
    todo!()
}
pub fn expected_signature(_f: &Address, _s: &[StaffMember], _o: &OrganizationConfig) -> String {
    todo!()
}
