//! The SMTP edge: sends a composed [`Outgoing`] message through the
//! configured submission server with lettre (async, tokio, rustls).
//!
//! Security (`smtp.security`):
//! - `tls`: implicit TLS from the first byte (tokio-rustls, the TLS
//!   configuration shared with IMAP, see [`crate::tls`]);
//! - `starttls`: STARTTLS is required (lettre's `starttls`): a server that
//!   does not offer it gets no credentials and no mail;
//! - `plain`: no encryption, refused unless the host is loopback
//!   (`localhost`, 127.0.0.0/8, `::1`).
//!
//! Certificates are checked against the webpki (Mozilla) roots plus, when
//! `smtp.ca_file` is set, the certificates in that PEM file. AUTH is used when
//! both `smtp.username` and a password are given. Every command has a 30 s
//! timeout. The password is never part of an error or a log line (lettre's
//! errors do not carry it, and [`Mailer`]'s `Debug` leaves it out).
//!
//! Error mapping ([`SendError`]), from lettre's error API:
//! - `is_permanent()` (a 5xx reply) → [`SendError::Permanent`]: this message
//!   will never go as it is (e.g. `550 no such user`, `552 too big`). Except
//!   5xx replies that are about our login, not the message (530, 534, 535,
//!   538): those are [`SendError::Temporary`], since a fixed password lets
//!   the same message go.
//! - everything else → [`SendError::Temporary`]: `is_transient()` (4xx),
//!   connection refused / reset, DNS, TLS handshake, timeouts
//!   (`is_timeout()`), an unparsable reply, a client-side error. The caller
//!   keeps the message in its outbox and tries again later.
//!
//! A 5xx for one recipient aborts the whole transaction (lettre sends to all
//! recipients or none), so it is `Permanent` for the whole message.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::Address;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::{Security, SmtpConfig};
use crate::outbound::compose::Outgoing;

/// Timeout of each SMTP command (and of the connection).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A problem with the SMTP configuration, found before any connection.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("smtp.security = \"plain\" sends the password and mail unencrypted and is only allowed to a loopback host (localhost, 127.0.0.1, ::1), not \"{0}\"; use \"starttls\" or \"tls\"")]
    PlainNotLoopback(String),
    #[error("smtp.username is set but no password was given: set smtp.password_file or smtp.password_env")]
    MissingPassword,
    #[error("cannot use smtp.ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("smtp.from \"{0}\" is not a valid address (expected \"Name <address>\" or \"address\")")]
    From(String),
    #[error("cannot set up TLS for SMTP host \"{host}\": {reason}")]
    Tls { host: String, reason: String },
}

/// Why a message did not go. The text never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (4xx, connection, TLS, timeout, login refused).
    #[error("temporary SMTP failure: {0}")]
    Temporary(String),
    /// The server refused this message for good (5xx).
    #[error("SMTP server refused the message: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

/// An SMTP client for the configured server. Cheap to clone (clones share
/// the connections).
///
/// Up to `smtp.connections` connections, each carrying one transaction at a
/// time: [`Mailer::send`] takes a free one (an open one first), opening it
/// on first use, and waits when all are busy; the outbox's flush runs that
/// many sends at once. A connection is reused for the following messages
/// (one SMTP transaction each); one idle for more
/// than [`IDLE_CHECK`] is checked with NOOP before reuse, one that failed in
/// any way is closed and replaced, and a transaction that fails on a reused
/// connection without any SMTP reply is tried once more on a new one. The socket has
/// `TCP_NODELAY` set: lettre writes the message and the final `.` in two
/// writes, and with Nagle's algorithm the second waits for the server's
/// delayed ACK (40 ms on Linux), which capped sending at ~22 messages/s
/// (measured by scripts/bench-send). lettre's own transport gives no access
/// to the socket, so the connection is set up here with lettre's
/// [`AsyncSmtpConnection`] (greeting, EHLO, STARTTLS, AUTH, transactions).
///
/// [`Mailer::new`] needs no async runtime (so `check-config` can use it).
#[derive(Clone)]
pub struct Mailer {
    host: String,
    port: u16,
    mode: Mode,
    hello: ClientId,
    credentials: Option<Credentials>,
    /// `smtp.connections` slots, each an open connection or none yet.
    conns: Arc<Vec<tokio::sync::Mutex<Option<Live>>>>,
    /// `host:port` for messages.
    server: String,
    /// The envelope sender: the address of `smtp.from`.
    gateway: Address,
}

