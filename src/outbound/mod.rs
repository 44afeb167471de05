//! Outbound: actions become rendered, composed messages in the outbox, which
//! is flushed over SMTP.

pub mod compose;
pub mod outbox;
pub mod smtp;
pub mod templates;
