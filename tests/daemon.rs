//! The daemon (`replygate run`) as systemd would run it: the real binary
//! against a real Dovecot and smtp-sink, on the wall clock. Outcomes are
//! awaited by polling with a timeout, never by fixed sleeps.

mod support;

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};

use support::smtp_sink::free_port;
use support::world::World;

/// A running `replygate run` with its log file and notify socket.
struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    notes: Arc<Mutex<Vec<String>>>,
    _sock_dir: tempfile::TempDir,
}

impl Daemon {
    fn start(w: &World) -> Daemon {
        let sock_dir = tempfile::tempdir().unwrap();
        let sock_path = sock_dir.path().join("notify.sock");
        let sock = UnixDatagram::bind(&sock_path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let notes = Arc::new(Mutex::new(Vec::new()));
        let n2 = notes.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match sock.recv(&mut buf) {
                    Ok(n) => {
                        let text = String::from_utf8_lossy(&buf[..n]).to_string();
                        let mut v = n2.lock().unwrap();
                        v.extend(text.lines().map(str::to_string));
                    }
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut =>
                    {
                        // Stop once the test is gone (the Arc is ours alone).
                        if Arc::strong_count(&n2) == 1 {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        let log = w.dir.path().join("daemon.log");
        let child = Command::new(env!("CARGO_BIN_EXE_replygate"))
            .arg("-c")
            .arg(&w.config)
            .arg("run")
            .env("RUST_LOG", "info")
            .env("NOTIFY_SOCKET", &sock_path)
            .env("WATCHDOG_USEC", "2000000")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon {
            child: Some(child),
            log,
            notes,
            _sock_dir: sock_dir,
        }
    }

    fn pid(&self) -> String {
        self.child.as_ref().unwrap().id().to_string()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.pid()]).status().unwrap();
        assert!(ok.success(), "kill {sig} failed");
    }

    /// Wait until the log contains `needle` (after `from` bytes).
    fn wait_log(&self, needle: &str, from: usize, timeout: Duration) -> usize {
        let end = Instant::now() + timeout;
        loop {
            let text = self.log_text();
            if let Some(i) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + i + needle.len();
            }
            assert!(
                Instant::now() < end,
                "no {needle:?} in the daemon log within {timeout:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_note(&self, pred: impl Fn(&str) -> bool, what: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            if self.notes.lock().unwrap().iter().any(|n| pred(n)) {
                return;
            }
            assert!(
                Instant::now() < end,
                "no {what} from sd_notify within {timeout:?}; got {:?}; log:\n{}",
                self.notes.lock().unwrap(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn count_notes(&self, n: &str) -> usize {
        self.notes.lock().unwrap().iter().filter(|x| *x == n).count()
    }

    /// SIGTERM and wait (at most 10 s) for the exit.
    fn stop(&mut self) -> (ExitStatus, Duration) {
        self.signal("-TERM");
        let t0 = Instant::now();
        let mut child = self.child.take().unwrap();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return (st, t0.elapsed());
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the daemon did not exit within 10 s of SIGTERM; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn config(w: &World, extra: &str) {
    // Mail from two days ago on counts; older is history.
    let start = (Utc::now() - chrono::Duration::days(2)).format("%Y-%m-%d");
    w.write_config(&format!(
        "[reply]\nack = \"immediate\"\nstart_from = \"{start}\"\ntrusted_authserv_id = \"mx.sif.gov.lv\"\n{extra}"
    ));
}

/// A client question dated a moment ago.
fn client_mail(from: &str, subject: &str) -> (Vec<u8>, chrono::DateTime<FixedOffset>) {
    let date =
        (Utc::now() - chrono::Duration::seconds(30)).with_timezone(&FixedOffset::east_opt(2 * 3600).unwrap());
    let raw = format!(
        "From: Klients <{from}>\r\nTo: pasts@sif.gov.lv\r\nSubject: {subject}\r\nDate: {}\r\n\
         Message-ID: <{}.{}@example.lv>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Labdien! Lūdzu, pastāstiet, kad varēšu iesniegt dokumentus?\r\nAr cieņu, klients\r\n",
        date.to_rfc2822(),
        from.replace('@', "."),
        Utc::now().timestamp_micros()
    );
    (raw.into_bytes(), date)
}

fn now_arg() -> String {
    Utc::now().to_rfc3339()
}

/// Poll `status --json` every 100 ms until a case for `client` shows;
/// returns the case and how long it took.
fn wait_case(w: &World, client: &str, timeout: Duration) -> (serde_json::Value, Duration) {
    wait_case_with(&w.config, client, timeout)
}

/// [`wait_case`] reading the store through the configuration `cfg`.
fn wait_case_with(cfg: &Path, client: &str, timeout: Duration) -> (serde_json::Value, Duration) {
    let t0 = Instant::now();
    loop {
        let out = Command::new(env!("CARGO_BIN_EXE_replygate"))
            .arg("-c")
            .arg(cfg)
            .args(["status", "--all", "--json", "--now", &now_arg()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(c) = World::case_of(&st, client).first() {
            return ((*c).clone(), t0.elapsed());
        }
        assert!(t0.elapsed() < timeout, "no case for {client} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn acks_to(w: &World, client: &str) -> usize {
    w.sent()
        .iter()
        .filter(|m| {
            m.rcpt_to.iter().any(|r| r == client) && m.header("Auto-Submitted") == Some("auto-replied")
        })
        .count()
}

fn wait_ack(w: &World, client: &str, timeout: Duration) {
    let t0 = Instant::now();
    while acks_to(w, client) == 0 {
        assert!(
            t0.elapsed() < timeout,
            "no acknowledgement to {client} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

fn wait_http(port: u16, path: &str, want: u16, timeout: Duration) -> String {
    let t0 = Instant::now();
    loop {
        let got = std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| http_get(port, path));
        if let Some((code, body)) = &got {
            if *code == want {
                return body.clone();
            }
        }
        assert!(
            t0.elapsed() < timeout,
            "GET {path}: wanted {want} within {timeout:?}, got {got:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// New mail is noticed through IDLE (the poll interval is a minute) and
/// acknowledged; systemd hears READY, STATUS and watchdog pings; /healthz
/// and /metrics answer; SIGTERM ends it with 0 and STOPPING=1.
#[test]
fn idle_notify_http_and_clean_stop() {
    let port = free_port();
    let w = World::new("");
    w.dovecot.create_folder("Sent");
    config(&w, &format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    let mut d = Daemon::start(&w);

    d.wait_note(|n| n == "READY=1", "READY=1", Duration::from_secs(10));
    d.wait_note(
        |n| n.starts_with("STATUS=watching INBOX, Sent;"),
        "STATUS=",
        Duration::from_secs(2),
    );
    // Watchers are idling once /healthz says ok.
    wait_http(port, "/healthz", 200, Duration::from_secs(5));

    let (raw, date) = client_mail("anna.idle@example.lv", "Jautājums par projektu");
    w.dovecot.append("INBOX", &raw, date);
    // IDLE, not the 60 s poll, brings it in: a bound far below the poll
    // interval, so a loaded machine cannot fail it (no timing claims here;
    // scripts/bench-daemon measures the latency).
    let (case, took) = wait_case(&w, "anna.idle@example.lv", Duration::from_secs(25));
    assert!(
        took < Duration::from_secs(30),
        "case took {took:?}: IDLE did not wake the daemon (the poll interval is 60 s)"
    );
    assert_eq!(case["state"], "open");
    wait_ack(&w, "anna.idle@example.lv", Duration::from_secs(5));
    assert_eq!(acks_to(&w, "anna.idle@example.lv"), 1);

    // Watchdog: WATCHDOG_USEC = 2 s, pings every second.
    let t0 = Instant::now();
    let before = d.count_notes("WATCHDOG=1");
    while d.count_notes("WATCHDOG=1") < before + 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "fewer than 2 WATCHDOG=1 in 3 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let metrics = wait_http(port, "/metrics", 200, Duration::from_secs(2));
    for name in [
        "replygate_messages_total{class=",
        "replygate_cases{state=\"open\"} 1",
        "replygate_cases{state=\"overdue\"} 0",
        "replygate_sent_total{kind=\"ack\"} 1",
        "replygate_outbox{state=\"pending\"} 0",
        "replygate_signature_warnings_total 0",
        "replygate_last_sync_timestamp_seconds ",
        "replygate_imap_reconnects_total 0",
    ] {
        assert!(metrics.contains(name), "no {name:?} in /metrics:\n{metrics}");
    }
    assert_eq!(http_get(port, "/nope").0, 404);

    let (status, took) = d.stop();
    assert!(status.success(), "exit {status:?}; log:\n{}", d.log_text());
    assert!(took < Duration::from_secs(10));
    d.wait_note(|n| n == "STOPPING=1", "STOPPING=1", Duration::from_secs(1));
    assert!(!d.log_text().contains("ERROR"), "{}", d.log_text());
}

/// Dovecot restarted under the daemon: it reconnects and catches up on
/// mail delivered while the server was down. SIGHUP with a broken config
/// is refused (the old one stays); with a good one it applies.
#[test]
fn reconnect_catch_up_and_reload() {
    let mut w = World::new("");
    w.dovecot.create_folder("Sent");
    let port = free_port();
    config(&w, &format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    let mut d = Daemon::start(&w);
    d.wait_note(|n| n == "READY=1", "READY=1", Duration::from_secs(10));
    let m = d.wait_log("watching with IMAP IDLE", 0, Duration::from_secs(5));
    d.wait_log("watching with IMAP IDLE", m, Duration::from_secs(5));

    // The server goes away; the daemon notices (the IDLE sessions drop).
    let mark = d.log_text().len();
    w.dovecot.stop();
    let mark = d.wait_log("reconnecting", mark, Duration::from_secs(5));
    let why = wait_http(port, "/healthz", 503, Duration::from_secs(5));
    assert!(why.contains("imap_down") && !why.contains("refused"), "{why}");
    // Mail delivered while it is down (straight into the Maildir).
    let (raw, date) = client_mail("bruno.down@example.lv", "Jautājums, kamēr serveris nestrādā");
    w.dovecot.deliver_file("INBOX", &raw, date);
    w.dovecot.restart();
    d.wait_log("reconnected", mark, Duration::from_secs(15));
    let (case, _) = wait_case(&w, "bruno.down@example.lv", Duration::from_secs(15));
    assert_eq!(case["state"], "open");
    wait_ack(&w, "bruno.down@example.lv", Duration::from_secs(5));
    wait_http(port, "/healthz", 200, Duration::from_secs(5));
    let metrics = wait_http(port, "/metrics", 200, Duration::from_secs(1));
    assert!(
        !metrics.contains("replygate_imap_reconnects_total 0"),
        "reconnects not counted:\n{metrics}"
    );

    // A broken configuration is refused; the daemon keeps working.
    let good = std::fs::read_to_string(&w.config).unwrap();
    let good_copy = w.dir.path().join("good.toml");
    std::fs::write(&good_copy, &good).unwrap();
    std::fs::write(&w.config, "this is [not a configuration\n").unwrap();
    let mark = d.log_text().len();
    d.signal("-HUP");
    let mark = d.wait_log("configuration reload refused", mark, Duration::from_secs(5));
    let (raw, date) = client_mail("cilda.after@example.lv", "Vēl viens jautājums");
    w.dovecot.append("INBOX", &raw, date);
    let (case, _) = wait_case_with(&good_copy, "cilda.after@example.lv", Duration::from_secs(5));
    assert!(case["id"].as_str().unwrap().starts_with("SIF-"), "{case}");

    // A good, changed one applies: new cases get the new prefix.
    std::fs::write(
        &w.config,
        good.replace("case_prefix = \"SIF\"", "case_prefix = \"TST\""),
    )
    .unwrap();
    d.signal("-HUP");
    d.wait_log("configuration reloaded", mark, Duration::from_secs(5));
    let (raw, date) = client_mail("dainis.new@example.lv", "Jautājums pēc pārlādes");
    w.dovecot.append("INBOX", &raw, date);
    let (case, _) = wait_case(&w, "dainis.new@example.lv", Duration::from_secs(5));
    assert!(case["id"].as_str().unwrap().starts_with("TST-"), "{case}");
    d.wait_note(|n| n == "RELOADING=1", "RELOADING=1", Duration::from_secs(1));

    wait_ack(&w, "cilda.after@example.lv", Duration::from_secs(5));
    wait_ack(&w, "dainis.new@example.lv", Duration::from_secs(5));
    let (status, _) = d.stop();
    assert!(status.success(), "exit {status:?}; log:\n{}", d.log_text());
    // Nothing lost, nothing twice: one acknowledgement per client.
    for c in [
        "bruno.down@example.lv",
        "cilda.after@example.lv",
        "dainis.new@example.lv",
    ] {
        assert_eq!(acks_to(&w, c), 1, "{c}");
    }
}
