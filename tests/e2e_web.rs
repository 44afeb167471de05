//! The daemon's web side (SPEC §11.4, §12) against a running `replygate
//! run`: the token, `/report.json` equal to the CLI's JSON, the pages
//! rendered by a real headless Chromium with their charts and the JSON's
//! numbers, and `/healthz` under 100 idle connections and bad requests.
//! Chromium is required (scripts/test installs it): a missing browser
//! fails the test rather than skipping it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::mail::{mail, Mail};
use support::world::{t, World};

const TOKEN: &str = "s3cret-Token_for-tests";
const POST: &str = "pasts@sif.gov.lv";
const JANIS: &str = "Jānis Bērziņš <janis.berzins@sif.gov.lv>";
const LIGA: &str = "Līga Ozoliņa <liga.ozolina@sif.gov.lv>";
const SIGNED: &str =
    "Labdien!\n\nAtbilde.\n\nAr cieņu,\nJānis Bērziņš\nSabiedrības integrācijas fonds\nTālr. +371 67078190\n";
const UNSIGNED: &str = "Labdien!\n\nAtbilde.\n\nLīga Ozoliņa\n";

struct Daemon(Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn put(w: &World, folder: &str, m: Mail, at: &str) {
    let d = t(at);
    w.dovecot.append(folder, &m.raw(d), d);
}

/// One raw HTTP exchange: (status, body).
fn raw(port: u16, req: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A safety net so a broken server fails the test instead of hanging it.
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

fn get(port: u16, path: &str, token: bool) -> (u16, String) {
    let auth = if token {
        format!("Authorization: Bearer {TOKEN}\r\n")
    } else {
        String::new()
    };
    raw(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}\r\n").as_bytes(),
    )
}

/// The DOM after Chromium rendered `path`.
fn chromium_dom(port: u16, path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = format!("http://127.0.0.1:{port}{path}{sep}token={TOKEN}");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--dump-dom",
            &url,
        ])
        .stderr(Stdio::null())
        .output()
        .expect("chromium is required for this test (scripts/test installs it: apt-get install chromium)");
    assert!(out.status.success(), "chromium failed on {url}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the element carrying `data-field="name"` after `from`.
fn field<'a>(dom: &'a str, from: &str, name: &str) -> &'a str {
    let start = dom.find(from).unwrap_or_else(|| panic!("{from} not in the page"));
    let needle = format!("data-field=\"{name}\">");
    let i = dom[start..]
        .find(&needle)
        .unwrap_or_else(|| panic!("{name} not in the page after {from}"))
        + start
        + needle.len();
    let j = dom[i..].find('<').unwrap() + i;
    dom[i..j].trim()
}

fn same_number(page: &str, json: &Value, what: &str) {
    match json {
        Value::Null => assert_eq!(page, "–", "{what}"),
        v => assert_eq!(
            page.parse::<f64>().ok(),
            v.as_f64(),
            "{what}: page {page}, JSON {v}"
        ),
    }
}

/// The dashboard's instant (`?now=`): the data below is November 2026's.
const NOW: &str = "2026-11-30T10:00:00Z";

/// A mailbox with two answered cases (one signed, one not), one open, and
/// a client's complaint (SPEC §14), synced as of 10 November; and a daemon
/// serving it on `port`.
fn served_world() -> (World, Daemon, u16) {
    let http = |port: u16| format!("[http]\nlisten = \"127.0.0.1:{port}\"\ntoken_file = \"http-token\"\n");
    let mut port = free_port();
    let w = World::new(&http(port));
    std::fs::write(w.dir.path().join("http-token"), format!("{TOKEN}\n")).unwrap();
    w.dovecot.create_folder("Sent");
    // Two answered cases (one signed, one not), one open.
    put(
        &w,
        "INBOX",
        mail("a@example.lv", POST, "Jautājums", Some("a@example.lv")),
        "2026-11-02T10:00:00+02:00",
    );
    put(
        &w,
        "Sent",
        mail(JANIS, "a@example.lv", "Re: Jautājums", Some("ra@sif.gov.lv"))
            .reply_to("a@example.lv")
            .body(SIGNED),
        "2026-11-02T12:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail("b@example.lv", POST, "Vēl", Some("b@example.lv")),
        "2026-11-03T10:00:00+02:00",
    );
    put(
        &w,
        "Sent",
        mail(LIGA, "b@example.lv", "Re: Vēl", Some("rb@sif.gov.lv"))
            .reply_to("b@example.lv")
            .body(UNSIGNED),
        "2026-11-06T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail("c@example.lv", POST, "Trešais <b>", Some("c@example.lv")),
        "2026-11-04T10:00:00+02:00",
    );
    put(
        &w,
        "INBOX",
        mail(
            "d@example.lv",
            POST,
            "Sūdzība par apkalpošanu",
            Some("d@example.lv"),
        )
        .body("Labdien!\nEsmu ļoti neapmierināta ar to, kā mani apkalpoja jūsu birojā.\nDace\n"),
        "2026-11-05T10:00:00+02:00",
    );
    w.run("2026-11-04T18:00:00+02:00");
    w.run("2026-11-10T12:00:00+02:00");

    // The port was free when picked, but another test's server (Dovecot,
    // the SMTP sink) may have taken it since: ready means our daemon answers
    // `/healthz` over HTTP; a daemon that cannot listen is tried again on
    // another port.
    for _ in 0..5 {
        let mut d = Daemon(
            Command::new(env!("CARGO_BIN_EXE_replygate"))
                .args(["-c", w.config.to_str().unwrap(), "run"])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/healthz", true).0 == 200 {
                return (w, d, port);
            }
            if d.0.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(d);
        port = free_port();
        w.write_config(&http(port));
    }
    panic!("the daemon does not serve HTTP on any of five ports");
}

