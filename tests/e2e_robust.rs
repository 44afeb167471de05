//! One bad message or action never blocks the others (SPEC §10).

mod support;

use support::world::{t, World};

fn mail(from: &str, subject: &str, id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: pasts@sif.gov.lv\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0200\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLabdien! Jautājums.\r\n"
    )
    .into_bytes()
}

#[test]
fn an_unsendable_address_does_not_block_other_acknowledgements() {
    let w = World::new("[reply]\nstart_from = \"2026-11-01\"\nack = \"immediate\"\n");
    w.dovecot.append(
        "INBOX",
        &mail("Broken <broken@@exa mple>", "Pirmais", "a1@example.lv"),
        t("2026-11-23T10:00:00+02:00"),
    );
    w.dovecot.append(
        "INBOX",
        &mail("Anna <anna@example.lv>", "Otrais", "a2@example.lv"),
        t("2026-11-23T10:05:00+02:00"),
    );
    w.run("2026-11-23T10:30:00+02:00");
    let sent = w.sent();
    let rcpts: Vec<_> = sent.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    assert_eq!(rcpts, vec!["anna@example.lv".to_string()], "{sent:#?}");
    // Nothing is retried for ever, nothing sent twice.
    w.run("2026-11-23T10:45:00+02:00");
    assert_eq!(w.sent().len(), 1);
    // Both questions are cases; only the sendable one was acknowledged.
    let st = w.status("2026-11-23T11:00:00+02:00");
    let cases = st["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{st:#}");
    assert!(cases
        .iter()
        .any(|c| c["client"] == "broken@@exa mple" && c["acknowledged_at"].is_null()));
    assert!(cases
        .iter()
        .any(|c| c["client"] == "anna@example.lv" && c["acknowledged_at"].is_string()));
}

#[test]
fn a_dry_run_sends_nothing_and_loses_nothing() {
    let w = World::new("[reply]\nstart_from = \"2026-11-01\"\nack = \"immediate\"\n");
    w.dovecot.append(
        "INBOX",
        &mail("Anna <anna@example.lv>", "Jautājums", "q1@example.lv"),
        t("2026-11-23T10:00:00+02:00"),
    );
    let reply = "From: Jānis Bērziņš <janis.berzins@sif.gov.lv>\r\nTo: anna@example.lv\r\nSubject: Re: Jautājums\r\n\
        Message-ID: <r1@sif.gov.lv>\r\nIn-Reply-To: <q1@example.lv>\r\nDate: Mon, 23 Nov 2026 11:00:00 +0200\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nLabdien! Atbilde ir jā.\r\n\r\nJānis Bērziņš\r\n";
    w.dovecot
        .append("Sent", reply.as_bytes(), t("2026-11-23T11:00:00+02:00"));
    let out = w.cmd(&["run", "--once", "--dry-run", "--now", "2026-11-23T10:30:00+02:00"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Ack"),
        "the dry run logs what it would do"
    );
    assert!(w.sent().is_empty());
    assert!(
        w.status("2026-11-23T10:30:00+02:00")["cases"]
            .as_array()
            .unwrap()
            .is_empty(),
        "rolled back"
    );
    // The real runs do everything the dry run showed, and the staff reply's
    // signature warning (no organisation, no contact) is not lost either.
    w.run("2026-11-23T10:30:00+02:00");
    w.run("2026-11-23T12:00:00+02:00");
    let sent = w.sent();
    let rcpts: Vec<_> = sent.iter().map(|m| m.rcpt_to.join(",")).collect();
    assert_eq!(
        rcpts,
        vec!["anna@example.lv", "janis.berzins@sif.gov.lv"],
        "{sent:#?}"
    );
}
