//! Reading delivery reports (bounces), so that a client address whose
//! acknowledgement bounced gets no further acknowledgement for a while
//! (SPEC §5.2).
//!
//! Pure: the raw bytes of a whole delivery report give the failed recipients
//! and the Message-IDs of the returned original. Sources, all optional:
//! - the `X-Failed-Recipients` header (Exim, Gmail);
//! - the `message/delivery-status` (or `message/global-delivery-status`)
//!   part (RFC 3464): `Final-Recipient` and `Original-Recipient` of every
//!   recipient block whose `Action` is `failed` (`delayed`, `delivered`,
//!   `relayed` and `expanded` blocks are not failures);
//! - the returned original in a `text/rfc822-headers`, `message/rfc822` or
//!   `message/global` part: its Message-ID;
//! - as a last resort for non-standard bounces from a mailer robot (qmail
//!   style, text only), `Message-ID:` lines quoted in the text.
//!
//! A message that is not a delivery report (no `multipart/report`, no
//! `X-Failed-Recipients`, no delivery-status part and not from a mailer
//! robot) gives `None`, even if it carries an attached message: a forwarded
//! mail is not a bounce.

use mail_parser::{MessageParser, MimeHeaders, PartType};

use crate::inbound::message::{split_message_ids, MessageMeta};

/// What a delivery report says failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bounce {
    /// Recipient addresses that failed, lower-case, without duplicates.
    pub failed_recipients: Vec<String>,
    /// Message-IDs (without angle brackets) of the returned original message.
    pub original_message_ids: Vec<String>,
}

/// Reads a whole delivery report; `None` when `raw` is not one, or names
/// neither a failed recipient nor the original message.
pub fn parse_bounce(raw: &[u8]) -> Option<Bounce> {
    // One bad message must never take the daemon down.
    std::panic::catch_unwind(|| parse_bounce_inner(raw))
        .ok()
        .flatten()
}

fn parse_bounce_inner(raw: &[u8]) -> Option<Bounce> {
    let meta = MessageMeta::parse(raw).ok()?;
    let msg = MessageParser::default().parse(raw)?;

    let mut b = Bounce::default();
    for v in meta.header_values("x-failed-recipients") {
        for a in v.split([',', ';', ' ', '\t']) {
            push_addr(&mut b.failed_recipients, a);
        }
    }

    let mut has_status_part = false;
    let mut status_failures = 0usize;
    let mut has_mdn_part = false;
    let mut text_parts: Vec<String> = Vec::new();
    for part in &msg.parts {
        let (ctype, subtype) = match part.content_type() {
            Some(ct) => (
                ct.c_type.to_ascii_lowercase(),
                ct.c_subtype.as_deref().unwrap_or("").to_ascii_lowercase(),
            ),
            None => ("text".to_string(), "plain".to_string()),
        };
        match (ctype.as_str(), subtype.as_str()) {
            ("message", "delivery-status") | ("message", "global-delivery-status") => {
                has_status_part = true;
                let text = String::from_utf8_lossy(part.contents());
                status_failures += failed_from_delivery_status(&text, &mut b.failed_recipients);
            }
            ("text", "rfc822-headers") | ("message", "rfc822") | ("message", "global") => {
                let bytes: &[u8] = match &part.body {
                    PartType::Message(m) => m.raw_message(),
                    _ => part.contents(),
                };
                if let Ok(orig) = MessageMeta::parse(bytes) {
                    if let Some(id) = orig.message_id {
                        if !b.original_message_ids.contains(&id) {
                            b.original_message_ids.push(id);
                        }
                    }
                }
            }
            ("message", "disposition-notification")
            | ("message", "global-disposition-notification")
            | ("message", "feedback-report") => has_mdn_part = true,
            ("text", "plain") => {
                if let Some(t) = part.text_contents() {
                    text_parts.push(t.to_string());
                }
            }
            _ => {}
        }
    }

    let robot = meta
        .from
        .as_ref()
        .map(|a| a.email.rsplit_once('@').map_or(a.email.as_str(), |(l, _)| l))
        .is_some_and(|l| matches!(l, "mailer-daemon" | "postmaster"));
    let is_report = meta.content_type == "multipart/report"
        || has_status_part
        || meta.header("x-failed-recipients").is_some()
        || robot;
    if !is_report {
        return None;
    }
    // Reports that are not about a failed delivery: a read receipt (RFC
    // 8098), an abuse report (RFC 5965), a DSN whose recipients were only
    // delayed, delivered, relayed or expanded. They name the original
    // message but nothing failed: suppressing acknowledgements on them would
    // silence a client whose mail box works.
    let report_type = meta
        .header("content-type")
        .and_then(|v| {
            v.split(';').skip(1).find_map(|p| {
                let (n, v) = p.split_once('=')?;
                n.trim()
                    .eq_ignore_ascii_case("report-type")
                    .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
            })
        })
        .unwrap_or_default();
    let failed_header = meta.header("x-failed-recipients").is_some();
    if !failed_header {
        if has_mdn_part || (!report_type.is_empty() && !report_type.contains("delivery-status")) {
            return None;
        }
        if has_status_part && status_failures == 0 {
            return None;
        }
    }

    // A text-only report from a mailer robot (qmail, old Exim, Sendmail):
    // a delay warning is no failure; a failure names its addresses in the
    // text.
    if !has_status_part && !failed_header && robot {
        let subject = meta.subject.to_lowercase();
        let says_delay = subject.contains("delay")
            || text_parts.iter().any(|t| {
                let t = t.to_lowercase();
                DELAY_PHRASES.iter().any(|p| t.contains(p))
            });
        if says_delay {
            return None;
        }
        for t in &text_parts {
            failed_from_text(t, &mut b.failed_recipients);
        }
    }

    if b.original_message_ids.is_empty() && robot {
        for t in &text_parts {
            for line in t.lines() {
                let l = line.trim_start();
                // `get` and `strip_prefix`, never `l[..11]`: byte 11 may
                // fall inside a multi-byte character of hostile text.
                let rest = l
                    .get(..11)
                    .filter(|p| p.eq_ignore_ascii_case("message-id:"))
                    .and_then(|_| l.get(11..));
                if let Some(rest) = rest {
                    for id in split_message_ids(rest) {
                        if !b.original_message_ids.contains(&id) {
                            b.original_message_ids.push(id);
                        }
                    }
                }
            }
        }
    }

    if b.failed_recipients.is_empty() && b.original_message_ids.is_empty() {
        None
    } else {
        Some(b)
    }
}

