//! Client feedback about the service (SPEC §14) against a real Dovecot and
//! smtp-sink: the written set of feedback and look-alike mails
//! (tests/fixtures/feedback/cases.json, verdicts written before the code)
//! is delivered, `status --json` must show each case's flag, the quality
//! owner must get one notice per feedback case within working hours (none
//! for the look-alikes), and `mark` must correct a verdict and withdraw a
//! notice that has not left.

mod support;

use serde_json::Value;
use support::mail::{mail, text};
use support::world::{t, World};

const POST: &str = "pasts@sif.gov.lv";
const OWNER: &str = "kvalitate@sif.gov.lv";
const CONFIG: &str = "[feedback]\nnotify = [\"kvalitate@sif.gov.lv\"]\n";

fn notices(w: &World) -> Vec<support::smtp_sink::SinkMessage> {
    w.sent()
        .into_iter()
        .filter(|m| m.rcpt_to.iter().any(|r| r == OWNER))
        .collect()
}

fn feedback_of(st: &Value, client: &str) -> bool {
    let v = World::case_of(st, client);
    assert_eq!(v.len(), 1, "cases of {client}: {st:#}");
    v[0]["feedback"]
        .as_bool()
        .expect("status --json has a boolean feedback")
}

#[test]
fn written_set_flags_and_notices() {
    let set: Value = serde_json::from_str(include_str!("fixtures/feedback/cases.json")).unwrap();
    let cases = set["cases"].as_array().unwrap();
    let w = World::new(CONFIG);
    // Mon 23 Nov 2026, working hours (09:00–18:00).
    let at = t("2026-11-23T10:00:00+02:00");
    for (i, c) in cases.iter().enumerate() {
        let from = format!("klients{i}@example{i}.lv");
        let mut body = c["body"].as_str().unwrap().to_string();
        if let Some(q) = c["quote"].as_str() {
            body.push_str("\n\nOn Mon, 16 Nov 2026 at 10:00, SIF <pasts@sif.gov.lv> wrote:\n");
            for l in q.lines() {
                body.push_str(&format!("> {l}\n"));
            }
        }
        let m = mail(
            &from,
            POST,
            c["subject"].as_str().unwrap(),
            Some(&format!("fb{i}@example{i}.lv")),
        )
        .body(&body);
        w.dovecot.append("INBOX", &m.raw(at), at);
    }
    w.run("2026-11-23T10:30:00+02:00");
    let st = w.status("2026-11-23T10:30:00+02:00");
    let mut wrong = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let from = format!("klients{i}@example{i}.lv");
        let want = c["feedback"].as_bool().unwrap();
        if feedback_of(&st, &from) != want {
            wrong.push(format!("{}: expected feedback={want}", c["id"]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // One notice per feedback case, at once (working hours), naming the
    // case, the client and the subject; none for the look-alikes.
    let sent = notices(&w);
    let expected = cases.iter().filter(|c| c["feedback"] == true).count();
    assert_eq!(sent.len(), expected, "one notice per feedback case");
    for (i, c) in cases.iter().enumerate() {
        let from = format!("klients{i}@example{i}.lv");
        let case = World::case_of(&st, &from)[0]["id"].as_str().unwrap().to_string();
        let mine: Vec<_> = sent.iter().filter(|m| text(m).contains(&case)).collect();
        if c["feedback"] == true {
            assert_eq!(mine.len(), 1, "notice for {case}");
            let body = text(mine[0]);
            assert!(body.contains(&from), "{body}");
            assert!(
                body.find("Labdien").unwrap() < body.find("In English").unwrap(),
                "Latvian first"
            );
            assert!(mine[0].header("Subject").unwrap_or("").contains(&case));
            assert!(mine[0].header("Auto-Submitted").is_some_and(|v| v != "no"));
        } else {
            assert!(mine.is_empty(), "no notice for {case} ({})", c["id"]);
        }
    }
    // A later cycle repeats nothing.
    w.run("2026-11-23T11:00:00+02:00");
    assert_eq!(notices(&w).len(), expected, "no notice twice");
}

#[test]
fn notice_waits_for_working_hours_and_mark_corrects() {
    let w = World::new(CONFIG);
    // Sat 21 Nov 2026: two complaints outside working hours.
    let sat = t("2026-11-21T12:00:00+02:00");
    let rude = mail(
        "ilze@inbox.lv",
        POST,
        "Sūdzība par apkalpošanu",
        Some("r1@inbox.lv"),
    )
    .body("Labdien!\nJūsu darbinieks bija ļoti nepieklājīgs.\nIlze\n");
    let grant = mail("biedriba@example.lv", POST, "Sūdzība", Some("g1@example.lv"))
        .body("Labdien!\nMūsu biedrība ir ļoti neapmierināta ar to, kā notika apkalpošana.\nValde\n");
    w.dovecot.append("INBOX", &rude.raw(sat), sat);
    w.dovecot.append("INBOX", &grant.raw(sat), sat);
    w.run("2026-11-21T12:30:00+02:00");
    assert!(notices(&w).is_empty(), "staff notices wait for working hours");
    let st = w.status("2026-11-21T12:30:00+02:00");
    assert!(feedback_of(&st, "ilze@inbox.lv"));
    assert!(feedback_of(&st, "biedriba@example.lv"));
    let grant_case = World::case_of(&st, "biedriba@example.lv")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The admin judges the second one not feedback before Monday.
    let out = w.cmd(&[
        "mark",
        &grant_case,
        "--not-feedback",
        "--reason",
        "par konkursa lēmumu",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not feedback"));
    let out = w.cmd(&["mark", &grant_case, "--reason", "x"]);
    assert!(!out.status.success(), "a verdict flag is required");
    let out = w.cmd(&["mark", "SIF-2026-99999", "--feedback", "--reason", "x"]);
    assert!(!out.status.success(), "unknown case refused");

    // Monday 09:00 opening: only the real complaint's notice leaves.
    w.run("2026-11-23T09:00:00+02:00");
    let sent = notices(&w);
    assert_eq!(
        sent.len(),
        1,
        "one notice: {:?}",
        sent.iter().map(text).collect::<Vec<_>>()
    );
    assert!(text(&sent[0]).contains("ilze@inbox.lv"));
    let st = w.status("2026-11-23T09:00:00+02:00");
    assert!(
        !feedback_of(&st, "biedriba@example.lv"),
        "the admin's verdict holds"
    );

    // The client writes again in the same words: the admin's verdict holds.
    let again = mail("biedriba@example.lv", POST, "Re: Sūdzība", Some("g2@example.lv"))
        .reply_to("g1@example.lv")
        .body("Atkārtoju: esam ļoti neapmierināti ar apkalpošanu.\n");
    let mon = t("2026-11-23T09:30:00+02:00");
    w.dovecot.append("INBOX", &again.raw(mon), mon);
    w.run("2026-11-23T10:00:00+02:00");
    let st = w.status("2026-11-23T10:00:00+02:00");
    assert!(
        !feedback_of(&st, "biedriba@example.lv"),
        "a manual verdict is never overridden"
    );
    assert_eq!(notices(&w).len(), 1);

    // Marking by hand makes a case feedback (and sends nothing).
    let out = w.cmd(&[
        "mark",
        &grant_case,
        "--feedback",
        "--reason",
        "tomēr par apkalpošanu",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let st = w.status("2026-11-23T10:00:00+02:00");
    assert!(feedback_of(&st, "biedriba@example.lv"));
    let human = w.cmd(&["status"]);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains("atsauksme"),
        "status shows the flag"
    );

    // Staff answer the first complaint on Monday (by its deadline, Tue 24th
    // 17:00); the second stays open. The report's feedback block (SPEC §14
    // with the §12 definitions) counts both, one answered, on time.
    let st = w.status("2026-11-23T10:00:00+02:00");
    let ilze = World::case_of(&st, "ilze@inbox.lv")[0].clone();
    w.dovecot.append(
        "Sent",
        &support::mail::staff_reply(
            "ilze@inbox.lv",
            "<r1@inbox.lv>",
            "Sūdzība par apkalpošanu",
            "Mon, 23 Nov 2026 11:00:00 +0200",
            "<answer1@sif.gov.lv>",
        ),
        t("2026-11-23T11:00:00+02:00"),
    );
    w.run("2026-11-23T11:30:00+02:00");
    let st = w.status("2026-11-23T11:30:00+02:00");
    assert_eq!(
        World::case_of(&st, "ilze@inbox.lv")[0]["state"],
        "answered",
        "{ilze:#}"
    );
    let nov = ["2026-11-01", "2026-11-30", "2026-11-25T12:00:00+02:00"];
    let r: Value = serde_json::from_str(&w.report(nov, &["--json"])).unwrap();
    assert_eq!(
        r["feedback"],
        serde_json::json!({"cases": 2, "answered": 1, "on_time": 1}),
        "{r:#}"
    );
    assert_eq!(r["cases"]["total"], 2);
    assert!(w.report(nov, &[]).contains("Client feedback"));
}

/// A folder of several header batches (a backlog): the client texts of
/// the later batches are read ahead on the second connection, and a
/// complaint said only in the text, never in the subject, is found in
/// every batch; the mails around it are not feedback.
/// `m` as a multipart/mixed mail whose first part is a 60 KB PDF and whose
/// second is `text`: the start of the message is all base64, so only
/// reading the text part finds what the client wrote.
fn after_an_attachment(mut m: support::mail::Mail, text: &str) -> support::mail::Mail {
    m.headers
        .retain(|(k, _)| k != "Content-Type" && k != "Content-Transfer-Encoding");
    let line = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n";
    m.h("Content-Type", "multipart/mixed; boundary=\"ATT\"")
        .body(&format!(
            "--ATT\nContent-Type: application/pdf; name=\"akts.pdf\"\n\
         Content-Disposition: attachment; filename=\"akts.pdf\"\n\
         Content-Transfer-Encoding: base64\n\n{}--ATT\n\
         Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\
         {text}\n--ATT--\n",
            line.repeat(800)
        ))
}

const COMPLAINT: &str = "Labdien!\nJūsu darbinieks bija ļoti nepieklājīgs.\nKlients\n";
const QUESTION: &str = "Labdien!\nLūdzu paskaidrot, kā iesniegt pārskatu par projektu.\nKlients\n";

/// A client text after a large attachment is read from its own part (the
/// first 32 KiB of the message would be the attachment's base64 alone).
#[test]
fn a_text_after_an_attachment_is_judged() {
    let w = World::new(CONFIG);
    let at = t("2026-11-23T10:00:00+02:00");
    for (i, text) in [COMPLAINT, QUESTION].into_iter().enumerate() {
        let m = mail(
            &format!("pielikums{i}@inbox.lv"),
            POST,
            "Akts",
            Some(&format!("att{i}@inbox.lv")),
        );
        w.dovecot
            .append("INBOX", &after_an_attachment(m, text).raw(at), at);
    }
    w.run("2026-11-23T10:30:00+02:00");
    let st = w.status("2026-11-23T10:30:00+02:00");
    assert!(feedback_of(&st, "pielikums0@inbox.lv"), "{st:#}");
    assert!(!feedback_of(&st, "pielikums1@inbox.lv"), "{st:#}");
}

#[test]
fn texts_read_ahead_are_judged_in_every_batch() {
    let w = World::new(CONFIG);
    let at = |i: u32| t(&format!("2026-11-23T{:02}:{:02}:00+02:00", 9 + i / 60, i % 60));
    let complaints = [3_u32, 257, 433];
    // Two of them (one a complaint) with the text after an attachment.
    let attached = [257_u32, 300];
    let mails: Vec<_> = (0..450_u32)
        .map(|i| {
            let body = if complaints.contains(&i) {
                COMPLAINT
            } else {
                QUESTION
            };
            let m = mail(
                &format!("klients{i}@inbox.lv"),
                POST,
                &format!("Jautājums {i}"),
                Some(&format!("batch{i}@inbox.lv")),
            );
            let m = if attached.contains(&i) {
                after_an_attachment(m, body)
            } else {
                m.body(body)
            };
            (m.raw(at(i % 480)), at(i % 480))
        })
        .collect();
    w.dovecot.append_many("INBOX", &mails);
    let log = w.run("2026-11-23T20:00:00+02:00");
    assert!(
        log.contains("reading header batches ahead on a second connection"),
        "{log}"
    );
    let st = w.status("2026-11-23T20:00:00+02:00");
    let flagged: Vec<u32> = (0..450_u32)
        .filter(|i| feedback_of(&st, &format!("klients{i}@inbox.lv")))
        .collect();
    assert_eq!(flagged, complaints, "feedback cases");
}
