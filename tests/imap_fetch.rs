//! The IMAP edge against a real Dovecot: connect (plain loopback, TLS,
//! STARTTLS), refusals (plain to a remote host, wrong password), EXAMINE,
//! batched header fetch with attachment names, INTERNALDATE, full fetch,
//! APPEND, folder errors, IDLE, and that the mailbox's flags never change.

mod support;

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use replygate::config::Security;
use replygate::inbound::imap::{self, FetchedHeader, IdleOutcome, ImapError};
use support::dovecot::Dovecot;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Plain,
    Rfc2231,
    Rfc2047,
    Nested,
    Continuation,
}

const KINDS: [Kind; 5] = [
    Kind::Plain,
    Kind::Rfc2231,
    Kind::Rfc2047,
    Kind::Nested,
    Kind::Continuation,
];

fn crlf(s: &str) -> Vec<u8> {
    s.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
}

fn message(i: usize, kind: Kind) -> Vec<u8> {
    let head = format!(
        "From: Klients {i} <klients{i}@example.com>\nTo: pasts@example.lv\n\
         Subject: Jautājums {i}\nMessage-ID: <m{i}@example.com>\n\
         Date: Mon, 02 Nov 2026 10:00:00 +0200\nMIME-Version: 1.0\n"
    );
    let body = match kind {
        Kind::Plain => "Content-Type: text/plain; charset=utf-8\n\nLabdien!\n".to_string(),
        Kind::Rfc2231 => "Content-Type: multipart/mixed; boundary=\"b1\"\n\n\
             --b1\nContent-Type: text/plain; charset=utf-8\n\nIesniegums pielikumā.\n\
             --b1\nContent-Type: application/octet-stream\n\
             Content-Disposition: attachment;\n filename*=utf-8''iesniegums%20%C4%81.edoc\n\
             Content-Transfer-Encoding: base64\n\nAAAA\n--b1--\n"
            .to_string(),
        Kind::Rfc2047 => "Content-Type: multipart/mixed; boundary=\"b2\"\n\n\
             --b2\nContent-Type: text/html; charset=utf-8\n\n<p>Sveiki</p>\n\
             --b2\nContent-Type: application/pdf; name=\"=?utf-8?B?bMSrZ3VtcyDEjS5wZGY=?=\"\n\
             Content-Disposition: attachment; filename=\"=?utf-8?B?bMSrZ3VtcyDEjS5wZGY=?=\"\n\
             Content-Transfer-Encoding: base64\n\nJVBERg==\n--b2--\n"
            .to_string(),
        Kind::Nested => "Content-Type: multipart/mixed; boundary=\"o\"\n\n\
             --o\nContent-Type: multipart/alternative; boundary=\"a\"\n\n\
             --a\nContent-Type: text/plain; charset=utf-8\n\nTeksts\n\
             --a\nContent-Type: multipart/related; boundary=\"r\"\n\n\
             --r\nContent-Type: text/html; charset=utf-8\n\n<p>Teksts</p>\n\
             --r\nContent-Type: image/png; name=\"logo.png\"\nContent-Disposition: inline\n\
             Content-Transfer-Encoding: base64\n\niVBORw==\n--r--\n--a--\n\
             --o\nContent-Type: message/rfc822\n\n\
             From: x@example.com\nSubject: pārsūtīts\nMIME-Version: 1.0\n\
             Content-Type: multipart/mixed; boundary=\"i\"\n\n\
             --i\nContent-Type: text/plain\n\ninner\n\
             --i\nContent-Type: application/vnd.etsi.asic-e+zip; name=\"inner.edoc\"\n\
             Content-Disposition: attachment; filename=\"inner.edoc\"\n\nZZ\n--i--\n\
             --o--\n"
            .to_string(),
        Kind::Continuation => "Content-Type: multipart/mixed; boundary=\"c\"\n\n\
             --c\nContent-Type: text/plain\n\nx\n\
             --c\nContent-Type: application/octet-stream\n\
             Content-Disposition: attachment;\n filename*0*=utf-8''%C4%BBoti%20gar%C5%A1;\n\
             \x20filename*1=\" nosaukums.docx\"\n\nAA==\n--c--\n"
            .to_string(),
    };
    crlf(&format!("{head}{body}"))
}

