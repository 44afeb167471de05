//! A real Dovecot IMAP server for tests, run from a throwaway directory.
//!
//! `Dovecot::start()` writes its own config, a passwd-file with one user, a
//! self-signed (non-CA) certificate made with the `openssl` CLI and a Maildir
//! into a `TempDir`, then runs `dovecot -F -c FILE` in its own process group
//! on 127.0.0.1 with a plain listener (`port`) and an implicit-TLS listener
//! (`tls_port`). Drop (or `stop`) kills the whole process group: the child
//! `imap` processes outlive the master.
//!
//! Mail is put in with a small blocking IMAP client (APPEND keeps the given
//! INTERNALDATE) or, for receipt times later than the machine's clock (which
//! Dovecot would replace by "now"), by writing the file straight into the
//! Maildir's `cur/` with its mtime set to the wanted instant.
//!
//! The Maildir uses the Maildir++ layout with `/` as the IMAP hierarchy
//! separator: folder `A/B` lives in `Maildir/.A.B/`. Folder names here are
//! expected to be ASCII.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, FixedOffset, Utc};
use tempfile::TempDir;

/// uid/gid of the unprivileged mail user `nobody` (65534 on Debian).
fn mail_ids() -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == "nobody").then(|| (f[2].parse().ok(), f[3].parse().ok()))
        })
        .and_then(|(u, g)| Some((u?, g?)))
        .unwrap_or((65534, 65534))
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

pub struct Dovecot {
    /// Plain IMAP port on 127.0.0.1 (LOGIN allowed: loopback counts as secure).
    pub port: u16,
    /// Implicit-TLS IMAP port on 127.0.0.1; trust `ca_pem` to connect.
    pub tls_port: u16,
    pub user: String,
    pub password: String,
    /// The user's Maildir root (INBOX); other folders are `.Name` inside it.
    pub maildir: PathBuf,
    /// The server certificate (self-signed, CN/SAN localhost + 127.0.0.1).
    pub ca_pem: PathBuf,
    /// A file holding the password (no trailing newline).
    pub password_file: PathBuf,
    conf: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    dir: TempDir,
}

fn dovecot_binary() -> PathBuf {
    let fixed = PathBuf::from("/usr/sbin/dovecot");
    if fixed.exists() {
        return fixed;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let p = d.join("dovecot");
            if p.exists() {
                return p;
            }
        }
    }
    panic!("dovecot not found in /usr/sbin or PATH: install dovecot-imapd (scripts/test does)");
}

fn free_ports() -> (u16, u16) {
    // Hold both listeners at once so the two ports differ, then release.
    let a = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

fn chown_nobody(p: &Path) {
    let (uid, gid) = mail_ids();
    std::os::unix::fs::chown(p, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
}

fn make_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let cnf = dir.join("openssl.cnf");
    fs::write(
        &cnf,
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3\n\
         [dn]\nCN = localhost\n\
         [v3]\nbasicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage = serverAuth\n\
         subjectAltName = DNS:localhost,IP:127.0.0.1\n\
         subjectKeyIdentifier = hash\n",
    )
    .unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "3650", "-config"])
        .arg(&cnf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run the openssl CLI (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for p in [&cert, &key] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o644)).unwrap();
    }
    (cert, key)
}

impl Dovecot {
    /// Start a fresh server with an empty mailbox (INBOX and Sent exist).
    pub fn start() -> Dovecot {
        Dovecot::start_with_password("Test-Pa55word.7")
    }

    /// Like [`Dovecot::start`] with a chosen password (any text without
    /// `:` or a line break, non-ASCII allowed).
    pub fn start_with_password(password: &str) -> Dovecot {
        Dovecot::start_with(password, &Options::default())
    }

    /// A server with `opts` (OAuth 2.0 passdb, no IDLE).
    pub fn start_with_options(opts: &Options) -> Dovecot {
        Dovecot::start_with("Test-Pa55word.7", opts)
    }