/// How the connection is secured.
#[derive(Clone)]
enum Mode {
    Plain,
    Starttls(TlsParameters),
    Tls(Arc<rustls::ClientConfig>),
}

/// An open, reusable connection.
struct Live {
    conn: AsyncSmtpConnection,
    last_used: Instant,
}

/// A connection idle longer than this is checked with NOOP before reuse.
pub const IDLE_CHECK: Duration = Duration::from_secs(10);

/// Implicit TLS stream handed to lettre (which needs its `AsyncTokioStream`).
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .field("gateway", &self.gateway.to_string())
            .finish_non_exhaustive()
    }
}

pub use crate::config::is_loopback_host;

impl Mailer {
    /// Builds the client; connects lazily on the first [`Mailer::send`].
    pub fn new(cfg: &SmtpConfig, password: Option<&str>) -> Result<Mailer, SmtpError> {
        let from: lettre::message::Mailbox = cfg
            .from
            .trim()
            .parse()
            .map_err(|_| SmtpError::From(cfg.from.clone()))?;
        let gateway = from.email;
        let host = cfg.host.trim().to_string();

        let tls_params = || -> Result<TlsParameters, SmtpError> {
            let mut b = TlsParameters::builder(host.clone());
            if let Some(path) = &cfg.ca_file {
                let pem = std::fs::read(path).map_err(|e| SmtpError::CaFile {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                    return Err(SmtpError::CaFile {
                        path: path.display().to_string(),
                        reason: "no \"-----BEGIN CERTIFICATE-----\" block: expected PEM certificates".into(),
                    });
                }
                let cert = Certificate::from_pem(&pem).map_err(|e| SmtpError::CaFile {
                    path: path.display().to_string(),
                    reason: format!("not a PEM certificate file ({e})"),
                })?;
                b = b.add_root_certificate(cert);
            }
            b.build().map_err(|e| SmtpError::Tls {
                host: host.clone(),
                reason: e.to_string(),
            })
        };
        let mode = match cfg.security {
            Security::Tls => {
                // Same checks and messages as for STARTTLS, then the rustls
                // configuration shared with IMAP (webpki roots + ca_file).
                tls_params()?;
                let cc =
                    crate::tls::client_config(cfg.ca_file.as_deref()).map_err(|e| SmtpError::CaFile {
                        path: cfg
                            .ca_file
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        reason: e.to_string(),
                    })?;
                Mode::Tls(cc)
            }
            Security::Starttls => Mode::Starttls(tls_params()?),
            Security::Plain => {
                if !is_loopback_host(&host) {
                    return Err(SmtpError::PlainNotLoopback(host));
                }
                Mode::Plain
            }
        };

        let hello = ClientId::Domain(gateway.domain().to_string());
        let credentials = match (&cfg.username, password) {
            (Some(user), Some(pw)) => Some(Credentials::new(user.clone(), pw.to_string())),
            (Some(_), None) => return Err(SmtpError::MissingPassword),
            (None, _) => None,
        };
        Ok(Mailer {
            server: format!("{host}:{}", cfg.port),
            host,
            port: cfg.port,
            mode,
            hello,
            credentials,
            conns: Arc::new(
                (0..cfg.connections.max(1))
                    .map(|_| tokio::sync::Mutex::new(None))
                    .collect(),
            ),
            gateway,
        })
    }

    /// Open, secure and log in a new connection (each step within [`TIMEOUT`]).
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tmp = |what: &str, e: &dyn std::fmt::Display| {
            SendError::Temporary(format!("{}: {what}: {e}", self.server))
        };
        let timed = |what: &'static str| {
            move |_| SendError::Temporary(format!("{}: {what} (timed out)", self.server))
        };
        let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect((self.host.as_str(), self.port)))
            .await
            .map_err(timed("connecting"))?
            .map_err(|e| tmp("cannot connect", &e))?;
        tcp.set_nodelay(true)
            .map_err(|e| tmp("setting TCP_NODELAY", &e))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.mode {
            Mode::Tls(cc) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| tmp("not a valid TLS server name", &e))?;
                let tls = tokio::time::timeout(
                    TIMEOUT,
                    tokio_rustls::TlsConnector::from(cc.clone()).connect(name, tcp),
                )
                .await
                .map_err(timed("TLS handshake"))?
                .map_err(|e| tmp("TLS handshake failed", &e))?;
                Box::new(TlsTcp(tls))
            }
            _ => Box::new(tcp),
        };
        let mut conn = tokio::time::timeout(
            TIMEOUT,
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello),
        )
        .await
        .map_err(timed("greeting and EHLO"))?
        .map_err(|e| classify(&e, &self.server))?;
        if let Mode::Starttls(params) = &self.mode {
            tokio::time::timeout(TIMEOUT, conn.starttls(params.clone(), &self.hello))
                .await
                .map_err(timed("STARTTLS"))?
                .map_err(|e| classify(&e, &self.server))?;
        }
        if let Some(c) = &self.credentials {
            tokio::time::timeout(TIMEOUT, conn.auth(DEFAULT_MECHANISMS, c))
                .await
                .map_err(timed("AUTH"))?
                .map_err(|e| classify(&e, &self.server))?;
        }
        Ok(conn)
    }

    /// How many transactions may run at once (`smtp.connections`).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// A free connection slot: one with an open connection first, else an
    /// empty one, else the first to become free.
    async fn slot(&self) -> tokio::sync::MutexGuard<'_, Option<Live>> {
        let mut empty = None;
        for m in self.conns.iter() {
            if let Ok(g) = m.try_lock() {
                if g.is_some() {
                    return g;
                }
                if empty.is_none() {
                    empty = Some(g);
                }
            }
        }
        if let Some(g) = empty {
            return g;
        }
        let waits = self.conns.iter().map(|m| Box::pin(m.lock()));
        futures::future::select_all(waits).await.0
    }

    /// The envelope sender used for every message.
    pub fn gateway(&self) -> &Address {
        &self.gateway
    }

    /// Sends `out.raw` with MAIL FROM = the gateway address and RCPT TO =
    /// `out.to` + `out.cc`.
    pub async fn send(&self, out: &Outgoing) -> Result<(), SendError> {
        let mut rcpts: Vec<Address> = Vec::new();
        for r in out.to.iter().chain(out.cc.iter()) {
            let a: Address = r
                .parse()
                .map_err(|e| SendError::Permanent(format!("invalid recipient address \"{r}\": {e}")))?;
            if !rcpts.contains(&a) {
                rcpts.push(a);
            }
        }
        let envelope = Envelope::new(Some(self.gateway.clone()), rcpts)
            .map_err(|e| SendError::Permanent(format!("cannot build the envelope: {e}")))?;
        let mut slot = self.slot().await;
        // A connection idle for a while is checked with NOOP first (as
        // lettre's pool does): servers close idle connections.
        if let Some(live) = slot.as_mut() {
            let sound = !live.conn.has_broken()
                && (live.last_used.elapsed() < IDLE_CHECK
                    || tokio::time::timeout(TIMEOUT, live.conn.test_connected())
                        .await
                        .unwrap_or(false));
            if !sound {
                *slot = None;
            }
        }
        // MAIL, RCPT, DATA and the message: each command has TIMEOUT, so the
        // whole transaction gets at most (3 + recipients) of them.
        let limit = TIMEOUT * (3 + envelope.to().len() as u32);
        let mut reused = slot.is_some();
        loop {
            let live = match slot.as_mut() {
                Some(l) => l,
                None => slot.insert(Live {
                    conn: self.connect().await?,
                    last_used: Instant::now(),
                }),
            };
            let res = tokio::time::timeout(limit, live.conn.send(&envelope, &out.raw)).await;
            live.last_used = Instant::now();
            match res {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => {
                    // lettre closes the connection after any error.
                    *slot = None;
                    // A reused connection that failed without an SMTP reply
                    // (the server closed or restarted meanwhile): once more
                    // on a new connection. This can repeat a message only
                    // if the server accepted it and the reply was lost,
                    // which a later retry would repeat just the same.
                    if reused && e.status().is_none() {
                        tracing::debug!(server = %self.server, error = %e, "reused SMTP connection failed; reconnecting");
                        reused = false;
                        continue;
                    }
                    return Err(classify(&e, &self.server));
                }
                Err(_) => {
                    *slot = None;
                    return Err(SendError::Temporary(format!(
                        "{}: the SMTP transaction timed out",
                        self.server
                    )));
                }
            }
        }
    }

    /// Say QUIT on the open connections, if any (polite shutdown).
    pub async fn close(&self) {
        for m in self.conns.iter() {
            if let Some(mut live) = m.lock().await.take() {
                let _ = tokio::time::timeout(Duration::from_secs(5), live.conn.quit()).await;
            }
        }
    }
}

