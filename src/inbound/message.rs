//! A parsed message: the header fields and parts the rules read.
//!
//! Built from raw RFC 5322 bytes (a header block, or a whole message) with
//! mail-parser. Addresses are lower-cased; Message-IDs are kept without
//! angle brackets. [`MessageMeta::parse`] never panics on garbage: raw 8-bit
//! header lines are transcoded first (UTF-8, else a windows-1257/Latin-1
//! guess), and only empty input or input without any header field is an
//! error.

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
    /// The first `Return-Path`'s address, without angle brackets and
    /// lower-cased: `Some("")` for `<>`, `None` when absent.
    pub return_path: Option<String>,
    /// Every header as (lower-case name, unfolded raw value), in order.
    pub headers: Vec<(String, String)>,
    /// Top-level MIME type, lower-case, e.g. "multipart/report".
    pub content_type: String,
    /// File names of attachments (decoded), when known.
    pub attachments: Vec<String>,
    /// The iTIP method (`REPLY`, `REQUEST`, ...) of the first `text/calendar`
    /// part, upper-case, from its `method` parameter (or its `METHOD:` line).
    /// From a header block alone only a top-level `text/calendar` is seen.
    pub calendar_method: Option<String>,
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

/// Why a message could not be parsed at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("empty message: no bytes were given to parse (check the IMAP fetch)")]
    Empty,
    #[error(
        "not an e-mail message: no header field (`Name: value`) found in {0} bytes; \
         the message is skipped and counted as unparsable"
    )]
    NoHeaders(usize),
}

impl MessageMeta {
    /// Parses raw RFC 5322 bytes: a header block only (IMAP
    /// `BODY.PEEK[HEADER]`) or a whole message.
    ///
    /// Never panics on garbage. Raw 8-bit header lines that are not UTF-8 are
    /// transcoded first (see [`decode_8bit_line`]); RFC 2047 words in any
    /// charset are decoded in the subject and display names. A leading mbox
    /// `From ` separator line is skipped. Errors only when the input is empty
    /// or holds no header field at all.
    pub fn parse(raw: &[u8]) -> Result<MessageMeta, ParseError> {
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ParseError::Empty);
        }
        let raw = skip_mbox_from_line(raw);
        let (head, body) = split_header_body(raw);
        let fixed_head = transcode_header_block(head);
        let headers = unfold_headers(&fixed_head);
        if headers.is_empty() {
            return Err(ParseError::NoHeaders(raw.len()));
        }

        let mut meta = MessageMeta {
            headers,
            ..MessageMeta::default()
        };
        meta.message_id = meta.header("message-id").and_then(first_message_id);
        let mut irt: Vec<String> = meta
            .header_values("in-reply-to")
            .flat_map(split_message_ids)
            .collect();
        irt.truncate(IN_REPLY_TO_KEEP);
        meta.in_reply_to = irt;
        // Several References fields are joined; duplicates across them go too.
        let mut seen = std::collections::HashSet::new();
        let refs: Vec<String> = meta
            .header_values("references")
            .flat_map(split_message_ids)
            .filter(|id| seen.insert(id.clone()))
            .collect();
        meta.references = keep_ends(refs, REFERENCES_KEEP_FIRST, REFERENCES_KEEP_LAST);
        meta.return_path = meta.header("return-path").map(parse_return_path);
        meta.content_type = meta
            .header("content-type")
            .map(content_type_of)
            .unwrap_or_else(|| "text/plain".to_string());
        if meta.content_type == "text/calendar" {
            meta.calendar_method = meta
                .header("content-type")
                .and_then(|v| content_type_param(v, "method"))
                .map(|m| m.to_ascii_uppercase());
        }

        let mut buf = Vec::with_capacity(fixed_head.len() + body.len());
        buf.extend_from_slice(fixed_head.as_bytes());
        buf.extend_from_slice(body);
        let fallback_subject = meta.header("subject").unwrap_or("").trim().to_string();
        let backup = meta.clone();
        // mail-parser is robust, but a panic inside it must not take the
        // daemon down with one bad message: fall back to the header list.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            match mail_parser::MessageParser::default().parse(&buf) {
                Some(msg) => {
                    fill_from_parsed(&mut meta, &msg);
                    Some(meta)
                }
                None => None,
            }
        }));
        match parsed {
            Ok(Some(meta)) => Ok(meta),
            _ => Ok(MessageMeta {
                subject: fallback_subject,
                ..backup
            }),
        }
    }

    /// All recipients (To then Cc).
    pub fn recipients(&self) -> impl Iterator<Item = &Address> {
        self.to.iter().chain(self.cc.iter())
    }
}