    fn start_with(password: &str, opts: &Options) -> Dovecot {
        assert!(
            !password.contains([':', '\n', '\r']),
            "password unusable in a passwd-file"
        );
        let bin = dovecot_binary();
        let mut dir = tempfile::Builder::new()
            .prefix("replygate-dovecot-")
            .tempdir()
            .expect("create temp dir");
        // Dovecot's mail processes run as nobody and must traverse the dir.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().to_path_buf();
        let (ca_pem, _key) = make_cert(&root);
        for sub in ["run", "state"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        let home = root.join("home");
        fs::create_dir_all(&home).unwrap();
        chown_nobody(&home);
        let maildir = home.join("Maildir");

        let user = "pasts@example.lv".to_string();
        let password = password.to_string();
        let passwd = root.join("passwd");
        let (uid, gid) = mail_ids();
        fs::write(
            &passwd,
            format!("{user}:{{PLAIN}}{password}:{uid}:{gid}::{}::\n", home.display()),
        )
        .unwrap();
        fs::set_permissions(&passwd, fs::Permissions::from_mode(0o644)).unwrap();
        let password_file = root.join("imap-password");
        fs::write(&password_file, &password).unwrap();
        let log = root.join("dovecot.log");

        let mut last_log = String::new();
        for _attempt in 0..3 {
            let (port, tls_port) = free_ports();
            let conf = root.join("dovecot.conf");
            fs::write(&conf, config_text(&root, port, tls_port, opts)).unwrap();
            let mut d = Dovecot {
                port,
                tls_port,
                user: user.clone(),
                password: password.clone(),
                maildir: maildir.clone(),
                ca_pem: ca_pem.clone(),
                password_file: password_file.clone(),
                conf,
                log: log.clone(),
                child: None,
                dir,
            };
            match d.spawn(&bin) {
                Ok(()) => {
                    d.ensure_folder_dirs("INBOX");
                    d.ensure_folder_dirs("Sent");
                    return d;
                }
                Err(log_text) => {
                    d.stop();
                    last_log = log_text;
                    // Another process may have taken a port: retry with new ones.
                    if !last_log.contains("in use") {
                        break;
                    }
                    dir = std::mem::replace(&mut d.dir, TempDir::new().unwrap());
                    let _ = fs::remove_file(&log);
                }
            }
        }
        panic!("dovecot did not start; its log:\n{last_log}");
    }

    /// Run the master in its own process group and wait for both listeners.
    /// On failure returns Dovecot's log text.
    fn spawn(&mut self, bin: &Path) -> Result<(), String> {
        let stderr_path = self.dir.path().join("dovecot.stderr");
        let stderr = fs::File::create(&stderr_path).map_err(|e| format!("create stderr file: {e}"))?;
        let child = Command::new(bin)
            .arg("-F")
            .arg("-c")
            .arg(&self.conf)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        // If the test process dies without dropping us (killed, Ctrl-C:
        // the server is in its own process group and gets no SIGINT), a
        // watcher in yet another group takes the server down with it.
        let watcher = format!(
            "while kill -0 {parent} 2>/dev/null && kill -0 -{pg} 2>/dev/null; do sleep 1; done; \
             kill -TERM -{pg} 2>/dev/null",
            parent = std::process::id(),
            pg = child.id()
        );
        let _ = Command::new("sh")
            .arg("-c")
            .arg(watcher)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                let err = fs::read_to_string(&stderr_path).unwrap_or_default();
                self.child = None;
                return Err(format!(
                    "dovecot exited with {status}\nstderr: {err}\nlog:\n{}",
                    self.log_text()
                ));
            }
            if self.greets(self.port) && TcpStream::connect(("127.0.0.1", self.tls_port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "dovecot not listening after 5 s\nlog:\n{}",
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn greets(&self, port: u16) -> bool {
        let Ok(s) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("* OK")
    }

    /// Dovecot's log so far (for assertion messages).
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The temp directory holding config, certificate, Maildir, etc.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kill the whole process group (master and child imap processes) and
    /// wait for it to go. Safe to call twice.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &pgid]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let alive = Command::new("kill")
                .args(["-0", "--", &pgid])
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            let _ = child.try_wait();
            if !alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &pgid])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
    }

    /// Stop and start again: same ports, same Maildir, same user.
    pub fn restart(&mut self) {
        self.stop();
        let bin = dovecot_binary();
        if let Err(log) = self.spawn(&bin) {
            self.stop();
            panic!("dovecot did not restart; its log:\n{log}");
        }
    }

    /// On-disk directory of an IMAP folder (Maildir++ layout).
    pub fn folder_dir(&self, folder: &str) -> PathBuf {
        if folder.eq_ignore_ascii_case("INBOX") {
            self.maildir.clone()
        } else {
            self.maildir.join(format!(".{}", folder.replace('/', ".")))
        }
    }

    fn ensure_folder_dirs(&self, folder: &str) -> PathBuf {
        let fdir = self.folder_dir(folder);
        for p in [
            self.maildir.clone(),
            fdir.clone(),
            fdir.join("cur"),
            fdir.join("new"),
            fdir.join("tmp"),
        ] {
            if !p.exists() {
                fs::create_dir_all(&p).unwrap();
                chown_nobody(&p);
            }
        }
        if fdir != self.maildir {
            let marker = fdir.join("maildirfolder");
            if !marker.exists() {
                fs::write(&marker, b"").unwrap();
                chown_nobody(&marker);
            }
        }
        fdir
    }

