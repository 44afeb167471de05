//! Cases: recorded messages become case changes (open, join, reopen, answer,
//! extend), with interim-reply and signature judgements on staff mail.

pub mod case;
pub mod feedback;
pub mod interim;
pub mod signature;
pub mod staff_reply;
pub mod tracker;

pub use case::{Case, CaseState};
