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
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use lettre::Address;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::auth::{sasl, Login, TokenSource};
use crate::config::secret::Secret;
use crate::config::{AuthMethod, Security, SmtpConfig};
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
    login: Option<SmtpLogin>,
    /// `smtp.connections` slots, each an open connection or none yet.
    conns: Arc<Vec<tokio::sync::Mutex<Option<Live>>>>,
    /// `host:port` for messages.
    server: String,
    /// The envelope sender: the address of `smtp.from`.
    gateway: Address,
}

/// How the connection authenticates.
#[derive(Clone)]
enum SmtpLogin {
    Password(Credentials),
    Token {
        mechanism: AuthMethod,
        user: String,
        tokens: Arc<TokenSource>,
    },
}

/// Why a token login did not succeed.
enum TokenAuthError {
    /// The server refused the token (535 and the like).
    Refused(SendError),
    Other(SendError),
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
    /// The server offers PIPELINING (RFC 2920): [`send_pipelined`].
    pipelining: bool,
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
    /// Builds the client with a password (or none); connects lazily on the
    /// first [`Mailer::send`].
    pub fn new(cfg: &SmtpConfig, password: Option<&str>) -> Result<Mailer, SmtpError> {
        Mailer::with_login(cfg, password.map(|p| Login::Password(Secret::new(p))))
    }

    /// Builds the client with a password or an OAuth 2.0 token source
    /// (`None`: no AUTH); connects lazily on the first [`Mailer::send`].
    pub fn with_login(cfg: &SmtpConfig, login: Option<Login>) -> Result<Mailer, SmtpError> {
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
        let login = match (&cfg.username, login) {
            (Some(user), Some(Login::Password(pw))) => Some(SmtpLogin::Password(Credentials::new(
                user.clone(),
                pw.expose().to_string(),
            ))),
            (Some(user), Some(Login::Token { mechanism, tokens })) => Some(SmtpLogin::Token {
                mechanism,
                user: user.clone(),
                tokens,
            }),
            (Some(_), None) => return Err(SmtpError::MissingPassword),
            (None, _) => None,
        };
        Ok(Mailer {
            server: format!("{host}:{}", cfg.port),
            host,
            port: cfg.port,
            mode,
            hello,
            login,
            conns: Arc::new(
                (0..cfg.connections.max(1))
                    .map(|_| tokio::sync::Mutex::new(None))
                    .collect(),
            ),
            gateway,
        })
    }

    /// Open, secure and log in a new connection (each step within
    /// [`TIMEOUT`]). A refused token is replaced by a new one from the
    /// token endpoint and the login tried once more at once, on a new
    /// connection.
    async fn connect(&self) -> Result<(AsyncSmtpConnection, bool), SendError> {
        let (mut conn, mut pipelining) = self.open().await?;
        match &self.login {
            None => {}
            Some(SmtpLogin::Password(c)) => {
                tokio::time::timeout(TIMEOUT, conn.auth(DEFAULT_MECHANISMS, c))
                    .await
                    .map_err(|_| SendError::Temporary(format!("{}: AUTH (timed out)", self.server)))?
                    .map_err(|e| classify(&e, &self.server))?;
            }
            Some(SmtpLogin::Token {
                mechanism,
                user,
                tokens,
            }) => {
                let token = tokens.token().await.map_err(token_error)?;
                match self.auth_token(&mut conn, *mechanism, user, &token).await {
                    Ok(()) => {}
                    Err(TokenAuthError::Other(e)) => return Err(e),
                    Err(TokenAuthError::Refused(e)) => {
                        tracing::info!(server = %self.server, error = %e, "SMTP refused the OAuth 2.0 token; fetching a new one");
                        conn.abort().await;
                        let fresh = tokens.after_refusal(&token).await.map_err(token_error)?;
                        (conn, pipelining) = self.open().await?;
                        self.auth_token(&mut conn, *mechanism, user, &fresh)
                            .await
                            .map_err(|(TokenAuthError::Refused(e) | TokenAuthError::Other(e))| e)?;
                    }
                }
            }
        }
        Ok((conn, pipelining))
    }

