//! replygate: keeps a shared client mailbox's promises.
//!
//! The folders follow a message through the system (see ARCHITECTURE.md):
//! `inbound` reads and judges mail, `cases` turns it into case changes,
//! `rules` decides what is due on the working calendar, `outbound` queues and
//! sends what was decided, `store` keeps it all in SQLite. `pipeline` strings
//! one cycle together; `daemon` runs cycles; `cli` and `config` are the
//! admin's side.

// Reading mail: IMAP, the header view of a message and what it is.
pub mod inbound;
// Client questions as cases: tracking, interim replies, signatures.
pub mod cases;
// The working calendar, deadlines and the rules engine (pure).
pub mod rules;
// Outgoing mail: templates, composition, the outbox and SMTP.
pub mod outbound;
// SQLite: schema, migrations, rows.
pub mod store;
// Compliance reports from the recorded facts (pure computation).
pub mod report;
// One cycle: sync, track, decide, send.
pub mod pipeline;
// The long-running service: worker, watchers, signals, HTTP.
pub mod daemon;
// The config file and secrets.
pub mod config;
// The command line.
pub mod cli;
// TLS client configuration shared by IMAP and SMTP.
pub mod tls;
