//! replygate: keeps a shared client mailbox's promises.
//!
//! The modules are declared in the order of ARCHITECTURE.md's map, which
//! follows a message through the system: `inbound` reads and judges mail,
//! `cases` turns it into case changes, `rules` decides what is due on the
//! working calendar, `outbound` queues and sends what was decided, `store`
//! keeps it all in SQLite, and `pipeline` strings one cycle together. At the
//! edges: `daemon` runs cycles, `cli` and `config` are the admin's side,
//! `auth` and `tls` log in to the servers, `web` and `report` show what was
//! kept.

// ---- The flow of a message ----

// Inbound: IMAP, the header view of a message and what it is.
pub mod inbound;
// Cases: tracking, interim replies, signatures, client feedback.
pub mod cases;
// Rules, the pure core: the working calendar, deadlines and the engine.
pub mod rules;
// Outbound: templates, composition, the outbox and SMTP.
pub mod outbound;
// Store: SQLite, one file per table group.
pub mod store;
// One cycle: sync, track, decide, send.
pub mod pipeline;

// ---- At the edges ----

// The long-running service: worker, IDLE watchers, signals, HTTP, metrics.
pub mod daemon;
// The command line.
pub mod cli;
// The config file and secrets.
pub mod config;
// Logging in: passwords, OAuth 2.0 tokens (client credentials), SASL.
pub mod auth;
// TLS client configuration shared by IMAP, SMTP and the token client.
pub mod tls;
// The dashboard and the HTTP endpoints (axum).
pub mod web;
// Compliance reports from the recorded facts (pure computation).
pub mod report;