fn expected(kind: Kind) -> (Vec<&'static str>, bool, &'static str) {
    match kind {
        Kind::Plain => (vec![], true, "text/plain"),
        Kind::Rfc2231 => (vec!["iesniegums ā.edoc"], true, "multipart/mixed"),
        Kind::Rfc2047 => (vec!["līgums č.pdf"], true, "multipart/mixed"),
        Kind::Nested => (vec!["logo.png", "inner.edoc"], true, "multipart/mixed"),
        Kind::Continuation => (vec!["Ļoti garš nosaukums.docx"], true, "multipart/mixed"),
    }
}

/// Receipt instants in the past, with varied offsets and single-digit days.
fn date(i: usize) -> DateTime<FixedOffset> {
    let base = Utc.with_ymd_and_hms(2026, 9, 1, 6, 0, 0).unwrap();
    let t = base + chrono::Duration::minutes(97 * i as i64) + chrono::Duration::seconds(i as i64);
    let offset = FixedOffset::east_opt(if i.is_multiple_of(2) { 3 * 3600 } else { -5 * 3600 }).unwrap();
    t.with_timezone(&offset)
}

fn check_header(h: &FetchedHeader, i: usize, raw: &[u8]) {
    let kind = KINDS[i % KINDS.len()];
    assert_eq!(h.internaldate, date(i).with_timezone(&Utc), "uid {}", h.uid);
    assert_eq!(h.size as usize, raw.len(), "uid {}", h.uid);
    let header = String::from_utf8(h.header.clone()).unwrap();
    assert!(
        header.contains(&format!("Subject: Jautājums {i}\r\n")),
        "{header}"
    );
    assert!(!header.contains("Labdien"), "body leaked into header");
    let (att, text, ct) = expected(kind);
    assert_eq!(h.attachments, att, "uid {} {kind:?}", h.uid);
    assert_eq!(h.has_text_parts, text, "uid {} {kind:?}", h.uid);
    assert_eq!(h.content_type, ct, "uid {} {kind:?}", h.uid);
}

#[tokio::test]
async fn headers_in_batches_over_450_messages_leave_flags_alone() {
    let d = Dovecot::start();
    let msgs: Vec<(Vec<u8>, DateTime<FixedOffset>)> = (0..450)
        .map(|i| (message(i, KINDS[i % KINDS.len()]), date(i)))
        .collect();
    d.append_many("INBOX", &msgs);
    let disk_before = d.flags_snapshot("INBOX");
    let imap_before = d.uid_flags("INBOX");
    assert_eq!(disk_before.len(), 450);
    assert!(imap_before.values().all(|f| f.is_empty()), "{imap_before:?}");

    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    let st = s.examine("INBOX").await.unwrap();
    assert_eq!(st.exists, 450);
    assert_eq!(st.uidnext, 451);
    assert_eq!(st.uidvalidity, d.uidvalidity("INBOX"));

    let mut from = 1;
    let mut sizes = Vec::new();
    let mut seen = 0;
    loop {
        let batch = s.fetch_headers(from, 200).await.unwrap();
        if batch.is_empty() {
            break;
        }
        sizes.push(batch.len());
        for h in &batch {
            let i = (h.uid - 1) as usize;
            assert_eq!(i, seen, "UIDs ascend without gaps");
            check_header(h, i, &msgs[i].0);
            seen += 1;
        }
        from = batch.last().unwrap().uid + 1;
    }
    assert_eq!(sizes, vec![200, 200, 50]);

    // `n:*` beyond the last UID must not return the last message.
    assert!(s.fetch_headers(451, 200).await.unwrap().is_empty());
    assert!(s.uids_from(10_000).await.unwrap().is_empty());
    assert_eq!(s.uids_from(449).await.unwrap(), vec![449, 450]);

    // Sparse, unordered UID lists.
    let some = s.fetch_headers_for(&[300, 2, 77, 2, 9999]).await.unwrap();
    assert_eq!(some.iter().map(|h| h.uid).collect::<Vec<_>>(), vec![2, 77, 300]);

    for uid in [1u32, 2, 4, 450] {
        let full = s.fetch_full(uid).await.unwrap().unwrap();
        assert_eq!(full, msgs[(uid - 1) as usize].0, "uid {uid}");
    }
    assert_eq!(s.fetch_full(9999).await.unwrap(), None);
    s.logout().await;

    assert_eq!(d.flags_snapshot("INBOX"), disk_before, "Maildir flags changed");
    assert_eq!(d.uid_flags("INBOX"), imap_before, "IMAP flags changed");
}

