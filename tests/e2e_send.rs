//! The send path end to end: a real Dovecot, a real smtp-sink and the built
//! `replygate run --once --now T`, asserting what the SMTP server received
//! (acknowledgement timing and headers, limits, bounces, staff notices,
//! outages, permanent refusals, copies in Sent, dry runs).
//!
//! Times are Riga (+02:00 in November 2026). Mon 23 Nov closes 18:00,
//! Tue–Thu 17:00, Fri 16:00; Wed 18 Nov 2026 is a public holiday.

mod support;

use std::collections::BTreeMap;

use support::mail::{self, acks, acks_to, by_message_id, client};
use support::smtp_sink::{Reject, SmtpSink};
use support::world::{t, World};

/// The outbox rows: (kind, state, message_id, rcpts).
fn outbox(w: &World) -> Vec<(String, String, String, String)> {
    let db = rusqlite::Connection::open(w.dir.path().join("replygate.db")).unwrap();
    let mut st = db
        .prepare("SELECT kind, state, message_id, rcpts FROM outbox ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn deliver(w: &World, folder: &str, raw: Vec<u8>, at: &str) {
    w.dovecot.append(folder, &raw, t(at));
}

const REPLY: &str = "start_from = \"2026-11-01\"\ntrusted_authserv_id = \"mx.sif.gov.lv\"\n";

/// Add `line` after the line `anchor` of the config World wrote: for keys
/// of the sections World writes itself, which cannot come through `extra`.
fn add_config_line(w: &World, anchor: &str, line: &str) {
    let text = std::fs::read_to_string(&w.config).unwrap();
    let text = text.replacen(&format!("{anchor}\n"), &format!("{anchor}\n{line}\n"), 1);
    assert!(text.contains(line), "no line {anchor:?} in the config");
    std::fs::write(&w.config, text).unwrap();
}

/// `smtp.save_copy_to` cannot come through `extra` ([smtp] is written by
/// World): patch the written file.
fn with_save_copy(w: &World, extra: &str) {
    w.write_config(extra);
    add_config_line(
        w,
        "from = \"Sabiedrības integrācijas fonds <pasts@sif.gov.lv>\"",
        "save_copy_to = \"Sent\"",
    );
}

#[test]
fn ack_at_closing_only_when_unanswered_with_the_right_headers() {
    let w = World::new("");
    // Holiday (Wed 18 Nov): at once.
    deliver(
        &w,
        "INBOX",
        client(
            "Helēna <helena@example.lv>",
            "<h1@example.lv>",
            "Svētku jautājums",
            "Wed, 18 Nov 2026 10:00:00 +0200",
            &[],
        ),
        "2026-11-18T10:00:00+02:00",
    );
    // Mon 23 Nov before closing, Reply-To and References; then a second new
    // question from the same sender (one ack per ack_min_interval).
    deliver(
        &w,
        "INBOX",
        client(
            "Ksenija <xenia@example.lv>",
            "<x1@example.lv>",
            "=?UTF-8?Q?Jaut=C4=81jums_par_projektu?=",
            "Mon, 23 Nov 2026 10:00:00 +0200",
            &[
                "Reply-To: Ksenija darbā <xenia.work@example.lv>",
                "References: <older1@example.lv>\r\n <older2@example.lv>",
            ],
        ),
        "2026-11-23T10:00:00+02:00",
    );
    deliver(
        &w,
        "INBOX",
        client(
            "Juris <yuri@example.lv>",
            "<y1@example.lv>",
            "Par līgumu",
            "Mon, 23 Nov 2026 11:00:00 +0200",
            &[],
        ),
        "2026-11-23T11:00:00+02:00",
    );
    deliver(
        &w,
        "INBOX",
        client(
            "Ksenija <xenia@example.lv>",
            "<x2@example.lv>",
            "Cits temats pavisam",
            "Mon, 23 Nov 2026 12:00:00 +0200",
            &["Reply-To: Ksenija darbā <xenia.work@example.lv>"],
        ),
        "2026-11-23T12:00:00+02:00",
    );
    // Staff answers Juris before closing: no acknowledgement for him.
    deliver(
        &w,
        "Sent",
        mail::staff_reply(
            "yuri@example.lv",
            "<y1@example.lv>",
            "Par līgumu",
            "Mon, 23 Nov 2026 15:00:00 +0200",
            "<s1@sif.gov.lv>",
        ),
        "2026-11-23T15:00:00+02:00",
    );
    // After closing: at once.
    deliver(
        &w,
        "INBOX",
        client(
            "Zelma <zelma@example.lv>",
            "<z1@example.lv>",
            "Vakara jautājums",
            "Mon, 23 Nov 2026 19:00:00 +0200",
            &[],
        ),
        "2026-11-23T19:00:00+02:00",
    );

    w.run("2026-11-18T10:05:00+02:00");
    assert_eq!(
        acks_to(&w.sent(), "helena@example.lv").len(),
        1,
        "holiday mail is acknowledged at once"
    );

    for now in [
        "2026-11-23T09:00:00+02:00",
        "2026-11-23T12:30:00+02:00",
        "2026-11-23T15:30:00+02:00",
        "2026-11-23T17:59:00+02:00",
    ] {
        w.run(now);
        assert_eq!(
            acks(&w.sent()).len(),
            1,
            "no acknowledgement before closing ({now})"
        );
    }
    w.run("2026-11-23T18:00:00+02:00");
    let sent = w.sent();
    assert_eq!(acks(&sent).len(), 2, "{:#?}", acks(&sent));
    assert!(
        acks_to(&sent, "yuri@example.lv").is_empty(),
        "answered before closing: no ack"
    );
    let xa = acks_to(&sent, "xenia.work@example.lv");
    assert_eq!(xa.len(), 1, "one ack per sender per ack_min_interval");
    let a = xa[0];

    // Headers.
    assert_eq!(a.rcpt_to, ["xenia.work@example.lv"]);
    assert!(
        a.header("To").unwrap().contains("xenia.work@example.lv"),
        "{:?}",
        a.header("To")
    );
    assert_eq!(a.header("Auto-Submitted"), Some("auto-replied"));
    assert_eq!(a.header("X-Auto-Response-Suppress"), Some("All"));
    assert!(a.header("X-Replygate-Loop").is_some());
    assert_eq!(a.header("In-Reply-To"), Some("<x1@example.lv>"));
    let refs: Vec<&str> = a.header("References").unwrap().split_whitespace().collect();
    assert_eq!(
        refs,
        ["<older1@example.lv>", "<older2@example.lv>", "<x1@example.lv>"]
    );
    let mid = a.header("Message-ID").unwrap();
    assert!(
        mid.starts_with("<replygate.") && mid.ends_with("@sif.gov.lv>"),
        "{mid}"
    );
    assert_eq!(a.mail_from, "pasts@sif.gov.lv");
    assert_eq!(mail::subject(a), "Auto: Jautājums par projektu");

    // Deadline date and case reference in the text.
    let st = w.status("2026-11-23T18:00:00+02:00");
    let case = World::case_of(&st, "xenia@example.lv")
        .into_iter()
        .find(|c| c["subject"].as_str().unwrap().contains("projektu"))
        .unwrap()
        .clone();
    let deadline = t(case["deadline"].as_str().unwrap());
    assert_eq!(deadline.format("%Y-%m-%d").to_string(), "2026-11-25");
    let body = mail::text(a);
    assert!(body.contains("25.11.2026"), "{body}");
    assert!(body.contains(case["id"].as_str().unwrap()), "{body}");
    assert_eq!(case["acknowledged_at"], "2026-11-23T18:00:00+02:00");
    assert_eq!(
        World::case_of(&st, "xenia@example.lv").len(),
        2,
        "two cases, one ack"
    );

    w.run("2026-11-23T19:05:00+02:00");
    assert_eq!(
        acks_to(&w.sent(), "zelma@example.lv").len(),
        1,
        "after-hours mail at once"
    );
    w.run("2026-11-23T20:00:00+02:00");
    let sent = w.sent();
    assert_eq!(acks(&sent).len(), 3);
    assert!(
        by_message_id(&sent).values().all(|n| *n == 1),
        "a message went twice"
    );
}

#[test]
fn immediate_mode_and_hourly_limit() {
    let w = World::new(&format!(
        "[reply]\n{REPLY}ack = \"immediate\"\nack_max_per_hour = 2\n"
    ));
    for (i, m) in ["10:00", "10:01", "10:02"].iter().enumerate() {
        deliver(
            &w,
            "INBOX",
            client(
                &format!("K{i} <k{i}@example.lv>"),
                &format!("<k{i}@example.lv>"),
                &format!("Jautājums numur {i}"),
                &format!("Tue, 24 Nov 2026 {m}:00 +0200"),
                &[],
            ),
            &format!("2026-11-24T{m}:00+02:00"),
        );
    }
    w.run("2026-11-24T10:05:00+02:00");
    assert_eq!(acks(&w.sent()).len(), 2, "immediate, at most 2 an hour");
    w.run("2026-11-24T10:30:00+02:00");
    assert_eq!(acks(&w.sent()).len(), 2, "the third waits for the hour");
    w.run("2026-11-24T11:10:00+02:00");
    let sent = w.sent();
    assert_eq!(acks(&sent).len(), 3);
    for i in 0..3 {
        assert_eq!(acks_to(&sent, &format!("k{i}@example.lv")).len(), 1);
    }
}

#[test]
fn no_ack_for_automatic_mail() {
    let w = World::new("");
    let manifest = w.deliver_corpus(|m| m["category"] == "automatic");
    for now in [
        "2026-11-23T12:00:00+02:00",
        "2026-11-23T18:00:00+02:00",
        "2026-11-23T20:00:00+02:00",
        "2026-11-24T17:00:00+02:00",
        "2026-11-24T20:00:00+02:00",
        "2026-11-25T17:00:00+02:00",
        "2026-11-26T17:00:00+02:00",
        "2026-11-26T20:00:00+02:00",
    ] {
        w.run(now);
    }
    let sent = w.sent();
    assert!(acks(&sent).is_empty(), "{:#?}", acks(&sent));
    for m in manifest["messages"].as_array().unwrap() {
        if m["category"] == "automatic" {
            let from = m["from"].as_str().unwrap().to_lowercase();
            assert!(
                !sent
                    .iter()
                    .any(|s| s.rcpt_to.iter().any(|r| from.contains(r.as_str()))),
                "mail to the automatic sender of {}",
                m["file"]
            );
        }
    }
    assert!(w.status("2026-11-26T20:00:00+02:00")["cases"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn bounced_ack_blocks_acks_for_seven_days() {
    let w = World::new("");
    let q = |n: u32, day: &str, wd: &str| {
        client(
            "Anete <anete@example.lv>",
            &format!("<a{n}@example.lv>"),
            &format!("Jautājums {n} par kaut ko citu"),
            &format!("{wd}, {} Nov 2026 19:00:00 +0200", &day[8..10]),
            &[],
        )
    };
    deliver(
        &w,
        "INBOX",
        q(1, "2026-11-23", "Mon"),
        "2026-11-23T19:00:00+02:00",
    );
    w.run("2026-11-23T19:05:00+02:00");
    let sent = w.sent();
    let first = acks_to(&sent, "anete@example.lv");
    assert_eq!(first.len(), 1);
    let ack_id = first[0].header("Message-ID").unwrap().to_string();
    deliver(
        &w,
        "INBOX",
        mail::dsn("anete@example.lv", &ack_id, "Mon, 23 Nov 2026 19:30:00 +0200"),
        "2026-11-23T19:30:00+02:00",
    );
    w.run("2026-11-23T19:35:00+02:00");
    // Wed, two days later (past ack_min_interval): still blocked.
    deliver(
        &w,
        "INBOX",
        q(2, "2026-11-25", "Wed"),
        "2026-11-25T19:00:00+02:00",
    );
    w.run("2026-11-25T19:05:00+02:00");
    assert_eq!(
        acks_to(&w.sent(), "anete@example.lv").len(),
        1,
        "no ack within 7 days of a bounce"
    );
    // Tue 1 Dec, 8 days after the bounce: acknowledged again.
    let mut m = q(3, "2026-11-01", "Tue");
    m = String::from_utf8(m)
        .unwrap()
        .replace("01 Nov 2026", "01 Dec 2026")
        .into_bytes();
    deliver(&w, "INBOX", m, "2026-12-01T19:00:00+02:00");
    w.run("2026-12-01T19:05:00+02:00");
    assert_eq!(
        acks_to(&w.sent(), "anete@example.lv").len(),
        2,
        "acknowledged after 7 days"
    );
}

/// Instants a daemon might wake at, Mon 23 – Fri 27 Nov: before opening,
/// at opening, the digest time, through the day, at and after closing.
fn many_instants() -> Vec<String> {
    let mut v = Vec::new();
    for d in 23..=27 {
        for hm in [
            "07:00", "09:00", "09:15", "11:00", "13:00", "15:00", "16:30", "17:00", "18:00", "20:00",
        ] {
            v.push(format!("2026-11-{d}T{hm}:00+02:00"));
        }
    }
    v
}

#[test]
fn reminder_escalation_digest_once_and_in_working_hours() {
    let w = World::new("");
    deliver(
        &w,
        "INBOX",
        client(
            "Pēteris <peteris@example.lv>",
            "<p1@example.lv>",
            "Nekad neatbildēts",
            "Mon, 23 Nov 2026 10:00:00 +0200",
            &[],
        ),
        "2026-11-23T10:00:00+02:00",
    );
    // Message-ID → the instant it was first received by the sink.
    let mut when: BTreeMap<String, String> = BTreeMap::new();
    for now in many_instants() {
        w.run(&now);
        for m in w.sent() {
            when.entry(m.header("Message-ID").unwrap().to_string())
                .or_insert(now.clone());
        }
    }
    let sent = w.sent();
    assert!(
        by_message_id(&sent).values().all(|n| *n == 1),
        "a message went twice"
    );
    let rows = outbox(&w);
    let of_kind = |k: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.0 == k)
            .map(|r| {
                assert_eq!(r.1, "sent", "{r:?}");
                when.get(&format!("<{}>", r.2))
                    .cloned()
                    .unwrap_or_else(|| panic!("{r:?} not received; {when:?}"))
            })
            .collect()
    };
    let open_hours = |now: &str| {
        let d: u32 = now[8..10].parse().unwrap();
        let hm = &now[11..16];
        let close = if d == 23 {
            "18:00"
        } else if d == 27 {
            "16:00"
        } else {
            "17:00"
        };
        ("09:00"..close).contains(&hm)
    };
    // Deadline Wed 25 Nov 17:00; reminder 4 working hours before.
    assert_eq!(of_kind("reminder"), ["2026-11-25T13:00:00+02:00"]);
    // Falls due at closing time: waits for Thursday's opening.
    assert_eq!(of_kind("escalation"), ["2026-11-26T09:00:00+02:00"]);
    let digests = of_kind("digest");
    assert_eq!(
        digests,
        [
            "2026-11-25T09:15:00+02:00",
            "2026-11-26T09:15:00+02:00",
            "2026-11-27T09:15:00+02:00"
        ],
        "one digest a working day when something is due or overdue"
    );
    for n in of_kind("reminder")
        .iter()
        .chain(&of_kind("escalation"))
        .chain(&digests)
    {
        assert!(open_hours(n), "staff notice outside working hours at {n}");
    }
    assert_eq!(of_kind("ack"), ["2026-11-23T18:00:00+02:00"]);
}

/// More escalations due at once than `reminders.combine_escalations_over`
/// (a first start on a backlog): one mail to the escalation addresses
/// listing every case, each case's evidence saying it was escalated, and
/// nothing escalated twice.
#[test]
fn many_escalations_due_at_once_go_as_one_list() {
    let w = World::new("");
    add_config_line(
        &w,
        "escalate_to = [\"vaditajs@sif.gov.lv\"]",
        "combine_escalations_over = 3",
    );
    for i in 0..5 {
        deliver(
            &w,
            "INBOX",
            client(
                &format!("Klients {i} <k{i}@example.lv>"),
                &format!("<k{i}@example.lv>"),
                &format!("Neatbildēts jautājums {i}"),
                "Mon, 23 Nov 2026 10:00:00 +0200",
                &[],
            ),
            "2026-11-23T10:00:00+02:00",
        );
    }
    // The first run is on Thursday: every deadline (Wed 17:00) has passed.
    w.run("2026-11-26T10:00:00+02:00");
    w.run("2026-11-26T11:00:00+02:00");
    let sent = w.sent();
    assert!(
        by_message_id(&sent).values().all(|n| *n == 1),
        "a message went twice"
    );
    let to_boss: Vec<_> = sent
        .iter()
        .filter(|m| m.header("To").is_some_and(|t| t.contains("vaditajs@sif.gov.lv")))
        .collect();
    assert_eq!(
        to_boss.len(),
        1,
        "one escalation, not five: {:?}",
        to_boss.iter().map(|m| mail::subject(m)).collect::<Vec<_>>()
    );
    let list = to_boss[0];
    assert_eq!(mail::subject(list), "Nokavēti atbildes termiņi: 5 lietas");
    assert!(list
        .header("Cc")
        .is_some_and(|c| c.contains("klienti@sif.gov.lv")));
    let body = mail::text(list);
    let st = w.status("2026-11-26T11:00:00+02:00");
    let cases: Vec<String> = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(cases.len(), 5, "{st:#}");
    for (i, id) in cases.iter().enumerate() {
        assert!(body.contains(id.as_str()), "{id} not listed:\n{body}");
        assert!(body.contains(&format!("k{i}@example.lv")), "{body}");
        let tl: serde_json::Value =
            serde_json::from_slice(&w.cmd(&["case", "show", id, "--json"]).stdout).unwrap();
        let escalated = tl["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "escalated")
            .count();
        assert_eq!(escalated, 1, "{id}: {tl:#}");
    }
    let rows = outbox(&w);
    assert!(rows.iter().all(|r| r.0 != "escalation"), "{rows:?}");
    assert_eq!(
        rows.iter()
            .filter(|r| r.0 == "escalation_list" && r.1 == "sent")
            .count(),
        1,
        "{rows:?}"
    );
    let v = w.cmd(&["audit", "verify"]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

#[test]
fn smtp_outage_delays_and_loses_nothing() {
    let mut w = World::new("");
    for i in 0..3 {
        deliver(
            &w,
            "INBOX",
            client(
                &format!("V{i} <v{i}@example.lv>"),
                &format!("<v{i}@example.lv>"),
                &format!("Vakara jautājums {i}"),
                "Mon, 23 Nov 2026 19:00:00 +0200",
                &[],
            ),
            "2026-11-23T19:00:00+02:00",
        );
    }
    w.sink.stop();
    // The cycle itself succeeded: exit 0 with a warning; the mail waits.
    let log = w.run("2026-11-23T19:05:00+02:00");
    assert!(log.contains("will retry"), "{log}");
    let st = w.status("2026-11-23T19:05:00+02:00");
    assert_eq!(st["outbox"].as_array().unwrap().len(), 1, "{st:#}");
    assert_eq!(st["outbox"][0]["state"], "pending");
    assert_eq!(outbox(&w).iter().filter(|r| r.1 == "pending").count(), 3);
    w.run("2026-11-23T19:10:00+02:00");

    w.sink.restart();
    w.run("2026-11-23T19:20:00+02:00");
    w.run("2026-11-23T19:30:00+02:00");
    let sent = w.sent();
    assert_eq!(acks(&sent).len(), 3, "everything sent after the outage");
    let ids = by_message_id(&sent);
    assert_eq!(ids.len(), 3);
    assert!(ids.values().all(|n| *n == 1), "{ids:?}");
    assert!(outbox(&w).iter().all(|r| r.1 == "sent"));
    assert!(w.status("2026-11-23T19:30:00+02:00")["outbox"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn permanent_refusal_is_failed_and_not_retried() {
    let mut w = World::new("");
    deliver(
        &w,
        "INBOX",
        client(
            "Rūta <ruta@example.lv>",
            "<r1@example.lv>",
            "Jautājums",
            "Mon, 23 Nov 2026 19:00:00 +0200",
            &[],
        ),
        "2026-11-23T19:00:00+02:00",
    );
    w.sink = SmtpSink::start_rejecting(Reject::Permanent);
    w.write_config("");
    let log = w.run("2026-11-23T19:05:00+02:00");
    assert!(log.contains("refused"), "{log}");
    let st = w.status("2026-11-23T19:05:00+02:00");
    let ob = st["outbox"].as_array().unwrap();
    assert_eq!(ob.len(), 1, "{st:#}");
    assert_eq!(ob[0]["state"], "failed");
    assert_eq!(ob[0]["kind"], "ack");
    assert_eq!(ob[0]["to"], "ruta@example.lv");
    // smtp-sink -f answers "500 5.3.0 Error: command failed".
    assert!(ob[0]["error"].as_str().unwrap().contains("5.3.0"), "{:?}", ob[0]);

    // A healthy server now: the failed entry is not tried again.
    w.sink = SmtpSink::start();
    w.write_config("");
    w.run("2026-11-23T19:30:00+02:00");
    w.run("2026-11-24T09:30:00+02:00");
    assert!(acks(&w.sent()).is_empty(), "a failed message was retried");
    assert_eq!(
        outbox(&w)
            .iter()
            .filter(|r| r.0 == "ack")
            .map(|r| r.1.as_str())
            .collect::<Vec<_>>(),
        ["failed"]
    );
}

#[test]
fn save_copy_to_sent_is_seen_and_not_a_message() {
    let w = World::new("");
    with_save_copy(&w, "");
    deliver(
        &w,
        "INBOX",
        client(
            "Sandra <sandra@example.lv>",
            "<sa1@example.lv>",
            "Jautājums par kopiju",
            "Mon, 23 Nov 2026 19:00:00 +0200",
            &[],
        ),
        "2026-11-23T19:00:00+02:00",
    );
    let before = w.dovecot.uid_flags("Sent");
    w.run("2026-11-23T19:05:00+02:00");
    let sent = w.sent();
    assert_eq!(acks(&sent).len(), 1);
    let after = w.dovecot.uid_flags("Sent");
    assert_eq!(after.len(), before.len() + 1, "one copy in Sent: {after:?}");
    let (_, flags) = after.iter().next_back().unwrap();
    assert!(flags.contains("\\Seen"), "{flags}");
    // The copy is the message sent.
    let dir = w.dovecot.folder_dir("Sent");
    let mut found = false;
    for sub in ["cur", "new"] {
        for e in std::fs::read_dir(dir.join(sub)).into_iter().flatten().flatten() {
            let b = std::fs::read(e.path()).unwrap();
            if String::from_utf8_lossy(&b).contains(sent[0].header("Message-ID").unwrap()) {
                found = true;
            }
        }
    }
    assert!(found, "the copy in Sent has the sent Message-ID");

    // Later cycles read the copy in Sent: no case, no answer, nothing sent.
    w.run("2026-11-23T19:30:00+02:00");
    w.run("2026-11-24T09:30:00+02:00");
    let st = w.status("2026-11-24T09:30:00+02:00");
    let cases = st["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{st:#}");
    assert_eq!(cases[0]["state"], "open");
    assert!(cases[0]["answered_at"].is_null());
    assert_eq!(acks(&w.sent()).len(), 1);
    assert_eq!(
        w.dovecot.uid_flags("Sent").len(),
        before.len() + 1,
        "one copy only"
    );
}

#[test]
fn dry_run_sends_and_queues_nothing() {
    let w = World::new("");
    deliver(
        &w,
        "INBOX",
        client(
            "Daina <daina@example.lv>",
            "<d1@example.lv>",
            "Sausais jautājums",
            "Mon, 23 Nov 2026 19:00:00 +0200",
            &[],
        ),
        "2026-11-23T19:00:00+02:00",
    );
    let out = w.cmd(&["run", "--once", "--dry-run", "--now", "2026-11-23T19:05:00+02:00"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(w.sent().is_empty());
    assert!(outbox(&w).is_empty(), "dry run queued {:?}", outbox(&w));
    w.run("2026-11-23T19:10:00+02:00");
    assert_eq!(
        acks_to(&w.sent(), "daina@example.lv").len(),
        1,
        "a real run after a dry run still sends"
    );
}