    /// Put a message into `folder` (created if needed) with the given
    /// INTERNALDATE. Dates later than now are written into the Maildir
    /// directly (see [`Dovecot::deliver_file`]).
    pub fn append(&self, folder: &str, raw: &[u8], internaldate: DateTime<FixedOffset>) {
        self.append_many(folder, &[(raw.to_vec(), internaldate)]);
    }

    /// Several messages over one connection, in order (UIDs ascend).
    pub fn append_many(&self, folder: &str, msgs: &[(Vec<u8>, DateTime<FixedOffset>)]) {
        let now = Utc::now();
        let mut conn: Option<Client> = None;
        for (raw, date) in msgs {
            if date.with_timezone(&Utc) > now {
                self.deliver_file(folder, raw, *date);
                continue;
            }
            let c = conn.get_or_insert_with(|| {
                let mut c = self.client();
                c.create_if_missing(folder);
                c
            });
            c.append(folder, Some("()"), Some(*date), raw);
        }
        if let Some(c) = conn {
            c.logout();
        }
    }

    /// APPEND with explicit flags, e.g. `"(\\Seen)"`.
    pub fn append_with_flags(
        &self,
        folder: &str,
        raw: &[u8],
        flags: &str,
        internaldate: DateTime<FixedOffset>,
    ) {
        let mut c = self.client();
        c.create_if_missing(folder);
        c.append(folder, Some(flags), Some(internaldate), raw);
        c.logout();
    }

    /// Write a message file into `folder`'s `cur/` with mtime = `internaldate`
    /// (Dovecot reports the mtime as INTERNALDATE); no flags. Works for dates
    /// in the future, which APPEND would replace by now.
    pub fn deliver_file(&self, folder: &str, raw: &[u8], internaldate: DateTime<FixedOffset>) {
        let fdir = self.ensure_folder_dirs(folder);
        let n = UNIQUE.fetch_add(1, Ordering::SeqCst);
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap();
        let base = format!(
            "{}.M{}P{}Q{n}.replygate-test",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id()
        );
        let tmp = fdir.join("tmp").join(&base);
        fs::write(&tmp, raw).unwrap();
        let secs = internaldate.timestamp();
        let when = if secs >= 0 {
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        };
        let f = fs::File::options().write(true).open(&tmp).unwrap();
        f.set_modified(when).unwrap();
        drop(f);
        chown_nobody(&tmp);
        fs::rename(&tmp, fdir.join("cur").join(format!("{base}:2,"))).unwrap();
    }

