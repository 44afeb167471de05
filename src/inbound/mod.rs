//! Inbound: from the IMAP server to recorded, classified messages.
//!
//! `imap` fetches headers and structure read-only; `sync` records new UIDs
//! per folder; `message` is the header view of one message; `classify`,
//! `submission`, `bounce`, `authortext` and `thread` judge it.

pub mod authortext;
pub mod bounce;
pub mod classify;
pub mod imap;
pub mod message;
pub mod submission;
pub mod sync;
pub mod thread;
