//! Shared test support: a real, throwaway Dovecot IMAP server (see
//! [`dovecot::Dovecot`]). Test files use it with `mod support;`.
#![allow(dead_code)]

pub mod dovecot;