    /// Maildir flags of every message in `folder`, keyed by the file's base
    /// name (stable across Dovecot's new/ -> cur/ move): the letters after
    /// `:2,` (e.g. `"S"` for \Seen), empty for none. Reads the disk only, so
    /// taking a snapshot changes nothing.
    pub fn flags_snapshot(&self, folder: &str) -> BTreeMap<String, String> {
        let fdir = self.folder_dir(folder);
        let mut out = BTreeMap::new();
        for sub in ["new", "cur"] {
            let Ok(rd) = fs::read_dir(fdir.join(sub)) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let (base, flags) = match name.split_once(":2,") {
                    Some((b, f)) => (b.to_string(), f.to_string()),
                    None => (name.clone(), String::new()),
                };
                out.insert(base, flags);
            }
        }
        out
    }

    /// UID -> IMAP flags (e.g. `"\\Seen"`, space separated, sorted) read
    /// over IMAP on an EXAMINE'd folder (read-only; \Recent left out).
    pub fn uid_flags(&self, folder: &str) -> BTreeMap<u32, String> {
        let mut c = self.client();
        c.command(&format!("EXAMINE {}", quote(folder)));
        let lines = c.command("UID FETCH 1:* (UID FLAGS)");
        c.logout();
        let re = regex::Regex::new(r"UID (\d+)").unwrap();
        let fl = regex::Regex::new(r"FLAGS \(([^)]*)\)").unwrap();
        let mut out = BTreeMap::new();
        for l in lines.iter().filter(|l| l.contains(" FETCH ")) {
            let uid: u32 = re.captures(l).unwrap()[1].parse().unwrap();
            let mut flags: Vec<&str> = fl
                .captures(l)
                .map(|c| c.get(1).unwrap().as_str())
                .unwrap_or("")
                .split_whitespace()
                .filter(|f| *f != "\\Recent")
                .collect();
            flags.sort();
            out.insert(uid, flags.join(" "));
        }
        out
    }

    /// UIDVALIDITY of a folder (via STATUS).
    pub fn uidvalidity(&self, folder: &str) -> u32 {
        let mut c = self.client();
        let lines = c.command(&format!("STATUS {} (UIDVALIDITY)", quote(folder)));
        c.logout();
        let re = regex::Regex::new(r"UIDVALIDITY (\d+)").unwrap();
        lines
            .iter()
            .find_map(|l| re.captures(l).map(|c| c[1].parse().unwrap()))
            .unwrap_or_else(|| panic!("no UIDVALIDITY for {folder}: {lines:?}"))
    }

    pub fn create_folder(&self, folder: &str) {
        let mut c = self.client();
        c.create_if_missing(folder);
        c.logout();
    }

    /// DELETE the folder (its messages go with it). Recreate it with
    /// `create_folder` to get a new UIDVALIDITY.
    pub fn delete_folder(&self, folder: &str) {
        let mut c = self.client();
        c.command(&format!("DELETE {}", quote(folder)));
        c.logout();
    }

    /// Names of all folders (LIST "" "*").
    pub fn folders(&self) -> Vec<String> {
        let mut c = self.client();
        let lines = c.command("LIST \"\" \"*\"");
        c.logout();
        lines
            .iter()
            .filter(|l| l.starts_with("* LIST "))
            .map(|l| {
                let name = l.rsplit_once(' ').map(|(_, n)| n).unwrap_or("").trim();
                name.trim_matches('"').to_string()
            })
            .collect()
    }

    /// A logged-in blocking IMAP client on the plain port.
    pub fn client(&self) -> Client {
        let mut c = Client::connect(self.port);
        c.command(&format!("LOGIN {} {}", quote(&self.user), quote(&self.password)));
        c
    }

    /// `[imap]` section for a config file: plain on the loopback port.
    pub fn config_toml(&self) -> String {
        format!(
            "[imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"{}\"\n\
             password_file = \"{}\"\ninbox = [\"INBOX\"]\nsent = [\"Sent\"]\n",
            self.port,
            self.user,
            self.password_file.display()
        )
    }

    /// `[imap]` section using implicit TLS with the test certificate.
    pub fn config_toml_tls(&self) -> String {
        format!(
            "[imap]\nhost = \"localhost\"\nport = {}\nsecurity = \"tls\"\nusername = \"{}\"\n\
             password_file = \"{}\"\nca_file = \"{}\"\ninbox = [\"INBOX\"]\nsent = [\"Sent\"]\n",
            self.tls_port,
            self.user,
            self.password_file.display(),
            self.ca_pem.display()
        )
    }

    /// The plain-loopback `[imap]` section as the library's type.
    pub fn imap_config(&self) -> replygate::config::ImapConfig {
        parse_imap(&self.config_toml())
    }

    /// The implicit-TLS `[imap]` section as the library's type.
    pub fn imap_config_tls(&self) -> replygate::config::ImapConfig {
        parse_imap(&self.config_toml_tls())
    }
}

fn parse_imap(text: &str) -> replygate::config::ImapConfig {
    #[derive(serde::Deserialize)]
    struct W {
        imap: replygate::config::ImapConfig,
    }
    toml::from_str::<W>(text).expect("parse [imap] snippet").imap
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Variations of the test server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Accept XOAUTH2 / OAUTHBEARER tokens, validated at this RFC 7662
    /// introspection URL (Dovecot's `oauth2` passdb); passwords still work.
    pub introspection_url: Option<String>,
    /// Leave IDLE out of the capabilities (Dovecot still accepts the
    /// command, so a client must check).
    pub no_idle: bool,
}

/// The server's config: the template shared with scripts/demo and
/// scripts/bench-* (which fill it with scripts/lib/dovecot.sh).
const CONFIG_TEMPLATE: &str = include_str!("dovecot.conf.in");

fn config_text(root: &Path, port: u16, tls_port: u16, opts: &Options) -> String {
    let r = root.display();
    let mut extra = String::new();
    if let Some(url) = &opts.introspection_url {
        fs::write(
            root.join("dovecot-oauth2.conf.ext"),
            format!(
                "introspection_url = {url}\nintrospection_mode = post\nforce_introspection = yes\n\
                 username_attribute = email\nactive_attribute = active\nactive_value = true\n"
            ),
        )
        .unwrap();
        extra.push_str(&format!(
            "auth_mechanisms = plain login xoauth2 oauthbearer\n\
             passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {r}/dovecot-oauth2.conf.ext\n}}\n\
             service anvil {{\n  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n}}\n"
        ));
    }
    if opts.no_idle {
        extra.push_str(
            "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH SEARCHRES LIST-STATUS BINARY MOVE LITERAL+ SPECIAL-USE\n",
        );
    }
    fill_config(root, port, tls_port, &extra)
}

