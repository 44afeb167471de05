//! A small SMTP receiver with TLS for tests of `smtp.security = "tls"` /
//! `"starttls"` and `smtp.ca_file` (smtp-sink speaks no TLS).
//!
//! It runs `tests/support/tls_smtp.py` (Python 3 stdlib only) with a fresh
//! self-signed certificate for `127.0.0.1`/`localhost` (made with the
//! `openssl` command; not a CA, as rustls requires of an end-entity
//! certificate used as its own trust anchor). Any AUTH is accepted. In
//! `starttls` mode it refuses MAIL before STARTTLS.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Implicit TLS from the first byte.
    Tls,
    /// Plain greeting, STARTTLS offered and required.
    Starttls,
}

pub struct TlsSmtp {
    pub port: u16,
    dir: TempDir,
    child: Child,
}

/// One received message.
#[derive(Debug, Clone)]
pub struct TlsMessage {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA as received, CRLF line ends.
    pub raw: Vec<u8>,
}

impl TlsSmtp {
    pub fn start(mode: TlsMode) -> TlsSmtp {
        TlsSmtp::start_inner(mode, None)
    }

    /// A server that accepts only XOAUTH2 / OAUTHBEARER tokens, checked at
    /// `introspection_url` (see tls_smtp.py).
    pub fn start_oauth(mode: TlsMode, introspection_url: &str) -> TlsSmtp {
        TlsSmtp::start_inner(mode, Some(introspection_url))
    }

    fn start_inner(mode: TlsMode, introspection_url: Option<&str>) -> TlsSmtp {
        let dir = tempfile::Builder::new().prefix("tls-smtp.").tempdir().unwrap();
        let out = dir.path().join("mail");
        std::fs::create_dir(&out).unwrap();
        let st = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(st.success(), "openssl req failed");
        let port = super::smtp_sink::free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/tls_smtp.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(match mode {
                TlsMode::Tls => "tls",
                TlsMode::Starttls => "starttls",
            })
            .arg(port.to_string())
            .arg(dir.path().join("cert.pem"))
            .arg(dir.path().join("key.pem"))
            .arg(&out)
            .args(introspection_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run python3");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "tls_smtp.py did not start");
        TlsSmtp { port, dir, child }
    }

    /// The AUTH attempts so far: "ok MECH USER" / "fail MECH USER".
    pub fn auth_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("mail/auth.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The server's certificate (PEM), to use as `smtp.ca_file`.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Waits (bounded) for `n` messages and returns all received so far.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<TlsMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            let msgs = self.messages();
            if msgs.len() >= n {
                return msgs;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} message(s), got {}",
                msgs.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn messages(&self) -> Vec<TlsMessage> {
        let out = self.dir.path().join("mail");
        let mut v = Vec::new();
        for n in 1.. {
            let Ok(raw) = std::fs::read(out.join(format!("{n}.eml"))) else {
                break;
            };
            let env = std::fs::read_to_string(out.join(format!("{n}.env"))).unwrap_or_default();
            let mut lines = env
                .lines()
                .map(|l| l.trim_start_matches('<').trim_end_matches('>').to_string());
            let mail_from = lines.next().unwrap_or_default();
            v.push(TlsMessage {
                mail_from,
                rcpt_to: lines.collect(),
                raw,
            });
        }
        v
    }
}

impl Drop for TlsSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