    /// SASL XOAUTH2 / OAUTHBEARER with `token` (the initial response on
    /// the AUTH line; the server's error challenge is answered as the
    /// mechanism wants, then its 5xx is a refusal).
    async fn auth_token(
        &self,
        conn: &mut AsyncSmtpConnection,
        mechanism: AuthMethod,
        user: &str,
        token: &Secret,
    ) -> Result<(), TokenAuthError> {
        use base64::Engine as _;
        let name = sasl::mechanism_name(mechanism);
        let b64 = base64::engine::general_purpose::STANDARD;
        let line = format!(
            "AUTH {name} {}\r\n",
            b64.encode(sasl::initial_response(mechanism, user, token.expose()))
        );
        let timeout = |_| {
            TokenAuthError::Other(SendError::Temporary(format!(
                "{}: AUTH {name} (timed out)",
                self.server
            )))
        };
        let refused = |e: lettre::transport::smtp::Error| {
            let code = e.status().map(|c| c.to_string());
            let msg = format!(
                "{}: AUTH {name} refused: {e}; check smtp.username and that the application may send as this mailbox (Microsoft 365: SMTP.SendAsApp, see README)",
                self.server
            );
            if matches!(code.as_deref(), Some("535" | "534" | "530" | "538")) {
                TokenAuthError::Refused(SendError::Temporary(msg))
            } else {
                TokenAuthError::Other(classify(&e, &self.server))
            }
        };
        let resp = tokio::time::timeout(TIMEOUT, conn.command(line))
            .await
            .map_err(timeout)?
            .map_err(refused)?;
        if resp.has_code(334) {
            let ack = b64.encode(sasl::error_ack(mechanism));
            let r = tokio::time::timeout(TIMEOUT, conn.command(format!("{ack}\r\n")))
                .await
                .map_err(timeout)?;
            return Err(match r {
                Err(e) => refused(e),
                Ok(_) => TokenAuthError::Other(SendError::Temporary(format!(
                    "{}: AUTH {name}: the server went on after refusing the token",
                    self.server
                ))),
            });
        }
        tracing::debug!(server = %self.server, mechanism = name, "SMTP login ok");
        Ok(())
    }

    /// TCP, TLS or STARTTLS, greeting and EHLO; and whether the server
    /// offers PIPELINING.
    async fn open(&self) -> Result<(AsyncSmtpConnection, bool), SendError> {
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
        // lettre keeps only the EHLO keywords it uses itself, and not
        // PIPELINING: EHLO once more (allowed at any time, RFC 5321
        // 4.1.4), before any AUTH, and read the keywords here.
        let ehlo = tokio::time::timeout(TIMEOUT, conn.command(Ehlo::new(self.hello.clone())))
            .await
            .map_err(timed("EHLO"))?
            .map_err(|e| classify(&e, &self.server))?;
        let pipelining = ehlo.message().skip(1).any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
        });
        Ok((conn, pipelining))
    }

    /// Connect, secure and log in (as for a message), then QUIT: for
    /// `check-config --online`. Says how it logged in.
    pub async fn check_login(&self) -> Result<String, SendError> {
        let (mut conn, _) = self.connect().await?;
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.quit()).await;
        Ok(match &self.login {
            None => "connected (no AUTH: smtp.username is not set)".to_string(),
            Some(SmtpLogin::Password(_)) => "logged in with the password".to_string(),
            Some(SmtpLogin::Token { mechanism, user, .. }) => {
                format!("logged in as {user} with {}", sasl::mechanism_name(*mechanism))
            }
        })
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
                None => {
                    let (conn, pipelining) = self.connect().await?;
                    slot.insert(Live {
                        conn,
                        last_used: Instant::now(),
                        pipelining,
                    })
                }
            };
            let res = if live.pipelining {
                tokio::time::timeout(limit, send_pipelined(&mut live.conn, &envelope, &out.raw)).await
            } else {
                tokio::time::timeout(limit, live.conn.send(&envelope, &out.raw)).await
            };
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

