//! The config file as a whole: the example parses, and every problem is
//! found, located and worded for an admin.

use std::path::Path;

use chrono::NaiveTime;

use super::*;

const EXAMPLE: &str = include_str!("../../config/replygate.toml");

#[test]
fn example_config_parses_and_validates_without_errors() {
    let cfg = parse_str(EXAMPLE, Path::new("replygate.toml")).unwrap();
    assert_eq!(cfg.organization.case_prefix, "SIF");
    assert_eq!(cfg.reply.working_days, 2);
    assert_eq!(cfg.staff.len(), 1);
    assert_eq!(cfg.timezone(), chrono_tz::Europe::Riga);
    assert_eq!(cfg.digest_time(), NaiveTime::from_hms_opt(9, 15, 0).unwrap());
    assert_eq!(
        cfg.calendar.hours.for_weekday(chrono::Weekday::Mon),
        TimeRange::parse("09:00-18:00").ok()
    );
}

/// The example with text replaced (several replacements separated by
/// `|||`), validated; the problems found.
fn problems_after(from: &str, to: &str) -> Vec<Problem> {
    let mut text = EXAMPLE.to_string();
    for (f, t) in from.split("|||").zip(to.split("|||")) {
        assert!(text.contains(f), "example lacks {f:?}");
        text = text.replacen(f, t, 1);
    }
    match parse_str(&text, Path::new("x.toml")) {
        Ok(_) => vec![],
        Err(e) => e.problems(),
    }
}