#[tokio::test]
async fn tls_and_starttls_with_the_test_ca() {
    let d = Dovecot::start();
    d.append("INBOX", &message(0, Kind::Plain), date(0));

    let mut s = imap::connect(&d.imap_config_tls(), &d.password).await.unwrap();
    assert_eq!(s.examine("INBOX").await.unwrap().exists, 1);
    s.logout().await;

    // Same by IP address (the certificate names 127.0.0.1 too).
    let mut cfg = d.imap_config_tls();
    cfg.host = "127.0.0.1".into();
    let s = imap::connect(&cfg, &d.password).await.unwrap();
    s.logout().await;

    // STARTTLS on the plain port.
    let mut cfg = d.imap_config_tls();
    cfg.security = Security::Starttls;
    cfg.port = d.port;
    let mut s = imap::connect(&cfg, &d.password).await.unwrap();
    assert_eq!(s.examine("INBOX").await.unwrap().exists, 1);
    s.logout().await;

    // Without the CA the certificate is not trusted.
    let mut cfg = d.imap_config_tls();
    cfg.ca_file = None;
    let err = imap::connect(&cfg, &d.password).await.unwrap_err();
    assert!(matches!(err, ImapError::Tls { .. }), "{err}");
    assert!(err.to_string().contains(&d.tls_port.to_string()), "{err}");
}

#[tokio::test]
async fn plain_to_a_remote_host_is_refused_before_connecting() {
    let d = Dovecot::start();
    for host in ["192.0.2.1", "imap.example.lv", "10.0.0.1"] {
        let mut cfg = d.imap_config();
        cfg.host = host.into();
        let res = tokio::time::timeout(Duration::from_secs(1), imap::connect(&cfg, "x")).await;
        let err = res.expect("refused at once, no connect").unwrap_err();
        match &err {
            ImapError::PlainRefused { host: h } => assert_eq!(h, host),
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains(host));
    }
    // localhost by name is loopback: allowed.
    let mut cfg = d.imap_config();
    cfg.host = "localhost".into();
    imap::connect(&cfg, &d.password).await.unwrap().logout().await;
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_without_the_password() {
    let d = Dovecot::start();
    let wrong = "Wr0ng-Secret-Value";
    let err = imap::connect(&d.imap_config(), wrong).await.unwrap_err();
    assert!(matches!(err, ImapError::Auth { .. }), "{err}");
    let msg = err.to_string();
    let dbg = format!("{err:?}");
    assert!(!msg.contains(wrong) && !dbg.contains(wrong), "{msg}");
    assert!(msg.contains(&d.user), "{msg}");

    // Nothing listening: a connect error naming host:port.
    let mut cfg = d.imap_config();
    cfg.port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = imap::connect(&cfg, &d.password).await.unwrap_err();
    assert!(matches!(err, ImapError::Connect { .. }), "{err}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{}", cfg.port)));
}

