//! Sending through a real SMTP server (Postfix smtp-sink): headers of
//! acknowledgements and staff notices as received, envelope, failure
//! mapping; and the templates as `check-config` sees them.

mod support;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use replygate::config::{Security, SmtpConfig};
use replygate::outbound::compose::{self, AutoReply};
use replygate::outbound::smtp::{Mailer, SendError, SmtpError};
use replygate::outbound::templates::{Templates, NAMES};
use support::smtp_sink::{Reject, SmtpSink};

const FROM: &str = "Sabiedrības integrācijas fonds <pasts@sif.gov.lv>";
const WAIT: Duration = Duration::from_secs(5);

fn cfg(host: &str, port: u16) -> SmtpConfig {
    SmtpConfig {
        host: host.into(),
        port,
        security: Security::Plain,
        username: None,
        password_file: None,
        password_env: None,
        ca_file: None,
        from: FROM.into(),
        save_copy_to: None,
        connections: 4,
    }
}

fn rendered_ack(subject: &str) -> replygate::outbound::templates::Rendered {
    let t = Templates::load(None).unwrap();
    let mut ctx = Templates::sample_context("ack");
    ctx["subject"] = subject.into();
    t.render("ack", &ctx).unwrap()
}

fn ack_for(client: &str, subject: &str) -> compose::Outgoing {
    let r = rendered_ack(subject);
    let id = compose::new_message_id("sif.gov.lv");
    compose::auto_reply(&AutoReply {
        from: FROM,
        to: client,
        subject: &r.subject,
        text: &r.text,
        in_reply_to: Some("<CAK7-client.1@mail.example.lv>"),
        references: &["<thread-start@mail.example.lv>".to_string()],
        message_id: &id,
        date: Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap(),
    })
    .unwrap()
}

#[tokio::test]
async fn acknowledgement_arrives_with_all_headers() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&cfg("127.0.0.1", sink.port), None).unwrap();
    let subject = "Jautājums par līdzfinansējumu\r\nBcc: victim@example.com";
    let out = ack_for("anna.liepa@example.lv", subject);
    mailer.send(&out).await.unwrap();

    let msgs = sink.wait_for(1, WAIT);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.mail_from, "pasts@sif.gov.lv");
    assert_eq!(m.rcpt_to, ["anna.liepa@example.lv"]);
    assert_eq!(m.helo.as_deref(), Some("sif.gov.lv"));
    assert_eq!(m.header("Auto-Submitted"), Some("auto-replied"));
    assert_eq!(m.header("X-Auto-Response-Suppress"), Some("All"));
    assert_eq!(m.header("X-Replygate-Loop"), Some("pasts@sif.gov.lv"));
    assert_eq!(m.header("In-Reply-To"), Some("<CAK7-client.1@mail.example.lv>"));
    assert_eq!(
        m.header("References"),
        Some("<thread-start@mail.example.lv> <CAK7-client.1@mail.example.lv>")
    );
    assert!(m.header("Bcc").is_none());
    assert!(m.header("Precedence").is_none());
    let mid = m.header("Message-ID").unwrap();
    let re = regex::Regex::new(r"^<replygate\.[0-9a-f]{32}@sif\.gov\.lv>$").unwrap();
    assert!(re.is_match(mid), "{mid}");
    assert_eq!(mid, format!("<{}>", out.message_id));

    let p = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
    assert_eq!(
        p.subject(),
        Some("Auto: Jautājums par līdzfinansējumu Bcc: victim@example.com")
    );
    let body = p.body_text(0).unwrap();
    assert!(
        body.contains("Apstiprinām, ka 23.11.2026 09:14 esam saņēmuši Jūsu e-pastu"),
        "{body}"
    );
    assert!(body.contains("SIF-2026-00042"));
    assert!(body.contains("In English:"));
    let from = p.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Sabiedrības integrācijas fonds"));
    assert_eq!(from.address(), Some("pasts@sif.gov.lv"));
    // The bytes arrived unchanged (lettre ends DATA with one more CRLF).
    assert_eq!(m.raw.strip_suffix(b"\r\n"), Some(&out.raw[..]));
    // The client's line break did not reach the body either.
    assert!(!body.contains("\nBcc:"), "{body}");
}

