//! Shared test support (real servers started per test).

pub mod smtp_sink;
pub mod tls_smtp;