fn token_error(e: crate::auth::TokenError) -> SendError {
    SendError::Temporary(format!("no OAuth 2.0 token for SMTP: {e}"))
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

/// One transaction with PIPELINING (RFC 2920): MAIL, the RCPTs and DATA
/// in one write, their replies read in order, then the message: two round
/// trips instead of lettre's three plus one per recipient (a server at
/// 20 ms is 40 ms a message instead of 80). Mail lettre would treat
/// specially (non-ASCII addresses: SMTPUTF8; a non-ASCII message to a
/// server without 8BITMIME: refused) goes through lettre's own `send`.
/// Any error: the caller drops the connection (replies may be left
/// unread on it), as lettre does.
async fn send_pipelined(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    raw: &[u8],
) -> Result<Response, lettre::transport::smtp::Error> {
    let ascii_addresses = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .all(|a: &Address| AsRef::<str>::as_ref(a).is_ascii());
    let eight_bit = !raw.is_ascii();
    let has_8bitmime = conn.server_info().supports_feature(Extension::EightBitMime);
    if !ascii_addresses || (eight_bit && !has_8bitmime) {
        return conn.send(envelope, raw).await;
    }
    let params = if eight_bit {
        vec![MailParameter::Body(MailBodyParameter::EightBitMime)]
    } else {
        Vec::new()
    };
    let mut group = Mail::new(envelope.from().cloned(), params).to_string();
    for to in envelope.to() {
        group.push_str(&Rcpt::new(to.clone(), Vec::new()).to_string());
    }
    group.push_str(&Data.to_string());
    conn.command(group).await?; // MAIL's reply
    for _ in envelope.to() {
        conn.read_response().await?; // each RCPT's
    }
    conn.read_response().await?; // DATA's 354
    conn.message(raw).await
}

/// A scripted SMTP server on 127.0.0.1 for the tests of the sending
/// code's protocol steps (what smtp-sink cannot be told to do: refuse after
/// a count, or not offer PIPELINING). It records each command line and
/// whether more input was already waiting behind it (pipelined).
#[cfg(test)]
pub(crate) mod scripted {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    pub struct Script {
        /// Offer PIPELINING in the EHLO reply.
        pub pipelining: bool,
        /// Messages accepted before every MAIL FROM is answered 451.
        pub accept: usize,
        /// A RCPT TO line containing this is answered 550 (empty: none).
        pub refuse_rcpt: &'static str,
    }

    pub struct Server {
        pub port: u16,
        /// Messages accepted.
        pub accepted: Arc<AtomicUsize>,
        /// Each command line and whether more input was already waiting
        /// behind it when it was read.
        pub commands: Arc<Mutex<Vec<(String, bool)>>>,
    }

    /// The settings of a [`super::Mailer`] for a server on 127.0.0.1 at `port`.
    pub fn config(port: u16) -> crate::config::SmtpConfig {
        crate::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: crate::config::Security::Plain,
            username: None,
            auth: Default::default(),
            password_file: None,
            password_env: None,
            ca_file: None,
            from: "Sabiedrības integrācijas fonds <pasts@sif.gov.lv>".into(),
            save_copy_to: None,
            connections: 4,
        }
    }

    pub async fn start(script: Script) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let (count, log) = (accepted.clone(), commands.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (count, log, script) = (count.clone(), log.clone(), script.clone());
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    w.write_all(b"220 test ESMTP\r\n").await.ok();
                    let mut data = false;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match r.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let l = line.trim_end().to_string();
                        let reply: String = if data {
                            if l != "." {
                                continue;
                            }
                            data = false;
                            count.fetch_add(1, Ordering::SeqCst);
                            "250 2.0.0 queued\r\n".into()
                        } else {
                            log.lock().unwrap().push((l.clone(), !r.buffer().is_empty()));
                            let verb = l.get(..4).unwrap_or("").to_ascii_uppercase();
                            match verb.as_str() {
                                "EHLO" if script.pipelining => {
                                    "250-test\r\n250-PIPELINING\r\n250 8BITMIME\r\n".into()
                                }
                                "EHLO" => "250-test\r\n250 8BITMIME\r\n".into(),
                                "MAIL" if count.load(Ordering::SeqCst) >= script.accept => {
                                    "451 4.3.0 out of resources\r\n".into()
                                }
                                "RCPT"
                                    if !script.refuse_rcpt.is_empty() && l.contains(script.refuse_rcpt) =>
                                {
                                    "550 5.1.1 no such user\r\n".into()
                                }
                                "DATA" => {
                                    data = true;
                                    "354 go on\r\n".into()
                                }
                                "QUIT" => {
                                    w.write_all(b"221 bye\r\n").await.ok();
                                    return;
                                }
                                _ => "250 ok\r\n".into(),
                            }
                        };
                        if w.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Server {
            port,
            accepted,
            commands,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(host: &str, security: Security) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            security,
            auth: AuthMethod::Password,
            ..scripted::config(2525)
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

    fn outgoing(to: &[&str], n: usize) -> Outgoing {
        Outgoing {
            message_id: format!("m{n}@sif.gov.lv"),
            from: "pasts@sif.gov.lv".into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            cc: vec![],
            subject: String::new(),
            raw: format!("From: pasts@sif.gov.lv\r\nSubject: {n}\r\n\r\nLabdien, ā!\r\n").into_bytes(),
        }
    }

    /// A server offering PIPELINING gets MAIL, the RCPTs and DATA of a
    /// message in one write; one that does not gets each command after
    /// the reply to the one before (RFC 2920). Either way the message
    /// arrives, 8BITMIME declared for its non-ASCII body.
    #[tokio::test]
    async fn pipelining_only_where_offered() {
        for pipelining in [true, false] {
            let server = scripted::start(scripted::Script {
                pipelining,
                accept: usize::MAX,
                refuse_rcpt: "",
            })
            .await;
            let m = Mailer::new(&scripted::config(server.port), None).unwrap();
            for n in 0..2 {
                m.send(&outgoing(&["anna@example.lv", "juris@example.lv"], n))
                    .await
                    .unwrap();
            }
            assert_eq!(server.accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
            let cmds = server.commands.lock().unwrap().clone();
            let tx: Vec<_> = cmds
                .iter()
                .filter(|(l, _)| !l.starts_with("EHLO") && !l.starts_with("NOOP"))
                .collect();
            assert_eq!(tx.len(), 8, "{cmds:?}");
            for t in tx.chunks(4) {
                assert!(t[0].0.starts_with("MAIL FROM:<pasts@sif.gov.lv>"), "{t:?}");
                assert!(t[0].0.contains("BODY=8BITMIME"), "{t:?}");
                assert_eq!(t[1].0, "RCPT TO:<anna@example.lv>");
                assert_eq!(t[2].0, "RCPT TO:<juris@example.lv>");
                assert_eq!(t[3].0, "DATA");
                // More input behind MAIL and the RCPTs exactly when pipelined;
                // never behind DATA (the message waits for 354).
                let behind: Vec<bool> = t.iter().map(|x| x.1).collect();
                assert_eq!(behind, [pipelining, pipelining, pipelining, false], "{t:?}");
            }
        }
    }

    /// A refused recipient in a pipelined transaction is a permanent
    /// failure of that message; the replies left unread go with its
    /// connection, and the next message is sent on a new one.
    #[tokio::test]
    async fn a_refused_recipient_in_a_pipelined_transaction() {
        let server = scripted::start(scripted::Script {
            pipelining: true,
            accept: usize::MAX,
            refuse_rcpt: "nav",
        })
        .await;
        let mut c = scripted::config(server.port);
        c.connections = 1;
        let m = Mailer::new(&c, None).unwrap();
        match m.send(&outgoing(&["anna@example.lv", "nav@example.lv"], 0)).await {
            Err(SendError::Permanent(msg)) => assert!(msg.contains("5.1.1"), "{msg}"),
            other => panic!("expected a permanent failure, got {other:?}"),
        }
        m.send(&outgoing(&["anna@example.lv"], 1)).await.unwrap();
        assert_eq!(server.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
        let ehlos = server
            .commands
            .lock()
            .unwrap()
            .iter()
            .filter(|(l, _)| l.starts_with("EHLO"))
            .count();
        assert_eq!(
            ehlos, 4,
            "two connections, each greeted twice (lettre's EHLO and ours)"
        );
    }
}
