//! The `calendar` and `deadline` commands run as a user would run them.

use std::io::Write;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replygate"))
        .args(args)
        .output()
        .expect("run replygate")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

const MINIMAL: &str = r#"
[organization]
name = "Sabiedrības integrācijas fonds"
domains = ["sif.gov.lv"]

[imap]
host = "127.0.0.1"
username = "pasts@sif.gov.lv"
password_env = "REPLYGATE_TEST_UNUSED"

[smtp]
host = "127.0.0.1"
from = "pasts@sif.gov.lv"

[reminders]
team = "team@sif.gov.lv"
"#;

fn config_file(extra: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    write!(f, "{MINIMAL}\n{extra}").unwrap();
    f
}

#[test]
fn deadline_json_spec_example() {
    let out = run(&[
        "-c",
        "/nonexistent",
        "deadline",
        "--received",
        "2026-11-17T10:00:00+02:00",
        "--json",
    ]);
    assert_eq!(
        json(&out),
        serde_json::json!({"received": "2026-11-17T10:00:00+02:00", "kind": "email",
            "ack_at": "2026-11-17T16:00:00+02:00", "deadline": "2026-11-20T16:00:00+02:00"})
    );
}

#[test]
fn deadline_json_table() {
    // (received, submission, ack_at, deadline); times shown in Riga local.
    let cases: &[(&str, bool, &str, &str)] = &[
        // UTC input is rendered in local time.
        (
            "2026-11-17T08:00:00Z",
            false,
            "2026-11-17T16:00:00+02:00",
            "2026-11-20T16:00:00+02:00",
        ),
        // Friday evening: ack at once, deadline Tuesday closing.
        (
            "2026-11-27T20:00:00+02:00",
            false,
            "2026-11-27T20:00:00+02:00",
            "2026-12-01T17:00:00+02:00",
        ),
        // Submission, SPEC §4.2 examples.
        (
            "2025-01-31T10:00:00+02:00",
            true,
            "2025-01-31T16:00:00+02:00",
            "2025-02-28T16:00:00+02:00",
        ),
        (
            "2025-10-23T10:00:00+03:00",
            true,
            "2025-10-23T17:00:00+03:00",
            "2025-11-24T18:00:00+02:00",
        ),
        (
            "2025-04-04T10:00:00+03:00",
            true,
            "2025-04-04T16:00:00+03:00",
            "2025-05-06T17:00:00+03:00",
        ),
    ];
    for (received, submission, ack, due) in cases {
        let mut args = vec!["-c", "/nonexistent", "deadline", "--received", received, "--json"];
        if *submission {
            args.push("--submission");
        }
        let v = json(&run(&args));
        assert_eq!(
            v["kind"],
            if *submission { "submission" } else { "email" },
            "{received}"
        );
        assert_eq!(v["ack_at"], *ack, "{received}");
        assert_eq!(v["deadline"], *due, "{received}");
    }
}

#[test]
fn deadline_human_output() {
    let out = run(&[
        "-c",
        "/nonexistent",
        "deadline",
        "--received",
        "2026-11-17T10:00:00+02:00",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Tue 2026-11-17 16:00"), "{text}");
    assert!(text.contains("Fri 2026-11-20 16:00"), "{text}");
}

#[test]
fn deadline_bad_time_exits_2() {
    let out = run(&["-c", "/nonexistent", "deadline", "--received", "2026-11-17"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

#[test]
fn calendar_json_around_18_november() {
    let out = run(&[
        "-c",
        "/nonexistent",
        "calendar",
        "--from",
        "2026-11-16",
        "--to",
        "2026-11-22",
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(
        v,
        serde_json::json!({"days": [
            {"date": "2026-11-16", "working": true, "hours": "09:00-18:00", "reason": null},
            {"date": "2026-11-17", "working": true, "hours": "09:00-16:00", "reason": "shortened: day before a public holiday"},
            {"date": "2026-11-18", "working": false, "hours": null, "reason": "Latvijas Republikas proklamēšanas diena"},
            {"date": "2026-11-19", "working": true, "hours": "09:00-17:00", "reason": null},
            {"date": "2026-11-20", "working": true, "hours": "09:00-16:00", "reason": null},
            {"date": "2026-11-21", "working": false, "hours": null, "reason": "weekend"},
            {"date": "2026-11-22", "working": false, "hours": null, "reason": "weekend"},
        ]})
    );
}

#[test]
fn calendar_table_is_aligned() {
    let out = run(&[
        "-c",
        "/nonexistent",
        "calendar",
        "--from",
        "2026-06-22",
        "--to",
        "2026-06-28",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    let col = lines[0].find("reason").unwrap();
    for l in &lines[1..] {
        // Every line with a reason has it in the same column.
        if l.len() > col {
            assert!(!l[..col].ends_with(|c: char| !c.is_whitespace()), "{l}");
        }
    }
    assert!(
        text.contains("2026-06-27  Sat  yes      09:00-17:00  worked Saturday"),
        "{text}"
    );
}

#[test]
fn calendar_refuses_bad_ranges() {
    let out = run(&[
        "-c",
        "/nonexistent",
        "calendar",
        "--from",
        "2026-11-18",
        "--to",
        "2026-11-17",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("after"));
    let out = run(&[
        "-c",
        "/nonexistent",
        "calendar",
        "--from",
        "2000-01-01",
        "--to",
        "2030-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most"));
    let out = run(&[
        "-c",
        "/nonexistent",
        "calendar",
        "--from",
        "2026-13-01",
        "--to",
        "2027-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn calendar_uses_the_config_file() {
    let f = config_file(
        r#"
[calendar]
extra_holidays = ["2026-11-20"]

[[calendar.extra_working_days]]
date = "2026-11-21"
hours = "10:00-14:00"

[reply]
working_days = 3
"#,
    );
    let path = f.path().to_str().unwrap();
    let v = json(&run(&[
        "-c",
        path,
        "calendar",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-21",
        "--json",
    ]));
    assert_eq!(v["days"][0]["working"], false);
    assert_eq!(v["days"][0]["reason"], "extra holiday (config)");
    assert_eq!(v["days"][1]["hours"], "10:00-14:00");
    // Tue 17 -> Thu 19 (1), Sat 21 (2, extra working day), Mon 23 (3).
    let v = json(&run(&[
        "-c",
        path,
        "deadline",
        "--received",
        "2026-11-17T10:00:00+02:00",
        "--json",
    ]));
    assert_eq!(v["deadline"], "2026-11-23T18:00:00+02:00");
}

#[test]
fn bad_calendar_config_exits_2() {
    let f = config_file("[calendar]\ntimezone = \"Mars/Olympus\"\n");
    let out = run(&[
        "-c",
        f.path().to_str().unwrap(),
        "calendar",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-21",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Mars/Olympus"));
}
