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
use crate::config::{ImapConfig, Security};

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

/// Connect, secure, read the greeting and log in.
///
/// `password` never appears in an error or log line: a refused login is
/// reported with the server's reason and the user name only.
pub async fn connect(cfg: &ImapConfig, password: &str) -> Result<ImapSession, ImapError> {
    let host = cfg.host.trim().to_string();
    let port = cfg.port;
    if cfg.security == Security::Plain && !crate::config::is_loopback_host(&host) {
        return Err(ImapError::PlainRefused { host });
    }
    let timed_out = |what: &'static str| ImapError::Timeout {
        host: host.clone(),
        port,
        what,
        secs: CONNECT_TIMEOUT.as_secs(),
    };
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
