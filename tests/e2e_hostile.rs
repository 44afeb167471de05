//! Hostile mail against a real Dovecot and a real SMTP sink (SPEC §11 and
//! the amended §2, §4.3, §5.2, §5.3): each hole an attacker could use, as
//! mail delivered into the mailbox and what then reaches the SMTP server,
//! the cases and `status`.

mod support;

use serde_json::Value;
use support::mail::{acks_to, mail, subject, text, Mail};
use support::smtp_sink::SinkMessage;
use support::world::{t, World};

const POST: &str = "pasts@sif.gov.lv";
const JANIS: &str = "Jānis Bērziņš <janis.berzins@sif.gov.lv>";
const SIGNED: &str = "Labdien!\n\nAtbildam uz Jūsu jautājumu: pieteikties var tiešsaistē.\n\n\
Ar cieņu,\nJānis Bērziņš\nSabiedrības integrācijas fonds\nTālr. +371 67078190\n";
/// Proof of internal origin from the trusted receiving server (§11.2).
const PROOF: &str = "mx.sif.gov.lv; dkim=pass header.d=sif.gov.lv; dmarc=pass header.from=sif.gov.lv";

/// Acknowledgements at once, so one run shows what is sent.
const IMMEDIATE: &str =
    "[reply]\nstart_from = \"2026-11-01\"\ntrusted_authserv_id = \"mx.sif.gov.lv\"\nack = \"immediate\"\n";

fn put(w: &World, folder: &str, m: Mail, at: &str) {
    let d = t(at);
    w.dovecot.append(folder, &m.raw(d), d);
}

fn case(st: &Value, client: &str) -> Value {
    let v = World::case_of(st, client);
    assert_eq!(v.len(), 1, "cases of {client}: {st:#}");
    v[0].clone()
}

fn to_anyone(sent: &[SinkMessage], rcpt: &str) -> usize {
    sent.iter()
        .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(rcpt)))
        .count()
}

/// Forged staff mail in the inbox (§11.2): an organisation From with the
/// client in To and the shared mailbox in Cc, in the client's thread,
/// promising a date 73 years away. It answers nothing, extends nothing,
/// warns no one, and is counted; the same mail with proof answers.
#[test]
fn forged_staff_mail_in_the_inbox_changes_nothing() {
    let w = World::new(IMMEDIATE);
    // Mon 7 Dec 2026, Riga.
    put(
        &w,
        "INBOX",
        mail(
            "anna@firma.lv",
            POST,
            "Jautājums par projektu",
            Some("a1@firma.lv"),
        ),
        "2026-12-07T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(
            "bruno@partneri.lv",
            POST,
            "Cits jautājums",
            Some("b1@partneri.lv"),
        ),
        "2026-12-07T10:05:00+02:00",
    );
    // The forgery: no signature at all, and an interim promise.
    put(
        &w,
        "INBOX",
        mail(
            JANIS,
            "anna@firma.lv",
            "Re: Jautājums par projektu",
            Some("forged1@evil.example"),
        )
        .h("Cc", POST)
        .reply_to("a1@firma.lv")
        .body("Atbildēsim līdz 31.12.2099.\n"),
        "2026-12-07T10:10:00+02:00",
    );
    // A forged "trusted" result from another authserv-id proves nothing.
    put(
        &w,
        "INBOX",
        mail(
            JANIS,
            "bruno@partneri.lv",
            "Re: Cits jautājums",
            Some("forged2@evil.example"),
        )
        .h(
            "Authentication-Results",
            "mx.evil.example; dmarc=pass header.from=sif.gov.lv",
        )
        .h("X-MS-Exchange-Organization-AuthAs", "Internal")
        .h("Cc", POST)
        .reply_to("b1@partneri.lv")
        .body("Paldies, jautājums atrisināts.\n"),
        "2026-12-07T10:15:00+02:00",
    );
    w.run("2026-12-07T10:30:00+02:00");
    let st = w.status("2026-12-07T10:30:00+02:00");
    for client in ["anna@firma.lv", "bruno@partneri.lv"] {
        let c = case(&st, client);
        assert_eq!(c["state"], "open", "{c:#}");
        assert_eq!(c["extended"], false, "{c:#}");
        assert!(c["answered_at"].is_null(), "{c:#}");
    }
    assert!(
        World::case_of(&st, "janis.berzins@sif.gov.lv").is_empty(),
        "{st:#}"
    );
    assert_eq!(st["messages"]["unverified_internal"], 2, "{st:#}");
    let sent = w.sent();
    // No signature warning and no interim refusal to the "author".
    assert_eq!(to_anyone(&sent, "janis.berzins@sif.gov.lv"), 0, "{sent:#?}");
    // The clients still get their acknowledgements.
    assert_eq!(acks_to(&sent, "anna@firma.lv").len(), 1);
    assert_eq!(acks_to(&sent, "bruno@partneri.lv").len(), 1);

    // The same reply proven internal by the trusted server answers.
    put(
        &w,
        "INBOX",
        mail(
            JANIS,
            "anna@firma.lv",
            "Re: Jautājums par projektu",
            Some("real1@sif.gov.lv"),
        )
        .h("Authentication-Results", PROOF)
        .h("Cc", POST)
        .reply_to("a1@firma.lv")
        .body(SIGNED),
        "2026-12-07T11:00:00+02:00",
    );
    w.run("2026-12-07T11:30:00+02:00");
    let st = w.status("2026-12-07T11:30:00+02:00");
    assert_eq!(case(&st, "anna@firma.lv")["state"], "answered", "{st:#}");
    assert_eq!(case(&st, "bruno@partneri.lv")["state"], "open", "{st:#}");
    assert_eq!(st["messages"]["unverified_internal"], 2, "{st:#}");
}