#[tokio::test]
async fn append_with_seen_utf7_folders_and_missing_folders() {
    let d = Dovecot::start();
    let nos = "Nosūtītās vēstules";
    let mut c = d.client();
    c.command(&format!(
        "CREATE {}",
        support::dovecot::quote(&imap::utf7::encode(nos))
    ));
    c.logout();

    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    let folders = s.list_folders().await.unwrap();
    for f in ["INBOX", "Sent", nos] {
        assert!(folders.iter().any(|x| x == f), "{f} in {folders:?}");
    }

    let when = Utc.with_ymd_and_hms(2026, 11, 3, 7, 4, 5).unwrap();
    let raw = message(1, Kind::Rfc2231);
    s.append("Sent", &raw, true, Some(when)).await.unwrap();
    s.append(nos, &raw, false, None).await.unwrap();
    assert_eq!(d.uid_flags("Sent").values().collect::<Vec<_>>(), vec!["\\Seen"]);
    assert_eq!(d.uid_flags(&imap::utf7::encode(nos)).len(), 1);

    let st = s.examine("Sent").await.unwrap();
    assert_eq!(st.exists, 1);
    let h = s.fetch_headers(1, 10).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].internaldate, when);
    assert_eq!(h[0].attachments, vec!["iesniegums ā.edoc"]);
    assert_eq!(s.examine(nos).await.unwrap().exists, 1);

    let err = s.append("Izsūtītie", &raw, true, None).await.unwrap_err();
    match &err {
        ImapError::FolderMissing { folder, existing, .. } => {
            assert_eq!(folder, "Izsūtītie");
            assert!(existing.iter().any(|f| f == "Sent"), "{existing:?}");
        }
        other => panic!("{other}"),
    }
    let err = s.examine("Arhīvs").await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, ImapError::FolderMissing { .. }) && msg.contains("\"Arhīvs\"") && msg.contains("INBOX"),
        "{msg}"
    );
    // The session stays usable after a missing folder.
    assert_eq!(s.examine("INBOX").await.unwrap().exists, 0);
    s.logout().await;
}

#[tokio::test]
async fn large_message_is_cut_at_the_limit() {
    let d = Dovecot::start();
    let mut raw = message(0, Kind::Plain);
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu\r\n";
    while raw.len() < (imap::FULL_FETCH_LIMIT as usize) + 300_000 {
        raw.extend_from_slice(line);
    }
    d.append("INBOX", &raw, date(3));
    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    s.examine("INBOX").await.unwrap();
    let h = s.fetch_headers(1, 5).await.unwrap();
    assert_eq!(h[0].size as usize, raw.len());
    let got = s.fetch_full(1).await.unwrap().unwrap();
    assert_eq!(got.len(), imap::FULL_FETCH_LIMIT as usize);
    assert_eq!(&got[..], &raw[..got.len()]);
    s.logout().await;
    assert_eq!(d.uid_flags("INBOX").values().collect::<Vec<_>>(), vec![""]);
}

#[tokio::test]
async fn large_multipart_gives_its_text_parts_even_after_the_attachment() {
    let d = Dovecot::start();
    let mut b64 = String::new();
    while b64.len() < (imap::FULL_FETCH_LIMIT as usize) + 500_000 {
        b64.push_str("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA\n");
    }
    let raw = crlf(&format!(
        "From: Jānis <janis@example.lv>\nTo: klients@example.com\nSubject: Re: Jautājums\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"m\"\n\n\
         --m\nContent-Type: text/plain; charset=utf-8\n\nSveiki, skat. pielikumu.\n\
         --m\nContent-Type: image/png; name=\"scan.png\"\nContent-Disposition: attachment; filename=\"scan.png\"\n\
         Content-Transfer-Encoding: base64\n\n{b64}\
         --m\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
         Ar cie=C5=86u,\nJ=C4=81nis B=C4=93rzi=C5=86=C5=A1\nTel. 67000000\n--m--\n"
    ));
    d.append("Sent", &raw, date(8));
    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    s.examine("Sent").await.unwrap();
    let got = s.fetch_full(1).await.unwrap().unwrap();
    assert!(got.len() < 10_000, "only text parts: {} bytes", got.len());
    let m = mail_parser::MessageParser::default().parse(&got).unwrap();
    assert_eq!(m.subject(), Some("Re: Jautājums"));
    let texts: Vec<String> = (0..4)
        .filter_map(|i| m.body_text(i))
        .map(|t| t.into_owned())
        .collect();
    assert!(texts.iter().any(|t| t.contains("Sveiki")), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("Ar cieņu,\r\nJānis Bērziņš")),
        "{texts:?}"
    );
    s.logout().await;
    assert_eq!(d.uid_flags("Sent").values().collect::<Vec<_>>(), vec![""]);
}

