//! Crashes in the send path, end to end: the built binary is aborted by its
//! debug-only crash hooks (`REPLYGATE_TEST_CRASH_BEFORE_SEND`,
//! `REPLYGATE_TEST_CRASH_AFTER_SENDING`, see `outbox::flush`) and then run
//! again; what the SMTP server received is counted by Message-ID.
//!
//! The documented behaviour (src/outbound/outbox/mod.rs, README "Crash safety"):
//! - crash after marking `sending`, before SMTP: sent exactly once after
//!   the restart;
//! - crash after the server accepted, before `sent` was committed: on restart
//!   the Message-ID is looked up in the sent folders; found (the server filed
//!   a copy, as Exchange/Gmail do) → marked sent, not resent; not found →
//!   sent again with the same Message-ID (the one duplicate SMTP allows).

mod support;

use std::process::Output;

use support::mail::{acks, by_message_id, client};
use support::world::{t, World};

fn run_crashing(w: &World, now: &str, hook: &str) -> Output {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_replygate"))
        .arg("-c")
        .arg(&w.config)
        .args(["run", "--once", "--now", now])
        .env("RUST_LOG", "info")
        .env(hook, "1")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the crash hook {hook} did not fire: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("aborting on purpose"), "{log}");
    out
}

fn states(w: &World) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(w.dir.path().join("replygate.db")).unwrap();
    let mut st = db
        .prepare("SELECT message_id, state FROM outbox ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Two clients writing after closing on Mon 23 Nov: two acks due at once.
fn two_clients() -> World {
    let w = World::new("");
    for (i, who) in ["ieva", "uldis"].iter().enumerate() {
        w.dovecot.append(
            "INBOX",
            &client(
                &format!("{who} <{who}@example.lv>"),
                &format!("<c{i}@example.lv>"),
                &format!("Jautājums {who}"),
                "Mon, 23 Nov 2026 19:00:00 +0200",
                &[],
            ),
            t("2026-11-23T19:00:00+02:00"),
        );
    }
    w
}

#[test]
fn crash_before_smtp_sends_exactly_once_after_restart() {
    let w = two_clients();
    run_crashing(
        &w,
        "2026-11-23T19:05:00+02:00",
        "REPLYGATE_TEST_CRASH_BEFORE_SEND",
    );
    assert!(w.sent().is_empty(), "nothing reached the server");
    let s = states(&w);
    assert_eq!(
        s.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
        ["sending", "pending"],
        "queued and committed before the crash"
    );
    let st = w.status("2026-11-23T19:05:00+02:00");
    assert_eq!(
        st["outbox"][0]["state"], "sending",
        "status shows the interrupted entry"
    );

    let log = w.run("2026-11-23T19:10:00+02:00");
    assert!(log.contains("not found in any sent folder"), "{log}");
    w.run("2026-11-23T19:15:00+02:00");
    let sent = w.sent();
    assert_eq!(acks(&sent).len(), 2);
    let ids = by_message_id(&sent);
    assert!(ids.values().all(|n| *n == 1), "{ids:?}");
    for (mid, _) in &s {
        assert_eq!(
            ids.get(&format!("<{mid}>")),
            Some(&1),
            "{mid} sent once with its queued Message-ID"
        );
    }
    assert!(states(&w).iter().all(|x| x.1 == "sent"));
}

#[test]
fn crash_after_acceptance_without_a_copy_repeats_that_one_message() {
    let w = two_clients();
    run_crashing(
        &w,
        "2026-11-23T19:05:00+02:00",
        "REPLYGATE_TEST_CRASH_AFTER_SENDING",
    );
    let first = w.sent();
    assert_eq!(first.len(), 1, "the server accepted one message before the crash");
    let mid = first[0].header("Message-ID").unwrap().to_string();
    assert_eq!(states(&w)[0].1, "sending");

    w.run("2026-11-23T19:10:00+02:00");
    w.run("2026-11-23T19:15:00+02:00");
    let sent = w.sent();
    let ids = by_message_id(&sent);
    assert_eq!(ids.len(), 2, "{ids:?}");
    // The in-flight message once more, with the same Message-ID; the
    // rest exactly once. Nothing lost.
    assert_eq!(ids[&mid], 2, "{ids:?}");
    assert!(
        ids.iter().filter(|(k, _)| **k != mid).all(|(_, n)| *n == 1),
        "{ids:?}"
    );
    assert!(states(&w).iter().all(|x| x.1 == "sent"));
}

#[test]
fn crash_after_acceptance_with_a_copy_in_sent_is_not_repeated() {
    let w = two_clients();
    run_crashing(
        &w,
        "2026-11-23T19:05:00+02:00",
        "REPLYGATE_TEST_CRASH_AFTER_SENDING",
    );
    let first = w.sent();
    assert_eq!(first.len(), 1);
    let mid = first[0].header("Message-ID").unwrap().to_string();
    // The submission server filed the accepted message in Sent (as Exchange
    // and Gmail do).
    w.dovecot
        .append_with_flags("Sent", &first[0].raw, "(\\Seen)", t("2026-11-23T19:05:00+02:00"));
    let sent_before = w.dovecot.uid_flags("Sent");

    let log = w.run("2026-11-23T19:10:00+02:00");
    assert!(log.contains("found in a sent folder"), "{log}");
    w.run("2026-11-23T19:15:00+02:00");
    let sent = w.sent();
    let ids = by_message_id(&sent);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.values().all(|n| *n == 1), "not repeated: {ids:?}");
    assert_eq!(ids[&mid], 1);
    assert!(states(&w).iter().all(|x| x.1 == "sent"));
    // The search was read-only and the copy is not a case or an answer.
    assert_eq!(w.dovecot.uid_flags("Sent"), sent_before);
    let st = w.status("2026-11-23T19:15:00+02:00");
    let cases = st["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{st:#}");
    assert!(
        cases
            .iter()
            .all(|c| c["state"] == "open" && c["acknowledged_at"].is_string()),
        "{st:#}"
    );
}