/// §11.1: a message with 5 MB of References (over 100 000 Message-IDs) is
/// read within the header cap and recorded; the normal mail after it is
/// still acknowledged, and the acknowledgement's References stay small.
#[test]
fn five_megabytes_of_references_then_a_normal_mail() {
    let w = World::new(IMMEDIATE);
    let ids: Vec<String> = (0..180_000)
        .map(|i| format!("<r{i:06}.abcdef@spam.example>"))
        .collect();
    let mut refs = String::new();
    for chunk in ids.chunks(4) {
        if !refs.is_empty() {
            refs.push_str("\r\n ");
        }
        refs.push_str(&chunk.join(" "));
    }
    assert!(refs.len() > 5_000_000, "{}", refs.len());
    let huge = mail(
        "eve@spam.example",
        POST,
        "Liela vēstule",
        Some("huge@spam.example"),
    )
    .h("In-Reply-To", "<r000001.abcdef@spam.example>")
    .h("References", &refs);
    put(&w, "INBOX", huge, "2026-12-07T10:00:00+02:00");
    put(
        &w,
        "INBOX",
        mail("anna@firma.lv", POST, "Parasts jautājums", Some("a1@firma.lv")),
        "2026-12-07T10:01:00+02:00",
    );
    w.run("2026-12-07T10:30:00+02:00");
    let st = w.status("2026-12-07T10:30:00+02:00");
    assert_eq!(case(&st, "anna@firma.lv")["state"], "open", "{st:#}");
    assert_eq!(st["messages"]["headers_truncated"], 1, "{st:#}");
    let sent = w.sent();
    assert_eq!(acks_to(&sent, "anna@firma.lv").len(), 1, "{sent:#?}");
    // The big one opened a case too (it is a client mail) and its
    // acknowledgement carries a bounded References header.
    let eve = acks_to(&sent, "eve@spam.example");
    assert_eq!(eve.len(), 1);
    let r = eve[0].header("References").unwrap_or("");
    assert!(r.len() < 8_000, "References of {} bytes", r.len());
    assert!(r.contains("<huge@spam.example>"), "{r}");
    assert!(eve[0].raw.len() < 64_000, "{} bytes", eve[0].raw.len());
    // A second run does nothing more (the batch committed).
    w.run("2026-12-07T10:40:00+02:00");
    assert_eq!(w.sent().len(), sent.len());
}

/// §5.3: the acknowledgement goes to Reply-To only when it is exactly one
/// acceptable address, else to an acceptable From, else to nobody.
#[test]
fn hostile_reply_to() {
    let w = World::new(IMMEDIATE);
    let cases: &[(&str, &str)] = &[
        ("c1@firma.lv", "a@lists.example, b@lists.example"),
        ("c2@firma.lv", "victim@[127.0.0.1]"),
        ("c3@firma.lv", "noreply@firma.lv"),
        ("c4@firma.lv", "klienti@sif.gov.lv"),
        ("c5@firma.lv", "root@localhost"),
        ("c6@firma.lv", "fondi-request@lists.example"),
        ("c7@firma.lv", "pasts@sif.gov.lv"),
    ];
    for (i, (from, rt)) in cases.iter().enumerate() {
        put(
            &w,
            "INBOX",
            mail(
                from,
                POST,
                &format!("Jautājums {i}"),
                Some(&format!("m{i}@firma.lv")),
            )
            .h("Reply-To", rt),
            &format!("2026-12-07T10:0{i}:00+02:00"),
        );
    }
    // An acceptable Reply-To is used.
    put(
        &w,
        "INBOX",
        mail("c8@firma.lv", POST, "Jautājums 8", Some("m8@firma.lv"))
            .h("Reply-To", "Darbs <c8.work@birojs.lv>"),
        "2026-12-07T10:08:00+02:00",
    );
    // Nobody acceptable: the case opens, no acknowledgement goes.
    put(
        &w,
        "INBOX",
        mail("c9@10.1.2.3", POST, "Jautājums 9", Some("m9@firma.lv")).h("Reply-To", "noreply@firma.lv"),
        "2026-12-07T10:09:00+02:00",
    );
    w.run("2026-12-07T10:30:00+02:00");
    let sent = w.sent();
    for (from, _) in cases {
        assert_eq!(acks_to(&sent, from).len(), 1, "{from}: {sent:#?}");
    }
    for bad in [
        "a@lists.example",
        "b@lists.example",
        "victim@[127.0.0.1]",
        "noreply@firma.lv",
        "klienti@sif.gov.lv",
        "root@localhost",
        "fondi-request@lists.example",
        "pasts@sif.gov.lv",
        "c9@10.1.2.3",
    ] {
        assert_eq!(to_anyone(&sent, bad), 0, "{bad}: {sent:#?}");
    }
    assert_eq!(acks_to(&sent, "c8.work@birojs.lv").len(), 1);
    assert_eq!(acks_to(&sent, "c8@firma.lv").len(), 0);
    assert_eq!(sent.len(), cases.len() + 1, "{sent:#?}");
    let st = w.status("2026-12-07T10:30:00+02:00");
    let c9 = case(&st, "c9@10.1.2.3");
    assert_eq!(c9["state"], "open", "{c9:#}");
}