fn fill_from_parsed(meta: &mut MessageMeta, msg: &mail_parser::Message<'_>) {
    use mail_parser::HeaderName;
    meta.from = msg
        .header_values(HeaderName::From)
        .filter_map(|v| v.as_address())
        .flat_map(convert_addresses)
        .next();
    meta.to = collect_addresses(msg, HeaderName::To);
    meta.cc = collect_addresses(msg, HeaderName::Cc);
    meta.reply_to = collect_addresses(msg, HeaderName::ReplyTo);
    meta.subject = msg
        .subject()
        .map(|s| s.trim().to_string())
        .or_else(|| meta.header("subject").map(|s| s.trim().to_string()))
        .unwrap_or_default();
    meta.date = msg
        .date()
        .and_then(|d| DateTime::parse_from_rfc3339(&d.to_rfc3339()).ok());
    meta.attachments = attachment_names(msg);
    if meta.calendar_method.is_none() {
        meta.calendar_method = calendar_method(msg);
    }
}

/// The iTIP method of the first `text/calendar` part (not inside an attached
/// message: a forwarded invitation reply is not this message's).
fn calendar_method(msg: &mail_parser::Message<'_>) -> Option<String> {
    use mail_parser::MimeHeaders;
    for part in &msg.parts {
        let Some(ct) = part.content_type() else { continue };
        if !ct.c_type.eq_ignore_ascii_case("text")
            || !ct
                .c_subtype
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
        {
            continue;
        }
        if let Some(m) = ct.attribute("method") {
            let m = m.trim();
            if !m.is_empty() {
                return Some(m.to_ascii_uppercase());
            }
        }
        if let Some(text) = part.text_contents() {
            for line in text.lines() {
                let l = line.trim();
                if l.len() > 7 && l[..7].eq_ignore_ascii_case("method:") {
                    return Some(l[7..].trim().to_ascii_uppercase());
                }
            }
        }
    }
    None
}

/// A parameter of a Content-Type value (`text/calendar; method=REPLY`),
/// unquoted; names compared case-insensitively.
fn content_type_param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

fn collect_addresses(msg: &mail_parser::Message<'_>, name: mail_parser::HeaderName<'_>) -> Vec<Address> {
    msg.header_values(name)
        .filter_map(|v| v.as_address())
        .flat_map(convert_addresses)
        .collect()
}

fn convert_addresses(a: &mail_parser::Address<'_>) -> Vec<Address> {
    a.iter()
        .filter_map(|addr| {
            let email = addr.address()?.trim().trim_matches(['<', '>']).to_lowercase();
            if email.is_empty() {
                return None;
            }
            let name = addr
                .name()
                .map(|n| unquote(n.trim()).trim().to_string())
                .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&email));
            Some(Address { name, email })
        })
        .collect()
}

/// Strips one pair of surrounding double quotes that the parser left.
fn unquote(s: &str) -> &str {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner,
        _ => s,
    }
}

/// Attachment file names anywhere in the parsed MIME tree (nested messages
/// included), decoded, in order, without duplicates.
fn attachment_names(msg: &mail_parser::Message<'_>) -> Vec<String> {
    use mail_parser::{MimeHeaders, PartType};
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<&mail_parser::Message<'_>> = vec![msg];
    let mut seen_msgs = 0usize;
    while let Some(m) = stack.pop() {
        seen_msgs += 1;
        if seen_msgs > 64 {
            break;
        }
        for part in &m.parts {
            if let Some(name) = part.attachment_name() {
                let name = name.trim();
                if !name.is_empty() && seen.insert(name.to_string()) {
                    out.push(name.to_string());
                }
            }
            if let PartType::Message(inner) = &part.body {
                stack.push(inner);
            }
        }
    }
    out
}

fn skip_mbox_from_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ") {
        if let Some(p) = raw.iter().position(|&b| b == b'\n') {
            return &raw[p + 1..];
        }
    }
    raw
}

