//! `replygate check-config` run as a real process on good and broken
//! configuration files: exit codes, located messages (file, line, key), and
//! no secret in any output.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLE: &str = include_str!("../config/replygate.toml");
const IMAP_PW: &str = "Imap-Pw-7f3c9e1d-NEVER-PRINT";
const SMTP_PW: &str = "Smtp-Pw-44ab0c2e-NEVER-PRINT";

/// A temp dir with secret files (mode 600) and the example config rewritten
/// to use them and a database path inside the dir.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, pw) in [("imap-password", IMAP_PW), ("smtp-password", SMTP_PW)] {
            let p = dir.path().join(name);
            std::fs::write(&p, format!("{pw}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The example, with its absolute paths pointing into the temp dir.
    fn good_text(&self) -> String {
        let d = self.dir.path().display();
        EXAMPLE
            .replace(
                "password_file = \"/etc/replygate/imap-password\"",
                &format!("password_file = \"{d}/imap-password\""),
            )
            .replace(
                "password_file = \"/etc/replygate/smtp-password\"",
                &format!("password_file = \"{d}/smtp-password\""),
            )
            .replace(
                "database = \"/var/lib/replygate/replygate.db\"",
                &format!("database = \"{d}/replygate.db\""),
            )
    }

    /// Write the good config with `from` replaced by `to`; return its path
    /// and text.
    fn write_with(&self, name: &str, from: &str, to: &str) -> (PathBuf, String) {
        let good = self.good_text();
        assert!(good.contains(from), "example lacks {from:?}");
        let text = good.replacen(from, to, 1);
        let p = self.path(name);
        std::fs::write(&p, &text).unwrap();
        (p, text)
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check_config(config: &Path, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replygate"));
    cmd.arg("-c").arg(config).arg("check-config");
    cmd.env_remove("CREDENTIALS_DIRECTORY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// 1-based number of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}"))
        + 1
}

/// Exit 2, and stderr has `FILE:LINE:` and the key.
fn assert_refused_at(run: &Run, file: &Path, line: usize, key: &str) {
    assert_eq!(run.code, 2, "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    let loc = format!("{}:{line}:", file.display());
    assert!(run.stderr.contains(&loc), "stderr lacks {loc:?}:\n{}", run.stderr);
    let located = run.stderr.lines().find(|l| l.contains(&loc)).unwrap_or_default();
    assert!(
        located.contains(key),
        "the line at {loc} does not name {key:?}:\n{}",
        run.stderr
    );
}

#[test]
fn good_example_passes_with_a_summary() {
    let s = Setup::new();
    let p = s.path("good.toml");
    std::fs::write(&p, s.good_text()).unwrap();
    let run = check_config(&p, &[]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stdout.contains("configuration OK"), "{}", run.stdout);
    assert!(run.stdout.contains("Europe/Riga"), "{}", run.stdout);
    assert!(run.stdout.contains("staff: 1"), "{}", run.stdout);
    assert!(run.stdout.contains("INBOX"), "{}", run.stdout);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn example_loads_with_the_library_loader() {
    let s = Setup::new();
    let p = s.path("replygate.toml");
    std::fs::write(&p, s.good_text()).unwrap();
    let cfg = replygate::config::load(&p).unwrap();
    assert_eq!(cfg.imap_password().unwrap().expose(), IMAP_PW);
    assert_eq!(
        cfg.smtp_password().unwrap().map(|s| s.expose().to_string()),
        Some(SMTP_PW.to_string())
    );
    assert_eq!(cfg.organization.domains, ["sif.gov.lv"]);
}

#[test]
fn missing_config_file_names_the_path() {
    let s = Setup::new();
    let p = s.path("nowhere.toml");
    let run = check_config(&p, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains(&p.display().to_string()), "{}", run.stderr);
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
}

#[test]
fn bad_toml_syntax() {
    let s = Setup::new();
    let (p, text) = s.write_with("bad.toml", "working_days = 2", "working_days = = 2");
    let run = check_config(&p, &[]);
    assert_refused_at(&run, &p, line_of(&text, "working_days = = 2"), "syntax");
}

#[test]
fn unknown_key_at_top_level() {
    let s = Setup::new();
    let (p, text) = s.write_with(
        "bad.toml",
        "[organization]\n",
        "colour = \"blue\"\n\n[organization]\n",
    );
    let run = check_config(&p, &[]);
    assert_refused_at(&run, &p, line_of(&text, "colour ="), "colour");
    assert!(
        run.stderr.contains("reminders"),
        "lists allowed keys: {}",
        run.stderr
    );
}

#[test]
fn unknown_key_nested() {
    let s = Setup::new();
    let (p, text) = s.write_with("bad.toml", "working_days = 2", "working_dayz = 2");
    let run = check_config(&p, &[]);
    assert_refused_at(&run, &p, line_of(&text, "working_dayz"), "reply.working_dayz");
    assert!(run.stderr.contains("working_days"), "{}", run.stderr);
}

#[test]
fn bad_duration() {
    let s = Setup::new();
    let (p, text) = s.write_with(
        "bad.toml",
        "ack_min_interval = \"1d\"",
        "ack_min_interval = \"1x\"",
    );
    let run = check_config(&p, &[]);
    assert_refused_at(
        &run,
        &p,
        line_of(&text, "ack_min_interval ="),
        "reply.ack_min_interval",
    );
    assert!(run.stderr.contains("unknown unit"), "{}", run.stderr);
}

#[test]
fn bad_time_ranges() {
    for (bad, why) in [("17:00-09:00", "close before they open"), ("9-5", "HH:MM-HH:MM")] {
        let s = Setup::new();
        let (p, text) = s.write_with(
            "bad.toml",
            "tuesday = \"09:00-17:00\"",
            &format!("tuesday = \"{bad}\""),
        );
        let run = check_config(&p, &[]);
        assert_refused_at(&run, &p, line_of(&text, "tuesday ="), "calendar.hours.tuesday");
        assert!(run.stderr.contains(why), "{bad}: {}", run.stderr);
    }
}

#[test]
fn bad_timezone() {
    let s = Setup::new();
    let (p, text) = s.write_with(
        "bad.toml",
        "timezone = \"Europe/Riga\"",
        "timezone = \"Europe/Rigga\"",
    );
    let run = check_config(&p, &[]);
    assert_refused_at(&run, &p, line_of(&text, "timezone ="), "calendar.timezone");
}

#[test]
fn plain_security_to_a_remote_host() {
    let s = Setup::new();
    let (p, text) = s.write_with("bad.toml", "security = \"tls\"", "security = \"plain\"");
    let run = check_config(&p, &[]);
    assert_refused_at(&run, &p, line_of(&text, "security = \"plain\""), "imap.security");
    assert!(run.stderr.contains("loopback"), "{}", run.stderr);
}

#[test]
fn plain_security_to_loopback_is_accepted() {
    let s = Setup::new();
    let good = s
        .good_text()
        .replacen("host = \"imap.example.lv\"", "host = \"127.0.0.1\"", 1);
    let text = good.replacen("security = \"tls\"", "security = \"plain\"", 1);
    let p = s.path("ok.toml");
    std::fs::write(&p, text).unwrap();
    let run = check_config(&p, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn missing_secret_file() {
    let s = Setup::new();
    std::fs::remove_file(s.path("imap-password")).unwrap();
    let p = s.path("bad.toml");
    let text = s.good_text();
    std::fs::write(&p, &text).unwrap();
    let run = check_config(&p, &[]);
    assert_refused_at(
        &run,
        &p,
        line_of(&text, &format!("{}/imap-password\"", s.dir.path().display())),
        "imap.password_file",
    );
    assert!(
        run.stderr
            .contains(&s.path("imap-password").display().to_string()),
        "names the secret file: {}",
        run.stderr
    );
}

#[test]
fn unknown_holidays_value() {
    let s = Setup::new();
    let (p, text) = s.write_with("bad.toml", "holidays = \"LV\"", "holidays = \"EE\"");
    let run = check_config(&p, &[]);
    assert_refused_at(&run, &p, line_of(&text, "holidays = \"EE\""), "calendar.holidays");
}

#[test]
fn every_problem_is_listed() {
    let s = Setup::new();
    let text = s
        .good_text()
        .replacen("timezone = \"Europe/Riga\"", "timezone = \"Nowhere/Land\"", 1)
        .replacen("holidays = \"LV\"", "holidays = \"EE\"", 1)
        .replacen("digest_at = \"09:15\"", "digest_at = \"late\"", 1)
        .replacen(
            "domains = [\"sif.gov.lv\"]",
            "domains = [\"sif.gov.lv\", \"x@y\"]",
            1,
        );
    let p = s.path("bad.toml");
    std::fs::write(&p, &text).unwrap();
    std::fs::remove_file(s.path("smtp-password")).unwrap();
    let run = check_config(&p, &[]);
    assert_eq!(run.code, 2);
    for (needle, key) in [
        ("timezone =", "calendar.timezone"),
        ("holidays =", "calendar.holidays"),
        ("digest_at =", "reminders.digest_at"),
        ("domains =", "organization.domains[1]"),
        ("/smtp-password\"", "smtp.password_file"),
    ] {
        let loc = format!("{}:{}:", p.display(), line_of(&text, needle));
        assert!(
            run.stderr.lines().any(|l| l.contains(&loc) && l.contains(key)),
            "{key} at {loc} missing:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("5 problems"), "{}", run.stderr);
}

#[test]
fn group_readable_secret_file_is_a_warning() {
    let s = Setup::new();
    std::fs::set_permissions(s.path("smtp-password"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let p = s.path("ok.toml");
    std::fs::write(&p, s.good_text()).unwrap();
    let run = check_config(&p, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("smtp.password_file"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
}

#[test]
fn relative_password_file_uses_credentials_directory() {
    let s = Setup::new();
    let creds = tempfile::tempdir().unwrap();
    let cred = creds.path().join("imap-cred");
    std::fs::write(&cred, "from-credentials\n").unwrap();
    std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (p, text) = s.write_with(
        "cred.toml",
        &format!("password_file = \"{}/imap-password\"", s.dir.path().display()),
        "password_file = \"imap-cred\"",
    );
    let creds_dir = creds.path().display().to_string();
    let run = check_config(&p, &[("CREDENTIALS_DIRECTORY", creds_dir.as_str())]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Without the variable the name is relative to the config's directory,
    // where there is no such file.
    let run = check_config(&p, &[]);
    assert_refused_at(&run, &p, line_of(&text, "\"imap-cred\""), "imap.password_file");
    assert!(
        run.stderr.contains(&s.path("imap-cred").display().to_string()),
        "{}",
        run.stderr
    );
}

#[test]
fn secrets_never_appear_in_any_output() {
    let s = Setup::new();
    // SMTP takes its password from an environment variable, IMAP from a file.
    let env_text = |t: String| {
        t.replacen(
            &format!("password_file = \"{}/smtp-password\"", s.dir.path().display()),
            "password_env = \"RG_TEST_SMTP_PW\"",
            1,
        )
    };
    let good = env_text(s.good_text());
    let variants: Vec<(&str, String)> = vec![
        ("good", good.clone()),
        (
            "bad-tz",
            good.replacen("timezone = \"Europe/Riga\"", "timezone = \"X/Y\"", 1),
        ),
        ("syntax", good.replacen("working_days = 2", "working_days = ", 1)),
        (
            "unknown-key",
            good.replacen("working_days = 2", "password = \"x\"", 1),
        ),
        (
            "both-sources",
            good.replacen(
                "password_env = \"RG_TEST_SMTP_PW\"",
                "password_env = \"RG_TEST_SMTP_PW\"\npassword_file = \"/nonexistent\"",
                1,
            ),
        ),
        (
            "secret-as-path",
            good.replacen(
                &format!("{}/imap-password", s.dir.path().display()),
                &format!("{}/imap-password-missing", s.dir.path().display()),
                1,
            ),
        ),
    ];
    // Make the IMAP secret file group-readable too, so the warning path runs.
    std::fs::set_permissions(s.path("imap-password"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut codes = Vec::new();
    for (name, text) in &variants {
        let p = s.path(&format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        let run = check_config(&p, &[("RG_TEST_SMTP_PW", SMTP_PW)]);
        let all = format!("{}{}", run.stdout, run.stderr);
        for pw in [IMAP_PW, SMTP_PW] {
            assert!(!all.contains(pw), "{name}: secret printed:\n{all}");
            assert!(
                !all.contains(&pw[..12]),
                "{name}: part of a secret printed:\n{all}"
            );
        }
        codes.push((*name, run.code));
    }
    // The variants really exercised both outcomes.
    assert_eq!(codes[0], ("good", 0));
    assert!(codes[1..].iter().all(|(_, c)| *c == 2), "{codes:?}");
}

#[test]
fn smtp_without_authentication_is_fine_but_username_needs_a_password() {
    let s = Setup::new();
    let d = s.dir.path().display().to_string();
    let no_auth = s.good_text().replacen(
        &format!("username = \"pasts@sif.gov.lv\"\npassword_file = \"{d}/smtp-password\""),
        "",
        1,
    );
    assert_ne!(no_auth, s.good_text());
    let p = s.path("noauth.toml");
    std::fs::write(&p, &no_auth).unwrap();
    let run = check_config(&p, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("without authentication"), "{}", run.stdout);

    let (p, text) = s.write_with(
        "user-only.toml",
        &format!("password_file = \"{d}/smtp-password\""),
        "",
    );
    let run = check_config(&p, &[]);
    let smtp_user_line = text
        .lines()
        .enumerate()
        .skip(line_of(&text, "[smtp]"))
        .find(|(_, l)| l.starts_with("username"))
        .map(|(i, _)| i + 1)
        .unwrap();
    assert_refused_at(&run, &p, smtp_user_line, "smtp.username");
}