/// §5.2: a delivery report about mail the gateway never sent changes
/// nothing; one about the gateway's acknowledgement silences that address.
#[test]
fn forged_bounce_changes_nothing() {
    let w = World::new(IMMEDIATE);
    // A forged report naming Anna (never written to) and a made-up id.
    let forged = support::mail::dsn(
        "anna@firma.lv",
        "<replygate.forged@sif.gov.lv>",
        "Mon, 7 Dec 2026 09:00:00 +0200",
    );
    w.dovecot.append("INBOX", &forged, t("2026-12-07T09:00:00+02:00"));
    put(
        &w,
        "INBOX",
        mail("anna@firma.lv", POST, "Jautājums", Some("a1@firma.lv")),
        "2026-12-07T10:00:00+02:00",
    );
    w.run("2026-12-07T10:30:00+02:00");
    let sent = w.sent();
    assert_eq!(acks_to(&sent, "anna@firma.lv").len(), 1, "{sent:#?}");
    let ack_id = acks_to(&sent, "anna@firma.lv")[0]
        .header("Message-ID")
        .unwrap()
        .to_string();

    // A genuine report about that acknowledgement silences Anna for 7 days
    // (her next question, after the interval, gets no acknowledgement) ...
    let real = support::mail::dsn("anna@firma.lv", &ack_id, "Mon, 7 Dec 2026 10:40:00 +0200");
    w.dovecot.append("INBOX", &real, t("2026-12-07T10:40:00+02:00"));
    put(
        &w,
        "INBOX",
        mail("anna@firma.lv", POST, "Otrs jautājums", Some("a2@firma.lv")),
        "2026-12-08T10:00:00+02:00",
    );
    // ... and a forged report about Bruno, whom the gateway never wrote
    // to, does not silence him.
    let forged = support::mail::dsn(
        "bruno@partneri.lv",
        "<nothing@partneri.lv>",
        "Tue, 8 Dec 2026 09:00:00 +0200",
    );
    w.dovecot.append("INBOX", &forged, t("2026-12-08T09:00:00+02:00"));
    put(
        &w,
        "INBOX",
        mail("bruno@partneri.lv", POST, "Jautājums", Some("b1@partneri.lv")),
        "2026-12-08T10:05:00+02:00",
    );
    w.run("2026-12-08T10:30:00+02:00");
    let sent = w.sent();
    assert_eq!(acks_to(&sent, "anna@firma.lv").len(), 1, "{sent:#?}");
    assert_eq!(acks_to(&sent, "bruno@partneri.lv").len(), 1, "{sent:#?}");
}