#[test]
fn dashboard_report_and_health_over_http() {
    let (w, _d, port) = served_world();

    // The token.
    let q = "/report.json?from=2026-11-01&to=2026-11-30";
    assert_eq!(get(port, q, false).0, 401);
    assert_eq!(get(port, &format!("{q}&token=wrong"), false).0, 401);
    let (code, body) = get(port, q, true);
    assert_eq!(code, 200, "{body}");
    let js: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(js["cases"]["total"], 4);
    assert_eq!(js["feedback"]["cases"], 1, "{js:#}");
    // Exactly the CLI's JSON for the same instant.
    let as_of = js["as_of"].as_str().unwrap().to_string();
    let cli = w.report(["2026-11-01", "2026-11-30", &as_of], &["--json"]);
    assert_eq!(cli.trim(), body.trim());
    assert_eq!(get(port, "/report.json?from=2026-11-30", true).0, 400);

    // The report page in Chromium shows the JSON's numbers.
    let dom = chromium_dom(port, "/report?from=2026-11-01&to=2026-11-30");
    assert!(
        dom.contains("<html lang=\"lv\">") && dom.contains("<title>"),
        "{dom}"
    );
    for f in [
        "cases.total",
        "cases.email",
        "cases.submission",
        "cases.closed_by_hand",
        "ack.due",
        "ack.sent",
        "ack.on_time",
        "ack.suppressed",
        "reply.answered",
        "reply.on_time",
        "reply.late",
        "reply.open_in_time",
        "reply.open_overdue",
        "reply.interim",
        "reply.on_time_rate",
        "reply.median_working_hours",
        "reply.p90_working_hours",
        "signature.checked",
        "signature.compliant",
        "signature.rate",
        "feedback.cases",
        "feedback.answered",
        "feedback.on_time",
    ] {
        let (a, b) = f.split_once('.').unwrap();
        same_number(field(&dom, "id=\"summary\"", f), &js[a][b], f);
    }
    for s in js["by_staff"].as_array().unwrap() {
        let row = format!("data-staff=\"{}\"", s["email"].as_str().unwrap());
        for f in ["replies", "on_time", "signature_checked", "signature_compliant"] {
            same_number(field(&dom, &row, f), &s[f], f);
        }
    }
    assert!(dom.contains("Trešais") || dom.contains("SIF-2026-00003"));
    assert!(!dom.contains("<b>"), "subjects are escaped");

    // The dashboard: three charts that read without JavaScript, each with
    // its numbers in a table; the twelve weeks agree with /report.json.
    let dom = chromium_dom(port, &format!("/?now={NOW}"));
    for id in ["chart-ontime", "chart-backlog", "chart-staff", "chart-feedback"] {
        assert!(
            dom.contains(&format!(
                "id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\""
            )),
            "{id}"
        );
        assert!(dom.contains(&format!("<title id=\"{id}-title\">")), "{id}");
    }
    let week = "data-week=\"2026-W45\"";
    let (_, wk) = get(
        port,
        &format!("/report.json?from=2026-11-02&to=2026-11-08&now={NOW}"),
        true,
    );
    let wk: Value = serde_json::from_str(&wk).unwrap();
    same_number(
        field(&dom, week, "received"),
        &wk["cases"]["total"],
        "week received",
    );
    same_number(
        field(&dom, week, "answered"),
        &wk["reply"]["answered"],
        "week answered",
    );
    same_number(
        field(&dom, week, "open_overdue"),
        &wk["reply"]["open_overdue"],
        "week overdue",
    );
    let weeks_from = dom
        .split("data-from=\"")
        .nth(2)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let today = dom
        .split("data-to=\"")
        .nth(2)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let (_, twelve) = get(
        port,
        &format!("/report.json?from={weeks_from}&to={today}&now={NOW}"),
        true,
    );
    let twelve: Value = serde_json::from_str(&twelve).unwrap();
    for s in twelve["by_staff"].as_array().unwrap() {
        let row = format!("data-staff=\"{}\"", s["email"].as_str().unwrap());
        same_number(
            field(&dom, &row, "signature_compliant"),
            &s["signature_compliant"],
            "staff compliant",
        );
        same_number(
            field(&dom, &row, "signature_checked"),
            &s["signature_checked"],
            "staff checked",
        );
    }
    // The feedback series (SPEC §14): November's row agrees with the JSON.
    let (_, nov) = get(
        port,
        &format!("/report.json?from=2026-11-01&to=2026-11-30&now={NOW}"),
        true,
    );
    let nov: Value = serde_json::from_str(&nov).unwrap();
    for f in ["cases", "answered", "on_time"] {
        same_number(field(&dom, "data-month=\"2026-11\"", f), &nov["feedback"][f], f);
    }
    assert_eq!(get(port, "/?now=yesterday", true).0, 400);
    if let Ok(path) = std::env::var("REPLYGATE_SCREENSHOT") {
        let url = format!("http://127.0.0.1:{port}/?token={TOKEN}&now={NOW}");
        let _ = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1100,2200",
                &format!("--screenshot={path}"),
                &url,
            ])
            .stderr(Stdio::null())
            .status();
    }

    // A case's timeline.
    let (code, page) = get(port, "/cases/SIF-2026-00001", true);
    assert_eq!(code, 200);
    assert!(page.contains("opened") && page.contains("answered"), "{page}");
    assert_eq!(get(port, "/cases/SIF-2026-99999", true).0, 404);

    // /healthz under 100 idle connections, and bad requests.
    let idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let (code, body) = get(port, "/healthz", true);
    assert!(code == 200 || code == 503, "{code} {body}");
    assert!(
        body.lines().all(|l| [
            "ok",
            "imap_down",
            "imap_connecting",
            "worker_error",
            "no_sync_yet",
            "sync_stale"
        ]
        .contains(&l)),
        "reason words only: {body:?}"
    );
    drop(idle);
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    assert_eq!(
        raw(
            port,
            format!("POST /healthz HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n\r\n").as_bytes()
        )
        .0,
        405
    );
    let mut big = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{auth}X-Big: ").into_bytes();
    big.extend(std::iter::repeat_n(b'a', 64 * 1024));
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(raw(port, &big).0, 431);
    assert_eq!(raw(port, b"\x16\x03\x01garbage\r\n\r\n").0, 400);
    let (code, metrics) = get(port, "/metrics", true);
    assert_eq!(code, 200);
    assert!(
        metrics.contains("replygate_cases{state=\"open\"}") && metrics.contains("# EOF"),
        "{metrics}"
    );
}

