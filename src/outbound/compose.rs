//! Builds the bytes of the gateway's outgoing messages (SPEC §5.3, §6, §7).
//!
//! Pure: no I/O, time and Message-ID are inputs. Messages are built with
//! lettre's `Message::builder()`, which RFC 2047-encodes non-ASCII header text,
//! folds long headers, and picks the body transfer encoding.
//!
//! Header injection: text that comes from a client (the original subject,
//! display names, Message-IDs from the client's headers) never reaches a
//! header raw. Subjects lose control characters (CR, LF, TAB, …) and are
//! capped at [`MAX_SUBJECT_CHARS`]; Message-IDs must be `[\x21-\x7e]` without
//! `<`, `>` (else they are dropped); addresses must parse as a lettre
//! `Mailbox`/`Address` and contain no control characters (else an error).
//!
//! Decisions:
//! - No `Precedence` header: RFC 3834 §3.1.8 discourages it; we send
//!   `Auto-Submitted` (`auto-replied` for acknowledgements, `auto-generated`
//!   for staff notices) plus `X-Auto-Response-Suppress: All` for Exchange and
//!   `X-Replygate-Loop: <gateway address>` for our own loop detection.
//! - The acknowledgement's `To` is the bare client address (no display name
//!   taken from the client's mail).
//! - `References` keeps the original's first ID and its last ones, at most
//!   [`MAX_REFERENCES`] in all (RFC 5322 §3.6.4 allows trimming this way).
//! - Staff notices about a case carry the case's client Message-ID in
//!   `References` only (not `In-Reply-To`: they are not replies), so mail
//!   clients can group them with the case.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};
use lettre::{Address, Message};

/// Subjects are cut to this many characters (with "…").
pub const MAX_SUBJECT_CHARS: usize = 250;
/// At most this many Message-IDs in `References`.
pub const MAX_REFERENCES: usize = 20;
/// Longest Message-ID (without `<>`) that is kept.
const MAX_MSGID_LEN: usize = 250;

/// A composed message, ready for [`crate::outbound::smtp::Mailer::send`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Without `<>`.
    pub message_id: String,
    /// The gateway's bare address: the envelope sender (MAIL FROM).
    pub from: String,
    /// Bare addresses; the envelope recipients are `to` + `cc`.
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// The subject as sent (sanitised, not encoded).
    pub subject: String,
    /// The whole message, CRLF line ends.
    pub raw: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("invalid {field} address \"{value}\": {reason}")]
    Address {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("no recipient: a message needs at least one To address")]
    NoRecipient,
    #[error("invalid Message-ID \"{0}\" for an outgoing message: use compose::new_message_id")]
    MessageId(String),
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// `replygate.<random 128-bit hex>@<domain>` (without `<>`). The classifier
/// recognises the gateway's own mail by the `replygate.` prefix.
pub fn new_message_id(domain: &str) -> String {
    message_id(rand::random(), domain)
}

/// The Message-ID for the random value `r` (the caller draws it, so tests
/// can give fixed ones).
pub fn message_id(r: u128, domain: &str) -> String {
    format!("replygate.{r:032x}@{}", domain.trim().trim_start_matches('@'))
}

/// An acknowledgement to a client (SPEC §5.3).
#[derive(Debug, Clone)]
pub struct AutoReply<'a> {
    /// `smtp.from`, `"Name <addr>"` or a bare address.
    pub from: &'a str,
    /// The client address (Reply-To if present, else From).
    pub to: &'a str,
    /// Rendered subject.
    pub subject: &'a str,
    pub text: &'a str,
    /// The original's Message-ID (with or without `<>`); dropped if invalid.
    pub in_reply_to: Option<&'a str>,
    /// The original's References (each with or without `<>`); invalid ones dropped.
    pub references: &'a [String],
    /// Our Message-ID, from [`new_message_id`] (without `<>`).
    pub message_id: &'a str,
    pub date: DateTime<Utc>,
}

