//! A real SMTP receiver for tests: Postfix's `smtp-sink` (/usr/sbin/smtp-sink).
//!
//! ```ignore
//! let sink = SmtpSink::start();            // listens on 127.0.0.1:sink.port
//! /* send mail to 127.0.0.1:sink.port */
//! let msgs = sink.wait_for(1, Duration::from_secs(5));
//! assert_eq!(msgs[0].rcpt_to, ["anna@example.lv"]);
//! ```
//!
//! smtp-sink runs as `smtp-sink -u nobody -d DIR/%Y%m%d%H%M%S. 127.0.0.1:PORT 10`
//! and writes one file per message. What it writes (checked on this machine,
//! Postfix 3.x): LF line ends; first its own headers, then the message as
//! received (dot-unstuffed), then one extra empty line:
//!
//! ```text
//! X-Client-Addr: 127.0.0.1
//! X-Client-Proto: ESMTP
//! X-Helo-Args: sif.gov.lv
//! X-Mail-Args: <pasts@sif.gov.lv>
//! X-Rcpt-Args: <a@x.lv>          (one line per RCPT TO, in order)
//! Received: from …               (three lines; marks the end of smtp-sink's headers)
//! <the message>
//! <empty line>
//! ```
//!
//! [`SinkMessage`] splits that into the envelope (`mail_from`, `rcpt_to`) and
//! the message (`raw`, with CRLF line ends restored, plus unfolded `headers`
//! and the undecoded `body`; decode with mail-parser when needed).
//!
//! smtp-sink creates the file at MAIL FROM and deletes it when the
//! transaction is aborted; [`SmtpSink::messages`] lists only complete ones.
//!
//! Failure modes for tests: [`SmtpSink::stop`] closes the port (connection
//! refused, a temporary failure); [`SmtpSink::start_rejecting`] answers RCPT
//! with `550 5.3.0` ([`Reject::Permanent`], smtp-sink `-f`) or `450 4.3.0`
//! ([`Reject::Temporary`], `-r`). [`SmtpSink::restart`] brings the server back
//! on the same port with the same directory. `Drop` kills the process.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// How the sink answers RCPT TO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Accept everything.
    None,
    /// `550 5.3.0 Error: command failed` (smtp-sink `-f RCPT`).
    Permanent,
    /// `450 4.3.0 Error: command failed` (smtp-sink `-r RCPT`).
    Temporary,
}

pub struct SmtpSink {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
    reject: Reject,
}

/// One message as smtp-sink received it.
#[derive(Debug, Clone)]
pub struct SinkMessage {
    /// The file smtp-sink wrote.
    pub file: PathBuf,
    /// MAIL FROM address, without `<>` (empty for the null sender).
    pub mail_from: String,
    /// RCPT TO addresses, without `<>`, in order.
    pub rcpt_to: Vec<String>,
    /// The EHLO/HELO argument.
    pub helo: Option<String>,
    /// The message as sent, CRLF line ends.
    pub raw: Vec<u8>,
    /// Header fields in order, unfolded (continuation lines joined with
    /// their leading whitespace), values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body as transmitted (still transfer-encoded), LF line ends.
    pub body: String,
}

