//! Passwords never reach the log at any level (SPEC §11.4), the
//! dependencies' own protocol tracing included: one real cycle against
//! Dovecot (IMAP LOGIN) and a TLS SMTP server that takes AUTH, with
//! `RUST_LOG=trace`, must print neither password nor any base64 form of it
//! (AUTH PLAIN `\0user\0pass`, AUTH LOGIN). And what mail brings to the
//! terminal is escaped: a subject full of control characters shows no ESC,
//! CR or forged line in the log or in `status`.

mod support;

use std::process::Command;
use std::time::Duration;

use support::mail::mail;
use support::tls_smtp::{TlsMode, TlsSmtp};
use support::world::{t, World};

const SMTP_PASSWORD: &str = "Smtp-S3cret.pass";

/// Standard base64 (RFC 4648) with padding.
fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The password and every encoding of it a protocol trace could show.
fn forms(user: &str, password: &str) -> Vec<String> {
    let mut v = vec![password.to_string(), b64(password.as_bytes())];
    v.push(b64(format!("\0{user}\0{password}").as_bytes()));
    v.push(b64(format!("{user}\0{user}\0{password}").as_bytes()));
    // Unpadded prefixes too: a trace may wrap or cut the line.
    let plain = b64(format!("\0{user}\0{password}").as_bytes());
    v.push(plain.trim_end_matches('=').to_string());
    v
}

#[test]
fn no_password_in_a_trace_level_log() {
    let w = World::new("[reply]\nstart_from = \"2026-11-01\"\nack = \"immediate\"\n");
    let smtp = TlsSmtp::start(TlsMode::Tls);
    let pw_file = w.dir.path().join("smtp-password");
    std::fs::write(&pw_file, SMTP_PASSWORD).unwrap();
    // The world's SMTP section, pointed at the TLS server with a login.
    let text = std::fs::read_to_string(&w.config).unwrap();
    let plain = format!("port = {}\nsecurity = \"plain\"\n", w.sink.port);
    assert!(text.contains(&plain), "world config layout changed:\n{text}");
    let tls = format!(
        "port = {}\nsecurity = \"tls\"\nca_file = \"{}\"\nusername = \"pasts@sif.gov.lv\"\npassword_file = \"{}\"\n",
        smtp.port,
        smtp.cert_path().display(),
        pw_file.display()
    );
    std::fs::write(&w.config, text.replacen(&plain, &tls, 1)).unwrap();
    let question = mail(
        "Anna <anna@example.lv>",
        "pasts@sif.gov.lv",
        "Jautājums",
        Some("q1@example.lv"),
    );
    w.dovecot.append(
        "INBOX",
        &question.raw(t("2026-11-23T10:00:00+02:00")),
        t("2026-11-23T10:00:00+02:00"),
    );

    let out = Command::new(env!("CARGO_BIN_EXE_replygate"))
        .arg("-c")
        .arg(&w.config)
        .args(["run", "--once", "--now", "2026-11-23T10:30:00+02:00"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "run failed:\n{log}");
    // The cycle really logged in to both servers and sent the acknowledgement.
    let got = smtp.wait_for(1, Duration::from_secs(10));
    assert_eq!(
        got.len(),
        1,
        "no acknowledgement reached the TLS SMTP server:\n{log}"
    );
    assert!(log.contains(" TRACE "), "trace logging is not on:\n{log}");
    for (user, pw) in [
        (w.dovecot.user.as_str(), w.dovecot.password.as_str()),
        ("pasts@sif.gov.lv", SMTP_PASSWORD),
    ] {
        for f in forms(user, pw) {
            assert!(
                !log.contains(&f),
                "the log shows {f:?} (a form of {user}'s password):\n{log}"
            );
        }
    }
}

#[test]
fn control_characters_from_mail_are_escaped_in_log_and_status() {
    let w = World::new("[reply]\nstart_from = \"2026-11-01\"\nack = \"immediate\"\n");
    // Raw bytes: ESC sequences (clear screen, set title), a CR that would
    // overwrite the line, a bidi override; an encoded word carrying a newline.
    let raw = b"From: Evil <evil@example.lv>\r\nTo: pasts@sif.gov.lv\r\n\
Subject: =?utf-8?B?G1syShtdMDtwd25lZAdoZWxsbw1GQUtFIExJTkUKMjAyNi0xMS0yMyBJTkZPIGZvcmdlZA==?=\r\n\
Message-ID: <ctl1@example.lv>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0200\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nLabdien!\r\n";
    w.dovecot.append("INBOX", raw, t("2026-11-23T10:00:00+02:00"));
    let out = Command::new(env!("CARGO_BIN_EXE_replygate"))
        .arg("-c")
        .arg(&w.config)
        .args(["run", "--once", "--now", "2026-11-23T10:30:00+02:00"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status = w.cmd(&["status", "--all", "--now", "2026-11-23T11:00:00+02:00"]);
    assert!(status.status.success());
    for (what, bytes) in [("log", &out.stderr), ("status", &status.stdout)] {
        let text = String::from_utf8_lossy(bytes);
        for bad in ['\u{1b}', '\r', '\u{7}'] {
            assert!(!text.contains(bad), "{what} carries {bad:?}:\n{text:?}");
        }
        assert!(
            !text.lines().any(|l| l.starts_with("2026-11-23 INFO forged")),
            "{what}: forged line"
        );
    }
    // The case is there, with its subject shown escaped.
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("\\u{1b}[2J"),
        "status does not show the escaped subject:\n{text}"
    );
}