/// The template filled in as scripts/lib/dovecot.sh does: `tls_port` 0
/// means no TLS at all; `extra` goes last.
fn fill_config(root: &Path, port: u16, tls_port: u16, extra: &str) -> String {
    let tls = tls_port != 0;
    CONFIG_TEMPLATE
        .replace("@BASE_DIR@", &root.display().to_string())
        .replace("@IMAP_PORT@", &port.to_string())
        .replace("@IMAPS_PORT@", &tls_port.to_string())
        .replace("@SSL@", if tls { "yes" } else { "no" })
        .replace("\n@TLS@", if tls { "\n" } else { "\n#" })
        .replace("@EXTRA@\n", extra)
}

/// IMAP quoted string.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A minimal blocking IMAP client for test set-up. Panics on any NO/BAD
/// except where a method says otherwise.
pub struct Client {
    r: BufReader<TcpStream>,
    tag: u32,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to test dovecot");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut c = Client {
            r: BufReader::new(s),
            tag: 0,
        };
        let greeting = c.read_line();
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        c
    }

    fn read_line(&mut self) -> String {
        let mut buf = Vec::new();
        self.r.read_until(b'\n', &mut buf).expect("read from dovecot");
        assert!(!buf.is_empty(), "dovecot closed the connection");
        let mut line = String::from_utf8_lossy(&buf).into_owned();
        // A literal: read its bytes and the rest of the line.
        while let Some(n) = literal_len(&line) {
            let mut lit = vec![0u8; n];
            self.r.read_exact(&mut lit).unwrap();
            line.push_str(&String::from_utf8_lossy(&lit));
            let mut rest = Vec::new();
            self.r.read_until(b'\n', &mut rest).unwrap();
            line.push_str(&String::from_utf8_lossy(&rest));
        }
        line
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("t{}", self.tag)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.r.get_mut().write_all(bytes).unwrap();
    }

    /// Run a command; returns the untagged lines; panics unless OK.
    pub fn command(&mut self, cmd: &str) -> Vec<String> {
        let (ok, lines) = self.try_command(cmd);
        assert!(ok, "IMAP {cmd:?} failed: {lines:?}");
        lines
    }

    /// Run a command; returns (tagged OK?, all lines incl. the tagged one).
    pub fn try_command(&mut self, cmd: &str) -> (bool, Vec<String>) {
        let tag = self.next_tag();
        self.write(format!("{tag} {cmd}\r\n").as_bytes());
        self.finish(&tag)
    }

    fn finish(&mut self, tag: &str) -> (bool, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line();
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                let ok = rest.starts_with("OK");
                lines.push(line);
                return (ok, lines);
            }
            lines.push(line);
        }
    }

    pub fn create_if_missing(&mut self, folder: &str) {
        if folder.eq_ignore_ascii_case("INBOX") {
            return;
        }
        let (ok, lines) = self.try_command(&format!("CREATE {}", quote(folder)));
        let exists = lines.iter().any(|l| l.contains("ALREADYEXISTS"));
        assert!(ok || exists, "CREATE {folder} failed: {lines:?}");
    }

    pub fn append(
        &mut self,
        folder: &str,
        flags: Option<&str>,
        date: Option<DateTime<FixedOffset>>,
        raw: &[u8],
    ) {
        let tag = self.next_tag();
        let mut cmd = format!("{tag} APPEND {}", quote(folder));
        if let Some(f) = flags {
            cmd.push(' ');
            cmd.push_str(f);
        }
        if let Some(d) = date {
            cmd.push_str(&format!(" \"{}\"", d.format("%d-%b-%Y %H:%M:%S %z")));
        }
        cmd.push_str(&format!(" {{{}}}\r\n", raw.len()));
        self.write(cmd.as_bytes());
        let cont = self.read_line();
        assert!(cont.starts_with('+'), "APPEND not continued: {cont}");
        self.write(raw);
        self.write(b"\r\n");
        let (ok, lines) = self.finish(&tag);
        assert!(ok, "APPEND to {folder} failed: {lines:?}");
    }

    pub fn logout(mut self) {
        let _ = self.try_command("LOGOUT");
    }
}

fn literal_len(line: &str) -> Option<usize> {
    let t = line.strip_suffix("\r\n").or_else(|| line.strip_suffix('\n'))?;
    let t = t.strip_suffix('}')?;
    let open = t.rfind('{')?;
    t[open + 1..].parse().ok()
}
