//! replygate: keeps a shared client mailbox's promises.
//!
//! The core is pure (calendar, deadlines, classification, threading,
//! signature, rules engine); the edges (IMAP, SQLite, SMTP, daemon) are thin.
//! See ARCHITECTURE.md for the map.

// Pure core
pub mod authortext;
pub mod bounce;
pub mod calendar;
pub mod classify;
pub mod deadline;
pub mod holidays;
pub mod interim;
pub mod message;
pub mod signature;
pub mod submission;
pub mod thread;

// Configuration
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod secret;

// Edges
pub mod imap;
pub mod pipeline;
pub mod sync;
pub mod tls;

// State and rules
pub mod admin;
pub mod engine;
pub mod store;
pub mod tracker;

// Outgoing mail
pub mod compose;
pub mod outbox;
pub mod smtp;
pub mod templates;