#[test]
fn semantic_checks_table() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("domains = [\"sif.gov.lv\"]", "domains = []", "organization.domains", "at least one"),
        ("case_prefix = \"SIF\"", "case_prefix = \"SIF-X\"", "organization.case_prefix", "letters"),
        ("case_prefix = \"SIF\"", "case_prefix = \"\"", "organization.case_prefix", "letters"),
        ("security = \"tls\"", "security = \"plain\"", "imap.security", "loopback"),
        ("host = \"imap.example.lv\"|||security = \"tls\"", "host = \"127.0.0.1\"|||security = \"plain\"", "", ""),
        ("host = \"smtp.example.lv\"|||security = \"starttls\"", "host = \"localhost\"|||security = \"plain\"", "", ""),
        ("security = \"starttls\"", "security = \"plain\"", "smtp.security", "loopback"),
        ("password_file = \"/etc/replygate/imap-password\"", "", "imap", "no password source"),
        ("password_file = \"/etc/replygate/imap-password\"", "password_file = \"/x\"\npassword_env = \"X\"", "imap.password_env", "only one"),
        ("password_file = \"/etc/replygate/smtp-password\"", "", "smtp.username", "no password source"),
        ("# ca_file = \"/etc/replygate/ca.pem\"", "ca_file = \"/nonexistent/ca.pem\"", "imap.ca_file", "cannot read"),
        ("inbox = [\"INBOX\"]", "inbox = []", "imap.inbox", "at least one"),
        ("inbox = [\"INBOX\"]", "inbox = [\"INBOX\", \"INBOX\"]", "imap.inbox[1]", "twice"),
        ("timezone = \"Europe/Riga\"", "timezone = \"Europe/Rīga\"", "calendar.timezone", "unknown time zone"),
        ("holidays = \"LV\"", "holidays = \"lv\"", "calendar.holidays", "\"LV\""),
        ("holidays = \"LV\"", "holidays = \"none\"", "", ""),
        ("extra_holidays = []", "extra_holidays = [2027-05-03, 2027-05-03]", "calendar.extra_holidays[1]", "twice"),
        ("# [[calendar.extra_working_days]]\n# date = \"2027-01-09\"\n# hours = \"09:00-17:00\"", "[[calendar.extra_working_days]]\ndate = 2027-01-09\nhours = \"09:00-17:00\"\n[[calendar.extra_working_days]]\ndate = 2027-01-09\nhours = \"09:00-13:00\"", "calendar.extra_working_days[1].date", "twice"),
        ("working_days = 2", "working_days = 0", "reply.working_days", "at least 1"),
        ("# trust_exchange_headers = false", "trust_exchange_headers = true", "", ""),
        ("# internal_header = \"X-Internal-Origin: yes\"", "internal_header = \"X-Internal-Origin: yes\"", "", ""),
        ("# internal_header = \"X-Internal-Origin: yes\"", "internal_header = \": yes\"", "reply.internal_header", "header name"),
        ("# public_domains = [", "public_domains = [\"gmail.com\", \"localhost\"]\n# x = [", "reply.public_domains[1]", "mail domain"),
        ("ack_max_per_hour = 200", "ack_max_per_hour = 0", "reply.ack_max_per_hour", "at least 1"),
        ("# interim_pattern = 'līdz (?P<date>\\d{2}\\.\\d{2}\\.\\d{4})'", "interim_pattern = 'līdz (\\d+'", "reply.interim_pattern", "regular expression"),
        ("# interim_pattern = 'līdz (?P<date>\\d{2}\\.\\d{2}\\.\\d{4})'", "interim_pattern = 'līdz (\\d+)'", "reply.interim_pattern", "named group `date`"),
        ("# interim_pattern = 'līdz (?P<date>\\d{2}\\.\\d{2}\\.\\d{4})'", "interim_pattern = 'līdz (?P<date>\\d{2}\\.\\d{2}\\.\\d{4})'", "", ""),
        ("extra_holidays = []", "extra_holidays = [\"2027-05-03\", 2027-05-04]", "", ""),
        ("extra_holidays = []", "extra_holidays = [\"2027-05-03\", \"3.5.2027\"]", "calendar.extra_holidays[1]", "YYYY-MM-DD"),
        ("extra_holidays = []", "extra_holidays = [2027-05-03T10:00:00]", "calendar.extra_holidays[0]", "YYYY-MM-DD"),
        ("# start_from = \"2026-12-01\"", "start_from = 2026-12-01", "", ""),
        ("# start_from = \"2026-12-01\"", "start_from = 2026-12-01T09:00:00+02:00", "", ""),
        ("# start_from = \"2026-12-01\"", "start_from = 2026-12-01T09:00:00", "reply.start_from", "RFC 3339"),
        ("# start_from = \"2026-12-01\"", "start_from = \"01.12.2026\"", "reply.start_from", "YYYY-MM-DD"),
        ("# start_from = \"2026-12-01\"", "start_from = \"2026-12-01T09:00:00+02:00\"", "", ""),
        ("submission_extensions = [\"edoc\", \"asice\", \"asics\", \"sce\"]", "submission_extensions = [\".edoc\"]", "reply.submission_extensions[0]", "without the dot"),
        ("team = \"klienti@sif.gov.lv\"", "team = \"klienti at sif\"", "reminders.team", "not an e-mail address"),
        ("escalate_to = [\"vaditajs@sif.gov.lv\"]", "escalate_to = [\"ok@sif.gov.lv\", \"bad@\"]", "reminders.escalate_to[1]", "not an e-mail address"),
        ("digest_at = \"09:15\"", "digest_at = \"9:15\"", "reminders.digest_at", "HH:MM"),
        ("digest_at = \"09:15\"", "digest_at = \"24:00\"", "reminders.digest_at", "HH:MM"),
        ("cc = []", "cc = [\"x\"]", "signature.cc[0]", "not an e-mail address"),
        ("from = \"Sabiedrības integrācijas fonds <pasts@sif.gov.lv>\"", "from = \"Fonds <pasts@>\"", "smtp.from", "not a valid sender"),
        ("# connections = 4", "connections = 0", "smtp.connections", "give 1 to 16"),
        ("# connections = 4", "connections = 17", "smtp.connections", "give 1 to 16"),
        ("# connections = 4", "connections = 1", "", ""),
        ("database = \"/var/lib/replygate/replygate.db\"", "database = \"replygate.db\"", "storage.database", "no directory"),
        ("# listen = \"127.0.0.1:9187\"", "listen = \"localhost\"", "http.listen", "address:port"),
        ("email = \"janis.berzins@sif.gov.lv\"", "email = \"janis@gmail.com\"", "staff[0].email", "not in organization.domains"),
        ("email = \"janis.berzins@sif.gov.lv\"", "email = \"janis\"", "staff[0].email", "not an e-mail address"),
        ("# [[staff]]\n# email = \"anna.liepa@sif.gov.lv\"\n# name = \"Anna\"\n# surname = \"Liepa\"", "[[staff]]\nemail = \"Janis.Berzins@SIF.gov.lv\"\nname = \"J\"\nsurname = \"B\"", "staff[1].email", "listed twice"),
    ];
    for (from, to, key, want) in cases {
        let problems = problems_after(from, to);
        if key.is_empty() {
            assert!(problems.is_empty(), "{to:?} should be fine: {problems:?}");
            continue;
        }
        let hit = problems
            .iter()
            .find(|p| p.key.as_deref() == Some(*key))
            .unwrap_or_else(|| panic!("{to:?}: no problem for {key}: {problems:?}"));
        assert!(hit.message.contains(want), "{to:?}: {hit}");
        assert!(hit.line.is_some(), "{to:?}: no line in {hit}");
    }
}