/// Composes an acknowledgement with `Auto-Submitted: auto-replied`.
pub fn auto_reply(a: &AutoReply) -> Result<Outgoing, ComposeError> {
    let from = parse_mailbox("From", a.from)?;
    let to = parse_address("To", a.to)?;
    let orig = a.in_reply_to.and_then(clean_msgid);
    let mut refs: Vec<String> = a.references.iter().filter_map(|r| clean_msgid(r)).collect();
    if let Some(o) = &orig {
        refs.retain(|r| r != o);
        refs.push(o.clone());
    }
    let refs = trim_references(refs);
    build(Parts {
        from,
        to: vec![to],
        cc: vec![],
        subject: a.subject,
        text: a.text,
        message_id: a.message_id,
        date: a.date,
        in_reply_to: orig,
        references: refs,
        auto_submitted: "auto-replied",
    })
}

/// Composes a staff notice (reminder, escalation, digest, signature warning)
/// with `Auto-Submitted: auto-generated`. `related_case_msgid` (the case's
/// client Message-ID) goes into `References` when valid.
#[allow(clippy::too_many_arguments)]
pub fn staff_notice(
    from: &str,
    to: &[String],
    cc: &[String],
    subject: &str,
    text: &str,
    message_id: &str,
    date: DateTime<Utc>,
    related_case_msgid: Option<&str>,
) -> Result<Outgoing, ComposeError> {
    let from = parse_mailbox("From", from)?;
    let mut to_addrs: Vec<Address> = Vec::new();
    for t in to {
        let a = parse_address("To", t)?;
        if !to_addrs.contains(&a) {
            to_addrs.push(a);
        }
    }
    let to = to_addrs;
    let mut cc_addrs: Vec<Address> = Vec::new();
    for c in cc {
        let a = parse_address("Cc", c)?;
        if !to.contains(&a) && !cc_addrs.contains(&a) {
            cc_addrs.push(a);
        }
    }
    let references = related_case_msgid.and_then(clean_msgid).into_iter().collect();
    build(Parts {
        from,
        to,
        cc: cc_addrs,
        subject,
        text,
        message_id,
        date,
        in_reply_to: None,
        references,
        auto_submitted: "auto-generated",
    })
}

/// Makes a subject safe for a header: control characters become spaces,
/// whitespace runs collapse, the ends are trimmed, and it is cut at
/// [`MAX_SUBJECT_CHARS`].
pub fn sanitize_subject(s: &str) -> String {
    let replaced: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let joined = replaced.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > MAX_SUBJECT_CHARS {
        let mut cut: String = joined.chars().take(MAX_SUBJECT_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        joined
    }
}

/// A Message-ID without `<>` if it is safe to put in a header: one token of
/// `[\x21-\x7e]` without `<` and `>`, at most 250 characters. Surrounding
/// whitespace and one pair of angle brackets are removed first.
pub fn clean_msgid(id: &str) -> Option<String> {
    let t = id.trim();
    let t = t.strip_prefix('<').and_then(|x| x.strip_suffix('>')).unwrap_or(t);
    let ok = !t.is_empty()
        && t.len() <= MAX_MSGID_LEN
        && t.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'<' && b != b'>');
    ok.then(|| t.to_string())
}

fn trim_references(refs: Vec<String>) -> Vec<String> {
    if refs.len() <= MAX_REFERENCES {
        return refs;
    }
    let mut out = vec![refs[0].clone()];
    out.extend_from_slice(&refs[refs.len() - (MAX_REFERENCES - 1)..]);
    out
}

fn reject_control(field: &'static str, value: &str) -> Result<(), ComposeError> {
    if value.chars().any(char::is_control) {
        return Err(ComposeError::Address {
            field,
            value: value.escape_debug().to_string(),
            reason: "contains a control character (line break?)".into(),
        });
    }
    Ok(())
}

fn parse_mailbox(field: &'static str, value: &str) -> Result<Mailbox, ComposeError> {
    reject_control(field, value)?;
    value
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| ComposeError::Address {
            field,
            value: value.to_string(),
            reason: e.to_string(),
        })
}