impl SinkMessage {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Parses one smtp-sink dump file's contents.
    pub fn parse(file: PathBuf, dump: &[u8]) -> SinkMessage {
        let text = String::from_utf8_lossy(dump).into_owned();
        let mut lines: Vec<&str> = text.split('\n').collect();
        // The file ends with "<last line>\n" + "\n": drop the extra empty line.
        if lines.last() == Some(&"") {
            lines.pop();
        }
        if lines.last() == Some(&"") {
            lines.pop();
        }
        let mut mail_from = String::new();
        let mut rcpt_to = Vec::new();
        let mut helo = None;
        let mut i = 0;
        let strip = |v: &str| {
            let v = v.trim();
            let v = v.split_whitespace().next().unwrap_or("");
            v.trim_start_matches('<').trim_end_matches('>').to_string()
        };
        while i < lines.len() {
            let l = lines[i];
            i += 1;
            if let Some(v) = l.strip_prefix("X-Mail-Args:") {
                mail_from = strip(v);
            } else if let Some(v) = l.strip_prefix("X-Rcpt-Args:") {
                rcpt_to.push(strip(v));
            } else if let Some(v) = l.strip_prefix("X-Helo-Args:") {
                helo = Some(v.trim().to_string());
            } else if l.starts_with("Received: ") {
                while i < lines.len() && (lines[i].starts_with('\t') || lines[i].starts_with(' ')) {
                    i += 1;
                }
                break;
            }
        }
        let msg_lines = &lines[i..];
        let mut raw = msg_lines.join("\r\n").into_bytes();
        raw.extend_from_slice(b"\r\n");
        let blank = msg_lines
            .iter()
            .position(|l| l.is_empty())
            .unwrap_or(msg_lines.len());
        let mut headers: Vec<(String, String)> = Vec::new();
        for l in &msg_lines[..blank] {
            if l.starts_with(' ') || l.starts_with('\t') {
                if let Some(last) = headers.last_mut() {
                    last.1.push_str(l);
                }
            } else if let Some((n, v)) = l.split_once(':') {
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        for h in headers.iter_mut() {
            h.1 = h.1.trim().to_string();
        }
        let body = if blank < msg_lines.len() {
            msg_lines[blank + 1..].join("\n")
        } else {
            String::new()
        };
        SinkMessage {
            file,
            mail_from,
            rcpt_to,
            helo,
            raw,
            headers,
            body,
        }
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// A port that was free a moment ago (bind to 0, read it, release it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

impl SmtpSink {
    /// Starts an accepting sink on a free port.
    pub fn start() -> SmtpSink {
        Self::start_rejecting(Reject::None)
    }

    /// Starts a sink on a given port (e.g. one a previous sink used).
    pub fn start_on(port: u16) -> SmtpSink {
        Self::spawn_new(port, Reject::None)
    }

    /// Starts a sink that rejects every RCPT TO as `reject` says.
    pub fn start_rejecting(reject: Reject) -> SmtpSink {
        // Retry in case another process grabs the port between probe and bind.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            match Self::try_spawn_new(port, reject) {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("smtp-sink did not start: {last}");
    }

    fn spawn_new(port: u16, reject: Reject) -> SmtpSink {
        Self::try_spawn_new(port, reject).unwrap_or_else(|e| panic!("smtp-sink did not start: {e}"))
    }

    fn try_spawn_new(port: u16, reject: Reject) -> Result<SmtpSink, String> {
        let dir = tempfile::Builder::new()
            .prefix("smtp-sink.")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let mut s = SmtpSink {
            port,
            dir,
            child: None,
            reject,
        };
        std::fs::create_dir(s.mail_dir()).map_err(|e| e.to_string())?;
        if running_as_root() {
            // smtp-sink drops to `nobody`, which must be able to write.
            for p in [s.dir.path(), &s.mail_dir()] {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777))
                    .map_err(|e| e.to_string())?;
            }
        }
        s.spawn()?;
        Ok(s)
    }

    /// Where smtp-sink writes its files.
    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// smtp-sink's own output (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sink.log")).unwrap_or_default()
    }

    /// `127.0.0.1`
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    fn spawn(&mut self) -> Result<(), String> {
        assert!(
            Path::new(SMTP_SINK).exists(),
            "{SMTP_SINK} is missing: install Debian's postfix package"
        );
        let log = std::fs::File::create(self.dir.path().join("sink.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(SMTP_SINK);
        if running_as_root() {
            cmd.args(["-u", "nobody"]);
        }
        match self.reject {
            Reject::None => {}
            Reject::Permanent => {
                cmd.args(["-f", "RCPT"]);
            }
            Reject::Temporary => {
                cmd.args(["-r", "RCPT"]);
            }
        }
        let template = format!("{}/%Y%m%d%H%M%S.", self.mail_dir().display());
        cmd.arg("-d")
            .arg(template)
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("10")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let mut child = cmd.spawn().map_err(|e| format!("cannot run {SMTP_SINK}: {e}"))?;
        // Wait until it greets (a process, not a clock: bounded polling).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("smtp-sink exited with {status}: {}", self.log()));
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 3];
                if s.read_exact(&mut buf).is_ok() && &buf == b"220" {
                    break;
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "smtp-sink did not accept connections on 127.0.0.1:{} within 5 s: {}",
                    self.port,
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Kills the server: the port is closed (connection refused).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and directory.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("smtp-sink did not restart: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The raw dump files, oldest first (by modification time, then name).
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.files().into_iter().map(|(_, b)| b).collect()
    }

    /// The messages, parsed, oldest first.
    pub fn parsed(&self) -> Vec<SinkMessage> {
        self.files()
            .into_iter()
            .map(|(p, b)| SinkMessage::parse(p, &b))
            .collect()
    }

    /// Waits (bounded) until at least `n` complete messages are there.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SinkMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            let files = self.files();
            let complete = files.len();
            if complete >= n {
                return files
                    .into_iter()
                    .map(|(p, b)| SinkMessage::parse(p, &b))
                    .collect();
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {n} message(s) in smtp-sink within {timeout:?}, found {complete}; log: {}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Complete dump files, oldest first. smtp-sink creates a file at MAIL
    /// FROM and deletes it when the transaction is aborted (rejected RCPT,
    /// RSET, QUIT before DATA); a file counts once it has the `Received:`
    /// line written at DATA and the final empty line.
    fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(self.mail_dir())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                    .map(|e| {
                        let m = e
                            .metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH);
                        (m, e.path())
                    })
                    .collect()
            })
            .unwrap_or_default();
        entries.sort();
        entries
            .into_iter()
            .filter_map(|(_, p)| std::fs::read(&p).ok().map(|b| (p, b)))
            .filter(|(_, b)| b.ends_with(b"\n\n") && b.windows(15).any(|w| w == b"\nReceived: from"))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
