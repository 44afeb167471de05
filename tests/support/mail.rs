//! Small hand-made messages for end-to-end tests of the send path, and
//! helpers to read what the SMTP sink received.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};

use super::smtp_sink::SinkMessage;

/// A plain client question that passes every "is it human" check (DMARC
/// pass from the trusted authserv-id, no automatic headers). `extra` are
/// more header lines (`Name: value`), e.g. Reply-To or References.
pub fn client(from: &str, message_id: &str, subject: &str, date: &str, extra: &[&str]) -> Vec<u8> {
    let mut h = String::new();
    h.push_str(&format!("Return-Path: <{}>\r\n", addr(from)));
    h.push_str(
        "Authentication-Results: mx.sif.gov.lv;\r\n\tdkim=pass header.d=example.lv;\r\n\tspf=pass smtp.mailfrom=example.lv;\r\n\tdmarc=pass (p=none dis=none) header.from=example.lv\r\n",
    );
    h.push_str(&format!(
        "From: {from}\r\nTo: pasts@sif.gov.lv\r\nDate: {date}\r\n"
    ));
    h.push_str(&format!("Message-ID: {message_id}\r\nSubject: {subject}\r\n"));
    for e in extra {
        h.push_str(e);
        h.push_str("\r\n");
    }
    h.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    h.push_str("Labdien!\r\n\r\nLūdzu, pastāstiet, kā pieteikties projektu konkursam?\r\n\r\nAr cieņu\r\nKlients\r\n");
    h.into_bytes()
}

/// A compliant staff reply (for Sent) to `in_reply_to`, to `to`.
pub fn staff_reply(to: &str, in_reply_to: &str, subject: &str, date: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Jānis Bērziņš <janis.berzins@sif.gov.lv>\r\nTo: {to}\r\nDate: {date}\r\nMessage-ID: {message_id}\r\nIn-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\nSubject: Re: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nLabdien!\r\n\r\nPieteikumu var iesniegt tiešsaistē.\r\n\r\nAr cieņu\r\nJānis Bērziņš\r\nSabiedrības integrācijas fonds\r\nTālr. +371 67078190\r\n"
    )
    .into_bytes()
}

/// A Postfix-style delivery report for `failed` about the message
/// `original_id` sent by the gateway.
pub fn dsn(failed: &str, original_id: &str, date: &str) -> Vec<u8> {
    format!(
        "Return-Path: <>\r\nDate: {date}\r\nFrom: MAILER-DAEMON@mx.sif.gov.lv (Mail Delivery System)\r\nSubject: Undelivered Mail Returned to Sender\r\nTo: pasts@sif.gov.lv\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B0UND\"\r\nMessage-Id: <dsn.{n}@mx.sif.gov.lv>\r\n\r\n--B0UND\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n<{failed}>: host said: 550 5.1.1 no such user\r\n\r\n--B0UND\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.sif.gov.lv\r\n\r\nFinal-Recipient: rfc822; {failed}\r\nOriginal-Recipient: rfc822;{failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B0UND\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: =?UTF-8?Q?Sabiedr=C4=ABbas_integr=C4=81cijas_fonds?= <pasts@sif.gov.lv>\r\nTo: {failed}\r\nMessage-ID: {original_id}\r\nAuto-Submitted: auto-replied\r\nSubject: Auto: question\r\n\r\n--B0UND--\r\n",
        n = original_id.len(),
    )
    .into_bytes()
}

fn addr(from: &str) -> &str {
    match (from.find('<'), from.find('>')) {
        (Some(a), Some(b)) if a < b => &from[a + 1..b],
        _ => from,
    }
}

/// Is this message an acknowledgement?
pub fn is_ack(m: &SinkMessage) -> bool {
    m.header("Auto-Submitted") == Some("auto-replied")
}

/// The decoded subject.
pub fn subject(m: &SinkMessage) -> String {
    mail_parser::MessageParser::default()
        .parse(&m.raw)
        .and_then(|p| p.subject().map(str::to_string))
        .unwrap_or_default()
}

/// The decoded text body.
pub fn text(m: &SinkMessage) -> String {
    mail_parser::MessageParser::default()
        .parse(&m.raw)
        .and_then(|p| p.body_text(0).map(|t| t.to_string()))
        .unwrap_or_default()
}

/// How many times each Message-ID was received.
pub fn by_message_id(msgs: &[SinkMessage]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for x in msgs {
        *m.entry(x.header("Message-ID").unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    m
}

/// Acknowledgements received, as (recipients joined, message).
pub fn acks(msgs: &[SinkMessage]) -> Vec<&SinkMessage> {
    msgs.iter().filter(|m| is_ack(m)).collect()
}

/// Acknowledgements to `rcpt`.
pub fn acks_to<'a>(msgs: &'a [SinkMessage], rcpt: &str) -> Vec<&'a SinkMessage> {
    msgs.iter()
        .filter(|m| is_ack(m) && m.rcpt_to.iter().any(|r| r == rcpt))
        .collect()
}

/// A test mail built up header by header: headers in order and a
/// plain-text body (UTF-8, 8bit).
pub struct Mail {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A client question; `id` is the bare Message-ID (None: no Message-ID).
pub fn mail(from: &str, to: &str, subject: &str, id: Option<&str>) -> Mail {
    let mut headers = vec![
        ("From".to_string(), from.to_string()),
        ("To".into(), to.into()),
        ("Subject".into(), subject.into()),
    ];
    if let Some(id) = id {
        headers.push(("Message-ID".into(), format!("<{id}>")));
    }
    headers.push(("MIME-Version".into(), "1.0".into()));
    headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
    headers.push(("Content-Transfer-Encoding".into(), "8bit".into()));
    Mail {
        headers,
        body: "Labdien!\n\nLūdzu, paskaidrojiet, kā pieteikties.\n\nAr cieņu,\nKlients\n".into(),
    }
}

impl Mail {
    /// One more header.
    pub fn h(mut self, k: &str, v: &str) -> Mail {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// In-Reply-To and References naming `parent` (a bare id).
    pub fn reply_to(self, parent: &str) -> Mail {
        self.h("In-Reply-To", &format!("<{parent}>"))
            .h("References", &format!("<{parent}>"))
    }

    pub fn body(mut self, b: &str) -> Mail {
        self.body = b.into();
        self
    }

    /// The message with a Date header, CRLF line ends.
    pub fn raw(&self, date: DateTime<FixedOffset>) -> Vec<u8> {
        let mut s = format!("Date: {}\r\n", date.to_rfc2822());
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.push_str(&self.body.replace('\n', "\r\n"));
        s.into_bytes()
    }
}