/// Parses an address given bare or as `Name <addr>`; keeps only the address.
fn parse_address(field: &'static str, value: &str) -> Result<Address, ComposeError> {
    reject_control(field, value)?;
    let v = value.trim();
    match v.parse::<Address>() {
        Ok(a) => Ok(a),
        Err(_) => parse_mailbox(field, v).map(|m| m.email),
    }
}

struct Parts<'a> {
    from: Mailbox,
    to: Vec<Address>,
    cc: Vec<Address>,
    subject: &'a str,
    text: &'a str,
    message_id: &'a str,
    date: DateTime<Utc>,
    in_reply_to: Option<String>,
    references: Vec<String>,
    auto_submitted: &'static str,
}

fn build(p: Parts) -> Result<Outgoing, ComposeError> {
    let message_id = clean_msgid(p.message_id)
        .filter(|m| m.contains('@'))
        .ok_or_else(|| ComposeError::MessageId(p.message_id.escape_debug().to_string()))?;
    if p.to.is_empty() {
        return Err(ComposeError::NoRecipient);
    }
    let subject = sanitize_subject(p.subject);
    let gateway = p.from.email.to_string();
    let mut b = Message::builder()
        .from(p.from.clone())
        .subject(subject.clone())
        .date(SystemTime::from(p.date))
        .message_id(Some(format!("<{message_id}>")));
    for t in &p.to {
        b = b.to(Mailbox::new(None, t.clone()));
    }
    for c in &p.cc {
        b = b.cc(Mailbox::new(None, c.clone()));
    }
    if let Some(irt) = &p.in_reply_to {
        b = b.in_reply_to(format!("<{irt}>"));
    }
    if !p.references.is_empty() {
        let joined = p
            .references
            .iter()
            .map(|r| format!("<{r}>"))
            .collect::<Vec<_>>()
            .join(" ");
        b = b.references(joined);
    }
    b = b
        .header(AutoSubmitted(p.auto_submitted.to_string()))
        .header(XAutoResponseSuppress("All".into()))
        .header(XReplygateLoop(gateway.clone()));
    let msg = b
        .singlepart(SinglePart::plain(crlf_body(p.text)))
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(Outgoing {
        message_id,
        from: gateway,
        to: p.to.iter().map(|a| a.to_string()).collect(),
        cc: p.cc.iter().map(|a| a.to_string()).collect(),
        subject,
        raw: msg.formatted(),
    })
}

/// The text with CRLF line ends, no stray CR and no trailing line break
/// (lettre ends the part with its own CRLF, so one would be too many).
///
/// lettre turns LF into CRLF by inserting a CR into the string at each line
/// end, which moves the rest of the text every time: a digest or escalation
/// list of 14 000 lines spent 0.2 s there. Handed CRLF, it inserts nothing.
fn crlf_body(text: &str) -> String {
    let lf = text.replace("\r\n", "\n").replace('\r', "\n");
    lf.trim_end_matches('\n').replace('\n', "\r\n")
}

