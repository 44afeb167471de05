//! Shared test support: real servers started per test — a throwaway
//! Dovecot IMAP server ([`dovecot::Dovecot`]), Postfix's smtp-sink
//! ([`smtp_sink::SmtpSink`]) and a small TLS SMTP server. Test files use it
//! with `mod support;`.
#![allow(dead_code)]

pub mod chaos;
pub mod dovecot;
pub mod mail;
pub mod oauth_server;
pub mod smtp_sink;
pub mod tls_smtp;
pub mod verdicts;
pub mod world;
