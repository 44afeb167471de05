//! Per-message work on hostile shapes (SPEC §11.1), for `scripts/bench-hostile`:
//! each shape goes through everything the gateway does with a message's
//! bytes — the header parse (cut at the IMAP header cap, as fetched),
//! classification, threading ids, subject normalisation, the
//! acknowledgement recipient, and on the whole message the author text,
//! the signature check, the interim search, the feedback judge (SPEC §14,
//! on the author text as a client mail) and the bounce reader — and
//! the wall time of each shape is printed. The SPEC asks for "well under
//! a second" per message.
//!
//! Usage: `bench_hostile` (no arguments).

use std::time::Instant;

use replygate::cases::feedback::Recogniser;
use replygate::cases::interim::InterimMatcher;
use replygate::cases::signature;
use replygate::config::{OrganizationConfig, SignatureElement};
use replygate::inbound::classify::{self, ClassifySettings, FolderKind};
use replygate::inbound::imap::HEADER_CAP;
use replygate::inbound::message::{Address, MessageMeta};
use replygate::inbound::{authortext, bounce, submission, thread};

fn head(extra: &str) -> String {
    format!(
        "From: Eve <eve@spam.example>\r\nTo: pasts@sif.gov.lv\r\nSubject: Re: Jautājums\r\nMessage-ID: <x@spam.example>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0200\r\n{extra}MIME-Version: 1.0\r\n"
    )
}

fn shapes() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    // 100 000 Message-IDs in References (about 3 MB).
    let refs: Vec<String> = (0..100_000)
        .map(|i| format!("<r{i:06}.abc@spam.example>"))
        .collect();
    let mut r = String::from("References: ");
    for c in refs.chunks(4) {
        r.push_str(&c.join(" "));
        r.push_str("\r\n ");
    }
    r.push_str("<last@spam.example>\r\n");
    out.push((
        "100 000 Message-IDs in References",
        format!("{}Content-Type: text/plain\r\n\r\nhi\r\n", head(&r)).into_bytes(),
    ));
    // 100 000 header fields.
    let mut h = String::new();
    for i in 0..100_000 {
        h.push_str(&format!("X-F{i}: v\r\n"));
    }
    out.push((
        "100 000 header fields",
        format!("{}Content-Type: text/plain\r\n\r\nhi\r\n", head(&h)).into_bytes(),
    ));
    // 1 000 MIME parts, each with an attachment name.
    let mut body = String::new();
    for i in 0..1000 {
        body.push_str(&format!(
            "--B\r\nContent-Type: application/octet-stream; name=\"f{i}.edoc\"\r\nContent-Disposition: attachment; filename=\"f{i}.edoc\"\r\n\r\nQUJD\r\n"
        ));
    }
    body.push_str("--B--\r\n");
    out.push((
        "1 000 MIME parts",
        format!(
            "{}Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n{body}",
            head("")
        )
        .into_bytes(),
    ));
    // A 2 MiB HTML body, deeply nested and quote-like.
    let mut html = String::from("<html><body>");
    while html.len() < 2 * 1024 * 1024 {
        html.push_str("<div><blockquote><p>&gt; līdz 03.12.2026 Sabiedrības integrācijas fonds <b>x</b> &amp; <a href=\"x\">y</a></p>");
    }
    html.push_str("</body></html>");
    out.push((
        "2 MiB HTML body",
        format!(
            "{}Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n",
            head("")
        )
        .into_bytes(),
    ));
    // A 2 MiB plain body of quote markers and reply headers.
    let mut text = String::new();
    while text.len() < 2 * 1024 * 1024 {
        text.push_str(
            "> On Mon, 7 Dec 2026 Anna wrote:\r\n>> -----Original Message-----\r\nFrom: a\r\nSent: b\r\n",
        );
    }
    out.push((
        "2 MiB quoted plain text",
        format!(
            "{}Content-Type: text/plain; charset=utf-8\r\n\r\n{text}",
            head("")
        )
        .into_bytes(),
    ));
    // A 1 MiB subject line and 10 000 Reply-To addresses.
    let subj = format!("Subject: {}\r\n", "Re: ".repeat(250_000));
    let rt: Vec<String> = (0..10_000).map(|i| format!("a{i}@x{i}.example")).collect();
    out.push((
        "1 MiB subject of Re: and 10 000 Reply-To",
        format!(
            "{}{subj}Reply-To: {}\r\nContent-Type: text/plain\r\n\r\nhi\r\n",
            head(""),
            rt.join(", ")
        )
        .into_bytes(),
    ));
    // The feedback judge's worst: every sentence names the service and
    // judges it, every other one opens with a pronoun (an appraisal of the
    // sentence before), and every word is one it looks up.
    let appraisals = "Jūsu darbinieki strādā lēni. Tā bija slikta konsultācija. ".repeat(20_000);
    let words = "sūdzība atsauksme apkalpošana neapmierināts complaint ".repeat(40_000);
    for (name, body) in [
        ("1 MiB of appraisal sentences", appraisals),
        ("2 MiB of feedback words", words),
    ] {
        out.push((
            name,
            format!(
                "{}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}",
                head("")
            )
            .into_bytes(),
        ));
    }
    // A delivery report listing 50 000 failed recipients.
    let mut ds = String::from("Reporting-MTA: dns; mx\r\n");
    for i in 0..50_000 {
        ds.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; u{i}@x.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        ));
    }
    out.push((
        "delivery report with 50 000 recipients",
        format!(
            "From: MAILER-DAEMON@mx.example\r\nTo: pasts@sif.gov.lv\r\nSubject: Undelivered\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n{ds}\r\n--R--\r\n"
        )
        .into_bytes(),
    ));
    out
}

