//! A whole replygate world for end-to-end tests: a real Dovecot, a real
//! smtp-sink, a config file pointing at both, a database in a temp dir, and
//! the built `replygate` binary run as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, FixedOffset};

use super::dovecot::Dovecot;
use super::smtp_sink::{SinkMessage, SmtpSink};

pub const STAFF: &str = r#"
[[staff]]
email = "janis.berzins@sif.gov.lv"
name = "Jānis"
surname = "Bērziņš"
phone = "+371 67078190"

[[staff]]
email = "liga.ozolina@sif.gov.lv"
name = "Līga"
surname = "Ozoliņa"
phone = "+371 67078195"

[[staff]]
email = "martins.kalnins@sif.gov.lv"
name = "Mārtiņš"
surname = "Kalniņš"
phone = "+371 67078201"

[[staff]]
email = "ilze.abolina@sif.gov.lv"
name = "Ilze"
surname = "Āboliņa"
phone = "+371 67078187"

[[staff]]
email = "kristaps.liepins@sif.gov.lv"
name = "Kristaps"
surname = "Liepiņš"
phone = "+371 67078210"
"#;

pub struct World {
    pub dovecot: Dovecot,
    pub sink: SmtpSink,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

pub fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("bad time {s}: {e}"))
}

/// The `replygate` binary under test: cargo's for integration tests; for
/// programs outside `tests/` (examples/chaos.rs), `REPLYGATE_BIN`.
pub fn bin() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_replygate") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(
            std::env::var_os("REPLYGATE_BIN").expect("set REPLYGATE_BIN to the replygate binary"),
        ),
    }
}

pub fn corpus_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Ok(p) = std::env::var("REPLYGATE_CORPUS") {
        return PathBuf::from(p);
    }
    for c in ["../shared/corpus", "../../shared/corpus"] {
        let p = here.join(c);
        if p.join("manifest.json").exists() {
            return p;
        }
    }
    panic!("the shared corpus is missing: expected ../shared/corpus beside the repository (or set REPLYGATE_CORPUS)")
}

impl World {
    /// A world with the SPEC example config plus `extra` TOML (sections not
    /// otherwise given: [reply], [calendar], [signature] ...).
    pub fn new(extra: &str) -> World {
        let dovecot = Dovecot::start();
        let sink = SmtpSink::start();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("replygate.toml");
        let w = World {
            dovecot,
            sink,
            dir,
            config,
        };
        w.write_config(extra);
        w
    }

    pub fn write_config(&self, extra: &str) {
        let reply = if extra.contains("[reply]") {
            String::new()
        } else {
            "[reply]\nstart_from = \"2026-11-01\"\ntrusted_authserv_id = \"mx.sif.gov.lv\"\n".to_string()
        };
        let text = format!(
            r#"[organization]
name = "Sabiedrības integrācijas fonds"
aliases = ["SIF"]
domains = ["sif.gov.lv"]
case_prefix = "SIF"
phone = "+371 67078190"
website = "www.sif.gov.lv"

{imap}
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
from = "Sabiedrības integrācijas fonds <pasts@sif.gov.lv>"

[reminders]
team = "klienti@sif.gov.lv"
escalate_to = ["vaditajs@sif.gov.lv"]

[storage]
database = "{db}"

{reply}
{extra}
{staff}
"#,
            imap = self.dovecot.config_toml(),
            smtp_port = self.sink.port,
            db = self.dir.path().join("replygate.db").display(),
            staff = STAFF,
        );
        std::fs::write(&self.config, text).unwrap();
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        let out = Command::new(bin())
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        out
    }

    /// `report --from F --to T --now N [extra…]`; panics when it fails,
    /// returns what it printed.
    #[allow(dead_code)]
    pub fn report(&self, [from, to, now]: [&str; 3], extra: &[&str]) -> String {
        let args = [&["report", "--from", from, "--to", to, "--now", now][..], extra].concat();
        let out = self.cmd(&args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `run --once --now T`; panics with the log when it fails.
    pub fn run(&self, now: &str) -> String {
        let out = self.cmd(&["run", "--once", "--now", now]);
        let log = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "run --once --now {now} failed: {log}");
        log
    }

    pub fn status(&self, now: &str) -> serde_json::Value {
        let out = self.cmd(&["status", "--all", "--json", "--now", now]);
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Cases keyed by the client address of the mail that opened them.
    pub fn case_of<'a>(status: &'a serde_json::Value, client: &str) -> Vec<&'a serde_json::Value> {
        status["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["client"] == client)
            .collect()
    }

    pub fn sent(&self) -> Vec<SinkMessage> {
        self.sink.parsed()
    }

    /// Deliver corpus messages (by manifest entry) with their INTERNALDATE.
    pub fn deliver_corpus(&self, only: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let dir = corpus_dir();
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        for m in manifest["messages"].as_array().unwrap() {
            if !only(m) {
                continue;
            }
            let raw = std::fs::read(dir.join(m["file"].as_str().unwrap())).unwrap();
            self.dovecot.append(
                m["folder"].as_str().unwrap(),
                &raw,
                t(m["received"].as_str().unwrap()),
            );
        }
        manifest
    }
}
