//! Admin commands while a cycle writes (SPEC §10 "Refuse an admin"):
//! `close` and `status` run as separate processes against a real
//! `run --once` that is sending hundreds of acknowledgements wait their turn
//! and succeed, and the cycle is not hurt (every acknowledgement of a case
//! still open is sent once, the closed cases' are cancelled or were sent
//! before the close).

mod support;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::mail::{by_message_id, client, is_ack};
use support::world::{t, World};

const N: usize = 400;
const CLOSES: usize = 20;
const STATUSES: usize = 20;

#[test]
fn close_and_status_during_a_sending_cycle_all_succeed() {
    let w = World::new(
        "[reply]\nstart_from = \"2026-11-01\"\ntrusted_authserv_id = \"mx.sif.gov.lv\"\nack_max_per_hour = 100000\n",
    );
    let mails: Vec<(Vec<u8>, _)> = (0..N)
        .map(|i| {
            (
                client(
                    &format!("Klients {i} <k{i}@example.lv>"),
                    &format!("<q{i}@example.lv>"),
                    &format!("Jautājums Nr. {i}"),
                    "Mon, 23 Nov 2026 10:00:00 +0200",
                    &[],
                ),
                t("2026-11-23T10:00:00+02:00"),
            )
        })
        .collect();
    w.dovecot.append_many("INBOX", &mails);
    // Cases opened; acknowledgements wait for Monday's closing time (18:00).
    w.run("2026-11-23T10:30:00+02:00");
    assert!(w.sent().is_empty());

    let now = "2026-11-23T18:05:00+02:00";
    let run = Command::new(env!("CARGO_BIN_EXE_replygate"))
        .arg("-c")
        .arg(&w.config)
        .args(["run", "--once", "--now", now])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Start the admins once the cycle is sending.
    w.sink.wait_for(1, Duration::from_secs(120));

    let during = AtomicUsize::new(0);
    let sink_dir = w.sink.mail_dir();
    let sent_now = || std::fs::read_dir(&sink_dir).map(|d| d.count()).unwrap_or(0);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|k| {
                let w = &w;
                let during = &during;
                let sent_now = &sent_now;
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for j in 0..(CLOSES + STATUSES) / 4 {
                        let i = k * (CLOSES + STATUSES) / 4 + j;
                        let out = if i.is_multiple_of(2) {
                            // The last cases: most still wait for their ack.
                            let id = format!("SIF-2026-{:05}", N - i / 2);
                            w.cmd(&["close", &id, "--reason", "answered by phone", "--now", now])
                        } else {
                            w.cmd(&["status", "--json", "--now", now])
                        };
                        if sent_now() < N - CLOSES {
                            during.fetch_add(1, Ordering::Relaxed);
                        }
                        if !out.status.success() {
                            bad.push(format!(
                                "command {i} failed: {}",
                                String::from_utf8_lossy(&out.stderr)
                            ));
                        }
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let out = run.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the cycle failed: {log}");
    assert!(!log.contains("locked"), "{log}");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        during.load(Ordering::Relaxed) > 0,
        "no admin command ran while the cycle was sending: the test proved nothing"
    );

    // The cycle was not hurt: one acknowledgement per case still open when
    // its turn came, none twice; the closed cases are closed.
    let sent = w.sent();
    let ids = by_message_id(&sent);
    assert!(ids.values().all(|n| *n == 1), "{ids:?}");
    let st = w.status(now);
    let cases = st["cases"].as_array().unwrap();
    assert_eq!(cases.len(), N);
    let closed = cases.iter().filter(|c| c["state"] == "closed").count();
    assert_eq!(closed, CLOSES, "{st:#}");
    let open_acked = cases
        .iter()
        .filter(|c| c["state"] == "open" && c["acknowledged_at"].is_string())
        .count();
    assert_eq!(open_acked, N - CLOSES, "every open case acknowledged");
    let acks = sent.iter().filter(|m| is_ack(m)).count();
    assert!(
        (N - CLOSES..=N).contains(&acks),
        "{acks} acknowledgements for {N} cases"
    );
    assert!(
        st["outbox"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] != "sending" && e["state"] != "pending"),
        "{st:#}"
    );
}