#[test]
fn every_problem_is_collected_with_its_line() {
    let text = EXAMPLE
        .replacen("timezone = \"Europe/Riga\"", "timezone = \"Mars/Base\"", 1)
        .replacen("working_days = 2", "working_days = 0", 1)
        .replacen("digest_at = \"09:15\"", "digest_at = \"soon\"", 1);
    let e = parse_str(&text, Path::new("x.toml")).unwrap_err();
    let p = e.problems();
    let keys: Vec<_> = p.iter().filter_map(|p| p.key.clone()).collect();
    assert_eq!(
        keys,
        ["calendar.timezone", "reply.working_days", "reminders.digest_at"]
    );
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    assert_eq!(p[0].line, Some(line_of("timezone =")));
    assert_eq!(p[1].line, Some(line_of("working_days =")));
    assert_eq!(p[2].line, Some(line_of("digest_at =")));
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 3, "{shown}");
    assert!(shown.starts_with("x.toml:"), "{shown}");
}

#[test]
fn type_errors_are_reported_once_per_table() {
    let text = EXAMPLE
        .replacen("[organization]", "colour = 1\n[organization]", 1)
        .replacen("poll_interval = \"60s\"", "poll_interval = \"60\"", 1)
        .replacen("monday = \"09:00-18:00\"", "monday = \"18:00-09:00\"", 1)
        .replacen("working_days = 2", "working_days = -1", 1)
        .replacen("surname = \"Bērziņš\"", "", 1);
    let e = parse_str(&text, Path::new("x.toml")).unwrap_err();
    let keys: Vec<_> = e.problems().iter().filter_map(|p| p.key.clone()).collect();
    assert_eq!(
        keys,
        [
            "colour",
            "imap.poll_interval",
            "calendar.hours.monday",
            "reply.working_days",
            "staff[0].surname"
        ],
        "{e}"
    );
    assert!(e.problems().iter().all(|p| p.line.is_some()), "{e}");
}

#[test]
fn serde_errors_name_key_and_table() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "working_days = 2",
            "working_dayz = 2",
            "reply.working_dayz",
            "unknown key `working_dayz` in [reply]",
        ),
        (
            "ack_min_interval = \"1d\"",
            "ack_min_interval = \"1x\"",
            "reply.ack_min_interval",
            "unknown unit \"x\"",
        ),
        (
            "team = \"klienti@sif.gov.lv\"",
            "",
            "reminders.team",
            "required key `team` is missing from [reminders]",
        ),
        (
            "ack = \"end_of_day\"",
            "ack = \"later\"",
            "reply.ack",
            "unknown variant",
        ),
        (
            "working_days = 2",
            "working_days = \"two\"",
            "reply.working_days",
            "invalid type",
        ),
        (
            "surname = \"Bērziņš\"",
            "surname = \"Bērziņš\"\nmail = \"x\"",
            "staff[0].mail",
            "unknown key `mail` in [staff[0]]",
        ),
    ];
    for (from, to, key, want) in cases {
        let p = problems_after(from, to);
        assert_eq!(p.len(), 1, "{to:?}: {p:?}");
        assert_eq!(p[0].key.as_deref(), Some(*key), "{to:?}: {}", p[0]);
        assert!(p[0].message.contains(want), "{to:?}: {}", p[0]);
        assert!(p[0].line.is_some() && p[0].column.is_some(), "{}", p[0]);
    }
    let p = problems_after("working_days = 2", "working_dayz = 2");
    assert!(
        p[0].message.contains("`working_days`"),
        "lists allowed keys: {}",
        p[0]
    );
}