/// Wordings of delay warnings (Exim, Sendmail, Postfix, Exchange), lower-case.
const DELAY_PHRASES: &[&str] = &[
    "not yet been delivered",
    "has been delayed",
    "delivery has been delayed",
    "delivery delayed",
    "still being retried",
    "will be retried",
    "will continue to try",
    "delivery attempts will continue",
    "this is a warning only",
    "warning: message",
];

/// Failed addresses in a plain-text bounce, up to the returned copy:
/// qmail's `<addr>:` lines and the indented address lines after an
/// "… failed:" line (Exim's "The following address(es) failed:").
fn failed_from_text(text: &str, out: &mut Vec<String>) {
    let mut after_failed = false;
    for line in text.lines() {
        let l = line.trim_end();
        let lower = l.to_lowercase();
        if lower.starts_with("---")
            || lower.contains("copy of the message")
            || lower.starts_with("message-id:")
        {
            break;
        }
        if let Some(inner) = l.strip_prefix('<').and_then(|r| r.strip_suffix(">:")) {
            if !inner.contains(char::is_whitespace) {
                push_addr(out, inner);
            }
            continue;
        }
        if lower.trim_end().ends_with("failed:") {
            after_failed = true;
            continue;
        }
        if after_failed {
            let t = l.trim();
            if l.starts_with([' ', '\t']) && !t.contains(char::is_whitespace) && t.contains('@') {
                push_addr(out, t);
            } else if t.is_empty() || l.starts_with([' ', '\t']) {
                continue;
            } else {
                after_failed = false;
            }
        }
    }
}

/// At most this many failed recipients are kept from one report: the
/// gateway sends each message to one client, and a bound keeps the
/// duplicate check linear whatever a hostile report lists (SPEC §11.1).
pub const MAX_FAILED: usize = 100;

fn push_addr(out: &mut Vec<String>, a: &str) {
    if out.len() >= MAX_FAILED {
        return;
    }
    let a = a.trim().trim_matches(['<', '>', '"']).trim().to_lowercase();
    if a.contains('@') && !out.contains(&a) {
        out.push(a);
    }
}