/// Splits at the first empty line: (header block, rest from the empty line on).
fn split_header_body(raw: &[u8]) -> (&[u8], &[u8]) {
    if raw.starts_with(b"\r\n") || raw.starts_with(b"\n") {
        return (&[], raw);
    }
    let mut i = 0;
    while let Some(p) = raw[i..].iter().position(|&b| b == b'\n') {
        let nl = i + p;
        let rest = &raw[nl + 1..];
        if rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
            return (&raw[..=nl], rest);
        }
        i = nl + 1;
    }
    (raw, &[])
}

/// Makes every header line valid UTF-8, keeping line endings.
fn transcode_header_block(head: &[u8]) -> String {
    let mut out = String::with_capacity(head.len());
    for line in head.split_inclusive(|&b| b == b'\n') {
        match std::str::from_utf8(line) {
            Ok(s) => out.push_str(s),
            Err(_) => out.push_str(&decode_8bit_line(line)),
        }
    }
    out
}

/// Decodes a header line that is not UTF-8: a guess between windows-1257
/// (Baltic) and ISO-8859-1 (Western).
///
/// Decision: the mailbox is Latvian, so windows-1257 wins unless the line
/// has more bytes that are Western-only letters in Latin-1 (à á ã ê ñ ù ú …)
/// than bytes that are Latvian letters in windows-1257 (ā č ē ģ ī ķ ļ ņ š ū ž).
/// Bytes undefined in windows-1257 fall back to Latin-1.
pub fn decode_8bit_line(line: &[u8]) -> String {
    const LATVIAN: &[u8] = &[
        0xC2, 0xC7, 0xC8, 0xCC, 0xCD, 0xCE, 0xCF, 0xD0, 0xD2, 0xDB, 0xDE, 0xE2, 0xE7, 0xE8, 0xEC, 0xED, 0xEE,
        0xEF, 0xF0, 0xF2, 0xFB, 0xFE,
    ];
    const WESTERN: &[u8] = &[
        0xC0, 0xC1, 0xC3, 0xCA, 0xD1, 0xD9, 0xDA, 0xE0, 0xE1, 0xE3, 0xEA, 0xF1, 0xF9, 0xFA,
    ];
    let lv = line.iter().filter(|b| LATVIAN.contains(b)).count();
    let west = line.iter().filter(|b| WESTERN.contains(b)).count();
    if west > lv {
        return line.iter().map(|&b| char::from(b)).collect();
    }
    match mail_parser::decoders::charsets::map::charset_decoder(b"windows-1257") {
        Some(dec) => {
            // The decoder maps undefined bytes to U+FFFD; keep Latin-1 there.
            let mut out = String::with_capacity(line.len() + 8);
            for &b in line {
                if b.is_ascii() {
                    out.push(char::from(b));
                } else {
                    let s = dec(&[b]);
                    match s.chars().next() {
                        Some(c) if c != '\u{FFFD}' && s.chars().count() == 1 => out.push(c),
                        _ => out.push(char::from(b)),
                    }
                }
            }
            out
        }
        None => line.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Parses the header block into (lower-case name, unfolded raw value).
/// Lines that are neither a field nor a continuation are skipped.
fn unfold_headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = current.as_mut() {
                v.push_str(line);
            }
            continue;
        }
        if let Some(done) = current.take() {
            out.push(done);
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            continue;
        }
        current = Some((name.to_ascii_lowercase(), value.to_string()));
    }
    if let Some(done) = current.take() {
        out.push(done);
    }
    for (_, v) in out.iter_mut() {
        let t = v.trim();
        if t.len() != v.len() {
            *v = t.to_string();
        }
    }
    out
}