#[tokio::test]
async fn staff_notice_goes_to_to_and_cc() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&cfg("localhost", sink.port), None).unwrap();
    let t = Templates::load(None).unwrap();
    let r = t
        .render("escalation", &Templates::sample_context("escalation"))
        .unwrap();
    let out = compose::staff_notice(
        FROM,
        &["klienti@sif.gov.lv".into()],
        &["vaditajs@sif.gov.lv".into()],
        &r.subject,
        &r.text,
        &compose::new_message_id("sif.gov.lv"),
        Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap(),
        Some("<CAK7-client.1@mail.example.lv>"),
    )
    .unwrap();
    mailer.send(&out).await.unwrap();
    let m = &sink.wait_for(1, WAIT)[0];
    assert_eq!(m.rcpt_to, ["klienti@sif.gov.lv", "vaditajs@sif.gov.lv"]);
    assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"));
    assert_eq!(m.header("Cc"), Some("vaditajs@sif.gov.lv"));
    let p = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
    assert_eq!(p.subject(), Some("Nokavēts atbildes termiņš: SIF-2026-00042"));
    assert!(p.body_text(0).unwrap().contains("Kavējums:    1 h 30 min"));
}

#[test]
fn plain_to_a_remote_host_is_refused() {
    let e = Mailer::new(&cfg("smtp.example.lv", 25), None).unwrap_err();
    assert!(matches!(e, SmtpError::PlainNotLoopback(_)));
    assert!(e.to_string().contains("smtp.example.lv"));
    assert!(Mailer::new(&cfg("10.1.2.3", 25), None).is_err());
}

#[tokio::test]
async fn server_down_is_temporary_and_recovers() {
    let mut sink = SmtpSink::start();
    let mut c = cfg("127.0.0.1", sink.port);
    c.username = None;
    let mailer = Mailer::new(&c, None).unwrap();
    sink.stop();
    let out = ack_for("anna.liepa@example.lv", "Jautājums");
    match mailer.send(&out).await {
        Err(SendError::Temporary(msg)) => {
            assert!(msg.contains(&format!("127.0.0.1:{}", sink.port)), "{msg}")
        }
        other => panic!("expected Temporary, got {other:?}"),
    }
    assert!(sink.messages().is_empty());
    // The same Mailer delivers once the server is back.
    sink.restart();
    mailer.send(&out).await.unwrap();
    let msgs = sink.wait_for(1, WAIT);
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0].header("Message-ID"),
        Some(format!("<{}>", out.message_id).as_str())
    );
}

#[tokio::test]
async fn rejections_map_to_permanent_and_temporary() {
    let out = ack_for("anna.liepa@example.lv", "Jautājums");

    let sink = SmtpSink::start_rejecting(Reject::Permanent);
    let mailer = Mailer::new(&cfg("127.0.0.1", sink.port), None).unwrap();
    match mailer.send(&out).await {
        Err(SendError::Permanent(msg)) => {
            assert!(msg.contains("5.3.0"), "{msg}")
        }
        other => panic!("expected Permanent, got {other:?}"),
    }
    assert!(sink.messages().is_empty());

    let sink = SmtpSink::start_rejecting(Reject::Temporary);
    let mailer = Mailer::new(&cfg("127.0.0.1", sink.port), None).unwrap();
    match mailer.send(&out).await {
        Err(e @ SendError::Temporary(_)) => {
            assert!(e.to_string().contains("4.3.0"), "{e}");
            assert!(!e.is_permanent());
        }
        other => panic!("expected Temporary, got {other:?}"),
    }
}

#[test]
fn every_builtin_template_renders_with_its_sample() {
    let t = Templates::load(None).unwrap();
    assert!(t.check_all().is_empty());
    for n in NAMES {
        let r = t.render(n, &Templates::sample_context(n)).unwrap();
        assert!(!r.subject.is_empty(), "{n}");
        assert!(r.text.contains("In English:"), "{n}");
    }
}