/// RFC 3464 body: a per-message block, then one block per recipient,
/// separated by empty lines; fields may be folded.
/// Returns how many recipient blocks say `failed`.
fn failed_from_delivery_status(text: &str, out: &mut Vec<String>) -> usize {
    let mut failures = 0;
    let mut blocks: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            if blocks.last().is_some_and(|b| !b.is_empty()) {
                blocks.push(Vec::new());
            }
            continue;
        }
        let Some(block) = blocks.last_mut() else { continue };
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = block.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            block.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    for block in &blocks {
        let failed = block.iter().any(|(n, v)| {
            n == "action"
                && v.split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("failed"))
        });
        if !failed {
            continue;
        }
        failures += 1;
        for (n, v) in block {
            if n == "final-recipient" || n == "original-recipient" {
                // `rfc822; addr` (the address type is optional in practice).
                let addr = v.split_once(';').map_or(v.as_str(), |(_, a)| a);
                push_addr(out, addr);
            }
        }
    }
    failures
}

/// Phrases that only mail systems write at the top of a delivery report or
/// a gateway's notice (Postfix, qmail, Exim, Sendmail, Exchange, GroupWise,
/// Lotus Notes, Courier, OpenSMTPD, amavis, MessageLabs, antivirus gateways,
/// webmail providers), lower-case. One of them in the notice text is enough.
const MTA_PHRASES: &[&str] = &[
    "this is the mail system at host",
    "i'm sorry to have to inform you that your message could not",
    "this is the qmail-send program",
    "i'm afraid i wasn't able to deliver your message",
    "this message was created automatically by mail delivery software",
    "a message that you sent could not be delivered",
    "the following address(es) failed",
    "the following addresses had permanent fatal errors",
    "the following addresses had delivery errors",
    "the following addresses had delivery problems",
    "----- transcript of session follows -----",
    "----- unsent message follows -----",
    "delivery has failed to these recipients",
    "your message did not reach some or all of the intended recipients",
    "did not reach the following recipient",
    "the following recipient(s) could not be reached",
    "your message couldn't be delivered",
    "your message wasn't delivered to",
    "delivery to the following recipient failed",
    "delivery to the following recipients failed",
    "this is an automatically generated delivery status notification",
    "the e-mail system was unable to deliver",
    "the message that you sent was undeliverable",
    "message that you sent was undeliverable",
    "------- failure reasons",
    "this is a delivery status notification",
    "your message to the following recipients cannot be delivered",
    "your message cannot be delivered to the following recipients",
    "an error has occurred while attempting to deliver a message",
    "an error occurred while trying to deliver the mail to the following recipients",
    "this nondelivery report was generated by",
    "the message was not relayed to",
    "this is the mail delivery agent at",
    "i was unable to deliver your message to the following addresses",
    "could not be delivered because of",
    "error: invalid user address",
    "invalid final delivery userid",
    "was blocked by our spam firewall",
    "message you sent blocked by",
    "a virus was found in",
    "virus found in a message you sent",
    "the message you sent contained a virus",
    "has been quarantined",
    "delivery status notification (failure)",
    "mail delivery failed: returning message to sender",
    "undelivered mail returned to sender",
    "was not delivered to:",
    "could not be delivered to the following recipients",
    "the original message was received at",
    "original message follows.",
    "unable to deliver your message to the following",
    "message could not be delivered",
    "permanent error; i've given up",
    "ваше письмо не может быть доставлено",
    "не может быть отправлено одному или нескольким адресатам",
    "送信できませんでした",
    "配信できませんでした",
    "ziņojumu nevarēja piegādāt",
    "nevarēja piegādāt",
];

/// SMTP reply and enhanced status codes as a failure report quotes them;
/// three different ones mark a report (a person quoting one error line to
/// ask about it rarely has three).
const SMTP_FAILURE_SIGNS: &[&str] = &[
    "550 5.",
    "550-5.",
    "553 5.",
    "554 5.",
    "552 5.",
    "551 5.",
    "user unknown",
    "unknown user",
    "no such user",
    "mailbox unavailable",
    "mailbox full",
    "mailbox is full",
    "quota exceeded",
    "recipient address rejected",
    "address rejected",
    "requested action not taken",
    "host unknown",
    "unrouteable address",
    "remote host said:",
    "diagnostic-code:",
    "final-recipient:",
    "reporting-mta:",
];

/// Is this whole message a delivery report or robot notice judged by its
/// notice text (the first text part, before any returned copy), for mail
/// whose headers show none of the standard markers? One MTA phrase, or three
/// different SMTP failure signs, in the notice. A person's mail that merely
/// says "my mail was returned" or quotes one error line is not one; a
/// forwarded bounce is not read here (see `classify::needs_body_check`).
pub fn is_robot_notice(raw: &[u8]) -> bool {
    std::panic::catch_unwind(|| is_robot_notice_inner(raw)).unwrap_or(false)
}

