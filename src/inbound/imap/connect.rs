//! Opening an authenticated IMAP session: TCP, implicit TLS or STARTTLS,
//! the greeting (async-imap 0.12 has no connect helper), LOGIN, all under
//! timeouts. Plain text is refused unless the host is loopback.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::imap_proto::{Response, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{ImapError, ImapSession};
use crate::auth::{sasl, Login};
use crate::config::secret::Secret;
use crate::config::{AuthMethod, ImapConfig, Security};

/// Time allowed for TCP connect + TLS handshake + greeting, and for LOGIN.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The transport under the IMAP session: plain TCP (loopback only) or TLS.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Connect, secure, read the greeting and log in with `login`.
///
/// A password or token never appears in an error or log line: a refused
/// login is reported with the server's reason and the user name only. A
/// refused token is replaced by a new one from the token endpoint and the
/// login tried once more at once, on a new connection.
pub async fn connect_with(cfg: &ImapConfig, login: &Login) -> Result<ImapSession, ImapError> {
    match login {
        Login::Password(pw) => connect_password(cfg, pw.expose()).await,
        Login::Token { mechanism, tokens } => {
            let token = tokens
                .token()
                .await
                .map_err(|e| ImapError::Token(e.to_string()))?;
            match connect_token(cfg, *mechanism, &token).await {
                Err(ImapError::TokenRefused { reason, .. }) => {
                    tracing::info!(server = %format!("{}:{}", cfg.host.trim(), cfg.port), %reason, "IMAP refused the OAuth 2.0 token; fetching a new one");
                    let fresh = tokens
                        .after_refusal(&token)
                        .await
                        .map_err(|e| ImapError::Token(e.to_string()))?;
                    connect_token(cfg, *mechanism, &fresh).await
                }
                other => other,
            }
        }
    }
}

fn check_plain(cfg: &ImapConfig) -> Result<(), ImapError> {
    let host = cfg.host.trim().to_string();
    if cfg.security == Security::Plain && !crate::config::is_loopback_host(&host) {
        return Err(ImapError::PlainRefused { host });
    }
    Ok(())
}

fn timed_out(cfg: &ImapConfig, what: &'static str) -> ImapError {
    ImapError::Timeout {
        host: cfg.host.trim().to_string(),
        port: cfg.port,
        what,
        secs: CONNECT_TIMEOUT.as_secs(),
    }
}

async fn connect_token(
    cfg: &ImapConfig,
    mechanism: AuthMethod,
    token: &Secret,
) -> Result<ImapSession, ImapError> {
    check_plain(cfg)?;
    let host = cfg.host.trim().to_string();
    let port = cfg.port;
    let client = tokio::time::timeout(CONNECT_TIMEOUT, open(cfg, &host, port))
        .await
        .map_err(|_| timed_out(cfg, "connecting to"))??;
    let user = cfg.username.clone();
    let auth = TokenAuth {
        mechanism,
        first: Some(sasl::initial_response(mechanism, &user, token.expose())),
    };
    let res = tokio::time::timeout(
        CONNECT_TIMEOUT,
        client.authenticate(sasl::mechanism_name(mechanism), auth),
    )
    .await
    .map_err(|_| timed_out(cfg, "logging in to"))?;
    match res {
        Ok(session) => {
            tracing::debug!(%host, port, %user, mechanism = mechanism.name(), "IMAP login ok");
            Ok(ImapSession::new(session, host, port))
        }
        Err((async_imap::error::Error::No(reason), _)) => Err(ImapError::TokenRefused {
            host,
            port,
            user,
            mechanism: sasl::mechanism_name(mechanism),
            reason: reason.replace(token.expose(), "***"),
        }),
        Err((e, _)) => Err(ImapError::Auth {
            host,
            port,
            user,
            reason: e.to_string().replace(token.expose(), "***"),
        }),
    }
}

/// SASL XOAUTH2 / OAUTHBEARER: the token once, then the empty (or ^A)
/// answer to the server's error challenge.
struct TokenAuth {
    mechanism: AuthMethod,
    first: Option<Vec<u8>>,
}

impl async_imap::Authenticator for TokenAuth {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.first
            .take()
            .unwrap_or_else(|| sasl::error_ack(self.mechanism).to_vec())
    }
}

/// [`connect_with`] a password.
pub async fn connect(cfg: &ImapConfig, password: &str) -> Result<ImapSession, ImapError> {
    connect_password(cfg, password).await
}