fn main() {
    let settings = ClassifySettings {
        org_domains: vec!["sif.gov.lv".into()],
        gateway_address: "pasts@sif.gov.lv".into(),
        never_ack: vec!["noreply".into()],
        trusted_authserv_id: Some("mx.sif.gov.lv".into()),
        ..ClassifySettings::default()
    };
    let org = OrganizationConfig {
        name: "Sabiedrības integrācijas fonds".into(),
        aliases: vec!["SIF".into()],
        domains: vec!["sif.gov.lv".into()],
        case_prefix: "SIF".into(),
        phone: "+371 67078190".into(),
        website: "www.sif.gov.lv".into(),
    };
    let require = [
        SignatureElement::Organization,
        SignatureElement::Name,
        SignatureElement::Surname,
        SignatureElement::Contact,
    ];
    let interim = InterimMatcher::new(None).expect("built-in pattern");
    let recogniser = Recogniser::new(None, &[]);
    let reference = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
    let mut worst = 0.0f64;
    println!("{:<44} {:>10} {:>12}", "shape", "bytes", "seconds");
    for (name, raw) in shapes() {
        let start = Instant::now();
        // As fetched: the header block cut at the cap.
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(raw.len(), |p| p + 4);
        let header = &raw[..end.min(HEADER_CAP)];
        let meta = MessageMeta::parse(header).expect("parses");
        let _ = classify::classify(&meta, FolderKind::Inbox, &settings);
        let _ = classify::classify(&meta, FolderKind::Sent, &settings);
        let _ = thread::referenced_ids(&meta);
        let _ = thread::normalize_subject(&meta.subject);
        let _ = classify::ack_recipient(&meta, &settings);
        let _ = submission::is_submission(
            &meta.subject,
            &meta.attachments,
            &["edoc".into()],
            &["iesniegums".into()],
        );
        // The whole message, as staff mail and as a delivery report.
        let whole = MessageMeta::parse(&raw).expect("parses");
        let text = authortext::author_text(&raw);
        let from = Address {
            name: Some("Jānis Bērziņš".into()),
            email: "janis@sif.gov.lv".into(),
        };
        let _ = signature::check(&text, &from, &[], &org, &require);
        let _ = interim.find_after(&text, reference);
        let _ = recogniser.judge(&meta.subject, &text);
        let _ = bounce::parse_bounce(&raw);
        let secs = start.elapsed().as_secs_f64();
        worst = worst.max(secs);
        println!("{name:<44} {:>10} {secs:>12.3}", raw.len());
        drop(whole);
    }
    println!("worst: {worst:.3} s per message");
}
