//! Shared test support: a real, throwaway Dovecot IMAP server (see
//! [`dovecot::Dovecot`]). Test files use it with `mod support;`.
#![allow(dead_code)]

pub mod dovecot;
//
// Typical use:
//
// ```ignore
// mod support;
// use support::dovecot::Dovecot;
//
// let d = Dovecot::start();                       // ~0.1 s, killed on drop
// d.append("INBOX", raw, received_at);            // keeps INTERNALDATE (future dates too)
// let cfg = d.imap_config();                      // [imap] on 127.0.0.1, security "plain"
// let before = d.flags_snapshot("INBOX");
// /* ... run the code under test ... */
// assert_eq!(d.flags_snapshot("INBOX"), before);  // read-only access proven
// ```