/// Maps a lettre error to [`SendError`] (see the module documentation).
fn classify(e: &lettre::transport::smtp::Error, server: &str) -> SendError {
    let mut msg = format!("{server}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    let code = e.status().map(|c| c.to_string());
    let auth_code = matches!(code.as_deref(), Some("530" | "534" | "535" | "538"));
    if e.is_permanent() && !auth_code {
        SendError::Permanent(msg)
    } else if auth_code {
        SendError::Temporary(format!(
            "{msg} (login refused: check smtp.username and the password)"
        ))
    } else if e.is_timeout() {
        SendError::Temporary(format!("{msg} (timed out)"))
    } else {
        SendError::Temporary(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(host: &str, security: Security) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: 2525,
            security,
            username: None,
            password_file: None,
            password_env: None,
            ca_file: None,
            from: "Sabiedrības integrācijas fonds <pasts@sif.gov.lv>".into(),
            save_copy_to: None,
            connections: 4,
        }
    }

    #[test]
    fn plain_only_on_loopback() {
        assert!(matches!(
            Mailer::new(&cfg("smtp.example.lv", Security::Plain), None),
            Err(SmtpError::PlainNotLoopback(_))
        ));
        assert!(Mailer::new(&cfg("127.0.0.1", Security::Plain), None).is_ok());
        assert!(Mailer::new(&cfg("smtp.example.lv", Security::Starttls), None).is_ok());
        assert!(Mailer::new(&cfg("smtp.example.lv", Security::Tls), None).is_ok());
    }

    #[test]
    fn config_errors() {
        let mut c = cfg("smtp.example.lv", Security::Starttls);
        c.username = Some("pasts@sif.gov.lv".into());
        assert!(matches!(Mailer::new(&c, None), Err(SmtpError::MissingPassword)));
        let m = Mailer::new(&c, Some("s3cr3t-Pa55")).unwrap();
        assert!(!format!("{m:?}").contains("s3cr3t"));
        assert_eq!(m.gateway().to_string(), "pasts@sif.gov.lv");

        let mut c = cfg("smtp.example.lv", Security::Tls);
        c.ca_file = Some("/nonexistent/ca.pem".into());
        let e = Mailer::new(&c, None).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(
            &p,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        c.ca_file = Some(p.clone());
        assert!(matches!(Mailer::new(&c, None), Err(SmtpError::CaFile { .. })));
        std::fs::write(&p, [0x30u8, 0x82, 0x01]).unwrap();
        assert!(matches!(Mailer::new(&c, None), Err(SmtpError::CaFile { .. })));

        let mut c = cfg("smtp.example.lv", Security::Tls);
        c.from = "not an address".into();
        assert!(matches!(Mailer::new(&c, None), Err(SmtpError::From(_))));
    }
}