#[test]
fn broken_override_is_reported_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reminder.txt");
    std::fs::write(
        &path,
        "Subject: Atgādinājums {{ case_id }}\n\nLieta {{ case_id }}, termiņš {{ dedline }}\n",
    )
    .unwrap();
    let t = Templates::load(Some(dir.path())).unwrap();
    let errs = t.check_all();
    assert_eq!(errs.len(), 1, "{errs:?}");
    let msg = errs[0].to_string();
    assert!(msg.contains(&format!("{}:3", path.display())), "{msg}");

    std::fs::write(&path, "Subject: x\n\n{% if case_id %}\n").unwrap();
    let msg = Templates::load(Some(dir.path())).unwrap_err().to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

mod tls {
    use super::*;
    use support::tls_smtp::{TlsMode, TlsSmtp};

    fn tls_cfg(port: u16, security: Security, ca: Option<std::path::PathBuf>) -> SmtpConfig {
        SmtpConfig {
            security,
            ca_file: ca,
            username: Some("pasts@sif.gov.lv".into()),
            ..cfg("127.0.0.1", port)
        }
    }

    #[tokio::test]
    async fn implicit_tls_with_ca_file_delivers() {
        let server = TlsSmtp::start(TlsMode::Tls);
        let c = tls_cfg(server.port, Security::Tls, Some(server.cert_path()));
        let mailer = Mailer::new(&c, Some("s3cr3t-pass")).unwrap();
        let out = ack_for("anna.liepa@example.lv", "Jautājums");
        mailer.send(&out).await.unwrap();
        let msgs = server.wait_for(1, WAIT);
        assert_eq!(msgs[0].mail_from, "pasts@sif.gov.lv");
        assert_eq!(msgs[0].rcpt_to, ["anna.liepa@example.lv"]);
        let p = mail_parser::MessageParser::default().parse(&msgs[0].raw).unwrap();
        assert_eq!(p.message_id(), Some(out.message_id.as_str()));
    }

    #[tokio::test]
    async fn starttls_with_ca_file_delivers() {
        let server = TlsSmtp::start(TlsMode::Starttls);
        let c = tls_cfg(server.port, Security::Starttls, Some(server.cert_path()));
        let mailer = Mailer::new(&c, Some("s3cr3t-pass")).unwrap();
        mailer
            .send(&ack_for("anna.liepa@example.lv", "Jautājums"))
            .await
            .unwrap();
        assert_eq!(server.wait_for(1, WAIT).len(), 1);
    }

    #[tokio::test]
    async fn unknown_certificate_is_a_temporary_failure_without_the_password() {
        let server = TlsSmtp::start(TlsMode::Tls);
        let c = tls_cfg(server.port, Security::Tls, None);
        let mailer = Mailer::new(&c, Some("s3cr3t-pass")).unwrap();
        match mailer.send(&ack_for("anna.liepa@example.lv", "x")).await {
            Err(e @ SendError::Temporary(_)) => {
                assert!(!e.to_string().contains("s3cr3t"), "{e}");
                assert!(!format!("{e:?}").contains("s3cr3t"), "{e:?}");
            }
            other => panic!("expected Temporary, got {other:?}"),
        }
        assert!(server.messages().is_empty());
    }

    #[tokio::test]
    async fn starttls_is_required_when_configured() {
        // smtp-sink offers no STARTTLS: nothing may be sent in the clear.
        let sink = SmtpSink::start();
        let c = tls_cfg(sink.port, Security::Starttls, None);
        let mailer = Mailer::new(&c, Some("s3cr3t-pass")).unwrap();
        match mailer.send(&ack_for("anna.liepa@example.lv", "x")).await {
            Err(e @ SendError::Temporary(_)) => {
                assert!(!e.to_string().contains("s3cr3t"))
            }
            other => panic!("expected Temporary, got {other:?}"),
        }
        assert!(sink.messages().is_empty());
    }
}

#[tokio::test]
async fn a_restarted_server_does_not_fail_the_next_send() {
    let mut sink = SmtpSink::start();
    let mailer = Mailer::new(&cfg("127.0.0.1", sink.port), None).unwrap();
    mailer
        .send(&ack_for("anna.liepa@example.lv", "Pirmais"))
        .await
        .unwrap();
    sink.wait_for(1, WAIT);
    sink.restart();
    mailer
        .send(&ack_for("anna.liepa@example.lv", "Otrais"))
        .await
        .unwrap();
    assert_eq!(sink.wait_for(2, WAIT).len(), 2);
}