/// Message-IDs in a header value (`<a@b> <c@d>`), without angle brackets,
/// in order, without duplicates.
///
/// Tolerates what real mailers write: ids without angle brackets (kept when
/// they contain `@`), ids separated by commas or nothing, RFC 5322 comments
/// `(…)` (skipped, nested ones too, so an id quoted in a comment is not
/// taken), white space folded inside an id (removed), a last `<` never
/// closed (its text is still taken when it contains `@`).
pub fn split_message_ids(value: &str) -> Vec<String> {
    let mut ids = Ids::default();
    fn push(ids: &mut Ids, raw: &str, bracketed: bool) {
        let id: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .trim_matches(['"', '\'', ',', ';', '.'])
            .to_string();
        if id.is_empty() || (!bracketed && !id.contains('@')) || (bracketed && id.contains('<')) {
            return;
        }
        if id.len() > MAX_MESSAGE_ID_LEN {
            return;
        }
        if ids.seen.insert(id.clone()) {
            ids.list.push(id);
        }
    }
    let mut chars = value.chars().peekable();
    let mut token = String::new();
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                push(&mut ids, &token, false);
                token.clear();
                let mut depth = 1usize;
                for d in chars.by_ref() {
                    match d {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '<' => {
                push(&mut ids, &token, false);
                token.clear();
                let mut inner = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == '>' {
                        closed = true;
                        break;
                    }
                    inner.push(d);
                }
                if closed {
                    push(&mut ids, &inner, true);
                } else {
                    for t in inner.split(|c: char| c.is_whitespace() || c == ',') {
                        push(&mut ids, t, false);
                    }
                }
            }
            c if c.is_whitespace() || c == ',' || c == '>' => {
                push(&mut ids, &token, false);
                token.clear();
            }
            c => token.push(c),
        }
    }
    push(&mut ids, &token, false);
    ids.list
}

/// Message-IDs in order, de-duplicated in linear time (SPEC §11.1).
#[derive(Default)]
struct Ids {
    list: Vec<String>,
    seen: std::collections::HashSet<String>,
}

/// A Message-ID longer than this is not kept (RFC 5322 lines are at most
/// 998 characters; real ids are well under 250).
pub const MAX_MESSAGE_ID_LEN: usize = 250;

/// Of a huge `References` list only the first [`REFERENCES_KEEP_FIRST`]
/// (the thread's root) and the last [`REFERENCES_KEEP_LAST`] (the direct
/// parents) are kept, like RFC 5322 §3.6.4's advice for trimming: work per
/// message stays bounded whatever a sender writes (SPEC §11.1).
pub const REFERENCES_KEEP_FIRST: usize = 5;
/// See [`REFERENCES_KEEP_FIRST`].
pub const REFERENCES_KEEP_LAST: usize = 45;
/// At most this many In-Reply-To ids are kept.
pub const IN_REPLY_TO_KEEP: usize = 5;

/// The first `first` and the last `last` items of a list, in order.
pub fn keep_ends(mut v: Vec<String>, first: usize, last: usize) -> Vec<String> {
    if v.len() <= first + last {
        return v;
    }
    let tail = v.split_off(v.len() - last);
    v.truncate(first);
    v.extend(tail);
    v
}

fn first_message_id(value: &str) -> Option<String> {
    if let Some(id) = split_message_ids(value).into_iter().next() {
        return Some(id);
    }
    let t = value.trim().trim_matches(['<', '>']).trim();
    (!t.is_empty() && t.len() <= MAX_MESSAGE_ID_LEN && !t.contains(char::is_whitespace))
        .then(|| t.to_string())
}

/// The domain of a Message-ID (`abc@mx.example.lv` → `mx.example.lv`),
/// lower-case comparison is up to the caller.
pub fn message_id_domain(id: &str) -> Option<&str> {
    let id = id.trim().trim_matches(['<', '>']);
    let (_, dom) = id.rsplit_once('@')?;
    (!dom.is_empty()).then_some(dom)
}

fn parse_return_path(value: &str) -> String {
    let v = value.trim();
    let inner = match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) if b > a => &v[a + 1..b],
        _ => v,
    };
    inner.trim().to_lowercase()
}