#[tokio::test]
async fn idle_reports_new_mail_and_times_out_quietly() {
    let d = Dovecot::start();
    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    s.examine("INBOX").await.unwrap();
    assert_eq!(
        s.idle_wait(Duration::from_millis(300)).await.unwrap(),
        IdleOutcome::Timeout
    );
    let raw = message(2, Kind::Plain);
    let when = date(2);
    let port = d.port;
    let (user, pass) = (d.user.clone(), d.password.clone());
    let appender = std::thread::spawn(move || {
        let mut c = support::dovecot::Client::connect(port);
        c.command(&format!("LOGIN \"{user}\" \"{pass}\""));
        c.append("INBOX", None, Some(when), &raw);
        c.logout();
    });
    let out = s.idle_wait(Duration::from_secs(10)).await.unwrap();
    appender.join().unwrap();
    assert_eq!(out, IdleOutcome::Changed);
    // The session is usable after IDLE.
    assert_eq!(s.uids_from(1).await.unwrap(), vec![1]);
    s.logout().await;
}

#[tokio::test]
async fn support_future_dates_restart_and_uidvalidity_reset() {
    let mut d = Dovecot::start();
    let future =
        (Utc::now() + chrono::Duration::days(3)).with_timezone(&FixedOffset::east_opt(2 * 3600).unwrap());
    let future = future - chrono::Duration::nanoseconds(future.timestamp_subsec_nanos() as i64);
    d.append("Archive", &message(5, Kind::Plain), future);
    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    s.examine("Archive").await.unwrap();
    let h = s.fetch_headers(1, 10).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].internaldate, future.with_timezone(&Utc));
    s.logout().await;

    let v1 = d.uidvalidity("Archive");
    let (port, tls_port) = (d.port, d.tls_port);
    d.restart();
    assert_eq!((d.port, d.tls_port), (port, tls_port));
    assert_eq!(d.uidvalidity("Archive"), v1);
    d.delete_folder("Archive");
    d.create_folder("Archive");
    assert_ne!(d.uidvalidity("Archive"), v1);

    // A snapshot does notice a flag change (so the equality checks above can fail).
    d.append("INBOX", &message(6, Kind::Plain), date(6));
    let before = d.flags_snapshot("INBOX");
    let mut c = d.client();
    c.command("SELECT INBOX");
    c.command("STORE 1 +FLAGS (\\Seen)");
    c.logout();
    assert_ne!(d.flags_snapshot("INBOX"), before);
}

#[tokio::test]
async fn non_ascii_password_logs_in_with_authenticate_plain() {
    let d = Dovecot::start_with_password("Pārbaude-ūdens \"7\"");
    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    assert_eq!(s.examine("INBOX").await.unwrap().exists, 0);
    s.logout().await;
    let err = imap::connect(&d.imap_config(), "Pārbaude-ūdens")
        .await
        .unwrap_err();
    assert!(matches!(err, ImapError::Auth { .. }), "{err}");
    assert!(!err.to_string().contains("Pārbaude"), "{err}");
}

#[tokio::test]
async fn idle_on_a_dropped_connection_is_an_error_not_a_wake_up() {
    let d = Dovecot::start();
    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    s.examine("INBOX").await.unwrap();
    let stopper = tokio::task::spawn_blocking(move || {
        let mut d = d;
        d.stop();
        d
    });
    let res = s.idle_wait(Duration::from_secs(10)).await;
    let mut d = stopper.await.unwrap();
    assert!(res.is_err(), "{res:?}");
    // After a restart on the same port a new session works.
    d.restart();
    let mut s = imap::connect(&d.imap_config(), &d.password).await.unwrap();
    assert_eq!(s.examine("INBOX").await.unwrap().exists, 0);
    s.logout().await;
}