async fn connect_password(cfg: &ImapConfig, password: &str) -> Result<ImapSession, ImapError> {
    check_plain(cfg)?;
    let host = cfg.host.trim().to_string();
    let port = cfg.port;
    let timed_out = |what: &'static str| timed_out(cfg, what);
    let client = tokio::time::timeout(CONNECT_TIMEOUT, open(cfg, &host, port))
        .await
        .map_err(|_| timed_out("connecting to"))??;

    let user = cfg.username.clone();
    // LOGIN takes quoted strings, which carry only 7-bit text; non-ASCII
    // credentials go base64-encoded through AUTHENTICATE PLAIN instead.
    let login = if user.is_ascii() && password.is_ascii() {
        tokio::time::timeout(CONNECT_TIMEOUT, client.login(&user, password)).await
    } else {
        let auth = PlainAuth {
            response: Some(format!("\0{user}\0{password}").into_bytes()),
        };
        tokio::time::timeout(CONNECT_TIMEOUT, client.authenticate("PLAIN", auth)).await
    }
    .map_err(|_| timed_out("logging in to"))?;
    match login {
        Ok(session) => {
            tracing::debug!(%host, port, %user, "IMAP login ok");
            Ok(ImapSession::new(session, host, port))
        }
        Err((e, _client)) => {
            let reason = match e {
                async_imap::error::Error::No(s) | async_imap::error::Error::Bad(s) => s,
                other => other.to_string(),
            };
            let reason = if password.is_empty() {
                reason
            } else {
                reason.replace(password, "***")
            };
            Err(ImapError::Auth {
                host,
                port,
                user,
                reason,
            })
        }
    }
}

/// SASL PLAIN (RFC 4616): the credentials once, then empty answers.
struct PlainAuth {
    response: Option<Vec<u8>>,
}

impl async_imap::Authenticator for PlainAuth {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.response.take().unwrap_or_default()
    }
}

async fn open(cfg: &ImapConfig, host: &str, port: u16) -> Result<async_imap::Client<Stream>, ImapError> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|source| ImapError::Connect {
            host: host.to_string(),
            port,
            source,
        })?;
    let _ = tcp.set_nodelay(true);
    match cfg.security {
        Security::Tls => {
            let tls = wrap_tls(cfg, host, port, tcp).await?;
            let mut client = async_imap::Client::new(Stream::Tls(Box::new(tls)));
            read_greeting(&mut client, host, port).await?;
            Ok(client)
        }
        Security::Plain => {
            let mut client = async_imap::Client::new(Stream::Plain(tcp));
            read_greeting(&mut client, host, port).await?;
            Ok(client)
        }
        Security::Starttls => {
            let mut client = async_imap::Client::new(Stream::Plain(tcp));
            read_greeting(&mut client, host, port).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| ImapError::NoStartTls {
                    host: host.to_string(),
                    port,
                    reason: e.to_string(),
                })?;
            // Anything the server sent after its OK is dropped with the old
            // client: nothing may be injected before TLS.
            let Stream::Plain(tcp) = client.into_inner() else {
                return Err(ImapError::Unexpected {
                    op: "STARTTLS".into(),
                    detail: "stream already secured".into(),
                });
            };
            let tls = wrap_tls(cfg, host, port, tcp).await?;
            Ok(async_imap::Client::new(Stream::Tls(Box::new(tls))))
        }
    }
}

async fn wrap_tls(
    cfg: &ImapConfig,
    host: &str,
    port: u16,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let config = crate::tls::client_config(cfg.ca_file.as_deref())?;
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let server_name =
        rustls::pki_types::ServerName::try_from(name.to_string()).map_err(|e| ImapError::Tls {
            host: host.to_string(),
            port,
            reason: format!("invalid server name: {e}"),
        })?;
    tokio_rustls::TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| ImapError::Tls {
            host: host.to_string(),
            port,
            reason: e.to_string(),
        })
}

async fn read_greeting(
    client: &mut async_imap::Client<Stream>,
    host: &str,
    port: u16,
) -> Result<(), ImapError> {
    let resp = client.read_response().await.map_err(|e| ImapError::Connect {
        host: host.to_string(),
        port,
        source: e,
    })?;
    let Some(resp) = resp else {
        return Err(ImapError::Unexpected {
            op: format!("greeting from {host}:{port}"),
            detail: "connection closed before the greeting".into(),
        });
    };
    match resp.parsed() {
        Response::Data {
            status: Status::Ok, ..
        } => Ok(()),
        Response::Data {
            status: Status::PreAuth,
            ..
        } => Err(ImapError::Unexpected {
            op: format!("greeting from {host}:{port}"),
            detail: "server sent PREAUTH; a login is required".into(),
        }),
        other => Err(ImapError::Unexpected {
            op: format!("greeting from {host}:{port}"),
            detail: format!("{other:?}"),
        }),
    }
}
