//! The HTTP client under the OAuth 2.0 token request: one HTTP/1.1 request
//! per connection with hyper, over the rustls configuration shared with
//! IMAP and SMTP ([`crate::tls`]). `http://` is refused unless the host is
//! loopback (like `security = "plain"`). The response body is capped, every
//! step has a timeout, and errors never carry the request (it holds the
//! client secret).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::http;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Time for connect + TLS + request + response.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Largest token response read (a token is a few KiB).
pub const MAX_BODY: usize = 256 * 1024;

/// A failed exchange with the token endpoint (before any status, or a
/// non-2xx status). Carries no request data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Transport(String),
    #[error("HTTP {status}{}", detail_suffix(.detail))]
    Status {
        status: u16,
        /// `error` / `error_description` of an RFC 6749 §5.2 answer (escaped, cut short).
        detail: String,
        /// The endpoint asked for HTTP Basic client authentication.
        wants_basic: bool,
    },
}

fn detail_suffix(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(" ({d})")
    }
}

/// Send `req` (absolute URI) and return the response with its whole body.
/// A non-2xx status is an [`HttpError::Status`].
pub async fn send(
    tls: &Arc<rustls::ClientConfig>,
    req: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    tokio::time::timeout(TIMEOUT, send_inner(tls, req))
        .await
        .map_err(|_| HttpError::Transport(format!("no answer within {} s", TIMEOUT.as_secs())))?
}

async fn send_inner(
    tls: &Arc<rustls::ClientConfig>,
    req: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    let uri = req.uri().clone();
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        other => {
            return Err(HttpError::Transport(format!(
                "unsupported scheme {:?}",
                other.unwrap_or("")
            )))
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| HttpError::Transport("the URL has no host".into()))?
        .to_string();
    if !https && !crate::config::is_loopback_host(&host) {
        return Err(HttpError::Transport(
            "http:// is allowed only to a loopback host; use https://".into(),
        ));
    }
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let tcp = TcpStream::connect((bare.as_str(), port))
        .await
        .map_err(|e| HttpError::Transport(format!("cannot connect: {e}")))?;
    let _ = tcp.set_nodelay(true);

    let (mut parts, body) = req.into_parts();
    // Origin-form target and the Host field, as HTTP/1.1 wants.
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    parts.uri = target
        .parse()
        .map_err(|e| HttpError::Transport(format!("bad request target: {e}")))?;
    let host_field = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    parts.headers.insert(
        http::header::HOST,
        http::HeaderValue::from_str(&host_field)
            .map_err(|e| HttpError::Transport(format!("bad host: {e}")))?,
    );
    parts
        .headers
        .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    let req = http::Request::from_parts(parts, Full::new(Bytes::from(body)));

    if https {
        let name = rustls::pki_types::ServerName::try_from(bare.clone())
            .map_err(|e| HttpError::Transport(format!("invalid server name: {e}")))?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| {
                HttpError::Transport(format!(
                    "TLS handshake failed: {e} (an internal CA? set oauth2.ca_file)"
                ))
            })?;
        exchange(stream, req).await
    } else {
        exchange(tcp, req).await
    }
}

async fn exchange<S>(stream: S, req: http::Request<Full<Bytes>>) -> Result<http::Response<Vec<u8>>, HttpError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| HttpError::Transport(format!("HTTP handshake failed: {e}")))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| HttpError::Transport(format!("request failed: {e}")))?;
        let (parts, body) = resp.into_parts();
        let bytes = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| HttpError::Transport(format!("reading the answer failed: {e}")))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, bytes.to_vec()))
    }
    .await;
    driver.abort();
    let resp = result?;
    if !resp.status().is_success() {
        let wants_basic = resp
            .headers()
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .any(|v| {
                v.to_str()
                    .is_ok_and(|s| s.trim_start().to_ascii_lowercase().starts_with("basic"))
            });
        return Err(HttpError::Status {
            status: resp.status().as_u16(),
            detail: error_detail(resp.body()),
            wants_basic,
        });
    }
    Ok(resp)
}

/// `error: error_description` from an RFC 6749 §5.2 JSON answer, escaped
/// and cut to 300 characters; empty when the body is not such JSON.
pub fn error_detail(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let (e, d) = (field("error"), field("error_description"));
    let text = match (e.is_empty(), d.is_empty()) {
        (true, true) => return String::new(),
        (false, true) => e,
        (true, false) => d,
        (false, false) => format!("{e}: {d}"),
    };
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    let mut out: String = escaped.chars().take(300).collect();
    if escaped.chars().count() > 300 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details() {
        let cases: &[(&[u8], &str)] = &[
            (br#"{"error":"invalid_client"}"#, "invalid_client"),
            (
                br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"}"#,
                "invalid_client: AADSTS7000215: Invalid client secret",
            ),
            (b"<html>502</html>", ""),
            (br#"{"error":"x\u001b[31m"}"#, "x\\u{1b}[31m"),
        ];
        for (body, want) in cases {
            assert_eq!(error_detail(body), *want);
        }
        let long = format!(r#"{{"error":"{}"}}"#, "é".repeat(400));
        assert_eq!(error_detail(long.as_bytes()).chars().count(), 301);
    }
}