fn content_type_of(value: &str) -> String {
    let main = value.split(';').next().unwrap_or("").trim();
    let main: String = main.chars().filter(|c| !c.is_whitespace()).collect();
    if main.contains('/') {
        main.to_ascii_lowercase()
    } else {
        "text/plain".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> MessageMeta {
        MessageMeta::parse(s.as_bytes()).expect("parses")
    }

    #[test]
    fn calendar_method_of_parts() {
        let top = "From: a@b.lv\r\nSubject: Accepted: x\r\nContent-Type: text/calendar; charset=utf-8;\r\n method=\"reply\"\r\n\r\nBEGIN:VCALENDAR\r\n";
        assert_eq!(parse(top).calendar_method.as_deref(), Some("REPLY"));
        let head = top.split("\r\n\r\n").next().unwrap().to_string() + "\r\n\r\n";
        assert_eq!(parse(&head).calendar_method.as_deref(), Some("REPLY"));
        let nested = "From: a@b.lv\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
Content-Type: multipart/alternative; boundary=\"C\"\r\n\r\n--C\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--C\r\nContent-Type: text/calendar; charset=utf-8\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\n\
END:VCALENDAR\r\n--C--\r\n--B--\r\n";
        assert_eq!(parse(nested).calendar_method.as_deref(), Some("REQUEST"));
        assert_eq!(
            parse("From: a@b.lv\r\nSubject: x\r\n\r\nhi").calendar_method,
            None
        );
    }

    #[test]
    fn empty_and_garbage_inputs() {
        assert_eq!(MessageMeta::parse(b"").unwrap_err(), ParseError::Empty);
        assert_eq!(MessageMeta::parse(b" \r\n\r\n").unwrap_err(), ParseError::Empty);
        assert!(matches!(
            MessageMeta::parse(b"\x00\x01\xff\xfe garbage without any header"),
            Err(ParseError::NoHeaders(_))
        ));
        assert!(matches!(
            MessageMeta::parse(b"\r\nbody only"),
            Err(ParseError::NoHeaders(_))
        ));
        // Random bytes must never panic.
        let mut seed: u32 = 12345;
        for len in 0..300usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    // Bias towards header-ish bytes.
                    match (seed >> 16) % 8 {
                        0 => b':',
                        1 => b'\n',
                        2 => b'=',
                        3 => b'<',
                        _ => (seed >> 8) as u8,
                    }
                })
                .collect();
            let _ = MessageMeta::parse(&bytes);
        }
    }

    #[test]
    fn header_block_only() {
        let m = parse(
            "Return-Path: <>\r\nFrom: =?utf-8?Q?Anna_Kalni=C5=86a?= <Anna.Kalnina@INBOX.lv>\r\n\
             To: pasts@sif.gov.lv, \"Jānis\" <Janis@SIF.gov.lv>\r\n\
             Subject: =?windows-1257?Q?Jaut=E2jums?=\r\n\
             Message-ID: <ABC@x.lv>\r\nIn-Reply-To: <p1@x.lv>\r\n\
             References: <r1@x.lv>\r\n <r2@x.lv>\t<p1@x.lv>\r\n\
             Content-Type: Multipart/Mixed; boundary=\"b\"\r\n\
             Auto-Submitted: auto-replied\r\n\r\n",
        );
        assert_eq!(m.return_path.as_deref(), Some(""));
        let from = m.from.clone().unwrap();
        assert_eq!(from.email, "anna.kalnina@inbox.lv");
        assert_eq!(from.name.as_deref(), Some("Anna Kalniņa"));
        let to: Vec<&str> = m.to.iter().map(|a| a.email.as_str()).collect();
        assert_eq!(to, ["pasts@sif.gov.lv", "janis@sif.gov.lv"]);
        assert_eq!(m.subject, "Jautājums");
        assert_eq!(m.message_id.as_deref(), Some("ABC@x.lv"));
        assert_eq!(m.in_reply_to, ["p1@x.lv"]);
        assert_eq!(m.references, ["r1@x.lv", "r2@x.lv", "p1@x.lv"]);
        assert_eq!(m.content_type, "multipart/mixed");
        assert_eq!(m.header("AUTO-SUBMITTED"), Some("auto-replied"));
        assert_eq!(m.header("references"), Some("<r1@x.lv> <r2@x.lv>\t<p1@x.lv>"));
        assert!(m.attachments.is_empty());
    }

    #[test]
    fn raw_8bit_headers_are_transcoded() {
        // windows-1257 Latvian subject and name, no RFC 2047.
        let mut raw: Vec<u8> = Vec::new();
        raw.extend_from_slice(b"From: \xc7riks B\xe7rzi\xf2\xf0 <eriks@x.lv>\r\n");
        raw.extend_from_slice(b"Subject: Jaut\xe2jums par \xf0o\r\n");
        raw.extend_from_slice(b"To: pasts@sif.gov.lv\r\n\r\nbody\r\n");
        let m = MessageMeta::parse(&raw).unwrap();
        assert_eq!(m.subject, "Jautājums par šo");
        assert_eq!(m.from.unwrap().name.as_deref(), Some("Ēriks Bērziņš"));
        // Latin-1 French wins when it has Western-only letters.
        let raw = b"From: a@b.fr\r\nSubject: R\xe9ponse \xe0 la demande \xe0 d\xe9j\xe0\r\n\r\n";
        let m = MessageMeta::parse(raw).unwrap();
        assert_eq!(m.subject, "Réponse à la demande à déjà");
        // UTF-8 raw headers (RFC 6532) stay as they are.
        let m = parse("From: Ольга <olga@mail.ru>\r\nSubject: Вопрос\r\n\r\n");
        assert_eq!(m.subject, "Вопрос");
        assert_eq!(m.from.unwrap().name.as_deref(), Some("Ольга"));
    }

    #[test]
    fn missing_fields() {
        let m = parse("Subject: hi\n\nbody");
        assert!(m.from.is_none());
        assert!(m.message_id.is_none());
        assert!(m.return_path.is_none());
        assert!(m.date.is_none());
        assert_eq!(m.content_type, "text/plain");
        let m = parse("From: x@y.lv\n\n");
        assert_eq!(m.subject, "");
        // Message-ID without brackets is kept.
        let m = parse("Message-ID: bare-id@host.lv\n\n");
        assert_eq!(m.message_id.as_deref(), Some("bare-id@host.lv"));
    }

    #[test]
    fn huge_recipient_list() {
        let to: Vec<String> = (0..2000)
            .map(|i| format!("User{i} <user{i}@Example.lv>"))
            .collect();
        let raw = format!("From: a@b.lv\r\nTo: {}\r\nSubject: x\r\n\r\n", to.join(",\r\n "));
        let m = parse(&raw);
        assert_eq!(m.to.len(), 2000);
        assert_eq!(m.to[1999].email, "user1999@example.lv");
    }

    #[test]
    fn whole_message_attachments_and_mbox_line() {
        let raw = "From MAILER-DAEMON Mon Nov 23 10:00:00 2026\r\n\
            From: a@b.lv\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
            --B\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
            --B\r\nContent-Type: application/vnd.etsi.asic-e+zip; name=\"=?utf-8?Q?pieteikums_=C4=81.edoc?=\"\r\n\
            Content-Disposition: attachment; filename=\"=?utf-8?Q?pieteikums_=C4=81.edoc?=\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--B--\r\n";
        let m = parse(raw);
        assert_eq!(m.from.unwrap().email, "a@b.lv");
        assert_eq!(m.attachments, ["pieteikums ā.edoc"]);
        assert_eq!(m.content_type, "multipart/mixed");
    }

    #[test]
    fn broken_mime_does_not_panic() {
        let raw = "From: a@b.lv\r\nContent-Type: multipart/mixed; boundary=\"never\"\r\n\r\n\
            --other\r\nContent-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n";
        let m = parse(raw);
        assert_eq!(m.from.unwrap().email, "a@b.lv");
        let raw = "From: a@b.lv\r\nSubject: =?bogus?X?zzz?=\r\nContent-Type: ;;;\r\n\r\n";
        let m = parse(raw);
        assert_eq!(m.content_type, "text/plain");
    }

    #[test]
    fn rfc2047_in_several_charsets() {
        let m = parse(
            "From: =?ISO-8859-13?Q?Oj=E2rs_Dombrovskis?= <o@tvnet.lv>\r\n\
             Subject: =?KOI8-R?B?98/Q0s/T?= =?utf-8?Q?_=C4=81?=\r\n\r\n",
        );
        assert_eq!(m.from.unwrap().name.as_deref(), Some("Ojārs Dombrovskis"));
        assert_eq!(m.subject, "Вопрос ā");
    }

    #[test]
    fn message_id_helpers() {
        assert_eq!(message_id_domain("<abc@mx.sif.gov.lv>"), Some("mx.sif.gov.lv"));
        assert_eq!(message_id_domain("a@b@c.lv"), Some("c.lv"));
        assert_eq!(message_id_domain("nodomain"), None);
        assert_eq!(message_id_domain("x@"), None);
        assert_eq!(split_message_ids("<a@b> <c@d>,<a@b>"), ["a@b", "c@d"]);
        assert_eq!(split_message_ids("a@b c@d junk"), ["a@b", "c@d"]);
        assert_eq!(split_message_ids("<a@b (unclosed"), ["a@b"]);
        assert_eq!(split_message_ids(""), Vec::<String>::new());
    }
}
