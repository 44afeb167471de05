//! The mailbox sync against a real Dovecot, running the binary as a user
//! would: the mailbox is never changed (flags before = after), a second run
//! at the same instant changes nothing, a UIDVALIDITY reset duplicates
//! nothing, and a malformed mailbox is read without a crash (SPEC §2, §10).

mod support;

use std::process::Command;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use support::mail::mail;
use support::world::{t, World};

const SIGNED: &str = "Labdien!\n\nAtbildam uz Jūsu jautājumu.\n\n\
Ar cieņu,\nJānis Bērziņš\nSabiedrības integrācijas fonds\nTālr. +371 67078190\n";
const JANIS: &str = "Jānis Bērziņš <janis.berzins@sif.gov.lv>";
const POST: &str = "pasts@sif.gov.lv";

fn db_count(w: &World, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(w.dir.path().join("replygate.db")).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn cases(st: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["client"].as_str().unwrap().to_string(),
                c["subject"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A small mailbox with flagged, unseen, seen and answered messages in
/// INBOX and Sent, a staff reply and a bounce (both read whole).
fn mixed_mailbox(w: &World) {
    let d = |s: &str| t(s);
    let m = mail("anna@inbox.lv", POST, "Jautājums", Some("f1@inbox.lv"));
    w.dovecot.append_with_flags(
        "INBOX",
        &m.raw(d("2026-11-23T10:00:00+02:00")),
        "()",
        d("2026-11-23T10:00:00+02:00"),
    );
    let m = mail("bruno@gmail.com", POST, "Otrs", Some("f2@gmail.com"));
    w.dovecot.append_with_flags(
        "INBOX",
        &m.raw(d("2026-11-23T10:05:00+02:00")),
        "(\\Seen \\Flagged)",
        d("2026-11-23T10:05:00+02:00"),
    );
    let m = mail("dace@apollo.lv", POST, "Trešais", Some("f3@apollo.lv"));
    w.dovecot.append_with_flags(
        "INBOX",
        &m.raw(d("2026-11-23T10:10:00+02:00")),
        "(\\Flagged $Important)",
        d("2026-11-23T10:10:00+02:00"),
    );
    let m = mail(
        "news@lists.example.com",
        POST,
        "Jaunumi",
        Some("f4@lists.example.com"),
    )
    .h("List-Id", "<news.lists.example.com>");
    w.dovecot.append_with_flags(
        "INBOX",
        &m.raw(d("2026-11-23T10:15:00+02:00")),
        "(\\Seen \\Answered)",
        d("2026-11-23T10:15:00+02:00"),
    );
    let bounce = format!(
        "From: MAILER-DAEMON@mx.sif.gov.lv\r\nTo: {POST}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <b1@mx.sif.gov.lv>\r\nDate: Mon, 23 Nov 2026 10:20:00 +0200\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n\r\n\
         --BB\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\
         --BB\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.sif.gov.lv\r\n\r\n\
         Final-Recipient: rfc822; nav@example.lv\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--BB--\r\n"
    );
    w.dovecot
        .append_with_flags("INBOX", bounce.as_bytes(), "()", d("2026-11-23T10:20:00+02:00"));
    let m = mail(JANIS, "anna@inbox.lv", "RE: Jautājums", Some("s1@sif.gov.lv"))
        .reply_to("f1@inbox.lv")
        .body(SIGNED);
    w.dovecot.append_with_flags(
        "Sent",
        &m.raw(d("2026-11-23T11:00:00+02:00")),
        "(\\Seen)",
        d("2026-11-23T11:00:00+02:00"),
    );
    let m = mail(JANIS, "dace@apollo.lv", "RE: Trešais", Some("s2@sif.gov.lv"))
        .reply_to("f3@apollo.lv")
        .body("Paldies.\n");
    w.dovecot.append_with_flags(
        "Sent",
        &m.raw(d("2026-11-23T11:05:00+02:00")),
        "()",
        d("2026-11-23T11:05:00+02:00"),
    );
}

/// Flags are the same before and after; a second run at the same instant
/// changes nothing and sends nothing.
#[test]
fn mailbox_untouched_and_second_run_is_a_no_op() {
    let w = World::new("");
    mixed_mailbox(&w);
    let before = (
        w.dovecot.uid_flags("INBOX"),
        w.dovecot.uid_flags("Sent"),
        w.dovecot.flags_snapshot("INBOX"),
        w.dovecot.flags_snapshot("Sent"),
    );
    assert!(before.0.values().any(|f| f.is_empty()), "{before:?}");
    assert!(before.0.values().any(|f| f.contains("\\Flagged")), "{before:?}");
    assert!(before.1.values().any(|f| f.is_empty()), "{before:?}");

    let now = "2026-11-23T20:00:00+02:00";
    w.run(now);
    let st = w.status(now);
    assert_eq!(st["cases"].as_array().unwrap().len(), 3, "{st:#}");
    let sent = w.sent().len();
    assert!(sent > 0, "acks and a signature warning were due");
    let after = (
        w.dovecot.uid_flags("INBOX"),
        w.dovecot.uid_flags("Sent"),
        w.dovecot.flags_snapshot("INBOX"),
        w.dovecot.flags_snapshot("Sent"),
    );
    assert_eq!(before, after, "the mailbox changed");

    let msgs = db_count(&w, "SELECT COUNT(*) FROM messages");
    let audit = db_count(&w, "SELECT COUNT(*) FROM audit");
    let outbox = db_count(&w, "SELECT COUNT(*) FROM outbox");
    assert_eq!(msgs, 7);
    w.run(now);
    assert_eq!(w.status(now), st);
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM messages"), msgs);
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM audit"), audit);
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM outbox"), outbox);
    assert_eq!(w.sent().len(), sent, "the second run sent something");
    assert_eq!(
        before,
        (
            w.dovecot.uid_flags("INBOX"),
            w.dovecot.uid_flags("Sent"),
            w.dovecot.flags_snapshot("INBOX"),
            w.dovecot.flags_snapshot("Sent"),
        )
    );
}

/// Messages for the UIDVALIDITY test: (raw, INTERNALDATE).
fn reset_set() -> Vec<(Vec<u8>, DateTime<FixedOffset>)> {
    let d = |s: &str| t(s);
    vec![
        (
            mail("anna@inbox.lv", POST, "Pirmais", Some("r1@inbox.lv")).raw(d("2026-11-23T10:00:00+02:00")),
            d("2026-11-23T10:00:00+02:00"),
        ),
        (
            mail("bruno@gmail.com", POST, "Otrais", Some("r2@gmail.com")).raw(d("2026-11-23T10:30:00+02:00")),
            d("2026-11-23T10:30:00+02:00"),
        ),
        // No Message-ID: deduplicated by the From/Date/Subject hash.
        (
            mail("dace@apollo.lv", POST, "Bez identifikatora", None).raw(d("2026-11-23T11:00:00+02:00")),
            d("2026-11-23T11:00:00+02:00"),
        ),
    ]
}

fn reset_check(w: &mut World, folder: &str, recreate: impl FnOnce(&mut World)) {
    w.dovecot.append_many(folder, &reset_set());
    let now = "2026-11-23T20:00:00+02:00";
    w.run(now);
    let st = w.status(now);
    assert_eq!(st["cases"].as_array().unwrap().len(), 3, "{st:#}");
    let acks = w.sent().len();
    assert_eq!(acks, 3, "one acknowledgement each");
    let old_validity = w.dovecot.uidvalidity(folder);

    recreate(w);
    assert_ne!(
        w.dovecot.uidvalidity(folder),
        old_validity,
        "the folder was not recreated"
    );
    let mut again = reset_set();
    // Re-appended in another order (new UIDs) plus one new message.
    again.reverse();
    let new_at = t("2026-11-24T09:30:00+02:00");
    again.push((
        mail(
            "emils@tvnet.lv",
            POST,
            "Jauns pēc atjaunošanas",
            Some("r4@tvnet.lv"),
        )
        .raw(new_at),
        new_at,
    ));
    w.dovecot.append_many(folder, &again);
    let now2 = "2026-11-24T10:00:00+02:00";
    let log = w.run(now2);
    assert!(log.contains("UIDVALIDITY changed"), "{log}");
    let st2 = w.status(now2);
    let mut want = cases(&st);
    want.push((
        "emils@tvnet.lv".into(),
        "Jauns pēc atjaunošanas".into(),
        "open".into(),
    ));
    want.sort();
    assert_eq!(cases(&st2), want, "{st2:#}");
    assert_eq!(
        db_count(w, "SELECT COUNT(*) FROM messages WHERE duplicate_of IS NOT NULL"),
        3,
        "the re-read messages are recorded as duplicates"
    );
    // Emils gets his acknowledgement at Tuesday's closing; nobody else any more.
    w.run("2026-11-24T17:00:00+02:00");
    let sent = w.sent();
    assert_eq!(
        sent.len(),
        acks + 1,
        "{:#?}",
        sent.iter().map(|m| &m.rcpt_to).collect::<Vec<_>>()
    );
    assert_eq!(sent.last().unwrap().rcpt_to, vec!["emils@tvnet.lv".to_string()]);
}

/// A recreated folder (new UIDVALIDITY) holding the same mail duplicates
/// nothing; a genuinely new message in it is processed.
#[test]
fn uidvalidity_reset_of_a_folder() {
    let mut w = World::new("");
    let text = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        text.replace("inbox = [\"INBOX\"]", "inbox = [\"INBOX\", \"Klienti\"]"),
    )
    .unwrap();
    w.dovecot.create_folder("Klienti");
    reset_check(&mut w, "Klienti", |w| {
        w.dovecot.delete_folder("Klienti");
        w.dovecot.create_folder("Klienti");
    });
}

/// INBOX cannot be deleted over IMAP: recreate it as a restore would, by
/// emptying the Maildir and dropping Dovecot's UID list and indexes.
#[test]
fn uidvalidity_reset_of_inbox() {
    let mut w = World::new("");
    let dir = w.dovecot.folder_dir("INBOX");
    let wipe = |dir: &std::path::Path| {
        for sub in ["cur", "new"] {
            for e in std::fs::read_dir(dir.join(sub)).unwrap().flatten() {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("dovecot-uidlist") || n.starts_with("dovecot.index") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
    };
    reset_check(&mut w, "INBOX", |w| {
        // UIDVALIDITY is a timestamp in seconds: make sure the new one differs.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        w.dovecot.stop();
        wipe(&dir);
        w.dovecot.restart();
    });
}

/// 4 KiB of pseudo-random bytes from `seed` (not a mail: a file that is
/// no message at all).
fn garbage(seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

/// Base64 lines of `n` zero bytes, fast.
fn zeros_b64(n: usize) -> String {
    let line = "A".repeat(76);
    let lines = n.div_ceil(57);
    let mut s = String::with_capacity(lines * 78);
    for _ in 0..lines {
        s.push_str(&line);
        s.push_str("\r\n");
    }
    s
}

/// Peak RSS (kB) of `replygate run --once` under /usr/bin/time -v.
fn run_measured(w: &World, now: &str) -> (bool, String, u64) {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_replygate"))
        .arg("-c")
        .arg(&w.config)
        .args(["run", "--once", "--now", now])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    // Without colours, and without the 200 kB subject.
    let log = regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(&log, "")
        .to_string();
    let log: String = log
        .lines()
        .map(|l| l.chars().take(400).collect::<String>() + "\n")
        .collect();
    let rss = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (out.status.success(), log, rss)
}

/// A folder of several batches is read ahead on a second connection: every
/// message recorded once, in order, the unreadable one in the second batch
/// set aside, every client mail a case; a second run finds nothing new.
#[test]
fn many_batches_read_ahead_lose_and_repeat_nothing() {
    let w = World::new("");
    let at = |i: u32| t(&format!("2026-11-23T{:02}:{:02}:00+02:00", 9 + i / 60, i % 60));
    let batch = |range: std::ops::Range<u32>| -> Vec<(Vec<u8>, DateTime<FixedOffset>)> {
        range
            .map(|i| {
                let from = format!("klients{i}@inbox.lv");
                let id = format!("many{i}@inbox.lv");
                (
                    mail(&from, POST, &format!("Jautājums {i}"), Some(&id)).raw(at(i % 400)),
                    at(i % 400),
                )
            })
            .collect()
    };
    w.dovecot.append_many("INBOX", &batch(0..300));
    w.dovecot.deliver_file("INBOX", &garbage(777), at(301));
    w.dovecot.append_many("INBOX", &batch(300..520));

    let (ok, log, _) = run_measured(&w, "2026-11-23T20:00:00+02:00");
    assert!(ok, "{log}");
    assert!(
        log.contains("reading header batches ahead on a second connection"),
        "{log}"
    );
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM messages"), 521, "{log}");
    assert_eq!(db_count(&w, "SELECT COUNT(DISTINCT uid) FROM messages"), 521);
    assert_eq!(
        db_count(&w, "SELECT COUNT(*) FROM messages WHERE class = 'bad'"),
        1,
        "{log}"
    );
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM cases"), 520);
    assert_eq!(db_count(&w, "SELECT MAX(uid) FROM messages"), 521);

    let (ok, log, _) = run_measured(&w, "2026-11-23T20:10:00+02:00");
    assert!(ok, "{log}");
    assert!(!log.contains("reading header batches ahead"), "{log}");
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM messages"), 521, "{log}");
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM cases"), 520);
}

/// 450 client questions in INBOX and a staff reply to each in Sent (three
/// batches): the replies in `unsigned` lack the signature, those in
/// `with_attachment` carry a PDF after their text.
fn questions_and_staff_replies(w: &World, unsigned: &[u32], with_attachment: &[u32]) {
    let at = |day: u32, i: u32| t(&format!("2026-11-{day}T{:02}:{:02}:00+02:00", 9 + i / 60, i % 60));
    let questions: Vec<_> = (0..450_u32)
        .map(|i| {
            let m = mail(
                &format!("klients{i}@inbox.lv"),
                POST,
                &format!("Jautājums {i}"),
                Some(&format!("q{i}@inbox.lv")),
            );
            (m.raw(at(23, i % 480)), at(23, i % 480))
        })
        .collect();
    w.dovecot.append_many("INBOX", &questions);
    let replies: Vec<_> = (0..450_u32)
        .map(|i| {
            let text = if unsigned.contains(&i) {
                format!("Labdien!\n\nAtbilde uz jautājumu {i}: jā.\n")
            } else {
                SIGNED.replace("Atbildam", &format!("Uz jautājumu {i} atbildam"))
            };
            let mut m = mail(
                JANIS,
                &format!("klients{i}@inbox.lv"),
                &format!("RE: Jautājums {i}"),
                Some(&format!("r{i}@sif.gov.lv")),
            )
            .reply_to(&format!("q{i}@inbox.lv"));
            if with_attachment.contains(&i) {
                m.headers.retain(|(k, _)| k != "Content-Type" && k != "Content-Transfer-Encoding");
                m = m.h("Content-Type", "multipart/mixed; boundary=\"PIE\"").body(&format!(
                    "--PIE\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}\n\
                     --PIE\nContent-Type: application/pdf; name=\"atbilde.pdf\"\n\
                     Content-Disposition: attachment; filename=\"atbilde.pdf\"\n\
                     Content-Transfer-Encoding: base64\n\n{}\n--PIE--\n",
                    "JVBERi0xLjQK".repeat(400)
                ));
            } else {
                m = m.body(&text);
            }
            (m.raw(at(24, i % 480)), at(24, i % 480))
        })
        .collect();
    w.dovecot.append_many("Sent", &replies);
}

/// The Maildir file of `folder` whose message contains `needle`.
fn message_file(w: &World, folder: &str, needle: &str) -> std::path::PathBuf {
    let dir = w.dovecot.folder_dir(folder);
    let mut files: Vec<_> = ["cur", "new"]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(dir.join(d))
                .unwrap()
                .flatten()
                .map(|e| e.path())
        })
        .collect();
    files.sort();
    let found = files
        .iter()
        .find(|p| std::fs::read_to_string(p).unwrap_or_default().contains(needle))
        .unwrap_or_else(|| panic!("no message with {needle:?} among {files:?}"));
    found.clone()
}

/// The Message-IDs of the staff replies found without the signature.
fn unsigned_replies(w: &World) -> Vec<String> {
    let c = rusqlite::Connection::open(w.dir.path().join("replygate.db")).unwrap();
    let mut st = c
        .prepare("SELECT message_id FROM signature_checks WHERE compliant = 0 ORDER BY sent_at")
        .unwrap();
    let ids = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ids
}

/// A Sent folder of several batches: the staff replies of the later
/// batches are read ahead on the second connection (whole, or only their
/// text parts when they carry an attachment), and each is checked as its
/// own: every case answered, and exactly the unsigned replies, in every
/// batch, found without the signature.
#[test]
fn staff_replies_read_ahead_are_checked_in_every_batch() {
    let w = World::new("");
    let unsigned = [4_u32, 255, 431];
    questions_and_staff_replies(&w, &unsigned, &[100, 300, 431]);

    let (ok, log, _) = run_measured(&w, "2026-11-24T20:00:00+02:00");
    assert!(ok, "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("reading header batches ahead") && l.contains("Sent")),
        "{log}"
    );
    assert_eq!(
        db_count(&w, "SELECT COUNT(*) FROM cases WHERE state = 'answered'"),
        450,
        "{log}"
    );
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM signature_checks"), 450);
    let expected: Vec<String> = unsigned.iter().map(|i| format!("r{i}@sif.gov.lv")).collect();
    assert_eq!(unsigned_replies(&w), expected, "{log}");
}

/// A staff reply the server cannot read in Sent's second batch: Dovecot
/// ends the read-ahead's connection there (its header fetch comes back
/// short, its fetch of the staff replies fails) and the read-ahead stops;
/// the main connection reads what is missing one message at a time and the
/// third batch itself. Only the unreadable reply is lost (recorded as
/// bad); every other reply answers its case and is checked, the unsigned
/// ones of the third batch included.
#[test]
fn a_sent_batch_the_server_cannot_read_hands_over_to_the_main_connection() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new("");
    let unsigned = [4_u32, 255, 431];
    questions_and_staff_replies(&w, &unsigned, &[300, 431]);
    let victim = message_file(&w, "Sent", "Uz jautājumu 260 atbildam");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o000)).unwrap();

    let (ok, log, _) = run_measured(&w, "2026-11-24T20:00:00+02:00");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(ok, "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("staff replies cannot be read ahead") || l.contains("batch fetch failed")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("cannot be fetched") && l.contains("uid=261")),
        "{log}"
    );
    assert_eq!(
        db_count(&w, "SELECT COUNT(*) FROM messages WHERE class = 'bad'"),
        1
    );
    assert_eq!(
        db_count(&w, "SELECT COUNT(*) FROM cases WHERE state = 'answered'"),
        449,
        "{log}"
    );
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM signature_checks"), 449);
    let expected: Vec<String> = unsigned.iter().map(|i| format!("r{i}@sif.gov.lv")).collect();
    assert_eq!(unsigned_replies(&w), expected, "{log}");
}

