//! A parsed message: the header fields and parts the rules read.
//!
//! Built from raw RFC 5322 bytes (a header block, or a whole message) with
//! mail-parser. Addresses are lower-cased; Message-IDs are kept without
//! angle brackets.

use chrono::{DateTime, FixedOffset};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Display name, decoded (RFC 2047), if any.
    pub name: Option<String>,
    /// The address, lower-cased.
    pub email: String,
}

#[derive(Debug, Clone, Default)]
pub struct MessageMeta {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Decoded subject ("" when missing).
    pub subject: String,
    /// The sender's Date header (informational only; receipt time is INTERNALDATE).
    pub date: Option<DateTime<FixedOffset>>,
    /// `Return-Path` as written: `Some("")` for `<>`, `None` when absent.
    pub return_path: Option<String>,
    /// Every header as (lower-case name, unfolded raw value), in order.
    pub headers: Vec<(String, String)>,
    /// Top-level MIME type, lower-case, e.g. "multipart/report".
    pub content_type: String,
    /// File names of attachments (decoded), when known.
    pub attachments: Vec<String>,
}

impl MessageMeta {
    /// All values of a header (name compared case-insensitively).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Where a reply goes: Reply-To when present, else From.
    pub fn reply_address(&self) -> Option<&Address> {
        self.reply_to.first().or(self.from.as_ref())
    }
}