macro_rules! text_header {
    ($ty:ident, $name:literal) => {
        #[derive(Debug, Clone)]
        struct $ty(String);
        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($ty(s.to_string()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(AutoSubmitted, "Auto-Submitted");
text_header!(XAutoResponseSuppress, "X-Auto-Response-Suppress");
text_header!(XReplygateLoop, "X-Replygate-Loop");

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const FROM: &str = "Sabiedrības integrācijas fonds <pasts@sif.gov.lv>";

    fn date() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
    }

    fn header_block(raw: &[u8]) -> String {
        let s = String::from_utf8(raw.to_vec()).unwrap();
        s.split("\r\n\r\n").next().unwrap().to_string()
    }

    fn ack(subject: &str, irt: Option<&str>, refs: &[String]) -> Result<Outgoing, ComposeError> {
        auto_reply(&AutoReply {
            from: FROM,
            to: "anna.liepa@example.lv",
            subject,
            text: "Labdien!\n\nApstiprinām saņemšanu.\n",
            in_reply_to: irt,
            references: refs,
            message_id: "replygate.0123456789abcdef0123456789abcdef@sif.gov.lv",
            date: date(),
        })
    }

    #[test]
    fn message_id_format() {
        let a = new_message_id("sif.gov.lv");
        let b = new_message_id("sif.gov.lv");
        assert_ne!(a, b);
        let re = regex::Regex::new(r"^replygate\.[0-9a-f]{32}@sif\.gov\.lv$").unwrap();
        assert!(re.is_match(&a), "{a}");
        assert!(clean_msgid(&a).is_some());
    }

    #[test]
    fn clean_msgid_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("<abc@x.lv>", Some("abc@x.lv")),
            ("  <abc@x.lv> ", Some("abc@x.lv")),
            ("abc@x.lv", Some("abc@x.lv")),
            ("<a b@x>", None),
            ("<abc@x>\r\nBcc: v@x", None),
            ("<a<b@x>", None),
            ("<>", None),
            ("", None),
            ("<ā@x>", None),
            ("<a\"b\"@x>", Some("a\"b\"@x")),
        ];
        for (input, want) in cases {
            assert_eq!(clean_msgid(input).as_deref(), *want, "{input:?}");
        }
        assert!(clean_msgid(&format!("<{}@x>", "a".repeat(300))).is_none());
    }

    #[test]
    fn auto_reply_headers() {
        let refs = vec!["<r1@x.lv>".to_string(), "r2@x.lv".to_string()];
        let out = ack("Auto: Jautājums", Some("<orig@x.lv>"), &refs).unwrap();
        let h = header_block(&out.raw);
        assert!(h.contains("\r\nIn-Reply-To: <orig@x.lv>\r\n"), "{h}");
        assert!(
            h.contains("\r\nReferences: <r1@x.lv> <r2@x.lv> <orig@x.lv>\r\n"),
            "{h}"
        );
        assert!(h.contains("\r\nAuto-Submitted: auto-replied\r\n"), "{h}");
        assert!(h.contains("\r\nX-Auto-Response-Suppress: All\r\n"), "{h}");
        assert!(h.contains("\r\nX-Replygate-Loop: pasts@sif.gov.lv\r\n"), "{h}");
        assert!(
            h.contains("Message-ID: <replygate.0123456789abcdef0123456789abcdef@sif.gov.lv>"),
            "{h}"
        );
        assert!(h.contains("\r\nMIME-Version: 1.0\r\n"), "{h}");
        assert!(h.contains("\r\nTo: anna.liepa@example.lv\r\n"), "{h}");
        assert!(!h.to_ascii_lowercase().contains("precedence"), "{h}");
        assert_eq!(out.from, "pasts@sif.gov.lv");
        assert_eq!(out.to, ["anna.liepa@example.lv"]);
        // No bare LF anywhere.
        let raw = &out.raw;
        for (i, b) in raw.iter().enumerate() {
            if *b == b'\n' {
                assert_eq!(raw[i - 1], b'\r', "bare LF at {i}");
            }
        }
        let m = mail_parser::MessageParser::default().parse(&out.raw).unwrap();
        assert_eq!(m.subject(), Some("Auto: Jautājums"));
        assert_eq!(
            m.body_text(0).unwrap().replace("\r\n", "\n"),
            "Labdien!\n\nApstiprinām saņemšanu.\n"
        );
        assert_eq!(
            m.from().unwrap().first().unwrap().name(),
            Some("Sabiedrības integrācijas fonds")
        );
    }

    #[test]
    fn body_line_ends_are_crlf() {
        let cases: &[(&str, &str)] = &[
            ("a\nb\n", "a\r\nb"),
            ("a\r\nb\r\n\r\n", "a\r\nb"),
            ("a\rb", "a\r\nb"),
            ("a\n\r\nb\r", "a\r\n\r\nb"),
            ("\nā", "\r\nā"),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(crlf_body(text), *want, "{text:?}");
        }
        // A long list (a digest) arrives whole, every line end a CRLF.
        let lines: Vec<String> = (0..3000)
            .map(|i| format!("SIF-2026-{i:05} — Jautājums"))
            .collect();
        let text = lines.join("\n") + "\n";
        let out = staff_notice(
            FROM,
            &["klienti@sif.gov.lv".to_string()],
            &[],
            "Kopsavilkums",
            &text,
            "replygate.ee@sif.gov.lv",
            date(),
            None,
        )
        .unwrap();
        let raw = &out.raw;
        for (i, b) in raw.iter().enumerate() {
            match b {
                b'\n' => assert_eq!(raw[i - 1], b'\r', "bare LF at {i}"),
                b'\r' => assert_eq!(raw.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
                _ => {}
            }
        }
        let m = mail_parser::MessageParser::default().parse(raw).unwrap();
        let body = m.body_text(0).unwrap().replace("\r\n", "\n");
        let got: Vec<&str> = body.lines().collect();
        assert_eq!(got.len(), lines.len(), "line count");
        assert!(got.iter().zip(&lines).all(|(g, w)| g == w), "a line differs");
    }

    #[test]
    fn subject_injection_is_neutralised() {
        let out = ack("Auto: hi\r\nBcc: victim@x.lv\r\nX-Evil: 1", None, &[]).unwrap();
        let h = header_block(&out.raw);
        for line in h.split("\r\n") {
            let l = line.to_ascii_lowercase();
            assert!(!l.starts_with("bcc:"), "{h}");
            assert!(!l.starts_with("x-evil:"), "{h}");
        }
        assert_eq!(out.subject, "Auto: hi Bcc: victim@x.lv X-Evil: 1");
        let m = mail_parser::MessageParser::default().parse(&out.raw).unwrap();
        assert_eq!(m.subject(), Some("Auto: hi Bcc: victim@x.lv X-Evil: 1"));
        assert!(m.header("Bcc").is_none());
        assert_eq!(m.to().unwrap().iter().count(), 1);
    }

    #[test]
    fn malicious_message_ids_are_dropped() {
        let refs = vec![
            "<good@x.lv>".to_string(),
            "<bad@x.lv>\r\nBcc: victim@x.lv".to_string(),
            "<sp ace@x>".to_string(),
        ];
        let out = ack("Auto: x", Some("<o@x>\nBcc: victim@x.lv"), &refs).unwrap();
        let h = header_block(&out.raw);
        assert!(!h.contains("In-Reply-To"), "{h}");
        assert!(h.contains("\r\nReferences: <good@x.lv>\r\n"), "{h}");
        assert!(!h.to_ascii_lowercase().contains("\r\nbcc:"), "{h}");
        assert!(!h.contains("victim"), "{h}");
    }

    #[test]
    fn references_are_trimmed_keeping_first_and_last() {
        let refs: Vec<String> = (0..40).map(|i| format!("<r{i}@x.lv>")).collect();
        let out = ack("Auto: x", Some("<o@x.lv>"), &refs).unwrap();
        let m = mail_parser::MessageParser::default().parse(&out.raw).unwrap();
        let got: Vec<String> = match m.references() {
            mail_parser::HeaderValue::TextList(l) => l.iter().map(|s| s.to_string()).collect(),
            mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
            other => panic!("{other:?}"),
        };
        assert_eq!(got.len(), MAX_REFERENCES);
        assert_eq!(got[0], "r0@x.lv");
        assert_eq!(got[got.len() - 2], "r39@x.lv");
        assert_eq!(got[got.len() - 1], "o@x.lv");
        for line in header_block(&out.raw).split("\r\n") {
            assert!(line.len() <= 998);
        }
    }

    #[test]
    fn long_latvian_subject_is_encoded_folded_and_round_trips() {
        let subj = "Auto: Jautājums par Sabiedrības integrācijas fonda līdzfinansējuma pieteikuma \
                    iesniegšanas kārtību un termiņiem – ļoti gara tēma ar garumzīmēm ūūū ččč ššš žžž";
        let out = ack(subj, None, &[]).unwrap();
        let h = header_block(&out.raw);
        let subj_hdr: Vec<&str> = h
            .split("\r\n")
            .skip_while(|l| !l.starts_with("Subject:"))
            .take_while(|l| l.starts_with("Subject:") || l.starts_with(' ') || l.starts_with('\t'))
            .collect();
        assert!(subj_hdr.len() > 1, "not folded: {h}");
        assert!(subj_hdr[0].contains("=?utf-8?"), "{h}");
        assert!(
            subj_hdr.iter().all(|l| l.len() <= 78 && l.is_ascii()),
            "{subj_hdr:?}"
        );
        let m = mail_parser::MessageParser::default().parse(&out.raw).unwrap();
        assert_eq!(m.subject(), Some(subj));
    }

    #[test]
    fn subject_is_capped() {
        let out = ack(&"ā".repeat(1000), None, &[]).unwrap();
        assert_eq!(out.subject.chars().count(), MAX_SUBJECT_CHARS);
        assert!(out.subject.ends_with('…'));
    }

    #[test]
    fn invalid_addresses_are_rejected() {
        let bad = [
            "not an address",
            "a@b.lv\r\nBcc: v@x.lv",
            "Name\r\n <a@b.lv>",
            "",
            "a@",
        ];
        for to in bad {
            let r = auto_reply(&AutoReply {
                from: FROM,
                to,
                subject: "x",
                text: "x",
                in_reply_to: None,
                references: &[],
                message_id: "replygate.1@sif.gov.lv",
                date: date(),
            });
            assert!(matches!(r, Err(ComposeError::Address { .. })), "{to:?}: {r:?}");
        }
        // A display-name form is accepted; only the address is used.
        let r = auto_reply(&AutoReply {
            from: FROM,
            to: "\"Anna Liepa\" <anna@example.lv>",
            subject: "x",
            text: "x",
            in_reply_to: None,
            references: &[],
            message_id: "replygate.1@sif.gov.lv",
            date: date(),
        })
        .unwrap();
        assert_eq!(r.to, ["anna@example.lv"]);
        // Our own Message-ID must be valid.
        let r = auto_reply(&AutoReply {
            from: FROM,
            to: "anna@example.lv",
            subject: "x",
            text: "x",
            in_reply_to: None,
            references: &[],
            message_id: "no at sign",
            date: date(),
        });
        assert!(matches!(r, Err(ComposeError::MessageId(_))));
    }

    #[test]
    fn staff_notice_headers() {
        let out = staff_notice(
            FROM,
            &["klienti@sif.gov.lv".to_string()],
            &[
                "vaditajs@sif.gov.lv".to_string(),
                "klienti@sif.gov.lv".to_string(),
            ],
            "Atgādinājums: SIF-2026-00042",
            "Teksts\n",
            "replygate.ff@sif.gov.lv",
            date(),
            Some("<client-1@example.lv>"),
        )
        .unwrap();
        let h = header_block(&out.raw);
        assert!(h.contains("\r\nAuto-Submitted: auto-generated\r\n"), "{h}");
        assert!(h.contains("\r\nX-Auto-Response-Suppress: All\r\n"), "{h}");
        assert!(h.contains("\r\nX-Replygate-Loop: pasts@sif.gov.lv\r\n"), "{h}");
        assert!(h.contains("\r\nReferences: <client-1@example.lv>\r\n"), "{h}");
        assert!(!h.contains("In-Reply-To"), "{h}");
        assert!(h.contains("\r\nCc: vaditajs@sif.gov.lv\r\n"), "{h}");
        assert_eq!(out.cc, ["vaditajs@sif.gov.lv"]);
        assert_eq!(out.to, ["klienti@sif.gov.lv"]);
        assert!(matches!(
            staff_notice(FROM, &[], &[], "x", "x", "replygate.1@x", date(), None),
            Err(ComposeError::NoRecipient)
        ));
    }
}