/// A malformed mailbox: every bad message is counted and logged, the good
/// mail around it still becomes cases, the run exits 0, memory stays bounded.
#[test]
fn malformed_mailbox() {
    let w = World::new("");
    let d = |s: &str| t(s);
    let at = |i: u32| d(&format!("2026-11-23T10:{i:02}:00+02:00"));
    let mut bad_uids = Vec::new();
    let mut inbox: Vec<(Vec<u8>, DateTime<FixedOffset>)> = Vec::new();
    // 1: good
    inbox.push((
        mail("labs1@inbox.lv", POST, "Labs pirms", Some("g1@inbox.lv")).raw(at(1)),
        at(1),
    ));
    // 2: unterminated multipart
    inbox.push((
        format!(
            "From: mime1@inbox.lv\r\nTo: {POST}\r\nSubject: Nepabeigts multipart\r\nMessage-ID: <m1@inbox.lv>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n\
             --XYZ\r\nContent-Type: text/plain\r\n\r\nteksts bez beigām\r\n--XYZ\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK"
        )
        .into_bytes(),
        at(2),
    ));
    // 3: boundaries that do not match the declared one
    inbox.push((
        format!(
            "From: mime2@inbox.lv\r\nTo: {POST}\r\nSubject: Nepareizas robezas\r\nMessage-ID: <m2@inbox.lv>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"\"\r\n\r\n\
             --def\r\nContent-Type: text/plain\r\n\r\nx\r\n--ghi--\r\n"
        )
        .into_bytes(),
        at(3),
    ));
    // 4: raw windows-1257 bytes in Subject, From and an attachment name
    let mut raw8 = Vec::new();
    raw8.extend_from_slice(b"From: J\xe2nis K\xe2rkli\xf2\xf0 <janis.k@inbox.lv>\r\nTo: ");
    raw8.extend_from_slice(POST.as_bytes());
    raw8.extend_from_slice(
        b"\r\nSubject: Jaut\xe2jums par pabalstu \xfe\xf0\r\nMessage-ID: <m3@inbox.lv>\r\n",
    );
    raw8.extend_from_slice(b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"QQ\"\r\n\r\n");
    raw8.extend_from_slice(b"--QQ\r\nContent-Type: text/plain\r\n\r\nl\xfbdzu\r\n");
    raw8.extend_from_slice(
        b"--QQ\r\nContent-Type: application/octet-stream; name=\"pie\xf0\xfbtne.edoc\"\r\n",
    );
    raw8.extend_from_slice(
        b"Content-Disposition: attachment; filename=\"pie\xf0\xfbtne.edoc\"\r\n\r\nxx\r\n--QQ--\r\n",
    );
    inbox.push((raw8, at(4)));
    // 5: no From
    inbox.push((
        format!("To: {POST}\r\nSubject: Bez sūtītāja\r\nMessage-ID: <m4@inbox.lv>\r\n\r\nteksts\r\n")
            .into_bytes(),
        at(5),
    ));
    // 6, 7: no Message-ID, different subjects: both kept
    inbox.push((
        mail("bezid@inbox.lv", POST, "Bez ID viens", None).raw(at(6)),
        at(6),
    ));
    inbox.push((
        mail("bezid@inbox.lv", POST, "Bez ID divi", None).raw(at(7)),
        at(7),
    ));
    // 8: 2 000 recipients
    let many: Vec<String> = (0..2000).map(|i| format!("r{i}@example{}.lv", i % 7)).collect();
    inbox.push((
        mail(
            "daudzi@inbox.lv",
            &many.join(",\r\n "),
            "Daudz adresātu",
            Some("m5@inbox.lv"),
        )
        .raw(at(8)),
        at(8),
    ));
    // 9: a header line of 200 kB and a parameter full of quotes
    inbox.push((
        format!(
            "From: garsh@inbox.lv\r\nTo: {POST}\r\nSubject: {}\r\nMessage-ID: <m6@inbox.lv>\r\n\
             Content-Type: text/plain; charset=\"utf-8\\\"\"; name=\"a\\\"b\"\r\n\r\nx\r\n",
            "ļoti gara tēma ".repeat(12_000)
        )
        .into_bytes(),
        at(9),
    ));
    // 10: a forwarded message (message/rfc822, so BODYSTRUCTURE carries its
    // ENVELOPE) with raw 8-bit, non-UTF-8 Subject and From
    let mut fwd = Vec::new();
    fwd.extend_from_slice(
        format!("From: parsutit@inbox.lv\r\nTo: {POST}\r\nSubject: Fw: pārsūtīts\r\n").as_bytes(),
    );
    fwd.extend_from_slice(b"Message-ID: <m8@inbox.lv>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"FW\"\r\n\r\n");
    fwd.extend_from_slice(
        b"--FW\r\nContent-Type: text/plain\r\n\r\nsk. zemak\r\n--FW\r\nContent-Type: message/rfc822\r\n\r\n",
    );
    fwd.extend_from_slice(b"From: \"K\xe2rlis \xd0\xfe\" <k\xe2rlis@inbox.lv>\r\nTo: x\xe2@y.lv\r\nSubject: Jaut\xe2jums \"ar\" \\ p\xe9di\r\n");
    fwd.extend_from_slice(b"Message-ID: <in\xe2ner@x>\r\nIn-Reply-To: <\xff\xfe>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0200\r\n\r\nteksts\r\n--FW--\r\n");
    inbox.push((fwd, at(13)));
    // 11: 40 nested multiparts
    let mut nest = format!("From: ligzda@inbox.lv\r\nTo: {POST}\r\nSubject: Ligzda\r\nMessage-ID: <m9@inbox.lv>\r\nMIME-Version: 1.0\r\n");
    for i in 0..40 {
        nest.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    nest.push_str("Content-Type: text/plain\r\n\r\ndziļi\r\n");
    for i in (0..40).rev() {
        nest.push_str(&format!("--b{i}--\r\n"));
    }
    inbox.push((nest.into_bytes(), at(14)));
    // 12: a message/global attachment (Dovecot's BODYSTRUCTURE for it
    // lacks the envelope that message/rfc822 has)
    inbox.push((
        format!(
            "From: global@inbox.lv\r\nTo: {POST}\r\nSubject: Global\r\nMessage-ID: <m10@inbox.lv>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"GL\"\r\n\r\n--GL\r\nContent-Type: text/plain\r\n\r\nsk.\r\n\
             --GL\r\nContent-Type: message/global\r\n\r\nFrom: a@b.lv\r\nSubject: Iekšā\r\n\r\nteksts\r\n--GL--\r\n"
        )
        .into_bytes(),
        at(15),
    ));
    w.dovecot.append_many("INBOX", &inbox);
    // Straight into the Maildir: an empty file, garbage bytes, a 25 MB
    // attachment, and then a good message after them all.
    w.dovecot.deliver_file("INBOX", b"", at(10));
    w.dovecot.deliver_file("INBOX", &garbage(12345), at(11));
    let big = format!(
        "From: liels@inbox.lv\r\nTo: {POST}\r\nSubject: Liels pielikums\r\nMessage-ID: <m7@inbox.lv>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BIG\"\r\n\r\n\
         --BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSk. pielikumu.\r\n\
         --BIG\r\nContent-Type: application/octet-stream; name=\"dati.bin\"\r\n\
         Content-Disposition: attachment; filename=\"dati.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--BIG--\r\n",
        zeros_b64(25 << 20)
    );
    w.dovecot.deliver_file("INBOX", big.as_bytes(), at(12));
    // A staff reply in Sent with the same attachment after its signed text:
    // read whole (signature check) but capped.
    let big_staff = format!(
        "From: {JANIS}\r\nTo: liels@inbox.lv\r\nSubject: RE: Liels pielikums\r\nMessage-ID: <s7@sif.gov.lv>\r\n\
         In-Reply-To: <m7@inbox.lv>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BIG\"\r\n\r\n\
         --BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n\
         --BIG\r\nContent-Type: application/octet-stream; name=\"atpakal.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}--BIG--\r\n",
        SIGNED.replace('\n', "\r\n"),
        zeros_b64(25 << 20)
    );
    w.dovecot
        .deliver_file("Sent", big_staff.as_bytes(), d("2026-11-23T12:00:00+02:00"));
    drop(big);
    drop(big_staff);
    w.dovecot.append(
        "INBOX",
        &mail("labs2@inbox.lv", POST, "Labs pēc", Some("g2@inbox.lv")).raw(at(20)),
        at(20),
    );
    // UIDs of the messages that cannot be read: the empty one and garbage,
    // found by size (Dovecot numbers the files it finds in its own order).
    let mut c = w.dovecot.client();
    c.command("EXAMINE INBOX");
    let lines = c.command("UID FETCH 1:* (RFC822.SIZE)");
    c.logout();
    let re = regex::Regex::new(r"UID (\d+) RFC822.SIZE (\d+)|RFC822.SIZE (\d+) UID (\d+)").unwrap();
    let sizes: Vec<(u32, u64)> = lines
        .iter()
        .filter_map(|l| re.captures(l))
        .map(|c| match (c.get(1), c.get(2)) {
            (Some(u), Some(n)) => (u.as_str().parse().unwrap(), n.as_str().parse().unwrap()),
            _ => (c[4].parse().unwrap(), c[3].parse().unwrap()),
        })
        .collect();
    assert_eq!(sizes.len(), 16, "{lines:?}");
    for (uid, size) in &sizes {
        if *size == 0 || (4096..5000).contains(size) {
            bad_uids.push(*uid);
        }
    }
    assert_eq!(bad_uids.len(), 2, "{sizes:?}");

    let now = "2026-11-23T20:00:00+02:00";
    let (ok, log, rss) = run_measured(&w, now);
    assert!(ok, "the run failed: {log}");
    eprintln!("peak RSS of run --once over the malformed mailbox: {rss} kB");
    assert!(rss > 0 && rss < 64 * 1024, "peak RSS {rss} kB: {log}");
    let st = w.status(now);
    let clients: Vec<&str> = st["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    for c in [
        "labs1@inbox.lv",
        "labs2@inbox.lv",
        "mime1@inbox.lv",
        "daudzi@inbox.lv",
        "janis.k@inbox.lv",
        "global@inbox.lv",
        "parsutit@inbox.lv",
        "ligzda@inbox.lv",
        "mime2@inbox.lv",
        "garsh@inbox.lv",
    ] {
        assert!(clients.contains(&c), "no case for {c}: {clients:?}\n{log}");
    }
    let bezid: Vec<&Value> = World::case_of(&st, "bezid@inbox.lv");
    assert_eq!(
        bezid.len(),
        2,
        "two messages without Message-ID are two cases: {st:#}"
    );
    // The big one is answered by the staff reply whose signature is before
    // the attachment: no signature warning.
    let liels = World::case_of(&st, "liels@inbox.lv");
    assert_eq!(liels.len(), 1);
    assert_eq!(liels[0]["state"], "answered");
    assert!(
        !w.sent()
            .iter()
            .any(|m| m.rcpt_to.iter().any(|r| r == "janis.berzins@sif.gov.lv")),
        "signature warning for a signed reply with a big attachment"
    );
    // The bad ones are counted and named in the log.
    for uid in &bad_uids {
        assert!(
            log.lines()
                .any(|l| l.contains("WARN") && l.contains(&format!("uid={uid}"))),
            "UID {uid} not named in the log:\n{log}"
        );
    }
    assert!(log.contains("unreadable"), "{log}");
    let bad = db_count(&w, "SELECT COUNT(*) FROM messages WHERE class = 'bad'");
    assert!(bad >= 3, "bad messages counted: {bad}");
    assert_eq!(
        db_count(&w, "SELECT value FROM counters WHERE name = 'messages_bad'"),
        bad
    );
    assert_eq!(
        db_count(&w, "SELECT COUNT(*) FROM messages WHERE folder = 'INBOX'"),
        16
    );

    // Nothing is read twice.
    let (ok, log2, _) = run_measured(&w, now);
    assert!(ok, "{log2}");
    assert_eq!(w.status(now), st);
    assert_eq!(db_count(&w, "SELECT COUNT(*) FROM messages"), 17);
}

/// A message the server cannot deliver (its file unreadable: Dovecot answers
/// the batch FETCH with NO) is recorded as bad after a one-by-one retry;
/// the rest of the batch is recorded and the mailbox is not blocked.
#[test]
fn unfetchable_message_does_not_block_the_mailbox() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new("");
    let at = |i: u32| t(&format!("2026-11-23T10:{i:02}:00+02:00"));
    w.dovecot.append_many(
        "INBOX",
        &[
            (
                mail("pirms@inbox.lv", POST, "Pirms", Some("u1@inbox.lv")).raw(at(1)),
                at(1),
            ),
            (
                mail("slikts@inbox.lv", POST, "Nelasāms", Some("u2@inbox.lv")).raw(at(2)),
                at(2),
            ),
            (
                mail("pec@inbox.lv", POST, "Pēc", Some("u3@inbox.lv")).raw(at(3)),
                at(3),
            ),
        ],
    );
    // Make the second message's file unreadable for Dovecot.
    let victim = message_file(&w, "INBOX", "Nelas");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o000)).unwrap();

    let now = "2026-11-23T20:00:00+02:00";
    let (ok, log, _) = run_measured(&w, now);
    assert!(ok, "{log}\n{}", w.dovecot.log_text());
    let st = w.status(now);
    assert_eq!(World::case_of(&st, "pirms@inbox.lv").len(), 1, "{st:#}\n{log}");
    assert_eq!(World::case_of(&st, "pec@inbox.lv").len(), 1, "{st:#}\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("cannot be fetched") && l.contains("uid=2")),
        "{log}"
    );
    assert_eq!(
        db_count(&w, "SELECT COUNT(*) FROM messages WHERE class = 'bad'"),
        1
    );
    assert_eq!(
        db_count(&w, "SELECT value FROM counters WHERE name = 'messages_bad'"),
        1
    );
    // New mail after it keeps flowing.
    w.dovecot.append(
        "INBOX",
        &mail("velak@inbox.lv", POST, "Vēlāk", Some("u4@inbox.lv")).raw(at(30)),
        at(30),
    );
    let (ok, log, _) = run_measured(&w, now);
    assert!(ok, "{log}");
    assert_eq!(World::case_of(&w.status(now), "velak@inbox.lv").len(), 1, "{log}");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
}