/// §5.3: a subject with line breaks (raw or encoded) or of any length is
/// repeated as one line of at most 120 characters; nothing it says becomes
/// a header or a recipient.
#[test]
fn header_injection_subjects() {
    let w = World::new(IMMEDIATE);
    let encoded = "=?utf-8?B?SGk=?= =?utf-8?Q?=0D=0ABcc:_victim@evil.example=0D=0A=0D=0Abody?=";
    put(
        &w,
        "INBOX",
        mail("c1@firma.lv", POST, encoded, Some("s1@firma.lv")),
        "2026-12-07T10:00:00+02:00",
    );
    let long = format!("Sākums {}beigas", "ļoti gara tēma ".repeat(700));
    put(
        &w,
        "INBOX",
        mail("c2@firma.lv", POST, &long, Some("s2@firma.lv")),
        "2026-12-07T10:01:00+02:00",
    );
    w.run("2026-12-07T10:30:00+02:00");
    let sent = w.sent();
    assert_eq!(sent.len(), 2, "{sent:#?}");
    for m in &sent {
        assert_eq!(m.rcpt_to.len(), 1, "{:?}", m.rcpt_to);
        assert!(m.header("Bcc").is_none(), "{:?}", m.headers);
        let s = subject(m);
        assert!(!s.contains(['\r', '\n']), "{s:?}");
        let repeated = s.strip_prefix("Auto: ").unwrap_or(&s);
        assert!(
            repeated.chars().count() <= 120,
            "{} chars: {s}",
            repeated.chars().count()
        );
        for line in text(m).lines() {
            assert!(!line.trim_start().starts_with("Bcc:"), "{line}");
        }
    }
    let c2 = acks_to(&sent, "c2@firma.lv")[0];
    let s = subject(c2);
    assert!(
        s.starts_with("Auto: Sākums ļoti gara tēma") && s.ends_with('…'),
        "{s}"
    );
    assert!(!text(c2).contains("beigas"), "the body repeats the whole subject");
    assert_eq!(to_anyone(&sent, "victim@evil.example"), 0);
}

/// §11.3: a stranger answering another client's thread opens a case of
/// their own (no reopening, nothing of the other case shown); a colleague
/// from the client's own company joins it.
#[test]
fn stranger_replying_into_another_clients_thread() {
    let w = World::new(IMMEDIATE);
    put(
        &w,
        "INBOX",
        mail(
            "anna@inbox.lv",
            POST,
            "Mans personīgais jautājums",
            Some("a1@inbox.lv"),
        ),
        "2026-12-07T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail("liga@firma.lv", POST, "Uzņēmuma jautājums", Some("l1@firma.lv")),
        "2026-12-07T10:01:00+02:00",
    );
    put(
        &w,
        "Sent",
        mail(
            JANIS,
            "anna@inbox.lv",
            "Re: Mans personīgais jautājums",
            Some("s1@sif.gov.lv"),
        )
        .reply_to("a1@inbox.lv")
        .body(SIGNED),
        "2026-12-07T10:10:00+02:00",
    );
    put(
        &w,
        "Sent",
        mail(
            JANIS,
            "liga@firma.lv",
            "Re: Uzņēmuma jautājums",
            Some("s2@sif.gov.lv"),
        )
        .reply_to("l1@firma.lv")
        .body(SIGNED),
        "2026-12-07T10:11:00+02:00",
    );
    w.run("2026-12-07T10:20:00+02:00");
    let st = w.status("2026-12-07T10:20:00+02:00");
    let anna_case = case(&st, "anna@inbox.lv");
    assert_eq!(anna_case["state"], "answered");
    let anna_id = anna_case["id"].as_str().unwrap().to_string();

    // Eve shares Anna's public provider and knows her Message-IDs.
    put(
        &w,
        "INBOX",
        mail(
            "eve@inbox.lv",
            POST,
            "Re: Mans personīgais jautājums",
            Some("e1@inbox.lv"),
        )
        .h("In-Reply-To", "<s1@sif.gov.lv>")
        .h("References", "<a1@inbox.lv> <s1@sif.gov.lv>"),
        "2026-12-07T11:00:00+02:00",
    );
    // Pēteris works with Līga: he may follow up on the company's case.
    put(
        &w,
        "INBOX",
        mail(
            "peteris@firma.lv",
            POST,
            "Re: Uzņēmuma jautājums",
            Some("p1@firma.lv"),
        )
        .h("In-Reply-To", "<s2@sif.gov.lv>")
        .h("References", "<l1@firma.lv> <s2@sif.gov.lv>"),
        "2026-12-07T11:01:00+02:00",
    );
    w.run("2026-12-07T11:30:00+02:00");
    let st = w.status("2026-12-07T11:30:00+02:00");
    assert_eq!(case(&st, "anna@inbox.lv")["state"], "answered", "{st:#}");
    let eve = case(&st, "eve@inbox.lv");
    assert_eq!(eve["state"], "open");
    assert_ne!(eve["id"], anna_id);
    assert_eq!(
        case(&st, "liga@firma.lv")["state"],
        "open",
        "reopened by a colleague: {st:#}"
    );
    assert!(World::case_of(&st, "peteris@firma.lv").is_empty(), "{st:#}");

    let sent = w.sent();
    let to_eve = acks_to(&sent, "eve@inbox.lv");
    assert_eq!(to_eve.len(), 1);
    let all = format!("{}\n{}", String::from_utf8_lossy(&to_eve[0].raw), text(to_eve[0]));
    assert!(!all.contains(&anna_id), "Eve's acknowledgement names Anna's case");
    assert!(!all.contains("anna@inbox.lv"), "Eve's acknowledgement names Anna");
}
