//! replygate: keeps a shared client mailbox's promises.
//!
//! The core is pure (calendar, deadlines, classification, threading,
//! signature, rules engine); the edges (IMAP, SQLite, SMTP, daemon) are thin.
//! See ARCHITECTURE.md for the map.

// Pure core
pub mod authortext;
pub mod calendar;
pub mod classify;
pub mod deadline;
pub mod holidays;
pub mod interim;
pub mod message;
pub mod signature;
pub mod submission;
pub mod thread;

// Edges
pub mod imap;
pub mod tls;

// Configuration
pub mod cli;
pub mod config;