#[test]
fn start_from_in_the_file_is_local_midnight() {
    let tz = chrono_tz::Europe::Riga;
    let d = parse_start_from("2026-12-01", tz).unwrap();
    assert_eq!(d.to_rfc3339(), "2026-11-30T22:00:00+00:00");
    let s = parse_start_from("2026-07-01", tz).unwrap();
    assert_eq!(s.to_rfc3339(), "2026-06-30T21:00:00+00:00");
    let i = parse_start_from("2026-12-01T09:00:00+02:00", tz).unwrap();
    assert_eq!(i.to_rfc3339(), "2026-12-01T07:00:00+00:00");
    assert!(parse_start_from("2026-13-01", tz).is_err());
    for line in ["start_from = 2026-12-01", "start_from = \"2026-12-01\""] {
        let text = EXAMPLE.replacen("# start_from = \"2026-12-01\"", line, 1);
        let cfg = parse_str(&text, Path::new("x.toml")).unwrap();
        assert_eq!(cfg.start_from(), Some(d), "{line}");
    }
    let cfg = parse_str(EXAMPLE, Path::new("x.toml")).unwrap();
    assert_eq!(cfg.start_from(), None);
    assert!(parse_start_from("yesterday", tz).is_err());
}

#[test]
fn syntax_errors_are_located_and_do_not_quote_the_line() {
    let text = EXAMPLE.replacen("name = \"Jānis\"", "name = Sup3rS3cretPw", 1);
    let e = parse_str(&text, Path::new("x.toml")).unwrap_err().to_string();
    let line = text.lines().position(|l| l.contains("Sup3rS3cretPw")).unwrap() + 1;
    assert!(e.contains(&format!("x.toml:{line}:")), "{e}");
    assert!(!e.contains("Sup3rS3cretPw"), "{e}");
}

/// The time zone, the holiday set and the digest time are parsed once, when
/// the file is read; an unknown zone is refused even by [`from_str`], never
/// replaced by a default.
#[test]
fn values_are_parsed_once_and_an_unknown_time_zone_is_an_error() {
    let cfg = from_str(EXAMPLE).unwrap();
    assert_eq!(cfg.calendar.timezone, chrono_tz::Europe::Riga);
    assert_eq!(cfg.calendar.holidays, HolidaySet::Latvia);
    assert_eq!(
        cfg.reminders.digest_at,
        NaiveTime::from_hms_opt(9, 15, 0).unwrap()
    );
    let text = EXAMPLE.replacen("timezone = \"Europe/Riga\"", "timezone = \"Europe/Tallinn\"", 1);
    assert_eq!(from_str(&text).unwrap().timezone(), chrono_tz::Europe::Tallinn);
    for zone in ["Europe/Rigaa", "Mars/Base", ""] {
        let text = EXAMPLE.replacen("timezone = \"Europe/Riga\"", &format!("timezone = \"{zone}\""), 1);
        let e = from_str(&text).unwrap_err().to_string();
        assert!(e.contains("unknown time zone"), "{zone:?}: {e}");
        let p = parse_str(&text, Path::new("x.toml")).unwrap_err().problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].key.as_deref(), Some("calendar.timezone"));
    }
}

/// A key with a type error is set aside, so the rest of the file is still
/// checked: type and semantic problems are listed together.
#[test]
fn type_and_semantic_problems_are_listed_together() {
    let text = EXAMPLE
        .replacen("poll_interval = \"60s\"", "poll_interval = \"60\"", 1)
        .replacen("holidays = \"LV\"", "holidays = \"EE\"", 1)
        .replacen("working_days = 2", "working_days = 0", 1);
    let keys: Vec<_> = parse_str(&text, Path::new("x.toml"))
        .unwrap_err()
        .problems()
        .into_iter()
        .filter_map(|p| p.key)
        .collect();
    assert_eq!(
        keys,
        ["imap.poll_interval", "calendar.holidays", "reply.working_days"]
    );
    // A required key with a type error is reported once, not again as
    // missing.
    let text = EXAMPLE.replacen("team = \"klienti@sif.gov.lv\"", "team = 5", 1);
    let p = parse_str(&text, Path::new("x.toml")).unwrap_err().problems();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].key.as_deref(), Some("reminders.team"));
    assert!(p[0].message.contains("invalid type"), "{}", p[0]);
}
