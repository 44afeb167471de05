//! Daemon benchmark (run by `scripts/bench-daemon`, not a test): a real
//! Dovecot and smtp-sink, N open cases (default 10 000) made by `run --once`,
//! then the daemon's idle memory and CPU over a minute and the latency from
//! a mail's arrival (APPEND done) to its case in the database.
//!
//! Usage: `bench_daemon PATH/TO/replygate` with optional environment
//! `BENCH_CASES` (10000), `BENCH_MAILS` (200), `BENCH_IDLE_SECS` (60).

#[allow(dead_code)]
#[path = "../tests/support/dovecot.rs"]
mod dovecot;
#[path = "../tests/support/smtp_sink.rs"]
mod smtp_sink;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mail(from: &str, n: u64, date: chrono::DateTime<FixedOffset>) -> Vec<u8> {
    format!(
        "From: Klients {n} <{from}>\r\nTo: pasts@sif.gov.lv\r\nSubject: Jautājums Nr. {n} par atbalsta programmu\r\n\
         Date: {}\r\nMessage-ID: <bench.{n}.{}@example.lv>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Labdien! Lūdzu, pastāstiet, kādi dokumenti jāiesniedz un līdz kuram datumam.\r\nAr cieņu, klients {n}\r\n",
        date.to_rfc2822(),
        Utc::now().timestamp_micros()
    )
    .into_bytes()
}

/// (RSS kB, utime+stime ticks) of a process.
fn sample(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" of the command name; utime and stime are 14 and 15.
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (rss, ticks)
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn wait_log(log: &Path, needle: &str, count: usize, timeout: Duration) {
    let t0 = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches(needle).count() >= count {
            return;
        }
        assert!(t0.elapsed() < timeout, "no {needle:?} in the daemon log:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let bin = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: bench_daemon PATH/TO/replygate"),
    );
    let n_cases = env_num("BENCH_CASES", 10_000);
    let n_mails = env_num("BENCH_MAILS", 200);
    let idle_secs = env_num("BENCH_IDLE_SECS", 60);

    let dovecot = dovecot::Dovecot::start();
    let sink = smtp_sink::SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    dovecot.create_folder("Sent");
    let db = dir.path().join("replygate.db");
    let cfg = dir.path().join("replygate.toml");
    let start = (Utc::now() - chrono::Duration::days(2)).format("%Y-%m-%d");
    std::fs::write(
        &cfg,
        format!(
            r#"[organization]
name = "Sabiedrības integrācijas fonds"
aliases = ["SIF"]
domains = ["sif.gov.lv"]
case_prefix = "SIF"

{imap}
[smtp]
host = "127.0.0.1"
port = {smtp}
security = "plain"
from = "Sabiedrības integrācijas fonds <pasts@sif.gov.lv>"

[reminders]
team = "klienti@sif.gov.lv"
escalate_to = ["vaditajs@sif.gov.lv"]

[storage]
database = "{db}"

[reply]
ack = "immediate"
ack_max_per_hour = 100000
start_from = "{start}"
trusted_authserv_id = "mx.sif.gov.lv"
"#,
            imap = dovecot.config_toml(),
            smtp = sink.port,
            db = db.display(),
        ),
    )
    .unwrap();

    // N client mails from N addresses over the last hours, straight into the Maildir.
    let t0 = Instant::now();
    let tz = FixedOffset::east_opt(2 * 3600).unwrap();
    let base = Utc::now() - chrono::Duration::seconds(n_cases as i64 + 600);
    for i in 0..n_cases {
        let date = (base + chrono::Duration::seconds(i as i64)).with_timezone(&tz);
        dovecot.deliver_file("INBOX", &mail(&format!("klients{i}@example.lv"), i, date), date);
    }
    println!("delivered {n_cases} mails in {:.1} s", t0.elapsed().as_secs_f64());

    let t0 = Instant::now();
    let out = Command::new(&bin)
        .arg("-c")
        .arg(&cfg)
        .args(["run", "--once"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "run --once failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let once = t0.elapsed();
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let open: i64 = conn
        .query_row("SELECT COUNT(*) FROM cases WHERE state = 'open'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let sent: i64 = conn
        .query_row("SELECT COUNT(*) FROM outbox WHERE state = 'sent'", [], |r| {
            r.get(0)
        })
        .unwrap();
    println!(
        "run --once: {open} open cases, {sent} acknowledgements sent, in {:.1} s",
        once.as_secs_f64()
    );

    // The daemon.
    let log = dir.path().join("daemon.log");
    let mut child: Child = Command::new(&bin)
        .arg("-c")
        .arg(&cfg)
        .arg("run")
        .env(
            "RUST_LOG",
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let t0 = Instant::now();
    wait_log(&log, "first sync done", 1, Duration::from_secs(120));
    println!(
        "daemon ready (first sync, full step over {open} cases) in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    wait_log(&log, "watching with IMAP IDLE", 2, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));

    let tck = clk_tck();
    let (rss0, cpu0) = sample(pid);
    let t_idle = Instant::now();
    let mut max_rss = rss0;
    while t_idle.elapsed() < Duration::from_secs(idle_secs) {
        std::thread::sleep(Duration::from_secs(1));
        max_rss = max_rss.max(sample(pid).0);
    }
    let (rss1, cpu1) = sample(pid);
    let idle_cpu_s = (cpu1 - cpu0) as f64 / tck;
    println!(
        "idle {idle_secs} s: RSS {:.1} MB at start, {:.1} MB at end, {:.1} MB max; CPU {:.2} s ({:.3} %)",
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0,
        max_rss as f64 / 1024.0,
        idle_cpu_s,
        100.0 * idle_cpu_s / idle_secs as f64
    );

    // Latency: one mail at a time, APPEND done → case in the database.
    let mut client = dovecot.client();
    let mut lat = Vec::new();
    let (_, cpu_a) = sample(pid);
    let t_all = Instant::now();
    for i in 0..n_mails {
        let n = 1_000_000 + i;
        let from = format!("jauns{i}@example.lv");
        let date = (Utc::now() - chrono::Duration::seconds(1)).with_timezone(&tz);
        client.append("INBOX", Some("()"), Some(date), &mail(&from, n, date));
        let t = Instant::now();
        loop {
            let found: Option<String> = conn
                .query_row("SELECT id FROM cases WHERE client = ?1", [&from], |r| r.get(0))
                .ok();
            if found.is_some() {
                lat.push(t.elapsed());
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "no case for {from} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let busy = t_all.elapsed();
    let (rss2, cpu_b) = sample(pid);
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "latency over {n_mails} mails: median {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms (CPU {:.1} s in {:.1} s; RSS after {:.1} MB)",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.9)),
        ms(percentile(&lat, 0.99)),
        ms(*lat.last().unwrap()),
        (cpu_b - cpu_a) as f64 / tck,
        busy.as_secs_f64(),
        rss2 as f64 / 1024.0
    );
    client.logout();

    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    println!("SIGTERM: exit {status} after {:.2} s", t0.elapsed().as_secs_f64());
    let acks = sink.parsed().len();
    println!("smtp-sink received {acks} messages in all");
    if std::env::var_os("BENCH_KEEP_LOG").is_some() {
        let keep = std::env::temp_dir().join("bench-daemon.log");
        let _ = std::fs::copy(&log, &keep);
        println!("daemon log copied to {}", keep.display());
    }
}