/// SPEC §14: every dashboard page passes axe-core's WCAG 2.0/2.1 A and AA
/// rules in the headless Chromium, every link and control is reached by
/// Tab, and nothing scrolls sideways at 200 % zoom (tests/a11y/axe.mjs).
/// Node and the audit's npm packages are required (scripts/test installs
/// them): a missing tool fails the test rather than skipping it.
#[test]
fn every_dashboard_page_passes_axe_core() {
    let a11y = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/a11y");
    assert!(
        a11y.join("node_modules/axe-core").is_dir(),
        "the audit's packages are missing: run `npm ci --prefix tests/a11y` (scripts/test does)"
    );
    let (_w, _d, port) = served_world();
    let page = |p: &str| {
        let sep = if p.contains('?') { '&' } else { '?' };
        format!("http://127.0.0.1:{port}{p}{sep}token={TOKEN}&now={NOW}")
    };
    let urls = [
        page("/"),
        page("/report"),
        page("/report?from=2026-11-01&to=2026-11-30"),
        page("/report?from=2026-10-01&to=2026-10-31"),
        page("/cases/SIF-2026-00001"),
        page("/cases/SIF-2026-00003"),
    ];
    let out = Command::new("node")
        .arg(a11y.join("axe.mjs"))
        .args(&urls)
        .output()
        .expect("node is required for this test (scripts/test installs it: apt-get install nodejs npm)");
    let report = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "axe-core found problems:\n{report}\n{errors}"
    );
    let audited: Vec<Value> = report
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(audited.len(), urls.len(), "one verdict per page:\n{report}");
    for v in &audited {
        assert_eq!(v["violations"], serde_json::json!([]), "{v}");
        assert_eq!(v["zoom_overflow"], false, "{v}");
        assert!(v["tab_stops"].as_u64() >= v["focusable"].as_u64(), "{v}");
        assert!(v["focusable"].as_u64() > Some(2), "the page has its links: {v}");
    }
}
