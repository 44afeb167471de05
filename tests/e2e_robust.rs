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
        String::from_utf8_lossy(&out.stderr).contains("due: acknowledgement case=SIF-"),
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

/// `run --once` with the test hook that aborts the process when it reads
/// a header holding `KILLS-REPLYGATE`.
fn run_with_the_killer(w: &World) -> std::process::Output {
    std::process::Command::new(support::world::bin())
        .arg("-c")
        .arg(&w.config)
        .args(["run", "--once", "--now", "2026-11-23T10:30:00+02:00"])
        .env("REPLYGATE_TEST_ABORT_ON", "KILLS-REPLYGATE")
        .output()
        .unwrap()
}

/// [`run_with_the_killer`] again until a run lives, at most `limit` deaths:
/// the deaths and the run that lived.
fn run_until_one_lives(w: &World, limit: usize) -> (usize, std::process::Output) {
    let mut deaths = 0;
    loop {
        let out = run_with_the_killer(w);
        if out.status.success() {
            return (deaths, out);
        }
        deaths += 1;
        assert!(
            deaths <= limit,
            "still dying after {deaths} runs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The status and its cases' clients, sorted.
fn cases_and_clients(w: &World) -> (serde_json::Value, Vec<String>) {
    let st = w.status("2026-11-23T11:00:00+02:00");
    let mut clients: Vec<String> = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap().to_string())
        .collect();
    clients.sort();
    (st, clients)
}

/// A message that kills the process while it is read (an abort the panic
/// guard cannot catch: a stack overflow, an out-of-memory kill) must not
/// hold the mailbox in a restart loop (SPEC §11.1): the next run reads the
/// batch one message at a time, and the message in flight at three deaths
/// is set aside as `bad`; every other mail opens its case, once.
#[test]
fn a_message_that_kills_the_process_is_set_aside_after_three_deaths() {
    let w = World::new("[reply]\nstart_from = \"2026-11-01\"\nack = \"immediate\"\n");
    for (i, subject) in ["Pirmais", "Otrais KILLS-REPLYGATE", "Trešais"]
        .iter()
        .enumerate()
    {
        w.dovecot.append(
            "INBOX",
            &mail(&format!("c{i}@example.lv"), subject, &format!("k{i}@example.lv")),
            t("2026-11-23T10:00:00+02:00"),
        );
    }
    let (deaths, last) = run_until_one_lives(&w, 4);
    // One death in the batch, then three while reading that one message.
    assert_eq!(deaths, 4);
    let log = String::from_utf8_lossy(&last.stderr);
    assert!(log.contains("set aside"), "{log}");
    let (st, clients) = cases_and_clients(&w);
    assert_eq!(clients, ["c0@example.lv", "c2@example.lv"], "{st:#}");
    let rcpts: Vec<String> = w.sent().iter().flat_map(|m| m.rcpt_to.clone()).collect();
    assert_eq!(rcpts.len(), 2, "one acknowledgement each: {rcpts:?}");
    // Later runs neither die nor repeat anything.
    let out = run_with_the_killer(&w);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(w.sent().len(), 2);
    let shown = serde_json::to_string(&st).unwrap();
    assert!(
        shown.contains("\"unreadable\":1"),
        "status counts the message set aside: {st:#}"
    );
}

/// The same in a folder of several batches, where a batch is read while
/// the feedback judge of the one before still runs (that one not yet
/// recorded): a message that kills the process in the later batch brings
/// the next run back to the batch before, which is read one message at a
/// time and recorded before the later one is read; then the later batch
/// is read carefully and the message set aside. The deaths stay bounded,
/// and every other mail opens its case once.
#[test]
fn a_message_that_kills_the_process_in_a_later_batch_is_set_aside_too() {
    let w = World::new("[reply]\nstart_from = \"2026-11-01\"\nack = \"immediate\"\n");
    let (n, poison) = (450, 250);
    let msgs: Vec<(Vec<u8>, _)> = (0..n)
        .map(|i| {
            let subject = if i == poison {
                "Jautājums KILLS-REPLYGATE".to_string()
            } else {
                format!("Jautājums {i}")
            };
            (
                mail(&format!("c{i}@example.lv"), &subject, &format!("k{i}@example.lv")),
                t("2026-11-23T10:00:00+02:00"),
            )
        })
        .collect();
    w.dovecot.append_many("INBOX", &msgs);
    let (deaths, last) = run_until_one_lives(&w, 5);
    // One death while the first batch waited (read again carefully), one
    // reading the second batch, then three while reading that message.
    assert_eq!(deaths, 5);
    let log = String::from_utf8_lossy(&last.stderr);
    assert!(log.contains("set aside"), "{log}");
    let (_, clients) = cases_and_clients(&w);
    let mut want: Vec<String> = (0..n)
        .filter(|&i| i != poison)
        .map(|i| format!("c{i}@example.lv"))
        .collect();
    want.sort();
    assert_eq!(clients, want, "one case for every mail but the one set aside");
    let mut rcpts: Vec<String> = w.sent().iter().flat_map(|m| m.rcpt_to.clone()).collect();
    let sent = rcpts.len();
    rcpts.sort();
    rcpts.dedup();
    assert_eq!(rcpts.len(), sent, "no acknowledgement twice");
    assert!(sent > 0);
    // Later runs neither die nor repeat anything.
    let out = run_with_the_killer(&w);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(w.sent().len(), sent);
}