fn is_robot_notice_inner(raw: &[u8]) -> bool {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return false;
    };
    // The notice: the first text part (plain, else HTML read as text), at
    // most 8 KiB of it, so a long letter costs nothing.
    let text = msg
        .text_bodies()
        .next()
        .and_then(|p| match &p.body {
            PartType::Text(t) => Some(t.to_string()),
            PartType::Html(h) => Some(crate::inbound::authortext::html_to_text(h)),
            _ => None,
        })
        .unwrap_or_default();
    let mut end = text.len().min(8 * 1024);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let notice = text.get(..end).unwrap_or("").to_lowercase();
    // Quoted lines (`> ...`) are what a person quotes, not what a robot says.
    let notice: String = notice
        .lines()
        .filter(|l| !l.trim_start().starts_with('>') || l.trim_start().starts_with(">>>"))
        .collect::<Vec<_>>()
        .join("\n");
    if MTA_PHRASES.iter().any(|p| notice.contains(p)) {
        return true;
    }
    SMTP_FAILURE_SIGNS.iter().filter(|s| notice.contains(*s)).count() >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_recipients_are_bounded() {
        let mut out = Vec::new();
        for i in 0..50_000 {
            push_addr(&mut out, &format!("<user{i}@example.lv>"));
        }
        assert_eq!(out.len(), MAX_FAILED);
        assert_eq!(out[0], "user0@example.lv");
    }

    const EXCHANGE_NDR: &str = "From: Microsoft Outlook <postmaster@sif.gov.lv>\r\n\
To: pasts@sif.gov.lv\r\n\
Subject: Undeliverable: Auto: Jautājums\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <ndr-1@DB8PR09MB3456.eurprd09.prod.outlook.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"_000_NDR_\"\r\n\
X-MS-Exchange-Message-Is-Ndr:\r\n\
\r\n\
--_000_NDR_\r\n\
Content-Type: multipart/alternative; boundary=\"_001_ALT_\"\r\n\
\r\n\
--_001_ALT_\r\n\
Content-Type: text/plain; charset=\"us-ascii\"\r\n\
\r\n\
Your message to Client@Example.lv couldn't be delivered.\r\n\
--_001_ALT_\r\n\
Content-Type: text/html; charset=\"us-ascii\"\r\n\
\r\n\
<html><body>Your message couldn't be delivered.</body></html>\r\n\
--_001_ALT_--\r\n\
\r\n\
--_000_NDR_\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns;DB8PR09MB3456.eurprd09.prod.outlook.com\r\n\
Received-From-MTA: dns;mail.sif.gov.lv\r\n\
Arrival-Date: Tue, 24 Nov 2026 09:59:58 +0000\r\n\
\r\n\
Final-Recipient: rfc822;Client@Example.lv\r\n\
Action: failed\r\n\
Status: 5.1.10\r\n\
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not\r\n\
 found by SMTP address lookup\r\n\
\r\n\
Final-Recipient: rfc822;other@example.lv\r\n\
Action: delayed\r\n\
Status: 4.4.7\r\n\
\r\n\
--_000_NDR_\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: =?utf-8?Q?Sabiedr=C4=ABbas_integr=C4=81cijas_fonds?= <pasts@sif.gov.lv>\r\n\
To: client@example.lv\r\n\
Subject: Auto: =?utf-8?Q?Jaut=C4=81jums?=\r\n\
Message-ID: <replygate.8f3a2b@sif.gov.lv>\r\n\
Auto-Submitted: auto-replied\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Paldies, saņēmām.\r\n\
\r\n\
--_000_NDR_--\r\n";

    fn corpus_file(name: &str) -> Option<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        ["../shared/corpus/mail", "../../shared/corpus/mail"]
            .iter()
            .map(|d| root.join(d).join(name))
            .find(|p| p.is_file())
            .and_then(|p| std::fs::read(p).ok())
    }

    #[test]
    fn postfix_dsn_from_corpus() {
        let Some(raw) = corpus_file("07-auto-dsn-mailer-daemon.eml") else {
            panic!("corpus file 07 not found: clone the shared folder beside the repository as ../shared");
        };
        let b = parse_bounce(&raw).expect("07 is a bounce");
        assert_eq!(b.failed_recipients, ["martins.ozols@inboks.lv"]);
        assert_eq!(
            b.original_message_ids,
            ["3b9d2f1e-7c44-4a51-9e0b-5d2f7a6c1e08@sif.gov.lv"]
        );
    }

    #[test]
    fn exchange_ndr() {
        let b = parse_bounce(EXCHANGE_NDR.as_bytes()).expect("NDR is a bounce");
        assert_eq!(b.failed_recipients, ["client@example.lv"]);
        assert_eq!(b.original_message_ids, ["replygate.8f3a2b@sif.gov.lv"]);
    }

    #[test]
    fn x_failed_recipients_only() {
        let raw = "From: Mail Delivery System <Mailer-Daemon@mx.example.com>\r\n\
X-Failed-Recipients: A@x.lv, b@y.lv\r\n\
Subject: Mail delivery failed\r\n\r\n\
This message was created automatically by mail delivery software.\r\n\
------ This is a copy of the message, including all the headers. ------\r\n\
Message-ID: <replygate.1@sif.gov.lv>\r\n";
        let b = parse_bounce(raw.as_bytes()).unwrap();
        assert_eq!(b.failed_recipients, ["a@x.lv", "b@y.lv"]);
        assert_eq!(b.original_message_ids, ["replygate.1@sif.gov.lv"]);
    }

    /// A report with the original's headers but no failure gives nothing.
    #[test]
    fn reports_without_a_failure() {
        let report = |report_type: &str, second_ct: &str, second: &str| {
            format!(
                "From: MAILER-DAEMON@mx.sif.gov.lv\r\nContent-Type: multipart/report; \
report-type={report_type}; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
info\r\n--B\r\nContent-Type: {second_ct}\r\n\r\n{second}\r\n--B\r\n\
Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <replygate.1@sif.gov.lv>\r\n--B--\r\n"
            )
        };
        let status = |action: &str| {
            format!(
                "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b.lv\r\nAction: {action}\r\n\
Status: 4.4.1\r\n"
            )
        };
        for action in ["delayed", "delivered", "relayed", "expanded"] {
            let raw = report("delivery-status", "message/delivery-status", &status(action));
            assert_eq!(parse_bounce(raw.as_bytes()), None, "{action}");
        }
        let raw = report("delivery-status", "message/delivery-status", &status("failed"));
        let b = parse_bounce(raw.as_bytes()).expect("failed is a bounce");
        assert_eq!(b.failed_recipients, ["a@b.lv"]);
        assert_eq!(b.original_message_ids, ["replygate.1@sif.gov.lv"]);
        // Read receipt (RFC 8098) and abuse report (RFC 5965).
        let mdn = report(
            "disposition-notification",
            "message/disposition-notification",
            "Final-Recipient: rfc822; a@b.lv\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n",
        );
        assert_eq!(parse_bounce(mdn.as_bytes()), None);
        let arf = report(
            "feedback-report",
            "message/feedback-report",
            "Feedback-Type: abuse\r\n",
        );
        assert_eq!(parse_bounce(arf.as_bytes()), None);
        // X-Failed-Recipients wins over a delay block.
        let raw = report("delivery-status", "message/delivery-status", &status("delayed")).replacen(
            "\r\n",
            "\r\nX-Failed-Recipients: c@d.lv\r\n",
            1,
        );
        let b = parse_bounce(raw.as_bytes()).expect("X-Failed-Recipients is a failure");
        assert_eq!(b.failed_recipients, ["c@d.lv"]);
    }

    #[test]
    fn text_only_robot_reports() {
        let qmail = "From: MAILER-DAEMON@mx.vecs.lv\r\nSubject: failure notice\r\n\r\n\
Hi. This is the qmail-send program at mx.vecs.lv.\r\n\
I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n\
<A@Vecs.lv>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n\
<b@vecs.lv>:\r\nmailbox full\r\n\r\n\
--- Below this line is a copy of the message.\r\n\r\n\
To: <c@vecs.lv>:\r\nMessage-ID: <replygate.q@sif.gov.lv>\r\n";
        let b = parse_bounce(qmail.as_bytes()).expect("qmail failure");
        assert_eq!(b.failed_recipients, ["a@vecs.lv", "b@vecs.lv"]);
        assert_eq!(b.original_message_ids, ["replygate.q@sif.gov.lv"]);
        let exim = "From: Mailer-Daemon@mx.lv\r\nSubject: Mail delivery failed\r\n\r\n\
A message that you sent could not be delivered to one or more of its\r\n\
recipients. This is a permanent error. The following address(es) failed:\r\n\r\n\
\x20 x@y.lv\r\n    Unrouteable address\r\n  z@y.lv\r\n\r\n\
------ This is a copy of the message, including all the headers. ------\r\n\
Message-ID: <replygate.e@sif.gov.lv>\r\n";
        let b = parse_bounce(exim.as_bytes()).expect("exim failure");
        assert_eq!(b.failed_recipients, ["x@y.lv", "z@y.lv"]);
        for delay in [
            "Subject: Warning: message 1vA delayed 24 hours\r\n\r\nx\r\n",
            "Subject: Mail\r\n\r\nA message that you sent has not yet been delivered to one or more\r\n",
            "Subject: Mail\r\n\r\n*** THIS IS A WARNING ONLY ***\r\n",
        ] {
            let raw = format!("From: MAILER-DAEMON@mx.lv\r\n{delay}Message-ID: <replygate.d@sif.gov.lv>\r\n");
            assert_eq!(parse_bounce(raw.as_bytes()), None, "{delay}");
        }
    }

    /// Regression (fuzz finding, also a real Mail.Ru bounce): a robot's
    /// text line whose 11th byte falls inside a Cyrillic or Japanese
    /// character panicked a `l[..11]` slice; the panic was caught, so the
    /// bounce was lost. It must be read, with the Message-ID after it.
    #[test]
    fn multibyte_text_before_message_id() {
        for line in [
            "Рекомендуем Вам проверить корректность указания адресов получателей.",
            "ディレクトリのリストにありません",
            "このメールは「m-FILTER」が自動的に生成して送信しています。",
        ] {
            let raw = format!(
                "From: MAILER-DAEMON@mx.example.ru\r\nSubject: failure notice\r\n\r\n\
<a@b.lv>:\r\n{line}\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n\
Message-ID: <replygate.m@sif.gov.lv>\r\n"
            );
            let b = parse_bounce_inner(raw.as_bytes()).expect("a bounce");
            assert_eq!(b.original_message_ids, ["replygate.m@sif.gov.lv"], "{line}");
            assert_eq!(b.failed_recipients, ["a@b.lv"], "{line}");
        }
    }

    #[test]
    fn robot_notice_text() {
        let mail = |subject: &str, body: &str| {
            format!("From: Someone <x@example.com>\r\nSubject: {subject}\r\n\r\n{body}\r\n").into_bytes()
        };
        let robots = [
            "Error: Invalid user address\r\n\r\nError message below:\r\n550 - Requested action not taken: no such user here",
            "Hi. This is the qmail-send program at mx.example.com.",
            "Your message did not reach some or all of the intended recipients.",
            "Remote host said: 550 5.1.1 <a@b.lv>... User unknown",
        ];
        for b in robots {
            assert!(is_robot_notice(&mail("x", b)), "{b}");
        }
        let people = [
            "Labdien! Mana vēstule jums atgriezās. Vai varat pārbaudīt adresi?",
            "Hello, my mail was returned with \"user unknown\". Can you help?",
            "> Your message did not reach some or all of the intended recipients.\r\nWhy did this happen?",
            "",
        ];
        for b in people {
            assert!(!is_robot_notice(&mail("Returned mail", b)), "{b}");
        }
    }

    #[test]
    fn not_a_bounce() {
        // A forwarded message is not a bounce.
        let raw = "From: anna@inbox.lv\r\nSubject: Fwd: x\r\n\
Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
Content-Type: text/plain\r\n\r\nsee below\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n\
From: x@y.lv\r\nMessage-ID: <orig@y.lv>\r\n\r\nhi\r\n--B--\r\n";
        assert_eq!(parse_bounce(raw.as_bytes()), None);
        assert_eq!(parse_bounce(b"From: a@b.lv\r\nSubject: hi\r\n\r\nhello"), None);
        assert_eq!(parse_bounce(b""), None);
        assert_eq!(parse_bounce(b"\xff\xfe\x00garbage"), None);
        // A report whose recipients were all delivered names nothing.
        let raw = "From: postmaster@x.lv\r\nContent-Type: multipart/report; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n\
Final-Recipient: rfc822; a@b.lv\r\nAction: delivered\r\n\r\n--B--\r\n";
        assert_eq!(parse_bounce(raw.as_bytes()), None);
    }
}
